//! `POST /api/v1/import/csv?format=...`: CSV rows with VictoriaMetrics' column spec
//! (see [`crate::push::csv`]); rows without a time column get the request's time.
//! Streamed in runs of lines like the other line protocols.

use axum::body::Body;
use axum::extract::{RawQuery, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use gnomon_promql::http::Params;
use gnomon_tsdb_core::model::{Label, Labels, METRIC_NAME, Sample};

use super::ingest::{extra_labels, now_ms, run, text};
use super::sink::Sink;
use super::{IngestState, Protocol};
use crate::push::csv::CsvSpec;

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
    let spec = match CsvSpec::parse(params.get("format").unwrap_or("")) {
        Ok(s) => s,
        Err(e) => return text(StatusCode::BAD_REQUEST, format!("cannot parse format: {e}")),
    };
    let now = now_ms();
    let (relabel, counters) = (st.opts.relabel.clone(), st.counters.clone());
    run(
        st,
        headers,
        raw,
        Protocol::Csv,
        false,
        move |data, lines_before, batch| {
            let mut sink = Sink::new(batch, &extra, relabel.as_deref(), &counters.relabel_dropped);
            for (i, row) in data.split(|&b| b == b'\n').enumerate() {
                let mut samples = Vec::new();
                let parsed = spec.parse_row(row, |(name, labels, value, ts)| {
                    let mut pairs: Vec<Label> = labels
                        .iter()
                        .map(|(k, v)| Label::new(k.as_str(), v.as_str()))
                        .collect();
                    pairs.push(Label::new(METRIC_NAME, name));
                    samples.push((Labels::new(pairs), Sample::new(ts.unwrap_or(now), value)));
                });
                if let Err(e) = parsed {
                    sink.batch.bad_line(lines_before + i + 1, e.to_string());
                    continue;
                }
                for (labels, sample) in samples {
                    sink.append(labels, sample)?;
                }
            }
            Ok(())
        },
    )
    .await
}
