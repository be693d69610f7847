// Fetching the Prometheus-style JSON API: one place that turns HTTP and API errors into
// exceptions with the server's own message.

/** An API call that failed: `status` is the HTTP status (0 when the network failed). */
export class ApiError extends Error {
  constructor(status, errorType, message) {
    super(message);
    this.status = status;
    this.errorType = errorType;
  }
}

/**
 * GETs `path` with `params` (an object; arrays repeat the key) and returns the whole JSON
 * body (`{status, data, ...}`). Throws ApiError with the API's `error` text when it has one.
 */
export async function getJSON(path, params = {}, signal = undefined) {
  const qs = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) {
    if (v === undefined || v === null || v === '') continue;
    for (const one of Array.isArray(v) ? v : [v]) qs.append(k, String(one));
  }
  const url = qs.toString() ? `${path}?${qs}` : path;
  let resp;
  try {
    resp = await fetch(url, { signal, headers: { Accept: 'application/json' } });
  } catch (e) {
    if (e.name === 'AbortError') throw e;
    throw new ApiError(0, 'network', `cannot reach the server: ${e.message}`);
  }
  const text = await resp.text();
  let body = null;
  try {
    body = JSON.parse(text);
  } catch {
    // Not JSON: fall through with the text as the message.
  }
  if (!resp.ok || !body || body.status === 'error') {
    const msg = body && body.error ? body.error : text.trim() || resp.statusText;
    throw new ApiError(resp.status, (body && body.errorType) || 'http', msg);
  }
  return body;
}

/** Like getJSON, but a 404 (endpoint absent on this server) gives null instead of throwing. */
export async function getOptionalJSON(path, params = {}) {
  try {
    return await getJSON(path, params);
  } catch (e) {
    if (e instanceof ApiError && (e.status === 404 || e.status === 501)) return null;
    throw e;
  }
}
