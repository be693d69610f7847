// The targets page: `/api/v1/targets` (Prometheus' shape) grouped by job, with a state
// filter (all / up / down) kept in the URL.

import { h, setChildren, notice } from './dom.js';
import { getOptionalJSON } from './api.js';
import { ago, formatDuration } from './time.js';
import { replaceHash } from './url.js';

const FILTERS = [['all', 'All'], ['up', 'Up'], ['down', 'Down']];

/** Renders the targets page for `params` (`state`, `search`) into `root`. */
export async function targetsPage(root, params) {
  let filter = FILTERS.some(([f]) => f === params.get('state')) ? params.get('state') : 'all';
  let search = params.get('search') || '';
  const body = h('div.targets-body', notice('info', 'Loading targets…'));
  const buttons = h('div.filter');
  const searchIn = h('input.search', {
    type: 'search', placeholder: 'Filter by endpoint or label', value: search,
    oninput: () => { search = searchIn.value; update(); },
  });
  setChildren(root, h('section.targets-page',
    h('div.page-head', h('h2', 'Targets'), buttons, searchIn,
      h('button', { onclick: () => load() }, 'Refresh')),
    body));
  let targets = null;
  const update = () => {
    const p = { state: filter };
    if (search) p.search = search;
    replaceHash('targets', p);
    setChildren(buttons, FILTERS.map(([f, name]) => h('button', {
      class: f === filter ? 'active' : null, 'data-filter': f,
      onclick: () => { filter = f; update(); },
    }, name)));
    if (targets) setChildren(body, renderTargets(targets, filter, search));
  };
  const load = async () => {
    try {
      const resp = await getOptionalJSON('/api/v1/targets');
      if (resp === null) {
        setChildren(body, notice('info', 'This server does not scrape targets (no ', h('code', '/api/v1/targets'),
          '). Start gnomon with ', h('code', '-promscrape.config=FILE'), ' to scrape.'));
        return;
      }
      targets = (resp.data && resp.data.activeTargets) || [];
      update();
    } catch (e) {
      setChildren(body, notice('error', h('pre', e.message)));
    }
  };
  update();
  await load();
}

function matches(t, search) {
  if (!search) return true;
  const s = search.toLowerCase();
  const hay = [t.scrapeUrl || '', ...Object.entries(t.labels || {}).map(([k, v]) => `${k}="${v}"`)];
  return hay.some((x) => x.toLowerCase().includes(s));
}

/** The job sections for `targets` passing `filter` and `search`. */
export function renderTargets(targets, filter, search) {
  if (targets.length === 0) return notice('info', 'No targets: the scrape configuration has no active targets.');
  const jobs = new Map();
  for (const t of targets) {
    const job = t.scrapePool || (t.labels && t.labels.job) || '';
    if (!jobs.has(job)) jobs.set(job, []);
    jobs.get(job).push(t);
  }
  const sections = [];
  for (const [job, list] of [...jobs].sort(([a], [b]) => (a < b ? -1 : 1))) {
    const up = list.filter((t) => t.health === 'up').length;
    const shown = list.filter((t) => (filter === 'all' || (filter === 'up' ? t.health === 'up' : t.health !== 'up')) && matches(t, search));
    if (shown.length === 0) continue;
    sections.push(h('details.job', { open: true, 'data-job': job },
      h('summary', h('span.job-name', job), h(`span.count.${up === list.length ? 'ok' : 'bad'}`, `${up}/${list.length} up`)),
      h('table.targets',
        h('thead', h('tr', ['Endpoint', 'State', 'Labels', 'Last scrape', 'Duration', 'Error'].map((c) => h('th', c)))),
        h('tbody', shown.map(targetRow)))));
  }
  return sections.length ? sections : notice('info', 'No target matches the filter.');
}

function targetRow(t) {
  const health = t.health || 'unknown';
  const labels = Object.entries(t.labels || {}).sort(([a], [b]) => (a < b ? -1 : 1));
  return h('tr.target', { 'data-health': health },
    h('td.endpoint', t.scrapeUrl ? h('a', { href: t.scrapeUrl, target: '_blank', rel: 'noopener' }, t.scrapeUrl) : ''),
    h('td', h(`span.badge.${health}`, health.toUpperCase())),
    h('td.labels', labels.map(([k, v]) => h('span.chip', `${k}="${v}"`))),
    h('td.nowrap', { title: t.lastScrape || '' }, t.lastScrape ? ago(t.lastScrape) : 'never'),
    h('td.nowrap', typeof t.lastScrapeDuration === 'number' && t.lastScrapeDuration > 0 ? formatDuration(t.lastScrapeDuration) : '–'),
    h('td.error', t.lastError ? h('pre', t.lastError) : ''));
}
