//! `/api/v1/series`: label sets of the series matching `match[]`.

use std::collections::BTreeSet;

use axum::body::Bytes;
use axum::extract::{RawQuery, State};
use axum::http::StatusCode;
use axum::response::Response;

use super::json::{sorted_unique, success_list, write_labels_object};
use super::{ApiError, Params, SharedQuerier, json_response};

pub(super) async fn handle(
    State(q): State<SharedQuerier>,
    RawQuery(query): RawQuery,
    body: Bytes,
) -> Result<Response, ApiError> {
    let params = Params::parse(query.as_deref(), &body);
    let selectors = params.required_matchers()?;
    let range = params.time_range()?;
    let limit = params.limit()?;
    let short = super::narrow(&selectors);
    let mut list = super::index_lookup(short, move || {
        // One selector (the usual case): the store's list, as a set (it is already one
        // for the stores of this workspace; checking costs one pass).
        if let [matchers] = selectors.as_slice() {
            return Ok(sorted_unique(q.series(matchers, range)?));
        }
        let mut all = BTreeSet::new();
        for matchers in &selectors {
            all.extend(q.series(matchers, range)?);
        }
        Ok(all.into_iter().collect())
    })
    .await?;
    if let Some(n) = limit {
        list.truncate(n);
    }
    Ok(json_response(
        StatusCode::OK,
        success_list(&list, write_labels_object),
    ))
}
