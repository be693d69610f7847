//! Status endpoints: `/api/v1/status/buildinfo`, `/api/v1/status/tsdb` (cardinality, in
//! VictoriaMetrics' and Prometheus' shapes at once), `/api/v1/status/config`,
//! `/api/v1/status/flags`, `/api/v1/status/runtimeinfo`, `/api/v1/metadata` and
//! `/api/v1/query_exemplars` (no metadata or exemplars are stored: empty answers, with
//! their arguments checked as Prometheus does).

use std::fmt::Write as _;
use std::sync::{Arc, OnceLock};
use std::time::{SystemTime, UNIX_EPOCH};

use axum::body::Bytes;
use axum::extract::{RawQuery, State};
use axum::http::StatusCode;
use axum::response::Response;
use gnomon_tsdb_core::Storage;
use gnomon_tsdb_core::model::civil::{civil_from_days, days_from_civil};
use gnomon_tsdb_core::storage::status::{Entry, StatusRequest, TsdbStatus};

use super::{ApiError, Params, blocking, json_response, write_json_string};

/// Cardinality figures for `/api/v1/status/tsdb`, implemented by the storage engine.
pub trait TsdbStatusSource: Send + Sync {
    /// Counts series and label pairs for `req`.
    ///
    /// # Errors
    /// When the store cannot be read.
    fn tsdb_status(&self, req: &StatusRequest) -> gnomon_tsdb_core::Result<TsdbStatus>;

    /// `(oldest, newest)` sample timestamps in ms, `None` when unknown or empty.
    fn time_bounds(&self) -> Option<(i64, i64)>;

    /// Blocks of samples held (Prometheus' `chunkCount`).
    fn chunk_count(&self) -> u64;
}

impl TsdbStatusSource for Storage {
    fn tsdb_status(&self, req: &StatusRequest) -> gnomon_tsdb_core::Result<TsdbStatus> {
        Storage::tsdb_status(self, req)
    }

    /// The bounds of the flushed parts ([`gnomon_tsdb_core::storage::Stats`] reports 0
    /// and 0 when nothing is flushed yet).
    fn time_bounds(&self) -> Option<(i64, i64)> {
        let s = self.stats();
        let empty = s.min_timestamp == 0 && s.max_timestamp == 0;
        (!empty && s.min_timestamp <= s.max_timestamp).then_some((s.min_timestamp, s.max_timestamp))
    }

    fn chunk_count(&self) -> u64 {
        let s = self.stats();
        s.inmemory_blocks + s.small_blocks + s.big_blocks
    }
}

/// Shared state of the `/api/v1/status/tsdb` handler.
pub type SharedStatus = Arc<dyn TsdbStatusSource>;

/// Default length of the top lists (VictoriaMetrics' `topN`, Prometheus' `limit`).
const DEFAULT_TOP_N: usize = 10;
/// Largest accepted `topN`.
const MAX_TOP_N: usize = 1000;

fn success(data: &str) -> Response {
    json_response(
        StatusCode::OK,
        format!(r#"{{"status":"success","data":{data}}}"#),
    )
}

/// Parses `YYYY-MM-DD` into days since the Unix epoch.
fn parse_date(s: &str) -> Option<u32> {
    let mut it = s.splitn(3, '-');
    let (y, m, d) = (it.next()?, it.next()?, it.next()?);
    if y.len() != 4 || m.len() != 2 || d.len() != 2 {
        return None;
    }
    let (y, m, d): (i64, u32, u32) = (y.parse().ok()?, m.parse().ok()?, d.parse().ok()?);
    if !(1..=12).contains(&m) || d == 0 {
        return None;
    }
    let days = days_from_civil(y, m, d);
    // Reject 2023-02-30 and friends: the day must round-trip.
    if civil_from_days(days) != (y, m, d) {
        return None;
    }
    u32::try_from(days).ok()
}

fn today() -> u32 {
    let secs = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0);
    (secs / 86_400) as u32
}

