use super::*;
use gnomon_relabel::{RelabelConfigs, RelabelOptions, compile};

fn defaults(relabel: Option<&str>) -> TargetDefaults {
    TargetDefaults {
        job: "nodes".into(),
        scheme: "http".into(),
        metrics_path: "/metrics".into(),
        interval: Duration::from_secs(15),
        timeout: Duration::from_secs(10),
        params: BTreeMap::new(),
        relabel: relabel.map(|y| {
            let c = RelabelConfigs::from_yaml(y).unwrap();
            Arc::new(compile(c.rules(), &RelabelOptions::prometheus()).unwrap())
        }),
    }
}

fn map(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
    pairs
        .iter()
        .map(|(a, b)| ((*a).to_owned(), (*b).to_owned()))
        .collect()
}

const IP_RULE: &str = r#"
- source_labels: [__address__]
  regex: "(.*):(.*)"
  replacement: "${1}"
  target_label: 'ip'
  action: replace
"#;

#[test]
fn static_target_with_the_ip_extraction_rule() {
    let t = populate(
        &map(&[]),
        &map(&[("__address__", "10.206.16.6:9100")]),
        &defaults(Some(IP_RULE)),
    )
    .unwrap();
    assert_eq!(
        t.labels,
        Labels::from_pairs(&[
            ("instance", "10.206.16.6:9100"),
            ("ip", "10.206.16.6"),
            ("job", "nodes")
        ])
    );
    assert_eq!(t.url, "http://10.206.16.6:9100/metrics");
    assert_eq!(t.interval, Duration::from_secs(15));
    assert_eq!(t.timeout, Duration::from_secs(10));
    assert_eq!(t.discovered.get("__scrape_interval__"), Some("15s"));
    assert_eq!(t.discovered.get("__scheme__"), Some("http"));
    assert_eq!(t.discovered.get("ip"), None);
}

#[test]
fn target_labels_override_group_labels_and_defaults() {
    let t = populate(
        &map(&[("env", "prod"), ("job", "from-group"), ("__meta_x", "m")]),
        &map(&[
            ("__address__", "h:1"),
            ("env", "dev"),
            ("__metrics_path__", "/probe"),
            ("__scrape_interval__", "1m30s"),
        ]),
        &defaults(None),
    )
    .unwrap();
    assert_eq!(t.labels.get("env"), Some("dev"));
    assert_eq!(t.labels.get("job"), Some("from-group"));
    assert_eq!(t.url, "http://h:1/probe");
    assert_eq!(t.interval, Duration::from_secs(90));
    assert_eq!(t.internal.get("__meta_x"), None, "meta labels removed");
    assert_eq!(
        t.discovered.get("__meta_x"),
        Some("m"),
        "but kept as discovered"
    );
}

#[test]
fn params_and_param_labels_build_the_query() {
    let mut d = defaults(Some(
        r#"
- target_label: __param_module
  replacement: "http 2xx"
"#,
    ));
    d.params = BTreeMap::from([
        (
            "module".to_owned(),
            vec!["icmp".to_owned(), "other".to_owned()],
        ),
        ("a".to_owned(), vec!["x&y".to_owned()]),
    ]);
    let t = populate(&map(&[]), &map(&[("__address__", "bb:9115")]), &d).unwrap();
    assert_eq!(
        t.url,
        "http://bb:9115/metrics?a=x%26y&module=http+2xx&module=other"
    );
    assert_eq!(t.discovered.get("__param_module"), Some("icmp"));
}

#[test]
fn instance_kept_when_set_and_no_default_port_added() {
    let t = populate(
        &map(&[]),
        &map(&[("__address__", "example.org"), ("instance", "mine")]),
        &defaults(None),
    )
    .unwrap();
    assert_eq!(t.labels.get("instance"), Some("mine"));
    assert_eq!(t.url, "http://example.org/metrics");
}

#[test]
fn dropped_targets_say_why_and_keep_discovered_labels() {
    let drop_all = defaults(Some(
        "- action: drop\n  source_labels: [__address__]\n  regex: 'h:.*'\n",
    ));
    let e = populate(&map(&[]), &map(&[("__address__", "h:1")]), &drop_all).unwrap_err();
    assert_eq!(e.reason, DropReason::Relabeled);
    assert_eq!(e.discovered.get("__address__"), Some("h:1"));
    assert_eq!(e.job, "nodes");

    let e = populate(&map(&[("a", "b")]), &map(&[]), &defaults(None)).unwrap_err();
    assert_eq!(e.reason, DropReason::NoAddress);

    let e = populate(
        &map(&[]),
        &map(&[("__address__", "h/x:1")]),
        &defaults(None),
    )
    .unwrap_err();
    assert_eq!(e.reason, DropReason::BadAddress("h/x:1".into()));

    let e = populate(
        &map(&[]),
        &map(&[("__address__", "h:1"), ("__scrape_timeout__", "20s")]),
        &defaults(None),
    )
    .unwrap_err();
    assert!(
        matches!(e.reason, DropReason::BadDuration { label: SCRAPE_TIMEOUT_LABEL, ref why } if why.contains("greater than interval 15s")),
        "{:?}",
        e.reason
    );
    let e = populate(
        &map(&[]),
        &map(&[("__address__", "h:1"), ("__scrape_interval__", "soon")]),
        &defaults(None),
    )
    .unwrap_err();
    assert!(
        matches!(
            e.reason,
            DropReason::BadDuration {
                label: SCRAPE_INTERVAL_LABEL,
                ..
            }
        ),
        "{:?}",
        e.reason
    );
}

#[test]
fn durations_parse_and_print_like_prometheus() {
    for (text, ms) in [
        ("15s", 15_000),
        ("1m30s", 90_000),
        ("500ms", 500),
        ("1h", 3_600_000),
        ("1w", 604_800_000),
        ("0", 0),
    ] {
        assert_eq!(
            parse_duration(text),
            Some(Duration::from_millis(ms)),
            "{text}"
        );
    }
    for bad in ["", "15", "1x", "s", "1.5s", "-1s"] {
        assert_eq!(parse_duration(bad), None, "{bad}");
    }
    for (ms, text) in [
        (90_000, "1m30s"),
        (0, "0s"),
        (8 * 86_400_000, "8d"),
        (604_800_000, "1w"),
        (1_500, "1s500ms"),
    ] {
        assert_eq!(format_duration(Duration::from_millis(ms)), text);
    }
}

#[test]
fn target_hash_depends_on_labels_and_url() {
    let d = defaults(None);
    let a = populate(&map(&[]), &map(&[("__address__", "h:1")]), &d).unwrap();
    let b = populate(&map(&[]), &map(&[("__address__", "h:2")]), &d).unwrap();
    let a2 = populate(&map(&[]), &map(&[("__address__", "h:1")]), &d).unwrap();
    assert_eq!(a.hash(), a2.hash());
    assert_ne!(a.hash(), b.hash());
}
