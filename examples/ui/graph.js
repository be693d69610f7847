// The graph: time series drawn on a canvas. Each series is reduced to one min/max/first/last
// column per pixel before drawing, so thousands of points × hundreds of series stay smooth.
// A second canvas on top holds the hover crosshair and the zoom selection, so moving the
// mouse never redraws the lines.

import { h, setChildren, formatMetric, formatValue, parseSampleValue } from './dom.js';
import { formatTime } from './time.js';
import { linearTicks, logTicks, valueLabel, timeTicks, timeLabel } from './graph_axes.js';
import { drawSeries } from './graph_draw.js';

const HEIGHT = 360;
const PAD = { left: 64, right: 16, top: 10, bottom: 26 };
const PALETTE = ['#3366cc', '#dc3912', '#ff9900', '#109618', '#990099', '#0099c6', '#dd4477',
  '#66aa00', '#b82e2e', '#316395', '#994499', '#22aa99', '#aaaa11', '#6633cc', '#e67300',
  '#8b0707', '#651067', '#329262', '#5574a6', '#3b3eac'];

/** A Prometheus matrix result → series with typed arrays: `{metric, label, ts, vs}`. */
export function toSeries(matrix, query = 0) {
  return matrix.map((s) => {
    const n = s.values ? s.values.length : 0;
    const ts = new Float64Array(n);
    const vs = new Float64Array(n);
    for (let i = 0; i < n; i++) {
      ts[i] = s.values[i][0];
      vs[i] = parseSampleValue(s.values[i][1]);
    }
    return { metric: s.metric || {}, label: formatMetric(s.metric || {}), ts, vs, query };
  });
}

/** Index of the point of `ts` nearest to `t` (ts sorted); -1 when empty. */
export function nearestIndex(ts, t) {
  let lo = 0;
  let hi = ts.length - 1;
  if (hi < 0) return -1;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (ts[mid] < t) lo = mid + 1;
    else hi = mid;
  }
  if (lo > 0 && Math.abs(ts[lo - 1] - t) <= Math.abs(ts[lo] - t)) return lo - 1;
  return lo;
}

/** The canvas graph with its legend. `onZoom(start, end)` is called after a drag. */
export class Graph {
  constructor({ onZoom, onReset }) {
    this.onZoom = onZoom;
    this.onReset = onReset;
    this.series = [];
    this.hidden = new Set();
    this.canvas = h('canvas.lines');
    this.overlay = h('canvas.overlay', {
      onmousemove: (e) => this.move(e),
      onmouseleave: () => this.leave(),
      onmousedown: (e) => this.down(e),
      ondblclick: () => this.onReset && this.onReset(),
    });
    this.tooltip = h('div.tooltip', { hidden: true });
    this.plot = h('div.plot', this.canvas, this.overlay, this.tooltip);
    this.legend = h('div.legend');
    this.count = h('span.count');
    this.filter = h('input.legend-filter', {
      type: 'search', placeholder: 'Show series matching…', 'aria-label': 'Filter series',
      oninput: () => this.applyFilter(),
    });
    this.legendHead = h('div.legend-head', this.count, this.filter);
    this.el = h('div.graph', this.plot, this.legendHead, this.legend);
    this.dragFrom = null;
    new ResizeObserver(() => this.draw()).observe(this.plot);
  }

  /** New data: `series` from toSeries, the range and step (seconds), log scale or not. */
  setData(series, { start, end, step, log }) {
    this.series = series;
    series.forEach((s, i) => { s.color = PALETTE[i % PALETTE.length]; });
    Object.assign(this, { start, end, step, log });
    this.hidden = new Set();
    this.filter.value = '';
    this.legendHead.hidden = series.length < 2;
    this.renderLegend();
    this.draw();
  }

  /** Hides the series whose labels do not contain the filter text (case-insensitive). */
  applyFilter() {
    const f = this.filter.value.trim().toLowerCase();
    this.hidden = new Set(this.series.map((s, i) => (f && !s.label.toLowerCase().includes(f) ? i : -1))
      .filter((i) => i >= 0));
    this.renderLegend();
    this.draw();
  }

  visible() {
    return this.series.filter((_, i) => !this.hidden.has(i));
  }

  /** The value range of the visible series inside [start, end]. */
  valueRange() {
    let min = Infinity;
    let max = -Infinity;
    for (const s of this.visible()) {
      for (let i = 0; i < s.vs.length; i++) {
        const v = s.vs[i];
        if (!Number.isFinite(v) || (this.log && v <= 0)) continue;
        if (s.ts[i] < this.start || s.ts[i] > this.end) continue;
        if (v < min) min = v;
        if (v > max) max = v;
      }
    }
    if (min === Infinity) return this.log ? [1, 10] : [0, 1];
    return [min, max];
  }

