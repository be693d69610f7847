//! Router-level tests over an in-memory store: what is imported comes back from export,
//! bad lines are named and skipped, gzip and the Prometheus arguments work.

use std::collections::BTreeMap;
use std::io::Write;
use std::sync::{Arc, Mutex};

use axum::Router;
use axum::body::Body;
use axum::http::{Request, StatusCode};
use gnomon_tsdb_core::Result;
use gnomon_tsdb_core::model::{
    Appender, Labels, Matcher, Querier, STALE_NAN, Sample, Series, SeriesIter, TimeRange,
};
use http_body_util::BodyExt;
use tower::ServiceExt;

use super::*;

type Data = Arc<Mutex<BTreeMap<Labels, BTreeMap<i64, u64>>>>;

/// Committed samples by series; values kept as bits.
#[derive(Clone, Default)]
pub(super) struct MemStore(pub(super) Data);

struct MemAppender {
    data: Data,
    pending: Vec<(Labels, Sample)>,
}

impl Appender for MemAppender {
    fn append(&mut self, labels: &Labels, sample: Sample) -> Result<()> {
        self.pending.push((labels.clone(), sample));
        Ok(())
    }
    fn commit(&mut self) -> Result<()> {
        let mut d = self.data.lock().unwrap();
        for (l, s) in self.pending.drain(..) {
            d.entry(l).or_default().insert(s.t, s.v.to_bits());
        }
        Ok(())
    }
}

fn selected(m: &[Matcher], l: &Labels) -> bool {
    m.iter().all(|m| m.matches(l.get(&m.name).unwrap_or("")))
}

impl Querier for MemStore {
    fn select(&self, m: &[Matcher], r: TimeRange) -> Result<SeriesIter> {
        let d = self.0.lock().unwrap();
        let out: Vec<Result<Series>> = d
            .iter()
            .filter(|(l, _)| selected(m, l))
            .map(|(l, s)| Series {
                labels: l.clone(),
                samples: s
                    .iter()
                    .filter(|(t, _)| r.contains(**t))
                    .map(|(t, v)| Sample::new(*t, f64::from_bits(*v)))
                    .collect(),
            })
            .filter(|s| !s.samples.is_empty())
            .map(Ok)
            .collect();
        Ok(Box::new(out.into_iter()))
    }
    fn series(&self, _: &[Matcher], _: TimeRange) -> Result<Vec<Labels>> {
        unreachable!("not used by these routers")
    }
    fn label_names(&self, _: &[Matcher], _: TimeRange) -> Result<Vec<String>> {
        unreachable!("not used by these routers")
    }
    fn label_values(&self, _: &str, _: &[Matcher], _: TimeRange) -> Result<Vec<String>> {
        unreachable!("not used by these routers")
    }
}

/// Appenders writing into `store`.
pub(super) fn factory(store: &MemStore) -> AppenderFactory {
    let data = store.0.clone();
    Arc::new(move || {
        Box::new(MemAppender {
            data: data.clone(),
            pending: Vec::new(),
        })
    })
}

pub(super) fn app(store: &MemStore, opts: IngestOptions) -> (Router, Arc<IngestCounters>) {
    let factory = factory(store);
    let counters = Arc::new(IngestCounters::default());
    let r = ingest_router(factory, counters.clone(), opts)
        .merge(export_router(Arc::new(store.clone())))
        .merge(federate_router(
            Arc::new(store.clone()),
            std::time::Duration::from_secs(300),
        ));
    (r, counters)
}

pub(super) async fn call(app: &Router, req: Request<Body>) -> (StatusCode, String, String) {
    let resp = app.clone().oneshot(req).await.unwrap();
    let status = resp.status();
    let ct = resp
        .headers()
        .get("content-type")
        .map(|v| v.to_str().unwrap().to_owned())
        .unwrap_or_default();
    let body = resp.into_body().collect().await.unwrap().to_bytes();
    (status, ct, String::from_utf8(body.to_vec()).unwrap())
}

pub(super) fn post(uri: &str, body: impl Into<Body>) -> Request<Body> {
    Request::post(uri).body(body.into()).unwrap()
}

pub(super) fn get(uri: &str) -> Request<Body> {
    Request::get(uri).body(Body::empty()).unwrap()
}

