// The cardinality page: `/api/v1/status/tsdb` (VictoriaMetrics' and Prometheus' shapes):
// totals, then the top metric names, label names and label=value pairs.

import { h, setChildren, notice, formatValue } from './dom.js';
import { getOptionalJSON } from './api.js';
import { formatTime } from './time.js';
import { makeHash, replaceHash } from './url.js';

const TOP_N = [10, 20, 50, 100];

/** Renders the cardinality page for `params` (`topN`) into `root`. */
export async function cardinalityPage(root, params) {
  const topN = TOP_N.includes(Number(params.get('topN'))) ? Number(params.get('topN')) : 10;
  const match = params.get('match') || '';
  const body = h('div.cardinality-body', notice('info', 'Loading…'));
  const reload = () => {
    const p = { topN: sel.value };
    if (matchIn.value.trim()) p.match = matchIn.value.trim();
    replaceHash('cardinality', p);
    cardinalityPage(root, new URLSearchParams(p));
  };
  const sel = h('select.topn', { 'aria-label': 'Top N', onchange: reload },
    TOP_N.map((n) => h('option', { value: n, selected: n === topN }, `Top ${n}`)));
  const matchIn = h('input.match', {
    type: 'search', value: match, placeholder: 'Series selector, e.g. {job="api"} (Enter)',
    'aria-label': 'Series selector', onkeydown: (e) => { if (e.key === 'Enter') reload(); },
  });
  setChildren(root, h('section.cardinality-page', h('div.page-head', h('h2', 'Cardinality'), sel, matchIn), body));
  try {
    const resp = await getOptionalJSON('/api/v1/status/tsdb', { topN, 'match[]': match || undefined });
    if (resp === null) {
      setChildren(body, notice('info', 'This server has no cardinality statistics (', h('code', '/api/v1/status/tsdb'), ' is absent).'));
      return;
    }
    setChildren(body, renderCardinality(resp.data || {}));
  } catch (e) {
    setChildren(body, notice('error', h('pre', e.message)));
  }
}

const fmt = (n) => (typeof n === 'number' ? n.toLocaleString('en-US') : String(n ?? '–'));

/** The totals and the top-N tables of a status/tsdb `data` object. */
export function renderCardinality(d) {
  const head = d.headStats || {};
  const total = d.totalSeries ?? head.numSeries;
  const cards = [
    ['Total series', total],
    ['Label=value pairs', d.totalLabelValuePairs ?? head.numLabelPairs],
    ['Chunks', head.chunkCount],
    ['Oldest sample', head.minTime ? formatTime(head.minTime / 1000) : undefined],
    ['Newest sample', head.maxTime ? formatTime(head.maxTime / 1000) : undefined],
  ].filter(([, v]) => v !== undefined && v !== null);
  const pair = (name) => {
    const i = name.indexOf('=');
    return i < 0 ? name : `{${name.slice(0, i)}=${JSON.stringify(name.slice(i + 1))}}`;
  };
  return [
    h('div.cards', cards.map(([k, v]) => h('div.card', h('div.card-value', fmt(v)), h('div.card-name', k)))),
    h('div.tops',
      top('Series by metric name', 'Metric', d.seriesCountByMetricName, total, (n) => n),
      top('Series by label=value pair', 'Pair', d.seriesCountByLabelValuePair, total, pair),
      top('Values by label name', 'Label', d.labelValueCountByLabelName, null, null),
      top('Series by label name', 'Label', d.seriesCountByLabelName, total, null)),
  ];
}

function top(title, column, entries, total, queryOf) {
  if (!Array.isArray(entries)) return null;
  const max = Math.max(1, ...entries.map((e) => e.value));
  const whole = total || max;
  return h('div.top', { 'data-table': title },
    h('h3', title),
    entries.length === 0 ? notice('info', 'No data.') : h('table.top-table',
      h('thead', h('tr', h('th', column), h('th.num', 'Count'), h('th', total ? '% of series' : ''))),
      h('tbody', entries.map((e) => {
        const share = (e.value / whole) * 100;
        const name = queryOf
          ? h('a', { href: makeHash('query', { 'g0.expr': queryOf(e.name), tab: 'table' }) }, e.name)
          : e.name;
        return h('tr', h('td.name', name), h('td.num', fmt(e.value)),
          h('td.share', h('div.bar', { style: `width:${Math.min(100, (e.value / max) * 100).toFixed(1)}%` }),
            total ? h('span', `${formatValue(share.toFixed(2))}%`) : null));
      }))));
}
