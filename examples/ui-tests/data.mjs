// Seeded samples from the last hour for the end-to-end test, and their import.

import { assert } from './runner.mjs';

/** A small seeded PRNG (mulberry32): the same data on every run. */
function mulberry32(seed) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export const NOW_MS = Math.floor(Date.now() / 2000) * 2000;
export const HOUR_MS = 3600_000;
export const LOAD_SERIES = 300;
const LOAD_STEP_MS = 2000;

/** Exposition-format lines (timestamps in ms), in chunks of at most `per` lines. */
export function demoData() {
  const rnd = mulberry32(20240601);
  const lines = [];
  for (const instance of ['host-1', 'host-2', 'host-3']) {
    for (const method of ['GET', 'POST']) {
      let v = Math.floor(rnd() * 1000);
      const rate = method === 'GET' ? 5 + rnd() * 10 : 1 + rnd() * 3;
      for (let t = NOW_MS - HOUR_MS; t <= NOW_MS; t += 15_000) {
        v += Math.round(rate * 15 * (0.6 + 0.8 * rnd()));
        lines.push(`ui_demo_requests_total{job="demo",instance="${instance}",method="${method}"} ${v} ${t}`);
      }
    }
  }
  for (const [room, base] of [['kitchen', 21], ['lab', 19], ['attic', 26]]) {
    for (let t = NOW_MS - HOUR_MS; t <= NOW_MS; t += 15_000) {
      const v = base + 3 * Math.sin((t / HOUR_MS) * 2 * Math.PI) + rnd();
      lines.push(`ui_demo_temperature_celsius{room="${room}"} ${v.toFixed(3)} ${t}`);
    }
  }
  const load = [];
  for (let s = 0; s < LOAD_SERIES; s++) {
    let v = 50 + 40 * rnd();
    for (let t = NOW_MS - HOUR_MS; t <= NOW_MS; t += LOAD_STEP_MS) {
      v = Math.max(0, v + (rnd() - 0.5) * 4);
      load.push(`ui_demo_load{shard="${s}"} ${v.toFixed(2)} ${t}`);
    }
  }
  return { demo: lines, load };
}

/** POSTs exposition lines to /api/v1/import/prometheus in bodies of 40,000 lines. */
export async function importLines(base, lines) {
  for (let i = 0; i < lines.length; i += 40_000) {
    const body = `${lines.slice(i, i + 40_000).join('\n')}\n`;
    const r = await fetch(`${base}/api/v1/import/prometheus`, { method: 'POST', body });
    assert(r.status === 204 || r.status === 200, `import answered ${r.status}: ${await r.text()}`);
  }
}

/** How many series match `selector` (/api/v1/series). */
export async function seriesCount(base, selector) {
  const r = await fetch(`${base}/api/v1/series?match[]=${encodeURIComponent(selector)}`);
  const body = await r.json();
  return body.data ? body.data.length : 0;
}
