//! `/api/v1/query` and `/api/v1/query_range`: PromQL evaluation with Prometheus' response
//! shapes (`{"status":"success","data":{"resultType":...,"result":[...]}}`, timestamps as
//! Unix seconds, values as strings) and error classes (400 `bad_data`, 422 `execution`,
//! 503 `timeout`, 500 `internal`). Range queries go through the [`ResultCache`] when one
//! is configured and the request does not say `nocache=1`.

use std::fmt::Write as _;
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use axum::body::Bytes;
use axum::extract::{RawQuery, State};
use axum::http::StatusCode;
use axum::response::Response;
use gnomon_tsdb_core::model::{Labels, Sample};

use super::cache::{ResultCache, cacheable, merge};
use super::format::parse_query_param;
use super::json::{write_json_string, write_labels_object};
use super::{ApiError, Params, SharedQuerier, blocking, json_response};
use crate::Expr;
use crate::engine::{
    AnnotationKind, Engine, EngineOptions, EvalError, Evaluation, RangeSeries, Value,
};
use crate::parser::ast::ValueType;
use crate::parser::typecheck::type_of;

/// Settings of the query endpoints (the server builds them from its `-search.*` flags).
#[derive(Clone, Debug)]
pub struct QueryConfig {
    /// The evaluator's limits; `timeout` is the longest a query may run
    /// (`-search.maxQueryDuration`), which a request's `timeout` argument may only lower.
    /// `max_points_per_series` bounds `(end - start) / step` of range queries.
    pub engine: EngineOptions,
    /// The result cache of range queries; `None` disables it (`-search.disableCache`).
    pub cache: Option<Arc<ResultCache>>,
}

impl Default for QueryConfig {
    /// Prometheus' API: at most 11,000 points per series, a 2 min timeout, no cache.
    fn default() -> Self {
        QueryConfig {
            engine: EngineOptions {
                max_points_per_series: 11_000,
                ..EngineOptions::default()
            },
            cache: None,
        }
    }
}

/// The state of the query handlers.
#[derive(Clone)]
pub(super) struct QueryState {
    pub querier: SharedQuerier,
    pub config: Arc<QueryConfig>,
}

/// `GET|POST /api/v1/query?query=&time=&timeout=`.
pub(super) async fn instant(
    State(st): State<QueryState>,
    RawQuery(query): RawQuery,
    body: Bytes,
) -> Result<Response, ApiError> {
    let q = st.querier;
    let params = Params::parse(query.as_deref(), &body);
    let text = required_query(&params)?;
    let t = match params.time("time").map_err(|_| bad_time(&params, "time"))? {
        Some(t) => t,
        None => now_ms(),
    };
    let engine = engine(&params, &st.config.engine)?;
    let expr = parse_query_param(&params)?;
    let eval = blocking(move || {
        engine
            .instant_annotated(q.as_ref(), &expr, t)
            .map_err(eval_error)
    })
    .await?;
    Ok(success(&eval, &text))
}

/// `GET|POST /api/v1/query_range?query=&start=&end=&step=&timeout=&nocache=`.
pub(super) async fn range(
    State(st): State<QueryState>,
    RawQuery(query): RawQuery,
    body: Bytes,
) -> Result<Response, ApiError> {
    let q = st.querier;
    let params = Params::parse(query.as_deref(), &body);
    let text = required_query(&params)?;
    let start = required_time(&params, "start")?;
    let end = required_time(&params, "end")?;
    if end < start {
        return Err(ApiError::bad_data(
            "invalid parameter \"end\": end timestamp must not be before start time",
        ));
    }
    let step = match params.get("step") {
        None | Some("") => return Err(ApiError::bad_data("invalid parameter \"step\": missing")),
        Some(s) => parse_duration(s).ok_or_else(|| {
            ApiError::bad_data(format!(
                "invalid parameter \"step\": cannot parse {s:?} to a valid duration"
            ))
        })?,
    };
    if step <= 0 {
        return Err(ApiError::bad_data(
            "zero or negative query resolution step widths are not accepted. Try a positive integer",
        ));
    }
    let max_points = st.config.engine.max_points_per_series;
    if (end - start) / step > i64::try_from(max_points).unwrap_or(i64::MAX) {
        return Err(ApiError::bad_data(format!(
            "exceeded maximum resolution of {} points per timeseries. Try decreasing the query resolution (?step=XX)",
            thousands(max_points)
        )));
    }
    // Prometheus' rule, checked above, allows `max_points + 1` steps.
    let opts = EngineOptions {
        max_points_per_series: max_points.saturating_add(1),
        ..st.config.engine.clone()
    };
    let engine = engine(&params, &opts)?;
    let expr = parse_query_param(&params)?;
    let ty = type_of(&expr);
    if ty != ValueType::Scalar && ty != ValueType::Vector {
        return Err(ApiError::bad_data(format!(
            "invalid parameter \"query\": invalid expression type {:?} for range query, must be Scalar or instant Vector",
            ty.name()
        )));
    }
    let nocache = matches!(params.get("nocache"), Some("1" | "true"));
    let cache = st.config.cache.clone().filter(|_| !nocache);
    let eval = blocking(move || match cache {
        Some(c) => cached_range(&engine, &c, q.as_ref(), &expr, (start, end, step)),
        None => engine
            .range_annotated(q.as_ref(), &expr, start, end, step)
            .map_err(eval_error),
    })
    .await?;
    Ok(success(&eval, &text))
}

