//! `gnomon -promscrape.config`: a real node_exporter through relabeling, staleness,
//! reload and malformed payloads, checked through the HTTP API.

mod common;

use std::path::Path;
use std::process::Command;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use common::{Server, data_dir, enc, free_port, start_node_exporter, tempdir};

/// Polls `cond` every 50 ms until it holds; panics with `what` and the server log after
/// `limit`.
fn wait_until(srv: &Server, what: &str, limit: Duration, mut cond: impl FnMut() -> bool) {
    let deadline = Instant::now() + limit;
    while Instant::now() < deadline {
        if cond() {
            return;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    panic!(
        "timed out waiting for {what}; server log:\n{}",
        srv.log_text()
    );
}

/// `/api/v1/query` result vector for `q`.
fn query(srv: &Server, q: &str) -> Vec<serde_json::Value> {
    let r = srv.get(&format!("/api/v1/query?query={}", enc(q)));
    assert_eq!(r.status, 200, "{}", r.text());
    r.json()["data"]["result"]
        .as_array()
        .cloned()
        .unwrap_or_default()
}

/// The single value of an instant query, if any.
fn value(srv: &Server, q: &str) -> Option<f64> {
    let res = query(srv, q);
    let v = res.first()?["value"][1].as_str()?.to_owned();
    v.parse().ok()
}

#[test]
fn scrapes_a_real_node_exporter_through_relabeling() {
    let port = free_port();
    let _ne = start_node_exporter(port);
    let dir = tempdir();
    // The `ip` rule of shared/conformance/configs/scrape-static-relabel.yml.
    // `shared/` beside the repository, or $GNOMON_SHARED.
    let shared = std::env::var("GNOMON_SHARED")
        .unwrap_or_else(|_| concat!(env!("CARGO_MANIFEST_DIR"), "/../../shared").into());
    let corpus = Path::new(&shared).join("conformance/configs/scrape-static-relabel.yml");
    let text = std::fs::read_to_string(&corpus).unwrap_or_else(|e| {
        panic!(
            "{}: {e} (set GNOMON_SHARED to the shared corpus)",
            corpus.display()
        )
    });
    assert!(text.contains("regex: \"(.*):(.*)\"") && text.contains("target_label: 'ip'"));
    let cfg = format!(
        r#"
global:
  scrape_interval: 1s
  scrape_timeout: 1s
scrape_configs:
- job_name: "nodes"
  static_configs:
  - targets: ['127.0.0.1:{port}']
  relabel_configs:
  - source_labels: [__address__]
    regex: "(.*):(.*)"
    replacement: "${{1}}"
    target_label: 'ip'
    action: replace
  metric_relabel_configs:
  - source_labels: [__name__]
    regex: 'go_gc_.*'
    action: drop
  - source_labels: [__name__]
    regex: 'node_load1'
    target_label: __name__
    replacement: gnomon_load1
"#
    );
    let path = dir.path().join("scrape.yml");
    std::fs::write(&path, cfg).unwrap();
    let srv = Server::start(
        &data_dir(&dir),
        &[&format!("-promscrape.config={}", path.display())],
    );
    wait_until(&srv, "up == 1", Duration::from_secs(30), || {
        value(&srv, "up{job=\"nodes\"}") == Some(1.0)
    });
    let instance = format!("127.0.0.1:{port}");
    let r = srv.get(&format!(
        "/api/v1/series?match[]={}",
        enc("{job=\"nodes\",__name__=~\"gnomon_load1|node_memory_MemTotal_bytes\"}")
    ));
    let series = r.json()["data"].as_array().cloned().unwrap();
    assert_eq!(series.len(), 2, "{series:?}");
    for s in &series {
        assert_eq!(s["ip"], "127.0.0.1", "{s}");
        assert_eq!(s["job"], "nodes");
        assert_eq!(s["instance"], instance.as_str());
    }
    assert!(value(&srv, "gnomon_load1").is_some());
    assert!(query(&srv, "node_load1").is_empty(), "renamed away");
    assert!(
        query(&srv, "{__name__=~\"go_gc_.*\"}").is_empty(),
        "dropped"
    );
    assert!(
        !query(&srv, "go_goroutines").is_empty(),
        "other go_ metrics kept"
    );
    assert!(value(&srv, "scrape_samples_scraped{job=\"nodes\"}").is_some_and(|v| v > 50.0));
    assert!(
        value(&srv, "scrape_samples_post_metric_relabeling{job=\"nodes\"}")
            < value(&srv, "scrape_samples_scraped{job=\"nodes\"}")
    );
    let t = srv.get("/api/v1/targets").json();
    let a = &t["data"]["activeTargets"][0];
    assert_eq!(a["health"], "up", "{a}");
    assert_eq!(a["labels"]["ip"], "127.0.0.1");
    assert_eq!(a["scrapeUrl"], format!("http://{instance}/metrics"));
    let page = srv.get("/targets").text();
    assert!(
        page.starts_with("job=nodes (1/1 up)\n\tstate=up, endpoint="),
        "{page}"
    );
}

/// A test target: `/metrics` serves the current payload with the current status and
/// counts requests per path.
struct Target {
    addr: String,
    body: Arc<Mutex<(u16, String)>>,
    hits: Arc<AtomicU64>,
    _rt: tokio::runtime::Runtime,
}

impl Target {
    fn start(body: &str) -> Target {
        use axum::http::StatusCode;
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .enable_all()
            .build()
            .unwrap();
        let state = Arc::new(Mutex::new((200u16, body.to_owned())));
        let hits = Arc::new(AtomicU64::new(0));
        let (s2, h2) = (state.clone(), hits.clone());
        let app = axum::Router::new().route(
            "/metrics",
            axum::routing::get(move || {
                let (s, h) = (s2.clone(), h2.clone());
                async move {
                    h.fetch_add(1, Ordering::SeqCst);
                    let (code, body) = s.lock().unwrap().clone();
                    (StatusCode::from_u16(code).unwrap(), body)
                }
            }),
        );
        let listener = rt
            .block_on(tokio::net::TcpListener::bind("127.0.0.1:0"))
            .unwrap();
        let addr = listener.local_addr().unwrap().to_string();
        rt.spawn(async move { axum::serve(listener, app).await });
        Target {
            addr,
            body: state,
            hits,
            _rt: rt,
        }
    }

    fn set(&self, code: u16, body: &str) {
        *self.body.lock().unwrap() = (code, body.to_owned());
    }

    fn hits(&self) -> u64 {
        self.hits.load(Ordering::SeqCst)
    }
}

/// A config with one job per `(job, address)` at `interval`.
fn config(interval: &str, jobs: &[(&str, &str)]) -> String {
    let mut s = format!(
        "global:\n  scrape_interval: {interval}\n  scrape_timeout: {interval}\nscrape_configs:\n"
    );
    for (job, addr) in jobs {
        s.push_str(&format!(
            "- job_name: {job}\n  static_configs:\n  - targets: ['{addr}']\n"
        ));
    }
    s
}

fn reload(srv: &Server) -> common::Response {
    srv.post("/-/reload", b"")
}

#[test]
fn staleness_reload_and_failures() {
    let a = Target::start("a_metric 1\nb_metric 2\n");
    let b = Target::start("other_metric 3\n");
    let dir = tempdir();
    let path = dir.path().join("scrape.yml");
    std::fs::write(&path, config("300ms", &[("ja", &a.addr), ("jb", &b.addr)])).unwrap();
    let srv = Server::start(
        &data_dir(&dir),
        &[&format!("-promscrape.config={}", path.display())],
    );
    let limit = Duration::from_secs(20);
    wait_until(&srv, "both up", limit, || {
        value(&srv, "sum(up)") == Some(2.0)
    });
    assert_eq!(value(&srv, "b_metric"), Some(2.0));

    // A series that disappears from the payload is stale: instant queries lose it.
    a.set(200, "a_metric 1\n");
    wait_until(&srv, "b_metric stale", limit, || {
        query(&srv, "b_metric").is_empty()
    });
    assert_eq!(value(&srv, "a_metric"), Some(1.0));

    // Reload with jb unchanged and ja unchanged: scrapes keep their pace.
    let (ha, hb) = (a.hits(), b.hits());
    let t0 = Instant::now();
    for _ in 0..3 {
        let r = reload(&srv);
        assert!(
            r.status == 200 || r.status == 204,
            "{} {}",
            r.status,
            r.text()
        );
    }
    std::thread::sleep(Duration::from_millis(1500));
    let secs = t0.elapsed().as_secs_f64();
    for (name, n) in [("a", a.hits() - ha), ("b", b.hits() - hb)] {
        let expected = secs / 0.3;
        assert!(
            (n as f64) >= expected - 2.0 && (n as f64) <= expected + 2.0,
            "target {name}: {n} scrapes in {secs:.2}s across reloads (want ~{expected:.1})"
        );
    }

    // A broken config: 400 with the reason; the old config keeps scraping.
    std::fs::write(&path, "scrape_configs:\n- job_name: x\n  bogus_field: 1\n").unwrap();
    let r = reload(&srv);
    assert_eq!(r.status, 400, "{}", r.text());
    assert!(r.text().contains("bogus_field"), "{}", r.text());
    let h = a.hits();
    wait_until(&srv, "old config still scraping", limit, || {
        a.hits() > h + 1
    });

    // Target jb removed by reload: all its series go stale.
    std::fs::write(&path, config("300ms", &[("ja", &a.addr)])).unwrap();
    assert_eq!(reload(&srv).status, 204);
    wait_until(&srv, "jb series stale", limit, || {
        query(&srv, "other_metric").is_empty() && query(&srv, "up{job=\"jb\"}").is_empty()
    });
    let t = srv.get("/api/v1/targets").json();
    assert_eq!(t["data"]["activeTargets"].as_array().unwrap().len(), 1);

    // A failing target: up 0, its series stale.
    a.set(503, "no");
    wait_until(&srv, "up 0", limit, || {
        value(&srv, "up{job=\"ja\"}") == Some(0.0)
    });
    assert!(query(&srv, "a_metric").is_empty());
    let t = srv.get("/api/v1/targets").json();
    assert_eq!(
        t["data"]["activeTargets"][0]["lastError"],
        "server returned HTTP status 503 Service Unavailable"
    );
    assert!(srv.get("/targets").text().starts_with("job=ja (0/1 up)\n"));
}

#[test]
fn malformed_payload_is_a_failed_scrape() {
    let a = Target::start("good 1\nbad{x=\"1\" 2\n");
    let dir = tempdir();
    let path = dir.path().join("scrape.yml");
    std::fs::write(&path, config("300ms", &[("m", &a.addr)])).unwrap();
    let srv = Server::start(
        &data_dir(&dir),
        &[&format!("-promscrape.config={}", path.display())],
    );
    let limit = Duration::from_secs(20);
    wait_until(&srv, "up 0", limit, || {
        value(&srv, "up{job=\"m\"}") == Some(0.0)
    });
    let t = srv.get("/api/v1/targets?state=active").json();
    let err = t["data"]["activeTargets"][0]["lastError"]
        .as_str()
        .unwrap()
        .to_owned();
    assert!(err.starts_with("line 2, column "), "{err}");
    assert!(
        query(&srv, "good").is_empty(),
        "nothing stored from a bad scrape"
    );
    assert_eq!(value(&srv, "scrape_samples_scraped{job=\"m\"}"), Some(1.0));

    // Fixed: up again and the samples arrive.
    a.set(200, "good 1\n");
    wait_until(&srv, "up 1", limit, || {
        value(&srv, "up{job=\"m\"}") == Some(1.0)
    });
    assert_eq!(value(&srv, "good"), Some(1.0));
}

#[test]
fn a_broken_initial_config_stops_the_server() {
    let dir = tempdir();
    let path = dir.path().join("scrape.yml");
    std::fs::write(&path, "scrape_configs:\n- job_name: x\n  nope: 1\n").unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_gnomon"))
        .arg(format!("-storageDataPath={}", data_dir(&dir).display()))
        .arg("-httpListenAddr=127.0.0.1:0")
        .arg(format!("-promscrape.config={}", path.display()))
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("nope"), "{err}");
}
