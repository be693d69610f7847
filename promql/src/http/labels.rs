//! `/api/v1/labels` and `/api/v1/label/<name>/values`.

use std::collections::BTreeSet;

use axum::body::Bytes;
use axum::extract::{Path, RawQuery, State};
use axum::http::StatusCode;
use axum::response::Response;
use gnomon_tsdb_core::model::{Matcher, Querier, TimeRange};

use super::json::{sorted_unique, success_list, write_json_string};
use super::{ApiError, Params, SharedQuerier, json_response};

/// Which list a request asks for.
enum Ask {
    Names,
    Values(String),
}

pub(super) async fn names(
    State(q): State<SharedQuerier>,
    RawQuery(query): RawQuery,
    body: Bytes,
) -> Result<Response, ApiError> {
    respond(q, Ask::Names, Params::parse(query.as_deref(), &body)).await
}

pub(super) async fn values(
    State(q): State<SharedQuerier>,
    Path(name): Path<String>,
    RawQuery(query): RawQuery,
    body: Bytes,
) -> Result<Response, ApiError> {
    respond(q, Ask::Values(name), Params::parse(query.as_deref(), &body)).await
}

async fn respond(q: SharedQuerier, ask: Ask, params: Params) -> Result<Response, ApiError> {
    let mut selectors = params.matchers()?;
    if selectors.is_empty() {
        selectors.push(Vec::new());
    }
    let range = params.time_range()?;
    let limit = params.limit()?;
    // Without matchers the lookup scans the values of one name (or the names) in the
    // index, with no per-series work: short too.
    let short = selectors.iter().all(Vec::is_empty) || super::narrow(&selectors);
    let mut list: Vec<String> = super::index_lookup(short, move || {
        // One selector (the usual case): the store's list, as a set (it is already one
        // for the stores of this workspace; checking costs one pass).
        if let [matchers] = selectors.as_slice() {
            return Ok(sorted_unique(lookup(&*q, &ask, matchers, range)?));
        }
        let mut all = BTreeSet::new();
        for matchers in &selectors {
            all.extend(lookup(&*q, &ask, matchers, range)?);
        }
        Ok(all.into_iter().collect())
    })
    .await?;
    if let Some(n) = limit {
        list.truncate(n);
    }
    Ok(json_response(
        StatusCode::OK,
        success_list(&list, |o, s| write_json_string(o, s)),
    ))
}

fn lookup(
    q: &dyn Querier,
    ask: &Ask,
    matchers: &[Matcher],
    range: TimeRange,
) -> Result<Vec<String>, ApiError> {
    Ok(match ask {
        Ask::Names => q.label_names(matchers, range)?,
        Ask::Values(name) => q.label_values(name, matchers, range)?,
    })
}
