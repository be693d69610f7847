//! The series every scrape writes about itself: `up`, `scrape_duration_seconds`,
//! `scrape_samples_scraped`, `scrape_samples_post_metric_relabeling`,
//! `scrape_series_added`, labelled with the target's labels (never relabeled).

use std::time::Duration;

use gnomon_tsdb_core::model::{Appender, Labels, STALE_NAN, Sample};

use super::append::Counts;

/// Names of the report series, in the order they are written.
pub const REPORT_SERIES: [&str; 5] = [
    "up",
    "scrape_duration_seconds",
    "scrape_samples_scraped",
    "scrape_samples_post_metric_relabeling",
    "scrape_series_added",
];

/// The report series' label sets for a target, built once per loop.
#[derive(Clone, Debug)]
pub(crate) struct ReportSeries {
    labels: [Labels; 5],
}

impl ReportSeries {
    pub(crate) fn new(target: &Labels) -> Self {
        let with_name = |name: &str| {
            let mut lb = target.builder();
            lb.set("__name__", name);
            lb.build()
        };
        ReportSeries {
            labels: REPORT_SERIES.map(with_name),
        }
    }

    /// Appends one scrape's report at `ts` (not committed).
    ///
    /// # Errors
    /// Storage errors.
    pub(crate) fn write(
        &self,
        app: &mut dyn Appender,
        ts: i64,
        up: bool,
        took: Duration,
        counts: Counts,
    ) -> gnomon_tsdb_core::Result<()> {
        let values = [
            if up { 1.0 } else { 0.0 },
            took.as_secs_f64(),
            counts.scraped as f64,
            counts.kept as f64,
            counts.added as f64,
        ];
        for (l, v) in self.labels.iter().zip(values) {
            app.append(l, Sample::new(ts, v))?;
        }
        Ok(())
    }

    /// Appends staleness markers for all report series at `ts` (not committed).
    ///
    /// # Errors
    /// Storage errors.
    pub(crate) fn write_stale(
        &self,
        app: &mut dyn Appender,
        ts: i64,
    ) -> gnomon_tsdb_core::Result<()> {
        for l in &self.labels {
            app.append(l, Sample::new(ts, STALE_NAN))?;
        }
        Ok(())
    }
}
