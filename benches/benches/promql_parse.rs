//! Parse throughput of the PromQL/MetricsQL parser on dashboard-style queries (the kind a
//! Grafana Node Exporter / Kubernetes dashboard sends), and of the canonical printer.
//! Throughput is reported in queries per second.

use criterion::{Criterion, Throughput, black_box, criterion_group, criterion_main};
use gnomon_promql::{ParseOptions, parse, parse_with};

/// Typical dashboard panels: rates, ratios, histogram quantiles, topk, label regexes.
const DASHBOARD: &[&str] = &[
    r#"sum by (instance) (rate(node_cpu_seconds_total{mode!="idle", job="node"}[5m]))"#,
    r#"100 * (1 - avg by (instance) (rate(node_cpu_seconds_total{mode="idle", instance=~"$instance"}[$__rate_interval])))"#,
    r#"node_memory_MemAvailable_bytes{job="node"} / node_memory_MemTotal_bytes{job="node"} * 100"#,
    r#"histogram_quantile(0.99, sum by (le, handler) (rate(http_request_duration_seconds_bucket{job="api", code=~"2.."}[5m])))"#,
    r#"topk(10, sum by (pod, namespace) (rate(container_cpu_usage_seconds_total{container!="", namespace=~"prod|staging"}[2m])))"#,
    r#"sum(rate(http_requests_total{status=~"5.."}[5m])) / sum(rate(http_requests_total[5m])) > 0.05"#,
    r#"(node_filesystem_avail_bytes{fstype!~"tmpfs|overlay"} / node_filesystem_size_bytes) < 0.1 and on (instance, device) predict_linear(node_filesystem_avail_bytes[6h], 24 * 3600) < 0"#,
    r#"kube_pod_container_status_restarts_total * on (namespace, pod) group_left (node) kube_pod_info{node=~"worker-.*"}"#,
    r#"max_over_time(up{job="blackbox"}[1h:1m] offset 1d) unless absent(up{job="blackbox"})"#,
    r#"label_replace(sum by (instance) (irate(node_network_receive_bytes_total{device!~"lo|veth.*"}[1m])), "host", "$1", "instance", "([^:]+):.*")"#,
];

fn bench_parse(c: &mut Criterion) {
    let total_bytes: usize = DASHBOARD.iter().map(|q| q.len()).sum();
    let mut g = c.benchmark_group("promql_parse");
    g.throughput(Throughput::Elements(DASHBOARD.len() as u64));
    g.bench_function("dashboard_metricsql_mode", |b| {
        b.iter(|| {
            for q in DASHBOARD {
                black_box(parse(black_box(q)).expect("valid query"));
            }
        })
    });
    let strict = ParseOptions::prometheus();
    // `$__rate_interval` is MetricsQL (Grafana substitutes it before sending).
    let promql: Vec<String> = DASHBOARD
        .iter()
        .map(|q| q.replace("$__rate_interval", "5m"))
        .collect();
    g.bench_function("dashboard_prometheus_mode", |b| {
        b.iter(|| {
            for q in &promql {
                black_box(parse_with(black_box(q), &strict).expect("valid query"));
            }
        })
    });
    let trees: Vec<_> = DASHBOARD.iter().map(|q| parse(q).expect("valid")).collect();
    g.bench_function("dashboard_print", |b| {
        b.iter(|| {
            for t in &trees {
                black_box(t.to_string());
            }
        })
    });
    g.finish();
    let mut g = c.benchmark_group("promql_parse_bytes");
    g.throughput(Throughput::Bytes(total_bytes as u64));
    g.bench_function("dashboard_metricsql_mode", |b| {
        b.iter(|| {
            for q in DASHBOARD {
                black_box(parse(black_box(q)).expect("valid query"));
            }
        })
    });
    g.finish();
}

criterion_group!(benches, bench_parse);
criterion_main!(benches);
