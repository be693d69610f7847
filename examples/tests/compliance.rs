//! PromQL compliance against a real Prometheus (Debian `prometheus` 2.42): the 539 queries
//! of shared/conformance/compliance/expanded-queries.jsonl run as range queries (10 min
//! window, 10 s step, as the upstream tester; then again off that grid: start and end
//! 3 s later, step 7 s) and as instant queries (at two times) against a Prometheus
//! backfilled with seeded demo-like data (`promtool tsdb create-blocks-from openmetrics`)
//! and against `gnomon` holding the same samples (read back from Prometheus and imported
//! through `/api/v1/import`, so both hold bit-identical data).
//!
//! Comparison: same label sets, same timestamps, values within 1e-6 relative (NaN equal
//! to NaN), `should_fail` cases fail on both. Known differences are listed with a reason
//! in `compliance_skip.tsv`; the test fails when the other failures exceed 1 %.
//! Run with `-- --nocapture` to see the per-failure summary; the report is also written
//! to `$CARGO_TARGET_TMPDIR/compliance-report.txt`.

mod common;
#[path = "compliance/demo_data.rs"]
mod demo_data;

use std::collections::{BTreeMap, HashMap};
use std::fmt::Write as _;
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use common::{Server, data_dir, enc, request, tempdir};
use serde_json::Value;

/// Range query window: end = base + 75 min, start = end − 10 min, step 10 s.
const END_S: i64 = demo_data::BASE_MS / 1000 + 75 * 60;
const START_S: i64 = END_S - 600;
const STEP_S: i64 = 10;
/// Worker threads sending queries.
const WORKERS: usize = 6;
/// Relative value tolerance; `GNOMON_COMPLIANCE_TOLERANCE` overrides it (to see how
/// close the values really are).
const TOLERANCE: f64 = 1e-6;

fn tolerance() -> f64 {
    static TOL: std::sync::OnceLock<f64> = std::sync::OnceLock::new();
    *TOL.get_or_init(|| {
        std::env::var("GNOMON_COMPLIANCE_TOLERANCE")
            .ok()
            .and_then(|v| v.parse().ok())
            .unwrap_or(TOLERANCE)
    })
}
/// Instant queries run at the end of the range window and at a time off the step grid.
const INSTANT_TIMES: [i64; 2] = [END_S, START_S + 7];
/// Queries outside the list that confirm a skip-list diagnosis: they must match.
const PROBES: [&str; 2] = [
    // #539 without a subquery point on the window's left edge.
    "avg_over_time(rate(demo_cpu_usage_seconds_total[1m])[125s:10s])",
    // #457/#462 with a label name both versions accept.
    "label_join(demo_num_cpus, \"valid\", \"-\", \"instance\")",
];

fn shared() -> PathBuf {
    std::env::var_os("GNOMON_SHARED")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../../shared")))
}

/// A Prometheus process, killed on drop.
struct Prometheus {
    child: Child,
    addr: String,
}

