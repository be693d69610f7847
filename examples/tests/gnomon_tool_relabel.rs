//! `gnomon-tool relabel` end to end: rules from a file, JSON lines in and out.

use std::io::Write;
use std::process::{Command, Output, Stdio};

fn run(config: &str, flags: &[&str], input: &str) -> Output {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("relabel.yml");
    std::fs::write(&path, config).unwrap();
    let mut child = Command::new(env!("CARGO_BIN_EXE_gnomon-tool"))
        .arg("relabel")
        .arg("-config")
        .arg(&path)
        .args(flags)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(input.as_bytes())
        .unwrap();
    child.wait_with_output().unwrap()
}

const RULES: &str = r#"
- source_labels: [__address__]
  regex: '([^:]+):\d+'
  target_label: instance
- action: drop
  source_labels: [job]
  regex: skip
- source_labels: [instance]
  target_label: shard
  modulus: 10
  action: hashmod
"#;

#[test]
fn one_output_line_per_input_null_when_dropped() {
    let out = run(
        RULES,
        &[],
        "{\"__address__\":\"db:9100\",\"job\":\"node\"}\n{\"job\":\"skip\"}\n",
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8(out.stdout).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 2);
    let first: serde_json::Value = serde_json::from_str(lines[0]).unwrap();
    assert_eq!(first["instance"], "db");
    assert_eq!(first["__address__"], "db:9100");
    assert_eq!(lines[1], "null");
}

#[test]
fn finalize_and_flavor_change_the_result() {
    let input = "{\"__address__\":\"db:9100\"}\n";
    let prom = run(RULES, &["-finalize"], input);
    let vm = run(RULES, &["-finalize", "-flavor=victoriametrics"], input);
    let prom: serde_json::Value = serde_json::from_slice(&prom.stdout).unwrap();
    let vm: serde_json::Value = serde_json::from_slice(&vm.stdout).unwrap();
    assert!(prom.get("__address__").is_none(), "{prom}");
    // MD5 vs XXH64 of "db", modulo 10 (the values each upstream computes).
    assert_ne!(prom["shard"], serde_json::Value::Null);
    assert_ne!(prom["shard"], vm["shard"]);
}

#[test]
fn bad_config_exits_non_zero_with_the_message() {
    let out = run("- action: hashmod\n  target_label: x\n", &[], "");
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("relabel rule 0: modulus"), "{err}");
}

#[test]
fn legacy_name_validation_rejects_dashed_targets() {
    let rules = "- source_labels: [a]\n  target_label: bad-name\n";
    assert!(run(rules, &[], "").status.success());
    let out = run(rules, &["-name-validation=legacy"], "");
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("target_label"));
}
