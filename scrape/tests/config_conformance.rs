//! Every scrape config of `shared/conformance/configs` (`scrape-*.yml`) loads. Prometheus
//! rejects `scrape-vmagent-kubernetes.yml` (its `keep_if_equal` action is a
//! VictoriaMetrics extension); Gnomon accepts it. A missing corpus is a failure.

use std::path::{Path, PathBuf};
use std::time::Duration;

use gnomon_relabel::RelabelOptions;
use gnomon_scrape::config::{Config, ConfigOptions, KubernetesRole};

fn corpus_dir() -> PathBuf {
    let manifest = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut candidates = vec![
        manifest.join("../../shared/conformance/configs"),
        manifest.join("../../../shared/conformance/configs"),
    ];
    if let Some(shared) = std::env::var_os("GNOMON_SHARED") {
        candidates.insert(0, PathBuf::from(shared).join("conformance/configs"));
    }
    candidates
        .iter()
        .find(|p| p.join("scrape-static-relabel.yml").is_file())
        .cloned()
        .unwrap_or_else(|| {
            panic!("config conformance corpus not found; looked in {candidates:?} (set GNOMON_SHARED to the shared/ folder)")
        })
}

fn scrape_configs() -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(corpus_dir())
        .expect("corpus folder readable")
        .map(|e| e.expect("dir entry").path())
        .filter(|p| {
            let name = p.file_name().and_then(|n| n.to_str()).unwrap_or("");
            name.starts_with("scrape-") && (name.ends_with(".yml") || name.ends_with(".yaml"))
        })
        .collect();
    files.sort();
    files
}

#[test]
fn every_scrape_config_loads() {
    let files = scrape_configs();
    assert!(
        files.len() >= 3,
        "expected at least 3 scrape-*.yml files, found {files:?}"
    );
    let mut failures = Vec::new();
    // Relabel rules are validated both ways: Prometheus' and VictoriaMetrics' (which
    // requires `source_labels` for keep/drop/hashmod...).
    let vm = ConfigOptions {
        relabel: RelabelOptions::victoriametrics(),
        ..ConfigOptions::default()
    };
    for file in &files {
        for opts in [ConfigOptions::default(), vm] {
            if let Err(e) = Config::load(file, &opts) {
                failures.push(format!("{e}"));
            }
        }
    }
    println!(
        "config conformance: {} of {} scrape configs load",
        files.len() - failures.len(),
        files.len()
    );
    assert!(failures.is_empty(), "{failures:#?}");
}

#[test]
fn loaded_values_match_the_files() {
    let dir = corpus_dir();
    let c = Config::load(
        &dir.join("scrape-static-relabel.yml"),
        &ConfigOptions::default(),
    )
    .unwrap();
    assert_eq!(c.global.scrape_interval.get(), Duration::from_secs(15));
    let job = c.job("nodes").unwrap();
    assert_eq!(job.scrape_timeout.get(), Duration::from_secs(15));
    assert_eq!(job.static_configs[0].targets.len(), 3);
    assert_eq!(job.relabel_configs.rules().len(), 1);

    let k = Config::load(
        &dir.join("scrape-vmagent-kubernetes.yml"),
        &ConfigOptions::default(),
    )
    .unwrap();
    let names: Vec<&str> = k
        .scrape_configs
        .iter()
        .map(|j| j.job_name.as_str())
        .collect();
    assert_eq!(names, ["nodes", "apiserver", "cadvisor", "endpoints"]);
    let api = k.job("apiserver").unwrap();
    assert_eq!(api.scheme, "https");
    assert_eq!(api.kubernetes_sd_configs[0].role, KubernetesRole::Endpoints);
    assert!(api.tls_config.as_ref().unwrap().insecure_skip_verify);
    assert_eq!(
        api.bearer_token_file.as_deref(),
        Some("/var/run/secrets/kubernetes.io/serviceaccount/token")
    );
}
