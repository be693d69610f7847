//! Runs Prometheus' promqltest scripts (`shared/conformance/promql/*.test`) against the
//! evaluator, on the in-memory store and on the tsdb-core storage engine, and prints
//! `promqltest: N passed, M failed, K skipped` per store with the failing evals by
//! `file:line`. Skips come from `promqltest_skip.tsv` (file, line, reason); its header
//! holds the floor of passed evals this test enforces, so progress can only go up.
//! Every passed instant eval is also re-run as a range query around its time (the
//! reference harness's extra check) and must agree.

#[path = "promqltest/compare.rs"]
mod compare;
#[path = "promqltest/reruns.rs"]
mod reruns;
#[path = "promqltest/script.rs"]
mod script;
#[path = "promqltest/stores.rs"]
mod stores;

use std::collections::{HashMap, HashSet};
use std::path::PathBuf;
use std::time::Duration;

use compare::check;
use gnomon_promql::engine::memstore::MemStore;
use gnomon_promql::engine::{Engine, EngineOptions};
use gnomon_promql::{ParseOptions, parse_with};
use gnomon_tsdb_core::model::{Labels, Sample};
use reruns::{at_rerun, range_rerun};
use script::{Command, Slot, parse_script};
use stores::{DiskStore, TestStore};

fn shared_dir() -> PathBuf {
    match std::env::var_os("GNOMON_SHARED") {
        Some(p) => PathBuf::from(p),
        None => PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../../shared")),
    }
}

/// The skip list: (file, line) -> reason, and the floor from the header.
fn skip_list() -> (HashMap<(String, usize), String>, usize) {
    let text = include_str!("promqltest_skip.tsv");
    let mut floor = 0;
    let mut map = HashMap::new();
    for l in text.lines() {
        if let Some(f) = l.strip_prefix("# floor:") {
            floor = f.trim().parse().expect("floor is a number");
            continue;
        }
        if l.starts_with('#') || l.trim().is_empty() {
            continue;
        }
        let mut it = l.splitn(3, '\t');
        let (f, n, r) = (
            it.next().unwrap(),
            it.next().unwrap(),
            it.next().unwrap_or(""),
        );
        map.insert(
            (f.to_string(), n.parse().expect("line number")),
            r.to_string(),
        );
    }
    (map, floor)
}

#[derive(Default)]
struct Tally {
    at_agree: usize,
    rerun_agree: usize,
    rerun_diffs: Vec<String>,
    passed: usize,
    failed: Vec<String>,
    skipped: usize,
    per_file: Vec<(String, usize, usize, usize)>,
}

