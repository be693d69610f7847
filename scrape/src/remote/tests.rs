//! The client against an in-process receiver that decodes what it gets with the
//! remote-write reader of [`crate::push::remote_write`].

use std::collections::VecDeque;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::routing::post;
use gnomon_relabel::{RelabelConfigs, RelabelOptions, compile};
use gnomon_tsdb_core::model::{Appender, Label, Labels, Sample};
use parking_lot::Mutex;

use super::*;
use crate::push::remote_write::{WriteRequest, decompress};

#[derive(Default)]
struct Received {
    /// `labels t v` per sample, in arrival order.
    samples: Vec<String>,
    /// Samples per request.
    requests: Vec<usize>,
    /// Statuses to answer before accepting (front first).
    script: VecDeque<u16>,
    headers: Vec<HeaderMap>,
}

type Shared = Arc<Mutex<Received>>;

async fn receive(State(r): State<Shared>, headers: HeaderMap, body: Bytes) -> StatusCode {
    let mut r = r.lock();
    r.headers.push(headers);
    if let Some(code) = r.script.pop_front() {
        return StatusCode::from_u16(code).unwrap();
    }
    let msg = decompress(&body, 64 << 20).unwrap();
    let req = WriteRequest::parse(&msg).unwrap();
    r.requests.push(req.sample_count());
    for s in &req.series {
        let labels = s.to_labels().to_string();
        for x in s.samples() {
            r.samples.push(format!("{labels} {} {}", x.t, x.v));
        }
    }
    StatusCode::NO_CONTENT
}

async fn receiver() -> (String, Shared, tokio::task::JoinHandle<()>) {
    let shared = Shared::default();
    let app = Router::new()
        .route("/api/v1/write", post(receive))
        .with_state(shared.clone());
    let l = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/api/v1/write", l.local_addr().unwrap());
    let h = tokio::spawn(async move {
        axum::serve(l, app).await.unwrap();
    });
    (url, shared, h)
}

fn opts(tmp: &std::path::Path, urls: Vec<UrlOptions>) -> RemoteWriteOptions {
    RemoteWriteOptions {
        urls,
        tmp_data_path: tmp.to_path_buf(),
        flush_interval: Duration::from_millis(20),
        queues: 2,
        ..RemoteWriteOptions::default()
    }
}

fn fast(url: &str) -> UrlOptions {
    UrlOptions {
        retry_min_interval: Duration::from_millis(10),
        retry_max_interval: Duration::from_millis(40),
        ..UrlOptions::new(url)
    }
}

fn series(name: &str, i: usize) -> Labels {
    Labels::from_pairs(&[("__name__", name), ("i", &i.to_string())])
}

