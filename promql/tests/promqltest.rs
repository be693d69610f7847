//! Runs Prometheus' promqltest scripts (`shared/conformance/promql/*.test`) against the
//! evaluator, on the in-memory store and on the tsdb-core storage engine, and prints
//! `promqltest: N passed, M failed, K skipped` per store with the failing evals by
//! `file:line`. Skips come from `promqltest_skip.tsv` (file, line, reason); its header
//! holds the floor of passed evals this test enforces, so progress can only go up.
//! Every passed instant eval is also re-run as a range query around its time (the
//! reference harness's extra check) and must agree.

#[path = "promqltest/script.rs"]
mod script;

use std::collections::{HashMap, HashSet};
use std::path::PathBuf;
use std::time::Duration;

use gnomon_promql::engine::memstore::MemStore;
use gnomon_promql::engine::{Engine, EngineOptions, InstantSample, Value};
use gnomon_promql::parser::ast::{AtModifier, Expr, Number};
use gnomon_promql::{ParseOptions, parse_with};
use gnomon_tsdb_core::model::{Appender, Labels, Querier, Sample, is_stale_nan};
use gnomon_tsdb_core::storage::{Options, Storage};
use script::{Command, Eval, FailExpect, Slot, parse_script};

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

/// A store the runner can load and clear.
trait TestStore {
    fn querier(&self) -> &dyn Querier;
    fn load(&mut self, rows: &[(Labels, Sample)]);
    fn clear(&mut self);
}

impl TestStore for MemStore {
    fn querier(&self) -> &dyn Querier {
        self
    }
    fn load(&mut self, rows: &[(Labels, Sample)]) {
        for (l, s) in rows {
            self.add(l, *s);
        }
    }
    fn clear(&mut self) {
        MemStore::clear(self);
    }
}

struct DiskStore {
    dir: tempfile::TempDir,
    storage: Option<Storage>,
}

impl DiskStore {
    fn new() -> DiskStore {
        let dir = tempfile::tempdir().expect("tempdir");
        let storage = Some(Self::open(&dir));
        DiskStore { dir, storage }
    }
    fn open(dir: &tempfile::TempDir) -> Storage {
        let opts = Options {
            retention: Duration::from_secs(200 * 365 * 86_400),
            shards: 1,
            background_merges: false,
            ..Options::default()
        };
        Storage::open(dir.path().join("data"), opts).expect("open storage")
    }
}

impl TestStore for DiskStore {
    fn querier(&self) -> &dyn Querier {
        self.storage.as_ref().expect("open")
    }
    fn load(&mut self, rows: &[(Labels, Sample)]) {
        let mut app = self.storage.as_ref().expect("open").appender();
        for (l, s) in rows {
            app.append(l, *s).expect("append");
        }
        app.commit().expect("commit");
    }
    fn clear(&mut self) {
        if let Some(s) = self.storage.take() {
            s.close().expect("close");
        }
        self.dir = tempfile::tempdir().expect("tempdir");
        self.storage = Some(Self::open(&self.dir));
    }
}

/// Float equality of the promqltest harness.
fn float_eq(a: f64, b: f64) -> bool {
    if is_stale_nan(a) || is_stale_nan(b) {
        return is_stale_nan(a) && is_stale_nan(b);
    }
    if a.is_nan() && b.is_nan() {
        return true;
    }
    if a == b {
        return true;
    }
    let sum = a.abs() + b.abs();
    if a == 0.0 || b == 0.0 || sum < f64::MIN_POSITIVE {
        return (a - b).abs() < 1e-6 * f64::MIN_POSITIVE;
    }
    (a - b).abs() / sum < 1e-6
}

