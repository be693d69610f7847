//! Objects → target groups with the `__meta_kubernetes_*` labels Prometheus sets,
//! one pure function per role.

use std::collections::BTreeMap;

use super::objects::*;
use crate::config::KubernetesRole;
use crate::discovery::{ADDRESS_LABEL, LabelSet, TargetGroup};

const P: &str = "__meta_kubernetes_";

/// The objects known to one `kubernetes_sd_configs` entry, keyed `namespace/name`.
#[derive(Clone, Debug, Default)]
pub struct Cache {
    /// Pods.
    pub pods: BTreeMap<String, Pod>,
    /// Nodes.
    pub nodes: BTreeMap<String, Node>,
    /// Services.
    pub services: BTreeMap<String, Service>,
    /// Endpoints.
    pub endpoints: BTreeMap<String, Endpoints>,
    /// Endpoint slices.
    pub slices: BTreeMap<String, EndpointSlice>,
    /// Ingresses.
    pub ingresses: BTreeMap<String, Ingress>,
}

/// Replaces characters not allowed in label names with `_`.
pub fn sanitize(name: &str) -> String {
    name.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '_' {
                c
            } else {
                '_'
            }
        })
        .collect()
}

fn set(ls: &mut LabelSet, name: &str, value: impl Into<String>) {
    ls.insert(format!("{P}{name}"), value.into());
}

/// `<kind>_label_*`, `<kind>_labelpresent_*`, `<kind>_annotation_*`,
/// `<kind>_annotationpresent_*`.
fn meta_labels(ls: &mut LabelSet, kind: &str, m: &ObjectMeta) {
    for (k, v) in &m.labels {
        let k = sanitize(k);
        set(ls, &format!("{kind}_label_{k}"), v.clone());
        set(ls, &format!("{kind}_labelpresent_{k}"), "true");
    }
    for (k, v) in &m.annotations {
        let k = sanitize(k);
        set(ls, &format!("{kind}_annotation_{k}"), v.clone());
        set(ls, &format!("{kind}_annotationpresent_{k}"), "true");
    }
}

fn host_port(host: &str, port: i32) -> String {
    if host.contains(':') {
        format!("[{host}]:{port}")
    } else {
        format!("{host}:{port}")
    }
}

/// All groups of `role` from `cache`. With `attach_node`, pod, endpoints and
/// endpointslice targets get the labels of their node (`attach_metadata.node`).
pub fn build_groups(role: KubernetesRole, cache: &Cache, attach_node: bool) -> Vec<TargetGroup> {
    let mut groups = role_groups(role, cache);
    if attach_node {
        attach_node_labels(role, cache, &mut groups);
    }
    groups
}

/// `node_name`, labels and annotations of a node, as `attach_metadata.node` adds them.
fn node_meta_labels(n: &Node) -> LabelSet {
    let mut ls = LabelSet::new();
    set(&mut ls, "node_name", n.metadata.name.clone());
    meta_labels(&mut ls, "node", &n.metadata);
    ls
}

fn attach_node_labels(role: KubernetesRole, cache: &Cache, groups: &mut [TargetGroup]) {
    let node = |name: Option<&String>| name.and_then(|n| cache.nodes.get(&format!("/{n}")));
    match role {
        KubernetesRole::Pod => {
            for g in groups {
                let name = g.labels.get(&format!("{P}pod_node_name")).cloned();
                if let Some(n) = node(name.as_ref()) {
                    g.labels.extend(node_meta_labels(n));
                }
            }
        }
        KubernetesRole::Endpoints | KubernetesRole::EndpointSlice => {
            let key = if role == KubernetesRole::Endpoints {
                format!("{P}endpoint_node_name")
            } else {
                format!("{P}endpointslice_endpoint_node_name")
            };
            for t in groups.iter_mut().flat_map(|g| g.targets.iter_mut()) {
                let name = t.get(&key).cloned();
                if let Some(n) = node(name.as_ref()) {
                    t.extend(node_meta_labels(n));
                }
            }
        }
        _ => {}
    }
}

