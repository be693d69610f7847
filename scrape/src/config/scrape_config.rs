//! One `scrape_configs` entry (a job).

use std::collections::BTreeMap;

use gnomon_relabel::{RelabelConfigs, RelabelOptions, Relabeler, compile};
use serde::de::IgnoredAny;
use serde::{Deserialize, Serialize};

use super::duration::PromDuration;
use super::error::ConfigError;
use super::global::GlobalConfig;
use super::http_client::with_http_client;
use super::sd::{DnsSdConfig, FileSdConfig, HttpSdConfig, KubernetesSdConfig, StaticConfig};

fn default_metrics_path() -> String {
    "/metrics".to_owned()
}

fn default_scheme() -> String {
    "http".to_owned()
}

with_http_client! {
    /// A scrape job: how to find its targets and how to scrape them.
    ///
    /// After [`crate::config::Config`] loading, `scrape_interval` and `scrape_timeout` are
    /// set (inherited from `global:` when absent) and limits left at 0 inherit the
    /// global ones.
    #[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
    #[serde(deny_unknown_fields)]
    pub struct ScrapeConfig {
        /// The `job` label of the job's targets; unique in a config.
        pub job_name: String,
        /// How often targets are scraped.
        #[serde(default)]
        pub scrape_interval: PromDuration,
        /// Per-scrape timeout.
        #[serde(default)]
        pub scrape_timeout: PromDuration,
        /// HTTP path of the metrics (`/metrics`).
        #[serde(default = "default_metrics_path")]
        pub metrics_path: String,
        /// `http` or `https`.
        #[serde(default = "default_scheme")]
        pub scheme: String,
        /// URL query parameters; each name may repeat.
        #[serde(default)]
        pub params: BTreeMap<String, Vec<String>>,
        /// Keep the scraped labels on conflicts with target labels.
        #[serde(default)]
        pub honor_labels: bool,
        /// Use the timestamps of the scraped samples (true).
        #[serde(default = "crate::config::http_client::yes")]
        pub honor_timestamps: bool,
        /// Per-scrape sample limit (0 = none); above it the scrape fails.
        #[serde(default)]
        pub sample_limit: u64,
        /// Limit of labels per series (0 = none).
        #[serde(default)]
        pub label_limit: u64,
        /// Limit of label name length (0 = none).
        #[serde(default)]
        pub label_name_length_limit: u64,
        /// Limit of label value length (0 = none).
        #[serde(default)]
        pub label_value_length_limit: u64,
        /// Limit of targets after relabeling (0 = none).
        #[serde(default)]
        pub target_limit: u64,
        /// Target relabeling, applied to discovered targets.
        #[serde(default)]
        pub relabel_configs: RelabelConfigs,
        /// Relabeling of scraped series before they are stored.
        #[serde(default)]
        pub metric_relabel_configs: RelabelConfigs,
        /// Targets listed in the config.
        #[serde(default)]
        pub static_configs: Vec<StaticConfig>,
        /// Targets read from files.
        #[serde(default)]
        pub file_sd_configs: Vec<FileSdConfig>,
        /// Targets fetched from HTTP endpoints.
        #[serde(default)]
        pub http_sd_configs: Vec<HttpSdConfig>,
        /// Targets from DNS records.
        #[serde(default)]
        pub dns_sd_configs: Vec<DnsSdConfig>,
        /// Targets from the Kubernetes API.
        #[serde(default)]
        pub kubernetes_sd_configs: Vec<KubernetesSdConfig>,
        /// VictoriaMetrics: align scrapes to multiples of the interval.
        #[serde(default)]
        pub scrape_align_interval: Option<PromDuration>,
        /// VictoriaMetrics: scrape at this offset within the interval.
        #[serde(default)]
        pub scrape_offset: Option<PromDuration>,
        /// VictoriaMetrics: do not ask targets for compressed responses.
        #[serde(default)]
        pub disable_compression: bool,
        /// VictoriaMetrics: close the connection after each scrape.
        #[serde(default)]
        pub disable_keepalive: bool,
        /// VictoriaMetrics: limit of unique series per target (0 = none).
        #[serde(default)]
        pub series_limit: u64,
        /// VictoriaMetrics: do not write staleness markers for this job.
        #[serde(default)]
        pub no_stale_markers: bool,
        /// VictoriaMetrics: extra request headers, each `Name: value`.
        #[serde(default)]
        pub headers: Vec<String>,
        /// Prometheus 3 `enable_compression` (true = ask for gzip).
        #[serde(default = "crate::config::http_client::yes")]
        pub enable_compression: bool,
        /// VictoriaMetrics: parse responses as a stream; accepted and ignored.
        #[serde(default, skip_serializing)]
        pub stream_parse: Option<IgnoredAny>,
        /// VictoriaMetrics: response size limit; accepted and ignored.
        #[serde(default, skip_serializing)]
        pub max_scrape_size: Option<IgnoredAny>,
        /// Accepted and ignored.
        #[serde(default, skip_serializing)]
        pub body_size_limit: Option<IgnoredAny>,
        /// Accepted and ignored.
        #[serde(default, skip_serializing)]
        pub scrape_protocols: Option<IgnoredAny>,
        /// Accepted and ignored.
        #[serde(default, skip_serializing)]
        pub fallback_scrape_protocol: Option<IgnoredAny>,
        /// Accepted and ignored.
        #[serde(default, skip_serializing)]
        pub scrape_classic_histograms: Option<IgnoredAny>,
        /// Accepted and ignored.
        #[serde(default, skip_serializing)]
        pub always_scrape_classic_histograms: Option<IgnoredAny>,
        /// Accepted and ignored.
        #[serde(default, skip_serializing)]
        pub track_timestamps_staleness: Option<IgnoredAny>,
        /// Accepted and ignored.
        #[serde(default, skip_serializing)]
        pub keep_dropped_targets: Option<IgnoredAny>,
        /// Accepted and ignored.
        #[serde(default, skip_serializing)]
        pub native_histogram_bucket_limit: Option<IgnoredAny>,
        /// Accepted and ignored.
        #[serde(default, skip_serializing)]
        pub native_histogram_min_bucket_factor: Option<IgnoredAny>,
        /// Accepted and ignored.
        #[serde(default, skip_serializing)]
        pub convert_classic_histograms_to_nhcb: Option<IgnoredAny>,
        /// Accepted and ignored.
        #[serde(default, skip_serializing)]
        pub metric_name_validation_scheme: Option<IgnoredAny>,
        /// Accepted and ignored.
        #[serde(default, skip_serializing)]
        pub metric_name_escaping_scheme: Option<IgnoredAny>,
        /// Accepted and ignored.
        #[serde(default, skip_serializing)]
        pub scrape_failure_log_file: Option<IgnoredAny>,
        /// Accepted and ignored (HTTP client).
        #[serde(default, skip_serializing)]
        pub no_proxy: Option<IgnoredAny>,
        /// Accepted and ignored (HTTP client).
        #[serde(default, skip_serializing)]
        pub proxy_from_environment: Option<IgnoredAny>,
        /// Accepted and ignored (HTTP client).
        #[serde(default, skip_serializing)]
        pub proxy_connect_header: Option<IgnoredAny>,
        /// Accepted and ignored (HTTP client).
        #[serde(default, skip_serializing)]
        pub http_headers: Option<IgnoredAny>,
    }
}

