//! The ingest handlers: decode the body, append line by line, answer.

use std::time::{SystemTime, UNIX_EPOCH};

use axum::body::Body;
use axum::extract::{RawQuery, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use gnomon_promql::http::{Params, parse_time};
use gnomon_tsdb_core::model::Label;

use super::batch::{Batch, IngestReport};
use super::sink::Sink;
use super::{IngestCounters, IngestState, Protocol, body};
use crate::push::vmjson;
use crate::textparse::{Format, format_from_content_type};

/// `POST /api/v1/import/prometheus`.
pub(super) async fn prometheus(
    State(st): State<IngestState>,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
    raw: Body,
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
    // OpenMetrics needs the whole body (`# EOF`, `_created` lines); Prometheus text is
    // processed in runs of lines as it arrives.
    let whole = matches!(format_from_content_type(&content_type), Format::OpenMetrics);
    let (relabel, counters) = (st.opts.relabel.clone(), st.counters.clone());
    run(
        st,
        headers,
        raw,
        Protocol::Prometheus,
        whole,
        move |data, lines_before, batch| {
            let mut sink = Sink::new(batch, &extra, relabel.as_deref(), &counters.relabel_dropped);
            super::prometheus::ingest(data, &content_type, default_ts, lines_before, &mut sink)
        },
    )
    .await
}

/// `POST /api/v1/import`.
pub(super) async fn vmimport(
    State(st): State<IngestState>,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
    raw: Body,
) -> Response {
    let params = Params::parse(query.as_deref(), b"");
    let extra = match extra_labels(&params) {
        Ok(e) => e,
        Err(msg) => return text(StatusCode::BAD_REQUEST, msg),
    };
    let (relabel, counters) = (st.opts.relabel.clone(), st.counters.clone());
    run(
        st,
        headers,
        raw,
        Protocol::VmImport,
        false,
        move |data, lines_before, batch| {
            let mut sink = Sink::new(batch, &extra, relabel.as_deref(), &counters.relabel_dropped);
            vmimport_lines(data, lines_before, &mut sink)
        },
    )
    .await
}

fn vmimport_lines(
    data: &[u8],
    lines_before: usize,
    sink: &mut Sink<'_>,
) -> gnomon_tsdb_core::Result<()> {
    for (i, line) in data.split(|&b| b == b'\n').enumerate() {
        if line.iter().all(u8::is_ascii_whitespace) {
            continue;
        }
        match vmjson::parse_line(line) {
            Ok(parsed) => {
                let labels = parsed.labels;
                sink.append_series(None, &mut || labels.clone(), parsed.samples.into_iter())?;
            }
            Err(e) => sink.batch.bad_line(lines_before + i + 1, e.to_string()),
        }
    }
    Ok(())
}

/// What stops an ingest request early.
enum Stop {
    /// The body could not be read or is too large.
    Body(body::BodyError),
    /// A commit failed.
    Store(gnomon_tsdb_core::Error),
}

impl From<body::BodyError> for Stop {
    fn from(e: body::BodyError) -> Self {
        Stop::Body(e)
    }
}

/// Streams the body to a blocking worker that runs `lines` over runs of complete lines
/// (the whole body when `whole`) with one batch, then turns the outcome into the
/// response: 204 when every line was good, 400 naming the bad lines, 413 for an
/// oversized line, 503 when a commit failed. Rows of lines before a body error stay
/// stored.
pub(super) async fn run(
    st: IngestState,
    headers: HeaderMap,
    raw: Body,
    kind: Protocol,
    whole: bool,
    mut lines: impl FnMut(&[u8], usize, &mut Batch) -> gnomon_tsdb_core::Result<()> + Send + 'static,
) -> Response {
    let gzip = match body::is_gzip(&headers) {
        Ok(g) => g,
        Err((status, msg)) => return text(status, msg),
    };
    let rx = body::forward(raw);
    let counters = st.counters.clone();
    let work = move || {
        let mut batch = Batch::new(
            (st.appenders)(),
            st.opts.batch_rows,
            st.opts.max_reported_errors,
        );
        let reader = body::ChannelReader::new(rx);
        let max = st.opts.max_body_bytes;
        let mut each =
            |data: &[u8], before: usize| lines(data, before, &mut batch).map_err(Stop::Store);
        let streamed = if gzip {
            body::for_each_lines(
                flate2::read::MultiGzDecoder::new(reader),
                max,
                whole,
                &mut each,
            )
        } else {
            body::for_each_lines(reader, max, whole, &mut each)
        };
        let committed = batch.committed();
        match streamed {
            Ok(()) => batch.finish().map_err(|e| (committed, Stop::Store(e))),
            Err(stop) => {
                // Keep what the valid lines before the failure appended.
                let committed = batch.finish().map_or(committed, |r| r.rows);
                Err((committed, stop))
            }
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
    let rows_counter = counters.rows(kind);
    match outcome {
        Ok(report) => {
            IngestCounters::add(rows_counter, report.rows);
            IngestCounters::add(&counters.bad_lines, report.bad_lines as u64);
            answer(&report)
        }
        Err((committed, Stop::Store(e))) => {
            IngestCounters::add(rows_counter, committed);
            store_failed(&e)
        }
        Err((committed, Stop::Body((status, msg)))) => {
            IngestCounters::add(rows_counter, committed);
            text(
                status,
                format!("{msg}; {committed} row(s) before it were stored"),
            )
        }
    }
}

/// How a whole-body push job ended: its report, a failed commit after `committed` rows,
/// or a body rejected before anything was stored (status and message).
pub(super) type WholeBodyOutcome =
    Result<Result<IngestReport, (u64, gnomon_tsdb_core::Error)>, (StatusCode, String)>;

/// Runs a whole-body push job off the async threads, counts its rows under `protocol`
/// and answers as every push endpoint does: 204, a 400 naming the bad lines, 503 for a
/// failed commit, or the status of a rejected body.
pub(super) async fn run_whole_body(
    counters: std::sync::Arc<IngestCounters>,
    protocol: Protocol,
    work: impl FnOnce() -> WholeBodyOutcome + Send + 'static,
) -> Response {
    let outcome = match tokio::task::spawn_blocking(work).await {
        Ok(o) => o,
        Err(e) => {
            return text(
                StatusCode::INTERNAL_SERVER_ERROR,
                format!("{} worker failed: {e}", protocol.type_label()),
            );
        }
    };
    let rows = counters.rows(protocol);
    match outcome {
        Err((status, msg)) => {
            IngestCounters::add(&counters.bad_lines, 1);
            log::warn!("{msg}");
            text(status, msg)
        }
        Ok(Ok(report)) => {
            IngestCounters::add(rows, report.rows);
            IngestCounters::add(&counters.bad_lines, report.bad_lines as u64);
            answer(&report)
        }
        Ok(Err((committed, e))) => {
            IngestCounters::add(rows, committed);
            store_failed(&e)
        }
    }
}

/// The 503 answer to a failed commit.
pub(super) fn store_failed(e: &gnomon_tsdb_core::Error) -> Response {
    log::error!("cannot store ingested rows: {e}");
    text(
        StatusCode::SERVICE_UNAVAILABLE,
        format!("cannot store rows: {e}"),
    )
}

/// 204 when every line was good, else 400 naming the bad ones.
pub(super) fn answer(report: &IngestReport) -> Response {
    if report.bad_lines == 0 {
        StatusCode::NO_CONTENT.into_response()
    } else {
        log::warn!("{}", report.error_text().lines().next().unwrap_or_default());
        text(StatusCode::BAD_REQUEST, report.error_text())
    }
}

/// A plain-text response.
pub(super) fn text(status: StatusCode, msg: String) -> Response {
    let mut r = (status, msg).into_response();
    r.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/plain; charset=utf-8"),
    );
    r
}

/// `extra_label=name=value` arguments, repeatable.
pub(super) fn extra_labels(params: &Params) -> Result<Vec<Label>, String> {
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

pub(super) fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
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
    fn extra_labels_parse() {
        let p = Params::parse(Some("extra_label=job=x&extra_label=env=prod"), b"");
        let extra = extra_labels(&p).unwrap();
        assert_eq!(
            extra,
            vec![Label::new("job", "x"), Label::new("env", "prod")]
        );
        let p = Params::parse(Some("extra_label=nope"), b"");
        assert!(extra_labels(&p).unwrap_err().contains("nope"));
    }
}
