//! Settings of the remote-write client: vmagent's `-remoteWrite.*` flags as a struct.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use gnomon_relabel::Relabeler;
use gnomon_tsdb_core::model::Label;

use crate::config::HttpClientConfig;

/// Process-wide settings, and one [`UrlOptions`] per destination.
#[derive(Clone, Debug)]
pub struct RemoteWriteOptions {
    /// The destinations (`-remoteWrite.url`), each with its own queue and senders.
    pub urls: Vec<UrlOptions>,
    /// Rules applied to every series before the per-URL ones
    /// (`-remoteWrite.relabelConfig`).
    pub relabel: Option<Arc<Relabeler>>,
    /// Labels set on every series before the global rules; they replace a label of the
    /// same name (`-remoteWrite.label`).
    pub extra_labels: Vec<Label>,
    /// Where the queues live: `<tmp_data_path>/persistent-queue/<n>_<hash>/`
    /// (`-remoteWrite.tmpDataPath`).
    pub tmp_data_path: PathBuf,
    /// A pending block is sent at least this often (`-remoteWrite.flushInterval`).
    pub flush_interval: Duration,
    /// A pending block is closed once its uncompressed protobuf reaches this size
    /// (`-remoteWrite.maxBlockSize`).
    pub max_block_bytes: usize,
    /// ... or once it holds this many samples (`-remoteWrite.maxRowsPerBlock`).
    pub max_rows_per_block: usize,
    /// Concurrent senders per destination (`-remoteWrite.queues`).
    pub queues: usize,
}

impl Default for RemoteWriteOptions {
    fn default() -> Self {
        RemoteWriteOptions {
            urls: Vec::new(),
            relabel: None,
            extra_labels: Vec::new(),
            tmp_data_path: PathBuf::from("vmagent-remotewrite-data"),
            flush_interval: Duration::from_secs(1),
            max_block_bytes: 8 << 20,
            max_rows_per_block: 10_000,
            queues: 2 * std::thread::available_parallelism().map_or(1, |n| n.get()),
        }
    }
}

/// One destination.
#[derive(Clone, Debug)]
pub struct UrlOptions {
    /// Where `POST`s go, e.g. `http://127.0.0.1:8428/api/v1/write`.
    pub url: String,
    /// Authentication, TLS and proxy, as in a scrape config
    /// (`-remoteWrite.basicAuth.*`, `-remoteWrite.bearerToken*`, `-remoteWrite.tls*`,
    /// `-remoteWrite.proxyURL`).
    pub http: HttpClientConfig,
    /// Extra request headers (`-remoteWrite.headers`).
    pub headers: Vec<(String, String)>,
    /// Rules applied to the series sent here, after the global ones
    /// (`-remoteWrite.urlRelabelConfig`).
    pub relabel: Option<Arc<Relabeler>>,
    /// Timeout of one request (`-remoteWrite.sendTimeout`).
    pub send_timeout: Duration,
    /// Bound of the on-disk queue, 0 for none (`-remoteWrite.maxDiskUsagePerURL`).
    pub max_disk_bytes: u64,
    /// First wait after a failed request; doubled on each failure
    /// (`-remoteWrite.retryMinInterval`).
    pub retry_min_interval: Duration,
    /// Longest wait between attempts (`-remoteWrite.retryMaxInterval`).
    pub retry_max_interval: Duration,
    /// Values rounded to this many decimal digits (`-remoteWrite.roundDigits`).
    pub round_digits: Option<i32>,
    /// Values kept to this many significant figures (`-remoteWrite.significantFigures`).
    pub significant_figures: Option<u32>,
}

impl UrlOptions {
    /// A destination with vmagent's defaults.
    pub fn new(url: impl Into<String>) -> UrlOptions {
        UrlOptions {
            url: url.into(),
            http: HttpClientConfig::default(),
            headers: Vec::new(),
            relabel: None,
            send_timeout: Duration::from_secs(60),
            max_disk_bytes: 0,
            retry_min_interval: Duration::from_secs(1),
            retry_max_interval: Duration::from_secs(60),
            round_digits: None,
            significant_figures: None,
        }
    }
}
