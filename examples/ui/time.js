// Time ranges and steps: relative ranges (5m ... 30d), absolute from/to, automatic step.

/** The relative ranges offered by the picker. */
export const RELATIVE_RANGES = ['5m', '15m', '30m', '1h', '3h', '6h', '12h', '1d', '2d', '7d', '30d'];

const UNIT_SECONDS = { ms: 0.001, s: 1, m: 60, h: 3600, d: 86400, w: 604800, y: 31536000 };

/** `1h30m` → 5400 (seconds); a bare number is seconds; null when malformed or not > 0. */
export function parseDuration(text) {
  const t = String(text).trim();
  if (/^\d+(\.\d+)?$/.test(t)) return Number(t) > 0 ? Number(t) : null;
  const re = /(\d+(?:\.\d+)?)(ms|s|m|h|d|w|y)/gy;
  let total = 0;
  let m;
  let end = 0;
  while ((m = re.exec(t)) !== null) {
    total += Number(m[1]) * UNIT_SECONDS[m[2]];
    end = re.lastIndex;
  }
  return end === t.length && total > 0 ? total : null;
}

/** 5400 → `1h30m`; fractions of a second as ms. */
export function formatDuration(seconds) {
  if (seconds < 1) return `${Math.round(seconds * 1000)}ms`;
  let s = Math.round(seconds);
  let out = '';
  for (const [u, n] of [['d', 86400], ['h', 3600], ['m', 60], ['s', 1]]) {
    if (s >= n) {
      out += `${Math.floor(s / n)}${u}`;
      s %= n;
    }
  }
  return out;
}

/**
 * The [start, end] (Unix seconds) of a range state: `{range: '1h'}` ends now,
 * `{from, to}` (Unix seconds) is absolute.
 */
export function resolveRange(state, now = Date.now() / 1000) {
  if (state.from !== undefined && state.to !== undefined && state.to > state.from) {
    return [state.from, state.to];
  }
  const d = parseDuration(state.range || '1h') || 3600;
  return [now - d, now];
}

const NICE_STEPS = [1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600, 7200, 10800,
  21600, 43200, 86400];

/**
 * The step for a range of `seconds` drawn `width` pixels wide: the smallest nice step
 * giving at most one point per pixel (and at most 11000 points, Prometheus' limit).
 */
export function autoStep(seconds, width = 1000) {
  const raw = seconds / Math.max(100, Math.min(width, 11000));
  for (const s of NICE_STEPS) if (s >= raw) return s;
  return Math.ceil(raw / 86400) * 86400;
}

const pad = (n, w = 2) => String(n).padStart(w, '0');

/** Unix seconds → `2024-01-02 15:04:05` in local time. */
export function formatTime(sec) {
  const d = new Date(sec * 1000);
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())} ` +
    `${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}`;
}

/** Unix seconds → the value of an `<input type="datetime-local">` (local time, minutes). */
export function toLocalInput(sec) {
  const d = new Date(sec * 1000);
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}T` +
    `${pad(d.getHours())}:${pad(d.getMinutes())}`;
}

/** The value of a datetime-local input → Unix seconds; null when empty or malformed. */
export function fromLocalInput(text) {
  if (!text) return null;
  const ms = new Date(text).getTime();
  return Number.isFinite(ms) ? ms / 1000 : null;
}

/** "12s ago" / "3m ago" for an RFC 3339 time; "never" for the zero time. */
export function ago(rfc3339, now = Date.now()) {
  const ms = Date.parse(rfc3339);
  if (!Number.isFinite(ms) || ms <= 0) return 'never';
  const s = Math.max(0, (now - ms) / 1000);
  return s < 1 ? 'just now' : `${formatDuration(s)} ago`;
}
