//! Relabeling speed: the Kubernetes `relabel_configs` chains of
//! `shared/conformance/configs/scrape-vmagent-kubernetes.yml` applied to one discovered
//! target each (ns per target; the rule count is in the benchmark name, so ns per rule is
//! the time divided by it), and a typical `metric_relabel_configs` chain applied to
//! scraped series (ns per series).
//!
//! `cargo bench -p gnomon-benches --bench relabel -- --warm-up-time 1 --measurement-time 3`

use std::hint::black_box;
use std::path::PathBuf;

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use gnomon_relabel::{RelabelConfigs, RelabelOptions, Relabeler, compile};
use gnomon_tsdb_core::model::{Labels, LabelsBuilder};

fn config_path() -> PathBuf {
    let local = PathBuf::from(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../shared/conformance/configs/scrape-vmagent-kubernetes.yml"
    ));
    if local.exists() {
        return local;
    }
    let shared = std::env::var("GNOMON_SHARED").expect("shared/ not found: set GNOMON_SHARED");
    PathBuf::from(shared).join("conformance/configs/scrape-vmagent-kubernetes.yml")
}

/// (job name, compiled relabel_configs) of every job of the file.
fn jobs() -> Vec<(String, Relabeler)> {
    let text = std::fs::read_to_string(config_path()).expect("read the scrape config");
    let doc: serde_yaml_ng::Value = serde_yaml_ng::from_str(&text).expect("scrape config YAML");
    let opts = RelabelOptions::victoriametrics();
    doc["scrape_configs"]
        .as_sequence()
        .expect("scrape_configs list")
        .iter()
        .map(|job| {
            let name = job["job_name"].as_str().unwrap_or("?").to_owned();
            let rules = serde_yaml_ng::to_string(&job["relabel_configs"]).unwrap();
            let configs = RelabelConfigs::from_yaml(&rules).expect("relabel_configs");
            (name, compile(configs.rules(), &opts).expect("compile"))
        })
        .collect()
}

/// A target as Kubernetes endpoints discovery produces it (~30 labels).
fn endpoint_target() -> Labels {
    let mut pairs = vec![
        ("__address__", "10.1.2.3:8080".to_owned()),
        ("__scheme__", "http".to_owned()),
        ("__metrics_path__", "/metrics".to_owned()),
        ("job", "endpoints".to_owned()),
        ("__meta_kubernetes_namespace", "default".to_owned()),
        ("__meta_kubernetes_service_name", "kubernetes".to_owned()),
        ("__meta_kubernetes_endpoint_port_name", "https".to_owned()),
        ("__meta_kubernetes_endpoint_ready", "true".to_owned()),
        (
            "__meta_kubernetes_pod_name",
            "api-7d9f8c6b5-x2x9q".to_owned(),
        ),
        ("__meta_kubernetes_pod_node_name", "node-17".to_owned()),
        ("__meta_kubernetes_pod_container_init", "false".to_owned()),
        ("__meta_kubernetes_pod_container_name", "api".to_owned()),
        (
            "__meta_kubernetes_pod_container_port_number",
            "8080".to_owned(),
        ),
        ("__meta_kubernetes_pod_ip", "10.1.2.3".to_owned()),
        (
            "__meta_kubernetes_service_annotation_prometheus_io_scrape",
            "true".to_owned(),
        ),
        (
            "__meta_kubernetes_service_annotation_prometheus_io_port",
            "8080".to_owned(),
        ),
        (
            "__meta_kubernetes_service_annotation_prometheus_io_path",
            "/metrics".to_owned(),
        ),
        ("__meta_kubernetes_node_name", "node-17".to_owned()),
    ];
    for (k, v) in [
        ("app", "api"),
        ("tier", "backend"),
        ("team", "core"),
        ("version", "v1.2.3"),
    ] {
        pairs.push((
            Box::leak(format!("__meta_kubernetes_service_label_{k}").into_boxed_str()),
            v.to_owned(),
        ));
        pairs.push((
            Box::leak(format!("__meta_kubernetes_node_label_{k}").into_boxed_str()),
            v.to_owned(),
        ));
        pairs.push((
            Box::leak(format!("__meta_kubernetes_pod_label_{k}").into_boxed_str()),
            v.to_owned(),
        ));
    }
    Labels::from_pairs(&pairs)
}

/// A typical `metric_relabel_configs` chain: drop expensive histograms, drop a noisy
/// label, rename one, tag with a constant.
const METRIC_RULES: &str = r#"
- source_labels: [__name__]
  regex: 'apiserver_request_duration_seconds_bucket|etcd_.*'
  action: drop
- action: labeldrop
  regex: 'id|uid'
- source_labels: [container_name]
  target_label: container
- target_label: cluster
  replacement: prod-eu-1
"#;

fn series(i: usize) -> Labels {
    Labels::from_pairs(&[
        (
            "__name__",
            format!("container_cpu_usage_seconds_total_{}", i % 7).as_str(),
        ),
        ("container_name", "api"),
        ("id", format!("/kubepods/burstable/pod{i}").as_str()),
        ("instance", "10.1.2.3:8080"),
        ("job", "cadvisor"),
        ("namespace", "default"),
        ("pod", format!("api-{i}").as_str()),
    ])
}

fn bench_targets(c: &mut Criterion) {
    let target = endpoint_target();
    let base = target.builder();
    let mut g = c.benchmark_group("relabel/target");
    g.throughput(Throughput::Elements(1));
    // The cost of resetting the builder to the target, included in every figure below.
    g.bench_function("baseline/copy_only", |b| {
        let mut lb = LabelsBuilder::new();
        b.iter(|| {
            lb.clone_from(&base);
            black_box(&lb);
        })
    });
    for (name, rl) in jobs() {
        let id = BenchmarkId::new(name, format!("{}rules", rl.len()));
        g.bench_with_input(id, &target, |b, t| {
            let base = t.builder();
            let mut lb = LabelsBuilder::new();
            b.iter(|| {
                lb.clone_from(&base);
                black_box(rl.apply(&mut lb))
            })
        });
    }
    g.finish();
}

fn bench_series(c: &mut Criterion) {
    let configs = RelabelConfigs::from_yaml(METRIC_RULES).unwrap();
    let rl = compile(configs.rules(), &RelabelOptions::prometheus()).unwrap();
    let input: Vec<Labels> = (0..1000).map(series).collect();
    let mut g = c.benchmark_group("relabel/series");
    g.throughput(Throughput::Elements(input.len() as u64));
    g.bench_function(
        format!("metric_relabel/{}rules/apply_labels", rl.len()),
        |b| {
            b.iter(|| {
                for s in &input {
                    black_box(rl.apply_labels(s));
                }
            })
        },
    );
    g.finish();
}

criterion_group!(benches, bench_targets, bench_series);
criterion_main!(benches);