fn role_groups(role: KubernetesRole, cache: &Cache) -> Vec<TargetGroup> {
    match role {
        KubernetesRole::Node => cache.nodes.values().map(node_group).collect(),
        KubernetesRole::Pod => cache.pods.values().map(pod_group).collect(),
        KubernetesRole::Service => cache.services.values().map(service_group).collect(),
        KubernetesRole::Ingress => cache.ingresses.values().map(ingress_group).collect(),
        KubernetesRole::Endpoints => cache
            .endpoints
            .values()
            .map(|e| endpoints_group(e, cache))
            .collect(),
        KubernetesRole::EndpointSlice => cache
            .slices
            .values()
            .map(|s| slice_group(s, cache))
            .collect(),
    }
}

/// Node addresses in Prometheus' order of preference.
const NODE_ADDRESS_ORDER: [&str; 6] = [
    "InternalIP",
    "InternalDNS",
    "ExternalIP",
    "ExternalDNS",
    "LegacyHostIP",
    "Hostname",
];

/// `node` role: one target at the kubelet port of the preferred address.
pub fn node_group(n: &Node) -> TargetGroup {
    let mut labels = LabelSet::new();
    set(&mut labels, "node_name", n.metadata.name.clone());
    set(&mut labels, "node_provider_id", n.spec.provider_id.clone());
    meta_labels(&mut labels, "node", &n.metadata);
    let mut group = TargetGroup {
        source: format!("node/{}", n.metadata.name),
        targets: Vec::new(),
        labels,
    };
    let mut first_of_type: BTreeMap<&str, &str> = BTreeMap::new();
    for a in &n.status.addresses {
        first_of_type
            .entry(a.kind.as_str())
            .or_insert(a.address.as_str());
    }
    let Some(addr) = NODE_ADDRESS_ORDER.iter().find_map(|t| first_of_type.get(t)) else {
        return group;
    };
    let mut t = LabelSet::from([
        (
            ADDRESS_LABEL.to_owned(),
            host_port(addr, n.status.daemon_endpoints.kubelet_endpoint.port),
        ),
        ("instance".to_owned(), n.metadata.name.clone()),
    ]);
    for (kind, a) in first_of_type {
        set(&mut t, &sanitize(&format!("node_address_{kind}")), a);
    }
    group.targets.push(t);
    group
}

/// The labels of a pod shared by all its targets (also attached to endpoints).
pub fn pod_labels(p: &Pod) -> LabelSet {
    let mut ls = LabelSet::new();
    set(&mut ls, "namespace", p.metadata.namespace.clone());
    set(&mut ls, "pod_name", p.metadata.name.clone());
    set(&mut ls, "pod_ip", p.status.pod_ip.clone());
    let ready = p
        .status
        .conditions
        .iter()
        .find(|c| c.kind == "Ready")
        .map(|c| c.status.to_ascii_lowercase())
        .unwrap_or_else(|| "unknown".to_owned());
    set(&mut ls, "pod_ready", ready);
    set(&mut ls, "pod_phase", p.status.phase.clone());
    set(&mut ls, "pod_node_name", p.spec.node_name.clone());
    set(&mut ls, "pod_host_ip", p.status.host_ip.clone());
    set(&mut ls, "pod_uid", p.metadata.uid.clone());
    meta_labels(&mut ls, "pod", &p.metadata);
    if let Some(owner) = p
        .metadata
        .owner_references
        .iter()
        .find(|o| o.controller == Some(true))
    {
        if !owner.kind.is_empty() {
            set(&mut ls, "pod_controller_kind", owner.kind.clone());
        }
        if !owner.name.is_empty() {
            set(&mut ls, "pod_controller_name", owner.name.clone());
        }
    }
    ls
}

/// Containers then init containers, with their init flag.
fn containers(p: &Pod) -> impl Iterator<Item = (&Container, bool)> {
    p.spec
        .containers
        .iter()
        .map(|c| (c, false))
        .chain(p.spec.init_containers.iter().map(|c| (c, true)))
}

fn container_id(p: &Pod, name: &str, init: bool) -> String {
    let statuses = if init {
        &p.status.init_container_statuses
    } else {
        &p.status.container_statuses
    };
    statuses
        .iter()
        .find(|s| s.name == name)
        .map(|s| s.container_id.clone())
        .unwrap_or_default()
}

