//! Roles not covered by the fake API server test (`scrape/tests/kubernetes_sd.rs`):
//! service, ingress, endpointslice.

use super::*;

fn obj<T: serde::de::DeserializeOwned>(json: &str) -> T {
    serde_json::from_str(json).unwrap()
}

fn labels(pairs: &[(&str, &str)]) -> LabelSet {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

#[test]
fn service_targets() {
    let s: Service = obj(
        r#"{"metadata": {"name": "web", "namespace": "shop", "labels": {"app.kubernetes.io/name": "web"}},
        "spec": {"type": "ClusterIP", "clusterIP": "10.96.0.10", "ports": [{"name": "http", "port": 80, "protocol": "TCP", "targetPort": 8080}]}}"#,
    );
    let g = service_group(&s);
    assert_eq!(g.source, "svc/shop/web");
    assert_eq!(
        g.labels,
        labels(&[
            ("__meta_kubernetes_namespace", "shop"),
            ("__meta_kubernetes_service_name", "web"),
            (
                "__meta_kubernetes_service_label_app_kubernetes_io_name",
                "web"
            ),
            (
                "__meta_kubernetes_service_labelpresent_app_kubernetes_io_name",
                "true"
            ),
        ])
    );
    assert_eq!(
        g.targets,
        vec![labels(&[
            ("__address__", "web.shop.svc:80"),
            ("__meta_kubernetes_service_port_name", "http"),
            ("__meta_kubernetes_service_port_number", "80"),
            ("__meta_kubernetes_service_port_protocol", "TCP"),
            ("__meta_kubernetes_service_type", "ClusterIP"),
            ("__meta_kubernetes_service_cluster_ip", "10.96.0.10"),
        ])]
    );
    let ext: Service = obj(
        r#"{"metadata": {"name": "x", "namespace": "n"}, "spec": {"type": "ExternalName", "externalName": "db.example.org", "ports": [{"port": 5432, "protocol": "TCP"}]}}"#,
    );
    let t = &service_group(&ext).targets[0];
    assert_eq!(
        t["__meta_kubernetes_service_external_name"],
        "db.example.org"
    );
    assert!(!t.contains_key("__meta_kubernetes_service_cluster_ip"));
}

#[test]
fn ingress_targets() {
    let i: Ingress = obj(r#"{"metadata": {"name": "site", "namespace": "web"},
        "spec": {"ingressClassName": "nginx", "tls": [{"hosts": ["*.example.org"]}],
          "rules": [{"host": "a.example.org", "http": {"paths": [{"path": "/api", "pathType": "Prefix"}, {"pathType": "Prefix"}]}},
                    {"host": "other.net"}]}}"#);
    let g = ingress_group(&i);
    assert_eq!(g.source, "ingress/web/site");
    assert_eq!(g.labels["__meta_kubernetes_ingress_class_name"], "nginx");
    let got: Vec<(&str, &str, &str)> = g
        .targets
        .iter()
        .map(|t| {
            (
                t["__address__"].as_str(),
                t["__meta_kubernetes_ingress_scheme"].as_str(),
                t["__meta_kubernetes_ingress_path"].as_str(),
            )
        })
        .collect();
    assert_eq!(
        got,
        [
            ("a.example.org", "https", "/api"),
            ("a.example.org", "https", "/"),
            ("other.net", "http", "/")
        ]
    );
}

#[test]
fn endpointslice_targets_with_pod_and_service() {
    let mut cache = Cache::default();
    let pod: Pod = obj(
        r#"{"metadata": {"name": "web-0", "namespace": "shop", "uid": "u1"},
        "spec": {"nodeName": "n1", "containers": [{"name": "app", "image": "web:1", "ports": [{"name": "http", "containerPort": 8080, "protocol": "TCP"}, {"name": "admin", "containerPort": 9000, "protocol": "TCP"}]}]},
        "status": {"phase": "Running", "podIP": "10.1.0.5", "hostIP": "192.168.0.1", "conditions": [{"type": "Ready", "status": "True"}]}}"#,
    );
    cache.pods.insert(pod.metadata.key(), pod);
    let svc: Service =
        obj(r#"{"metadata": {"name": "web", "namespace": "shop"}, "spec": {"ports": []}}"#);
    cache.services.insert(svc.metadata.key(), svc);
    let s: EndpointSlice = obj(
        r#"{"metadata": {"name": "web-abc", "namespace": "shop", "labels": {"kubernetes.io/service-name": "web"}},
        "addressType": "IPv4",
        "endpoints": [{"addresses": ["10.1.0.5"], "conditions": {"ready": true, "serving": true, "terminating": false},
                       "nodeName": "n1", "zone": "z1", "targetRef": {"kind": "Pod", "name": "web-0", "namespace": "shop"}}],
        "ports": [{"name": "http", "port": 8080, "protocol": "TCP", "appProtocol": "http"}]}"#,
    );
    let g = slice_group(&s, &cache);
    assert_eq!(g.source, "endpointslice/shop/web-abc");
    assert_eq!(g.labels["__meta_kubernetes_service_name"], "web");
    assert_eq!(
        g.labels["__meta_kubernetes_endpointslice_address_type"],
        "IPv4"
    );
    assert_eq!(
        g.targets.len(),
        2,
        "the endpoint and the uncovered admin port"
    );
    let t = &g.targets[0];
    for (k, v) in [
        ("__address__", "10.1.0.5:8080"),
        ("__meta_kubernetes_endpointslice_port", "8080"),
        ("__meta_kubernetes_endpointslice_port_name", "http"),
        ("__meta_kubernetes_endpointslice_port_app_protocol", "http"),
        (
            "__meta_kubernetes_endpointslice_endpoint_conditions_ready",
            "true",
        ),
        (
            "__meta_kubernetes_endpointslice_endpoint_conditions_terminating",
            "false",
        ),
        ("__meta_kubernetes_endpointslice_endpoint_zone", "z1"),
        ("__meta_kubernetes_endpointslice_address_target_kind", "Pod"),
        ("__meta_kubernetes_pod_name", "web-0"),
        ("__meta_kubernetes_pod_container_port_name", "http"),
        ("__meta_kubernetes_pod_ready", "true"),
    ] {
        assert_eq!(t.get(k).map(String::as_str), Some(v), "{k}");
    }
    assert_eq!(g.targets[1]["__address__"], "10.1.0.5:9000");
    assert_eq!(
        g.targets[1]["__meta_kubernetes_pod_container_port_name"],
        "admin"
    );
}

#[test]
fn label_names_are_sanitized() {
    assert_eq!(sanitize("app.kubernetes.io/name"), "app_kubernetes_io_name");
    assert_eq!(sanitize("a-b_c9"), "a_b_c9");
}
