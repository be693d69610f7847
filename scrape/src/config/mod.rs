//! Prometheus-compatible scrape configuration (`-promscrape.config`).
//!
//! Module map:
//! - [`Config`] (this file): the file, its loading ([`Config::load`],
//!   [`Config::from_yaml`]) and [`ConfigOptions`].
//! - `global`: [`GlobalConfig`]; `scrape_config`: [`ScrapeConfig`], one job.
//! - `http_client`: [`HttpClientConfig`] and its parts ([`BasicAuth`],
//!   [`Authorization`], [`TlsConfig`]), carried inline by jobs and SD configs.
//! - `sd`: the service discovery configs ([`StaticConfig`], [`FileSdConfig`],
//!   [`HttpSdConfig`], [`DnsSdConfig`], [`KubernetesSdConfig`]).
//! - `duration`: Prometheus durations ([`PromDuration`], [`parse_duration`]).
//! - `env`: `%{NAME}` environment references; `error`: [`ConfigError`].
//!
//! ```
//! use gnomon_scrape::config::{Config, ConfigOptions};
//! use std::time::Duration;
//!
//! let cfg = Config::from_yaml(r#"
//! global:
//!   scrape_interval: 15s
//! scrape_configs:
//!   - job_name: node
//!     static_configs: [{targets: ['localhost:9100']}]
//! remote_write: [{url: 'http://x/api/v1/write'}]   # accepted and ignored
//! "#, &ConfigOptions::default())?;
//! let job = &cfg.scrape_configs[0];
//! assert_eq!(job.scrape_interval.get(), Duration::from_secs(15));
//! assert_eq!(job.scrape_timeout.get(), Duration::from_secs(10));
//! assert_eq!(job.metrics_path, "/metrics");
//! # Ok::<(), gnomon_scrape::config::ConfigError>(())
//! ```

mod duration;
mod env;
mod error;
mod global;
pub(crate) mod http_client;
mod lenient;
mod scrape_config;
mod sd;

use std::collections::HashSet;
use std::path::{Path, PathBuf};

use gnomon_relabel::RelabelOptions;
use serde::de::{DeserializeOwned, IgnoredAny};
use serde::{Deserialize, Serialize};

pub use duration::{DurationError, PromDuration, format_duration, parse_duration};
pub use error::ConfigError;
pub use global::{
    DEFAULT_EVALUATION_INTERVAL, DEFAULT_SCRAPE_INTERVAL, DEFAULT_SCRAPE_TIMEOUT, GlobalConfig,
};
pub use http_client::{Auth, Authorization, BasicAuth, HttpClientConfig, TlsConfig};
pub use scrape_config::ScrapeConfig;
pub use sd::{
    DnsRecordType, DnsSdConfig, FileSdConfig, HttpSdConfig, KubernetesAttachMetadata,
    KubernetesNamespaces, KubernetesRole, KubernetesSdConfig, KubernetesSelector, StaticConfig,
};

/// How a config file is read.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ConfigOptions {
    /// Unknown fields are errors (`-promscrape.config.strictParse=true`, the default);
    /// when false they are dropped silently.
    pub strict: bool,
    /// Expand `%{NAME}` environment references (VictoriaMetrics); default true.
    pub expand_env: bool,
    /// How relabel rules are validated (Prometheus by default).
    pub relabel: RelabelOptions,
}

impl Default for ConfigOptions {
    fn default() -> Self {
        ConfigOptions {
            strict: true,
            expand_env: true,
            relabel: RelabelOptions::prometheus(),
        }
    }
}

/// A scrape config file.
///
/// Top-level sections a VictoriaMetrics single server ignores (`remote_write`,
/// `remote_read`, `alerting`, `rule_files`, `storage`, `tracing`, `otlp`, `runtime`) are
/// accepted and dropped.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// `global:`
    #[serde(default)]
    pub global: GlobalConfig,
    /// `scrape_configs:` — after loading, also the jobs of `scrape_config_files`.
    #[serde(default)]
    pub scrape_configs: Vec<ScrapeConfig>,
    /// `scrape_config_files:` — globs of files holding more `scrape_configs`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub scrape_config_files: Vec<String>,
    #[serde(default, skip_serializing)]
    remote_write: Option<IgnoredAny>,
    #[serde(default, skip_serializing)]
    remote_read: Option<IgnoredAny>,
    #[serde(default, skip_serializing)]
    alerting: Option<IgnoredAny>,
    #[serde(default, skip_serializing)]
    rule_files: Option<IgnoredAny>,
    #[serde(default, skip_serializing)]
    storage: Option<IgnoredAny>,
    #[serde(default, skip_serializing)]
    tracing: Option<IgnoredAny>,
    #[serde(default, skip_serializing)]
    otlp: Option<IgnoredAny>,
    #[serde(default, skip_serializing)]
    runtime: Option<IgnoredAny>,
}