impl ScrapeConfig {
    /// Inherits unset values from `global` and checks the job, as Prometheus does.
    /// `global` must already be resolved.
    ///
    /// # Errors
    /// [`ConfigError::Invalid`] naming the job and field: empty job name, timeout above
    /// the interval, a scheme other than http/https, a metrics path not starting with
    /// `/`, malformed `headers`, invalid SD or client settings;
    /// [`ConfigError::Relabel`] when relabel rules do not compile under `relabel`.
    pub fn resolve(
        &mut self,
        global: &GlobalConfig,
        relabel: &RelabelOptions,
    ) -> Result<(), ConfigError> {
        if self.job_name.is_empty() {
            return Err(ConfigError::Invalid {
                job: None,
                field: "job_name",
                message: "job_name is empty".to_owned(),
            });
        }
        let job = self.job_name.clone();
        self.resolve_inner(global, relabel)
            .map_err(|e| e.in_job(&job))
    }

    fn resolve_inner(
        &mut self,
        global: &GlobalConfig,
        relabel: &RelabelOptions,
    ) -> Result<(), ConfigError> {
        let invalid = |field: &'static str, message: String| ConfigError::Invalid {
            job: None,
            field,
            message,
        };
        if self.scrape_interval.is_zero() {
            self.scrape_interval = global.scrape_interval;
        }
        if self.scrape_timeout > self.scrape_interval {
            return Err(invalid(
                "scrape_timeout",
                format!(
                    "scrape timeout greater than scrape interval for scrape config with job name {:?}",
                    self.job_name
                ),
            ));
        }
        if self.scrape_timeout.is_zero() {
            self.scrape_timeout = global.scrape_timeout.min(self.scrape_interval);
        }
        for (mine, theirs) in [
            (&mut self.sample_limit, global.sample_limit),
            (&mut self.target_limit, global.target_limit),
            (&mut self.label_limit, global.label_limit),
            (
                &mut self.label_name_length_limit,
                global.label_name_length_limit,
            ),
            (
                &mut self.label_value_length_limit,
                global.label_value_length_limit,
            ),
        ] {
            if *mine == 0 {
                *mine = theirs;
            }
        }
        if self.scheme != "http" && self.scheme != "https" {
            return Err(invalid(
                "scheme",
                format!("unknown scheme {:?}, want http or https", self.scheme),
            ));
        }
        if !self.metrics_path.starts_with('/') {
            return Err(invalid(
                "metrics_path",
                format!("{:?} must start with /", self.metrics_path),
            ));
        }
        for h in &self.headers {
            if !h.contains(':') {
                return Err(invalid(
                    "headers",
                    format!("{h:?} is not of the form `Name: value`"),
                ));
            }
        }
        self.http_client().validate()?;
        for f in &self.file_sd_configs {
            f.validate()?;
        }
        for h in &self.http_sd_configs {
            h.validate()?;
        }
        for d in &self.dns_sd_configs {
            d.validate()?;
        }
        for k in &self.kubernetes_sd_configs {
            k.validate()?;
        }
        self.relabeler(relabel)?;
        self.metric_relabeler(relabel)?;
        Ok(())
    }

    /// Compiles `relabel_configs`.
    ///
    /// # Errors
    /// [`ConfigError::Relabel`] when a rule is not valid.
    pub fn relabeler(&self, opts: &RelabelOptions) -> Result<Relabeler, ConfigError> {
        compile(self.relabel_configs.rules(), opts).map_err(|source| ConfigError::Relabel {
            job: self.job_name.clone(),
            field: "relabel_configs",
            source,
        })
    }

    /// Compiles `metric_relabel_configs`.
    ///
    /// # Errors
    /// [`ConfigError::Relabel`] when a rule is not valid.
    pub fn metric_relabeler(&self, opts: &RelabelOptions) -> Result<Relabeler, ConfigError> {
        compile(self.metric_relabel_configs.rules(), opts).map_err(|source| ConfigError::Relabel {
            job: self.job_name.clone(),
            field: "metric_relabel_configs",
            source,
        })
    }

    /// The labels Prometheus sets on every discovered target of this job before
    /// `relabel_configs` run (a target's own labels win): `job`, `__scheme__`,
    /// `__metrics_path__`, `__scrape_interval__`, `__scrape_timeout__`, and
    /// `__param_<name>` with the first value of each `params` entry.
    pub fn target_defaults(&self) -> Vec<(String, String)> {
        let mut out = vec![
            ("job".to_owned(), self.job_name.clone()),
            ("__scheme__".to_owned(), self.scheme.clone()),
            ("__metrics_path__".to_owned(), self.metrics_path.clone()),
            (
                "__scrape_interval__".to_owned(),
                self.scrape_interval.to_string(),
            ),
            (
                "__scrape_timeout__".to_owned(),
                self.scrape_timeout.to_string(),
            ),
        ];
        for (name, values) in &self.params {
            if let Some(v) = values.first() {
                out.push((format!("__param_{name}"), v.clone()));
            }
        }
        out
    }

    /// The `headers` entries split into (name, value), trimmed.
    pub fn header_pairs(&self) -> Vec<(&str, &str)> {
        self.headers
            .iter()
            .filter_map(|h| h.split_once(':'))
            .map(|(n, v)| (n.trim(), v.trim()))
            .collect()
    }

    /// Resolves relative file names (client secrets, file SD patterns) against `dir`.
    pub fn resolve_paths(&mut self, dir: &std::path::Path) {
        let mut c = self.http_client();
        c.resolve_paths(dir);
        self.set_http_client(c);
        for f in &mut self.file_sd_configs {
            for p in &mut f.files {
                if std::path::Path::new(p.as_str()).is_relative() {
                    *p = dir.join(&*p).to_string_lossy().into_owned();
                }
            }
        }
        for h in &mut self.http_sd_configs {
            let mut c = h.http_client();
            c.resolve_paths(dir);
            h.set_http_client(c);
        }
        for k in &mut self.kubernetes_sd_configs {
            let mut c = k.http_client();
            c.resolve_paths(dir);
            k.set_http_client(c);
        }
    }
}
