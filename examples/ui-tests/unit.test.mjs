// Unit tests of the UI's pure functions (no browser): node --test unit.test.mjs

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseDuration, formatDuration, autoStep, resolveRange } from '../ui/time.js';
import { completionContext } from '../ui/editor.js';
import { nearestIndex, toSeries } from '../ui/graph.js';
import { linearTicks, logTicks, timeTicks } from '../ui/graph_axes.js';
import { tableOf } from '../ui/table.js';
import { readLocation, makeHash, queryStateFrom, queryParamsOf } from '../ui/url.js';
import { formatMetric, formatValue } from '../ui/dom.js';

test('durations parse and print', () => {
  assert.equal(parseDuration('1h30m'), 5400);
  assert.equal(parseDuration('15s'), 15);
  assert.equal(parseDuration('500ms'), 0.5);
  assert.equal(parseDuration('30'), 30);
  assert.equal(parseDuration('1x'), null);
  assert.equal(parseDuration('h'), null);
  assert.equal(parseDuration('0s'), null);
  assert.equal(formatDuration(5400), '1h30m');
  assert.equal(formatDuration(0.05), '50ms');
});

test('auto step gives at most one point per pixel, on a nice value', () => {
  assert.equal(autoStep(3600, 1000), 5);
  assert.equal(autoStep(86400, 1200), 120);
  assert.equal(autoStep(300, 1000), 1);
  assert.ok(autoStep(30 * 86400, 11000 * 2) >= (30 * 86400) / 11000);
});

test('relative and absolute ranges resolve', () => {
  assert.deepEqual(resolveRange({ range: '5m' }, 1000), [700, 1000]);
  assert.deepEqual(resolveRange({ range: '5m', from: 10, to: 20 }, 1000), [10, 20]);
  assert.deepEqual(resolveRange({ range: 'bogus' }, 7200), [3600, 7200]);
});

test('completion context: metric, label name, label value, grouping, none', () => {
  assert.deepEqual(completionContext('rate(http_re', 12), { kind: 'metric', prefix: 'http_re', start: 5 });
  const lbl = completionContext('up{jo', 5);
  assert.equal(lbl.kind, 'label');
  assert.equal(lbl.prefix, 'jo');
  assert.equal(lbl.metric, 'up');
  const second = completionContext('up{job="a", ins', 15);
  assert.equal(second.kind, 'label');
  assert.equal(second.prefix, 'ins');
  const val = completionContext('up{job=~"no', 11);
  assert.deepEqual([val.kind, val.label, val.prefix, val.start, val.metric], ['value', 'job', 'no', 9, 'up']);
  const by = completionContext('sum by (ins', 11);
  assert.deepEqual([by.kind, by.prefix], ['label', 'ins']);
  assert.equal(completionContext('up[5', 4).kind, 'none');
  assert.equal(completionContext('up{job="a"} ', 12).kind, 'none');
  assert.equal(completionContext('label_replace(up, "d', 20).kind, 'none');
  assert.equal(completionContext('up # comm', 9).kind, 'none');
  // A closing quote ends the string: after it we are back in the braces, not in a value.
  assert.equal(completionContext('up{job="a\\"b" ', 14).kind, 'none');
});

test('nearest index by binary search', () => {
  const ts = Float64Array.from([10, 20, 30, 40]);
  assert.equal(nearestIndex(ts, 0), 0);
  assert.equal(nearestIndex(ts, 24), 1);
  assert.equal(nearestIndex(ts, 26), 2);
  assert.equal(nearestIndex(ts, 99), 3);
  assert.equal(nearestIndex(new Float64Array(0), 5), -1);
});

test('matrix to typed series, special values parsed', () => {
  const [s] = toSeries([{ metric: { __name__: 'm', a: 'b' }, values: [[1, '1.5'], [2, 'NaN'], [3, '+Inf']] }]);
  assert.equal(s.label, 'm{a="b"}');
  assert.deepEqual(Array.from(s.ts), [1, 2, 3]);
  assert.equal(s.vs[0], 1.5);
  assert.ok(Number.isNaN(s.vs[1]));
  assert.equal(s.vs[2], Infinity);
});

test('axis ticks cover the range with round values', () => {
  const l = linearTicks(3, 97, 5);
  assert.deepEqual([l.min, l.max], [0, 100]);
  assert.deepEqual(l.ticks, [0, 20, 40, 60, 80, 100]);
  const flat = linearTicks(5, 5, 4);
  assert.ok(flat.min < 5 && flat.max > 5);
  const g = logTicks(0.5, 2000);
  assert.deepEqual([g.min, g.max], [-1, 4]);
  const t = timeTicks(0, 3600, 1000, 100);
  assert.equal(t.step, 600);
  assert.ok(t.ticks.every((x) => x >= 0 && x <= 3600));
});

test('instant vector to table rows, columns sorted with the name first', () => {
  const t = tableOf({ resultType: 'vector', result: [
    { metric: { __name__: 'up', job: 'a', instance: 'x' }, value: [1, '1'] },
    { metric: { __name__: 'up', job: 'b' }, value: [1, '0'] },
  ] });
  assert.deepEqual(t.columns, ['__name__', 'instance', 'job']);
  assert.deepEqual(t.rows.map((r) => r.text), ['1', '0']);
  const s = tableOf({ resultType: 'scalar', result: [1, '2.5'] });
  assert.equal(s.rows[0].value, 2.5);
});

