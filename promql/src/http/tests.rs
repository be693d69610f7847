//! Router tests of `/api/v1/format_query` and `/api/v1/parse_query`: whole requests
//! through [`router`], exact JSON bodies (the shapes Prometheus answers with).

use std::sync::Arc;

use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use gnomon_tsdb_core::model::{Labels, Matcher, Querier, SeriesIter, TimeRange};
use http_body_util::BodyExt;
use serde_json::{Value, json};
use tower::ServiceExt;

use super::router;

/// A store with nothing in it: these endpoints never read it.
struct Empty;

impl Querier for Empty {
    fn select(&self, _: &[Matcher], _: TimeRange) -> gnomon_tsdb_core::Result<SeriesIter> {
        Ok(Box::new(std::iter::empty()))
    }
    fn series(&self, _: &[Matcher], _: TimeRange) -> gnomon_tsdb_core::Result<Vec<Labels>> {
        Ok(Vec::new())
    }
    fn label_names(&self, _: &[Matcher], _: TimeRange) -> gnomon_tsdb_core::Result<Vec<String>> {
        Ok(Vec::new())
    }
    fn label_values(
        &self,
        _: &str,
        _: &[Matcher],
        _: TimeRange,
    ) -> gnomon_tsdb_core::Result<Vec<String>> {
        Ok(Vec::new())
    }
}

fn encode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'a'..=b'z' | b'A'..=b'Z' | b'0'..=b'9' | b'-' | b'_' | b'.' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

async fn send(req: Request<Body>) -> (StatusCode, String) {
    let resp = router(Arc::new(Empty)).oneshot(req).await.unwrap();
    let status = resp.status();
    assert_eq!(resp.headers()[header::CONTENT_TYPE], "application/json");
    let body = resp.into_body().collect().await.unwrap().to_bytes();
    (status, String::from_utf8(body.to_vec()).unwrap())
}

async fn get(endpoint: &str, query: &str) -> (StatusCode, String) {
    let uri = format!("/api/v1/{endpoint}?query={}", encode(query));
    send(Request::get(uri).body(Body::empty()).unwrap()).await
}

async fn ast(query: &str) -> Value {
    let (status, body) = get("parse_query", query).await;
    assert_eq!(status, StatusCode::OK, "{query}: {body}");
    let v: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(v["status"], "success", "{body}");
    v["data"].clone()
}

fn m(name: &str, value: &str, ty: &str) -> Value {
    json!({"name": name, "value": value, "type": ty})
}

fn vs(name: &str, matchers: Vec<Value>) -> Value {
    json!({"type": "vectorSelector", "name": name, "matchers": matchers,
        "offset": 0, "offsetExpr": null, "timestamp": null, "startOrEnd": null,
        "anchored": false, "smoothed": false})
}

fn foo() -> Value {
    vs("foo", vec![m("__name__", "foo", "=")])
}

fn bar() -> Value {
    vs("bar", vec![m("__name__", "bar", "=")])
}

fn num(v: &str) -> Value {
    json!({"type": "numberLiteral", "val": v})
}

fn str_lit(v: &str) -> Value {
    json!({"type": "stringLiteral", "val": v})
}

fn matrix(name: &str, range: i64, offset: i64, timestamp: Value) -> Value {
    json!({"type": "matrixSelector", "name": name, "range": range, "rangeExpr": null,
        "matchers": [m("__name__", name, "=")], "offset": offset, "offsetExpr": null,
        "timestamp": timestamp, "startOrEnd": null, "anchored": false, "smoothed": false})
}

fn call(name: &str, arg_types: &[&str], variadic: i64, ret: &str, args: Vec<Value>) -> Value {
    json!({"type": "call", "func": {"name": name, "argTypes": arg_types,
        "variadic": variadic, "returnType": ret}, "args": args})
}

fn matching(card: &str, labels: &[&str], on: bool, include: &[&str]) -> Value {
    json!({"card": card, "labels": labels, "on": on, "include": include,
        "fillValues": {"lhs": null, "rhs": null}})
}

