//! Service discovery costs: loading a scrape config file (the Kubernetes config of
//! `shared/conformance/configs`), and rebuilding the `__meta_kubernetes_*` target groups
//! of the endpoints and pod roles from a cache of N pods (discovery rebuilds all groups
//! of a role on each watch event, so this is the per-event cost; the pod count is in
//! the benchmark name).
//!
//! `cargo bench -p gnomon-benches --bench scrape_discovery -- --warm-up-time 1 --measurement-time 3`

use std::hint::black_box;
use std::path::PathBuf;

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use gnomon_scrape::config::{Config, ConfigOptions, KubernetesRole};
use gnomon_scrape::discovery::kubernetes::objects::{Endpoints, Pod, Service};
use gnomon_scrape::discovery::kubernetes::{Cache, build_groups};
use serde_json::json;

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

/// `services` services in one namespace, each backed by `per_service` pods with two
/// container ports (one behind the service).
fn cache(services: usize, per_service: usize) -> Cache {
    let mut c = Cache::default();
    for s in 0..services {
        let name = format!("svc-{s}");
        let svc: Service = serde_json::from_value(json!({
            "metadata": {"name": name, "namespace": "prod", "labels": {"app.kubernetes.io/name": name, "team": "core"}, "annotations": {"prometheus.io/scrape": "true"}},
            "spec": {"type": "ClusterIP", "clusterIP": format!("10.96.{}.{}", s / 250, s % 250), "ports": [{"name": "http", "port": 80, "protocol": "TCP"}]}
        }))
        .unwrap();
        c.services.insert(format!("prod/{name}"), svc);
        let mut addresses = Vec::new();
        for p in 0..per_service {
            let pod_name = format!("{name}-{p}");
            let ip = format!("10.{}.{}.{}", 1 + s / 250, s % 250, p % 250);
            let pod: Pod = serde_json::from_value(json!({
                "metadata": {"name": pod_name, "namespace": "prod", "uid": format!("uid-{s}-{p}"),
                    "labels": {"app.kubernetes.io/name": name, "pod-template-hash": "abc123"},
                    "annotations": {"prometheus.io/scrape": "true", "prometheus.io/port": "8080"},
                    "ownerReferences": [{"kind": "ReplicaSet", "name": format!("{name}-abc123"), "controller": true}]},
                "spec": {"nodeName": format!("node-{}", p % 20), "containers": [{"name": "app", "image": "app:1",
                    "ports": [{"name": "http", "containerPort": 8080, "protocol": "TCP"}, {"name": "metrics", "containerPort": 9100, "protocol": "TCP"}]}]},
                "status": {"phase": "Running", "podIP": ip, "hostIP": "192.168.0.1", "conditions": [{"type": "Ready", "status": "True"}],
                    "containerStatuses": [{"name": "app", "containerID": format!("containerd://{s}{p}")}]}
            }))
            .unwrap();
            c.pods.insert(format!("prod/{pod_name}"), pod);
            addresses.push(json!({"ip": ip, "nodeName": format!("node-{}", p % 20), "targetRef": {"kind": "Pod", "name": pod_name, "namespace": "prod"}}));
        }
        let eps: Endpoints = serde_json::from_value(json!({
            "metadata": {"name": name, "namespace": "prod"},
            "subsets": [{"addresses": addresses, "ports": [{"name": "http", "port": 8080, "protocol": "TCP"}]}]
        }))
        .unwrap();
        c.endpoints.insert(format!("prod/{name}"), eps);
    }
    c
}

fn bench(c: &mut Criterion) {
    let text = std::fs::read_to_string(config_path()).expect("read the scrape config");
    let mut g = c.benchmark_group("scrape_config");
    g.throughput(Throughput::Bytes(text.len() as u64));
    g.bench_function("load_vmagent_kubernetes", |b| {
        b.iter(|| Config::from_yaml(black_box(&text), &ConfigOptions::default()).unwrap())
    });
    g.finish();

    let mut g = c.benchmark_group("kubernetes_build_groups");
    for (services, per_service) in [(10, 10), (100, 10), (100, 50)] {
        let cache = cache(services, per_service);
        let pods = services * per_service;
        g.throughput(Throughput::Elements(pods as u64));
        for role in [KubernetesRole::Pod, KubernetesRole::Endpoints] {
            let id = BenchmarkId::new(role.as_str(), format!("{pods}_pods"));
            g.bench_with_input(id, &cache, |b, cache| {
                b.iter(|| build_groups(role, black_box(cache), false))
            });
        }
    }
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
