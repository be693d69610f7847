//! Conformance over `shared/conformance/rules` and `shared/conformance/configs/rules-*.yml`:
//! every case of `conformance.tsv` (from the corpus README and promtool's rule counts)
//! is run and compared; `N passed, M failed` is printed. Unit-test groups listed in
//! `conformance_skip.tsv` are excluded with a reason, and must still fail. A missing
//! corpus fails the test.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use gnomon_alert_rules::files::parse_file;
use gnomon_alert_rules::lint::duplicates;
use gnomon_alert_rules::names::NameValidation;
use gnomon_alert_rules::rulefmt::ParseOptions;
use gnomon_alert_rules::unittest::{UnitTestOptions, run_file};

fn shared_dir() -> PathBuf {
    match std::env::var_os("GNOMON_SHARED") {
        Some(p) => PathBuf::from(p),
        None => PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../../shared")),
    }
}

fn corpus() -> PathBuf {
    let dir = shared_dir().join("conformance");
    assert!(
        dir.join("rules/README.md").is_file(),
        "rule conformance corpus not found at {} (set GNOMON_SHARED to the shared/ folder)",
        dir.display()
    );
    dir
}

struct Case {
    kind: String,
    file: String,
    option: String,
    expected: String,
}

fn cases() -> Vec<Case> {
    include_str!("conformance.tsv")
        .lines()
        .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
        .map(|l| {
            let f: Vec<&str> = l.split('\t').collect();
            assert_eq!(f.len(), 4, "bad line in conformance.tsv: {l}");
            Case {
                kind: f[0].into(),
                file: f[1].into(),
                option: f[2].into(),
                expected: f[3].into(),
            }
        })
        .collect()
}

/// (file, group index) → reason.
fn skips() -> BTreeMap<(String, usize), String> {
    include_str!("conformance_skip.tsv")
        .lines()
        .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
        .map(|l| {
            let f: Vec<&str> = l.split('\t').collect();
            (
                (f[0].to_string(), f[1].parse().expect("group index")),
                f[2].to_string(),
            )
        })
        .collect()
}

fn rule_opts(option: &str) -> ParseOptions {
    let mut o = ParseOptions::default();
    match option {
        "legacy" => o.name_validation = NameValidation::Legacy,
        "ignore-unknown-fields" => o.ignore_unknown_fields = true,
        _ => {}
    }
    o
}

fn dups_string(path: &Path, opts: &ParseOptions) -> Result<String, String> {
    let g = parse_file(path, opts).map_err(|e| e.to_string())?;
    let parts: Vec<String> = duplicates(&g)
        .iter()
        .map(|d| {
            let l: Vec<String> = d.labels.iter().map(|(k, v)| format!("{k}={v}")).collect();
            format!("{}{{{}}}", d.metric, l.join(","))
        })
        .collect();
    Ok(parts.join(";"))
}

/// Runs one case; `Err` says what differed.
fn run_case(
    root: &Path,
    c: &Case,
    skips: &BTreeMap<(String, usize), String>,
) -> Result<(), String> {
    let path = root.join(&c.file);
    let opts = rule_opts(&c.option);
    match c.kind.as_str() {
        "check" => {
            let got = parse_file(&path, &opts);
            if let Some(n) = c.expected.strip_prefix("count=") {
                match got {
                    Ok(g) if g.rule_count().to_string() == n => Ok(()),
                    Ok(g) => Err(format!("{} rules, expected {n}", g.rule_count())),
                    Err(e) => Err(format!("unexpected error: {e}")),
                }
            } else {
                let want = c.expected.strip_prefix("error=").ok_or("bad expectation")?;
                match got {
                    Err(e) if e.to_string().contains(want) => Ok(()),
                    Err(e) => Err(format!("error {e:?} does not contain {want:?}")),
                    Ok(_) => Err(format!("accepted, expected an error containing {want:?}")),
                }
            }
        }
        "lint" => {
            let want = c.expected.strip_prefix("dups=").ok_or("bad expectation")?;
            let got = dups_string(&path, &opts)?;
            if got == want {
                Ok(())
            } else {
                Err(format!("duplicates {got:?}, expected {want:?}"))
            }
        }
        "test" => {
            let mut uo = UnitTestOptions {
                rules: opts,
                ..UnitTestOptions::default()
            };
            if let Some(re) = c.option.strip_prefix("run=") {
                uo.run
                    .push(regex::Regex::new(re).map_err(|e| e.to_string())?);
            }
            let out = run_file(&path, &uo);
            let mut failing = !out.file_errors.is_empty();
            for (i, g) in out.groups.iter().enumerate() {
                match skips.get(&(c.file.clone(), i)) {
                    Some(reason) if g.errors.is_empty() => {
                        return Err(format!(
                            "group {i} passes now: remove it from conformance_skip.tsv ({reason})"
                        ));
                    }
                    Some(_) => {}
                    None => failing |= !g.errors.is_empty(),
                }
            }
            match (c.expected.as_str(), failing) {
                ("pass", false) | ("fail", true) => Ok(()),
                ("pass", true) => Err(format!("failed: {:?}", out.errors())),
                ("fail", false) => Err("passed, expected a failure".into()),
                (other, _) => Err(format!("bad expectation {other:?}")),
            }
        }
        other => Err(format!("unknown kind {other:?}")),
    }
}

