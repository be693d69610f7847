//! Differential test against the real VictoriaMetrics (Debian package
//! `victoria-metrics`, /usr/bin/victoria-metrics).
//!
//! Starts VictoriaMetrics on 127.0.0.1 in a temp dir, imports a seeded dataset (counters
//! with a reset, gauges, discrete states, histogram buckets; irregular timestamps) via
//! `/api/v1/import`, loads the same samples into a [`MemStore`], and runs every query of
//! `metricsql_queries.txt` as instant queries and as two range queries on both. Results are
//! compared by labels, timestamps and values (1e-9 relative). Failures listed in
//! `metricsql_skip.tsv` (with the reason they intentionally differ) are expected; the
//! test fails on any other failure.

use std::collections::BTreeMap;
use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use gnomon_promql::engine::{Engine, EngineOptions, Value, memstore::MemStore};
use gnomon_tsdb_core::model::{Labels, Sample};

const VM_BIN: &str = "/usr/bin/victoria-metrics";
/// 2025-01-01T00:00:00Z: an hour boundary, so range queries are step-aligned.
const BASE: i64 = 1_735_689_600_000;
/// Two hours of data.
const SPAN: i64 = 2 * 3600 * 1000;
/// Instant query times: aligned and unaligned, early and late in the data.
const INSTANT_AT: [i64; 3] = [
    BASE + 30 * 60_000,
    BASE + 61 * 60_000 + 7_000,
    BASE + 115 * 60_000,
];
/// The range queries: 20m..100m every minute, and 40m..50m every 10s (a step shorter
/// than the scrape interval, where VM widens implicit windows).
const RANGES: [(i64, i64, i64); 2] = [
    (BASE + 20 * 60_000, BASE + 100 * 60_000, 60_000),
    (BASE + 40 * 60_000, BASE + 50 * 60_000, 10_000),
];
/// The step sent with instant queries (VM's default; gnomon uses the same for implicit
/// windows of instant queries).
const INSTANT_STEP_S: i64 = 300;

/// A running VictoriaMetrics, killed on drop.
struct Vm {
    child: Child,
    addr: String,
    _dir: tempfile::TempDir,
}

