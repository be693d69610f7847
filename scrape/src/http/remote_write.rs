//! `POST /api/v1/write`: Prometheus remote write 1.0 (snappy block + protobuf).
//!
//! The body is read whole (at most `max_body_bytes`, and at most that decompressed),
//! checked whole, then appended: an undecodable body stores nothing and gets 400 (which
//! senders do not retry), a stored one gets 204. Series without labels are skipped and
//! named in a 400, as malformed lines are for the text protocols.

use axum::body::Body;
use axum::extract::{RawQuery, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::Response;
use gnomon_promql::http::Params;

use super::batch::Batch;
use super::ingest::{extra_labels, run_whole_body, text};
use super::sink::{BINARY_KEY_PREFIX, Sink};
use super::{IngestState, Protocol, body};
use crate::push::remote_write::{WriteRequest, decompress};

pub(super) async fn handle(
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
    let encoding = headers
        .get(header::CONTENT_ENCODING)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("snappy")
        .trim()
        .to_ascii_lowercase();
    if !matches!(encoding.as_str(), "snappy" | "" | "identity") {
        return text(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            format!("unsupported Content-Encoding {encoding:?}; remote write bodies are snappy"),
        );
    }
    let max = st.opts.max_body_bytes;
    let compressed = match body::read_all(raw, max, false).await {
        Ok(b) => b,
        Err((status, msg)) => return text(status, format!("{msg} (-maxInsertRequestSize)")),
    };
    let counters = st.counters.clone();
    let work = move || {
        let msg = match decompress(&compressed, max) {
            Ok(m) => m,
            Err(e) => {
                let status = match e {
                    crate::push::remote_write::RemoteWriteError::TooLarge { .. } => {
                        StatusCode::PAYLOAD_TOO_LARGE
                    }
                    _ => StatusCode::BAD_REQUEST,
                };
                return Err((status, format!("cannot decode remote write request: {e}")));
            }
        };
        let req = WriteRequest::parse(&msg).map_err(|e| {
            (
                StatusCode::BAD_REQUEST,
                format!("cannot decode remote write request: {e}"),
            )
        })?;
        let mut batch = Batch::new(
            (st.appenders)(),
            st.opts.batch_rows,
            st.opts.max_reported_errors,
        );
        let mut sink = Sink::new(
            &mut batch,
            &extra,
            st.opts.relabel.as_deref(),
            &st.counters.relabel_dropped,
        );
        let mut key = Vec::new();
        let mut stored = Ok(());
        for (i, ts) in req.series.iter().enumerate() {
            if ts.counts().0 == 0 {
                sink.batch
                    .bad_line(i + 1, "time series has no labels".to_owned());
                continue;
            }
            let k = ts.label_key().map(|raw| {
                key.clear();
                key.extend_from_slice(BINARY_KEY_PREFIX);
                key.extend_from_slice(raw);
                &key[..]
            });
            stored = sink.append_series(k, &mut || ts.to_labels(), ts.samples());
            if stored.is_err() {
                break;
            }
        }
        let committed = batch.committed();
        match stored.and_then(|()| batch.finish()) {
            Ok(report) => Ok(Ok(report)),
            Err(e) => Ok(Err((committed, e))),
        }
    };
    run_whole_body(counters, Protocol::RemoteWrite, work).await
}
