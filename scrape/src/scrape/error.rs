//! Why a scrape failed.

use crate::textparse::ParseError;

/// A failed scrape: the target is reported down (`up` 0) with this as its last error,
/// nothing of the scrape is stored, and the series of the previous scrape get staleness
/// markers.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ScrapeError {
    /// The target answered with a status other than 200.
    #[error("server returned HTTP status {0}")]
    Status(String),
    /// The request failed (connection refused, TLS, decompression...).
    #[error("{0}")]
    Transport(#[from] reqwest::Error),
    /// The request's credentials cannot be read (a `_file` secret).
    #[error("{0}")]
    Credentials(#[from] crate::client::ClientError),
    /// No complete answer within the scrape timeout.
    #[error("context deadline exceeded (timeout {0:?})")]
    Timeout(std::time::Duration),
    /// The body (after decompression) exceeds `body_size_limit`.
    #[error("body size limit exceeded ({limit} bytes)")]
    BodyTooLarge {
        /// The limit in bytes.
        limit: usize,
    },
    /// The body is not valid exposition text.
    #[error("{0}")]
    Parse(#[from] ParseError),
    /// More samples than `sample_limit` after metric relabeling.
    #[error("sample limit exceeded (limit {limit}, got {got})")]
    SampleLimit {
        /// The limit.
        limit: usize,
        /// Samples kept after relabeling.
        got: usize,
    },
    /// A series with more labels than `label_limit`, or a label name or value longer
    /// than `label_name_length_limit` / `label_value_length_limit`.
    #[error("{what} exceeded (metric: {series}, {detail}, limit: {limit})")]
    LabelLimit {
        /// Which limit (`label_limit`, `label_name_length_limit`, `label_value_length_limit`).
        what: &'static str,
        /// The offending series.
        series: String,
        /// The offending count or label.
        detail: String,
        /// The limit.
        limit: usize,
    },
    /// The storage refused the samples.
    #[error("storage: {0}")]
    Storage(#[from] gnomon_tsdb_core::Error),
}