test('URL state round-trips', () => {
  const state = { exprs: ['up', 'rate(x[5m])'], range: '6h', step: '30s', tab: 'table', log: true };
  const back = queryStateFrom(queryParamsOf(state));
  assert.deepEqual(back, { ...state, from: undefined, to: undefined });
  const abs = queryStateFrom(queryParamsOf({ ...state, from: 100, to: 200 }));
  assert.deepEqual([abs.from, abs.to], [100, 200]);
  assert.deepEqual(readLocation('#/targets?state=down').page, 'targets');
  assert.equal(readLocation('#/targets?state=down').params.get('state'), 'down');
  assert.equal(readLocation('#/nonsense').page, 'query');
  assert.equal(makeHash('query', { 'g0.expr': 'a b' }), '#/?g0.expr=a+b');
  assert.equal(queryStateFrom(new URLSearchParams('tab=evil')).tab, 'graph');
  const prom = queryStateFrom(new URLSearchParams('g0.expr=up&g0.range_input=6h&g0.step_input=30s&g0.tab=1'));
  assert.deepEqual([prom.exprs, prom.range, prom.step, prom.tab], [['up'], '6h', '30s', 'table']);
});

test('metric and value formatting', () => {
  assert.equal(formatMetric({ __name__: 'up', b: '2', a: '1"' }), 'up{a="1\\"", b="2"}');
  assert.equal(formatMetric({}), '{}');
  assert.equal(formatValue('0.1234567'), '0.123457');
  assert.equal(formatValue('NaN'), 'NaN');
  assert.equal(formatValue(-Infinity), '-Inf');
  assert.equal(formatValue(1e-7), '1.000e-7');
});

test('a parse error position gets a caret under the query', async () => {
  const { withCaret } = await import('../ui/query.js');
  const msg = 'invalid parameter "query": 1:5: parse error: expected expression';
  assert.equal(withCaret('sum(', msg), `${msg}\n\nsum(\n    ^`);
  assert.equal(withCaret('up +\n  foo(', 'x: 2:3: unknown function'), 'x: 2:3: unknown function\n\n  foo(\n  ^');
  assert.equal(withCaret('up', 'no position here'), 'no position here');
  assert.equal(withCaret('up', '9:1: line out of range'), '9:1: line out of range');
});

/** A canvas context that records path commands. */
function recorder() {
  const calls = [];
  const rec = (name) => (...a) => calls.push([name, ...a]);
  return {
    calls,
    beginPath: rec('begin'), moveTo: rec('move'), lineTo: rec('line'), stroke: rec('stroke'),
    fillRect: rec('dot'),
  };
}

test('drawing reduces each pixel column to at most four commands', async () => {
  const { drawSeries } = await import('../ui/graph_draw.js');
  // 1000 points over 10 pixels: 100 per column.
  const n = 1000;
  const ts = Float64Array.from({ length: n }, (_, i) => i);
  const vs = Float64Array.from({ length: n }, (_, i) => Math.sin(i));
  const view = { start: 0, end: 1000, step: 1, log: false, x: (t) => t / 100, y: (v) => -v };
  const ctx = recorder();
  assert.equal(drawSeries(ctx, { ts, vs, color: 'red' }, view), n);
  const lines = ctx.calls.filter(([c]) => c === 'move' || c === 'line');
  assert.ok(lines.length <= 10 * 4, `${lines.length} path commands`);
  assert.equal(ctx.calls.filter(([c]) => c === 'move').length, 1);
  // The extremes of a column are drawn: min and max of sin over 100 samples are near ±1.
  const ys = lines.map((l) => -l[2]);
  assert.ok(Math.max(...ys) > 0.99 && Math.min(...ys) < -0.99);
});

test('drawing breaks lines at gaps and NaN, and dots lone points', async () => {
  const { drawSeries } = await import('../ui/graph_draw.js');
  // Points at 0,10,20 | NaN at 30 | 40 alone (gap to 60) | 60,70.
  const ts = Float64Array.from([0, 10, 20, 30, 40, 60, 70]);
  const vs = Float64Array.from([1, 2, 3, NaN, 4, 5, 6]);
  const view = { start: 0, end: 70, step: 10, log: false, x: (t) => t, y: (v) => v };
  const ctx = recorder();
  assert.equal(drawSeries(ctx, { ts, vs, color: 'red' }, view), 6);
  assert.deepEqual(ctx.calls.filter(([c]) => c === 'move').map((c) => c[1]), [0.5, 40.5, 60.5]);
  assert.deepEqual(ctx.calls.filter(([c]) => c === 'dot'), [['dot', 39, 2.5, 3, 3]]);
  // A log scale drops values <= 0.
  const logCtx = recorder();
  const logView = { ...view, log: true, y: (v) => Math.log10(v) };
  assert.equal(drawSeries(logCtx, { ts: Float64Array.from([0, 10]), vs: Float64Array.from([0, 10]), color: 'red' }, logView), 1);
});
