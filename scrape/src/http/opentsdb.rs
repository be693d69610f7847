//! `POST /api/put` and `/opentsdb/api/put`: OpenTSDB JSON points (one object or an
//! array; gzip bodies accepted). Bad points are skipped and named in a 400 (`line N` is
//! the 1-based point number); the good ones are stored.

use axum::body::Body;
use axum::extract::{RawQuery, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use gnomon_promql::http::Params;
use gnomon_tsdb_core::model::{Label, Labels, METRIC_NAME, Sample};

use super::batch::Batch;
use super::ingest::{extra_labels, now_ms, run_whole_body, text};
use super::sink::Sink;
use super::{IngestState, Protocol, body};
use crate::push::opentsdb::{OpenTsdbError, parse_http};

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
    let gzip = match body::is_gzip(&headers) {
        Ok(g) => g,
        Err((status, msg)) => return text(status, msg),
    };
    let data = match body::read_all(raw, st.opts.max_body_bytes, gzip).await {
        Ok(b) => b,
        Err((status, msg)) => return text(status, format!("{msg} (-maxInsertRequestSize)")),
    };
    let now = now_ms();
    let counters = st.counters.clone();
    let work = move || {
        let points = parse_http(&data).map_err(|e| {
            (
                StatusCode::BAD_REQUEST,
                format!("cannot parse OpenTSDB put body: {e}"),
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
        let mut stored = Ok(());
        for (i, p) in points.into_iter().enumerate() {
            match p {
                Ok(p) => {
                    let mut pairs: Vec<Label> =
                        p.tags.into_iter().map(|(k, v)| Label::new(k, v)).collect();
                    pairs.push(Label::new(METRIC_NAME, p.metric));
                    let sample = Sample::new(p.timestamp_ms.unwrap_or(now), p.value);
                    stored = sink.append(Labels::new(pairs), sample);
                    if stored.is_err() {
                        break;
                    }
                }
                Err(OpenTsdbError::BadPoint { what, .. }) => sink.batch.bad_line(i + 1, what),
                Err(e) => sink.batch.bad_line(i + 1, e.to_string()),
            }
        }
        let committed = batch.committed();
        Ok(stored
            .and_then(|()| batch.finish())
            .map_err(|e| (committed, e)))
    };
    run_whole_body(counters, Protocol::OpenTsdbHttp, work).await
}
