//! The Prometheus HTTP API read endpoints over any [`Querier`]: `/api/v1/series`,
//! `/api/v1/labels`, `/api/v1/label/<name>/values` (GET, or POST with a form body), with
//! VictoriaMetrics' response shapes; `/api/v1/format_query` / `/api/v1/parse_query`,
//! which only parse `query` and answer with its canonical text / its syntax tree in
//! Prometheus' shapes; and `/api/v1/query` / `/api/v1/query_range`, which evaluate it
//! with the [`crate::engine`] and answer in Prometheus' shapes.
//!
//! ```no_run
//! # fn demo(store: std::sync::Arc<dyn gnomon_tsdb_core::model::Querier>) {
//! let app: axum::Router = gnomon_promql::http::router(store);
//! # }
//! ```
//!
//! Parameters: `match[]` (repeatable; results are the union), `start` and `end` (Unix
//! seconds or RFC 3339; all time when missing, as VictoriaMetrics 1.79 does), `limit`.
//! Errors use the Prometheus envelope: 400 `bad_data` for bad parameters, 500 `internal`
//! when the store fails.

pub mod cache;
#[cfg(test)]
mod cache_tests;
mod error;
mod format;
mod json;
mod labels;
mod params;
mod parse_ast;
mod query;
mod series;
mod status;
#[cfg(test)]
mod tests;

use std::sync::Arc;

use axum::Router;
use axum::routing::get;
use gnomon_tsdb_core::model::Querier;

pub use error::{ApiError, json_response};
pub use json::{write_json_string, write_labels_object, write_list};
pub use params::{Params, parse_time};
pub use parse_ast::ast_json;
pub use query::QueryConfig;
pub use status::{SharedStatus, TsdbStatusSource};

/// The shared state of the read handlers.
pub type SharedQuerier = Arc<dyn Querier>;

/// A router serving `/api/v1/series`, `/api/v1/labels` and
/// `/api/v1/label/{name}/values` from `querier`, and `/api/v1/format_query` and
/// `/api/v1/parse_query` (the canonical text and the syntax tree of `query`), the
/// PromQL evaluation endpoints `/api/v1/query` and `/api/v1/query_range` with
/// [`QueryConfig::default`] (Prometheus' limits, no result cache), and the
/// store-independent status endpoints (`/api/v1/status/{buildinfo,config,flags,
/// runtimeinfo}`, `/api/v1/metadata`, `/api/v1/query_exemplars`). Every route is also
/// served under `/prometheus` (`/prometheus/api/v1/query`, ...), as VictoriaMetrics does.
pub fn router(querier: SharedQuerier) -> Router {
    router_with(querier, QueryConfig::default())
}

/// [`router`] with the query endpoints' limits and result cache from `config`, plus
/// `/internal/resetRollupResultCache` (VictoriaMetrics' endpoint: empties the cache).
pub fn router_with(querier: SharedQuerier, config: QueryConfig) -> Router {
    status::mark_start();
    let cache = config.cache.clone();
    let state = query::QueryState {
        querier: querier.clone(),
        config: Arc::new(config),
    };
    let queries = Router::new()
        .route("/api/v1/query", get(query::instant).post(query::instant))
        .route("/api/v1/query_range", get(query::range).post(query::range))
        .with_state(state);
    let reset = Router::new().route(
        "/internal/resetRollupResultCache",
        get(move || {
            if let Some(c) = &cache {
                c.reset();
            }
            async { "" }
        }),
    );
    let routes = Router::new()
        .route("/api/v1/series", get(series::handle).post(series::handle))
        .route("/api/v1/labels", get(labels::names).post(labels::names))
        .route(
            "/api/v1/label/{name}/values",
            get(labels::values).post(labels::values),
        )
        .route(
            "/api/v1/format_query",
            get(format::handle).post(format::handle),
        )
        .route(
            "/api/v1/parse_query",
            get(parse_ast::handle).post(parse_ast::handle),
        )
        .route(
            "/api/v1/status/buildinfo",
            get(status::buildinfo).post(status::buildinfo),
        )
        .route("/api/v1/status/config", get(status::config))
        .route("/api/v1/status/flags", get(status::flags))
        .route("/api/v1/status/runtimeinfo", get(status::runtimeinfo))
        .route(
            "/api/v1/metadata",
            get(status::metadata).post(status::metadata),
        )
        .route(
            "/api/v1/query_exemplars",
            get(status::exemplars).post(status::exemplars),
        )
        .with_state(querier)
        .merge(queries);
    Router::new()
        .merge(routes.clone())
        .nest("/prometheus", routes)
        .merge(reset)
}

/// A router serving `/api/v1/status/tsdb` (and `/prometheus/api/v1/status/tsdb`): the
/// cardinality of the store, in VictoriaMetrics' shape (`totalSeries`,
/// `seriesCountByMetricName`, ...) and Prometheus' (`headStats`, ...), with the arguments
/// `topN` (or `limit`), `date` (`YYYY-MM-DD`; today by default, `1970-01-01` for all
/// time), `match[]` and `focusLabel`.
pub fn status_router(source: SharedStatus) -> Router {
    let routes = Router::new().route("/api/v1/status/tsdb", get(status::tsdb).post(status::tsdb));
    Router::new()
        .merge(routes.clone())
        .nest("/prometheus", routes)
        .with_state(source)
}

/// Runs an index lookup (series, label names or values: no samples are read) on the
/// request's task when it is `short`, else as [`blocking`] does. The hop to the blocking
/// pool and back (two thread wake-ups) is ~15% of a short lookup's latency; a lookup
/// narrowed by an equality matcher reads one posting list and the labels it names.
///
/// # Errors
/// The work's own error, or [`ApiError::internal`] when it panicked on the pool.
pub(crate) async fn index_lookup<T: Send + 'static>(
    short: bool,
    work: impl FnOnce() -> Result<T, ApiError> + Send + 'static,
) -> Result<T, ApiError> {
    if short { work() } else { blocking(work).await }
}

/// True when every selector has an equality matcher with a non-empty value: its series
/// are within one posting list (`metric{...}` selectors).
pub(crate) fn narrow(selectors: &[Vec<gnomon_tsdb_core::model::Matcher>]) -> bool {
    use gnomon_tsdb_core::model::MatchOp;
    selectors.iter().all(|ms| {
        ms.iter()
            .any(|m| m.op == MatchOp::Equal && !m.value.is_empty())
    })
}

/// Runs blocking store work off the async threads.
///
/// # Errors
/// The work's own error, or [`ApiError::internal`] when it panicked.
pub async fn blocking<T: Send + 'static>(
    work: impl FnOnce() -> Result<T, ApiError> + Send + 'static,
) -> Result<T, ApiError> {
    tokio::task::spawn_blocking(work)
        .await
        .map_err(|e| ApiError::internal(format!("request worker failed: {e}")))?
}
