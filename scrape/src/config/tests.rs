//! Loading, defaults, inheritance and errors of whole config files.

use std::time::Duration;

use super::*;

fn load(text: &str) -> Result<Config, ConfigError> {
    Config::from_yaml(text, &ConfigOptions::default())
}

fn secs(d: PromDuration) -> u64 {
    d.get().as_secs()
}

#[test]
fn empty_document_is_the_default_config() {
    let c = load("").unwrap();
    assert!(c.scrape_configs.is_empty());
    assert_eq!(c.global.scrape_interval.get(), DEFAULT_SCRAPE_INTERVAL);
    assert_eq!(c.global.scrape_timeout.get(), DEFAULT_SCRAPE_TIMEOUT);
    assert_eq!(
        c.global.evaluation_interval.get(),
        DEFAULT_EVALUATION_INTERVAL
    );
    let c = load("# only a comment\n").unwrap();
    assert!(c.scrape_configs.is_empty());
}

#[test]
fn job_defaults() {
    let c = load("scrape_configs:\n- job_name: a\n").unwrap();
    let j = &c.scrape_configs[0];
    assert_eq!(secs(j.scrape_interval), 60);
    assert_eq!(secs(j.scrape_timeout), 10);
    assert_eq!(j.metrics_path, "/metrics");
    assert_eq!(j.scheme, "http");
    assert!(j.honor_timestamps && !j.honor_labels);
    assert!(j.follow_redirects && j.enable_http2 && j.enable_compression);
    assert_eq!(j.sample_limit, 0);
    assert_eq!(j.http_client().auth(), Auth::None);
}

#[test]
fn jobs_inherit_from_global() {
    let c = load(
        "global:\n  scrape_interval: 15s\n  scrape_timeout: 5s\n  sample_limit: 100\n  external_labels: {dc: eu}\n\
         scrape_configs:\n- job_name: a\n- job_name: b\n  scrape_interval: 2s\n  sample_limit: 7\n- job_name: c\n  scrape_interval: 1m\n  scrape_timeout: 30s\n",
    )
    .unwrap();
    assert_eq!(c.global.external_labels["dc"], "eu");
    let [a, b, cc] = &c.scrape_configs[..] else {
        panic!("three jobs")
    };
    assert_eq!((secs(a.scrape_interval), secs(a.scrape_timeout)), (15, 5));
    assert_eq!(a.sample_limit, 100);
    // The inherited timeout is capped by a shorter interval, as in Prometheus.
    assert_eq!((secs(b.scrape_interval), secs(b.scrape_timeout)), (2, 2));
    assert_eq!(b.sample_limit, 7);
    assert_eq!(
        (secs(cc.scrape_interval), secs(cc.scrape_timeout)),
        (60, 30)
    );
}

#[test]
fn global_timeout_defaults_below_a_short_interval() {
    let c = load("global: {scrape_interval: 5s}").unwrap();
    assert_eq!(secs(c.global.scrape_timeout), 5);
}

#[test]
fn timeout_above_interval_is_rejected() {
    match load("scrape_configs:\n- job_name: x\n  scrape_interval: 10s\n  scrape_timeout: 11s\n") {
        Err(ConfigError::Invalid {
            job: Some(job),
            field: "scrape_timeout",
            ..
        }) => assert_eq!(job, "x"),
        other => panic!("{other:?}"),
    }
    match load("global: {scrape_interval: 10s, scrape_timeout: 20s}") {
        Err(ConfigError::Invalid {
            field: "global.scrape_timeout",
            ..
        }) => {}
        other => panic!("{other:?}"),
    }
}

#[test]
fn unknown_field_reports_line_and_column() {
    let text = "scrape_configs:\n- job_name: a\n  static_configs:\n  - targets: [x:1]\n    lables: {a: b}\n";
    let e = load(text).unwrap_err();
    assert_eq!(e.location(), Some((5, 5)), "{e}");
    let msg = e.to_string();
    assert!(
        msg.starts_with("5:5: scrape_configs[0].static_configs[0]: unknown field `lables`"),
        "{msg}"
    );
}

