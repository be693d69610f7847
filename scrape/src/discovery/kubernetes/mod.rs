//! `kubernetes_sd_configs`: LIST then WATCH the API objects a role needs, keep them in
//! a [`Cache`], and rebuild the role's target groups on every change.
//!
//! - `objects`: the API objects (only the fields used);
//! - `targets`: objects → groups, with Prometheus' `__meta_kubernetes_*` labels;
//! - `watch`: the list/watch loop of one resource in one namespace: `resourceVersion`,
//!   `allowWatchBookmarks`, reconnection with backoff, relist on `410 Gone`.
//!
//! Groups are first published once every watcher has listed its objects.

pub mod objects;
pub mod targets;
mod watch;

use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::sync::Notify;

pub use targets::{Cache, build_groups};

use super::manager::Publisher;
use crate::client::{ClientOptions, build_client};
use crate::config::{HttpClientConfig, KubernetesRole, KubernetesSdConfig, TlsConfig};

/// Kubernetes list/watch settings (`-promscrape.kubernetes.*` flags).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct KubernetesOptions {
    /// `timeoutSeconds` of each watch request; the watch is renewed when it ends.
    pub watch_timeout: Duration,
    /// First delay before reconnecting after an error; doubled up to `max_backoff`.
    pub min_backoff: Duration,
    /// Longest delay between reconnections.
    pub max_backoff: Duration,
    /// Service account folder of in-cluster defaults (`token`, `ca.crt`, `namespace`).
    pub service_account_dir: PathBuf,
}

impl Default for KubernetesOptions {
    fn default() -> Self {
        KubernetesOptions {
            watch_timeout: Duration::from_secs(300),
            min_backoff: Duration::from_millis(500),
            max_backoff: Duration::from_secs(30),
            service_account_dir: PathBuf::from("/var/run/secrets/kubernetes.io/serviceaccount"),
        }
    }
}

/// A resource a role watches.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Resource {
    Pods,
    Nodes,
    Services,
    Endpoints,
    EndpointSlices,
    Ingresses,
}

impl Resource {
    /// API path prefix and plural name.
    fn path(self) -> (&'static str, &'static str) {
        match self {
            Resource::Pods => ("/api/v1", "pods"),
            Resource::Nodes => ("/api/v1", "nodes"),
            Resource::Services => ("/api/v1", "services"),
            Resource::Endpoints => ("/api/v1", "endpoints"),
            Resource::EndpointSlices => ("/apis/discovery.k8s.io/v1", "endpointslices"),
            Resource::Ingresses => ("/apis/networking.k8s.io/v1", "ingresses"),
        }
    }

    /// The role whose `selectors` entry applies to this resource.
    fn selector_role(self) -> KubernetesRole {
        match self {
            Resource::Pods => KubernetesRole::Pod,
            Resource::Nodes => KubernetesRole::Node,
            Resource::Services => KubernetesRole::Service,
            Resource::Endpoints => KubernetesRole::Endpoints,
            Resource::EndpointSlices => KubernetesRole::EndpointSlice,
            Resource::Ingresses => KubernetesRole::Ingress,
        }
    }

    fn namespaced(self) -> bool {
        self != Resource::Nodes
    }

    /// The list URL for `namespace` (all namespaces when `None`).
    pub(crate) fn url(self, api: &str, namespace: Option<&str>) -> String {
        let (prefix, plural) = self.path();
        let api = api.trim_end_matches('/');
        match namespace {
            Some(ns) if self.namespaced() => format!("{api}{prefix}/namespaces/{ns}/{plural}"),
            _ => format!("{api}{prefix}/{plural}"),
        }
    }
}

/// The resources `role` needs.
fn resources(role: KubernetesRole) -> &'static [Resource] {
    match role {
        KubernetesRole::Node => &[Resource::Nodes],
        KubernetesRole::Pod => &[Resource::Pods],
        KubernetesRole::Service => &[Resource::Services],
        KubernetesRole::Ingress => &[Resource::Ingresses],
        KubernetesRole::Endpoints => &[Resource::Endpoints, Resource::Pods, Resource::Services],
        KubernetesRole::EndpointSlice => {
            &[Resource::EndpointSlices, Resource::Pods, Resource::Services]
        }
    }
}

/// State shared by the watchers of one SD config.
pub(crate) struct Shared {
    pub(crate) client: reqwest::Client,
    pub(crate) http: HttpClientConfig,
    pub(crate) api_server: String,
    pub(crate) opts: KubernetesOptions,
    pub(crate) cache: Mutex<Cache>,
    pub(crate) changed: Notify,
    /// Watchers that have not finished their first list.
    pub(crate) unsynced: AtomicUsize,
}

/// API server and client settings, with in-cluster defaults when `api_server` is absent.
fn endpoint(
    cfg: &KubernetesSdConfig,
    opts: &KubernetesOptions,
) -> Option<(String, HttpClientConfig)> {
    let mut http = cfg.http_client();
    if let Some(api) = &cfg.api_server {
        return Some((api.clone(), http));
    }
    let host = std::env::var("KUBERNETES_SERVICE_HOST").ok()?;
    let port = std::env::var("KUBERNETES_SERVICE_PORT").ok()?;
    let host = if host.contains(':') {
        format!("[{host}]")
    } else {
        host
    };
    let dir = &opts.service_account_dir;
    if http.auth() == crate::config::Auth::None {
        http.bearer_token_file = Some(dir.join("token").to_string_lossy().into_owned());
    }
    if http.tls_config.is_none() {
        http.tls_config = Some(TlsConfig {
            ca_file: Some(dir.join("ca.crt").to_string_lossy().into_owned()),
            ..TlsConfig::default()
        });
    }
    Some((format!("https://{host}:{port}"), http))
}

