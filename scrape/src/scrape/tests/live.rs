//! Loops against a real HTTP target on 127.0.0.1.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::http::{HeaderMap, StatusCode, header};
use axum::routing::get;

use super::MemStore;
use crate::scrape::{Health, LoopOptions, ScrapeLoop};
use crate::target::{Target, TargetDefaults, populate};

/// A target whose payload and status tests change; counts scrapes and keeps the last
/// request's headers.
#[derive(Clone, Default)]
pub(crate) struct TestTarget {
    pub body: Arc<Mutex<(u16, String)>>,
    pub scrapes: Arc<AtomicU64>,
    pub headers: Arc<Mutex<HeaderMap>>,
}

impl TestTarget {
    pub(crate) async fn serve(body: &str) -> (TestTarget, String) {
        let t = TestTarget::default();
        t.set(200, body);
        let t2 = t.clone();
        let app = axum::Router::new().route(
            "/metrics",
            get(move |h: HeaderMap| {
                let t = t2.clone();
                async move {
                    t.scrapes.fetch_add(1, Ordering::SeqCst);
                    *t.headers.lock().unwrap() = h;
                    let (code, body) = t.body.lock().unwrap().clone();
                    (
                        StatusCode::from_u16(code).unwrap(),
                        [(header::CONTENT_TYPE, "text/plain; version=0.0.4")],
                        body,
                    )
                }
            }),
        );
        let l = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = l.local_addr().unwrap().to_string();
        tokio::spawn(async move { axum::serve(l, app).await });
        (t, addr)
    }

    pub(crate) fn set(&self, code: u16, body: &str) {
        *self.body.lock().unwrap() = (code, body.to_owned());
    }
}

fn target(addr: &str, interval_ms: u64) -> Arc<Target> {
    let d = TargetDefaults {
        job: "live".into(),
        scheme: "http".into(),
        metrics_path: "/metrics".into(),
        interval: Duration::from_millis(interval_ms),
        timeout: Duration::from_millis(interval_ms),
        params: BTreeMap::new(),
        relabel: None,
    };
    let t = BTreeMap::from([("__address__".to_owned(), addr.to_owned())]);
    Arc::new(populate(&BTreeMap::new(), &t, &d).unwrap())
}

/// Polls `cond` every 20 ms for up to 10 s.
async fn wait_for(what: &str, mut cond: impl FnMut() -> bool) {
    for _ in 0..500 {
        if cond() {
            return;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    panic!("timed out waiting for {what}");
}

fn values(store: &MemStore, name: &str) -> Vec<f64> {
    store
        .rows()
        .into_iter()
        .filter(|(l, _)| l.metric_name() == Some(name))
        .map(|(_, s)| s.v)
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_loop_scrapes_reports_and_marks_stale_on_stop() {
    let (tt, addr) = TestTarget::serve("a 1\nb 2\n").await;
    let store = MemStore::default();
    let l = ScrapeLoop::start(
        target(&addr, 100),
        Arc::new(LoopOptions::default()),
        reqwest::Client::new(),
        store.factory(),
        0,
    );
    wait_for("two scrapes", || l.status().get().scrapes >= 2).await;
    let st = l.status().get();
    assert_eq!(st.health, Health::Up, "{st:?}");
    assert_eq!(st.last_samples, 2);
    assert!(values(&store, "up").iter().all(|v| *v == 1.0));
    assert_eq!(values(&store, "scrape_samples_scraped")[0], 2.0);
    let h = tt.headers.lock().unwrap().clone();
    assert!(
        h["accept"]
            .to_str()
            .unwrap()
            .starts_with("application/openmetrics-text")
    );
    assert_eq!(h["x-prometheus-scrape-timeout-seconds"], "0.1");
    assert!(h["accept-encoding"].to_str().unwrap().contains("gzip"));

    // b goes away: stale at the next scrape.
    tt.set(200, "a 1\n");
    wait_for("b stale", || {
        values(&store, "b")
            .iter()
            .any(|v| gnomon_tsdb_core::model::is_stale_nan(*v))
    })
    .await;

    // The target fails: up 0 and a stale a.
    tt.set(500, "oops");
    wait_for("down", || l.status().get().health == Health::Down).await;
    assert_eq!(
        l.status().get().last_error,
        "server returned HTTP status 500 Internal Server Error"
    );
    assert_eq!(values(&store, "up").last(), Some(&0.0));
    assert!(
        values(&store, "a")
            .iter()
            .any(|v| gnomon_tsdb_core::model::is_stale_nan(*v))
    );

    // Back up, then stopped: every series and the report series stale.
    tt.set(200, "a 1\n");
    wait_for("up again", || l.status().get().health == Health::Up).await;
    l.stop().await;
    for name in ["a", "up", "scrape_duration_seconds", "scrape_series_added"] {
        let v = values(&store, name);
        assert!(
            gnomon_tsdb_core::model::is_stale_nan(*v.last().unwrap()),
            "{name}: {v:?}"
        );
    }
    let n = tt.scrapes.load(Ordering::SeqCst);
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(tt.scrapes.load(Ordering::SeqCst), n, "no scrape after stop");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn malformed_payload_and_oversized_body_fail_the_scrape() {
    let (tt, addr) = TestTarget::serve("a 1\nb{x=\"1\" 2\n").await;
    let store = MemStore::default();
    let l = ScrapeLoop::start(
        target(&addr, 100),
        Arc::new(LoopOptions {
            body_size_limit: 64,
            ..LoopOptions::default()
        }),
        reqwest::Client::new(),
        store.factory(),
        0,
    );
    wait_for("a scrape", || l.status().get().scrapes >= 1).await;
    let st = l.status().get();
    assert_eq!(st.health, Health::Down);
    assert!(
        st.last_error.starts_with("line 2, column "),
        "{}",
        st.last_error
    );
    assert!(
        values(&store, "a").is_empty(),
        "nothing stored from a bad body"
    );
    assert_eq!(values(&store, "up"), vec![0.0]);
    assert_eq!(values(&store, "scrape_samples_scraped"), vec![1.0]);

    tt.set(200, &"x 1\n".repeat(20));
    let before = l.status().get().scrapes;
    wait_for("next scrape", || l.status().get().scrapes > before).await;
    assert_eq!(
        l.status().get().last_error,
        "body size limit exceeded (64 bytes)"
    );
    l.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unreachable_target_is_down() {
    // Bind then drop: the port is (almost certainly) closed.
    let addr = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().to_string()
    };
    let store = MemStore::default();
    let l = ScrapeLoop::start(
        target(&addr, 100),
        Arc::new(LoopOptions::default()),
        reqwest::Client::new(),
        store.factory(),
        0,
    );
    wait_for("a scrape", || l.status().get().scrapes >= 1).await;
    let st = l.status().get();
    assert_eq!(st.health, Health::Down);
    assert!(!st.last_error.is_empty());
    assert_eq!(values(&store, "up"), vec![0.0]);
    l.stop().await;
}