  layout() {
    const dpr = window.devicePixelRatio || 1;
    const width = Math.max(200, this.plot.clientWidth);
    for (const c of [this.canvas, this.overlay]) {
      c.width = Math.round(width * dpr);
      c.height = Math.round(HEIGHT * dpr);
      c.style.width = `${width}px`;
      c.style.height = `${HEIGHT}px`;
    }
    this.w = width - PAD.left - PAD.right;
    this.hgt = HEIGHT - PAD.top - PAD.bottom;
    this.dpr = dpr;
  }

  x(t) {
    return PAD.left + ((t - this.start) / (this.end - this.start)) * this.w;
  }

  tAt(px) {
    return this.start + ((px - PAD.left) / this.w) * (this.end - this.start);
  }

  y(v) {
    const u = this.log ? Math.log10(v) : v;
    return PAD.top + (1 - (u - this.yMin) / (this.yMax - this.yMin)) * this.hgt;
  }

  draw() {
    if (this.start === undefined || !this.plot.isConnected) return;
    const began = performance.now();
    this.layout();
    const ctx = this.canvas.getContext('2d');
    ctx.setTransform(this.dpr, 0, 0, this.dpr, 0, 0);
    ctx.clearRect(0, 0, this.w + PAD.left + PAD.right, HEIGHT);
    const [lo, hi] = this.valueRange();
    const axis = this.log ? logTicks(lo, hi) : linearTicks(lo, hi, Math.max(2, Math.floor(this.hgt / 60)));
    this.yMin = axis.min;
    this.yMax = axis.max;
    this.drawAxes(ctx, axis.ticks);
    ctx.save();
    ctx.beginPath();
    ctx.rect(PAD.left, PAD.top, this.w, this.hgt);
    ctx.clip();
    let points = 0;
    for (const s of this.visible()) points += drawSeries(ctx, s, this);
    ctx.restore();
    this.el.dataset.series = String(this.visible().length);
    this.el.dataset.points = String(points);
    this.el.dataset.drawMs = (performance.now() - began).toFixed(1);
    this.el.dataset.state = 'drawn';
  }

  drawAxes(ctx, yTicks) {
    ctx.font = '11px system-ui, sans-serif';
    ctx.fillStyle = '#555';
    ctx.strokeStyle = '#e6e8ec';
    ctx.lineWidth = 1;
    ctx.textAlign = 'right';
    ctx.textBaseline = 'middle';
    for (const v of yTicks) {
      const py = Math.round(PAD.top + (1 - (v - this.yMin) / (this.yMax - this.yMin)) * this.hgt) + 0.5;
      ctx.beginPath();
      ctx.moveTo(PAD.left, py);
      ctx.lineTo(PAD.left + this.w, py);
      ctx.stroke();
      ctx.fillText(valueLabel(v, this.log), PAD.left - 6, py);
    }
    const { ticks, step } = timeTicks(this.start, this.end, this.w);
    ctx.textAlign = 'center';
    ctx.textBaseline = 'top';
    for (const t of ticks) {
      const px = Math.round(this.x(t)) + 0.5;
      ctx.beginPath();
      ctx.moveTo(px, PAD.top);
      ctx.lineTo(px, PAD.top + this.hgt);
      ctx.stroke();
      ctx.fillText(timeLabel(t, step), px, PAD.top + this.hgt + 6);
    }
    ctx.strokeStyle = '#9aa0a6';
    ctx.strokeRect(PAD.left + 0.5, PAD.top + 0.5, this.w, this.hgt);
  }

  renderLegend() {
    const items = this.series.map((s, i) => h('div.item', {
      class: this.hidden.has(i) ? 'item off' : 'item',
      title: 'Click: show only this series (again: all). Ctrl/Shift+click: toggle it.',
      onclick: (e) => this.toggle(i, e.ctrlKey || e.metaKey || e.shiftKey),
    }, h('span.swatch', { style: `background:${s.color}` }), h('span.name', s.label)));
    setChildren(this.legend, items);
    const shown = this.series.length - this.hidden.size;
    this.count.textContent = shown === this.series.length
      ? `${this.series.length} series` : `${shown} of ${this.series.length} series`;
  }