fn binary(op: &str, lhs: Value, rhs: Value, matching: Value, bool_: bool) -> Value {
    json!({"type": "binaryExpr", "op": op, "lhs": lhs, "rhs": rhs,
        "matching": matching, "bool": bool_})
}

fn aggregation(op: &str, param: Value, expr: Value, grouping: &[&str], without: bool) -> Value {
    json!({"type": "aggregation", "op": op, "param": param, "expr": expr,
        "grouping": grouping, "without": without})
}

#[tokio::test]
async fn format_query_answers_the_canonical_text() {
    let (status, body) = get("format_query", "sum  BY(job)(rate(x{a='b'}[5m] ))  >bool 1").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        body,
        r#"{"status":"success","data":"sum by (job) (rate(x{a=\"b\"}[5m])) > bool 1"}"#
    );
    let (_, body) = get("format_query", "foo/on(instance)group_left(job)bar").await;
    assert_eq!(
        body,
        r#"{"status":"success","data":"foo / on(instance) group_left(job) bar"}"#
    );
}

#[tokio::test]
async fn format_query_takes_a_form_body() {
    let req = Request::post("/api/v1/format_query")
        .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
        .body(Body::from(format!(
            "query={}",
            encode("# a comment\n(foo)  offset 5m")
        )))
        .unwrap();
    assert_eq!(
        send(req).await,
        (
            StatusCode::OK,
            r#"{"status":"success","data":"foo offset 5m"}"#.to_string()
        )
    );
}

