// Small DOM helpers shared by every page.

/**
 * Creates an element: h('div.cls#id', {attr: v, onclick: fn}, child, 'text', [more]).
 * Attribute values that are functions become event listeners (names starting with "on").
 */
export function h(tag, attrs, ...children) {
  const name = /^[a-z0-9]+/i.exec(tag);
  const el = document.createElement(name ? name[0] : 'span');
  // Classes may come from data (a target's health): keep only characters valid in a name.
  for (const part of tag.slice(name ? name[0].length : 0).match(/[.#][^.#]*/g) || []) {
    const v = part.slice(1).replace(/[^\w-]/g, '');
    if (!v) continue;
    if (part[0] === '.') el.classList.add(v);
    else el.id = v;
  }
  if (attrs && (typeof attrs !== 'object' || attrs instanceof Node || Array.isArray(attrs))) {
    children.unshift(attrs);
    attrs = null;
  }
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === undefined || v === null || v === false) continue;
    if (k.startsWith('on') && typeof v === 'function') el.addEventListener(k.slice(2), v);
    else if (k === 'value') el.value = v;
    else if (k === 'checked') el.checked = !!v;
    else el.setAttribute(k, v === true ? '' : String(v));
  }
  append(el, children);
  return el;
}

function append(el, children) {
  for (const c of children) {
    if (c === undefined || c === null || c === false) continue;
    if (Array.isArray(c)) append(el, c);
    else el.append(c instanceof Node ? c : String(c));
  }
}

/** Replaces the children of `el`. */
export function setChildren(el, ...children) {
  el.textContent = '';
  append(el, children);
  return el;
}

/** `{__name__="up", job="a"}` → `up{job="a"}`. */
export function formatMetric(metric) {
  const name = metric.__name__ || '';
  const pairs = Object.keys(metric)
    .filter((k) => k !== '__name__')
    .sort()
    .map((k) => `${k}=${JSON.stringify(metric[k])}`);
  if (pairs.length === 0) return name || '{}';
  return `${name}{${pairs.join(', ')}}`;
}

/** A sample value as the API writes it (`"1.5"`, `"NaN"`, `"+Inf"`, `"-Inf"`) → number. */
export function parseSampleValue(s) {
  if (s === '+Inf' || s === 'Inf') return Infinity;
  if (s === '-Inf') return -Infinity;
  return parseFloat(s);
}

/** A number for people: up to 6 significant digits, exponents for the very large/small. */
export function formatValue(v) {
  if (typeof v === 'string') v = parseSampleValue(v);
  if (Number.isNaN(v)) return 'NaN';
  if (!Number.isFinite(v)) return v > 0 ? '+Inf' : '-Inf';
  if (v === 0) return '0';
  const a = Math.abs(v);
  if (a >= 1e15 || a < 1e-4) return v.toExponential(3);
  return String(Number(v.toPrecision(6)));
}

/** A message box: kind is 'info', 'warn' or 'error'. */
export function notice(kind, ...children) {
  return h(`div.notice.${kind}`, ...children);
}