  toggle(i, single) {
    if (single) {
      if (this.hidden.has(i)) this.hidden.delete(i);
      else this.hidden.add(i);
    } else {
      const onlyThis = this.hidden.size === this.series.length - 1 && !this.hidden.has(i);
      this.hidden = new Set(onlyThis ? [] : this.series.map((_, j) => j).filter((j) => j !== i));
    }
    this.renderLegend();
    this.draw();
  }

  overlayCtx() {
    const ctx = this.overlay.getContext('2d');
    ctx.setTransform(this.dpr, 0, 0, this.dpr, 0, 0);
    ctx.clearRect(0, 0, this.w + PAD.left + PAD.right, HEIGHT);
    return ctx;
  }

  pos(e) {
    const r = this.overlay.getBoundingClientRect();
    return [e.clientX - r.left, e.clientY - r.top];
  }

  down(e) {
    const [px] = this.pos(e);
    if (e.button !== 0 || px < PAD.left || px > PAD.left + this.w) return;
    e.preventDefault();
    this.dragFrom = px;
    // On the window, so that a drag released outside the plot still ends.
    window.addEventListener('mouseup', (ev) => this.up(ev), { once: true });
  }

  up(e) {
    if (this.dragFrom === null) return;
    const from = this.dragFrom;
    this.dragFrom = null;
    const [px] = this.pos(e);
    const to = Math.max(PAD.left, Math.min(PAD.left + this.w, px));
    this.overlayCtx();
    if (Math.abs(to - from) < 4 || !this.onZoom) return;
    this.onZoom(this.tAt(Math.min(from, to)), this.tAt(Math.max(from, to)));
  }

  leave() {
    if (this.dragFrom !== null) return;
    this.overlayCtx();
    this.tooltip.hidden = true;
  }

  move(e) {
    if (this.start === undefined) return;
    const [px, py] = this.pos(e);
    const ctx = this.overlayCtx();
    if (this.dragFrom !== null) {
      const to = Math.max(PAD.left, Math.min(PAD.left + this.w, px));
      ctx.fillStyle = 'rgba(51, 102, 204, 0.15)';
      ctx.fillRect(Math.min(this.dragFrom, to), PAD.top, Math.abs(to - this.dragFrom), this.hgt);
      this.tooltip.hidden = true;
      return;
    }
    if (px < PAD.left || px > PAD.left + this.w) {
      this.tooltip.hidden = true;
      return;
    }
    const best = this.nearest(this.tAt(px), py);
    if (!best) {
      this.tooltip.hidden = true;
      return;
    }
    const bx = this.x(best.t);
    ctx.strokeStyle = 'rgba(0,0,0,0.35)';
    ctx.beginPath();
    ctx.moveTo(Math.round(bx) + 0.5, PAD.top);
    ctx.lineTo(Math.round(bx) + 0.5, PAD.top + this.hgt);
    ctx.stroke();
    ctx.fillStyle = best.s.color;
    ctx.beginPath();
    ctx.arc(bx, best.py, 4, 0, 2 * Math.PI);
    ctx.fill();
    this.showTooltip(best, bx, best.py);
  }

  /** The visible series point nearest to the mouse: same time column, closest in y. */
  nearest(t, py) {
    const reach = Math.max(this.step || 0, ((this.end - this.start) / this.w) * 8);
    let best = null;
    for (const s of this.visible()) {
      const i = nearestIndex(s.ts, t);
      if (i < 0 || Math.abs(s.ts[i] - t) > reach) continue;
      const v = s.vs[i];
      if (!Number.isFinite(v) || (this.log && v <= 0)) continue;
      const d = Math.abs(this.y(v) - py);
      if (!best || d < best.d) best = { s, t: s.ts[i], v, py: this.y(v), d };
    }
    return best;
  }

  showTooltip(best, bx, by) {
    const labels = Object.entries(best.s.metric).filter(([k]) => k !== '__name__')
      .sort(([a], [b]) => (a < b ? -1 : 1));
    setChildren(this.tooltip,
      h('div.when', formatTime(best.t)),
      h('div.value', h('span.swatch', { style: `background:${best.s.color}` }),
        best.s.metric.__name__ || '', ' ', h('b', formatValue(best.v))),
      labels.map(([k, v]) => h('div.label', h('span.k', k), '=', h('span.v', v))));
    this.tooltip.hidden = false;
    const pw = this.plot.clientWidth;
    const tw = this.tooltip.offsetWidth;
    const left = bx + 14 + tw > pw ? bx - 14 - tw : bx + 14;
    this.tooltip.style.left = `${Math.max(0, left)}px`;
    this.tooltip.style.top = `${Math.max(0, Math.min(HEIGHT - this.tooltip.offsetHeight, by - 10))}px`;
  }
}