#[tokio::test]
async fn parse_errors_are_bad_data_with_the_position() {
    let (status, body) = get("format_query", "foo +").await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    let v: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(v["status"], "error");
    assert_eq!(v["errorType"], "bad_data");
    let msg = v["error"].as_str().unwrap();
    assert!(
        msg.starts_with(r#"invalid parameter "query": 1:6: parse error: "#),
        "{msg}"
    );
    for (q, want) in [
        ("", "1:1: parse error: expected expression"),
        (
            "time(1)",
            r#"1:1: parse error: function "time" takes 0 argument(s), 1 given"#,
        ),
        ("foo{", "1:5: parse error: expected label matcher"),
    ] {
        let (status, body) = get("parse_query", q).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{q}: {body}");
        let v: Value = serde_json::from_str(&body).unwrap();
        assert_eq!(
            v,
            json!({"status": "error", "errorType": "bad_data",
                "error": format!(r#"invalid parameter "query": {want}"#)})
        );
    }
}

#[tokio::test]
async fn selectors_with_matchers_put_the_name_matcher_last() {
    assert_eq!(
        ast(r#"up{job="api",status!~"5.."}"#).await,
        vs(
            "up",
            vec![
                m("job", "api", "="),
                m("status", "5..", "!~"),
                m("__name__", "up", "=")
            ]
        )
    );
    assert_eq!(
        ast(r#"{__name__="up"}"#).await,
        vs("", vec![m("__name__", "up", "=")])
    );
    assert_eq!(
        ast(r#"foo{job="value\"quoted\\slashed"}"#).await,
        vs(
            "foo",
            vec![
                m("job", "value\"quoted\\slashed", "="),
                m("__name__", "foo", "=")
            ]
        )
    );
}

#[tokio::test]
async fn ranges_offsets_and_at() {
    assert_eq!(
        ast("foo[5m] @ 1.23456789 offset 1m").await,
        matrix("foo", 300_000, 60_000, json!(1235))
    );
    assert_eq!(
        ast("foo[5m] offset -1m").await,
        matrix("foo", 300_000, -60_000, Value::Null)
    );
    let mut want = foo();
    want["startOrEnd"] = json!("end");
    want["offset"] = json!(300_000);
    assert_eq!(ast("foo @ end() offset 5m").await, want);
    let mut want = foo();
    want["timestamp"] = json!(123_000);
    assert_eq!(ast("foo @ 123").await, want);
}

#[tokio::test]
async fn aggregations_with_grouping_and_parameters() {
    assert_eq!(
        ast("sum by (instance) (foo)").await,
        aggregation("sum", Value::Null, foo(), &["instance"], false)
    );
    assert_eq!(
        ast("topk without (job) (3, foo)").await,
        aggregation("topk", num("3"), foo(), &["job"], true)
    );
    assert_eq!(
        ast(r#"count_values("version", foo)"#).await,
        aggregation("count_values", str_lit("version"), foo(), &[], false)
    );
}

#[tokio::test]
async fn binary_operators_with_matching_and_bool() {
    assert_eq!(
        ast("foo / on(instance) group_left(job) bar").await,
        binary(
            "/",
            foo(),
            bar(),
            matching("many-to-one", &["instance"], true, &["job"]),
            false
        )
    );
    assert_eq!(
        ast("foo + ignoring(a) bar").await,
        binary(
            "+",
            foo(),
            bar(),
            matching("one-to-one", &["a"], false, &[]),
            false
        )
    );
    assert_eq!(
        ast("foo unless bar").await,
        binary(
            "unless",
            foo(),
            bar(),
            matching("many-to-many", &[], false, &[]),
            false
        )
    );
    assert_eq!(
        ast("foo > bool 2").await,
        binary(">", foo(), num("2"), Value::Null, true)
    );
}

#[tokio::test]
async fn function_calls_report_their_signature() {
    assert_eq!(
        ast("rate(foo[5m])").await,
        call(
            "rate",
            &["matrix"],
            0,
            "vector",
            vec![matrix("foo", 300_000, 0, Value::Null)]
        )
    );
    assert_eq!(
        ast(r#"label_join(foo, "dst", ",", "a", "b")"#).await,
        call(
            "label_join",
            &["vector", "string", "string", "string"],
            -1,
            "vector",
            vec![
                foo(),
                str_lit("dst"),
                str_lit(","),
                str_lit("a"),
                str_lit("b")
            ]
        )
    );
    assert_eq!(
        ast("day_of_month()").await,
        call("day_of_month", &["vector"], 1, "vector", vec![])
    );
    assert_eq!(ast("time()").await, call("time", &[], 0, "scalar", vec![]));
}

#[tokio::test]
async fn subqueries() {
    let rate = call(
        "rate",
        &["matrix"],
        0,
        "vector",
        vec![matrix("foo", 300_000, 0, Value::Null)],
    );
    assert_eq!(
        ast("sum without (job) (rate(foo[5m]))[1h:1m] offset 10m").await,
        json!({"type": "subquery",
            "expr": aggregation("sum", Value::Null, rate, &["job"], true),
            "range": 3_600_000, "rangeExpr": null, "step": 60_000, "stepExpr": null,
            "offset": 600_000, "offsetExpr": null, "timestamp": null, "startOrEnd": null})
    );
    assert_eq!(
        ast("foo[1h:] @ start()").await,
        json!({"type": "subquery", "expr": foo(),
            "range": 3_600_000, "rangeExpr": null, "step": 0, "stepExpr": null,
            "offset": 0, "offsetExpr": null, "timestamp": null, "startOrEnd": "start"})
    );
}

#[tokio::test]
async fn literals_and_unary_minus() {
    assert_eq!(ast("1").await, num("1"));
    assert_eq!(ast("-1.5").await, num("-1.5"));
    assert_eq!(ast("Inf").await, num("+Inf"));
    assert_eq!(ast("0x10").await, num("16"));
    assert_eq!(ast(r#""a\nb""#).await, str_lit("a\nb"));
    assert_eq!(
        ast("-foo").await,
        json!({"type": "unaryExpr", "op": "-", "expr": foo()})
    );
    assert_eq!(
        ast("-(foo + 1)").await,
        json!({"type": "unaryExpr", "op": "-", "expr": {"type": "parenExpr",
            "expr": binary("+", foo(), num("1"), Value::Null, false)}})
    );
}

#[tokio::test]
async fn parse_query_bytes_match_prometheus_key_order() {
    let (status, body) = get("parse_query", "-1").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        body,
        r#"{"status":"success","data":{"type":"numberLiteral","val":"-1"}}"#
    );
}

/// A store for the evaluation endpoints: `m{job="a"}` = 1, 2, 3… and `m{job="b"}` = 10,
/// 20, 30… every 15s from 1704067200s; `gap` = 1 at 0s, stale at 60s, 2 from 120s.
fn query_store() -> Arc<dyn Querier> {
    use crate::engine::memstore::MemStore;
    use gnomon_tsdb_core::model::{STALE_NAN, Sample};
    let base = 1_704_067_200_000;
    let mut s = MemStore::new();
    for i in 0..20 {
        let t = base + i * 15_000;
        let v = (i + 1) as f64;
        s.add(
            &Labels::from_pairs(&[("__name__", "m"), ("job", "a")]),
            Sample::new(t, v),
        );
        s.add(
            &Labels::from_pairs(&[("__name__", "m"), ("job", "b")]),
            Sample::new(t, v * 10.0),
        );
    }
    let gap = Labels::from_pairs(&[("__name__", "gap")]);
    s.add(&gap, Sample::new(0, 1.0));
    s.add(&gap, Sample::new(60_000, STALE_NAN));
    for t in [120_000, 150_000, 180_000] {
        s.add(&gap, Sample::new(t, 2.0));
    }
    Arc::new(s)
}

async fn eval(endpoint: &str, args: &str) -> (StatusCode, String) {
    let req = Request::get(format!("/api/v1/{endpoint}?{args}"))
        .body(Body::empty())
        .unwrap();
    let resp = router(query_store()).oneshot(req).await.unwrap();
    let status = resp.status();
    assert_eq!(resp.headers()[header::CONTENT_TYPE], "application/json");
    let body = resp.into_body().collect().await.unwrap().to_bytes();
    (status, String::from_utf8(body.to_vec()).unwrap())
}

async fn eval_error(endpoint: &str, args: &str) -> (StatusCode, String, String) {
    let (status, body) = eval(endpoint, args).await;
    let v: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(v["status"], "error", "{body}");
    (
        status,
        v["errorType"].as_str().unwrap().to_string(),
        v["error"].as_str().unwrap().to_string(),
    )
}

#[tokio::test]
async fn query_answers_an_instant_vector() {
    let args = format!("query={}&time=1704067260", encode("m * 2"));
    let (status, body) = eval("query", &args).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(
        body,
        r#"{"status":"success","data":{"resultType":"vector","result":[{"metric":{"job":"a"},"value":[1704067260,"10"]},{"metric":{"job":"b"},"value":[1704067260,"100"]}]}}"#
    );
    // RFC 3339 time with milliseconds; the name is kept by a plain selector.
    let args = format!(
        "query={}&time=2024-01-01T00:01:00.5Z",
        encode("m{job=\"a\"}")
    );
    let (_, body) = eval("query", &args).await;
    assert_eq!(
        body,
        r#"{"status":"success","data":{"resultType":"vector","result":[{"metric":{"__name__":"m","job":"a"},"value":[1704067260.500,"5"]}]}}"#
    );
}

#[tokio::test]
async fn query_takes_a_form_body() {
    let req = Request::post("/api/v1/query")
        .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
        .body(Body::from(format!(
            "query={}&time=1704067200",
            encode("1/0")
        )))
        .unwrap();
    let resp = router(query_store()).oneshot(req).await.unwrap();
    assert_eq!(resp.status(), StatusCode::OK);
    let body = resp.into_body().collect().await.unwrap().to_bytes();
    assert_eq!(
        &body[..],
        br#"{"status":"success","data":{"resultType":"scalar","result":[1704067200,"+Inf"]}}"#
    );
}

#[tokio::test]
async fn query_answers_scalar_string_and_matrix() {
    let (status, body) = eval("query", &format!("query={}&time=100", encode("1+1"))).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        body,
        r#"{"status":"success","data":{"resultType":"scalar","result":[100,"2"]}}"#
    );
    let (_, body) = eval("query", &format!("query={}&time=1.5", encode("\"a\\\"b\""))).await;
    assert_eq!(
        body,
        r#"{"status":"success","data":{"resultType":"string","result":[1.500,"a\"b"]}}"#
    );
    let args = format!("query={}&time=1704067230", encode("m{job=\"b\"}[30s]"));
    let (_, body) = eval("query", &args).await;
    assert_eq!(
        body,
        r#"{"status":"success","data":{"resultType":"matrix","result":[{"metric":{"__name__":"m","job":"b"},"values":[[1704067215,"20"],[1704067230,"30"]]}]}}"#
    );
}

#[tokio::test]
async fn query_range_answers_a_matrix() {
    let args = format!(
        "query={}&start=1704067200&end=1704067260&step=30s",
        encode("sum(m)")
    );
    let (status, body) = eval("query_range", &args).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(
        body,
        r#"{"status":"success","data":{"resultType":"matrix","result":[{"metric":{},"values":[[1704067200,"11"],[1704067230,"33"],[1704067260,"55"]]}]}}"#
    );
    // Float seconds as the step, RFC 3339 bounds, a scalar expression.
    let args = format!(
        "query={}&start=2024-01-01T00:00:00Z&end=2024-01-01T00:00:01Z&step=0.5",
        encode("time()")
    );
    let (_, body) = eval("query_range", &args).await;
    assert_eq!(
        body,
        r#"{"status":"success","data":{"resultType":"matrix","result":[{"metric":{},"values":[[1704067200,"1704067200"],[1704067200.500,"1704067200.5"],[1704067201,"1704067201"]]}]}}"#
    );
}

#[tokio::test]
async fn query_range_leaves_out_points_after_a_stale_marker() {
    let args = format!("query=gap&start=0&end=180&step={}", encode("30"));
    let (status, body) = eval("query_range", &args).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(
        body,
        r#"{"status":"success","data":{"resultType":"matrix","result":[{"metric":{"__name__":"gap"},"values":[[0,"1"],[30,"1"],[120,"2"],[150,"2"],[180,"2"]]}]}}"#
    );
}

#[tokio::test]
async fn query_bad_parameters_are_bad_data() {
    let bad = StatusCode::BAD_REQUEST;
    let cases = [
        ("query", "time=1".to_string(), "missing `query` arg"),
        (
            "query",
            format!("query={}", encode("sum(m")),
            "invalid parameter \"query\": 1:",
        ),
        (
            "query",
            "query=m&time=yesterday".to_string(),
            "invalid parameter \"time\": cannot parse \"yesterday\" to a valid timestamp",
        ),
        (
            "query",
            "query=m&timeout=soon".to_string(),
            "invalid parameter \"timeout\"",
        ),
        (
            "query_range",
            "query=m&end=1&step=1".to_string(),
            "invalid parameter \"start\": missing",
        ),
        (
            "query_range",
            "query=m&start=10&end=5&step=1".to_string(),
            "invalid parameter \"end\": end timestamp must not be before start time",
        ),
        (
            "query_range",
            "query=m&start=1&end=5&step=0".to_string(),
            "zero or negative query resolution step widths are not accepted. Try a positive integer",
        ),
        (
            "query_range",
            "query=m&start=1&end=5&step=-1m".to_string(),
            "invalid parameter \"step\": cannot parse \"-1m\" to a valid duration",
        ),
        (
            "query_range",
            "query=m&start=0&end=11001&step=1".to_string(),
            "exceeded maximum resolution of 11,000 points per timeseries. Try decreasing the query resolution (?step=XX)",
        ),
        (
            "query_range",
            format!("query={}&start=0&end=1&step=1", encode("m[5m]")),
            "invalid parameter \"query\": invalid expression type \"range vector\" for range query, must be Scalar or instant Vector",
        ),
    ];
    for (endpoint, args, want) in cases {
        let (status, ty, msg) = eval_error(endpoint, &args).await;
        assert_eq!((status, ty.as_str()), (bad, "bad_data"), "{args}: {msg}");
        assert!(msg.starts_with(want), "{args}: {msg}");
    }
    // Exactly 11000 steps past the start is still allowed.
    let (status, _) = eval("query_range", "query=1&start=0&end=11000&step=1").await;
    assert_eq!(status, StatusCode::OK);
}

#[tokio::test]
async fn query_evaluation_errors_are_execution_and_timeouts_are_503() {
    // Two series per side with the same (empty) matching labels.
    let args = format!("query={}&time=1704067260", encode("m + on() m"));
    let (status, ty, msg) = eval_error("query", &args).await;
    assert_eq!(
        (status, ty.as_str()),
        (StatusCode::UNPROCESSABLE_ENTITY, "execution")
    );
    assert!(msg.starts_with("found duplicate series"), "{msg}");
    let args = format!("query={}&time=1704067260&timeout=0", encode("sum(m)"));
    let (status, ty, msg) = eval_error("query", &args).await;
    assert_eq!(
        (status, ty.as_str()),
        (StatusCode::SERVICE_UNAVAILABLE, "timeout")
    );
    assert!(msg.starts_with("query timed out"), "{msg}");
}

#[tokio::test]
async fn query_puts_annotations_in_the_envelope() {
    let args = format!(
        "query={}&start=1704067200&end=1704067230&step=15",
        encode("sort(m)")
    );
    let (status, body) = eval("query_range", &args).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(
        body,
        r#"{"status":"success","data":{"resultType":"matrix","result":[{"metric":{"__name__":"m","job":"a"},"values":[[1704067200,"1"],[1704067215,"2"],[1704067230,"3"]]},{"metric":{"__name__":"m","job":"b"},"values":[[1704067200,"10"],[1704067215,"20"],[1704067230,"30"]]}]},"warnings":["PromQL warning: sort is ineffective for range queries since results are always ordered by labels (1:1)"]}"#
    );
    let (_, body) = eval(
        "query",
        &format!("query={}&time=1704067230", encode("sort(m)")),
    )
    .await;
    assert!(!body.contains("warnings"), "{body}");
}

/// A store whose every read fails.
struct Broken;

impl Querier for Broken {
    fn select(&self, _: &[Matcher], _: TimeRange) -> gnomon_tsdb_core::Result<SeriesIter> {
        Err(gnomon_tsdb_core::Error::Closed)
    }
    fn series(&self, _: &[Matcher], _: TimeRange) -> gnomon_tsdb_core::Result<Vec<Labels>> {
        Err(gnomon_tsdb_core::Error::Closed)
    }
    fn label_names(&self, _: &[Matcher], _: TimeRange) -> gnomon_tsdb_core::Result<Vec<String>> {
        Err(gnomon_tsdb_core::Error::Closed)
    }
    fn label_values(
        &self,
        _: &str,
        _: &[Matcher],
        _: TimeRange,
    ) -> gnomon_tsdb_core::Result<Vec<String>> {
        Err(gnomon_tsdb_core::Error::Closed)
    }
}

#[tokio::test]
async fn query_storage_failures_are_internal() {
    let req = Request::get("/api/v1/query_range?query=m&start=0&end=60&step=15")
        .body(Body::empty())
        .unwrap();
    let resp = router(Arc::new(Broken)).oneshot(req).await.unwrap();
    assert_eq!(resp.status(), StatusCode::INTERNAL_SERVER_ERROR);
    let body = resp.into_body().collect().await.unwrap().to_bytes();
    let v: Value = serde_json::from_slice(&body).unwrap();
    assert_eq!(v["errorType"], "internal", "{v}");
    assert!(v["error"].as_str().unwrap().starts_with("storage: "), "{v}");
}
