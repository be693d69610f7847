//! `/api/v1/export`: the samples of the series matching `match[]`, as JSON lines.

use std::collections::BTreeMap;
use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{RawQuery, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use gnomon_promql::http::{ApiError, Params, blocking};
use gnomon_tsdb_core::model::{Labels, Querier, Sample};

use crate::push::vmjson;

/// Content type VictoriaMetrics answers exports with.
const CONTENT_TYPE: &str = "application/stream+json; charset=utf-8";

pub(super) async fn handle(
    State(q): State<Arc<dyn Querier>>,
    RawQuery(query): RawQuery,
    body: Bytes,
) -> Result<Response, ApiError> {
    let params = Params::parse(query.as_deref(), &body);
    let selectors = params.matchers()?;
    if selectors.is_empty() {
        return Err(ApiError::bad_data("missing `match[]` arg"));
    }
    let range = params.time_range()?;
    let max_per_line = match params.get("max_rows_per_line").filter(|s| !s.is_empty()) {
        None => usize::MAX,
        Some(s) => match s.parse::<usize>() {
            Ok(0) => usize::MAX,
            Ok(n) => n,
            Err(_) => {
                return Err(ApiError::bad_data(format!(
                    "cannot parse max_rows_per_line={s:?}"
                )));
            }
        },
    };
    let out = blocking(move || {
        // Several selectors may match one series: a map keeps each once, in label order.
        let mut all: BTreeMap<Labels, Vec<Sample>> = BTreeMap::new();
        for matchers in &selectors {
            for series in q.select(matchers, range)? {
                let series = series?;
                all.entry(series.labels).or_insert(series.samples);
            }
        }
        let mut out = Vec::new();
        for (labels, samples) in &all {
            for chunk in samples.chunks(max_per_line.min(samples.len().max(1))) {
                vmjson::write_line(&mut out, labels, chunk);
            }
        }
        Ok(out)
    })
    .await?;
    let mut resp = (StatusCode::OK, out).into_response();
    resp.headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static(CONTENT_TYPE));
    Ok(resp)
}