fn container_port_labels(
    t: &mut LabelSet,
    c: &Container,
    port: &ContainerPort,
    protocol: &str,
    init: bool,
) {
    set(t, "pod_container_name", c.name.clone());
    set(t, "pod_container_image", c.image.clone());
    set(t, "pod_container_port_name", port.name.clone());
    set(
        t,
        "pod_container_port_number",
        port.container_port.to_string(),
    );
    set(t, "pod_container_port_protocol", protocol);
    set(t, "pod_container_init", init.to_string());
}

/// `pod` role: one target per container port, or per container without ports.
pub fn pod_group(p: &Pod) -> TargetGroup {
    let mut group = TargetGroup {
        source: format!("pod/{}/{}", p.metadata.namespace, p.metadata.name),
        targets: Vec::new(),
        labels: LabelSet::new(),
    };
    if p.status.pod_ip.is_empty() {
        return group;
    }
    group.labels = pod_labels(p);
    for (c, init) in containers(p) {
        let id = container_id(p, &c.name, init);
        if c.ports.is_empty() {
            let mut t = LabelSet::from([(ADDRESS_LABEL.to_owned(), p.status.pod_ip.clone())]);
            set(&mut t, "pod_container_name", c.name.clone());
            set(&mut t, "pod_container_id", id.clone());
            set(&mut t, "pod_container_image", c.image.clone());
            set(&mut t, "pod_container_init", init.to_string());
            group.targets.push(t);
            continue;
        }
        for port in &c.ports {
            let mut t = LabelSet::from([(
                ADDRESS_LABEL.to_owned(),
                host_port(&p.status.pod_ip, port.container_port),
            )]);
            container_port_labels(&mut t, c, port, &port.protocol, init);
            set(&mut t, "pod_container_id", id.clone());
            group.targets.push(t);
        }
    }
    group
}

/// Labels of a service shared by its targets (also attached to endpoints).
pub fn service_labels(s: &Service) -> LabelSet {
    let mut ls = LabelSet::new();
    set(&mut ls, "namespace", s.metadata.namespace.clone());
    set(&mut ls, "service_name", s.metadata.name.clone());
    meta_labels(&mut ls, "service", &s.metadata);
    ls
}

/// `service` role: one target per service port at the service's DNS name.
pub fn service_group(s: &Service) -> TargetGroup {
    let m = &s.metadata;
    let targets = s
        .spec
        .ports
        .iter()
        .map(|port| {
            let mut t = LabelSet::from([(
                ADDRESS_LABEL.to_owned(),
                format!("{}.{}.svc:{}", m.name, m.namespace, port.port),
            )]);
            set(&mut t, "service_port_name", port.name.clone());
            set(&mut t, "service_port_number", port.port.to_string());
            set(&mut t, "service_port_protocol", port.protocol.clone());
            set(&mut t, "service_type", s.spec.kind.clone());
            if s.spec.kind == "ExternalName" {
                set(
                    &mut t,
                    "service_external_name",
                    s.spec.external_name.clone(),
                );
            } else {
                set(&mut t, "service_cluster_ip", s.spec.cluster_ip.clone());
            }
            t
        })
        .collect();
    TargetGroup {
        source: format!("svc/{}/{}", m.namespace, m.name),
        targets,
        labels: service_labels(s),
    }
}

/// True when `host` matches one of the TLS host patterns (`*.example.com` matches one
/// label).
fn tls_host(patterns: &[IngressTls], host: &str) -> bool {
    patterns
        .iter()
        .flat_map(|t| &t.hosts)
        .any(|p| match p.strip_prefix("*.") {
            Some(suffix) => host
                .split_once('.')
                .is_some_and(|(first, rest)| !first.is_empty() && rest == suffix),
            None => p == host,
        })
}

