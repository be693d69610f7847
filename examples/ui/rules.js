// The rules and alerts page: `/api/v1/rules` and `/api/v1/alerts` in Prometheus' shapes.

import { h, setChildren, notice, formatValue } from './dom.js';
import { getOptionalJSON } from './api.js';
import { ago, formatDuration } from './time.js';

/** Renders the rules page into `root`. */
export async function rulesPage(root) {
  const alertsEl = h('div.alerts-body', notice('info', 'Loading alerts…'));
  const rulesEl = h('div.rules-body', notice('info', 'Loading rules…'));
  setChildren(root, h('section.rules-page',
    h('div.page-head', h('h2', 'Alerts')), alertsEl,
    h('div.page-head', h('h2', 'Rules')), rulesEl));
  const [rules, alerts] = await Promise.all([
    getOptionalJSON('/api/v1/rules').catch((e) => ({ error: e })),
    getOptionalJSON('/api/v1/alerts').catch((e) => ({ error: e })),
  ]);
  setChildren(rulesEl, renderRules(rules));
  setChildren(alertsEl, renderAlerts(alerts));
}

function failed(resp) {
  return resp && resp.error ? notice('error', h('pre', resp.error.message)) : null;
}

/** The rule groups of a `/api/v1/rules` response (null: endpoint absent). */
export function renderRules(resp) {
  if (failed(resp)) return failed(resp);
  const groups = (resp && resp.data && resp.data.groups) || [];
  if (groups.length === 0) return notice('info', 'No rules loaded.');
  return groups.map((g) => h('details.group', { open: true },
    h('summary', h('span.group-name', g.name), h('span.muted', ` ${g.file || ''}`),
      g.interval ? h('span.muted', ` every ${formatDuration(g.interval)}`) : null,
      g.lastEvaluation ? h('span.muted', ` · evaluated ${ago(g.lastEvaluation)}`) : null),
    h('table.rules',
      h('thead', h('tr', ['Rule', 'State', 'Last evaluation', 'Took', 'Error'].map((c) => h('th', c)))),
      h('tbody', (g.rules || []).map(ruleRow)))));
}

function ruleRow(r) {
  const kind = r.type === 'alerting' ? 'alert' : 'record';
  const state = r.type === 'alerting' ? (r.state || 'inactive') : (r.health || 'unknown');
  const text = [`${kind}: ${r.name}`, `expr: ${r.query}`];
  if (r.duration) text.push(`for: ${formatDuration(r.duration)}`);
  for (const [k, v] of Object.entries(r.labels || {})) text.push(`label ${k}: ${v}`);
  for (const [k, v] of Object.entries(r.annotations || {})) text.push(`annotation ${k}: ${v}`);
  return h('tr.rule', { 'data-type': r.type || '' },
    h('td', h('pre.rule-text', text.join('\n'))),
    h('td', h(`span.badge.${state}`, state.toUpperCase()),
      r.alerts && r.alerts.length ? h('div.muted', `${r.alerts.length} active`) : null),
    h('td.nowrap', r.lastEvaluation ? ago(r.lastEvaluation) : 'never'),
    h('td.nowrap', typeof r.evaluationTime === 'number' ? formatDuration(r.evaluationTime) : '–'),
    h('td.error', r.lastError ? h('pre', r.lastError) : ''));
}

/** The alerts of a `/api/v1/alerts` response (null: endpoint absent). */
export function renderAlerts(resp) {
  if (failed(resp)) return failed(resp);
  const alerts = (resp && resp.data && resp.data.alerts) || [];
  if (alerts.length === 0) return notice('info', resp ? 'No active alerts.' : 'No rules loaded.');
  return h('table.alerts',
    h('thead', h('tr', ['Alert', 'State', 'Labels', 'Active since', 'Value', 'Annotations'].map((c) => h('th', c)))),
    h('tbody', alerts.map((a) => h('tr', { 'data-state': a.state },
      h('td', (a.labels && a.labels.alertname) || ''),
      h('td', h(`span.badge.${a.state}`, String(a.state || '').toUpperCase())),
      h('td.labels', Object.entries(a.labels || {}).filter(([k]) => k !== 'alertname')
        .map(([k, v]) => h('span.chip', `${k}="${v}"`))),
      h('td.nowrap', a.activeAt ? ago(a.activeAt) : ''),
      h('td', a.value !== undefined ? formatValue(a.value) : ''),
      h('td', Object.entries(a.annotations || {}).map(([k, v]) => h('div', h('b', `${k}: `), v)))))));
}