#[test]
fn rule_corpus() {
    let root = corpus();
    let skips = skips();
    let cases = cases();
    let (mut passed, mut failed) = (0, Vec::new());
    for c in &cases {
        match run_case(&root, c, &skips) {
            Ok(()) => passed += 1,
            Err(e) => failed.push(format!("{} {} [{}]: {e}", c.kind, c.file, c.option)),
        }
    }
    println!(
        "{passed} passed, {} failed ({} skipped unit-test groups)",
        failed.len(),
        skips.len()
    );
    for (k, reason) in &skips {
        println!("skipped: {} group {}: {reason}", k.0, k.1);
    }
    assert!(failed.is_empty(), "{}", failed.join("\n"));
}

#[test]
fn every_corpus_file_has_a_case() {
    let root = corpus();
    let listed: Vec<String> = cases().into_iter().map(|c| c.file).collect();
    let mut missing = Vec::new();
    for dir in [
        "rules/promtool",
        "rules/rulefmt",
        "rules/manager-fixtures",
        "configs",
    ] {
        for e in std::fs::read_dir(root.join(dir)).expect("corpus folder") {
            let name = e
                .expect("dir entry")
                .file_name()
                .to_string_lossy()
                .into_owned();
            let is_rules = name.ends_with(".yml") || name.ends_with(".yaml");
            if !is_rules || (dir == "configs" && !name.starts_with("rules-")) {
                continue;
            }
            let rel = format!("{dir}/{name}");
            // Rule files only loaded by unit tests are covered through them.
            let loaded_by_tests = ["rules/promtool/rules.yml"].contains(&rel.as_str());
            if !listed.contains(&rel) && !loaded_by_tests {
                missing.push(rel);
            }
        }
    }
    assert!(
        missing.is_empty(),
        "corpus files without a case in conformance.tsv: {missing:?}"
    );
}

/// `test_aliases.yaml`: anchors, aliases and `<<:` merge keys resolve as the README says.
#[test]
fn aliases_and_merge_keys() {
    let g = parse_file(
        &corpus().join("rules/rulefmt/test_aliases.yaml"),
        &ParseOptions::default(),
    )
    .unwrap();
    let rules = &g.groups[0].rules;
    let expr = "sum without(instance) (rate(errors_total[5m]))\n/\nsum without(instance) (rate(requests_total[5m]))\n";
    assert!(rules.iter().all(|r| r.expr == expr));
    for i in [0, 2] {
        assert_eq!(rules[i].alert.as_deref(), Some("HighAlert"));
        assert_eq!(rules[i].labels["severity"], "critical");
        assert_eq!(
            rules[i].annotations["description"],
            "stuff's happening with {{ $.labels.service }}"
        );
    }
    assert_eq!(rules[1].record.as_deref(), Some("new_metric"));
    assert_eq!(rules[3].alert.as_deref(), Some("HighAlert2"));
    assert_eq!(rules[3].labels["severity"], "critical");
}

/// The skipped group of `unittest.yml` fails for the stated reason, and only it.
#[test]
fn skipped_groups_fail_for_the_stated_reason() {
    let out = run_file(
        &corpus().join("rules/promtool/unittest.yml"),
        &UnitTestOptions::default(),
    );
    assert!(
        out.groups[0].errors[0].contains("native histogram"),
        "{:?}",
        out.groups[0].errors
    );
    for g in &out.groups[1..] {
        assert!(g.errors.is_empty(), "{:?}", g.errors);
    }
}