#[tokio::test]
async fn import_then_export_is_lossless() {
    let store = MemStore::default();
    let (app, counters) = app(&store, IngestOptions::default());
    let lines = concat!(
        r#"{"metric":{"__name__":"m","job":"a"},"values":[1,NaN,null,-Inf,+Inf,0.1,-0],"timestamps":[1,2,3,4,5,6,7]}"#,
        "\n",
        r#"{"metric":{"__name__":"n"},"values":[1e300],"timestamps":[1000]}"#,
        "\n"
    );
    let (status, _, _) = call(&app, post("/api/v1/import", lines)).await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    assert_eq!(
        counters
            .vmimport_rows
            .load(std::sync::atomic::Ordering::Relaxed),
        8
    );
    let stored = store.0.lock().unwrap().clone();
    let m = &stored[&Labels::from_pairs(&[("__name__", "m"), ("job", "a")])];
    assert_eq!(m[&3], STALE_NAN.to_bits());
    assert_eq!(m[&7], (-0.0f64).to_bits());

    let (status, ct, body) = call(
        &app,
        get("/api/v1/export?match[]=%7B__name__%3D~%22m%7Cn%22%7D"),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(ct, "application/stream+json; charset=utf-8");
    assert_eq!(
        body,
        concat!(
            r#"{"metric":{"__name__":"m","job":"a"},"values":[1,NaN,null,-Inf,+Inf,0.1,-0],"timestamps":[1,2,3,4,5,6,7]}"#,
            "\n",
            r#"{"metric":{"__name__":"n"},"values":[1e300],"timestamps":[1000]}"#,
            "\n"
        )
    );
    // start/end are inclusive, in seconds; max_rows_per_line splits lines.
    let (_, _, body) = call(
        &app,
        get("/api/v1/export?match[]=m&start=0.002&end=0.004&max_rows_per_line=2"),
    )
    .await;
    assert_eq!(
        body,
        concat!(
            r#"{"metric":{"__name__":"m","job":"a"},"values":[NaN,null],"timestamps":[2,3]}"#,
            "\n",
            r#"{"metric":{"__name__":"m","job":"a"},"values":[-Inf],"timestamps":[4]}"#,
            "\n"
        )
    );
}

#[tokio::test]
async fn bad_lines_are_named_and_the_rest_is_kept() {
    let store = MemStore::default();
    let (app, counters) = app(
        &store,
        IngestOptions {
            batch_rows: 1,
            ..IngestOptions::default()
        },
    );
    let body = concat!(
        r#"{"metric":{"__name__":"ok1"},"values":[1],"timestamps":[1]}"#,
        "\n",
        r#"{"metric":{"__name__":"bad"},"values":[x],"timestamps":[1]}"#,
        "\n\n",
        r#"{"metric":{"__name__":"ok2"},"values":[2],"timestamps":[2]}"#,
        "\n",
        "garbage\n"
    );
    let (status, ct, text) = call(&app, post("/api/v1/import", body)).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(ct, "text/plain; charset=utf-8");
    assert!(
        text.starts_with("2 malformed line(s) skipped; 2 row(s)"),
        "{text}"
    );
    assert!(
        text.contains("line 2: invalid value \"x\" at byte 39\n"),
        "{text}"
    );
    assert!(text.contains("line 5: expected '{' at byte 0\n"), "{text}");
    assert_eq!(store.0.lock().unwrap().len(), 2);
    assert_eq!(
        counters
            .bad_lines
            .load(std::sync::atomic::Ordering::Relaxed),
        2
    );

    let (status, _, text) = call(&app, get("/api/v1/export")).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(
        text.contains(r#""errorType":"bad_data""#) && text.contains("match[]"),
        "{text}"
    );
}

#[tokio::test]
async fn prometheus_text_with_gzip_extra_labels_and_default_timestamp() {
    let store = MemStore::default();
    let (app, counters) = app(&store, IngestOptions::default());
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    gz.write_all(b"up{job=\"a\"} 1 1000\nup{job=\"b\"} 0\n")
        .unwrap();
    let req = Request::post("/api/v1/import/prometheus?extra_label=env=prod&timestamp=1704067200")
        .header("content-encoding", "gzip")
        .body(Body::from(gz.finish().unwrap()))
        .unwrap();
    let (status, _, text) = call(&app, req).await;
    assert_eq!(status, StatusCode::NO_CONTENT, "{text}");
    assert_eq!(
        counters
            .prometheus_rows
            .load(std::sync::atomic::Ordering::Relaxed),
        2
    );
    let d = store.0.lock().unwrap();
    let a = Labels::from_pairs(&[("__name__", "up"), ("env", "prod"), ("job", "a")]);
    let b = Labels::from_pairs(&[("__name__", "up"), ("env", "prod"), ("job", "b")]);
    assert_eq!(d[&a].keys().collect::<Vec<_>>(), vec![&1000]);
    assert_eq!(d[&b].keys().collect::<Vec<_>>(), vec![&1_704_067_200_000]);
}

#[tokio::test]
async fn oversized_and_wrong_method_requests_are_refused() {
    let store = MemStore::default();
    let (app, _) = app(
        &store,
        IngestOptions {
            max_body_bytes: 16,
            ..IngestOptions::default()
        },
    );
    let (status, _, _) = call(&app, post("/api/v1/import", "x".repeat(100))).await;
    assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE);
    let (status, _, _) = call(&app, get("/api/v1/import")).await;
    assert_eq!(status, StatusCode::METHOD_NOT_ALLOWED);
}

/// Bodies larger than one read and exports larger than one chunk: a 2 MiB import streams in
/// several runs of lines and comes back whole, line by line, in several chunks.
#[tokio::test]
async fn large_import_and_export_stream() {
    let store = MemStore::default();
    let (app, _) = app(&store, IngestOptions::default());
    let mut body = String::new();
    for i in 0..80_000 {
        body.push_str(&format!("big{{i=\"{}\"}} {i} {}\n", i % 500, 1_000 + i));
    }
    assert!(body.len() > 1 << 20);
    let (status, _, text) = call(&app, post("/api/v1/import/prometheus", body)).await;
    assert_eq!(status, StatusCode::NO_CONTENT, "{text}");
    let (status, _, text) = call(&app, get("/api/v1/export?match[]=big")).await;
    assert_eq!(status, StatusCode::OK);
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 500);
    let values: usize = lines
        .iter()
        .map(|l| {
            let v: serde_json::Value = serde_json::from_str(l).unwrap();
            v["values"].as_array().unwrap().len()
        })
        .sum();
    assert_eq!(values, 80_000);
    assert!(text.len() > 256 * 1024, "the export spans several chunks");
}
