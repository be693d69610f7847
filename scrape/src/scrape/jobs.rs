//! From a scrape config file to the manager's jobs.

use std::hash::{Hash, Hasher};
use std::sync::Arc;

use gnomon_relabel::RelabelOptions;
use reqwest::header::{HeaderMap, HeaderName, HeaderValue};

use super::fetch::SCRAPE_USER_AGENT;
use super::options::LoopOptions;
use super::pool::JobSettings;
use crate::client::{ClientOptions, build_client};
use crate::config::{ConfigError, ScrapeConfig};
use crate::target::TargetDefaults;

/// Process-level settings that apply to every job (VictoriaMetrics' `-promscrape.*`
/// flags).
#[derive(Clone, Debug)]
pub struct JobOptions {
    /// Largest scrape body (`-promscrape.maxScrapeSize`).
    pub body_size_limit: usize,
    /// Do not log failed scrapes (`-promscrape.suppressScrapeErrors`).
    pub suppress_errors: bool,
    /// How relabel rules compile.
    pub relabel: RelabelOptions,
    /// This member's share of the targets (`-promscrape.cluster.*`); all when `None`.
    pub shard: Option<super::Shard>,
}

impl Default for JobOptions {
    fn default() -> Self {
        JobOptions {
            body_size_limit: LoopOptions::default().body_size_limit,
            suppress_errors: false,
            relabel: RelabelOptions::prometheus(),
            shard: None,
        }
    }
}

/// The settings of one job from its (resolved) scrape config.
///
/// # Errors
/// [`ConfigError::Relabel`] when relabel rules do not compile; [`ConfigError::Invalid`]
/// for a header or HTTP client setting that cannot be used.
pub fn job_settings(sc: &ScrapeConfig, o: &JobOptions) -> Result<JobSettings, ConfigError> {
    let relabel = sc.relabeler(&o.relabel)?;
    let metric_relabel = sc.metric_relabeler(&o.relabel)?;
    let opts = LoopOptions {
        honor_labels: sc.honor_labels,
        honor_timestamps: sc.honor_timestamps,
        sample_limit: to_usize(sc.sample_limit),
        label_limit: to_usize(sc.label_limit),
        label_name_length_limit: to_usize(sc.label_name_length_limit),
        label_value_length_limit: to_usize(sc.label_value_length_limit),
        body_size_limit: o.body_size_limit,
        metric_relabel: (!metric_relabel.is_empty()).then(|| Arc::new(metric_relabel)),
        suppress_errors: o.suppress_errors,
        headers: headers(sc)?,
        auth: sc.http_client().auth(),
        ..LoopOptions::default()
    };
    let defaults = TargetDefaults {
        job: sc.job_name.clone(),
        scheme: sc.scheme.clone(),
        metrics_path: sc.metrics_path.clone(),
        interval: sc.scrape_interval.get(),
        timeout: sc.scrape_timeout.get(),
        params: sc.params.clone(),
        relabel: (!relabel.is_empty()).then(|| Arc::new(relabel)),
    };
    Ok(JobSettings {
        defaults,
        opts: Arc::new(opts),
        client: client(sc)?,
        fingerprint: fingerprint(sc, o),
        shard: o.shard.filter(|s| s.members > 1),
    })
}

/// A hash of everything that shapes the job: two configs with the same fingerprint
/// scrape the same way, so a reload keeps the job's loops.
fn fingerprint(sc: &ScrapeConfig, o: &JobOptions) -> u64 {
    let mut h = std::collections::hash_map::DefaultHasher::new();
    format!("{sc:?}").hash(&mut h);
    format!("{o:?}").hash(&mut h);
    h.finish()
}

/// The job's HTTP client (TLS, proxy, redirects, HTTP/2; gzip negotiated).
fn client(sc: &ScrapeConfig) -> Result<reqwest::Client, ConfigError> {
    let opts = ClientOptions {
        timeout: None,
        gzip: true,
        user_agent: SCRAPE_USER_AGENT.to_owned(),
    };
    build_client(&sc.http_client(), &opts).map_err(|e| ConfigError::Invalid {
        job: Some(sc.job_name.clone()),
        field: "http client",
        message: e.to_string(),
    })
}

fn headers(sc: &ScrapeConfig) -> Result<HeaderMap, ConfigError> {
    let mut map = HeaderMap::new();
    for (n, v) in sc.header_pairs() {
        let bad = |what: &str| ConfigError::Invalid {
            job: Some(sc.job_name.clone()),
            field: "headers",
            message: format!("invalid header {what} in {n:?}: {v:?}"),
        };
        let name = HeaderName::from_bytes(n.as_bytes()).map_err(|_| bad("name"))?;
        let value = HeaderValue::from_str(v).map_err(|_| bad("value"))?;
        map.append(name, value);
    }
    Ok(map)
}

fn to_usize(v: u64) -> usize {
    usize::try_from(v).unwrap_or(usize::MAX)
}
