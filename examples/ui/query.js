// The query page: several expressions, one time range and step, and the result as a graph
// (range queries), a table (instant queries at the range's end) or the raw JSON.

import { h, setChildren, notice } from './dom.js';
import { getJSON } from './api.js';
import { QueryEditor, remember } from './editor.js';
import { Graph, toSeries } from './graph.js';
import { renderTable } from './table.js';
import { renderJSON } from './json.js';
import { RELATIVE_RANGES, resolveRange, autoStep, parseDuration, formatDuration, toLocalInput, fromLocalInput } from './time.js';
import { queryStateFrom, queryParamsOf, replaceHash, pushHash } from './url.js';

const TABS = [['graph', 'Graph'], ['table', 'Table'], ['json', 'JSON']];
const MAX_QUERIES = 10;

/** Renders the query page for `params` into `root`. */
export function queryPage(root, params) {
  const page = new QueryPage(root, queryStateFrom(params));
  if (page.state.exprs.some((e) => e.trim())) page.run();
  else {
    page.show(page.state.tab, page.panels.map(() => null));
    page.panels[0].editor.focus();
  }
  return page;
}

class QueryPage {
  constructor(root, state) {
    this.root = root;
    this.state = state;
    this.controller = null;
    this.graph = new Graph({
      onZoom: (from, to) => {
        Object.assign(this.state, { from, to });
        this.syncControls();
        this.run();
      },
      onReset: () => this.setRelative(this.state.range),
    });
    this.panelsEl = h('div.queries');
    this.resultEl = h('div.result');
    this.tabsEl = h('div.tabs', { role: 'tablist' });
    this.panels = [];
    state.exprs.forEach((e) => this.addPanel(e));
    setChildren(root, h('section.query-page',
      this.controls(),
      this.panelsEl,
      h('div.actions',
        h('button', { onclick: () => { this.addPanel(''); this.panels.at(-1).editor.focus(); } }, '+ Add query'),
        h('button.primary', { onclick: () => this.run() }, 'Execute')),
      this.tabsEl,
      this.resultEl));
    this.renderTabs();
  }

  controls() {
    this.rangeSel = h('select.range', { 'aria-label': 'Time range', onchange: () => {
      const v = this.rangeSel.value;
      if (v === 'custom') {
        const [from, to] = resolveRange(this.state);
        Object.assign(this.state, { from, to });
        this.syncControls();
        this.save();
      } else {
        this.setRelative(v);
      }
    } }, RELATIVE_RANGES.map((r) => h('option', { value: r }, `Last ${r}`)),
    h('option', { value: 'custom' }, 'Absolute…'));
    const onAbs = () => {
      const from = fromLocalInput(this.fromIn.value);
      const to = fromLocalInput(this.toIn.value);
      if (from !== null && to !== null && to > from) {
        Object.assign(this.state, { from, to });
        this.run();
      }
    };
    this.fromIn = h('input.from', { type: 'datetime-local', 'aria-label': 'From', onchange: onAbs });
    this.toIn = h('input.to', { type: 'datetime-local', 'aria-label': 'To', onchange: onAbs });
    this.absEl = h('span.absolute', this.fromIn, ' – ', this.toIn);
    this.stepIn = h('input.step', {
      'aria-label': 'Step', size: 6, title: 'Step: "auto" or a duration such as 15s, 1m, 5m',
      onchange: () => {
        const v = this.stepIn.value.trim();
        this.stepIn.classList.toggle('invalid', v !== '' && v !== 'auto' && parseDuration(v) === null);
        if (this.stepIn.classList.contains('invalid')) return;
        this.state.step = v || 'auto';
        this.run();
      },
    });
    this.logIn = h('input', { type: 'checkbox', onchange: () => {
      this.state.log = this.logIn.checked;
      this.save();
      if (this.state.tab === 'graph') this.graph.setData(this.graph.series, { ...this.graphRange(), log: this.state.log });
    } });
    this.syncControls();
    return h('div.controls',
      h('label', 'Range ', this.rangeSel), this.absEl,
      h('label', 'Step ', this.stepIn),
      h('label.check', this.logIn, ' Log scale'));
  }

  syncControls() {
    const abs = this.state.from !== undefined;
    if (!abs && !RELATIVE_RANGES.includes(this.state.range)) {
      if (parseDuration(this.state.range) === null) this.state.range = '1h';
      else if (![...this.rangeSel.options].some((o) => o.value === this.state.range)) {
        // A range from a link (`range=2h`) that the list lacks: offer it as it is.
        this.rangeSel.add(h('option', { value: this.state.range }, `Last ${this.state.range}`), this.rangeSel.options.length - 1);
      }
    }
    this.rangeSel.value = abs ? 'custom' : this.state.range;
    this.absEl.hidden = !abs;
    if (abs) {
      this.fromIn.value = toLocalInput(this.state.from);
      this.toIn.value = toLocalInput(this.state.to);
    }
    this.stepIn.value = this.state.step;
    this.logIn.checked = this.state.log;
  }

  setRelative(range) {
    Object.assign(this.state, { range, from: undefined, to: undefined });
    this.syncControls();
    this.run();
  }

  addPanel(expr) {
    if (this.panels.length >= MAX_QUERIES) return;
    const panel = { error: h('div.query-error'), stats: h('div.stats') };
    panel.editor = new QueryEditor({
      value: expr,
      onRun: () => this.run(),
      onChange: () => this.save(),
      onRemove: () => this.removePanel(panel),
    });
    panel.el = h('div.query-panel', h('span.qnum'), panel.editor.el, panel.error, panel.stats);
    this.panels.push(panel);
    this.panelsEl.append(panel.el);
    this.numberPanels();
  }