/// The request of `/api/v1/status/tsdb`: `topN` (or `limit`), `date` (`YYYY-MM-DD`, today
/// by default, `1970-01-01` for all time, as VictoriaMetrics), `match[]`, `focusLabel`.
fn status_request(p: &Params) -> Result<StatusRequest, ApiError> {
    let top_n = match p.get("topN").or_else(|| p.get("limit")) {
        None | Some("") => DEFAULT_TOP_N,
        Some(s) => match s.parse::<usize>() {
            Ok(n) if (1..=MAX_TOP_N).contains(&n) => n,
            _ => {
                return Err(ApiError::bad_data(format!(
                    "topN must be an integer in [1, {MAX_TOP_N}]; got {s:?}"
                )));
            }
        },
    };
    let day = match p.get("date") {
        None | Some("") => Some(today()),
        Some(s) => match parse_date(s) {
            Some(0) => None,
            Some(d) => Some(d),
            None => {
                return Err(ApiError::bad_data(format!(
                    "cannot parse date={s:?}: want YYYY-MM-DD"
                )));
            }
        },
    };
    let mut selectors = p.matchers()?;
    if selectors.len() > 1 {
        return Err(ApiError::bad_data(
            "at most one match[] is supported by /api/v1/status/tsdb",
        ));
    }
    Ok(StatusRequest {
        matchers: selectors.pop().unwrap_or_default(),
        day,
        top_n,
        focus_label: p
            .get("focusLabel")
            .filter(|s| !s.is_empty())
            .map(str::to_owned),
    })
}

