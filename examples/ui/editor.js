// The expression editor: a textarea with history (Ctrl+Up/Down), Enter to run, Shift+Enter
// for a new line, and completion of metric names, label names, label values and functions.

import { h, setChildren } from './dom.js';
import { getJSON } from './api.js';
import { FUNCTIONS, AGGREGATIONS, KEYWORDS } from './promql_words.js';

const HISTORY_KEY = 'gnomon.queryHistory';
const HISTORY_MAX = 50;
const SHOWN_MAX = 40;
const CACHE_MS = 60_000;

/** The executed expressions, newest first. */
export function loadHistory() {
  try {
    const v = JSON.parse(localStorage.getItem(HISTORY_KEY) || '[]');
    return Array.isArray(v) ? v.filter((x) => typeof x === 'string') : [];
  } catch {
    return [];
  }
}

/** Puts `expr` first in the history. */
export function remember(expr) {
  if (!expr.trim()) return;
  const list = [expr, ...loadHistory().filter((e) => e !== expr)].slice(0, HISTORY_MAX);
  try {
    localStorage.setItem(HISTORY_KEY, JSON.stringify(list));
  } catch {
    // Storage full or disabled: history is a convenience.
  }
}

const GROUPING = /\b(by|without|on|ignoring|group_left|group_right)\s*$/;
const MATCH_OP = /([a-zA-Z_][a-zA-Z0-9_]*)\s*(=~|!~|!=|=)\s*$/;

/**
 * What to complete at `pos` in `text`:
 * `{kind: 'metric'|'label'|'value'|'none', prefix, start, metric, label}` where the
 * completion replaces text[start, pos).
 */
export function completionContext(text, pos) {
  const stack = []; // {ch, at, metric}
  let quote = null;
  let quoteStart = 0;
  for (let i = 0; i < pos; i++) {
    const c = text[i];
    if (quote) {
      if (c === '\\' && quote !== '`') i++;
      else if (c === quote) quote = null;
      continue;
    }
    if (c === '"' || c === "'" || c === '`') {
      quote = c;
      quoteStart = i;
    } else if (c === '#') {
      const nl = text.indexOf('\n', i);
      if (nl < 0 || nl >= pos) return { kind: 'none', prefix: '', start: pos };
      i = nl;
    } else if (c === '(' || c === '{' || c === '[') {
      const before = text.slice(0, i);
      const name = /([a-zA-Z_:][a-zA-Z0-9_:]*)\s*$/.exec(before);
      stack.push({ ch: c, before, metric: c === '{' && name ? name[1] : '' });
    } else if (c === ')' || c === '}' || c === ']') {
      stack.pop();
    }
  }
  const top = stack[stack.length - 1];
  if (quote) {
    const m = top && top.ch === '{' ? MATCH_OP.exec(text.slice(0, quoteStart)) : null;
    if (!m) return { kind: 'none', prefix: '', start: pos };
    return {
      kind: 'value', prefix: text.slice(quoteStart + 1, pos), start: quoteStart + 1,
      metric: top.metric, label: m[1], quote,
    };
  }
  const word = /[a-zA-Z_:][a-zA-Z0-9_:]*$/.exec(text.slice(0, pos));
  const prefix = word ? word[0] : '';
  const start = pos - prefix.length;
  if (top && top.ch === '[') return { kind: 'none', prefix, start };
  if (top && top.ch === '{') {
    const tail = text.slice(0, start).trimEnd();
    if (tail.endsWith('{') || tail.endsWith(',')) {
      return { kind: 'label', prefix, start, metric: top.metric };
    }
    return { kind: 'none', prefix, start };
  }
  if (top && top.ch === '(' && GROUPING.test(top.before)) {
    return { kind: 'label', prefix, start, metric: '' };
  }
  return { kind: prefix ? 'metric' : 'none', prefix, start };
}

const cache = new Map(); // url → {at, promise}

function cachedValues(path, params) {
  const key = `${path}?${new URLSearchParams(params)}`;
  const hit = cache.get(key);
  if (hit && Date.now() - hit.at < CACHE_MS) return hit.promise;
  const promise = getJSON(path, params).then((b) => (Array.isArray(b.data) ? b.data : []));
  promise.catch(() => cache.delete(key));
  cache.set(key, { at: Date.now(), promise });
  return promise;
}

/** The candidates for a context: `[{word, kind}]`, best first. */
export async function candidates(ctx) {
  const match = ctx.metric ? { 'match[]': ctx.metric } : {};
  let words = [];
  if (ctx.kind === 'metric') {
    const names = await cachedValues('/api/v1/label/__name__/values', {}).catch(() => []);
    words = [
      ...names.map((w) => ({ word: w, kind: 'metric' })),
      ...FUNCTIONS.map((w) => ({ word: w, kind: 'function' })),
      ...AGGREGATIONS.map((w) => ({ word: w, kind: 'aggregation' })),
      ...KEYWORDS.map((w) => ({ word: w, kind: 'keyword' })),
    ];
  } else if (ctx.kind === 'label') {
    const names = await cachedValues('/api/v1/labels', match).catch(() => []);
    words = names.filter((w) => w !== '__name__').map((w) => ({ word: w, kind: 'label' }));
  } else if (ctx.kind === 'value') {
    const path = `/api/v1/label/${encodeURIComponent(ctx.label)}/values`;
    const values = await cachedValues(path, match).catch(() => []);
    words = values.map((w) => ({ word: w, kind: 'value' }));
  }
  const p = ctx.prefix.toLowerCase();
  const starts = words.filter((c) => c.word.toLowerCase().startsWith(p));
  const inside = p ? words.filter((c) => !c.word.toLowerCase().startsWith(p) &&
    c.word.toLowerCase().includes(p)) : [];
  return [...starts, ...inside].filter((c) => c.word !== ctx.prefix || ctx.kind === 'value');
}