  removePanel(panel) {
    if (this.panels.length === 1) {
      panel.editor.value = '';
      this.save();
      return;
    }
    this.panels = this.panels.filter((p) => p !== panel);
    panel.el.remove();
    this.numberPanels();
    this.run();
  }

  numberPanels() {
    this.panels.forEach((p, i) => { p.el.querySelector('.qnum').textContent = `${i + 1}`; });
  }

  save(push = false) {
    this.state.exprs = this.panels.map((p) => p.editor.value);
    (push ? pushHash : replaceHash)('query', queryParamsOf(this.state));
  }

  renderTabs() {
    setChildren(this.tabsEl, TABS.map(([id, name]) => h('button.tab', {
      role: 'tab', 'aria-selected': this.state.tab === id ? 'true' : 'false',
      class: this.state.tab === id ? 'tab active' : 'tab', 'data-tab': id,
      onclick: () => {
        if (this.state.tab === id) return;
        this.state.tab = id;
        this.renderTabs();
        this.run();
      },
    }, name)));
  }

  graphRange() {
    const [start, end] = resolveRange(this.state);
    const width = this.resultEl.clientWidth || 1000;
    const step = this.state.step === 'auto' ? autoStep(end - start, width) : parseDuration(this.state.step);
    return { start, end, step };
  }

  /** Runs every non-empty expression for the current tab and shows the results. */
  async run() {
    this.save(true);
    if (this.controller) this.controller.abort();
    const controller = new AbortController();
    this.controller = controller;
    const tab = this.state.tab;
    const { start, end, step } = this.graphRange();
    this.stepIn.placeholder = formatDuration(step);
    this.resultEl.classList.add('loading');
    const jobs = this.panels.map(async (p) => {
      const expr = p.editor.value;
      setChildren(p.error);
      setChildren(p.stats);
      if (!expr.trim()) return null;
      remember(expr);
      const began = performance.now();
      try {
        const body = tab === 'table'
          ? await getJSON('/api/v1/query', { query: expr, time: end.toFixed(3) }, controller.signal)
          : await getJSON('/api/v1/query_range', { query: expr, start: start.toFixed(3), end: end.toFixed(3), step }, controller.signal);
        const took = performance.now() - began;
        if (body.warnings && body.warnings.length) p.error.append(notice('warn', body.warnings.join('\n')));
        p.stats.textContent = statsText(body.data, took);
        return { expr, body };
      } catch (e) {
        if (e.name === 'AbortError') throw e;
        setChildren(p.error, h('pre.error', withCaret(expr, e.message)));
        return { expr, error: e };
      }
    });
    let results;
    try {
      results = await Promise.all(jobs);
    } catch (e) {
      if (e.name === 'AbortError') return;
      throw e;
    }
    if (controller !== this.controller) return;
    this.resultEl.classList.remove('loading');
    this.show(tab, results, { start, end, step });
  }

  show(tab, results, range) {
    const ok = results.map((r, i) => ({ ...r, i })).filter((r) => r && r.body);
    if (results.every((r) => r === null)) {
      setChildren(this.resultEl, notice('info', 'Type an expression, for example ', h('code', 'up'), ', and press Enter.'));
      return;
    }
    if (tab === 'graph') {
      const series = [];
      for (const r of ok) {
        const d = r.body.data;
        if (d.resultType !== 'matrix') continue;
        for (const s of toSeries(d.result, r.i)) {
          if (ok.length > 1) s.label = `[${r.i + 1}] ${s.label}`;
          series.push(s);
        }
      }
      setChildren(this.resultEl, this.graph.el,
        series.length === 0 && ok.length ? notice('info', 'No data points in the selected range.') : null);
      this.graph.setData(series, { ...range, log: this.state.log });
    } else if (tab === 'table') {
      setChildren(this.resultEl, ok.map((r) => h('div.per-query',
        ok.length > 1 ? h('h3', `Query ${r.i + 1}: `, h('code', r.expr)) : null,
        renderTable(r.body.data))));
    } else {
      setChildren(this.resultEl, ok.map((r) => h('div.per-query',
        ok.length > 1 ? h('h3', `Query ${r.i + 1}: `, h('code', r.expr)) : null,
        renderJSON(r.body))));
    }
  }
}

/**
 * The API's message, and when it names a position (`LINE:COL: ...`, 1-based) the query's
 * line at that position with a caret under the column.
 */
export function withCaret(expr, message) {
  const m = /(?:^|\s)(\d+):(\d+):/.exec(message);
  if (!m) return message;
  const lines = expr.split('\n');
  const line = Number(m[1]);
  const col = Number(m[2]);
  if (line < 1 || line > lines.length || col < 1 || col > lines[line - 1].length + 1) return message;
  return `${message}\n\n${lines[line - 1]}\n${' '.repeat(col - 1)}^`;
}

function statsText(data, ms) {
  if (!data) return '';
  const t = `${ms.toFixed(0)} ms`;
  if (data.resultType === 'matrix') {
    const points = data.result.reduce((n, s) => n + (s.values ? s.values.length : 0), 0);
    return `${data.result.length} series, ${points} points, ${t}`;
  }
  if (data.resultType === 'vector') return `${data.result.length} series, ${t}`;
  return `${data.resultType}, ${t}`;
}
