use std::collections::BTreeMap;
use std::time::Duration;

use axum::body::Body;
use axum::http::Request;
use gnomon_tsdb_core::model::Labels;
use http_body_util::BodyExt;
use tower::ServiceExt;

use super::*;
use crate::scrape::{Health, ScrapeStatus, TargetStatus};
use crate::target::{DropReason, TargetDefaults, populate};

struct Fixed(Vec<PoolView>);

impl TargetsSource for Fixed {
    fn pools(&self) -> Vec<PoolView> {
        self.0.clone()
    }
}

fn pools() -> Vec<PoolView> {
    let d = TargetDefaults {
        job: "node".into(),
        scheme: "http".into(),
        metrics_path: "/metrics".into(),
        interval: Duration::from_secs(15),
        timeout: Duration::from_secs(10),
        params: BTreeMap::new(),
        relabel: None,
    };
    let own = |a: &str| BTreeMap::from([("__address__".to_owned(), a.to_owned())]);
    let mk = |addr: &str, st: ScrapeStatus| {
        let status = Arc::new(TargetStatus::default());
        status.set(st);
        ActiveTarget {
            target: Arc::new(populate(&BTreeMap::new(), &own(addr), &d).unwrap()),
            status,
        }
    };
    let t0 = UNIX_EPOCH + Duration::from_millis(1_700_000_000_123);
    vec![PoolView {
        job: "node".into(),
        active: vec![
            mk(
                "a:9100",
                ScrapeStatus {
                    health: Health::Up,
                    last_scrape: Some(t0),
                    last_duration: Duration::from_millis(12),
                    last_samples: 42,
                    scrapes: 3,
                    ..ScrapeStatus::default()
                },
            ),
            mk(
                "b:9100",
                ScrapeStatus {
                    health: Health::Down,
                    last_error: "line 2, column 3: bad".into(),
                    last_scrape: Some(t0),
                    scrapes: 3,
                    failures: 3,
                    ..ScrapeStatus::default()
                },
            ),
        ],
        dropped: vec![DroppedTarget {
            job: "node".into(),
            discovered: Labels::from_pairs(&[("__address__", "c:1"), ("job", "node")]),
            reason: DropReason::Relabeled,
        }],
    }]
}

async fn get(uri: &str) -> (StatusCode, serde_json::Value) {
    let app = targets_router(Arc::new(Fixed(pools())));
    let resp = app
        .oneshot(Request::get(uri).body(Body::empty()).unwrap())
        .await
        .unwrap();
    let status = resp.status();
    let body = resp.into_body().collect().await.unwrap().to_bytes();
    (status, serde_json::from_slice(&body).unwrap())
}

#[tokio::test]
async fn api_lists_active_and_dropped_targets() {
    let (s, v) = get("/api/v1/targets").await;
    assert_eq!(s, StatusCode::OK);
    let a = &v["data"]["activeTargets"];
    assert_eq!(a.as_array().unwrap().len(), 2);
    assert_eq!(
        a[0]["labels"],
        serde_json::json!({"instance": "a:9100", "job": "node"})
    );
    assert_eq!(a[0]["discoveredLabels"]["__scrape_interval__"], "15s");
    assert_eq!(a[0]["scrapePool"], "node");
    assert_eq!(a[0]["scrapeUrl"], "http://a:9100/metrics");
    assert_eq!(a[0]["globalUrl"], "http://a:9100/metrics");
    assert_eq!(a[0]["lastScrape"], "2023-11-14T22:13:20.123Z");
    assert_eq!(a[0]["lastScrapeDuration"], 0.012);
    assert_eq!(a[0]["lastSamplesScraped"], 42);
    assert_eq!(a[0]["health"], "up");
    assert_eq!(a[0]["scrapeInterval"], "15s");
    assert_eq!(a[0]["scrapeTimeout"], "10s");
    assert_eq!(a[1]["health"], "down");
    assert_eq!(a[1]["lastError"], "line 2, column 3: bad");
    assert_eq!(
        v["data"]["droppedTargets"],
        serde_json::json!([{"discoveredLabels": {"__address__": "c:1", "job": "node"}}])
    );
}

#[tokio::test]
async fn state_and_pool_filters() {
    let (_, v) = get("/api/v1/targets?state=dropped").await;
    assert_eq!(v["data"]["activeTargets"], serde_json::json!([]));
    assert_eq!(v["data"]["droppedTargets"].as_array().unwrap().len(), 1);
    let (_, v) = get("/prometheus/api/v1/targets?state=active").await;
    assert_eq!(v["data"]["activeTargets"].as_array().unwrap().len(), 2);
    assert_eq!(v["data"]["droppedTargets"], serde_json::json!([]));
    let (_, v) = get("/api/v1/targets?scrapePool=other").await;
    assert_eq!(v["data"]["activeTargets"], serde_json::json!([]));
    let (s, v) = get("/api/v1/targets?state=bogus").await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
    assert_eq!(v["errorType"], "bad_data");
}

#[test]
fn text_page_matches_victoriametrics() {
    let now = UNIX_EPOCH + Duration::from_millis(1_700_000_000_123 + 461);
    let text = targets_text(&pools(), false, now);
    assert_eq!(
        text,
        "job=node (1/2 up)\n\
         \tstate=up, endpoint=http://a:9100/metrics, labels={instance=\"a:9100\",job=\"node\"}, scrapes_total=3, scrapes_failed=0, last_scrape=461ms ago, scrape_duration=12ms, samples_scraped=42, error=\n\
         \tstate=down, endpoint=http://b:9100/metrics, labels={instance=\"b:9100\",job=\"node\"}, scrapes_total=3, scrapes_failed=3, last_scrape=461ms ago, scrape_duration=0ms, samples_scraped=0, error=line 2, column 3: bad\n"
    );
    let text = targets_text(&pools(), true, now);
    assert!(
        text.contains(", originalLabels={__address__=\"a:9100\","),
        "{text}"
    );
}

#[test]
fn zero_time_is_go_zero() {
    assert_eq!(rfc3339_ms(None), "0001-01-01T00:00:00Z");
    assert_eq!(rfc3339_ms(Some(UNIX_EPOCH)), "1970-01-01T00:00:00.000Z");
}