/// A range query through the result cache: the cached settled steps, the rest evaluated,
/// the settled part of the whole stored back.
fn cached_range(
    engine: &Engine,
    cache: &ResultCache,
    q: &dyn gnomon_tsdb_core::model::Querier,
    expr: &Expr,
    (start, end, step): (i64, i64, i64),
) -> Result<Evaluation, ApiError> {
    let key = expr.to_string();
    if !cacheable(&key) {
        return engine
            .range_annotated(q, expr, start, end, step)
            .map_err(eval_error);
    }
    let hit = cache.get(&key, start, end, step);
    let tail = if hit.next <= end {
        engine
            .range_annotated(q, expr, hit.next, end, step)
            .map_err(eval_error)?
    } else {
        Evaluation {
            value: Value::Matrix(Vec::new()),
            annotations: Vec::new(),
        }
    };
    let Value::Matrix(tail_series) = tail.value else {
        return Err(ApiError::internal("a range query gave a non-matrix result"));
    };
    let series = merge(hit.series, tail_series);
    if tail.annotations.is_empty() {
        cache.put(&key, (start, end, step), &series, now_ms(), hit.generation);
    }
    Ok(Evaluation {
        value: Value::Matrix(series),
        annotations: tail.annotations,
    })
}

/// `11000` as `11,000`.
fn thousands(n: usize) -> String {
    let digits = n.to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

fn required_query(params: &Params) -> Result<String, ApiError> {
    match params.get("query") {
        None | Some("") => Err(ApiError::bad_data("missing `query` arg")),
        Some(q) => Ok(q.to_string()),
    }
}

fn bad_time(params: &Params, key: &str) -> ApiError {
    ApiError::bad_data(format!(
        "invalid parameter {key:?}: cannot parse {:?} to a valid timestamp",
        params.get(key).unwrap_or("")
    ))
}

fn required_time(params: &Params, key: &str) -> Result<i64, ApiError> {
    params
        .time(key)
        .map_err(|_| bad_time(params, key))?
        .ok_or_else(|| ApiError::bad_data(format!("invalid parameter {key:?}: missing")))
}

fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
}

/// The configured engine, with the request's `timeout` when it is shorter.
fn engine(params: &Params, base: &EngineOptions) -> Result<Engine, ApiError> {
    let mut opts = base.clone();
    if let Some(s) = params.get("timeout").filter(|s| !s.is_empty()) {
        let ms = parse_duration(s).filter(|&ms| ms >= 0).ok_or_else(|| {
            ApiError::bad_data(format!(
                "invalid parameter \"timeout\": cannot parse {s:?} to a valid duration"
            ))
        })?;
        let asked = Duration::from_millis(ms.unsigned_abs());
        opts.timeout = Some(opts.timeout.map_or(asked, |t| t.min(asked)));
    }
    Ok(Engine::new(opts))
}

/// Prometheus' status and error type of an evaluation error.
fn eval_error(e: EvalError) -> ApiError {
    let (status, error_type) = match &e {
        EvalError::Timeout(_) => (StatusCode::SERVICE_UNAVAILABLE, "timeout"),
        EvalError::Storage(_) => (StatusCode::INTERNAL_SERVER_ERROR, "internal"),
        _ => (StatusCode::UNPROCESSABLE_ENTITY, "execution"),
    };
    ApiError {
        status,
        error_type,
        message: e.to_string(),
    }
}