/// A file named by `scrape_config_files`.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ScrapeConfigsFile {
    #[serde(default)]
    scrape_configs: Vec<ScrapeConfig>,
}

impl Config {
    /// Parses and validates config text. Relative paths (`scrape_config_files`, secrets
    /// files, file SD patterns) stay relative to the working directory.
    ///
    /// # Errors
    /// See [`Config::load`].
    pub fn from_yaml(text: &str, opts: &ConfigOptions) -> Result<Config, ConfigError> {
        Config::parse(text, None, opts)
    }

    /// Reads, parses and validates a config file and the files its
    /// `scrape_config_files` name. Relative paths resolve against the file's directory.
    ///
    /// # Errors
    /// [`ConfigError::Io`] for an unreadable file; [`ConfigError::Yaml`] with the file,
    /// line and column for bad YAML, an unknown field (strict mode) or a wrongly typed
    /// value; [`ConfigError::MissingEnv`] for an unset `%{NAME}`;
    /// [`ConfigError::Invalid`], [`ConfigError::Unsupported`], [`ConfigError::Relabel`]
    /// for values that parse but are not valid.
    pub fn load(path: &Path, opts: &ConfigOptions) -> Result<Config, ConfigError> {
        let text = read(path)?;
        Config::parse(&text, Some(path), opts)
    }

    fn parse(text: &str, path: Option<&Path>, opts: &ConfigOptions) -> Result<Config, ConfigError> {
        let mut cfg: Config = parse_doc(text, path, opts)?.unwrap_or_default();
        let dir = path
            .and_then(Path::parent)
            .map(Path::to_path_buf)
            .unwrap_or_default();
        for job in &mut cfg.scrape_configs {
            job.resolve_paths(&dir);
        }
        for pattern in &cfg.scrape_config_files {
            for file in expand_glob(&dir, pattern)? {
                let sub: Option<ScrapeConfigsFile> = parse_doc(&read(&file)?, Some(&file), opts)?;
                let sub_dir = file.parent().map(Path::to_path_buf).unwrap_or_default();
                for mut job in sub.map(|s| s.scrape_configs).unwrap_or_default() {
                    job.resolve_paths(&sub_dir);
                    cfg.scrape_configs.push(job);
                }
            }
        }
        cfg.global.resolve()?;
        let mut names = HashSet::new();
        for job in &mut cfg.scrape_configs {
            job.resolve(&cfg.global, &opts.relabel)?;
            if !names.insert(job.job_name.clone()) {
                return Err(ConfigError::Invalid {
                    job: Some(job.job_name.clone()),
                    field: "job_name",
                    message: format!(
                        "found multiple scrape configs with job name {:?}",
                        job.job_name
                    ),
                });
            }
        }
        Ok(cfg)
    }

    /// The job named `name`.
    pub fn job(&self, name: &str) -> Option<&ScrapeConfig> {
        self.scrape_configs.iter().find(|j| j.job_name == name)
    }
}

fn read(path: &Path) -> Result<String, ConfigError> {
    std::fs::read_to_string(path).map_err(|source| ConfigError::Io {
        path: path.to_path_buf(),
        source,
    })
}

/// The files a `scrape_config_files` pattern names, sorted.
fn expand_glob(dir: &Path, pattern: &str) -> Result<Vec<PathBuf>, ConfigError> {
    let full = if Path::new(pattern).is_relative() {
        dir.join(pattern)
    } else {
        PathBuf::from(pattern)
    };
    let bad = |message: String| ConfigError::Invalid {
        job: None,
        field: "scrape_config_files",
        message,
    };
    let paths = glob::glob(&full.to_string_lossy())
        .map_err(|e| bad(format!("invalid pattern {pattern:?}: {e}")))?;
    let mut out = Vec::new();
    for p in paths {
        out.push(p.map_err(|e| bad(format!("{pattern:?}: {e}")))?);
    }
    out.sort();
    Ok(out)
}

/// Parses one YAML document into `T` (after `%{NAME}` expansion), strictly or
/// dropping unknown fields.
fn parse_doc<T: DeserializeOwned>(
    text: &str,
    path: Option<&Path>,
    opts: &ConfigOptions,
) -> Result<Option<T>, ConfigError> {
    let text = if opts.expand_env {
        env::expand(text, |n| std::env::var(n).ok()).map_err(|e| match e {
            ConfigError::MissingEnv { name, .. } => ConfigError::MissingEnv {
                path: path.map(Path::to_path_buf),
                name,
            },
            other => other,
        })?
    } else {
        text.into()
    };
    let owned_path = || path.map(Path::to_path_buf);
    if opts.strict {
        serde_yaml_ng::from_str(&text).map_err(|e| ConfigError::yaml(owned_path(), &e))
    } else {
        lenient::from_str(&text).map_err(|e| ConfigError::yaml(owned_path(), &e))
    }
}

#[cfg(test)]
mod tests;