fn check(ev: &Eval, got: Result<Value, String>) -> Result<(), String> {
    if let Some(f) = &ev.fail {
        return match got {
            Ok(v) => Err(format!("expected an error, got {}", short(&v))),
            Err(e) => match f {
                FailExpect::Any => Ok(()),
                FailExpect::Msg(m) if *m == e => Ok(()),
                FailExpect::Regex(r) if regex::Regex::new(r).is_ok_and(|re| re.is_match(&e)) => {
                    Ok(())
                }
                _ => Err(format!("error {e:?} does not match {f:?}")),
            },
        };
    }
    let got = got?;
    if ev.warn || ev.info {
        return Err("expects a warning/info annotation; annotations are not produced yet".into());
    }
    if let Some(s) = &ev.string {
        return match got {
            Value::String { v, .. } if v == *s => Ok(()),
            other => Err(format!("expected string {s:?}, got {}", short(&other))),
        };
    }
    if let Some(x) = ev.scalar {
        return match got {
            Value::Scalar { v, .. } if float_eq(v, x) => Ok(()),
            other => Err(format!("expected scalar {x}, got {}", short(&other))),
        };
    }
    if let Some((start, _, step)) = ev.range.or(ev.range_vector) {
        let Value::Matrix(m) = got else {
            return Err(format!("expected a matrix, got {}", short(&got)));
        };
        let mut by: HashMap<&Labels, &[Sample]> = HashMap::new();
        for s in &m {
            by.insert(&s.labels, &s.samples);
        }
        if by.len() != ev.results.len() {
            return Err(format!(
                "expected {} series, got {}: {}",
                ev.results.len(),
                m.len(),
                short(&Value::Matrix(m.clone()))
            ));
        }
        for (labels, slots) in &ev.results {
            let Some(samples) = by.get(labels) else {
                return Err(format!(
                    "missing series {labels}; got {}",
                    short(&Value::Matrix(m.clone()))
                ));
            };
            let want: Vec<(i64, f64)> = slots
                .iter()
                .enumerate()
                .filter_map(|(i, s)| match s {
                    Slot::Float(v) => Some((start + i as i64 * step, *v)),
                    _ => None,
                })
                .collect();
            let ok = want.len() == samples.len()
                && want
                    .iter()
                    .zip(samples.iter())
                    .all(|(w, g)| w.0 == g.t && float_eq(w.1, g.v));
            if !ok {
                let g: Vec<(i64, f64)> = samples.iter().map(|s| (s.t, s.v)).collect();
                return Err(format!("{labels}: want {want:?}, got {g:?}"));
            }
        }
        return Ok(());
    }
    let v = match got {
        Value::Vector(v) => v,
        Value::Matrix(m) if m.is_empty() && ev.results.is_empty() => return Ok(()),
        other => return Err(format!("expected a vector, got {}", short(&other))),
    };
    if v.len() != ev.results.len() {
        return Err(format!(
            "expected {} samples, got {}: {}",
            ev.results.len(),
            v.len(),
            short(&Value::Vector(v.clone()))
        ));
    }
    for (i, (labels, slots)) in ev.results.iter().enumerate() {
        let want = match slots.as_slice() {
            [Slot::Float(x)] => *x,
            _ => return Err("expected line without exactly one float".into()),
        };
        let found = if ev.ordered {
            Some(&v[i]).filter(|s| s.labels == *labels)
        } else {
            v.iter().find(|s| s.labels == *labels)
        };
        match found {
            Some(s) if float_eq(s.v, want) => {}
            Some(s) => return Err(format!("{labels}: want {want}, got {}", s.v)),
            None => {
                return Err(format!(
                    "missing {labels} (ordered: {}); got {}",
                    ev.ordered,
                    short(&Value::Vector(v.clone()))
                ));
            }
        }
    }
    Ok(())
}

fn short(v: &Value) -> String {
    let s = match v {
        Value::Vector(x) => format!(
            "vector[{}]",
            x.iter()
                .map(|s| format!("{} {}", s.labels, s.v))
                .collect::<Vec<_>>()
                .join(", ")
        ),
        Value::Matrix(m) => format!(
            "matrix[{}]",
            m.iter()
                .map(|s| format!(
                    "{} {:?}",
                    s.labels,
                    s.samples.iter().map(|x| (x.t, x.v)).collect::<Vec<_>>()
                ))
                .collect::<Vec<_>>()
                .join(", ")
        ),
        other => format!("{other:?}"),
    };
    s.chars().take(400).collect()
}

