//! The InfluxDB endpoints: line-protocol writes (`/write`, `/influx/write`,
//! `/api/v2/write`, `/influx/api/v2/write`), the `/ping` and `/influx/health` checks
//! clients make before writing, and the `SHOW DATABASES` answer some agents need from
//! `/query`.
//!
//! Write arguments: `db` (stored as the [`InfluxOptions::db_label`] label unless the line
//! has a tag of that name), `precision` (`ns` by default; `u`, `ms`, `s`, `m`, `h`) and
//! `extra_label`. Lines without a timestamp get the time the request arrived.
//!
//! [`InfluxOptions::db_label`]: super::InfluxOptions::db_label

use axum::body::Body;
use axum::extract::{RawQuery, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use gnomon_promql::http::Params;
use gnomon_tsdb_core::model::{Label, Labels, METRIC_NAME, Sample};

use super::ingest::{extra_labels, now_ms, run, text};
use super::sink::Sink;
use super::{InfluxOptions, IngestState, Protocol};
use crate::push::influx::{Precision, parse_line};
use crate::push::vmjson::write_string;

/// The InfluxDB version clients are told (the one VictoriaMetrics reports).
const INFLUX_VERSION: &str = "1.8.0";

pub(super) async fn write(
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
    let precision = params.get("precision").unwrap_or("");
    let Some(precision) = Precision::parse(precision) else {
        return text(
            StatusCode::BAD_REQUEST,
            format!("unsupported precision={precision:?}; want ns, u, ms, s, m or h"),
        );
    };
    let db = params.get("db").unwrap_or("").to_owned();
    let now = now_ms();
    let (relabel, counters, opts) = (
        st.opts.relabel.clone(),
        st.counters.clone(),
        st.opts.influx.clone(),
    );
    let mut resp = run(
        st,
        headers,
        raw,
        Protocol::Influx,
        false,
        move |data, lines_before, batch| {
            let mut sink = Sink::new(batch, &extra, relabel.as_deref(), &counters.relabel_dropped);
            let ctx = LineContext {
                opts: &opts,
                db: &db,
                precision,
                now,
            };
            ingest_lines(data, lines_before, &ctx, &mut sink)
        },
    )
    .await;
    version_header(&mut resp);
    resp
}

struct LineContext<'a> {
    opts: &'a InfluxOptions,
    db: &'a str,
    precision: Precision,
    now: i64,
}

fn ingest_lines(
    data: &[u8],
    lines_before: usize,
    ctx: &LineContext<'_>,
    sink: &mut Sink<'_>,
) -> gnomon_tsdb_core::Result<()> {
    let mut key = context_key(ctx);
    let ctx_key_len = key.len();
    for (i, raw) in data.split(|&b| b == b'\n').enumerate() {
        let line = match parse_line(raw) {
            Ok(Some(l)) => l,
            Ok(None) => continue,
            Err(e) => {
                sink.batch.bad_line(lines_before + i + 1, e.to_string());
                continue;
            }
        };
        let t = match line.timestamp {
            None => ctx.now,
            Some(ts) => match ctx.precision.to_ms(ts) {
                Some(t) => t,
                None => {
                    sink.batch.bad_line(
                        lines_before + i + 1,
                        format!("timestamp {ts} overflows in milliseconds"),
                    );
                    continue;
                }
            },
        };
        let db_label = &ctx.opts.db_label;
        let with_db = !db_label.is_empty() && !ctx.db.is_empty();
        key.truncate(ctx_key_len);
        // With -influxSkipSingleField the name depends on the line's field count.
        key.push(u8::from(line.fields_written == 1));
        key.extend_from_slice(&(line.raw_key.len() as u64).to_le_bytes());
        key.extend_from_slice(line.raw_key.as_bytes());
        let line_key_len = key.len();
        for (field, value) in &line.fields {
            key.truncate(line_key_len);
            key.extend_from_slice(field.as_bytes());
            let mut labels = || {
                let mut pairs: Vec<Label> = Vec::with_capacity(line.tags.len() + 2);
                if with_db {
                    pairs.push(Label::new(db_label.as_str(), ctx.db));
                }
                // Tags come after the db argument, so a `db` tag wins.
                pairs.extend(
                    line.tags
                        .iter()
                        .map(|(k, v)| Label::new(k.as_ref(), v.as_ref())),
                );
                pairs.push(Label::new(
                    METRIC_NAME,
                    line.metric_name(field, &ctx.opts.naming),
                ));
                Labels::new(pairs)
            };
            let sample = std::iter::once(Sample::new(t, *value));
            sink.append_series(Some(&key), &mut labels, sample)?;
        }
    }
    Ok(())
}

/// The part of the series keys of a request that every line shares: what shapes names
/// and labels besides the line itself (naming options, db label and argument), each
/// length-prefixed so that no two contexts share a key.
fn context_key(ctx: &LineContext<'_>) -> Vec<u8> {
    // Starts with 0xff like the remote-write keys, then differs from them: their next
    // bytes are "rw:".
    let mut key = b"\xffinflux:".to_vec();
    let n = &ctx.opts.naming;
    key.push(u8::from(n.skip_single_field) | (u8::from(n.skip_measurement) << 1));
    for part in [n.separator.as_str(), ctx.opts.db_label.as_str(), ctx.db] {
        key.extend_from_slice(&(part.len() as u64).to_le_bytes());
        key.extend_from_slice(part.as_bytes());
    }
    key
}

fn version_header(resp: &mut Response) {
    resp.headers_mut().insert(
        "X-Influxdb-Version",
        HeaderValue::from_static(INFLUX_VERSION),
    );
}

/// `/ping`: 204 with the version header, as InfluxDB answers.
pub(super) async fn ping() -> Response {
    let mut r = StatusCode::NO_CONTENT.into_response();
    version_header(&mut r);
    r
}

/// `/influx/health`: InfluxDB 2's health document.
pub(super) async fn health() -> Response {
    let mut r = (
        StatusCode::OK,
        r#"{"name":"influxdb","message":"ready for queries and writes","status":"pass","checks":[],"version":"1.8.0"}"#,
    )
        .into_response();
    r.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    r
}

/// `/query`: only `SHOW DATABASES`, listing [`InfluxOptions::database_names`]
/// (`_internal` when none are configured, as VictoriaMetrics answers).
pub(super) async fn query(
    State(st): State<IngestState>,
    RawQuery(query): RawQuery,
    body: axum::body::Bytes,
) -> Response {
    let params = Params::parse(query.as_deref(), &body);
    let q = params.get("q").unwrap_or("");
    let normalized: Vec<String> = q.split_whitespace().map(str::to_ascii_lowercase).collect();
    if normalized != ["show", "databases"] && normalized != ["show", "databases;"] {
        return text(
            StatusCode::BAD_REQUEST,
            format!("unsupported query {q:?}: only SHOW DATABASES is answered"),
        );
    }
    let names = &st.opts.influx.database_names;
    let default = ["_internal".to_owned()];
    let names = if names.is_empty() {
        &default[..]
    } else {
        names
    };
    let mut out = Vec::new();
    out.extend_from_slice(
        br#"{"results":[{"statement_id":0,"series":[{"name":"databases","columns":["name"],"values":["#,
    );
    for (i, n) in names.iter().enumerate() {
        if i > 0 {
            out.push(b',');
        }
        out.push(b'[');
        write_string(&mut out, n);
        out.push(b']');
    }
    out.extend_from_slice(b"]}]}]}");
    let mut r = (StatusCode::OK, out).into_response();
    r.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    version_header(&mut r);
    r
}