fn write_entries(out: &mut String, key: &str, entries: &[Entry]) {
    let _ = write!(out, r#","{key}":["#);
    for (i, (name, value)) in entries.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        out.push_str(r#"{"name":"#);
        write_json_string(out, name);
        let _ = write!(out, r#","value":{value}}}"#);
    }
    out.push(']');
}

/// The `data` object of `/api/v1/status/tsdb`.
fn tsdb_json(s: &TsdbStatus, bounds: Option<(i64, i64)>, chunks: u64) -> String {
    let (min, max) = bounds.unwrap_or((i64::MAX, i64::MIN));
    let mut out = format!(
        r#"{{"totalSeries":{},"totalLabelValuePairs":{}"#,
        s.total_series, s.total_label_value_pairs
    );
    write_entries(
        &mut out,
        "seriesCountByMetricName",
        &s.series_count_by_metric_name,
    );
    write_entries(
        &mut out,
        "seriesCountByLabelName",
        &s.series_count_by_label_name,
    );
    write_entries(
        &mut out,
        "seriesCountByFocusLabelValue",
        &s.series_count_by_focus_label_value,
    );
    write_entries(
        &mut out,
        "seriesCountByLabelValuePair",
        &s.series_count_by_label_value_pair,
    );
    write_entries(
        &mut out,
        "labelValueCountByLabelName",
        &s.label_value_count_by_label_name,
    );
    write_entries(
        &mut out,
        "memoryInBytesByLabelName",
        &s.memory_in_bytes_by_label_name,
    );
    let _ = write!(
        out,
        r#","headStats":{{"numSeries":{},"numLabelPairs":{},"chunkCount":{chunks},"minTime":{min},"maxTime":{max}}}}}"#,
        s.total_series, s.total_label_value_pairs
    );
    out
}

pub(super) async fn tsdb(
    State(src): State<SharedStatus>,
    RawQuery(query): RawQuery,
    body: Bytes,
) -> Result<Response, ApiError> {
    let req = status_request(&Params::parse(query.as_deref(), &body))?;
    let data = blocking(move || {
        let s = src.tsdb_status(&req)?;
        Ok(tsdb_json(&s, src.time_bounds(), src.chunk_count()))
    })
    .await?;
    Ok(success(&data))
}

/// `/api/v1/status/buildinfo`: Prometheus' fields, filled honestly for gnomon.
pub(super) async fn buildinfo() -> Response {
    let mut data = String::from(r#"{"version":"#);
    write_json_string(&mut data, env!("CARGO_PKG_VERSION"));
    data.push_str(
        r#","revision":"unknown","branch":"unknown","buildUser":"gnomon","buildDate":"unknown","#,
    );
    data.push_str(r#""goVersion":"none: gnomon is Rust (rustc >= "#);
    data.push_str(env!("CARGO_PKG_RUST_VERSION"));
    data.push_str(r#")","application":"gnomon"}"#);
    success(&data)
}

/// `/api/v1/metadata`: no `# TYPE`/`# HELP` is stored, so `{}`; `limit` and
/// `limit_per_metric` must be integers, `metric` is accepted.
pub(super) async fn metadata(RawQuery(query): RawQuery, body: Bytes) -> Result<Response, ApiError> {
    let p = Params::parse(query.as_deref(), &body);
    for key in ["limit", "limit_per_metric"] {
        if let Some(v) = p.get(key).filter(|v| !v.is_empty())
            && v.parse::<i64>().is_err()
        {
            return Err(ApiError::bad_data(format!(
                "{key} must be a number; got {v:?}"
            )));
        }
    }
    Ok(success("{}"))
}

/// `/api/v1/query_exemplars`: `query` must parse; no exemplars are stored.
pub(super) async fn exemplars(
    RawQuery(query): RawQuery,
    body: Bytes,
) -> Result<Response, ApiError> {
    let p = Params::parse(query.as_deref(), &body);
    let q = p
        .get("query")
        .filter(|q| !q.is_empty())
        .ok_or_else(|| ApiError::bad_data("missing `query` arg"))?;
    crate::parse(q).map_err(|e| ApiError::bad_data(format!("cannot parse query: {e}")))?;
    p.time_range()?;
    Ok(success("[]"))
}

/// `/api/v1/status/config`: gnomon runs no Prometheus configuration.
pub(super) async fn config() -> Response {
    success(r#"{"yaml":""}"#)
}

/// `/api/v1/status/flags`: the query layer does not see the process flags.
pub(super) async fn flags() -> Response {
    success("{}")
}

fn started() -> SystemTime {
    static START: OnceLock<SystemTime> = OnceLock::new();
    *START.get_or_init(SystemTime::now)
}

fn rfc3339(t: SystemTime) -> String {
    let secs = t
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0) as i64;
    let (y, m, d) = civil_from_days(secs.div_euclid(86_400));
    let s = secs.rem_euclid(86_400);
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}Z",
        s / 3600,
        s / 60 % 60,
        s % 60
    )
}

/// `/api/v1/status/runtimeinfo`: Prometheus' fields where gnomon has an equivalent.
pub(super) async fn runtimeinfo() -> Response {
    let start = rfc3339(started());
    let cwd = std::env::current_dir()
        .map(|p| p.display().to_string())
        .unwrap_or_default();
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
    let mut data = String::from(r#"{"startTime":"#);
    write_json_string(&mut data, &start);
    data.push_str(r#","CWD":"#);
    write_json_string(&mut data, &cwd);
    data.push_str(r#","reloadConfigSuccess":true,"lastConfigTime":"#);
    write_json_string(&mut data, &start);
    let _ = write!(
        data,
        r#","corruptionCount":0,"goroutineCount":0,"GOMAXPROCS":{threads},"GOMEMLIMIT":0,"GOGC":"","GODEBUG":"","storageRetention":""}}"#
    );
    success(&data)
}

/// Records the process start for `runtimeinfo` (called when the router is built).
pub(super) fn mark_start() {
    let _ = started();
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_parse_strictly() {
        assert_eq!(parse_date("1970-01-01"), Some(0));
        assert_eq!(parse_date("2024-01-02"), Some(19_724));
        assert_eq!(parse_date("2023-02-30"), None);
        assert_eq!(parse_date("2023-2-3"), None);
        assert_eq!(parse_date("x"), None);
    }

    #[test]
    fn request_arguments() {
        let p = Params::parse(
            Some("topN=3&date=1970-01-01&focusLabel=job&match[]=up"),
            b"",
        );
        let r = status_request(&p).unwrap();
        assert_eq!(
            (r.top_n, r.day, r.focus_label.as_deref()),
            (3, None, Some("job"))
        );
        assert_eq!(r.matchers.len(), 1);
        let r = status_request(&Params::parse(Some("limit=5"), b"")).unwrap();
        assert_eq!((r.top_n, r.day), (5, Some(today())));
        for bad in [
            "topN=0",
            "topN=x",
            "date=2024-13-01",
            "match[]=up&match[]=x",
        ] {
            let e = status_request(&Params::parse(Some(bad), b"")).unwrap_err();
            assert_eq!(e.error_type, "bad_data", "{bad}");
        }
    }

    #[test]
    fn tsdb_json_has_both_shapes() {
        let s = TsdbStatus {
            total_series: 2,
            total_label_value_pairs: 3,
            series_count_by_metric_name: vec![("up".into(), 2)],
            ..TsdbStatus::default()
        };
        let v: serde_json::Value = serde_json::from_str(&tsdb_json(&s, Some((1, 9)), 4)).unwrap();
        assert_eq!(v["totalSeries"], 2);
        assert_eq!(v["seriesCountByMetricName"][0]["name"], "up");
        assert_eq!(v["seriesCountByMetricName"][0]["value"], 2);
        assert_eq!(v["headStats"]["numSeries"], 2);
        assert_eq!(v["headStats"]["numLabelPairs"], 3);
        assert_eq!(v["headStats"]["chunkCount"], 4);
        assert_eq!(v["headStats"]["minTime"], 1);
        assert_eq!(v["headStats"]["maxTime"], 9);
        for key in [
            "seriesCountByLabelName",
            "seriesCountByFocusLabelValue",
            "seriesCountByLabelValuePair",
            "labelValueCountByLabelName",
            "memoryInBytesByLabelName",
        ] {
            assert!(v[key].is_array(), "{key}");
        }
    }

    /// A fixed answer, recording the request it was given.
    struct Fixed(std::sync::Mutex<Option<StatusRequest>>);

    impl TsdbStatusSource for Fixed {
        fn tsdb_status(&self, req: &StatusRequest) -> gnomon_tsdb_core::Result<TsdbStatus> {
            *self.0.lock().unwrap() = Some(req.clone());
            Ok(TsdbStatus {
                total_series: 3,
                series_count_by_metric_name: vec![("up".into(), 3)],
                ..TsdbStatus::default()
            })
        }
        fn time_bounds(&self) -> Option<(i64, i64)> {
            Some((10, 20))
        }
        fn chunk_count(&self) -> u64 {
            7
        }
    }

    struct NoStore;

    impl gnomon_tsdb_core::model::Querier for NoStore {
        fn select(
            &self,
            _: &[gnomon_tsdb_core::model::Matcher],
            _: gnomon_tsdb_core::model::TimeRange,
        ) -> gnomon_tsdb_core::Result<gnomon_tsdb_core::model::SeriesIter> {
            Ok(Box::new(std::iter::empty()))
        }
        fn series(
            &self,
            _: &[gnomon_tsdb_core::model::Matcher],
            _: gnomon_tsdb_core::model::TimeRange,
        ) -> gnomon_tsdb_core::Result<Vec<gnomon_tsdb_core::model::Labels>> {
            Ok(Vec::new())
        }
        fn label_names(
            &self,
            _: &[gnomon_tsdb_core::model::Matcher],
            _: gnomon_tsdb_core::model::TimeRange,
        ) -> gnomon_tsdb_core::Result<Vec<String>> {
            Ok(Vec::new())
        }
        fn label_values(
            &self,
            _: &str,
            _: &[gnomon_tsdb_core::model::Matcher],
            _: gnomon_tsdb_core::model::TimeRange,
        ) -> gnomon_tsdb_core::Result<Vec<String>> {
            Ok(Vec::new())
        }
    }

    async fn call(app: axum::Router, uri: &str) -> (StatusCode, serde_json::Value) {
        use http_body_util::BodyExt as _;
        use tower::ServiceExt as _;
        let req = axum::http::Request::get(uri)
            .body(axum::body::Body::empty())
            .unwrap();
        let resp = app.oneshot(req).await.unwrap();
        let status = resp.status();
        let body = resp.into_body().collect().await.unwrap().to_bytes();
        (status, serde_json::from_slice(&body).unwrap())
    }

    fn app() -> axum::Router {
        super::super::router(Arc::new(NoStore))
    }

    #[tokio::test]
    async fn store_independent_endpoints() {
        for prefix in ["", "/prometheus"] {
            let (st, v) = call(app(), &format!("{prefix}/api/v1/status/buildinfo")).await;
            assert_eq!(st, StatusCode::OK);
            assert_eq!(v["data"]["version"], env!("CARGO_PKG_VERSION"));
            assert_eq!(v["data"]["application"], "gnomon");
        }
        let (_, v) = call(app(), "/api/v1/metadata?limit=5&metric=up").await;
        assert_eq!(v, serde_json::json!({"status": "success", "data": {}}));
        let (st, v) = call(app(), "/api/v1/metadata?limit=x").await;
        assert_eq!(
            (st, v["errorType"].as_str()),
            (StatusCode::BAD_REQUEST, Some("bad_data"))
        );
        let (_, v) = call(app(), "/api/v1/query_exemplars?query=up&start=1&end=2").await;
        assert_eq!(v, serde_json::json!({"status": "success", "data": []}));
        for bad in [
            "/api/v1/query_exemplars",
            "/api/v1/query_exemplars?query=up(",
        ] {
            let (st, _) = call(app(), bad).await;
            assert_eq!(st, StatusCode::BAD_REQUEST, "{bad}");
        }
        let (_, v) = call(app(), "/api/v1/status/config").await;
        assert_eq!(v["data"]["yaml"], "");
        let (_, v) = call(app(), "/api/v1/status/flags").await;
        assert_eq!(v["data"], serde_json::json!({}));
        let (_, v) = call(app(), "/api/v1/status/runtimeinfo").await;
        assert!(v["data"]["GOMAXPROCS"].as_u64().unwrap() >= 1);
        assert!(v["data"]["startTime"].as_str().unwrap().ends_with('Z'));
    }

    #[tokio::test]
    async fn tsdb_status_endpoint() {
        let src = Arc::new(Fixed(std::sync::Mutex::new(None)));
        let app = super::super::status_router(src.clone());
        let (st, v) = call(
            app.clone(),
            "/prometheus/api/v1/status/tsdb?topN=2&date=2024-01-02&focusLabel=job",
        )
        .await;
        assert_eq!(st, StatusCode::OK);
        assert_eq!(v["status"], "success");
        assert_eq!(v["data"]["totalSeries"], 3);
        assert_eq!(
            v["data"]["seriesCountByMetricName"],
            serde_json::json!([{"name": "up", "value": 3}])
        );
        assert_eq!(v["data"]["headStats"]["chunkCount"], 7);
        let req = src.0.lock().unwrap().clone().unwrap();
        assert_eq!((req.top_n, req.day), (2, Some(19_724)));
        assert_eq!(req.focus_label.as_deref(), Some("job"));
        let (st, v) = call(app, "/api/v1/status/tsdb?topN=-1").await;
        assert_eq!(st, StatusCode::BAD_REQUEST);
        assert_eq!(v["errorType"], "bad_data");
    }

    #[test]
    fn rfc3339_of_a_known_instant() {
        let t = UNIX_EPOCH + std::time::Duration::from_secs(1_704_067_200 + 3_723);
        assert_eq!(rfc3339(t), "2024-01-01T01:02:03Z");
    }
}