/// `ingress` role: one target per rule path at the rule's host.
pub fn ingress_group(i: &Ingress) -> TargetGroup {
    let m = &i.metadata;
    let mut labels = LabelSet::new();
    set(&mut labels, "namespace", m.namespace.clone());
    set(&mut labels, "ingress_name", m.name.clone());
    meta_labels(&mut labels, "ingress", m);
    if let Some(class) = &i.spec.ingress_class_name {
        set(&mut labels, "ingress_class_name", class.clone());
    }
    let mut targets = Vec::new();
    for rule in &i.spec.rules {
        let scheme = if tls_host(&i.spec.tls, &rule.host) {
            "https"
        } else {
            "http"
        };
        let mut paths: Vec<String> = rule
            .http
            .iter()
            .flat_map(|h| &h.paths)
            .map(|p| {
                if p.path.is_empty() {
                    "/".to_owned()
                } else {
                    p.path.clone()
                }
            })
            .collect();
        if paths.is_empty() {
            paths.push("/".to_owned());
        }
        for path in paths {
            let mut t = LabelSet::from([(ADDRESS_LABEL.to_owned(), rule.host.clone())]);
            set(&mut t, "ingress_scheme", scheme);
            set(&mut t, "ingress_host", rule.host.clone());
            set(&mut t, "ingress_path", path);
            targets.push(t);
        }
    }
    TargetGroup {
        source: format!("ingress/{}/{}", m.namespace, m.name),
        targets,
        labels,
    }
}

/// Pods seen behind endpoints, with the ports already targeted, in order of first
/// sight.
#[derive(Default)]
struct SeenPods<'a> {
    pods: Vec<(&'a Pod, Vec<i32>)>,
}

impl<'a> SeenPods<'a> {
    fn note(&mut self, pod: &'a Pod, port: i32) {
        match self.pods.iter_mut().find(|(p, _)| std::ptr::eq(*p, pod)) {
            Some((_, ports)) => ports.push(port),
            None => self.pods.push((pod, vec![port])),
        }
    }

    /// Targets for container ports of seen pods no endpoint covered.
    fn uncovered_targets(&self) -> Vec<LabelSet> {
        let mut out = Vec::new();
        for (pod, ports) in &self.pods {
            if pod.status.pod_ip.is_empty() {
                continue;
            }
            for (c, init) in containers(pod) {
                for cport in c
                    .ports
                    .iter()
                    .filter(|cp| !ports.contains(&cp.container_port))
                {
                    let mut t = LabelSet::from([(
                        ADDRESS_LABEL.to_owned(),
                        host_port(&pod.status.pod_ip, cport.container_port),
                    )]);
                    container_port_labels(&mut t, c, cport, &cport.protocol, init);
                    t.extend(pod_labels(pod));
                    out.push(t);
                }
            }
        }
        out
    }
}

fn resolve_pod<'a>(
    cache: &'a Cache,
    r: Option<&ObjectReference>,
    default_ns: &str,
) -> Option<&'a Pod> {
    let r = r.filter(|r| r.kind == "Pod")?;
    let ns = if r.namespace.is_empty() {
        default_ns
    } else {
        &r.namespace
    };
    cache.pods.get(&format!("{ns}/{}", r.name))
}

/// Adds the pod's labels and, when a container declares `port`, its container labels.
fn attach_pod(t: &mut LabelSet, pod: &Pod, port: i32, protocol: &str) {
    t.extend(pod_labels(pod));
    'outer: for (c, init) in containers(pod) {
        for cport in &c.ports {
            if cport.container_port == port {
                container_port_labels(t, c, cport, protocol, init);
                break 'outer;
            }
        }
    }
}

/// `endpoints` role: one target per address and port, plus uncovered container ports of
/// the pods behind them.
pub fn endpoints_group(e: &Endpoints, cache: &Cache) -> TargetGroup {
    let m = &e.metadata;
    let mut labels = LabelSet::new();
    set(&mut labels, "namespace", m.namespace.clone());
    set(&mut labels, "endpoints_name", m.name.clone());
    meta_labels(&mut labels, "endpoints", m);
    if let Some(svc) = cache.services.get(&m.key()) {
        labels.extend(service_labels(svc));
    }
    let mut seen = SeenPods::default();
    let mut targets = Vec::new();
    for subset in &e.subsets {
        for port in &subset.ports {
            let ready = subset.addresses.iter().map(|a| (a, "true"));
            let not_ready = subset.not_ready_addresses.iter().map(|a| (a, "false"));
            for (addr, ready) in ready.chain(not_ready) {
                let mut t =
                    LabelSet::from([(ADDRESS_LABEL.to_owned(), host_port(&addr.ip, port.port))]);
                set(&mut t, "endpoint_port_name", port.name.clone());
                set(&mut t, "endpoint_port_protocol", port.protocol.clone());
                set(&mut t, "endpoint_ready", ready);
                if let Some(r) = &addr.target_ref {
                    set(&mut t, "endpoint_address_target_kind", r.kind.clone());
                    set(&mut t, "endpoint_address_target_name", r.name.clone());
                }
                if let Some(n) = &addr.node_name {
                    set(&mut t, "endpoint_node_name", n.clone());
                }
                if !addr.hostname.is_empty() {
                    set(&mut t, "endpoint_hostname", addr.hostname.clone());
                }
                if let Some(pod) = resolve_pod(cache, addr.target_ref.as_ref(), &m.namespace) {
                    attach_pod(&mut t, pod, port.port, &port.protocol);
                    seen.note(pod, port.port);
                }
                targets.push(t);
            }
        }
    }
    targets.extend(seen.uncovered_targets());
    TargetGroup {
        source: format!("endpoints/{}/{}", m.namespace, m.name),
        targets,
        labels,
    }
}

