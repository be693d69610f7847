//! The Prometheus HTTP API read endpoints that need no query engine, over any
//! [`Querier`]: `/api/v1/series`, `/api/v1/labels`, `/api/v1/label/<name>/values`
//! (GET, or POST with a form body), with VictoriaMetrics' response shapes.
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

mod error;
mod json;
mod labels;
mod params;
mod series;

use std::sync::Arc;

use axum::Router;
use axum::routing::get;
use gnomon_tsdb_core::model::Querier;

pub use error::{ApiError, json_response};
pub use json::{write_json_string, write_labels_object};
pub use params::{Params, parse_time};

/// The shared state of the read handlers.
pub type SharedQuerier = Arc<dyn Querier>;

/// A router serving `/api/v1/series`, `/api/v1/labels` and
/// `/api/v1/label/{name}/values` from `querier`.
pub fn router(querier: SharedQuerier) -> Router {
    Router::new()
        .route("/api/v1/series", get(series::handle).post(series::handle))
        .route("/api/v1/labels", get(labels::names).post(labels::names))
        .route(
            "/api/v1/label/{name}/values",
            get(labels::values).post(labels::values),
        )
        .with_state(querier)
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
