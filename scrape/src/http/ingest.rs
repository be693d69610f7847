//! The ingest handlers: decode the body, append line by line, answer.

use std::time::{SystemTime, UNIX_EPOCH};

use axum::body::Bytes;
use axum::extract::{RawQuery, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use gnomon_promql::http::{Params, parse_time};
use gnomon_tsdb_core::model::{Label, Labels, Sample};

use super::batch::{Batch, IngestReport};
use super::{IngestCounters, IngestState, body};
use crate::push::vmjson;

/// `POST /api/v1/import/prometheus`.
pub(super) async fn prometheus(
    State(st): State<IngestState>,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
    raw: Bytes,
) -> Response {
    let params = Params::parse(query.as_deref(), b"");
    let extra = match extra_labels(&params) {
        Ok(e) => e,
        Err(msg) => return text(StatusCode::BAD_REQUEST, msg),
    };
    let default_ts = match params.get("timestamp").filter(|s| !s.is_empty()) {
        None => now_ms(),
        Some(s) => match parse_request_timestamp(s) {
            Some(t) => t,
            None => {
                return text(
                    StatusCode::BAD_REQUEST,
                    format!(
                        "cannot parse timestamp={s:?}: want Unix seconds, milliseconds or RFC 3339"
                    ),
                );
            }
        },
    };
    let content_type = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_owned();
    run(
        st,
        headers,
        raw,
        IngestKind::Prometheus,
        move |data, batch| {
            super::prometheus::ingest(data, &content_type, &extra, default_ts, batch)
        },
    )
    .await
}

/// `POST /api/v1/import`.
pub(super) async fn vmimport(
    State(st): State<IngestState>,
    headers: HeaderMap,
    raw: Bytes,
) -> Response {
    run(st, headers, raw, IngestKind::VmImport, vmimport_lines).await
}

fn vmimport_lines(data: &[u8], batch: &mut Batch) -> gnomon_tsdb_core::Result<()> {
    for (i, line) in data.split(|&b| b == b'\n').enumerate() {
        if line.iter().all(u8::is_ascii_whitespace) {
            continue;
        }
        match vmjson::parse_line(line) {
            Ok(parsed) => {
                for s in parsed.samples {
                    batch.append(&parsed.labels, s)?;
                }
            }
            Err(e) => batch.bad_line(i + 1, e.to_string()),
        }
    }
    Ok(())
}

#[derive(Clone, Copy)]
enum IngestKind {
    Prometheus,
    VmImport,
}

/// Decodes the body and runs `lines` over it on a blocking thread with a fresh batch,
/// then turns the outcome into the response: 204 when every line was good, 400 naming
/// the bad lines, 503 when a commit failed.
async fn run(
    st: IngestState,
    headers: HeaderMap,
    raw: Bytes,
    kind: IngestKind,
    lines: impl FnOnce(&[u8], &mut Batch) -> gnomon_tsdb_core::Result<()> + Send + 'static,
) -> Response {
    let data = match body::decode(&headers, &raw, st.opts.max_body_bytes) {
        Ok(d) => d,
        Err((status, msg)) => return text(status, msg),
    };
    drop(raw);
    let counters = st.counters.clone();
    let work = move || {
        let mut batch = Batch::new(
            (st.appenders)(),
            st.opts.batch_rows,
            st.opts.max_reported_errors,
        );
        let outcome = lines(&data, &mut batch);
        let committed = batch.committed();
        match outcome.and_then(|()| batch.finish()) {
            Ok(report) => Ok(report),
            Err(e) => Err((committed, e)),
        }
    };
    let outcome = match tokio::task::spawn_blocking(work).await {
        Ok(o) => o,
        Err(e) => {
            return text(
                StatusCode::INTERNAL_SERVER_ERROR,
                format!("ingest worker failed: {e}"),
            );
        }
    };
    let rows_counter = match kind {
        IngestKind::Prometheus => &counters.prometheus_rows,
        IngestKind::VmImport => &counters.vmimport_rows,
    };
    match outcome {
        Ok(report) => {
            IngestCounters::add(rows_counter, report.rows);
            IngestCounters::add(&counters.bad_lines, report.bad_lines as u64);
            answer(&report)
        }
        Err((committed, e)) => {
            IngestCounters::add(rows_counter, committed);
            log::error!("cannot store ingested rows: {e}");
            text(
                StatusCode::SERVICE_UNAVAILABLE,
                format!("cannot store rows: {e}"),
            )
        }
    }
}

fn answer(report: &IngestReport) -> Response {
    if report.bad_lines == 0 {
        StatusCode::NO_CONTENT.into_response()
    } else {
        log::warn!("{}", report.error_text().lines().next().unwrap_or_default());
        text(StatusCode::BAD_REQUEST, report.error_text())
    }
}

fn text(status: StatusCode, msg: String) -> Response {
    let mut r = (status, msg).into_response();
    r.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/plain; charset=utf-8"),
    );
    r
}

/// `extra_label=name=value` arguments, repeatable.
fn extra_labels(params: &Params) -> Result<Vec<Label>, String> {
    params
        .all("extra_label")
        .map(|kv| match kv.split_once('=') {
            Some((n, v)) if !n.is_empty() => Ok(Label::new(n, v)),
            _ => Err(format!("cannot parse extra_label={kv:?}: want name=value")),
        })
        .collect()
}

/// The `timestamp` argument: integer milliseconds when it has 13 or more digits (as
/// VictoriaMetrics' clients send it), else Unix seconds or RFC 3339.
fn parse_request_timestamp(s: &str) -> Option<i64> {
    let digits = s.trim_start_matches('-');
    if digits.len() >= 13 && digits.bytes().all(|b| b.is_ascii_digit()) {
        return s.parse().ok();
    }
    parse_time(s)
}

fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
}

/// The label set of a parsed line with the request's extra labels applied (they win).
pub(super) fn with_extra(labels: Labels, extra: &[Label]) -> Labels {
    if extra.is_empty() {
        return labels;
    }
    let mut b = labels.builder();
    for l in extra {
        b.set(&l.name, &l.value);
    }
    b.build()
}

/// Appends one sample whose series is written as `series` (raw exposition text), using
/// the raw text as the series key when no extra labels change it.
pub(super) fn append_series(
    batch: &mut Batch,
    series: &[u8],
    extra: &[Label],
    labels: &mut dyn FnMut() -> Labels,
    sample: Sample,
) -> gnomon_tsdb_core::Result<()> {
    if extra.is_empty() {
        batch.append_keyed(series, labels, sample)
    } else {
        let l = with_extra(labels(), extra);
        batch.append(&l, sample)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timestamp_argument_forms() {
        assert_eq!(
            parse_request_timestamp("1704067200000"),
            Some(1_704_067_200_000)
        );
        assert_eq!(
            parse_request_timestamp("1704067200"),
            Some(1_704_067_200_000)
        );
        assert_eq!(
            parse_request_timestamp("2024-01-01T00:00:00Z"),
            Some(1_704_067_200_000)
        );
        assert_eq!(parse_request_timestamp("soon"), None);
    }

    #[test]
    fn extra_labels_override() {
        let p = Params::parse(Some("extra_label=job=x&extra_label=env=prod"), b"");
        let extra = extra_labels(&p).unwrap();
        let l = with_extra(
            Labels::from_pairs(&[("__name__", "up"), ("job", "a")]),
            &extra,
        );
        assert_eq!(l.to_string(), r#"{__name__="up", env="prod", job="x"}"#);
        let p = Params::parse(Some("extra_label=nope"), b"");
        assert!(extra_labels(&p).unwrap_err().contains("nope"));
    }
}