#[test]
fn file_errors_name_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("bad.yml");
    std::fs::write(&path, "global:\n  scrape_interval: 1x\n").unwrap();
    let e = Config::load(&path, &ConfigOptions::default()).unwrap_err();
    let msg = e.to_string();
    assert!(msg.starts_with(&format!("{}:2:", path.display())), "{msg}");
    assert!(msg.contains("not a valid duration string"), "{msg}");
    let missing = dir.path().join("nope.yml");
    assert!(matches!(
        Config::load(&missing, &ConfigOptions::default()),
        Err(ConfigError::Io { path, .. }) if path == missing
    ));
}

#[test]
fn syntax_errors_have_a_location() {
    let e = load("scrape_configs:\n- job_name: a\n   bad: [\n").unwrap_err();
    assert!(
        matches!(
            e,
            ConfigError::Yaml {
                location: Some((3, _)),
                ..
            } | ConfigError::Yaml {
                location: Some((4, _)),
                ..
            }
        ),
        "{e}"
    );
}

#[test]
fn ignored_top_level_sections() {
    let c = load(
        "remote_write: [{url: 'http://a'}]\nremote_read: [{url: 'http://b'}]\nalerting: {alertmanagers: []}\n\
         rule_files: [a.yml]\nstorage: {tsdb: {out_of_order_time_window: 1h}}\ntracing: {endpoint: x}\notlp: {}\n\
         scrape_configs: [{job_name: a}]\n",
    )
    .unwrap();
    assert_eq!(c.scrape_configs.len(), 1);
}

#[test]
fn non_strict_mode_drops_unknown_fields() {
    let text = "bogus_top: 1\nglobal: {scrape_interval: 7s, nope: 1}\nscrape_configs:\n- job_name: a\n  weird: {x: 1}\n  static_configs: [{targets: ['h:1'], extra: 2}]\n";
    assert!(matches!(load(text), Err(ConfigError::Yaml { .. })));
    let opts = ConfigOptions {
        strict: false,
        ..ConfigOptions::default()
    };
    let c = Config::from_yaml(text, &opts).unwrap();
    assert_eq!(secs(c.global.scrape_interval), 7);
    assert_eq!(c.scrape_configs[0].static_configs[0].targets, vec!["h:1"]);
    // Type errors still fail, with the field path.
    let e = Config::from_yaml("scrape_configs: [{job_name: a, sample_limit: many}]", &opts)
        .unwrap_err();
    assert!(
        e.to_string().contains("scrape_configs[0].sample_limit"),
        "{e}"
    );
}