impl Drop for Prometheus {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn need_binary(name: &str) -> PathBuf {
    let path = PathBuf::from("/usr/bin").join(name);
    assert!(
        path.exists(),
        "{} is missing: install the Debian package `prometheus` (it ships prometheus and promtool)",
        path.display()
    );
    path
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("bind port 0")
        .port()
}

/// Backfills `openmetrics` into a TSDB under `dir` and starts Prometheus on it.
fn start_prometheus(dir: &Path, openmetrics: &str) -> Prometheus {
    let promtool = need_binary("promtool");
    let prometheus = need_binary("prometheus");
    let om = dir.join("demo.om");
    std::fs::write(&om, openmetrics).unwrap();
    let tsdb = dir.join("tsdb");
    let out = Command::new(promtool)
        .args(["tsdb", "create-blocks-from", "openmetrics"])
        .arg(&om)
        .arg(&tsdb)
        .output()
        .expect("run promtool");
    assert!(
        out.status.success(),
        "promtool create-blocks-from failed: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    let cfg = dir.join("prometheus.yml");
    std::fs::write(&cfg, "global:\n  scrape_interval: 1m\n").unwrap();
    let addr = format!("127.0.0.1:{}", free_port());
    let log = std::fs::File::create(dir.join("prometheus.log")).unwrap();
    let child = Command::new(prometheus)
        .arg(format!("--config.file={}", cfg.display()))
        .arg(format!("--storage.tsdb.path={}", tsdb.display()))
        .arg(format!("--web.listen-address={addr}"))
        .arg("--storage.tsdb.retention.time=100y")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(log)
        .spawn()
        .expect("spawn prometheus");
    let p = Prometheus { child, addr };
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        if request(&p.addr, "GET", "/-/ready", &[], b"").is_ok_and(|r| r.status == 200) {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "prometheus did not become ready; log: {}",
            std::fs::read_to_string(dir.join("prometheus.log")).unwrap_or_default()
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    p
}

/// Seconds (JSON number) to milliseconds.
fn ms(v: &Value) -> i64 {
    (v.as_f64().expect("timestamp") * 1000.0).round() as i64
}

fn float(v: &Value) -> f64 {
    let s = v.as_str().expect("value string");
    match s {
        "NaN" => f64::NAN,
        "+Inf" | "Inf" => f64::INFINITY,
        "-Inf" => f64::NEG_INFINITY,
        _ => s.parse().expect("float"),
    }
}

type LabelSet = BTreeMap<String, String>;

fn labels(v: &Value) -> LabelSet {
    v.as_object()
        .map(|o| {
            o.iter()
                .map(|(k, v)| (k.clone(), v.as_str().unwrap_or_default().to_owned()))
                .collect()
        })
        .unwrap_or_default()
}

/// A query outcome normalised for comparison.
#[derive(Debug, Clone)]
enum Outcome {
    Error(String),
    /// Series (sorted by labels) with their points; scalars have empty labels.
    Data(String, Vec<(LabelSet, Vec<(i64, f64)>)>),
}

fn outcome(addr: &str, path: &str) -> Outcome {
    let resp = match request(addr, "GET", path, &[], b"") {
        Ok(r) => r,
        Err(e) => return Outcome::Error(format!("connection: {e}")),
    };
    let body: Value = match serde_json::from_slice(&resp.body) {
        Ok(v) => v,
        Err(_) => return Outcome::Error(format!("{}: {}", resp.status, resp.text())),
    };
    if body["status"] != "success" {
        return Outcome::Error(format!(
            "{} {}: {}",
            resp.status,
            body["errorType"].as_str().unwrap_or(""),
            body["error"].as_str().unwrap_or("")
        ));
    }
    let data = &body["data"];
    let kind = data["resultType"].as_str().unwrap_or("").to_owned();
    let res = &data["result"];
    let mut series = match kind.as_str() {
        "string" => {
            let text = res[1].as_str().unwrap_or_default().to_owned();
            return Outcome::Data(format!("string {text:?}"), Vec::new());
        }
        "scalar" => vec![(LabelSet::new(), vec![(ms(&res[0]), float(&res[1]))])],
        "vector" => res
            .as_array()
            .unwrap()
            .iter()
            .map(|s| {
                (
                    labels(&s["metric"]),
                    vec![(ms(&s["value"][0]), float(&s["value"][1]))],
                )
            })
            .collect(),
        "matrix" => res
            .as_array()
            .unwrap()
            .iter()
            .map(|s| {
                let pts = s["values"]
                    .as_array()
                    .map(|a| a.iter().map(|p| (ms(&p[0]), float(&p[1]))).collect())
                    .unwrap_or_default();
                (labels(&s["metric"]), pts)
            })
            .collect(),
        other => return Outcome::Error(format!("unknown result type {other:?}")),
    };
    series.sort_by(|a, b| a.0.cmp(&b.0));
    Outcome::Data(kind, series)
}

fn close(a: f64, b: f64) -> bool {
    if a.is_nan() || b.is_nan() {
        return a.is_nan() && b.is_nan();
    }
    if a == b {
        return true;
    }
    (a - b).abs() <= tolerance() * a.abs().max(b.abs())
}

fn show_labels(l: &LabelSet) -> String {
    let inner: Vec<String> = l.iter().map(|(k, v)| format!("{k}={v:?}")).collect();
    format!("{{{}}}", inner.join(","))
}

/// `None` when equal, else what differs first.
fn diff(expected: &Outcome, got: &Outcome, should_fail: bool) -> Option<String> {
    let (ek, e, gk, g) = match (expected, got) {
        (Outcome::Error(_), Outcome::Error(_)) if should_fail => return None,
        (Outcome::Error(e), _) if !should_fail => {
            return Some(format!("reference failed: {e}"));
        }
        (_, Outcome::Error(e)) if !should_fail => return Some(format!("gnomon failed: {e}")),
        (Outcome::Data(..), Outcome::Data(..)) if should_fail => {
            return Some("should fail, but both succeeded".into());
        }
        (Outcome::Data(ek, e), Outcome::Data(gk, g)) => (ek, e, gk, g),
        (Outcome::Data(..), Outcome::Error(_)) => {
            return Some("should fail: gnomon failed, the reference succeeded".into());
        }
        (Outcome::Error(_), _) => {
            return Some("should fail: the reference failed, gnomon succeeded".into());
        }
    };
    if ek != gk {
        return Some(format!("result type: expected {ek}, got {gk}"));
    }
    let ekeys: Vec<&LabelSet> = e.iter().map(|s| &s.0).collect();
    let gkeys: Vec<&LabelSet> = g.iter().map(|s| &s.0).collect();
    if ekeys != gkeys {
        let missing: Vec<String> = ekeys
            .iter()
            .filter(|k| !gkeys.contains(k))
            .take(2)
            .map(|k| show_labels(k))
            .collect();
        let extra: Vec<String> = gkeys
            .iter()
            .filter(|k| !ekeys.contains(k))
            .take(2)
            .map(|k| show_labels(k))
            .collect();
        return Some(format!(
            "series: expected {} got {}; missing {missing:?}; extra {extra:?}",
            e.len(),
            g.len()
        ));
    }
    for ((l, ep), (_, gp)) in e.iter().zip(g) {
        for i in 0..ep.len().max(gp.len()) {
            match (ep.get(i), gp.get(i)) {
                (Some(a), Some(b)) if a.0 == b.0 && close(a.1, b.1) => {}
                (a, b) => {
                    return Some(format!(
                        "{}: point {i} of {}/{}: expected {a:?}, got {b:?}",
                        show_labels(l),
                        ep.len(),
                        gp.len()
                    ));
                }
            }
        }
    }
    None
}

struct Case {
    id: usize,
    query: String,
    should_fail: bool,
}

fn cases() -> Vec<Case> {
    let path = shared().join("conformance/compliance/expanded-queries.jsonl");
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| {
        panic!(
            "missing {} ({e}); set GNOMON_SHARED to the shared/ folder",
            path.display()
        )
    });
    text.lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| {
            let v: Value = serde_json::from_str(l).expect("jsonl line");
            Case {
                id: v["id"].as_u64().unwrap() as usize,
                query: v["query"].as_str().unwrap().to_owned(),
                should_fail: v["should_fail"].as_bool().unwrap_or(false),
            }
        })
        .collect()
}

/// `id → reason` from compliance_skip.tsv (`#` comments, tab-separated).
fn skip_list() -> HashMap<usize, String> {
    let text = include_str!("compliance_skip.tsv");
    text.lines()
        .filter(|l| !l.trim().is_empty() && !l.starts_with('#'))
        .map(|l| {
            let (id, reason) = l.split_once('\t').expect("id<TAB>reason");
            (id.trim().parse().expect("numeric id"), reason.to_owned())
        })
        .collect()
}

/// Reads every raw sample back from Prometheus and imports it into gnomon as JSON lines;
/// returns the number of series.
fn copy_samples(prom: &Prometheus, srv: &Server) -> usize {
    let at = (demo_data::BASE_MS + demo_data::SCRAPES * demo_data::STEP_MS) / 1000 + 60;
    let path = format!(
        "/api/v1/query?query={}&time={at}",
        enc("{__name__=~\"demo_.+\"}[3h]")
    );
    let resp = request(&prom.addr, "GET", &path, &[], b"").expect("read back");
    let body = resp.json();
    let result = body["data"]["result"].as_array().expect("matrix");
    let mut lines = String::new();
    for s in result {
        let (mut ts, mut vs) = (Vec::new(), Vec::new());
        for p in s["values"].as_array().unwrap() {
            ts.push(ms(&p[0]));
            vs.push(float(&p[1]));
        }
        let line = serde_json::json!({"metric": s["metric"], "values": vs, "timestamps": ts});
        lines.push_str(&line.to_string());
        lines.push('\n');
    }
    let r = srv.post("/api/v1/import", lines.as_bytes());
    assert_eq!(r.status, 204, "import: {}", r.text());
    result.len()
}

/// Runs every case in `mode` ("range" or "instant") on both servers, in parallel.
fn run_mode(mode: &str, cases: &[Case], prom: &str, gnomon: &str) -> Vec<(usize, String)> {
    run_counting(mode, cases, prom, gnomon).0
}

/// Like [`run_mode`], also counting the checks whose reference answer holds some point.
fn run_counting(
    mode: &str,
    cases: &[Case],
    prom: &str,
    gnomon: &str,
) -> (Vec<(usize, String)>, usize) {
    let next = AtomicUsize::new(0);
    let with_data = AtomicUsize::new(0);
    let failures = Mutex::new(Vec::new());
    std::thread::scope(|s| {
        for _ in 0..WORKERS {
            s.spawn(|| {
                loop {
                    let i = next.fetch_add(1, Ordering::Relaxed);
                    let Some(c) = cases.get(i) else { break };
                    let q = enc(&c.query);
                    let paths: Vec<String> = if mode == "range" {
                        vec![format!(
                            "/api/v1/query_range?query={q}&start={START_S}&end={END_S}&step={STEP_S}"
                        )]
                    } else if mode == "range-offgrid" {
                        let (start, end) = (START_S + 3, END_S + 3);
                        vec![format!(
                            "/api/v1/query_range?query={q}&start={start}&end={end}&step=7"
                        )]
                    } else {
                        INSTANT_TIMES
                            .iter()
                            .map(|t| format!("/api/v1/query?query={q}&time={t}"))
                            .collect()
                    };
                    for path in paths {
                        let e = outcome(prom, &path);
                        if let Outcome::Data(_, series) = &e
                            && series.iter().any(|s| !s.1.is_empty())
                        {
                            with_data.fetch_add(1, Ordering::Relaxed);
                        }
                        let g = outcome(gnomon, &path);
                        if let Some(d) = diff(&e, &g, c.should_fail) {
                            failures.lock().unwrap().push((c.id, d));
                            break;
                        }
                    }
                }
            });
        }
    });
    let mut f = failures.into_inner().unwrap();
    f.sort_by_key(|x| x.0);
    (f, with_data.into_inner())
}

#[test]
fn promql_compliance_against_prometheus() {
    let began = Instant::now();
    let cases = cases();
    assert_eq!(cases.len(), 539, "expanded-queries.jsonl changed");
    let skips = skip_list();
    let dir = tempdir();
    let data = demo_data::generate(0x5EED_0004);
    let prom = start_prometheus(dir.path(), &demo_data::openmetrics(&data));
    let srv = Server::start(&data_dir(&dir), &["-retentionPeriod=100y"]);
    let n = copy_samples(&prom, &srv);
    assert_eq!(n, data.len(), "Prometheus holds every generated series");
    // The same raw samples on both sides before any query is compared.
    let raw = format!(
        "/api/v1/query?query={}&time={}",
        enc("{__name__=~\"demo_.+\"}[3h]"),
        (demo_data::BASE_MS + demo_data::SCRAPES * demo_data::STEP_MS) / 1000 + 60
    );
    let (pe, ge) = (outcome(&prom.addr, &raw), outcome(&srv.addr, &raw));
    assert!(
        diff(&pe, &ge, false).is_none(),
        "raw samples differ: {:?}",
        diff(&pe, &ge, false)
    );

    let by_id: HashMap<usize, &Case> = cases.iter().map(|c| (c.id, c)).collect();
    let mut report = String::new();
    let mut over_budget = Vec::new();
    for mode in ["range", "instant", "range-offgrid"] {
        let (failures, with_data) = run_counting(mode, &cases, &prom.addr, &srv.addr);
        let unexpected: Vec<&(usize, String)> = failures
            .iter()
            .filter(|(id, _)| !skips.contains_key(id))
            .collect();
        let _ = writeln!(
            report,
            "{mode}: {} passed, {} failed ({} on the skip list, {} unexpected)",
            cases.len() - failures.len(),
            failures.len(),
            failures.len() - unexpected.len(),
            unexpected.len()
        );
        let _ = writeln!(
            report,
            "  {with_data} checks had reference data (the others are empty results or errors)"
        );
        // Most queries select demo data: an empty store would pass trivially.
        assert!(
            with_data > 450,
            "only {with_data} {mode} checks returned data"
        );
        for (id, d) in &failures {
            let tag = skips
                .get(id)
                .map(|r| format!(" [skip: {r}]"))
                .unwrap_or_default();
            let _ = writeln!(report, "  #{id} {}{tag}\n      {d}", by_id[id].query);
        }
        if unexpected.len() * 100 > cases.len() {
            over_budget.push(format!("{mode}: {} unexpected failures", unexpected.len()));
        }
    }
    let probes: Vec<Case> = PROBES
        .iter()
        .enumerate()
        .map(|(i, q)| Case {
            id: 10_000 + i,
            query: (*q).to_owned(),
            should_fail: false,
        })
        .collect();
    for mode in ["range", "instant"] {
        for (id, d) in run_mode(mode, &probes, &prom.addr, &srv.addr) {
            let q = &probes[id - 10_000].query;
            over_budget.push(format!("probe {q} ({mode}) differs: {d}"));
        }
    }
    let _ = writeln!(report, "took {:.1?}", began.elapsed());
    eprintln!("{report}");
    let out = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("compliance-report.txt");
    let _ = std::fs::write(&out, &report);
    assert!(
        over_budget.is_empty(),
        "more than 1 % of the queries differ beyond the skip list: {over_budget:?}\n{report}"
    );
}
