//! `/api/v1/series`: label sets of the series matching `match[]`.

use std::collections::BTreeSet;

use axum::body::Bytes;
use axum::extract::{RawQuery, State};
use axum::http::StatusCode;
use axum::response::Response;

use super::json::{success_list, write_labels_object};
use super::{ApiError, Params, SharedQuerier, blocking, json_response};

pub(super) async fn handle(
    State(q): State<SharedQuerier>,
    RawQuery(query): RawQuery,
    body: Bytes,
) -> Result<Response, ApiError> {
    let params = Params::parse(query.as_deref(), &body);
    let selectors = params.matchers()?;
    if selectors.is_empty() {
        return Err(ApiError::bad_data("missing `match[]` arg"));
    }
    let range = params.time_range()?;
    let limit = params.limit()?;
    let series = blocking(move || {
        let mut all = BTreeSet::new();
        for matchers in &selectors {
            all.extend(q.series(matchers, range)?);
        }
        Ok(all)
    })
    .await?;
    let mut list: Vec<_> = series.into_iter().collect();
    if let Some(n) = limit {
        list.truncate(n);
    }
    Ok(json_response(
        StatusCode::OK,
        success_list(&list, write_labels_object),
    ))
}