#[test]
fn env_references_are_expanded() {
    // SAFETY: no other test reads or writes this variable, and nothing in this process
    // reads the environment through libc concurrently with it.
    unsafe { std::env::set_var("GNOMON_TEST_SCRAPE_HOST", "db-7") };
    let c = load("scrape_configs:\n- job_name: a\n  static_configs: [{targets: ['%{GNOMON_TEST_SCRAPE_HOST}:9100']}]\n").unwrap();
    assert_eq!(
        c.scrape_configs[0].static_configs[0].targets,
        vec!["db-7:9100"]
    );
    match load("scrape_configs: [{job_name: '%{GNOMON_TEST_SCRAPE_UNSET_VAR}'}]") {
        Err(ConfigError::MissingEnv { name, .. }) => {
            assert_eq!(name, "GNOMON_TEST_SCRAPE_UNSET_VAR")
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn job_errors() {
    let invalid = |text: &str| match load(text) {
        Err(ConfigError::Invalid { field, .. }) => field,
        other => panic!("{text}: {other:?}"),
    };
    assert_eq!(invalid("scrape_configs: [{job_name: ''}]"), "job_name");
    assert_eq!(
        invalid("scrape_configs: [{job_name: a}, {job_name: a}]"),
        "job_name"
    );
    assert_eq!(
        invalid("scrape_configs: [{job_name: a, scheme: ftp}]"),
        "scheme"
    );
    assert_eq!(
        invalid("scrape_configs: [{job_name: a, metrics_path: x}]"),
        "metrics_path"
    );
    assert_eq!(
        invalid("scrape_configs: [{job_name: a, headers: ['nocolon']}]"),
        "headers"
    );
    assert_eq!(
        invalid("scrape_configs: [{job_name: a, bearer_token: x, bearer_token_file: y}]"),
        "bearer_token"
    );
    assert_eq!(
        invalid("scrape_configs: [{job_name: a, file_sd_configs: [{files: [a.txt]}]}]"),
        "file_sd_configs"
    );
    assert_eq!(
        invalid("scrape_configs: [{job_name: a, dns_sd_configs: [{names: [x], type: A}]}]"),
        "dns_sd_configs"
    );
    assert_eq!(
        invalid("scrape_configs: [{job_name: a, http_sd_configs: [{url: 'ftp://x'}]}]"),
        "http_sd_configs"
    );
    assert_eq!(
        invalid(
            "scrape_configs: [{job_name: a, kubernetes_sd_configs: [{role: pod, selectors: [{role: node}]}]}]"
        ),
        "kubernetes_sd_configs"
    );
    match load("scrape_configs: [{job_name: a, oauth2: {client_id: x}}]") {
        Err(ConfigError::Job { job, source }) => {
            assert_eq!(job, "a");
            assert!(matches!(
                *source,
                ConfigError::Unsupported { field: "oauth2" }
            ));
        }
        other => panic!("{other:?}"),
    }
    match load("scrape_configs: [{job_name: a, relabel_configs: [{action: replace}]}]") {
        Err(ConfigError::Relabel { job, field, .. }) => {
            assert_eq!((job.as_str(), field), ("a", "relabel_configs"))
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn every_option_parses() {
    let c = load(
        r#"
scrape_configs:
- job_name: full
  scrape_interval: 30s
  scrape_timeout: 1.5s
  metrics_path: /probe
  scheme: https
  params: {module: [http_2xx], target: [a, b]}
  honor_labels: true
  honor_timestamps: false
  sample_limit: 1
  label_limit: 2
  label_name_length_limit: 3
  label_value_length_limit: 4
  target_limit: 5
  series_limit: 6
  follow_redirects: false
  enable_http2: false
  scrape_align_interval: 1m
  scrape_offset: 5s
  disable_compression: true
  disable_keepalive: true
  stream_parse: true
  no_stale_markers: true
  headers: ["X-Tenant: 42"]
  basic_auth: {username: u, password: p}
  tls_config: {ca_file: /ca, cert_file: /c, key_file: /k, server_name: s, insecure_skip_verify: true}
  proxy_url: http://proxy:3128
  relabel_configs: [{source_labels: [__address__], target_label: host}]
  metric_relabel_configs: [{action: drop, source_labels: [__name__], regex: go_.*}]
  static_configs: [{targets: ['a:1'], labels: {env: prod}}]
  file_sd_configs: [{files: [/sd/*.json], refresh_interval: 1m}]
  http_sd_configs: [{url: 'http://sd/targets', refresh_interval: 15s, authorization: {credentials: t}}]
  dns_sd_configs: [{names: [_x._tcp.example.org]}, {names: [a.example.org], type: A, port: 9100}]
  kubernetes_sd_configs:
  - role: endpointslice
    api_server: https://k8s:6443
    namespaces: {own_namespace: true, names: [default]}
    selectors: [{role: pod, label: 'app=x', field: 'spec.nodeName=n1'}]
    attach_metadata: {node: true}
    bearer_token_file: /token
    tls_config: {insecure_skip_verify: true}
"#,
    )
    .unwrap();
    let j = &c.scrape_configs[0];
    assert_eq!(j.scrape_timeout.get(), Duration::from_millis(1500));
    assert_eq!(j.params["target"], vec!["a", "b"]);
    assert!(!j.honor_timestamps && j.honor_labels && !j.follow_redirects && !j.enable_http2);
    assert_eq!(
        (
            j.sample_limit,
            j.label_limit,
            j.label_name_length_limit,
            j.label_value_length_limit,
            j.target_limit,
            j.series_limit
        ),
        (1, 2, 3, 4, 5, 6)
    );
    assert_eq!(j.header_pairs(), vec![("X-Tenant", "42")]);
    assert!(matches!(j.http_client().auth(), Auth::Basic(b) if b.username == "u"));
    assert_eq!(j.dns_sd_configs[0].record_type, DnsRecordType::Srv);
    assert_eq!(j.dns_sd_configs[1].port, Some(9100));
    assert_eq!(secs(j.file_sd_configs[0].refresh_interval), 60);
    assert_eq!(secs(j.http_sd_configs[0].refresh_interval), 15);
    let k = &j.kubernetes_sd_configs[0];
    assert_eq!(k.role, KubernetesRole::EndpointSlice);
    assert_eq!(
        k.selector(KubernetesRole::Pod)
            .and_then(|s| s.label.as_deref()),
        Some("app=x")
    );
    assert!(k.namespaces.own_namespace && k.attach_metadata.node);
    assert_eq!(k.http_client().bearer_token_file.as_deref(), Some("/token"));
    j.relabeler(&RelabelOptions::prometheus()).unwrap();
}

#[test]
fn scrape_config_files_are_merged_and_paths_resolved() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir(dir.path().join("jobs")).unwrap();
    std::fs::write(
        dir.path().join("jobs/a.yml"),
        "scrape_configs:\n- job_name: from_file\n  file_sd_configs: [{files: [sd/*.json]}]\n",
    )
    .unwrap();
    std::fs::write(
        dir.path().join("jobs/b.yml"),
        "scrape_configs:\n- job_name: main\n",
    )
    .unwrap();
    let main = dir.path().join("prometheus.yml");
    std::fs::write(
        &main,
        "scrape_config_files: [jobs/a.yml]\nscrape_configs:\n- job_name: main\n  bearer_token_file: token\n",
    )
    .unwrap();
    let c = Config::load(&main, &ConfigOptions::default()).unwrap();
    let names: Vec<&str> = c
        .scrape_configs
        .iter()
        .map(|j| j.job_name.as_str())
        .collect();
    assert_eq!(names, ["main", "from_file"]);
    assert_eq!(
        c.job("main").unwrap().bearer_token_file.as_deref(),
        Some(dir.path().join("token").to_str().unwrap())
    );
    assert_eq!(
        c.job("from_file").unwrap().file_sd_configs[0].files[0],
        dir.path().join("jobs/sd/*.json").to_str().unwrap()
    );
    // A job name repeated across files is an error.
    std::fs::write(
        &main,
        "scrape_config_files: [jobs/*.yml]\nscrape_configs:\n- job_name: main\n",
    )
    .unwrap();
    assert!(matches!(
        Config::load(&main, &ConfigOptions::default()),
        Err(ConfigError::Invalid {
            field: "job_name",
            ..
        })
    ));
}

#[test]
fn arbitrary_bytes_never_panic() {
    use proptest::prelude::*;
    proptest!(|(s in "[a-z_:\\[\\]{}\\- \n0-9%]{0,120}")| {
        let _ = load(&s);
        let _ = Config::from_yaml(&s, &ConfigOptions { strict: false, ..ConfigOptions::default() });
    });
}

#[test]
fn target_defaults_as_prometheus_sets_them() {
    let c = load("scrape_configs:\n- job_name: probe\n  scrape_interval: 1m30s\n  scrape_timeout: 500ms\n  params: {module: [http_2xx, other]}\n").unwrap();
    let got = c.scrape_configs[0].target_defaults();
    let want: Vec<(String, String)> = [
        ("job", "probe"),
        ("__scheme__", "http"),
        ("__metrics_path__", "/metrics"),
        ("__scrape_interval__", "1m30s"),
        ("__scrape_timeout__", "500ms"),
        ("__param_module", "http_2xx"),
    ]
    .iter()
    .map(|(k, v)| (k.to_string(), v.to_string()))
    .collect();
    assert_eq!(got, want);
}
