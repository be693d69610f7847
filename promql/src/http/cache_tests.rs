//! The result cache through `/api/v1/query_range`: a repeated request evaluates only the
//! unsettled tail and answers the same bytes as an uncached one; `nocache=1`, the reset
//! endpoint and the configured limits.

use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use axum::Router;
use axum::body::Body;
use axum::http::{Request, StatusCode};
use gnomon_tsdb_core::model::{Labels, Sample};
use http_body_util::BodyExt;
use tower::ServiceExt;

use super::cache::{CacheOptions, ResultCache};
use super::{QueryConfig, router_with};
use crate::engine::EngineOptions;
use crate::engine::memstore::MemStore;

const MIN: i64 = 60_000;

fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_millis() as i64
}

/// Two counters sampled every 15 s over the last hour, up to now.
fn store(now: i64) -> Arc<MemStore> {
    let mut m = MemStore::new();
    for host in ["a", "b"] {
        let l = Labels::from_pairs(&[("__name__", "c"), ("host", host)]);
        for i in 0..240 {
            let t = now - 3_600_000 + i * 15_000;
            m.add(&l, Sample::new(t, (i * i) as f64));
        }
    }
    Arc::new(m)
}

async fn get(app: &Router, args: &str) -> (StatusCode, String) {
    let req = Request::get(format!("/api/v1/query_range?{args}"))
        .body(Body::empty())
        .unwrap();
    let resp = app.clone().oneshot(req).await.unwrap();
    let status = resp.status();
    let body = resp.into_body().collect().await.unwrap().to_bytes();
    (status, String::from_utf8(body.to_vec()).unwrap())
}

fn cached_app(store: Arc<MemStore>) -> (Router, Arc<ResultCache>) {
    let cache = Arc::new(ResultCache::new(CacheOptions::default()));
    let cfg = QueryConfig {
        cache: Some(cache.clone()),
        ..QueryConfig::default()
    };
    (router_with(store, cfg), cache)
}

#[tokio::test]
async fn repeated_range_query_evaluates_only_the_tail_with_identical_results() {
    let now = now_ms();
    let m = store(now);
    let (app, cache) = cached_app(m.clone());
    let plain = router_with(m, QueryConfig::default());
    // A grid aligned to the minute, ending at the last whole minute before now.
    let end = now / MIN * MIN;
    let start = end - 60 * MIN;
    let args = format!(
        "query=sum+by+(host)+(rate(c%5B5m%5D))&start={}&end={}&step=60",
        start / 1000,
        end / 1000
    );
    let (s1, first) = get(&app, &args).await;
    assert_eq!(s1, StatusCode::OK, "{first}");
    let after_first = cache.stats();
    assert_eq!((after_first.misses, after_first.evaluated_steps), (1, 61));
    assert_eq!(after_first.entries, 1);
    let (_, second) = get(&app, &args).await;
    let st = cache.stats();
    assert_eq!(st.partial_hits, 1);
    // Only the steps newer than now - 5m (at most 6 of them) were evaluated again.
    let tail = st.evaluated_steps - after_first.evaluated_steps;
    assert!((4..=6).contains(&tail), "{tail} steps evaluated");
    let (_, uncached) = get(&plain, &args).await;
    assert_eq!(second, first);
    assert_eq!(second, uncached);
    // nocache=1 bypasses the cache entirely.
    let (_, bypass) = get(&app, &format!("{args}&nocache=1")).await;
    assert_eq!(bypass, uncached);
    assert_eq!(cache.stats().evaluated_steps, st.evaluated_steps);
}

#[tokio::test]
async fn settled_range_is_a_full_hit_and_reset_empties_the_cache() {
    let now = now_ms();
    let (app, cache) = cached_app(store(now));
    let end = (now - 10 * MIN) / MIN * MIN;
    let args = format!(
        "query=c&start={}&end={}&step=60",
        (end - 30 * MIN) / 1000,
        end / 1000
    );
    let (_, first) = get(&app, &args).await;
    let (_, second) = get(&app, &args).await;
    assert_eq!(first, second);
    let st = cache.stats();
    assert_eq!((st.misses, st.full_hits, st.evaluated_steps), (1, 1, 31));
    let req = Request::get("/internal/resetRollupResultCache")
        .body(Body::empty())
        .unwrap();
    assert_eq!(
        app.clone().oneshot(req).await.unwrap().status(),
        StatusCode::OK
    );
    assert_eq!(cache.stats().entries, 0);
    get(&app, &args).await;
    assert_eq!(cache.stats().misses, 2);
}

#[tokio::test]
async fn configured_limits_reach_the_engine() {
    let now = now_ms();
    let end = now / 1000;
    let cfg = QueryConfig {
        engine: EngineOptions {
            max_series: 1,
            max_points_per_series: 100,
            ..EngineOptions::default()
        },
        cache: None,
    };
    let app = router_with(store(now), cfg);
    let (status, body) = get(
        &app,
        &format!("query=c&start={}&end={end}&step=60", end - 600),
    )
    .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    assert!(
        body.contains("the query selects more than 1 series"),
        "{body}"
    );
    let (status, body) = get(
        &app,
        &format!("query=1&start={}&end={end}&step=1", end - 101),
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    assert!(
        body.contains("exceeded maximum resolution of 100 points"),
        "{body}"
    );
    let slow = QueryConfig {
        engine: EngineOptions {
            timeout: Some(Duration::ZERO),
            ..EngineOptions::default()
        },
        cache: None,
    };
    let app = router_with(store(now), slow);
    let (status, body) = get(
        &app,
        &format!("query=c&start={}&end={end}&step=60", end - 600),
    )
    .await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE, "{body}");
    assert!(body.contains(r#""errorType":"timeout""#), "{body}");
}
