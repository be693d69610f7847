//! `kubernetes_sd_configs` against a fake API server (axum on 127.0.0.1:0) serving real
//! Kubernetes JSON: lists from `tests/data/kubernetes/*.json`, then watch streams of
//! newline-delimited events pushed by each test. Covers roles pod, endpoints and node:
//! exact labels, add/modify/delete through watch events, reconnection from the last
//! resourceVersion after the server closes a stream, and a relist after `410 Gone`.

use std::collections::HashMap;
use std::convert::Infallible;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::Duration;

use axum::Router;
use axum::body::Body;
use axum::extract::{Query, State};
use axum::http::{StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use gnomon_scrape::config::{Config, ConfigOptions};
use gnomon_scrape::discovery::kubernetes::KubernetesOptions;
use gnomon_scrape::discovery::{DiscoveryManager, DiscoveryOptions, LabelSet, TargetGroup};
use serde_json::{Value, json};
use tokio::sync::mpsc;

fn fixture(name: &str) -> Value {
    let path = format!(
        "{}/tests/data/kubernetes/{name}",
        env!("CARGO_MANIFEST_DIR")
    );
    serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap()
}

/// A watch stream body fed by the test through a channel.
struct Feed(mpsc::UnboundedReceiver<Result<String, Infallible>>);

impl futures_core::Stream for Feed {
    type Item = Result<String, Infallible>;
    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        self.0.poll_recv(cx)
    }
}

/// One watch request as the server saw it.
#[derive(Clone, Debug)]
struct WatchRequest {
    resource_version: String,
    bookmarks: bool,
    label_selector: Option<String>,
    field_selector: Option<String>,
}

#[derive(Default)]
struct Api {
    /// List bodies by path.
    lists: Mutex<HashMap<String, Value>>,
    list_calls: Mutex<HashMap<String, usize>>,
    watches: Mutex<HashMap<String, Vec<WatchRequest>>>,
    /// The open stream of each path.
    streams: Mutex<HashMap<String, mpsc::UnboundedSender<Result<String, Infallible>>>>,
    /// Paths whose next watch gets `410 Gone`.
    gone: Mutex<Vec<String>>,
}

async fn handle(
    State(api): State<Arc<Api>>,
    uri: Uri,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    let path = uri.path().to_owned();
    if q.get("watch").map(String::as_str) == Some("1") {
        api.watches
            .lock()
            .unwrap()
            .entry(path.clone())
            .or_default()
            .push(WatchRequest {
                resource_version: q.get("resourceVersion").cloned().unwrap_or_default(),
                bookmarks: q.get("allowWatchBookmarks").map(String::as_str) == Some("true"),
                label_selector: q.get("labelSelector").cloned(),
                field_selector: q.get("fieldSelector").cloned(),
            });
        let mut gone = api.gone.lock().unwrap();
        if let Some(i) = gone.iter().position(|p| *p == path) {
            gone.remove(i);
            return (StatusCode::GONE, "{\"kind\":\"Status\",\"code\":410}").into_response();
        }
        let (tx, rx) = mpsc::unbounded_channel();
        api.streams.lock().unwrap().insert(path, tx);
        return Response::builder()
            .header("content-type", "application/json")
            .body(Body::from_stream(Feed(rx)))
            .unwrap();
    }
    *api.list_calls
        .lock()
        .unwrap()
        .entry(path.clone())
        .or_default() += 1;
    match api.lists.lock().unwrap().get(&path) {
        Some(v) => axum::Json(v.clone()).into_response(),
        None => (StatusCode::NOT_FOUND, "no such resource").into_response(),
    }
}

struct FakeApi {
    api: Arc<Api>,
    url: String,
    server: tokio::task::JoinHandle<()>,
}