/// Waits until `cond` holds on the received state (5 s at most).
async fn until(r: &Shared, what: &str, cond: impl Fn(&Received) -> bool) {
    for _ in 0..500 {
        if cond(&r.lock()) {
            return;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    panic!("timed out waiting for {what}");
}

fn sorted(mut v: Vec<String>) -> Vec<String> {
    v.sort();
    v
}

#[tokio::test]
async fn delivers_every_sample_once_with_remote_write_headers() {
    let tmp = tempfile::tempdir().unwrap();
    let (url, r, _h) = receiver().await;
    let w = RemoteWriter::start(opts(tmp.path(), vec![fast(&url)])).unwrap();
    let mut want = Vec::new();
    for round in 0..5i64 {
        let mut app = w.appender();
        for i in 0..100 {
            let l = series("m", i);
            let v = (round * 1000 + i as i64) as f64;
            app.append(&l, Sample::new(round, v)).unwrap();
            want.push(format!("{l} {round} {v}"));
        }
        app.commit().unwrap();
    }
    until(&r, "500 samples", |r| r.samples.len() >= 500).await;
    w.stop().await.unwrap();
    assert_eq!(sorted(r.lock().samples.clone()), sorted(want));
    let h = &r.lock().headers[0];
    assert_eq!(h["content-encoding"], "snappy");
    assert_eq!(h["content-type"], "application/x-protobuf");
    assert_eq!(h["x-prometheus-remote-write-version"], "0.1.0");
    let s = &w.destinations()[0];
    assert_eq!(s.label, "1:secret-url");
    assert_eq!(get(&s.stats.rows_pushed_after_relabel), 500);
    assert_eq!(get(&s.stats.blocks_sent), get(&s.stats.requests_2xx));
    assert_eq!(s.queue.pending_blocks, 0);
}

#[tokio::test]
async fn blocks_close_at_the_row_limit() {
    let tmp = tempfile::tempdir().unwrap();
    let (url, r, _h) = receiver().await;
    let mut o = opts(tmp.path(), vec![fast(&url)]);
    o.max_rows_per_block = 7;
    o.flush_interval = Duration::from_secs(3600);
    let w = RemoteWriter::start(o).unwrap();
    let mut batch = SampleBatch::new();
    let samples: Vec<Sample> = (0..30).map(|t| Sample::new(t, 1.0)).collect();
    batch.push_series(series("m", 0), &samples);
    w.push(&batch).unwrap();
    until(&r, "28 samples", |r| r.samples.len() >= 28).await;
    assert_eq!(r.lock().requests, vec![7, 7, 7, 7]);
    w.stop().await.unwrap();
    // The remaining 2 samples were queued at stop; a new client sends them.
    let w = RemoteWriter::start(opts(tmp.path(), vec![fast(&url)])).unwrap();
    until(&r, "30 samples", |r| r.samples.len() >= 30).await;
    w.stop().await.unwrap();
    assert_eq!(r.lock().samples.len(), 30);
}

#[tokio::test]
async fn retries_5xx_and_429_then_delivers_and_drops_other_4xx() {
    let tmp = tempfile::tempdir().unwrap();
    let (url, r, _h) = receiver().await;
    r.lock().script = VecDeque::from([503, 429, 500]);
    let mut o = opts(tmp.path(), vec![fast(&url)]);
    o.queues = 1;
    let w = RemoteWriter::start(o).unwrap();
    let mut batch = SampleBatch::new();
    batch.push(&series("a", 1), Sample::new(1, 1.0));
    w.push(&batch).unwrap();
    until(&r, "the retried block", |r| r.samples.len() == 1).await;
    let d = &w.destinations()[0];
    assert_eq!(get(&d.stats.retries), 3);
    assert_eq!(get(&d.stats.requests_5xx), 2);
    assert_eq!(get(&d.stats.requests_4xx), 1);

    r.lock().script = VecDeque::from([400]);
    batch.clear();
    batch.push(&series("b", 1), Sample::new(1, 1.0));
    w.push(&batch).unwrap();
    w.flush().unwrap();
    batch.clear();
    batch.push(&series("c", 1), Sample::new(1, 1.0));
    w.push(&batch).unwrap();
    until(&r, "the block after the refused one", |r| {
        r.samples.len() == 2
    })
    .await;
    let d = &w.destinations()[0];
    assert_eq!(get(&d.stats.packets_dropped), 1);
    assert!(
        r.lock().samples[1].starts_with(r#"{__name__="c", i="1"}"#),
        "{:?}",
        r.lock().samples
    );
    w.stop().await.unwrap();
}

#[tokio::test]
async fn extra_labels_global_and_per_url_rules() {
    let tmp = tempfile::tempdir().unwrap();
    let (url1, r1, _h1) = receiver().await;
    let (url2, r2, _h2) = receiver().await;
    let rules = |yaml: &str| {
        let c = RelabelConfigs::from_yaml(yaml).unwrap();
        Some(Arc::new(
            compile(c.rules(), &RelabelOptions::victoriametrics()).unwrap(),
        ))
    };
    let mut u2 = fast(&url2);
    u2.relabel = rules("- action: drop\n  source_labels: [__name__]\n  regex: b\n");
    u2.round_digits = Some(1);
    let mut o = opts(tmp.path(), vec![fast(&url1), u2]);
    o.extra_labels = vec![Label::new("dc", "eu"), Label::new("i", "x")];
    o.relabel = rules(
        "- action: drop\n  source_labels: [__name__]\n  regex: c\n- target_label: __tmp\n  replacement: gone\n",
    );
    let w = RemoteWriter::start(o).unwrap();
    let mut batch = SampleBatch::new();
    for name in ["a", "b", "c"] {
        batch.push(&series(name, 1), Sample::new(5, 1.26));
    }
    w.push(&batch).unwrap();
    until(&r1, "a and b", |r| r.samples.len() == 2).await;
    until(&r2, "a", |r| r.samples.len() == 1).await;
    w.stop().await.unwrap();
    assert_eq!(
        sorted(r1.lock().samples.clone()),
        vec![
            r#"{__name__="a", dc="eu", i="x"} 5 1.26"#.to_owned(),
            r#"{__name__="b", dc="eu", i="x"} 5 1.26"#.to_owned()
        ]
    );
    assert_eq!(
        r2.lock().samples,
        vec![r#"{__name__="a", dc="eu", i="x"} 5 1.3"#.to_owned()]
    );
    assert_eq!(get(&w.global_stats().relabel_dropped), 1);
    assert_eq!(get(&w.destinations()[1].stats.relabel_dropped), 1);
}

#[tokio::test]
async fn queued_data_survives_a_restart_while_the_receiver_is_down() {
    let tmp = tempfile::tempdir().unwrap();
    // A port with nothing listening: bind, note it, close.
    let dead = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let dead_url = format!("http://{}/api/v1/write", dead.local_addr().unwrap());
    drop(dead);
    let w = RemoteWriter::start(opts(tmp.path(), vec![fast(&dead_url)])).unwrap();
    let mut batch = SampleBatch::new();
    for i in 0..50 {
        batch.push(&series("m", i), Sample::new(1, i as f64));
    }
    w.push(&batch).unwrap();
    for _ in 0..500 {
        if get(&w.destinations()[0].stats.errors) >= 2 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert!(get(&w.destinations()[0].stats.errors) >= 2);
    w.stop().await.unwrap();
    drop(w);

    // The same URL index and text find the same queue directory.
    let (url, r, _h) = receiver().await;
    let moved = tmp.path().join("persistent-queue");
    let old = std::fs::read_dir(&moved)
        .unwrap()
        .next()
        .unwrap()
        .unwrap()
        .path();
    let new = queue_dir(tmp.path(), 0, &url);
    std::fs::rename(old, new).unwrap();
    let w = RemoteWriter::start(opts(tmp.path(), vec![fast(&url)])).unwrap();
    until(&r, "50 samples", |r| r.samples.len() >= 50).await;
    w.stop().await.unwrap();
    assert_eq!(r.lock().samples.len(), 50);
}

#[tokio::test]
async fn basic_auth_and_headers_are_sent() {
    let tmp = tempfile::tempdir().unwrap();
    let (url, r, _h) = receiver().await;
    let mut u = fast(&url);
    u.http.basic_auth = Some(crate::config::BasicAuth {
        username: "user".into(),
        password: Some("pass".into()),
        ..Default::default()
    });
    u.headers = vec![("X-Tenant".into(), "7".into())];
    let w = RemoteWriter::start(opts(tmp.path(), vec![u])).unwrap();
    let mut batch = SampleBatch::new();
    batch.push(&series("m", 1), Sample::new(1, 1.0));
    w.push(&batch).unwrap();
    until(&r, "one sample", |r| r.samples.len() == 1).await;
    w.stop().await.unwrap();
    let h = &r.lock().headers[0];
    assert_eq!(h["authorization"], "Basic dXNlcjpwYXNz");
    assert_eq!(h["x-tenant"], "7");
}

#[test]
fn bad_settings_are_refused() {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let tmp = tempfile::tempdir().unwrap();
    rt.block_on(async {
        let e = RemoteWriter::start(opts(tmp.path(), vec![])).err().unwrap();
        assert!(e.to_string().contains("at least one"), "{e}");
        let e = RemoteWriter::start(opts(tmp.path(), vec![fast("ftp://x/")]))
            .err()
            .unwrap();
        assert!(e.to_string().contains("#1: scheme"), "{e}");
        let e = RemoteWriter::start(opts(tmp.path(), vec![fast("not a url")]))
            .err()
            .unwrap();
        assert!(e.to_string().contains("-remoteWrite.url #1"), "{e}");
    });
}
