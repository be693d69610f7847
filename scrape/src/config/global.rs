//! The `global:` section.

use std::collections::BTreeMap;
use std::time::Duration;

use serde::de::IgnoredAny;
use serde::{Deserialize, Serialize};

use super::duration::PromDuration;
use super::error::ConfigError;

/// Default `scrape_interval`.
pub const DEFAULT_SCRAPE_INTERVAL: Duration = Duration::from_secs(60);
/// Default `scrape_timeout`.
pub const DEFAULT_SCRAPE_TIMEOUT: Duration = Duration::from_secs(10);
/// Default `evaluation_interval`.
pub const DEFAULT_EVALUATION_INTERVAL: Duration = Duration::from_secs(60);

/// `global:` — defaults for every job, and labels added to every series sent out.
///
/// After [`crate::config::Config`] loading, the intervals are never zero.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GlobalConfig {
    /// How often targets are scraped by default (1m).
    #[serde(default)]
    pub scrape_interval: PromDuration,
    /// Default scrape timeout (10s, or the interval when that is shorter).
    #[serde(default)]
    pub scrape_timeout: PromDuration,
    /// Rule evaluation interval (1m); accepted for Prometheus compatibility.
    #[serde(default)]
    pub evaluation_interval: PromDuration,
    /// Offset of rule queries; accepted.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rule_query_offset: Option<PromDuration>,
    /// Labels added to series and alerts sent to external systems.
    #[serde(default)]
    pub external_labels: BTreeMap<String, String>,
    /// Default per-scrape sample limit (0 = none).
    #[serde(default)]
    pub sample_limit: u64,
    /// Default per-job target limit (0 = none).
    #[serde(default)]
    pub target_limit: u64,
    /// Default limit of labels per series (0 = none).
    #[serde(default)]
    pub label_limit: u64,
    /// Default limit of label name length (0 = none).
    #[serde(default)]
    pub label_name_length_limit: u64,
    /// Default limit of label value length (0 = none).
    #[serde(default)]
    pub label_value_length_limit: u64,
    /// Default scrape body size limit; accepted.
    #[serde(default, skip_serializing)]
    pub body_size_limit: Option<IgnoredAny>,
    /// Accepted and ignored.
    #[serde(default, skip_serializing)]
    pub scrape_protocols: Option<IgnoredAny>,
    /// Accepted and ignored.
    #[serde(default, skip_serializing)]
    pub query_log_file: Option<IgnoredAny>,
    /// Accepted and ignored.
    #[serde(default, skip_serializing)]
    pub scrape_failure_log_file: Option<IgnoredAny>,
    /// Accepted and ignored.
    #[serde(default, skip_serializing)]
    pub keep_dropped_targets: Option<IgnoredAny>,
    /// Accepted and ignored.
    #[serde(default, skip_serializing)]
    pub metric_name_validation_scheme: Option<IgnoredAny>,
    /// Accepted and ignored.
    #[serde(default, skip_serializing)]
    pub metric_name_escaping_scheme: Option<IgnoredAny>,
    /// Accepted and ignored.
    #[serde(default, skip_serializing)]
    pub convert_classic_histograms_to_nhcb: Option<IgnoredAny>,
    /// Accepted and ignored.
    #[serde(default, skip_serializing)]
    pub always_scrape_classic_histograms: Option<IgnoredAny>,
}

impl GlobalConfig {
    /// Fills in defaults and checks timeout ≤ interval, as Prometheus does.
    ///
    /// # Errors
    /// [`ConfigError::Invalid`] when `scrape_timeout` exceeds `scrape_interval`, or an
    /// external label name is empty.
    pub fn resolve(&mut self) -> Result<(), ConfigError> {
        if self.scrape_interval.is_zero() {
            self.scrape_interval = DEFAULT_SCRAPE_INTERVAL.into();
        }
        if self.scrape_timeout > self.scrape_interval {
            return Err(ConfigError::Invalid {
                job: None,
                field: "global.scrape_timeout",
                message: "global scrape timeout greater than scrape interval".to_owned(),
            });
        }
        if self.scrape_timeout.is_zero() {
            self.scrape_timeout = DEFAULT_SCRAPE_TIMEOUT
                .min(self.scrape_interval.get())
                .into();
        }
        if self.evaluation_interval.is_zero() {
            self.evaluation_interval = DEFAULT_EVALUATION_INTERVAL.into();
        }
        if self.external_labels.keys().any(|k| k.is_empty()) {
            return Err(ConfigError::Invalid {
                job: None,
                field: "global.external_labels",
                message: "empty label name".to_owned(),
            });
        }
        Ok(())
    }
}