fn run_file(
    name: &str,
    text: &str,
    store: &mut dyn TestStore,
    skips: &HashMap<(String, usize), String>,
    t: &mut Tally,
) {
    let engine = Engine::new(EngineOptions {
        max_samples: 50_000_000,
        timeout: Some(Duration::from_secs(100)),
        ..EngineOptions::default()
    });
    let cmds = match parse_script(text) {
        Ok(c) => c,
        Err(e) => panic!("{name}:{}: {}", e.0, e.1),
    };
    let (p0, f0, s0) = (t.passed, t.failed.len(), t.skipped);
    store.clear();
    for c in cmds {
        match c {
            Command::Clear => store.clear(),
            Command::Load { interval, series } => {
                let mut rows = Vec::new();
                let mut seen: HashSet<Labels> = HashSet::new();
                for (l, slots) in series.iter().rev() {
                    if !seen.insert(l.clone()) {
                        continue; // a later line of the same series wins
                    }
                    for (i, s) in slots.iter().enumerate() {
                        if let Slot::Float(v) = s {
                            rows.push((l.clone(), Sample::new(i as i64 * interval, *v)));
                        }
                    }
                }
                rows.sort_by_key(|r| r.1.t);
                store.load(&rows);
            }
            Command::Eval(ev) => {
                if skips.contains_key(&(name.to_string(), ev.line)) {
                    t.skipped += 1;
                    continue;
                }
                let mut notes = Vec::new();
                let res = match parse_with(&ev.expr, &ParseOptions::prometheus()) {
                    Err(e) => Err(format!("parse: {e}")),
                    Ok(expr) => {
                        let q = store.querier();
                        let r = match ev.range {
                            Some((s, e, st)) => engine.range_annotated(q, &expr, s, e, st),
                            None => engine.instant_annotated(q, &expr, ev.at),
                        };
                        r.map(|r| {
                            notes = r.annotations.iter().map(|a| a.render(&ev.expr)).collect();
                            r.value
                        })
                        .map_err(|e| e.to_string())
                    }
                };
                match check(&ev, res, Some(&notes)) {
                    Ok(()) => {
                        t.passed += 1;
                        match at_rerun(&engine, store.querier(), &ev) {
                            Some(Err(why)) => t
                                .rerun_diffs
                                .push(format!("{name}:{}: {} — {why}", ev.line, ev.expr)),
                            Some(Ok(())) => t.at_agree += 1,
                            None => {}
                        }
                        match range_rerun(&engine, store.querier(), &ev) {
                            Some(Err(why)) => t
                                .rerun_diffs
                                .push(format!("{name}:{}: {} — {why}", ev.line, ev.expr)),
                            Some(Ok(())) => t.rerun_agree += 1,
                            None => {}
                        }
                    }
                    Err(why) => t
                        .failed
                        .push(format!("{name}:{}: {} — {why}", ev.line, ev.expr)),
                }
            }
        }
    }
    t.per_file.push((
        name.to_string(),
        t.passed - p0,
        t.failed.len() - f0,
        t.skipped - s0,
    ));
}

fn run_all(label: &str, store: &mut dyn TestStore) -> Tally {
    let dir = shared_dir().join("conformance/promql");
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("conformance corpus missing at {}: {e}", dir.display()))
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "test"))
        .filter(|p| match std::env::var("PROMQLTEST_FILE") {
            Ok(only) => p.file_name().is_some_and(|n| n.to_string_lossy() == only),
            Err(_) => true,
        })
        .collect();
    files.sort();
    assert!(!files.is_empty(), "no .test files in {}", dir.display());
    let (skips, _) = skip_list();
    let mut t = Tally::default();
    for f in &files {
        let name = f.file_name().unwrap().to_string_lossy().to_string();
        let text = std::fs::read_to_string(f).expect("read test file");
        run_file(&name, &text, store, &skips, &mut t);
    }
    for l in &t.failed {
        println!("[{label}] FAIL {l}");
    }
    for (f, p, fl, s) in &t.per_file {
        println!("[{label}] {f}: {p} passed, {fl} failed, {s} skipped");
    }
    for l in &t.rerun_diffs {
        println!("[{label}] RERUN DIFF {l}");
    }
    println!(
        "promqltest[{label}] re-runs of passed instant evals: {} as range queries and {} with \
         `@` pinned agree, {} differ",
        t.rerun_agree,
        t.at_agree,
        t.rerun_diffs.len()
    );
    println!(
        "promqltest: {} passed, {} failed, {} skipped (store: {label})",
        t.passed,
        t.failed.len(),
        t.skipped
    );
    t
}

#[test]
fn promqltest_on_memstore() {
    let (_, floor) = skip_list();
    let t = run_all("memstore", &mut MemStore::new());
    assert!(t.passed >= floor, "passed {} < floor {floor}", t.passed);
    assert!(
        t.rerun_diffs.is_empty(),
        "range re-runs differ: {:?}",
        t.rerun_diffs
    );
}

#[test]
fn promqltest_on_tsdb_core() {
    let (_, floor) = skip_list();
    let t = run_all("tsdb-core", &mut DiskStore::new());
    assert!(t.passed >= floor, "passed {} < floor {floor}", t.passed);
    assert!(
        t.rerun_diffs.is_empty(),
        "range re-runs differ: {:?}",
        t.rerun_diffs
    );
}
