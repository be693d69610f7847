//! Scrape loops: one tokio task per target that fetches, parses, relabels and writes,
//! with Prometheus' report series and staleness markers.
//!
//! | file | holds |
//! |---|---|
//! | `scrape_loop.rs` | [`ScrapeLoop`]: the task, start offsets, stop with or without staleness |
//! | `fetch.rs` | the HTTP GET: headers, timeout, body size limit |
//! | `append.rs` | parse → label → limit → append; the per-loop series cache and staleness |
//! | `series.rs` | target labels (`honor_labels`, `exported_`), metric relabeling, label limits |
//! | `report.rs` | `up`, `scrape_duration_seconds`, `scrape_samples_*`, `scrape_series_added` |
//! | `health.rs` | [`TargetStatus`]: health, last error, last scrape for the targets API |
//! | `jobs.rs` | [`job_settings`]: a job's settings from its scrape config |
//! | `manager.rs` | [`ScrapeManager`]: one pool per job, reload that keeps unchanged loops |
//! | `pool.rs` | a job's loops synced to its discovered targets; [`PoolView`] for the API |
//! | `options.rs` | [`LoopOptions`]: the job-level settings of a loop |
//! | `error.rs` | [`ScrapeError`]: why a scrape failed |
//!
//! Behaviour, as in Prometheus:
//! * a scrape stores nothing unless the whole body parses and passes `sample_limit` and
//!   the label limits; a failed scrape writes `up` 0 and staleness markers for every
//!   series of the previous scrape;
//! * a series present in one scrape and absent from the next gets a staleness marker
//!   ([`gnomon_tsdb_core::model::STALE_NAN`]) at the second scrape's timestamp; series
//!   with their own (honored) timestamps get none;
//! * [`ScrapeLoop::stop`] marks all series of the target stale, report series included.

mod append;
mod error;
mod fetch;
mod health;
mod jobs;
mod manager;
mod options;
mod pool;
mod report;
mod scrape_loop;
mod series;
mod shard;

pub use append::{Counts, ScrapeWriter, SeriesCache};
pub use error::ScrapeError;
pub use fetch::SCRAPE_USER_AGENT;
pub use health::{Health, ScrapeStatus, TargetStatus};
pub use jobs::{JobOptions, job_settings};
pub use manager::{ScrapeJob, ScrapeManager};
pub use options::{DEFAULT_ACCEPT, LoopOptions};
pub use pool::{ActiveTarget, JobSettings, PoolView, TargetsSource};
pub use report::REPORT_SERIES;
pub use scrape_loop::{AppenderFactory, ScrapeLoop};
pub use shard::{Shard, parse_member_num};

#[cfg(test)]
mod tests;