/// A Prometheus duration (`1h30m`, `15s`, `100ms`: integer parts, units from the
/// largest down, each at most once) or float seconds (`15`, `0.5`), in milliseconds.
pub(super) fn parse_duration(s: &str) -> Option<i64> {
    if let Ok(secs) = s.parse::<f64>() {
        let ms = (secs * 1000.0).round();
        return (secs.is_finite() && ms.abs() < 9.2e18).then_some(ms as i64);
    }
    const UNITS: [(&str, i64); 8] = [
        ("y", 365 * 86_400_000),
        ("w", 7 * 86_400_000),
        ("d", 86_400_000),
        ("h", 3_600_000),
        ("m", 60_000),
        ("s", 1000),
        ("ms", 1),
        ("", 0),
    ];
    let mut rest = s;
    let mut total: i64 = 0;
    let mut next_unit = 0;
    while !rest.is_empty() {
        let digits = rest.bytes().take_while(u8::is_ascii_digit).count();
        if digits == 0 {
            return None;
        }
        let n: i64 = rest[..digits].parse().ok()?;
        rest = &rest[digits..];
        // `ms` before `m`: the longer unit name wins.
        let (idx, (name, ms)) = UNITS[..7]
            .iter()
            .enumerate()
            .filter(|(_, (name, _))| rest.starts_with(name))
            .max_by_key(|(_, (name, _))| name.len())?;
        if idx < next_unit {
            return None;
        }
        next_unit = idx + 1;
        rest = &rest[name.len()..];
        total = total.checked_add(n.checked_mul(*ms)?)?;
    }
    (next_unit > 0).then_some(total)
}

