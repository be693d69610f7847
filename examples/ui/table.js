// The table view of an instant query: one row per series, one column per label name, the
// value last; click a header to sort.

import { h, setChildren, formatValue, parseSampleValue } from './dom.js';
import { formatTime } from './time.js';

const ROWS_MAX = 1000;

/** The rows of a Prometheus query result: `{columns, rows: [{labels, value, text}]}`. */
export function tableOf(data) {
  const type = data.resultType;
  if (type === 'scalar' || type === 'string') {
    const [t, v] = data.result;
    return {
      columns: ['time'],
      rows: [{ labels: { time: formatTime(t) }, value: type === 'scalar' ? parseSampleValue(v) : NaN, text: type === 'scalar' ? formatValue(v) : v }],
    };
  }
  const names = new Set();
  for (const s of data.result) for (const k of Object.keys(s.metric || {})) names.add(k);
  const columns = [...names].sort((a, b) => (a === '__name__' ? -1 : b === '__name__' ? 1 : a < b ? -1 : 1));
  const rows = data.result.map((s) => {
    if (type === 'matrix') {
      const vals = s.values || [];
      const last = vals.length ? parseSampleValue(vals[vals.length - 1][1]) : NaN;
      const text = vals.map(([t, v]) => `${formatValue(v)} @${t}`).join('\n');
      return { labels: s.metric || {}, value: last, text };
    }
    return { labels: s.metric || {}, value: parseSampleValue(s.value[1]), text: formatValue(s.value[1]) };
  });
  return { columns, rows };
}

/** A sortable table element for `data`; `data-rows` holds the number of result rows. */
export function renderTable(data) {
  const { columns, rows } = tableOf(data);
  const root = h('div.table-view', { 'data-rows': String(rows.length) });
  let sortBy = null;
  let desc = false;
  const render = () => {
    const sorted = rows.slice();
    if (sortBy !== null) {
      const key = sortBy === '' ? (r) => r.value : (r) => r.labels[sortBy] ?? '';
      sorted.sort((a, b) => {
        const x = key(a);
        const y = key(b);
        const c = typeof x === 'number' ? (x - y) || 0 : String(x).localeCompare(String(y));
        return desc ? -c : c;
      });
    }
    const head = [...columns, ''].map((c) => h('th', {
      class: sortBy === c ? (desc ? 'sorted desc' : 'sorted') : null,
      onclick: () => { desc = sortBy === c ? !desc : false; sortBy = c; render(); },
    }, c === '' ? 'value' : c === '__name__' ? 'name' : c));
    const body = sorted.slice(0, ROWS_MAX).map((r) => h('tr',
      columns.map((c) => h('td', r.labels[c] ?? '')),
      h('td.value', r.text)));
    setChildren(root,
      rows.length === 0 ? h('div.empty', 'No data: the query returned an empty result.') : null,
      rows.length ? h('table.result-table', h('thead', h('tr', head)), h('tbody', body)) : null,
      rows.length > ROWS_MAX ? h('div.more', `Showing ${ROWS_MAX} of ${rows.length} rows.`) : null);
  };
  render();
  return root;
}
