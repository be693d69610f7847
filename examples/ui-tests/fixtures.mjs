// API responses in the documented Prometheus / VictoriaMetrics shapes, for checking how the
// Targets, Rules and Cardinality pages render whatever the binary under test serves.

const iso = (msAgo) => new Date(Date.now() - msAgo).toISOString();

/** `/api/v1/targets` (Prometheus' shape): two jobs, one target down. */
export function targets() {
  const target = (job, addr, health, lastError, ago, duration) => ({
    discoveredLabels: { __address__: addr, __metrics_path__: '/metrics', __scheme__: 'http', job },
    labels: { instance: addr, job, ...(job === 'node' ? { env: 'prod' } : {}) },
    scrapePool: job,
    scrapeUrl: `http://${addr}/metrics`,
    globalUrl: `http://${addr}/metrics`,
    lastError,
    lastScrape: iso(ago),
    lastScrapeDuration: duration,
    health,
    scrapeInterval: '15s',
    scrapeTimeout: '10s',
  });
  return {
    status: 'success',
    data: {
      activeTargets: [
        target('node', '10.0.0.5:9100', 'up', '', 3200, 0.0123),
        target('node', '10.0.0.7:9100', 'down', 'Get "http://10.0.0.7:9100/metrics": dial tcp 10.0.0.7:9100: connect: connection refused', 8100, 0.0011),
        target('gnomon', '127.0.0.1:8428', 'up', '', 1200, 0.0042),
      ],
      droppedTargets: [],
    },
  };
}

/** `/api/v1/rules` (Prometheus' shape): a recording and an alerting rule that fires. */
export function rules() {
  const alert = {
    labels: { alertname: 'InstanceDown', instance: '10.0.0.7:9100', job: 'node', severity: 'page' },
    annotations: { summary: 'Instance 10.0.0.7:9100 down' },
    state: 'firing',
    activeAt: iso(360_000),
    value: '0e+00',
  };
  return {
    status: 'success',
    data: {
      groups: [{
        name: 'node.rules',
        file: '/etc/gnomon/rules/node.yml',
        interval: 30,
        lastEvaluation: iso(4000),
        evaluationTime: 0.0021,
        rules: [
          { type: 'recording', name: 'job:up:sum', query: 'sum by (job) (up)', labels: {}, health: 'ok', lastError: '', lastEvaluation: iso(4000), evaluationTime: 0.0009 },
          { type: 'alerting', name: 'InstanceDown', query: 'up == 0', duration: 300, labels: { severity: 'page' }, annotations: { summary: 'Instance {{ $labels.instance }} down' }, alerts: [alert], health: 'ok', state: 'firing', lastError: '', lastEvaluation: iso(4000), evaluationTime: 0.0011 },
        ],
      }],
    },
  };
}

/** `/api/v1/alerts` (Prometheus' shape). */
export function alerts() {
  return { status: 'success', data: { alerts: rules().data.groups[0].rules[1].alerts } };
}

/** `/api/v1/status/tsdb` (VictoriaMetrics' shape, with Prometheus' headStats as well). */
export function statusTsdb() {
  return {
    status: 'success',
    data: {
      totalSeries: 15234,
      totalLabelValuePairs: 48213,
      headStats: { numSeries: 15234, numLabelPairs: 48213, chunkCount: 60112, minTime: Date.now() - 86_400_000, maxTime: Date.now() },
      seriesCountByMetricName: [{ name: 'http_requests_total', value: 6120 }, { name: 'node_cpu_seconds_total', value: 3200 }, { name: 'up', value: 42 }],
      seriesCountByLabelName: [{ name: 'instance', value: 15234 }, { name: 'job', value: 15234 }, { name: 'path', value: 6120 }],
      seriesCountByFocusLabelValue: [],
      seriesCountByLabelValuePair: [{ name: 'job=api', value: 9000 }, { name: 'env=prod', value: 7000 }],
      labelValueCountByLabelName: [{ name: 'path', value: 812 }, { name: 'instance', value: 42 }],
    },
  };
}
