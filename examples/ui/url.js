// The UI's state lives in the URL fragment so that any view can be shared:
//   #/?g0.expr=rate(x[5m])&g1.expr=up&range=1h&step=auto&tab=graph&log=1
//   #/?g0.expr=up&from=1700000000&to=1700003600      (absolute range, Unix seconds)
//   #/targets?state=down    #/rules    #/cardinality?topN=20

/** The pages, by the path in the fragment. */
export const PAGES = ['query', 'targets', 'rules', 'cardinality'];

/** Reads the fragment: `{page, params: URLSearchParams}`. */
export function readLocation(hash = location.hash) {
  const raw = hash.replace(/^#/, '');
  const q = raw.indexOf('?');
  const path = (q < 0 ? raw : raw.slice(0, q)).replace(/^\/+|\/+$/g, '');
  const params = new URLSearchParams(q < 0 ? '' : raw.slice(q + 1));
  const page = PAGES.includes(path) ? path : 'query';
  return { page, params };
}

/** The fragment for `page` with `params` (an object or URLSearchParams). */
export function makeHash(page, params) {
  const qs = new URLSearchParams(params).toString();
  const path = page === 'query' ? '/' : `/${page}`;
  return `#${path}${qs ? `?${qs}` : ''}`;
}

let shown = null;

/** Records that the page now shows the view of `hash` (see isShown). */
export function markShown(hash) {
  shown = hash;
  // The header's Query link returns to the last query view rather than an empty one.
  const isQuery = readLocation(hash).page === 'query';
  const link = isQuery && document.querySelector('header nav a[data-page="query"]');
  if (link) link.setAttribute('href', hash || '#/');
}

/** Whether the page already shows `hash`: Back/Forward to it needs no new render. */
export function isShown(hash) {
  return hash === shown;
}

/** Replaces the fragment without adding a history entry or re-rendering the page. */
export function replaceHash(page, params) {
  const hash = makeHash(page, params);
  if (hash !== location.hash) history.replaceState(null, '', hash);
  markShown(location.hash);
}

/** Adds a history entry (so Back returns to the previous view) without re-rendering. */
export function pushHash(page, params) {
  const hash = makeHash(page, params);
  if (hash !== location.hash) history.pushState(null, '', hash);
  markShown(location.hash);
}

/** The query page's state from its params. */
export function queryStateFrom(params) {
  const exprs = [];
  for (let i = 0; i < 20; i++) {
    const e = params.get(`g${i}.expr`);
    if (e === null) break;
    exprs.push(e);
  }
  const from = Number(params.get('from'));
  const to = Number(params.get('to'));
  const absolute = params.has('from') && params.has('to') && to > from;
  // Prometheus' own link parameters (g0.range_input, g0.step_input, g0.tab: 0 graph,
  // 1 table) are understood too, for links that arrive through /graph.
  const promTab = { 0: 'graph', 1: 'table' }[params.get('g0.tab')];
  const tab = params.get('tab') || promTab;
  return {
    exprs: exprs.length ? exprs : [''],
    range: params.get('range') || params.get('g0.range_input') || '1h',
    from: absolute ? from : undefined,
    to: absolute ? to : undefined,
    step: params.get('step') || params.get('g0.step_input') || 'auto',
    tab: ['graph', 'table', 'json'].includes(tab) ? tab : 'graph',
    log: params.get('log') === '1',
  };
}

/** The params of a query page state (inverse of queryStateFrom). */
export function queryParamsOf(state) {
  const p = new URLSearchParams();
  state.exprs.forEach((e, i) => p.set(`g${i}.expr`, e));
  if (state.from !== undefined && state.to !== undefined) {
    p.set('from', String(Math.round(state.from)));
    p.set('to', String(Math.round(state.to)));
  } else {
    p.set('range', state.range);
  }
  p.set('step', state.step);
  p.set('tab', state.tab);
  if (state.log) p.set('log', '1');
  return p;
}