/// The namespaces to watch; `None` for all.
fn namespaces(cfg: &KubernetesSdConfig, opts: &KubernetesOptions) -> Vec<Option<String>> {
    let mut names = cfg.namespaces.names.clone();
    if cfg.namespaces.own_namespace {
        match std::fs::read_to_string(opts.service_account_dir.join("namespace")) {
            Ok(ns) => names.push(ns.trim().to_owned()),
            Err(e) => log::error!("kubernetes_sd: cannot read own namespace: {e}"),
        }
    }
    if names.is_empty() {
        vec![None]
    } else {
        names.sort();
        names.dedup();
        names.into_iter().map(Some).collect()
    }
}

/// Runs the discovery of one `kubernetes_sd_configs` entry until the manager goes away.
pub(crate) async fn run(cfg: KubernetesSdConfig, opts: KubernetesOptions, out: Publisher) {
    let Some((api_server, http)) = endpoint(&cfg, &opts) else {
        log::error!(
            "kubernetes_sd: no api_server and not in a cluster (KUBERNETES_SERVICE_HOST/PORT unset)"
        );
        return;
    };
    let client = match build_client(&http, &ClientOptions::default()) {
        Ok(c) => c,
        Err(e) => {
            log::error!("kubernetes_sd {api_server}: {e}");
            return;
        }
    };
    let namespaces = namespaces(&cfg, &opts);
    let mut watchers = Vec::new();
    let attach_node = cfg.attach_metadata.node
        && matches!(
            cfg.role,
            KubernetesRole::Pod | KubernetesRole::Endpoints | KubernetesRole::EndpointSlice
        );
    let mut needed = resources(cfg.role).to_vec();
    if attach_node {
        needed.push(Resource::Nodes);
    }
    for res in needed {
        // Nodes are cluster-scoped: one watcher whatever the namespaces.
        let scopes = if res.namespaced() {
            namespaces.clone()
        } else {
            vec![None]
        };
        for ns in scopes {
            watchers.push((res, ns));
        }
    }
    let shared = Arc::new(Shared {
        client,
        http,
        api_server,
        opts,
        cache: Mutex::new(Cache::default()),
        changed: Notify::new(),
        unsynced: AtomicUsize::new(watchers.len()),
    });
    let mut tasks = Vec::new();
    for (res, ns) in watchers {
        let selector = cfg.selector(res.selector_role()).cloned();
        tasks.push(tokio::spawn(watch::run(shared.clone(), res, ns, selector)));
    }
    let _abort = AbortOnDrop(tasks);
    let mut last: Option<Vec<crate::discovery::TargetGroup>> = None;
    loop {
        shared.changed.notified().await;
        if shared.unsynced.load(Ordering::Acquire) > 0 {
            continue;
        }
        let groups = {
            let cache = shared.cache.lock().unwrap_or_else(|e| e.into_inner());
            build_groups(cfg.role, &cache, attach_node)
        };
        // Events that change no label (status heartbeats...) are not republished.
        if last.as_ref() == Some(&groups) {
            continue;
        }
        last = Some(groups.clone());
        if !out.publish(groups) {
            return;
        }
    }
}

/// Aborts the watcher tasks when discovery stops.
struct AbortOnDrop(Vec<tokio::task::JoinHandle<()>>);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        for t in &self.0 {
            t.abort();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sd(yaml: &str) -> KubernetesSdConfig {
        serde_yaml_ng::from_str(yaml).unwrap()
    }

    #[test]
    fn urls_per_resource_and_namespace() {
        let api = "https://k8s:6443/";
        assert_eq!(
            Resource::Pods.url(api, None),
            "https://k8s:6443/api/v1/pods"
        );
        assert_eq!(
            Resource::Pods.url(api, Some("shop")),
            "https://k8s:6443/api/v1/namespaces/shop/pods"
        );
        assert_eq!(
            Resource::Nodes.url(api, Some("shop")),
            "https://k8s:6443/api/v1/nodes"
        );
        assert_eq!(
            Resource::EndpointSlices.url(api, Some("a")),
            "https://k8s:6443/apis/discovery.k8s.io/v1/namespaces/a/endpointslices"
        );
        assert_eq!(
            Resource::Ingresses.url(api, None),
            "https://k8s:6443/apis/networking.k8s.io/v1/ingresses"
        );
    }

    #[test]
    fn own_namespace_is_read_from_the_service_account() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("namespace"), "monitoring\n").unwrap();
        let opts = KubernetesOptions {
            service_account_dir: dir.path().to_path_buf(),
            ..KubernetesOptions::default()
        };
        let cfg = sd("role: pod\nnamespaces: {own_namespace: true, names: [shop, monitoring]}");
        assert_eq!(
            namespaces(&cfg, &opts),
            vec![Some("monitoring".to_owned()), Some("shop".to_owned())]
        );
        assert_eq!(namespaces(&sd("role: pod"), &opts), vec![None]);
    }

    #[test]
    fn explicit_api_server_keeps_the_client_settings() {
        let cfg = sd("role: node\napi_server: 'https://k8s:6443'\nbearer_token_file: /t");
        let (api, http) = endpoint(&cfg, &KubernetesOptions::default()).unwrap();
        assert_eq!(api, "https://k8s:6443");
        assert_eq!(http.bearer_token_file.as_deref(), Some("/t"));
        assert!(http.tls_config.is_none());
    }
}
