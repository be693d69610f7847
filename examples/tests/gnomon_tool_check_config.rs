//! `gnomon-tool check config`: promtool-like output and exit status.

use std::process::{Command, Output};

fn check(files: &[&std::path::Path], flags: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_gnomon-tool"))
        .args(["check", "config"])
        .args(flags)
        .args(files)
        .output()
        .unwrap()
}

#[test]
fn valid_file_reports_the_job_count() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("prometheus.yml");
    std::fs::write(
        &path,
        "global: {scrape_interval: 15s}\nscrape_configs:\n- job_name: a\n  static_configs: [{targets: ['x:1']}]\n- job_name: b\nremote_write: [{url: 'http://rw'}]\n",
    )
    .unwrap();
    let out = check(&[&path], &[]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(
        String::from_utf8(out.stdout).unwrap(),
        format!(
            "Checking {}\n  SUCCESS: 2 scrape configs found\n\n",
            path.display()
        )
    );
}

#[test]
fn unknown_field_fails_with_line_and_column() {
    let dir = tempfile::tempdir().unwrap();
    let good = dir.path().join("good.yml");
    std::fs::write(&good, "scrape_configs: []\n").unwrap();
    let bad = dir.path().join("bad.yml");
    std::fs::write(
        &bad,
        "scrape_configs:\n- job_name: a\n  scrape_intervall: 5s\n",
    )
    .unwrap();
    let out = check(&[&good, &bad], &[]);
    assert_eq!(out.status.code(), Some(1));
    let stdout = String::from_utf8(out.stdout).unwrap();
    assert!(
        stdout.contains("SUCCESS: 0 scrape configs found"),
        "{stdout}"
    );
    assert!(
        stdout.contains(&format!("Checking {}", bad.display())),
        "{stdout}"
    );
    let stderr = String::from_utf8(out.stderr).unwrap();
    assert!(
        stderr.starts_with(&format!(
            "  FAILED: {}:3:3: scrape_configs[0]: unknown field `scrape_intervall`",
            bad.display()
        )),
        "{stderr}"
    );
    // Non-strict parsing drops the unknown field.
    let out = check(&[&bad], &["-strictParse=false"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn usage_errors_exit_2() {
    assert_eq!(check(&[], &[]).status.code(), Some(2));
    assert_eq!(check(&[], &["-bogus"]).status.code(), Some(2));
}
