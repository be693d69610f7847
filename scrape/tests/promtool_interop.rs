//! Accept/reject decisions on scrape configs match Prometheus' own `promtool check
//! config` (Debian package `prometheus`) on a table of configs that use only syntax both
//! accept. Not in the table: VictoriaMetrics extensions Gnomon accepts on purpose
//! (`keep_if_equal`, `1.5m` durations, `headers`...), `scheme: ftp` (Prometheus accepts
//! it and fails at scrape time; Gnomon rejects it at load, as VictoriaMetrics does), and
//! `kubernetes_sd_configs` (Debian builds Prometheus without Kubernetes discovery, so
//! its promtool rejects the field).

use std::process::Command;

use gnomon_scrape::config::{Config, ConfigOptions};

/// (name, config text, valid?)
const CASES: &[(&str, &str, bool)] = &[
    ("empty", "", true),
    (
        "global and jobs",
        "global: {scrape_interval: 15s, scrape_timeout: 5s, external_labels: {dc: eu}}\nscrape_configs:\n- job_name: a\n  static_configs: [{targets: ['h:1'], labels: {x: y}}]\n- job_name: b\n  scrape_interval: 1m30s\n  metrics_path: /m\n  scheme: https\n  params: {module: [x]}\n",
        true,
    ),
    (
        "ignored sections",
        "remote_write: [{url: 'http://rw/api/v1/write'}]\nalerting: {alertmanagers: []}\nscrape_configs: [{job_name: a}]\n",
        true,
    ),
    (
        "relabel",
        "scrape_configs:\n- job_name: a\n  relabel_configs:\n  - source_labels: [__address__]\n    regex: '(.*):(.*)'\n    replacement: '${1}'\n    target_label: ip\n  metric_relabel_configs:\n  - action: labeldrop\n    regex: tmp_.*\n",
        true,
    ),
    (
        "auth and tls",
        "scrape_configs:\n- job_name: a\n  basic_auth: {username: u, password: p}\n  tls_config: {insecure_skip_verify: true, server_name: x}\n  proxy_url: 'http://proxy:3128'\n  follow_redirects: false\n",
        true,
    ),
    (
        "sd configs",
        "scrape_configs:\n- job_name: a\n  file_sd_configs: [{files: ['sd/*.json'], refresh_interval: 1m}]\n  dns_sd_configs: [{names: ['_x._tcp.example.org']}, {names: [a.example.org], type: A, port: 80}]\n  http_sd_configs: [{url: 'http://sd:8080/targets'}]\n",
        true,
    ),
    (
        "timeout equals interval",
        "scrape_configs: [{job_name: a, scrape_interval: 10s, scrape_timeout: 10s}]",
        true,
    ),
    (
        "unknown field",
        "scrape_configs: [{job_name: a, scrape_intervall: 10s}]",
        false,
    ),
    ("unknown top-level field", "scrape_config: []", false),
    (
        "timeout above interval",
        "scrape_configs: [{job_name: a, scrape_interval: 10s, scrape_timeout: 11s}]",
        false,
    ),
    (
        "global timeout above interval",
        "global: {scrape_interval: 10s, scrape_timeout: 11s}",
        false,
    ),
    (
        "duplicate job",
        "scrape_configs: [{job_name: a}, {job_name: a}]",
        false,
    ),
    ("empty job name", "scrape_configs: [{job_name: ''}]", false),
    ("bad duration", "global: {scrape_interval: 1x}", false),
    (
        "two bearer tokens",
        "scrape_configs: [{job_name: a, bearer_token: x, bearer_token_file: y}]",
        false,
    ),
    (
        "basic auth and bearer",
        "scrape_configs: [{job_name: a, bearer_token: x, basic_auth: {username: u}}]",
        false,
    ),
    (
        "dns A without port",
        "scrape_configs: [{job_name: a, dns_sd_configs: [{names: [x], type: A}]}]",
        false,
    ),
    (
        "file sd extension",
        "scrape_configs: [{job_name: a, file_sd_configs: [{files: [a.txt]}]}]",
        false,
    ),
    (
        "relabel replace without target",
        "scrape_configs: [{job_name: a, relabel_configs: [{action: replace, source_labels: [a]}]}]",
        false,
    ),
    (
        "bad relabel regex",
        "scrape_configs: [{job_name: a, relabel_configs: [{regex: '(', target_label: x}]}]",
        false,
    ),
    ("yaml syntax", "scrape_configs: [{job_name: a", false),
];

#[test]
fn accept_and_reject_like_promtool() {
    let promtool = std::path::Path::new("/usr/bin/promtool");
    assert!(
        promtool.exists(),
        "promtool not found: install the Debian package `prometheus`"
    );
    let dir = tempfile::tempdir().unwrap();
    let mut mismatches = Vec::new();
    for (i, (name, text, valid)) in CASES.iter().enumerate() {
        let path = dir.path().join(format!("case{i}.yml"));
        std::fs::write(&path, text).unwrap();
        let out = Command::new(promtool)
            .args(["check", "config", "--syntax-only"])
            .arg(&path)
            .output()
            .expect("run promtool");
        let prometheus_ok = out.status.success();
        let ours = Config::load(&path, &ConfigOptions::default());
        if prometheus_ok != *valid || ours.is_ok() != *valid {
            mismatches.push(format!(
                "{name}: expected valid={valid}, promtool={prometheus_ok} ({}), gnomon={:?}",
                String::from_utf8_lossy(&out.stderr).trim(),
                ours.err().map(|e| e.to_string())
            ));
        }
    }
    println!("promtool interop: {} cases", CASES.len());
    assert!(mismatches.is_empty(), "{mismatches:#?}");
}
