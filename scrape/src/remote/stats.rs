//! Counters of the remote-write client, named after vmagent's metrics in the comments so
//! that a `/metrics` page can expose them under the same names.

use std::sync::atomic::{AtomicU64, Ordering};

/// Counters of the whole client.
#[derive(Debug, Default)]
pub struct GlobalStats {
    /// Samples handed to the client (`vmagent_remotewrite_global_rows_pushed_before_relabel_total`).
    pub rows_pushed_before_relabel: AtomicU64,
    /// Samples the global rules dropped (`vmagent_remotewrite_global_relabel_metrics_dropped_total`).
    pub relabel_dropped: AtomicU64,
    /// Blocks closed, all destinations (`vmagent_remotewrite_block_size_rows_count`).
    pub blocks: AtomicU64,
    /// Samples in those blocks (`vmagent_remotewrite_block_size_rows_sum`).
    pub block_rows: AtomicU64,
    /// Compressed bytes of those blocks (`vmagent_remotewrite_block_size_bytes_sum`).
    pub block_bytes: AtomicU64,
}

/// Counters of one destination.
#[derive(Debug, Default)]
pub struct UrlStats {
    /// Samples queued after the per-URL rules
    /// (`vmagent_remotewrite_rows_pushed_after_relabel_total`).
    pub rows_pushed_after_relabel: AtomicU64,
    /// Samples the per-URL rules dropped (`vmagent_remotewrite_relabel_metrics_dropped_total`).
    pub relabel_dropped: AtomicU64,
    /// Blocks accepted by the destination (`vmagent_remotewrite_blocks_sent_total`).
    pub blocks_sent: AtomicU64,
    /// Their compressed bytes (`vmagent_remotewrite_bytes_sent_total`).
    pub bytes_sent: AtomicU64,
    /// Requests answered 2xx (`vmagent_remotewrite_requests_total{status_code="2XX"}`).
    pub requests_2xx: AtomicU64,
    /// Requests answered 4xx.
    pub requests_4xx: AtomicU64,
    /// Requests answered 5xx (or another status).
    pub requests_5xx: AtomicU64,
    /// Requests that got no answer: connection refused, reset, timeout
    /// (`vmagent_remotewrite_errors_total`).
    pub errors: AtomicU64,
    /// Attempts that will be retried (`vmagent_remotewrite_retries_count_total`).
    pub retries: AtomicU64,
    /// Blocks the destination refused with a 4xx other than 429, dropped for good
    /// (`vmagent_remotewrite_packets_dropped_total`).
    pub packets_dropped: AtomicU64,
    /// Nanoseconds spent in requests (`vmagent_remotewrite_send_duration_seconds_total`).
    pub send_nanos: AtomicU64,
}

/// Adds `n` to a counter.
pub(crate) fn add(c: &AtomicU64, n: u64) {
    c.fetch_add(n, Ordering::Relaxed);
}

/// A counter's value.
pub fn get(c: &AtomicU64) -> u64 {
    c.load(Ordering::Relaxed)
}