impl FakeApi {
    async fn start(lists: &[(&str, Value)]) -> FakeApi {
        let api = Arc::new(Api::default());
        for (path, v) in lists {
            api.lists
                .lock()
                .unwrap()
                .insert(path.to_string(), v.clone());
        }
        let app = Router::new().fallback(handle).with_state(api.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let server = tokio::spawn(async move {
            axum::serve(listener, app).await.unwrap();
        });
        FakeApi { api, url, server }
    }

    /// Waits until `path` has received `n` watch requests; returns them.
    async fn wait_watches(&self, path: &str, n: usize) -> Vec<WatchRequest> {
        for _ in 0..1000 {
            let got = self
                .api
                .watches
                .lock()
                .unwrap()
                .get(path)
                .cloned()
                .unwrap_or_default();
            if got.len() >= n && self.api.streams.lock().unwrap().contains_key(path) {
                return got;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        panic!("no watch #{n} on {path}");
    }

    fn send(&self, path: &str, kind: &str, object: &Value) {
        let line = format!("{}\n", json!({"type": kind, "object": object}));
        let streams = self.api.streams.lock().unwrap();
        streams[path].send(Ok(line)).unwrap();
    }

    /// Ends the open stream of `path`, as the API server does at `timeoutSeconds`.
    fn close(&self, path: &str) {
        self.api.streams.lock().unwrap().remove(path);
    }

    fn list_calls(&self, path: &str) -> usize {
        self.api
            .list_calls
            .lock()
            .unwrap()
            .get(path)
            .copied()
            .unwrap_or(0)
    }
}

impl Drop for FakeApi {
    fn drop(&mut self) {
        self.server.abort();
    }
}

fn manager(api_url: &str, role: &str) -> DiscoveryManager {
    manager_with(api_url, role, "")
}

/// A manager for one `kubernetes_sd_configs` entry; `extra` is more YAML of the entry,
/// each line indented by four spaces.
fn manager_with(api_url: &str, role: &str, extra: &str) -> DiscoveryManager {
    let cfg = Config::from_yaml(
        &format!(
            "scrape_configs:\n- job_name: k8s\n  kubernetes_sd_configs:\n  - role: {role}\n    api_server: '{api_url}'\n    bearer_token: t0ken\n{extra}"
        ),
        &ConfigOptions::default(),
    )
    .unwrap();
    let opts = DiscoveryOptions {
        update_interval: Duration::from_millis(10),
        kubernetes: KubernetesOptions {
            min_backoff: Duration::from_millis(20),
            max_backoff: Duration::from_millis(100),
            ..KubernetesOptions::default()
        },
        ..DiscoveryOptions::default()
    };
    DiscoveryManager::start(&cfg, &opts)
}

/// Waits for the job's groups to satisfy `pred`; returns every target's merged labels.
async fn wait_targets(
    m: &DiscoveryManager,
    what: &str,
    pred: impl Fn(&[LabelSet]) -> bool,
) -> Vec<LabelSet> {
    let mut rx = m.job("k8s").unwrap();
    let flat = |groups: &[TargetGroup]| -> Vec<LabelSet> {
        groups.iter().flat_map(|g| g.target_labels()).collect()
    };
    let res = tokio::time::timeout(Duration::from_secs(10), rx.wait_for(|g| pred(&flat(g)))).await;
    match res {
        Ok(Ok(g)) => flat(&g),
        _ => panic!(
            "timed out waiting for {what}; last: {:#?}",
            flat(&m.job("k8s").unwrap().borrow())
        ),
    }
}

fn addresses(ts: &[LabelSet]) -> Vec<String> {
    ts.iter().map(|t| t["__address__"].clone()).collect()
}

fn labels(pairs: &[(&str, &str)]) -> LabelSet {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

const POD_LABELS: &[(&str, &str)] = &[
    ("__meta_kubernetes_namespace", "shop"),
    ("__meta_kubernetes_pod_name", "web-7d4b9c8f6-x2kqp"),
    ("__meta_kubernetes_pod_ip", "10.244.1.17"),
    ("__meta_kubernetes_pod_ready", "true"),
    ("__meta_kubernetes_pod_phase", "Running"),
    ("__meta_kubernetes_pod_node_name", "worker-1"),
    ("__meta_kubernetes_pod_host_ip", "192.168.10.21"),
    (
        "__meta_kubernetes_pod_uid",
        "5f1c2a9e-8b1d-4c3e-9a7f-1e2d3c4b5a69",
    ),
    ("__meta_kubernetes_pod_label_app_kubernetes_io_name", "web"),
    (
        "__meta_kubernetes_pod_labelpresent_app_kubernetes_io_name",
        "true",
    ),
    ("__meta_kubernetes_pod_label_pod_template_hash", "7d4b9c8f6"),
    (
        "__meta_kubernetes_pod_labelpresent_pod_template_hash",
        "true",
    ),
    (
        "__meta_kubernetes_pod_annotation_prometheus_io_scrape",
        "true",
    ),
    (
        "__meta_kubernetes_pod_annotationpresent_prometheus_io_scrape",
        "true",
    ),
    (
        "__meta_kubernetes_pod_annotation_prometheus_io_port",
        "8080",
    ),
    (
        "__meta_kubernetes_pod_annotationpresent_prometheus_io_port",
        "true",
    ),
    ("__meta_kubernetes_pod_controller_kind", "ReplicaSet"),
    ("__meta_kubernetes_pod_controller_name", "web-7d4b9c8f6"),
];

fn with_pod(extra: &[(&str, &str)]) -> LabelSet {
    let mut l = labels(POD_LABELS);
    l.extend(labels(extra));
    l
}

#[tokio::test]
async fn pod_role_lists_watches_and_reconnects() {
    let pods = fixture("pods.json");
    let api = FakeApi::start(&[("/api/v1/pods", pods.clone())]).await;
    let m = manager(&api.url, "pod");

    let ts = wait_targets(&m, "the listed pod", |t| t.len() == 4).await;
    assert_eq!(
        ts[0],
        with_pod(&[
            ("__address__", "10.244.1.17:8080"),
            ("__meta_kubernetes_pod_container_name", "web"),
            (
                "__meta_kubernetes_pod_container_id",
                "containerd://2222bbbb"
            ),
            (
                "__meta_kubernetes_pod_container_image",
                "registry.example.org/web:1.4.2"
            ),
            ("__meta_kubernetes_pod_container_port_name", "http"),
            ("__meta_kubernetes_pod_container_port_number", "8080"),
            ("__meta_kubernetes_pod_container_port_protocol", "TCP"),
            ("__meta_kubernetes_pod_container_init", "false"),
        ])
    );
    assert_eq!(ts[1]["__address__"], "10.244.1.17:9090");
    assert_eq!(
        ts[2],
        with_pod(&[
            ("__address__", "10.244.1.17"),
            ("__meta_kubernetes_pod_container_name", "log-shipper"),
            (
                "__meta_kubernetes_pod_container_id",
                "containerd://3333cccc"
            ),
            (
                "__meta_kubernetes_pod_container_image",
                "fluent/fluent-bit:3.1"
            ),
            ("__meta_kubernetes_pod_container_init", "false"),
        ])
    );
    assert_eq!(ts[3]["__meta_kubernetes_pod_container_name"], "migrate");
    assert_eq!(ts[3]["__meta_kubernetes_pod_container_init"], "true");
    assert_eq!(
        ts[3]["__meta_kubernetes_pod_container_id"],
        "containerd://1111aaaa"
    );

    // The watch starts from the list's version, with bookmarks.
    let w = api.wait_watches("/api/v1/pods", 1).await;
    assert_eq!(w[0].resource_version, "1000");
    assert!(w[0].bookmarks);

    // ADDED: a second pod in another namespace, one port.
    let mut second = pods["items"][0].clone();
    second["metadata"]["name"] = json!("api-0");
    second["metadata"]["namespace"] = json!("backend");
    second["metadata"]["resourceVersion"] = json!("1001");
    second["metadata"]["ownerReferences"] = json!([]);
    second["spec"]["initContainers"] = json!([]);
    second["spec"]["containers"] = json!([{"name": "api", "image": "api:2", "ports": [{"containerPort": 7000, "protocol": "TCP"}]}]);
    second["status"]["podIP"] = json!("10.244.3.3");
    api.send("/api/v1/pods", "ADDED", &second);
    let ts = wait_targets(&m, "the added pod", |t| t.len() == 5).await;
    let api_target = ts
        .iter()
        .find(|t| t["__address__"] == "10.244.3.3:7000")
        .unwrap();
    assert_eq!(api_target["__meta_kubernetes_namespace"], "backend");
    assert_eq!(api_target["__meta_kubernetes_pod_container_port_name"], "");
    assert!(!api_target.contains_key("__meta_kubernetes_pod_controller_kind"));

    // MODIFIED: the first pod is no longer ready; a bookmark moves the version on.
    let mut unready = pods["items"][0].clone();
    unready["metadata"]["resourceVersion"] = json!("1002");
    unready["status"]["conditions"][1]["status"] = json!("False");
    api.send("/api/v1/pods", "MODIFIED", &unready);
    wait_targets(&m, "the modified pod", |t| {
        t.iter()
            .any(|t| t["__meta_kubernetes_pod_ready"] == "false")
    })
    .await;
    api.send(
        "/api/v1/pods",
        "BOOKMARK",
        &json!({"kind": "Pod", "apiVersion": "v1", "metadata": {"resourceVersion": "1010"}}),
    );

    // The server ends the stream; the client watches again from the last version.
    tokio::time::sleep(Duration::from_millis(50)).await;
    api.close("/api/v1/pods");
    let w = api.wait_watches("/api/v1/pods", 2).await;
    assert_eq!(w[1].resource_version, "1010");
    assert_eq!(
        api.list_calls("/api/v1/pods"),
        1,
        "a closed stream does not relist"
    );

    // DELETED through the new stream.
    second["metadata"]["resourceVersion"] = json!("1011");
    api.send("/api/v1/pods", "DELETED", &second);
    let ts = wait_targets(&m, "the deleted pod", |t| t.len() == 4).await;
    assert!(addresses(&ts).iter().all(|a| a.starts_with("10.244.1.17")));
}

#[tokio::test]
async fn endpoints_role_joins_pods_and_services_and_relists_on_gone() {
    let api = FakeApi::start(&[
        ("/api/v1/endpoints", fixture("endpoints.json")),
        ("/api/v1/pods", fixture("pods.json")),
        ("/api/v1/services", fixture("services.json")),
    ])
    .await;
    let m = manager(&api.url, "endpoints");
    let ts = wait_targets(&m, "endpoints targets", |t| t.len() == 3).await;
    let service_and_endpoints: &[(&str, &str)] = &[
        ("__meta_kubernetes_namespace", "shop"),
        ("__meta_kubernetes_endpoints_name", "web"),
        (
            "__meta_kubernetes_endpoints_label_app_kubernetes_io_name",
            "web",
        ),
        (
            "__meta_kubernetes_endpoints_labelpresent_app_kubernetes_io_name",
            "true",
        ),
        (
            "__meta_kubernetes_endpoints_annotation_endpoints_kubernetes_io_last_change_trigger_time",
            "2026-11-20T10:00:09Z",
        ),
        (
            "__meta_kubernetes_endpoints_annotationpresent_endpoints_kubernetes_io_last_change_trigger_time",
            "true",
        ),
        ("__meta_kubernetes_service_name", "web"),
        (
            "__meta_kubernetes_service_label_app_kubernetes_io_name",
            "web",
        ),
        (
            "__meta_kubernetes_service_labelpresent_app_kubernetes_io_name",
            "true",
        ),
        (
            "__meta_kubernetes_service_annotation_prometheus_io_scrape",
            "true",
        ),
        (
            "__meta_kubernetes_service_annotationpresent_prometheus_io_scrape",
            "true",
        ),
    ];
    let mut ready = with_pod(&[
        ("__address__", "10.244.1.17:8080"),
        ("__meta_kubernetes_endpoint_port_name", "http"),
        ("__meta_kubernetes_endpoint_port_protocol", "TCP"),
        ("__meta_kubernetes_endpoint_ready", "true"),
        ("__meta_kubernetes_endpoint_address_target_kind", "Pod"),
        (
            "__meta_kubernetes_endpoint_address_target_name",
            "web-7d4b9c8f6-x2kqp",
        ),
        ("__meta_kubernetes_endpoint_node_name", "worker-1"),
        ("__meta_kubernetes_pod_container_name", "web"),
        (
            "__meta_kubernetes_pod_container_image",
            "registry.example.org/web:1.4.2",
        ),
        ("__meta_kubernetes_pod_container_port_name", "http"),
        ("__meta_kubernetes_pod_container_port_number", "8080"),
        ("__meta_kubernetes_pod_container_port_protocol", "TCP"),
        ("__meta_kubernetes_pod_container_init", "false"),
    ]);
    ready.extend(labels(service_and_endpoints));
    assert_eq!(ts[0], ready);
    // The not-ready address has no pod in the cache: endpoint labels only.
    let mut not_ready = labels(&[
        ("__address__", "10.244.2.30:8080"),
        ("__meta_kubernetes_endpoint_port_name", "http"),
        ("__meta_kubernetes_endpoint_port_protocol", "TCP"),
        ("__meta_kubernetes_endpoint_ready", "false"),
        ("__meta_kubernetes_endpoint_address_target_kind", "Pod"),
        (
            "__meta_kubernetes_endpoint_address_target_name",
            "web-7d4b9c8f6-unknown",
        ),
        ("__meta_kubernetes_endpoint_node_name", "worker-2"),
    ]);
    not_ready.extend(labels(service_and_endpoints));
    assert_eq!(ts[1], not_ready);
    // The pod's grpc port, not behind the service, is a target of its own.
    let mut uncovered = with_pod(&[
        ("__address__", "10.244.1.17:9090"),
        ("__meta_kubernetes_pod_container_name", "web"),
        (
            "__meta_kubernetes_pod_container_image",
            "registry.example.org/web:1.4.2",
        ),
        ("__meta_kubernetes_pod_container_port_name", "grpc"),
        ("__meta_kubernetes_pod_container_port_number", "9090"),
        ("__meta_kubernetes_pod_container_port_protocol", "TCP"),
        ("__meta_kubernetes_pod_container_init", "false"),
    ]);
    uncovered.extend(labels(service_and_endpoints));
    assert_eq!(ts[2], uncovered);

    // The endpoints watch gets 410 Gone once: the client lists again, then watches
    // from the new list's version.
    api.wait_watches("/api/v1/endpoints", 1).await;
    let mut eps = fixture("endpoints.json");
    eps["metadata"]["resourceVersion"] = json!("5000");
    eps["items"][0]["subsets"][0]["notReadyAddresses"] = json!([]);
    api.api
        .lists
        .lock()
        .unwrap()
        .insert("/api/v1/endpoints".into(), eps);
    api.api
        .gone
        .lock()
        .unwrap()
        .push("/api/v1/endpoints".into());
    api.close("/api/v1/endpoints");
    let w = api.wait_watches("/api/v1/endpoints", 3).await;
    assert_eq!(w[2].resource_version, "5000");
    assert_eq!(api.list_calls("/api/v1/endpoints"), 2);
    let ts = wait_targets(&m, "the relisted endpoints", |t| t.len() == 2).await;
    assert_eq!(addresses(&ts), ["10.244.1.17:8080", "10.244.1.17:9090"]);

    // Deleting the service drops the service labels from the endpoints' targets.
    let svc = fixture("services.json")["items"][0].clone();
    api.wait_watches("/api/v1/services", 1).await;
    api.send("/api/v1/services", "DELETED", &svc);
    let ts = wait_targets(&m, "targets without service labels", |t| {
        t.len() == 2
            && t.iter()
                .all(|t| !t.contains_key("__meta_kubernetes_service_name"))
    })
    .await;
    assert_eq!(ts[0]["__meta_kubernetes_endpoints_name"], "web");
}

#[tokio::test]
async fn node_role_addresses_and_watch() {
    let nodes = fixture("nodes.json");
    let api = FakeApi::start(&[("/api/v1/nodes", nodes.clone())]).await;
    let m = manager_with(
        &api.url,
        "node",
        "    selectors: [{role: node, label: 'kubernetes.io/os=linux', field: 'metadata.name!=x'}]\n",
    );
    let ts = wait_targets(&m, "the listed node", |t| t.len() == 1).await;
    assert_eq!(
        ts[0],
        labels(&[
            ("__address__", "192.168.10.21:10250"),
            ("instance", "worker-1"),
            ("__meta_kubernetes_node_name", "worker-1"),
            (
                "__meta_kubernetes_node_provider_id",
                "aws:///eu-west-1a/i-0123456789abcdef0"
            ),
            ("__meta_kubernetes_node_address_Hostname", "worker-1"),
            ("__meta_kubernetes_node_address_ExternalIP", "203.0.113.21"),
            ("__meta_kubernetes_node_address_InternalIP", "192.168.10.21"),
            (
                "__meta_kubernetes_node_label_kubernetes_io_hostname",
                "worker-1"
            ),
            (
                "__meta_kubernetes_node_labelpresent_kubernetes_io_hostname",
                "true"
            ),
            ("__meta_kubernetes_node_label_kubernetes_io_os", "linux"),
            (
                "__meta_kubernetes_node_labelpresent_kubernetes_io_os",
                "true"
            ),
            (
                "__meta_kubernetes_node_label_node_role_kubernetes_io_worker",
                ""
            ),
            (
                "__meta_kubernetes_node_labelpresent_node_role_kubernetes_io_worker",
                "true"
            ),
            (
                "__meta_kubernetes_node_annotation_node_alpha_kubernetes_io_ttl",
                "0"
            ),
            (
                "__meta_kubernetes_node_annotationpresent_node_alpha_kubernetes_io_ttl",
                "true"
            ),
            (
                "__meta_kubernetes_node_annotation_volumes_kubernetes_io_controller_managed_attach_detach",
                "true"
            ),
            (
                "__meta_kubernetes_node_annotationpresent_volumes_kubernetes_io_controller_managed_attach_detach",
                "true"
            ),
        ])
    );
    let w = api.wait_watches("/api/v1/nodes", 1).await;
    assert_eq!(w[0].resource_version, "2000");
    assert_eq!(
        w[0].label_selector.as_deref(),
        Some("kubernetes.io/os=linux")
    );
    assert_eq!(w[0].field_selector.as_deref(), Some("metadata.name!=x"));

    // A node with only a hostname address is added; the first node is deleted.
    let mut n2 = nodes["items"][0].clone();
    n2["metadata"]["name"] = json!("edge-1");
    n2["metadata"]["resourceVersion"] = json!("2001");
    n2["status"]["addresses"] = json!([{"type": "Hostname", "address": "edge-1.local"}]);
    api.send("/api/v1/nodes", "ADDED", &n2);
    let ts = wait_targets(&m, "two nodes", |t| t.len() == 2).await;
    assert_eq!(
        addresses(&ts),
        ["edge-1.local:10250", "192.168.10.21:10250"]
    );
    api.send("/api/v1/nodes", "DELETED", &nodes["items"][0]);
    let ts = wait_targets(&m, "one node left", |t| t.len() == 1).await;
    assert_eq!(ts[0]["instance"], "edge-1");
}

#[tokio::test]
async fn namespaced_pods_with_node_metadata() {
    let api = FakeApi::start(&[
        ("/api/v1/namespaces/shop/pods", fixture("pods.json")),
        ("/api/v1/nodes", fixture("nodes.json")),
    ])
    .await;
    let m = manager_with(
        &api.url,
        "pod",
        "    namespaces: {names: [shop]}\n    attach_metadata: {node: true}\n",
    );
    let ts = wait_targets(&m, "pods of namespace shop", |t| t.len() == 4).await;
    assert_eq!(ts[0]["__meta_kubernetes_node_name"], "worker-1");
    assert_eq!(
        ts[0]["__meta_kubernetes_node_label_kubernetes_io_os"],
        "linux"
    );
    assert_eq!(
        ts[0]["__meta_kubernetes_node_labelpresent_kubernetes_io_os"],
        "true"
    );
    assert!(!ts[0].contains_key("__meta_kubernetes_node_provider_id"));
    let w = api.wait_watches("/api/v1/namespaces/shop/pods", 1).await;
    assert_eq!(w[0].resource_version, "1000");
    assert_eq!(
        api.list_calls("/api/v1/pods"),
        0,
        "only the named namespace is listed"
    );
}
