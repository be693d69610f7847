//! The targets pages: `/api/v1/targets` (Prometheus JSON, with VictoriaMetrics'
//! `lastSamplesScraped`) and `/targets` (VictoriaMetrics' text page), both also under
//! `/prometheus/`.

use std::fmt::Write as _;
use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

use axum::Router;
use axum::extract::{RawQuery, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use gnomon_promql::http::{
    ApiError, Params, json_response, write_json_string, write_labels_object, write_list,
};
use gnomon_tsdb_core::model::civil::civil_from_days;

use crate::scrape::{ActiveTarget, PoolView, TargetsSource};
use crate::target::{DroppedTarget, format_duration};

/// A router serving the targets pages from `source`.
pub fn targets_router(source: Arc<dyn TargetsSource>) -> Router {
    Router::new()
        .route("/api/v1/targets", get(api))
        .route("/prometheus/api/v1/targets", get(api))
        .route("/targets", get(page))
        .route("/prometheus/targets", get(page))
        .with_state(source)
}

async fn api(State(src): State<Arc<dyn TargetsSource>>, RawQuery(q): RawQuery) -> Response {
    let params = Params::parse(q.as_deref(), b"");
    let state = params.get("state").unwrap_or("").to_ascii_lowercase();
    let (active, dropped) = match state.as_str() {
        "" | "any" => (true, true),
        "active" => (true, false),
        "dropped" => (false, true),
        other => {
            return ApiError::bad_data(format!(
                "invalid state {other:?}: want active, dropped or any"
            ))
            .into_response();
        }
    };
    let pool_filter = params.get("scrapePool").filter(|p| !p.is_empty());
    let pools: Vec<PoolView> = src
        .pools()
        .into_iter()
        .filter(|p| pool_filter.is_none_or(|f| f == p.job))
        .collect();
    json_response(StatusCode::OK, targets_json(&pools, active, dropped))
}

/// The `/api/v1/targets` body.
pub(crate) fn targets_json(pools: &[PoolView], active: bool, dropped: bool) -> String {
    let act: Vec<&ActiveTarget> = if active {
        pools.iter().flat_map(|p| &p.active).collect()
    } else {
        Vec::new()
    };
    let drp: Vec<&DroppedTarget> = if dropped {
        pools.iter().flat_map(|p| &p.dropped).collect()
    } else {
        Vec::new()
    };
    let mut out = String::from(r#"{"status":"success","data":{"activeTargets":"#);
    write_list(&mut out, &act, |o, a| active_json(o, a));
    out.push_str(r#","droppedTargets":"#);
    write_list(&mut out, &drp, |o, d| {
        o.push_str(r#"{"discoveredLabels":"#);
        write_labels_object(o, &d.discovered);
        o.push('}');
    });
    out.push_str("}}");
    out
}

fn active_json(o: &mut String, a: &ActiveTarget) {
    let t = &a.target;
    let st = a.status.get();
    o.push_str(r#"{"discoveredLabels":"#);
    write_labels_object(o, &t.discovered);
    o.push_str(r#","labels":"#);
    write_labels_object(o, &t.labels);
    let field = |o: &mut String, name: &str, v: &str| {
        let _ = write!(o, r#","{name}":"#);
        write_json_string(o, v);
    };
    field(o, "scrapePool", &t.job);
    field(o, "scrapeUrl", &t.url);
    field(o, "globalUrl", &t.url);
    field(o, "lastError", &st.last_error);
    field(o, "lastScrape", &rfc3339_ms(st.last_scrape));
    let _ = write!(
        o,
        r#","lastScrapeDuration":{},"lastSamplesScraped":{}"#,
        st.last_duration.as_secs_f64(),
        st.last_samples
    );
    field(o, "health", st.health.as_str());
    field(o, "scrapeInterval", &format_duration(t.interval));
    field(o, "scrapeTimeout", &format_duration(t.timeout));
    o.push('}');
}

/// `2026-01-02T03:04:05.678Z`; Go's zero time when `t` is `None`.
pub(crate) fn rfc3339_ms(t: Option<SystemTime>) -> String {
    let Some(t) = t else {
        return "0001-01-01T00:00:00Z".to_owned();
    };
    let ms = t
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0);
    let (days, rem) = (ms.div_euclid(86_400_000), ms.rem_euclid(86_400_000));
    let (y, m, d) = civil_from_days(days);
    let (h, mi, s, frac) = (
        rem / 3_600_000,
        rem / 60_000 % 60,
        rem / 1000 % 60,
        rem % 1000,
    );
    format!("{y:04}-{m:02}-{d:02}T{h:02}:{mi:02}:{s:02}.{frac:03}Z")
}

async fn page(State(src): State<Arc<dyn TargetsSource>>, RawQuery(q): RawQuery) -> Response {
    let params = Params::parse(q.as_deref(), b"");
    let original = params
        .get("show_original_labels")
        .is_some_and(|v| v == "1" || v == "true");
    let body = targets_text(&src.pools(), original, SystemTime::now());
    ([(header::CONTENT_TYPE, "text/plain; charset=utf-8")], body).into_response()
}

/// VictoriaMetrics' `/targets` text: a `job=NAME (UP/TOTAL up)` line per job, then a
/// tab-indented line per target.
pub(crate) fn targets_text(pools: &[PoolView], original: bool, now: SystemTime) -> String {
    let mut out = String::new();
    for p in pools.iter().filter(|p| !p.active.is_empty()) {
        let up = p
            .active
            .iter()
            .filter(|a| a.status.get().health == crate::scrape::Health::Up)
            .count();
        let _ = writeln!(out, "job={} ({up}/{} up)", p.job, p.active.len());
        for a in &p.active {
            let st = a.status.get();
            let state = match st.health {
                crate::scrape::Health::Up => "up",
                _ => "down",
            };
            let _ = write!(
                out,
                "\tstate={state}, endpoint={}, labels={}",
                a.target.url,
                compact(&a.target.labels)
            );
            if original {
                let _ = write!(out, ", originalLabels={}", compact(&a.target.discovered));
            }
            let ago = st
                .last_scrape
                .and_then(|t| now.duration_since(t).ok())
                .map_or("never".to_owned(), |d| format!("{}ms ago", d.as_millis()));
            let _ = writeln!(
                out,
                ", scrapes_total={}, scrapes_failed={}, last_scrape={ago}, scrape_duration={}ms, samples_scraped={}, error={}",
                st.scrapes,
                st.failures,
                st.last_duration.as_millis(),
                st.last_samples,
                st.last_error
            );
        }
    }
    out
}

/// `{a="1",b="2"}` without spaces, as VictoriaMetrics prints label sets.
fn compact(l: &gnomon_tsdb_core::model::Labels) -> String {
    let mut s = String::from("{");
    for (i, x) in l.iter().enumerate() {
        if i > 0 {
            s.push(',');
        }
        let _ = write!(s, "{}={:?}", x.name, x.value);
    }
    s.push('}');
    s
}

#[cfg(test)]
mod tests;