/// The success envelope of an evaluation, with `warnings` / `infos` when it has any.
fn success(eval: &Evaluation, query: &str) -> Response {
    let mut out = String::from(r#"{"status":"success","data":{"resultType":"#);
    match &eval.value {
        Value::Scalar { t, v } => {
            out.push_str(r#""scalar","result":"#);
            write_point(&mut out, *t, *v);
        }
        Value::String { t, v } => {
            out.push_str(r#""string","result":["#);
            write_timestamp(&mut out, *t);
            out.push(',');
            write_json_string(&mut out, v);
            out.push(']');
        }
        Value::Vector(items) => {
            out.push_str(r#""vector","result":["#);
            for (i, s) in items.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write_metric(&mut out, &s.labels);
                out.push_str(r#","value":"#);
                write_point(&mut out, s.t, s.v);
                out.push('}');
            }
            out.push(']');
        }
        Value::Matrix(series) => {
            out.push_str(r#""matrix","result":["#);
            for (i, s) in series.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write_series(&mut out, s);
            }
            out.push(']');
        }
    }
    out.push('}');
    for (kind, key) in [
        (AnnotationKind::Warning, "warnings"),
        (AnnotationKind::Info, "infos"),
    ] {
        let mut notes = eval
            .annotations
            .iter()
            .filter(|a| a.kind == kind)
            .peekable();
        if notes.peek().is_none() {
            continue;
        }
        out.push_str(&format!(r#","{key}":["#));
        for (i, a) in notes.enumerate() {
            if i > 0 {
                out.push(',');
            }
            write_json_string(&mut out, &a.render(query));
        }
        out.push(']');
    }
    out.push('}');
    json_response(StatusCode::OK, out)
}

fn write_metric(out: &mut String, labels: &Labels) {
    out.push_str(r#"{"metric":"#);
    write_labels_object(out, labels);
}

fn write_series(out: &mut String, s: &RangeSeries) {
    write_metric(out, &s.labels);
    out.push_str(r#","values":["#);
    for (i, Sample { t, v }) in s.samples.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        write_point(out, *t, *v);
    }
    out.push_str("]}");
}

/// `[<seconds>,"<value>"]`.
fn write_point(out: &mut String, t: i64, v: f64) {
    out.push('[');
    write_timestamp(out, t);
    out.push_str(",\"");
    write_float(out, v);
    out.push_str("\"]");
}

/// Milliseconds as Unix seconds, the way Prometheus writes them: `1704067800`,
/// `1704067800.123`, `1.500` (always three fraction digits when there is a fraction).
pub(super) fn write_timestamp(out: &mut String, t: i64) {
    if t < 0 {
        out.push('-');
    }
    let abs = t.unsigned_abs();
    // `write!` into the String formats in place (no temporary per point); writing to a
    // String cannot fail.
    let _ = write!(out, "{}", abs / 1000);
    let frac = abs % 1000;
    if frac != 0 {
        let _ = write!(out, ".{frac:03}");
    }
}

/// A float as Prometheus writes sample values: Go's shortest `'f'` form, or `'e'` form
/// below 1e-6 and from 1e21 in magnitude (`1`, `0.5`, `1e+21`, `1e-07`), and `NaN`,
/// `+Inf`, `-Inf`.
pub(super) fn write_float(out: &mut String, v: f64) {
    if v.is_nan() {
        out.push_str("NaN");
    } else if v.is_infinite() {
        out.push_str(if v > 0.0 { "+Inf" } else { "-Inf" });
    } else if v != 0.0 && !(1e-6..1e21).contains(&v.abs()) {
        let e = format!("{v:e}");
        let (mantissa, exp) = e.split_once('e').unwrap_or((&e, "0"));
        let (sign, digits) = match exp.strip_prefix('-') {
            Some(d) => ('-', d),
            None => ('+', exp),
        };
        out.push_str(&format!("{mantissa}e{sign}{digits:0>2}"));
    } else {
        let _ = write!(out, "{v}");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn float(v: f64) -> String {
        let mut s = String::new();
        write_float(&mut s, v);
        s
    }

    fn ts(t: i64) -> String {
        let mut s = String::new();
        write_timestamp(&mut s, t);
        s
    }

    #[test]
    fn floats_format_as_prometheus_does() {
        assert_eq!(float(1.0), "1");
        assert_eq!(float(0.5), "0.5");
        assert_eq!(float(-0.0), "-0");
        assert_eq!(float(0.0), "0");
        assert_eq!(float(0.4666666666666667), "0.4666666666666667");
        assert_eq!(float(1e20), "100000000000000000000");
        assert_eq!(float(1e21), "1e+21");
        assert_eq!(float(-1.5e300), "-1.5e+300");
        assert_eq!(float(1e-7), "1e-07");
        assert_eq!(float(1e-6), "0.000001");
        assert_eq!(float(f64::NAN), "NaN");
        assert_eq!(float(f64::INFINITY), "+Inf");
        assert_eq!(float(f64::NEG_INFINITY), "-Inf");
    }

    #[test]
    fn timestamps_format_as_prometheus_does() {
        assert_eq!(ts(1_704_067_800_000), "1704067800");
        assert_eq!(ts(1_704_067_800_123), "1704067800.123");
        assert_eq!(ts(1500), "1.500");
        assert_eq!(ts(5), "0.005");
        assert_eq!(ts(-1500), "-1.500");
        assert_eq!(ts(i64::MIN), "-9223372036854775.808");
    }

    #[test]
    fn point_limits_render_with_thousands_separators() {
        assert_eq!(thousands(11_000), "11,000");
        assert_eq!(thousands(30_000), "30,000");
        assert_eq!(thousands(1_000_000), "1,000,000");
        assert_eq!(thousands(999), "999");
    }

    #[test]
    fn durations_parse_as_prometheus_does() {
        assert_eq!(parse_duration("15s"), Some(15_000));
        assert_eq!(parse_duration("1m"), Some(60_000));
        assert_eq!(parse_duration("1h30m"), Some(5_400_000));
        assert_eq!(parse_duration("100ms"), Some(100));
        assert_eq!(parse_duration("1m500ms"), Some(60_500));
        assert_eq!(parse_duration("15"), Some(15_000));
        assert_eq!(parse_duration("0.5"), Some(500));
        assert_eq!(parse_duration("-1"), Some(-1000));
        assert_eq!(parse_duration("30m1h"), None);
        assert_eq!(parse_duration("5x"), None);
        assert_eq!(parse_duration("m"), None);
        assert_eq!(parse_duration(""), None);
        assert_eq!(parse_duration("NaN"), None);
        assert_eq!(parse_duration("99999999999999999y"), None);
    }
}
