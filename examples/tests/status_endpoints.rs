//! The status endpoints of the `gnomon` binary over real storage: `/api/v1/status/tsdb`
//! (VictoriaMetrics' arguments and fields, Prometheus' `headStats`), buildinfo, metadata,
//! exemplars, and the `/prometheus` prefix.

mod common;

use std::time::{SystemTime, UNIX_EPOCH};

use common::{Server, data_dir, enc, tempdir};
use serde_json::json;

fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_millis() as i64
}

#[test]
fn tsdb_status_counts_series_like_victoriametrics() {
    let dir = tempdir();
    let srv = Server::start(&data_dir(&dir), &["-retentionPeriod=100y"]);
    let t = now_ms() - 60_000;
    let old = 1_704_067_200_000i64; // 2024-01-01
    let text = format!(
        "up{{job=\"a\",instance=\"x\"}} 1 {t}\n\
         up{{job=\"a\",instance=\"y\"}} 1 {t}\n\
         up{{job=\"b\",instance=\"x\"}} 0 {t}\n\
         cpu{{job=\"a\"}} 3 {t}\n\
         old_metric{{job=\"c\"}} 1 {old}\n"
    );
    let r = srv.post("/api/v1/import/prometheus", text.as_bytes());
    assert_eq!(r.status, 204, "{}", r.text());
    // headStats' time bounds come from flushed parts.
    assert_eq!(srv.get("/internal/force_flush").status, 200);

    // Today by default: the 2024 series is not counted.
    let v = srv.get("/api/v1/status/tsdb").json();
    assert_eq!(v["status"], "success");
    let d = &v["data"];
    assert_eq!(d["totalSeries"], 4);
    assert_eq!(
        d["seriesCountByMetricName"],
        json!([{"name": "up", "value": 3}, {"name": "cpu", "value": 1}])
    );
    // Equal counts are ordered by name.
    let pairs = d["seriesCountByLabelValuePair"].as_array().unwrap();
    assert_eq!(pairs[0], json!({"name": "__name__=up", "value": 3}));
    assert_eq!(pairs[1], json!({"name": "job=a", "value": 3}));
    assert_eq!(
        d["labelValueCountByLabelName"],
        json!([
            {"name": "__name__", "value": 2},
            {"name": "instance", "value": 2},
            {"name": "job", "value": 2}
        ])
    );
    assert_eq!(d["headStats"]["numSeries"], 4);
    assert_eq!(d["headStats"]["minTime"], old);
    assert_eq!(d["headStats"]["maxTime"], t);

    // All days, a selector, a focus label and topN, under the /prometheus prefix too.
    for prefix in ["", "/prometheus"] {
        let path = format!(
            "{prefix}/api/v1/status/tsdb?date=1970-01-01&topN=1&focusLabel=instance&match[]={}",
            enc("{job=~\"a|c\"}")
        );
        let d = srv.get(&path).json()["data"].clone();
        assert_eq!(d["totalSeries"], 4, "{prefix}");
        assert_eq!(
            d["seriesCountByMetricName"],
            json!([{"name": "up", "value": 2}])
        );
        assert_eq!(
            d["seriesCountByFocusLabelValue"],
            json!([{"name": "x", "value": 1}])
        );
    }
    let r = srv.get("/api/v1/status/tsdb?date=yesterday");
    assert_eq!(r.status, 400);
    assert_eq!(r.json()["errorType"], "bad_data");
}

#[test]
fn grafana_side_endpoints_answer() {
    let dir = tempdir();
    let srv = Server::start(&data_dir(&dir), &[]);
    let v = srv.get("/api/v1/status/buildinfo").json();
    assert_eq!(v["data"]["application"], "gnomon");
    assert!(v["data"]["version"].is_string());
    let v = srv.get("/api/v1/metadata?metric=up&limit=10").json();
    assert_eq!(v, json!({"status": "success", "data": {}}));
    let v = srv
        .get(&format!(
            "/api/v1/query_exemplars?query={}",
            enc("rate(x[5m])")
        ))
        .json();
    assert_eq!(v, json!({"status": "success", "data": []}));
    let v = srv.get("/prometheus/api/v1/query?query=1%2B1").json();
    assert_eq!(v["data"]["resultType"], "scalar");
    assert_eq!(v["data"]["result"][1], "2");
    let r = srv.post("/prometheus/api/v1/labels", b"match[]=up");
    assert_eq!(r.status, 200);
    assert_eq!(r.json(), json!({"status": "success", "data": []}));
}
