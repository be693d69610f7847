//! `gnomon-tool check rules` / `test rules` next to the real `promtool` (Debian package
//! `prometheus`, 2.42): same rule counts, same exit codes, same failure texts where both
//! versions agree. Reads `shared/conformance` (set `GNOMON_SHARED`).

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

const PROMTOOL: &str = "/usr/bin/promtool";

fn corpus() -> PathBuf {
    let shared = match std::env::var_os("GNOMON_SHARED") {
        Some(p) => PathBuf::from(p),
        None => PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../../shared")),
    };
    let dir = shared.join("conformance");
    assert!(
        dir.join("rules").is_dir(),
        "corpus not found at {} (set GNOMON_SHARED)",
        dir.display()
    );
    dir
}

fn run(bin: &str, args: &[&str], cwd: &Path) -> Output {
    Command::new(bin)
        .args(args)
        .current_dir(cwd)
        .output()
        .unwrap_or_else(|e| panic!("{bin}: {e}"))
}

fn promtool() -> &'static str {
    assert!(
        Path::new(PROMTOOL).exists(),
        "{PROMTOOL} not found: install the Debian package prometheus"
    );
    PROMTOOL
}

/// Files both tools judge the same way (promtool 2.42 predates UTF-8 names and
/// Prometheus 3 syntax, so those files are left to the conformance runner).
const SAME_VERDICT: &[&str] = &[
    "configs/rules-cluster-health.yml",
    "configs/rules-kubernetes-apps.yml",
    "configs/rules-node.yml",
    "configs/rules-pod.yml",
    "configs/rules-record.yml",
    "configs/rules-recording.yml",
    "rules/promtool/rules.yml",
    "rules/promtool/rules-bad.yml",
    "rules/promtool/rules_duplicates.yml",
    "rules/promtool/prometheus-rules.lint.yml",
    "rules/rulefmt/duplicate_grp.bad.yaml",
    "rules/rulefmt/record_and_alert.bad.yaml",
    "rules/rulefmt/no_rec_alert.bad.yaml",
    "rules/rulefmt/noexpr.bad.yaml",
    "rules/rulefmt/bad_field.bad.yaml",
    "rules/rulefmt/invalid_label_name.bad.yaml",
    "rules/rulefmt/record_and_for.bad.yaml",
    "rules/rulefmt/record_and_keep_firing_for.bad.yaml",
    "rules/manager-fixtures/invalid_rules.yaml",
    "rules/manager-fixtures/rules_multiple_groups.yaml",
];

#[test]
fn check_rules_agrees_with_promtool() {
    let root = corpus();
    let ours = env!("CARGO_BIN_EXE_gnomon-tool");
    let mut diffs = Vec::new();
    for f in SAME_VERDICT {
        let p = run(promtool(), &["check", "rules", f], &root);
        let g = run(ours, &["check", "rules", f], &root);
        let (pout, gout) = (
            String::from_utf8_lossy(&p.stdout),
            String::from_utf8_lossy(&g.stdout),
        );
        let (perr, gerr) = (
            String::from_utf8_lossy(&p.stderr),
            String::from_utf8_lossy(&g.stderr),
        );
        if p.status.code() != g.status.code() || pout != gout || perr != gerr {
            diffs.push(format!(
                "{f}:\npromtool {:?}\n{pout}{perr}\ngnomon-tool {:?}\n{gout}{gerr}",
                p.status.code(),
                g.status.code()
            ));
        }
    }
    println!(
        "{} agree, {} differ",
        SAME_VERDICT.len() - diffs.len(),
        diffs.len()
    );
    assert!(diffs.is_empty(), "{}", diffs.join("\n"));
}

#[test]
fn test_rules_failure_texts_match_promtool() {
    let dir = corpus().join("rules/promtool");
    let ours = env!("CARGO_BIN_EXE_gnomon-tool");
    for f in ["failing.yml", "at-modifier-test.yml", "long-period.yml"] {
        let p = run(promtool(), &["test", "rules", f], &dir);
        let g = run(ours, &["test", "rules", f], &dir);
        assert_eq!(p.status.code(), g.status.code(), "{f}");
        // promtool 2.42 prints an extra blank line per file; the texts must match.
        assert_eq!(
            String::from_utf8_lossy(&p.stderr),
            String::from_utf8_lossy(&g.stderr),
            "{f}"
        );
    }
}