impl Drop for Vm {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn free_port() -> u16 {
    let l = TcpListener::bind("127.0.0.1:0").expect("bind port 0");
    l.local_addr().expect("local addr").port()
}

fn start_vm() -> Vm {
    assert!(
        Path::new(VM_BIN).exists(),
        "{VM_BIN} is missing: install the Debian package `victoria-metrics`"
    );
    let dir = tempfile::tempdir().expect("temp dir");
    let addr = format!("127.0.0.1:{}", free_port());
    let child = Command::new(VM_BIN)
        .arg(format!("-storageDataPath={}", dir.path().display()))
        .arg(format!("-httpListenAddr={addr}"))
        .arg("-retentionPeriod=100y")
        .arg("-search.disableCache")
        .arg("-search.latencyOffset=0")
        .arg("-loggerLevel=ERROR")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("start victoria-metrics");
    let vm = Vm {
        child,
        addr,
        _dir: dir,
    };
    wait_for(|| http(&vm.addr, "GET", "/health", b"").is_some_and(|(c, _)| c == 200));
    vm
}

fn wait_for(mut ok: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(30);
    while !ok() {
        assert!(
            Instant::now() < deadline,
            "timed out waiting for VictoriaMetrics"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// A minimal HTTP/1.0 exchange (no chunked encoding): status and body.
fn http(addr: &str, method: &str, path: &str, body: &[u8]) -> Option<(u16, String)> {
    let mut s = TcpStream::connect(addr).ok()?;
    s.set_read_timeout(Some(Duration::from_secs(30))).ok()?;
    let head = format!(
        "{method} {path} HTTP/1.0\r\nHost: {addr}\r\nContent-Length: {}\r\n\r\n",
        body.len()
    );
    s.write_all(head.as_bytes()).ok()?;
    s.write_all(body).ok()?;
    let mut buf = Vec::new();
    s.read_to_end(&mut buf).ok()?;
    let text = String::from_utf8_lossy(&buf).into_owned();
    let (h, b) = text.split_once("\r\n\r\n")?;
    let code = h.split_whitespace().nth(1)?.parse().ok()?;
    Some((code, b.to_string()))
}

fn urlencode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// SplitMix64, so the dataset is the same on every run.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

type Dataset = Vec<(Labels, Vec<Sample>)>;

/// Irregular timestamps: 15s apart with up to ±3s jitter.
fn timestamps(rng: &mut Rng) -> Vec<i64> {
    let mut out = Vec::new();
    let mut t = BASE;
    while t <= BASE + SPAN {
        out.push(t + rng.below(6001) as i64 - 3000);
        t += 15_000;
    }
    out
}

/// Values with at most three decimals, so VictoriaMetrics stores them exactly.
fn round3(v: f64) -> f64 {
    (v * 1000.0).round() / 1000.0
}

fn dataset() -> Dataset {
    let mut rng = Rng(42);
    let mut out: Dataset = Vec::new();
    for (inst, reset) in [("a", false), ("b", true), ("c", false)] {
        let l = Labels::from_pairs(&[
            ("__name__", "http_requests_total"),
            ("job", "api"),
            ("instance", inst),
        ]);
        let mut v = rng.below(1000) as f64;
        let ts = timestamps(&mut rng);
        let n = ts.len();
        let s = ts
            .into_iter()
            .enumerate()
            .map(|(i, t)| {
                v += rng.below(50) as f64 / 4.0;
                if reset && i == n / 2 {
                    v = 3.0;
                }
                Sample::new(t, v)
            })
            .collect();
        out.push((l, s));
    }
    for room in ["x", "y", "z"] {
        let l = Labels::from_pairs(&[("__name__", "temperature"), ("room", room)]);
        let mut v = 20.0 + rng.below(10) as f64;
        let s = timestamps(&mut rng)
            .into_iter()
            .map(|t| {
                v = round3(v + (rng.below(2001) as f64 - 1000.0) / 1000.0);
                Sample::new(t, v)
            })
            .collect();
        out.push((l, s));
    }
    for svc in ["db", "web"] {
        let l = Labels::from_pairs(&[("__name__", "state"), ("svc", svc)]);
        let s = timestamps(&mut rng)
            .into_iter()
            .map(|t| Sample::new(t, rng.below(3) as f64))
            .collect();
        out.push((l, s));
    }
    for host in ["h1", "h2"] {
        let total = 16_000.0;
        let lt = Labels::from_pairs(&[("__name__", "mem_total"), ("host", host)]);
        let lf = Labels::from_pairs(&[("__name__", "mem_free"), ("host", host)]);
        let ts = timestamps(&mut rng);
        out.push((lt, ts.iter().map(|&t| Sample::new(t, total)).collect()));
        let s = ts
            .iter()
            .map(|&t| Sample::new(t, rng.below(16_000) as f64))
            .collect();
        out.push((lf, s));
    }
    // A classic histogram: cumulative counters per bucket.
    let les = ["0.1", "0.5", "1", "+Inf"];
    let ts = timestamps(&mut rng);
    let mut counts = [0.0f64; 4];
    let mut series: Vec<Vec<Sample>> = vec![Vec::new(); 4];
    for &t in &ts {
        let mut add = 0.0;
        for (k, c) in counts.iter_mut().enumerate() {
            add += rng.below(5) as f64;
            *c += add;
            series[k].push(Sample::new(t, *c));
        }
    }
    for (le, s) in les.iter().zip(series) {
        let l = Labels::from_pairs(&[("__name__", "latency_bucket"), ("job", "api"), ("le", le)]);
        out.push((l, s));
    }
    // Counters that start 40m in (a big and a small first value), for windows without
    // a previous sample.
    for (name, start) in [("late_big", 5000.0), ("late_small", 3.0)] {
        let l = Labels::from_pairs(&[("__name__", name)]);
        let mut v = start;
        let s = timestamps(&mut rng)
            .into_iter()
            .filter(|&t| t >= BASE + 40 * 60_000)
            .map(|t| {
                let x = Sample::new(t, v);
                v += 1.0 + rng.below(10) as f64;
                x
            })
            .collect();
        out.push((l, s));
    }
    // A series that stops half way, for gap handling (its own name: bare selectors
    // differ after its end, Prometheus looking back 5m and VM one step).
    let l = Labels::from_pairs(&[("__name__", "sparse"), ("room", "attic")]);
    let s = timestamps(&mut rng)
        .into_iter()
        .take(200)
        .map(|t| Sample::new(t, 10.0 + rng.below(100) as f64 / 10.0))
        .collect();
    out.push((l, s));
    out
}

fn import(vm: &Vm, data: &Dataset) {
    let mut body = String::new();
    for (labels, samples) in data {
        let metric: serde_json::Map<String, serde_json::Value> = labels
            .iter()
            .map(|l| (l.name.clone(), serde_json::Value::String(l.value.clone())))
            .collect();
        let line = serde_json::json!({
            "metric": metric,
            "values": samples.iter().map(|s| s.v).collect::<Vec<_>>(),
            "timestamps": samples.iter().map(|s| s.t).collect::<Vec<_>>(),
        });
        body.push_str(&line.to_string());
        body.push('\n');
    }
    let (code, text) = http(&vm.addr, "POST", "/api/v1/import", body.as_bytes()).expect("import");
    assert!(code / 100 == 2, "import failed: {code} {text}");
    let _ = http(&vm.addr, "GET", "/internal/force_flush", b"");
    let total: usize = data.iter().map(|(_, s)| s.len()).sum();
    let q = format!(
        "/api/v1/query?query={}&time={}",
        urlencode("sum(count_over_time({__name__!=\"\"}[3h]))"),
        (BASE + SPAN + 60_000) / 1000
    );
    wait_for(|| {
        let Some((200, b)) = http(&vm.addr, "GET", &q, b"") else {
            return false;
        };
        b.contains(&format!("\"{total}\""))
    });
}

/// A result as labels → points.
type Points = BTreeMap<Vec<(String, String)>, Vec<(i64, f64)>>;

/// One comparison: mode (instant or range), gnomon's result, VictoriaMetrics' result.
type Case = (String, Result<Points, String>, Result<Points, String>);

fn label_key(l: &Labels) -> Vec<(String, String)> {
    l.iter()
        .map(|x| (x.name.clone(), x.value.clone()))
        .collect()
}

fn parse_vm(body: &str) -> Result<Points, String> {
    let v: serde_json::Value = serde_json::from_str(body).map_err(|e| e.to_string())?;
    if v["status"] != "success" {
        return Err(format!("VM error: {}", v["error"]));
    }
    let mut out = Points::new();
    let point = |p: &serde_json::Value| -> (i64, f64) {
        let t = (p[0].as_f64().unwrap_or(0.0) * 1000.0).round() as i64;
        let s = p[1].as_str().unwrap_or("NaN");
        let v = match s {
            "+Inf" => f64::INFINITY,
            "-Inf" => f64::NEG_INFINITY,
            _ => s.parse().unwrap_or(f64::NAN),
        };
        (t, v)
    };
    let data = &v["data"];
    if data["resultType"] == "scalar" {
        out.insert(Vec::new(), vec![point(&data["result"])]);
        return Ok(out);
    }
    for r in data["result"].as_array().into_iter().flatten() {
        let mut key: Vec<(String, String)> = r["metric"]
            .as_object()
            .into_iter()
            .flatten()
            .map(|(k, v)| (k.clone(), v.as_str().unwrap_or("").to_string()))
            .collect();
        key.sort();
        let pts: Vec<(i64, f64)> = match r.get("values") {
            Some(vals) => vals.as_array().into_iter().flatten().map(point).collect(),
            None => vec![point(&r["value"])],
        };
        let pts = pts
            .into_iter()
            .filter(|p| !p.1.is_nan())
            .collect::<Vec<_>>();
        if !pts.is_empty() {
            out.insert(key, pts);
        }
    }
    Ok(out)
}

fn to_points(v: Value) -> Points {
    let mut out = Points::new();
    match v {
        Value::Scalar { t, v } => {
            out.insert(Vec::new(), vec![(t, v)]);
        }
        Value::Vector(vs) => {
            for s in vs {
                if !s.v.is_nan() {
                    out.insert(label_key(&s.labels), vec![(s.t, s.v)]);
                }
            }
        }
        Value::Matrix(ms) => {
            for s in ms {
                let pts: Vec<(i64, f64)> = s
                    .samples
                    .iter()
                    .filter(|x| !x.v.is_nan())
                    .map(|x| (x.t, x.v))
                    .collect();
                if !pts.is_empty() {
                    out.insert(label_key(&s.labels), pts);
                }
            }
        }
        Value::String { .. } => {}
    }
    out
}

fn close(a: f64, b: f64) -> bool {
    if a == b || (a.is_nan() && b.is_nan()) {
        return true;
    }
    let d = (a - b).abs();
    d <= 1e-9 * a.abs().max(b.abs()) || d < 1e-12
}

/// The first difference between two results, if any.
fn diff(ours: &Points, vm: &Points) -> Option<String> {
    for (k, vp) in vm {
        let Some(op) = ours.get(k) else {
            return Some(format!("missing series {k:?} (VM: {vp:?})"));
        };
        if op.len() != vp.len() {
            return Some(format!(
                "series {k:?}: {} points vs VM {}: {op:?} vs {vp:?}",
                op.len(),
                vp.len()
            ));
        }
        for (a, b) in op.iter().zip(vp) {
            if a.0 != b.0 || !close(a.1, b.1) {
                return Some(format!("series {k:?}: point {a:?} vs VM {b:?}"));
            }
        }
    }
    ours.keys()
        .find(|k| !vm.contains_key(*k))
        .map(|k| format!("extra series {k:?}: {:?}", ours[k]))
}

fn clip(s: &str) -> String {
    match s.char_indices().nth(400) {
        Some((i, _)) => format!("{}…", &s[..i]),
        None => s.to_string(),
    }
}

struct Skip {
    query: String,
    mode: String,
}

fn skips() -> Vec<Skip> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/metricsql_skip.tsv");
    let text = std::fs::read_to_string(path).expect("read metricsql_skip.tsv");
    text.lines()
        .filter(|l| !l.trim().is_empty() && !l.starts_with('#'))
        .map(|l| {
            let f: Vec<&str> = l.split('\t').collect();
            assert!(
                f.len() >= 3 && !f[2].trim().is_empty(),
                "skip line needs a reason: {l}"
            );
            Skip {
                query: f[0].to_string(),
                mode: f[1].to_string(),
            }
        })
        .collect()
}

fn queries() -> Vec<String> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/metricsql_queries.txt");
    std::fs::read_to_string(path)
        .expect("read metricsql_queries.txt")
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .map(str::to_string)
        .collect()
}

#[test]
fn metricsql_matches_victoriametrics() {
    let vm = start_vm();
    let data = dataset();
    import(&vm, &data);
    let mut store = MemStore::new();
    for (l, s) in &data {
        for x in s {
            store.add(l, *x);
        }
    }
    let engine = Engine::new(EngineOptions::default());
    let skips = skips();
    let (mut passed, mut expected, mut unexpected) = (0, 0, Vec::new());
    let mut skip_used = vec![false; skips.len()];
    for q in queries() {
        let expr = gnomon_promql::parse(&q).unwrap_or_else(|e| panic!("parse {q}: {e}"));
        let mut cases: Vec<Case> = Vec::new();
        // The last instant query sends no step: VM's default must be the 5m gnomon uses.
        for (k, t) in INSTANT_AT.into_iter().enumerate() {
            let step = if k + 1 < INSTANT_AT.len() {
                format!("&step={INSTANT_STEP_S}s")
            } else {
                String::new()
            };
            let path = format!(
                "/api/v1/query?query={}&time={}{step}&nocache=1",
                urlencode(&q),
                t as f64 / 1000.0
            );
            let theirs = http(&vm.addr, "GET", &path, b"")
                .ok_or_else(|| "no response".to_string())
                .and_then(|(_, b)| parse_vm(&b));
            let ours = engine
                .instant(&store, &expr, t)
                .map(to_points)
                .map_err(|e| e.to_string());
            cases.push(("instant".into(), ours, theirs));
        }
        for (k, (start, end, step)) in RANGES.into_iter().enumerate() {
            let path = format!(
                "/api/v1/query_range?query={}&start={}&end={}&step={}s&nocache=1",
                urlencode(&q),
                start / 1000,
                end / 1000,
                step / 1000
            );
            let theirs = http(&vm.addr, "GET", &path, b"")
                .ok_or_else(|| "no response".to_string())
                .and_then(|(_, b)| parse_vm(&b));
            let ours = engine
                .range(&store, &expr, start, end, step)
                .map(to_points)
                .map_err(|e| e.to_string());
            let mode = if k == 0 { "range" } else { "range10s" };
            cases.push((mode.into(), ours, theirs));
        }
        if std::env::var("METRICSQL_DEBUG").is_ok_and(|d| d == q) {
            for (mode, ours, theirs) in &cases {
                println!("{mode}\n  gnomon: {ours:?}\n  vm:     {theirs:?}");
            }
        }
        for (mode, ours, theirs) in cases {
            let problem = match (&ours, &theirs) {
                (Ok(o), Ok(t)) => diff(o, t),
                (Err(e), Ok(_)) => Some(format!("gnomon error: {e}")),
                (Ok(_), Err(e)) => Some(format!("VM error: {e}")),
                (Err(_), Err(_)) => None,
            };
            let Some(problem) = problem else {
                passed += 1;
                continue;
            };
            let skip = skips
                .iter()
                .position(|s| s.query == q && (s.mode == "*" || s.mode == mode));
            match skip {
                Some(i) => {
                    skip_used[i] = true;
                    expected += 1;
                }
                None => unexpected.push(format!("{mode} {q}: {}", clip(&problem))),
            }
        }
    }
    for (s, used) in skips.iter().zip(&skip_used) {
        if !used {
            println!("skip entry no longer needed: {}\t{}", s.query, s.mode);
        }
    }
    for u in &unexpected {
        println!("FAIL {u}");
    }
    println!(
        "{passed} passed, {} failed ({expected} listed in metricsql_skip.tsv, {} not)",
        expected + unexpected.len(),
        unexpected.len()
    );
    assert!(
        unexpected.is_empty(),
        "{} unexpected differences",
        unexpected.len()
    );
}