/// `endpointslice` role: one target per endpoint and port, plus uncovered container
/// ports of the pods behind them.
pub fn slice_group(s: &EndpointSlice, cache: &Cache) -> TargetGroup {
    let m = &s.metadata;
    let mut labels = LabelSet::new();
    set(&mut labels, "namespace", m.namespace.clone());
    set(&mut labels, "endpointslice_name", m.name.clone());
    set(
        &mut labels,
        "endpointslice_address_type",
        s.address_type.clone(),
    );
    meta_labels(&mut labels, "endpointslice", m);
    if let Some(svc_name) = m.labels.get("kubernetes.io/service-name")
        && let Some(svc) = cache.services.get(&format!("{}/{svc_name}", m.namespace))
    {
        labels.extend(service_labels(svc));
    }
    let mut seen = SeenPods::default();
    let mut targets = Vec::new();
    for port in &s.ports {
        for ep in &s.endpoints {
            let Some(first) = ep.addresses.first() else {
                continue;
            };
            let addr = match port.port {
                Some(p) => host_port(first, p),
                None => first.clone(),
            };
            let mut t = LabelSet::from([(ADDRESS_LABEL.to_owned(), addr)]);
            let protocol = port.protocol.clone().unwrap_or_default();
            set(
                &mut t,
                "endpointslice_port_name",
                port.name.clone().unwrap_or_default(),
            );
            set(&mut t, "endpointslice_port_protocol", protocol.clone());
            if let Some(p) = port.port {
                set(&mut t, "endpointslice_port", p.to_string());
            }
            if let Some(ap) = &port.app_protocol {
                set(&mut t, "endpointslice_port_app_protocol", ap.clone());
            }
            for (name, v) in [
                ("ready", ep.conditions.ready),
                ("serving", ep.conditions.serving),
                ("terminating", ep.conditions.terminating),
            ] {
                if let Some(v) = v {
                    set(
                        &mut t,
                        &format!("endpointslice_endpoint_conditions_{name}"),
                        v.to_string(),
                    );
                }
            }
            if let Some(h) = &ep.hostname {
                set(&mut t, "endpointslice_endpoint_hostname", h.clone());
            }
            if let Some(r) = &ep.target_ref {
                set(&mut t, "endpointslice_address_target_kind", r.kind.clone());
                set(&mut t, "endpointslice_address_target_name", r.name.clone());
            }
            if let Some(n) = &ep.node_name {
                set(&mut t, "endpointslice_endpoint_node_name", n.clone());
            }
            if let Some(z) = &ep.zone {
                set(&mut t, "endpointslice_endpoint_zone", z.clone());
            }
            for (k, v) in &ep.deprecated_topology {
                let k = sanitize(k);
                set(
                    &mut t,
                    &format!("endpointslice_endpoint_topology_{k}"),
                    v.clone(),
                );
                set(
                    &mut t,
                    &format!("endpointslice_endpoint_topology_present_{k}"),
                    "true",
                );
            }
            if let Some(pod) = resolve_pod(cache, ep.target_ref.as_ref(), &m.namespace) {
                let p = port.port.unwrap_or(0);
                attach_pod(&mut t, pod, p, &protocol);
                seen.note(pod, p);
            }
            targets.push(t);
        }
    }
    targets.extend(seen.uncovered_targets());
    TargetGroup {
        source: format!("endpointslice/{}/{}", m.namespace, m.name),
        targets,
        labels,
    }
}

#[cfg(test)]
mod tests;