/** One expression editor. `el` is its root element. */
export class QueryEditor {
  constructor({ value = '', onRun, onChange, onRemove }) {
    this.onRun = onRun;
    this.onChange = onChange;
    this.items = [];
    this.selected = 0;
    this.ctx = null;
    this.seq = 0;
    this.historyPos = -1;
    this.input = h('textarea.expr', {
      rows: 1, spellcheck: 'false', autocomplete: 'off',
      placeholder: 'Expression (Enter: run, Shift+Enter: new line, Ctrl+↑/↓: history, Tab: complete)',
      'aria-label': 'Expression',
      oninput: () => this.changed(),
      onkeydown: (e) => this.key(e),
      onblur: () => setTimeout(() => this.close(), 150),
      onclick: () => this.refresh(),
    });
    this.input.value = value;
    this.list = h('ul.completions', { role: 'listbox', hidden: true });
    this.el = h('div.editor', this.input, this.list,
      onRemove ? h('button.icon.remove', { title: 'Remove this query', onclick: onRemove }, '×') : null);
    queueMicrotask(() => this.grow());
  }

  get value() {
    return this.input.value;
  }

  set value(v) {
    this.input.value = v;
    this.grow();
  }

  focus() {
    this.input.focus();
  }

  grow() {
    this.input.rows = Math.min(12, Math.max(1, this.input.value.split('\n').length));
  }

  changed() {
    this.grow();
    this.historyPos = -1;
    if (this.onChange) this.onChange(this.value);
    this.refresh();
  }

  key(e) {
    const open = !this.list.hidden && this.items.length > 0;
    if (open && (e.key === 'ArrowDown' || e.key === 'ArrowUp')) {
      e.preventDefault();
      const n = this.items.length;
      this.selected = (this.selected + (e.key === 'ArrowDown' ? 1 : n - 1)) % n;
      this.render();
    } else if (open && (e.key === 'Tab' || (e.key === 'Enter' && !e.shiftKey))) {
      e.preventDefault();
      this.accept(this.items[this.selected]);
    } else if (open && e.key === 'Escape') {
      e.preventDefault();
      this.close();
    } else if (e.key === 'Enter' && !e.shiftKey && !e.isComposing) {
      e.preventDefault();
      this.close();
      if (this.onRun) this.onRun(this.value);
    } else if ((e.ctrlKey || e.metaKey) && (e.key === 'ArrowUp' || e.key === 'ArrowDown')) {
      e.preventDefault();
      this.recall(e.key === 'ArrowUp' ? 1 : -1);
    }
  }

  recall(dir) {
    const hist = loadHistory();
    const next = Math.max(-1, Math.min(hist.length - 1, this.historyPos + dir));
    if (next === this.historyPos) return;
    this.historyPos = next;
    this.input.value = next < 0 ? '' : hist[next];
    this.grow();
    if (this.onChange) this.onChange(this.value);
  }

  async refresh() {
    const pos = this.input.selectionStart;
    if (pos !== this.input.selectionEnd) return this.close();
    const ctx = completionContext(this.value, pos);
    if (ctx.kind === 'none' || (ctx.kind === 'metric' && ctx.prefix.length < 1)) return this.close();
    const seq = ++this.seq;
    const items = await candidates(ctx);
    if (seq !== this.seq || document.activeElement !== this.input) return;
    this.ctx = ctx;
    this.items = items.slice(0, SHOWN_MAX);
    this.selected = 0;
    this.render();
  }

  render() {
    this.list.hidden = this.items.length === 0;
    setChildren(this.list, this.items.map((c, i) => h(`li.${c.kind}`, {
      role: 'option', 'aria-selected': i === this.selected ? 'true' : 'false',
      class: i === this.selected ? `${c.kind} selected` : c.kind,
      onmousedown: (e) => { e.preventDefault(); this.accept(c); },
    }, h('span.word', c.word), h('span.kind', c.kind))));
    const sel = this.list.children[this.selected];
    if (sel) sel.scrollIntoView({ block: 'nearest' });
  }

  close() {
    this.seq++;
    this.items = [];
    this.list.hidden = true;
  }

  accept(c) {
    const { start } = this.ctx;
    const pos = this.input.selectionStart;
    let text = c.word;
    if (c.kind === 'value') {
      const q = this.ctx.quote;
      if (q !== '`') text = text.replace(/\\/g, '\\\\').replaceAll(q, `\\${q}`);
      if (this.value[pos] !== q) text += q;
    }
    const callable = c.kind === 'function' || c.kind === 'aggregation';
    if (callable && this.value[pos] !== '(') text += '(';
    this.input.setRangeText(text, start, pos, 'end');
    this.close();
    this.changed();
    this.close();
  }
}
