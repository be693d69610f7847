//! Per-job settings of a scrape loop.

use std::sync::Arc;

use gnomon_relabel::Relabeler;

use crate::config::Auth;

/// The `Accept` header Prometheus sends: OpenMetrics first, then the text format.
pub const DEFAULT_ACCEPT: &str = "application/openmetrics-text;version=1.0.0,application/openmetrics-text;version=0.0.1;q=0.75,text/plain;version=0.0.4;q=0.5,*/*;q=0.1";

/// How the loops of one job scrape and what they keep (Prometheus' job-level fields).
/// Limits of 0 mean "no limit", as in Prometheus.
#[derive(Clone, Debug)]
pub struct LoopOptions {
    /// `honor_labels`: on a clash, keep the scraped label (else the scraped one is
    /// renamed `exported_<name>` and the target's wins).
    pub honor_labels: bool,
    /// `honor_timestamps`: use the timestamps the target exposes (else the scrape time).
    pub honor_timestamps: bool,
    /// `sample_limit`: more samples after metric relabeling fail the scrape.
    pub sample_limit: usize,
    /// `label_limit`: more labels on a series (`__name__` included) fail the scrape.
    pub label_limit: usize,
    /// `label_name_length_limit`.
    pub label_name_length_limit: usize,
    /// `label_value_length_limit`.
    pub label_value_length_limit: usize,
    /// `body_size_limit` (bytes, after decompression; `-promscrape.maxScrapeSize`).
    pub body_size_limit: usize,
    /// Compiled `metric_relabel_configs`.
    pub metric_relabel: Option<Arc<Relabeler>>,
    /// The `Accept` header of scrape requests.
    pub accept: String,
    /// Do not log failed scrapes (`-promscrape.suppressScrapeErrors`); the targets API
    /// still shows them.
    pub suppress_errors: bool,
    /// Authentication of scrape requests; `_file` secrets are re-read for every scrape.
    pub auth: Auth,
    /// Extra request headers (authorization...), added to every scrape request.
    pub headers: reqwest::header::HeaderMap,
}

impl Default for LoopOptions {
    fn default() -> Self {
        LoopOptions {
            honor_labels: false,
            honor_timestamps: true,
            sample_limit: 0,
            label_limit: 0,
            label_name_length_limit: 0,
            label_value_length_limit: 0,
            // VictoriaMetrics' -promscrape.maxScrapeSize default.
            body_size_limit: 16 << 20,
            metric_relabel: None,
            accept: DEFAULT_ACCEPT.to_owned(),
            suppress_errors: false,
            auth: Auth::None,
            headers: reqwest::header::HeaderMap::new(),
        }
    }
}
