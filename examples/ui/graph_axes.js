// Axis ticks for the graph: linear and logarithmic value ticks, local-time time ticks.

import { formatValue } from './dom.js';

/** About `count` round values covering [min, max]: `{ticks, min, max}` (the widened range). */
export function linearTicks(min, max, count = 5) {
  if (!(max > min)) {
    const pad = Math.abs(min) * 0.1 || 1;
    min -= pad;
    max += pad;
  }
  const raw = (max - min) / Math.max(1, count);
  const mag = 10 ** Math.floor(Math.log10(raw));
  const norm = raw / mag;
  const unit = (norm <= 1 ? 1 : norm <= 2 ? 2 : norm <= 2.5 ? 2.5 : norm <= 5 ? 5 : 10) * mag;
  const lo = Math.floor(min / unit) * unit;
  const hi = Math.ceil(max / unit) * unit;
  const ticks = [];
  for (let v = lo; v <= hi + unit / 2; v += unit) ticks.push(Math.abs(v) < unit / 1e9 ? 0 : v);
  return { ticks, min: lo, max: hi };
}

/** Powers of ten covering [min, max] (both > 0): `{ticks, min, max}` in log10 units. */
export function logTicks(min, max) {
  let lo = Math.floor(Math.log10(min));
  let hi = Math.ceil(Math.log10(max));
  if (hi === lo) hi += 1;
  const every = Math.max(1, Math.ceil((hi - lo) / 8));
  const ticks = [];
  for (let e = lo; e <= hi; e += every) ticks.push(e);
  return { ticks, min: lo, max: hi };
}

/** A value tick's label; `log` ticks are exponents. */
export function valueLabel(v, log) {
  if (log) return formatValue(10 ** v);
  const a = Math.abs(v);
  if (a >= 1e9) return `${formatValue(v / 1e9)}G`;
  if (a >= 1e6) return `${formatValue(v / 1e6)}M`;
  if (a >= 1e4) return `${formatValue(v / 1e3)}k`;
  return formatValue(v);
}

const TIME_STEPS = [1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600, 7200, 10800,
  21600, 43200, 86400, 172800, 604800, 2592000];

/** Ticks for [start, end] (Unix seconds) about every `spacing` pixels of `width`. */
export function timeTicks(start, end, width, spacing = 110) {
  const want = (end - start) / Math.max(1, width / spacing);
  const step = TIME_STEPS.find((s) => s >= want) || TIME_STEPS[TIME_STEPS.length - 1];
  // Align to local midnight-based multiples, so that ticks fall on round local times.
  const offset = -new Date(start * 1000).getTimezoneOffset() * 60;
  const first = Math.ceil((start + offset) / step) * step - offset;
  const ticks = [];
  for (let t = first; t <= end; t += step) ticks.push(t);
  return { ticks, step };
}

const pad = (n) => String(n).padStart(2, '0');

/** A time tick's label: seconds when the step is under a minute, the date from a day on. */
export function timeLabel(t, step) {
  const d = new Date(t * 1000);
  const hm = `${pad(d.getHours())}:${pad(d.getMinutes())}`;
  if (step < 60) return `${hm}:${pad(d.getSeconds())}`;
  if (step >= 86400) return `${pad(d.getMonth() + 1)}-${pad(d.getDate())}`;
  if (d.getHours() === 0 && d.getMinutes() === 0) return `${pad(d.getMonth() + 1)}-${pad(d.getDate())}`;
  return hm;
}
