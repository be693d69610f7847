//! HTTP surface of push ingestion and export (feature `http`), as axum routers:
//!
//! - [`ingest_router`]: `POST /api/v1/import/prometheus` (Prometheus text, with
//!   VictoriaMetrics' `extra_label` and `timestamp` arguments) and `POST /api/v1/import`
//!   (VictoriaMetrics JSON lines); gzip request bodies are accepted;
//! - [`export_router`]: `GET|POST /api/v1/export` (JSON lines; `match[]`, `start`, `end`,
//!   `max_rows_per_line`).
//!
//! Ingestion writes through an [`AppenderFactory`], so the routers work over the storage
//! engine, an in-memory test store or a remote-write queue alike. Rows are committed in
//! batches of at most [`IngestOptions::batch_rows`] and once at the end; a request is
//! acknowledged (2xx) only after its final commit returned, so an acknowledged row is as
//! durable as the appender's commit makes it.
//!
//! A malformed line does not stop the request: the other lines are still written, and the
//! response is `400 Bad Request` with a text body naming each bad line (1-based) and why.

mod batch;
mod body;
mod export;
mod ingest;
mod prometheus;
pub mod targets;

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::routing::{get, post};
use gnomon_tsdb_core::model::{Appender, Querier};

pub use batch::{IngestReport, LineError};

/// Makes a new appender for each request. Appenders are used from a blocking worker
/// thread, hence `Send`.
pub type AppenderFactory = Arc<dyn Fn() -> Box<dyn Appender + Send> + Send + Sync>;

/// Rows accepted by the ingest handlers since start, by protocol (exported as
/// `vm_rows_inserted_total{type=...}`), and malformed lines seen.
#[derive(Debug, Default)]
pub struct IngestCounters {
    /// Rows committed through `/api/v1/import/prometheus`.
    pub prometheus_rows: AtomicU64,
    /// Rows committed through `/api/v1/import`.
    pub vmimport_rows: AtomicU64,
    /// Lines rejected as malformed, all protocols.
    pub bad_lines: AtomicU64,
}

impl IngestCounters {
    pub(crate) fn add(counter: &AtomicU64, n: u64) {
        counter.fetch_add(n, Ordering::Relaxed);
    }
}

/// Tuning of the ingest handlers.
#[derive(Clone, Debug)]
pub struct IngestOptions {
    /// Rows appended between two commits of one request. 10 000 rows keep a commit's
    /// write-ahead-log record around a megabyte while making the per-commit cost (one
    /// write, maybe an fsync) negligible per row.
    pub batch_rows: usize,
    /// Largest accepted request body, before and after gzip decompression, in bytes
    /// (VictoriaMetrics' `-maxInsertRequestSize` default is 32 MiB).
    pub max_body_bytes: usize,
    /// Most bad lines described in one error response; the rest are counted.
    pub max_reported_errors: usize,
}

impl Default for IngestOptions {
    fn default() -> Self {
        IngestOptions {
            batch_rows: 10_000,
            max_body_bytes: 32 << 20,
            max_reported_errors: 10,
        }
    }
}

#[derive(Clone)]
struct IngestState {
    appenders: AppenderFactory,
    counters: Arc<IngestCounters>,
    opts: IngestOptions,
}

/// A router serving `POST /api/v1/import/prometheus` and `POST /api/v1/import`, writing
/// through appenders from `appenders` and counting into `counters`.
pub fn ingest_router(
    appenders: AppenderFactory,
    counters: Arc<IngestCounters>,
    opts: IngestOptions,
) -> Router {
    Router::new()
        .route("/api/v1/import/prometheus", post(ingest::prometheus))
        .route("/api/v1/import", post(ingest::vmimport))
        // Bodies are streamed; `max_body_bytes` bounds one line (see `body`).
        .layer(DefaultBodyLimit::disable())
        .with_state(IngestState {
            appenders,
            counters,
            opts,
        })
}

/// A router serving `GET|POST /api/v1/export` from `querier`.
pub fn export_router(querier: Arc<dyn Querier>) -> Router {
    Router::new()
        .route("/api/v1/export", get(export::handle).post(export::handle))
        .with_state(querier)
}

#[cfg(test)]
mod tests;