/// The harness's second extra check: a passed instant eval, re-run as a range query from
/// t-1m to t+1m every 1m, must give the same result at t. `None` when the check does not
/// apply, `Some(Ok(()))` when it agrees.
fn range_rerun(engine: &Engine, q: &dyn Querier, ev: &Eval) -> Option<Result<(), String>> {
    let special = ["start(", "end(", "range(", "step("];
    if ev.range.is_some()
        || ev.fail.is_some()
        || ev.string.is_some()
        || ev.range_vector.is_some()
        || ev.ordered
        || special.iter().any(|f| ev.expr.contains(f))
    {
        return None;
    }
    let expr = parse_with(&ev.expr, &ParseOptions::prometheus()).ok()?;
    let got = match engine.range(q, &expr, ev.at - 60_000, ev.at + 60_000, 60_000) {
        Ok(Value::Matrix(m)) => m,
        Ok(_) => return Some(Err("range query did not return a matrix".into())),
        Err(e) => return Some(Err(format!("range query failed: {e}"))),
    };
    let at_t: Vec<InstantSample> = got
        .iter()
        .filter_map(|s| {
            s.samples
                .iter()
                .find(|x| x.t == ev.at)
                .map(|x| InstantSample {
                    labels: s.labels.clone(),
                    t: ev.at,
                    v: x.v,
                })
        })
        .collect();
    let value = match ev.scalar {
        Some(_) => match at_t.as_slice() {
            [one] if one.labels.is_empty() => Value::Scalar { t: ev.at, v: one.v },
            _ => {
                return Some(Err(format!(
                    "expected one scalar point, got {}",
                    at_t.len()
                )));
            }
        },
        None => Value::Vector(at_t),
    };
    Some(check(ev, Ok(value)))
}

/// Adds `@ at` to every selector and subquery without one (not inside a subquery that has
/// one), as the reference harness does.
fn pin_at(e: &mut Expr, at: f64) {
    let t = AtModifier::Time(Number(at));
    match e {
        Expr::Vector(v) => {
            v.at.get_or_insert(t);
        }
        Expr::Matrix(m) => {
            m.selector.at.get_or_insert(t);
        }
        Expr::Subquery(sq) if sq.at.is_none() => {
            sq.at = Some(t);
            pin_at(&mut sq.expr, at);
        }
        Expr::Neg(x) => pin_at(x, at),
        Expr::Binary(b) => {
            pin_at(&mut b.lhs, at);
            pin_at(&mut b.rhs, at);
        }
        Expr::Aggregate(a) => a.args.iter_mut().for_each(|x| pin_at(x, at)),
        Expr::Call(c) => c.args.iter_mut().for_each(|x| pin_at(x, at)),
        _ => {}
    }
}

/// The harness's first extra check: with every selector pinned to `@ t`, a passed instant
/// eval gives the same result at other evaluation times. `None` when it does not apply.
fn at_rerun(engine: &Engine, q: &dyn Querier, ev: &Eval) -> Option<Result<(), String>> {
    let time_dependent = [
        "days_in_month",
        "day_of_month",
        "day_of_week",
        "day_of_year",
        "end",
        "hour",
        "minute",
        "month",
        "predict_linear",
        "range",
        "start",
        "step",
        "time",
        "timestamp",
        "year",
    ];
    if ev.range.is_some()
        || ev.fail.is_some()
        || ev.warn
        || ev.info
        || time_dependent.iter().any(|f| ev.expr.contains(f))
    {
        return None;
    }
    let mut expr = parse_with(&ev.expr, &ParseOptions::prometheus()).ok()?;
    pin_at(&mut expr, ev.at as f64 / 1000.0);
    let times = if ev.at == 0 {
        vec![-1000, 0, 1000]
    } else {
        vec![-10 * ev.at, 0, ev.at / 5, ev.at, 10 * ev.at]
    };
    for t in times {
        let got = engine.instant(q, &expr, t).map_err(|e| e.to_string());
        if let Err(why) = check(ev, got) {
            return Some(Err(format!("at {t}ms with @ pinned: {why}")));
        }
    }
    Some(Ok(()))
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
                let res = match parse_with(&ev.expr, &ParseOptions::prometheus()) {
                    Err(e) => Err(format!("parse: {e}")),
                    Ok(expr) => {
                        let q = store.querier();
                        let r = match ev.range {
                            Some((s, e, st)) => engine.range(q, &expr, s, e, st),
                            None => engine.instant(q, &expr, ev.at),
                        };
                        r.map_err(|e| e.to_string())
                    }
                };
                match check(&ev, res) {
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
        "promqltest[{label}]: {} passed, {} failed, {} skipped",
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
