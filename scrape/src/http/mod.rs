//! HTTP surface of push ingestion and export (feature `http`), as axum routers:
//!
//! - [`ingest_router`]: `POST /api/v1/import/prometheus` (Prometheus text, with
//!   VictoriaMetrics' `extra_label` and `timestamp` arguments) and `POST /api/v1/import`
//!   (VictoriaMetrics JSON lines); gzip request bodies are accepted;
//!   Push protocols on the same router: `POST /api/v1/write` (Prometheus remote write),
//!   `POST /write`, `/influx/write`, `/api/v2/write`, `/influx/api/v2/write` (InfluxDB
//!   line protocol; `/ping`, `/influx/ping`, `/influx/health` and a `SHOW DATABASES` stub
//!   at `/query` for Influx clients), `POST /api/put` and `/opentsdb/api/put` (OpenTSDB
//!   JSON), `POST /api/v1/import/csv` (CSV with `format=`). Every endpoint takes
//!   `extra_label=name=value` arguments and applies [`IngestOptions::relabel`];
//! - [`export_router`]: `GET|POST /api/v1/export` (JSON lines; `match[]`, `start`, `end`,
//!   `max_rows_per_line`);
//! - [`federate_router`]: `GET /federate` (`match[]`; the newest sample of each series in
//!   Prometheus text);
//! - [`StreamIngest`]: Graphite and OpenTSDB telnet lines from raw TCP connections.
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
mod csv;
mod export;
mod federate;
mod influx;
mod ingest;
mod opentsdb;
mod prometheus;
mod remote_write;
mod sink;
mod stream;
pub mod targets;

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::routing::{get, post};
use gnomon_relabel::Relabeler;
use gnomon_tsdb_core::model::{Appender, Querier};

use crate::push::influx::InfluxNaming;

pub use batch::{IngestReport, LineError};
pub use stream::{StreamIngest, StreamProtocol};

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
    /// Rows committed through `/api/v1/write` (`promremotewrite`).
    pub remote_write_rows: AtomicU64,
    /// Rows committed through the InfluxDB endpoints (`influx`).
    pub influx_rows: AtomicU64,
    /// Rows committed from Graphite connections (`graphite`).
    pub graphite_rows: AtomicU64,
    /// Rows committed from OpenTSDB telnet connections (`opentsdb`).
    pub opentsdb_rows: AtomicU64,
    /// Rows committed through `/api/put` (`opentsdbhttp`).
    pub opentsdb_http_rows: AtomicU64,
    /// Rows committed through `/api/v1/import/csv` (`csvimport`).
    pub csv_rows: AtomicU64,
    /// Lines rejected as malformed, all protocols.
    pub bad_lines: AtomicU64,
    /// Series dropped by the relabeling rules of [`IngestOptions::relabel`].
    pub relabel_dropped: AtomicU64,
}

/// The push protocols, each with its own row counter.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Protocol {
    /// Prometheus text (`/api/v1/import/prometheus`).
    Prometheus,
    /// VictoriaMetrics JSON lines (`/api/v1/import`).
    VmImport,
    /// Prometheus remote write.
    RemoteWrite,
    /// InfluxDB line protocol.
    Influx,
    /// Graphite plaintext.
    Graphite,
    /// OpenTSDB telnet `put`.
    OpenTsdb,
    /// OpenTSDB HTTP `/api/put`.
    OpenTsdbHttp,
    /// CSV.
    Csv,
}

impl Protocol {
    /// Every protocol.
    pub const ALL: [Protocol; 8] = [
        Protocol::Prometheus,
        Protocol::VmImport,
        Protocol::RemoteWrite,
        Protocol::Influx,
        Protocol::Graphite,
        Protocol::OpenTsdb,
        Protocol::OpenTsdbHttp,
        Protocol::Csv,
    ];

    /// VictoriaMetrics' `type` label of `vm_rows_inserted_total` for the protocol.
    pub fn type_label(self) -> &'static str {
        match self {
            Protocol::Prometheus => "prometheus",
            Protocol::VmImport => "vmimport",
            Protocol::RemoteWrite => "promremotewrite",
            Protocol::Influx => "influx",
            Protocol::Graphite => "graphite",
            Protocol::OpenTsdb => "opentsdb",
            Protocol::OpenTsdbHttp => "opentsdbhttp",
            Protocol::Csv => "csvimport",
        }
    }
}

impl IngestCounters {
    pub(crate) fn add(counter: &AtomicU64, n: u64) {
        counter.fetch_add(n, Ordering::Relaxed);
    }

    /// The row counter of `p`.
    pub fn rows(&self, p: Protocol) -> &AtomicU64 {
        match p {
            Protocol::Prometheus => &self.prometheus_rows,
            Protocol::VmImport => &self.vmimport_rows,
            Protocol::RemoteWrite => &self.remote_write_rows,
            Protocol::Influx => &self.influx_rows,
            Protocol::Graphite => &self.graphite_rows,
            Protocol::OpenTsdb => &self.opentsdb_rows,
            Protocol::OpenTsdbHttp => &self.opentsdb_http_rows,
            Protocol::Csv => &self.csv_rows,
        }
    }
}

/// InfluxDB-specific options.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct InfluxOptions {
    /// Series naming from measurement and field.
    pub naming: InfluxNaming,
    /// Label that receives the `db` argument (`-influxDBLabel`, `db` by default); empty:
    /// none. A tag of the same name on the line wins.
    pub db_label: String,
    /// Databases `SHOW DATABASES` lists (`-influx.databaseNames`).
    pub database_names: Vec<String>,
}

impl Default for InfluxOptions {
    fn default() -> Self {
        InfluxOptions {
            naming: InfluxNaming::default(),
            db_label: "db".to_owned(),
            database_names: Vec::new(),
        }
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
    /// Relabeling applied to every pushed series (`-relabelConfig`), after the
    /// `extra_label` arguments; a series it drops is not stored.
    pub relabel: Option<Arc<Relabeler>>,
    /// InfluxDB line-protocol options.
    pub influx: InfluxOptions,
    /// Graphite timestamps are rounded down to a multiple of this many milliseconds
    /// (`-graphiteTrimTimestamp`, 1s by default as in VictoriaMetrics).
    pub graphite_trim_ms: i64,
}

impl Default for IngestOptions {
    fn default() -> Self {
        IngestOptions {
            batch_rows: 10_000,
            max_body_bytes: 32 << 20,
            max_reported_errors: 10,
            relabel: None,
            influx: InfluxOptions::default(),
            graphite_trim_ms: 1000,
        }
    }
}

#[derive(Clone)]
struct IngestState {
    appenders: AppenderFactory,
    counters: Arc<IngestCounters>,
    opts: IngestOptions,
}

/// A router serving the import and push endpoints (see the module docs), writing through
/// appenders from `appenders` and counting into `counters`.
pub fn ingest_router(
    appenders: AppenderFactory,
    counters: Arc<IngestCounters>,
    opts: IngestOptions,
) -> Router {
    Router::new()
        .route("/api/v1/import/prometheus", post(ingest::prometheus))
        .route("/api/v1/import", post(ingest::vmimport))
        .route("/api/v1/import/csv", post(csv::handle))
        .route("/api/v1/write", post(remote_write::handle))
        .route("/write", post(influx::write))
        .route("/influx/write", post(influx::write))
        .route("/api/v2/write", post(influx::write))
        .route("/influx/api/v2/write", post(influx::write))
        .route("/ping", get(influx::ping).head(influx::ping))
        .route("/influx/ping", get(influx::ping).head(influx::ping))
        .route("/influx/health", get(influx::health))
        .route("/query", get(influx::query).post(influx::query))
        .route("/influx/query", get(influx::query).post(influx::query))
        .route("/api/put", post(opentsdb::handle))
        .route("/opentsdb/api/put", post(opentsdb::handle))
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

/// A router serving `GET|POST /federate` from `querier`: for each series matching a
/// `match[]` selector, its newest sample no older than `lookback`.
pub fn federate_router(querier: Arc<dyn Querier>, lookback: std::time::Duration) -> Router {
    Router::new()
        .route("/federate", get(federate::handle).post(federate::handle))
        .with_state(federate::FederateState { querier, lookback })
}

#[cfg(test)]
mod push_tests;
#[cfg(test)]
mod tests;
