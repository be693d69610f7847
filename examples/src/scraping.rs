//! Scraping in the `gnomon` server: the `-promscrape.*` flags, a
//! [`ScrapeManager`] writing into the storage, reload on SIGHUP, on `GET|POST /-/reload`
//! (which reloads the rule files too, [`crate::rules::reload`])
//! and every `-promscrape.configCheckInterval`, and the targets pages.
//!
//! A config that fails to load at start stops the server (as VictoriaMetrics does); one
//! that fails on reload is logged, the old one keeps running, and `/-/reload` answers
//! 400 with the reason.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use gnomon_scrape::config::{Config, ConfigError, ConfigOptions};
use gnomon_scrape::discovery::{DiscoveryManager, DiscoveryOptions};
use gnomon_scrape::scrape::{
    AppenderFactory, JobOptions, ScrapeJob, ScrapeManager, Shard, TargetsSource, parse_member_num,
};
use tokio::sync::Mutex;

use crate::flags::{FlagError, Flags};

/// The `-promscrape.*` flags.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ScrapeFlags {
    /// `-promscrape.config`: the scrape config file; no scraping when `None`.
    pub config: Option<PathBuf>,
    /// `-promscrape.config.strictParse`.
    pub strict: bool,
    /// `-promscrape.configCheckInterval` (zero: only SIGHUP and `/-/reload`).
    pub check_interval: Duration,
    /// `-promscrape.fileSDCheckInterval`.
    pub file_sd_interval: Duration,
    /// `-promscrape.kubernetesSDCheckInterval`.
    pub kubernetes_sd_interval: Duration,
    /// `-promscrape.suppressScrapeErrors`.
    pub suppress_errors: bool,
    /// `-promscrape.maxScrapeSize` in bytes.
    pub max_scrape_size: usize,
    /// `-promscrape.cluster.*`: this member's share of the targets.
    pub shard: Option<Shard>,
}

impl ScrapeFlags {
    /// Reads the flags.
    ///
    /// # Errors
    /// [`FlagError::Invalid`] for cluster flags out of range.
    pub fn from_flags(f: &Flags) -> Result<ScrapeFlags, FlagError> {
        let path = f.str("promscrape.config");
        Ok(ScrapeFlags {
            config: (!path.is_empty()).then(|| PathBuf::from(path)),
            strict: f.bool("promscrape.config.strictParse"),
            check_interval: f.duration("promscrape.configCheckInterval"),
            file_sd_interval: f.duration("promscrape.fileSDCheckInterval"),
            kubernetes_sd_interval: f.duration("promscrape.kubernetesSDCheckInterval"),
            suppress_errors: f.bool("promscrape.suppressScrapeErrors"),
            max_scrape_size: usize::try_from(f.size("promscrape.maxScrapeSize"))
                .unwrap_or(usize::MAX),
            shard: shard(f)?,
        })
    }
}

/// `-promscrape.cluster.*`; `None` unless there are at least two members.
fn shard(f: &Flags) -> Result<Option<Shard>, FlagError> {
    let invalid = |flag: &str, why: String| FlagError::Invalid {
        flag: flag.to_owned(),
        value: f.str(flag).to_owned(),
        why,
    };
    let count = |flag: &str| {
        let v = f.float(flag);
        if v.fract() != 0.0 || !(0.0..=f64::from(u32::MAX)).contains(&v) {
            return Err(invalid(flag, "want a non-negative integer".into()));
        }
        Ok(v as u32)
    };
    let members = count("promscrape.cluster.membersCount")?;
    let replication = count("promscrape.cluster.replicationFactor")?;
    let member = parse_member_num(f.str("promscrape.cluster.memberNum"))
        .map_err(|why| invalid("promscrape.cluster.memberNum", why))?;
    if members <= 1 {
        return Ok(None);
    }
    if member >= members {
        return Err(invalid(
            "promscrape.cluster.memberNum",
            format!("must be smaller than -promscrape.cluster.membersCount={members}"),
        ));
    }
    if replication == 0 {
        return Err(invalid(
            "promscrape.cluster.replicationFactor",
            "must be at least 1".into(),
        ));
    }
    Ok(Some(Shard {
        members,
        member,
        replication,
    }))
}

/// The running scrape side of the server.
pub struct Scraping {
    manager: Arc<ScrapeManager>,
    flags: ScrapeFlags,
    /// The config now applied (to skip reloads that change nothing) and the discovery
    /// that feeds the jobs.
    applied: Mutex<Option<(Config, DiscoveryManager)>>,
}

impl Scraping {
    /// Loads `-promscrape.config` (when set) and starts scraping into `appenders`.
    ///
    /// # Errors
    /// The config cannot be read or is not valid.
    pub async fn start(
        flags: ScrapeFlags,
        appenders: AppenderFactory,
    ) -> Result<Arc<Scraping>, ConfigError> {
        let s = Arc::new(Scraping {
            manager: Arc::new(ScrapeManager::new(appenders)),
            flags,
            applied: Mutex::new(None),
        });
        if let Some(path) = &s.flags.config {
            log::info!("reading scrape configs from {}", path.display());
            s.reload().await?;
            s.spawn_reloaders();
        }
        Ok(s)
    }

    /// Re-reads the config file and applies it: unchanged jobs keep their loops.
    /// Returns false when there is no config file or it did not change.
    ///
    /// # Errors
    /// The new config cannot be read or is not valid; the old one keeps running.
    pub async fn reload(&self) -> Result<bool, ConfigError> {
        let Some(path) = self.flags.config.clone() else {
            return Ok(false);
        };
        let opts = ConfigOptions {
            strict: self.flags.strict,
            ..ConfigOptions::default()
        };
        let cfg = tokio::task::spawn_blocking(move || Config::load(&path, &opts))
            .await
            .map_err(|e| ConfigError::Io {
                path: PathBuf::new(),
                source: std::io::Error::other(e),
            })??;
        let mut applied = self.applied.lock().await;
        if applied.as_ref().is_some_and(|(c, _)| *c == cfg) {
            return Ok(false);
        }
        let job_opts = JobOptions {
            body_size_limit: self.flags.max_scrape_size,
            suppress_errors: self.flags.suppress_errors,
            shard: self.flags.shard,
            ..JobOptions::default()
        };
        let settings = cfg
            .scrape_configs
            .iter()
            .map(|sc| gnomon_scrape::scrape::job_settings(sc, &job_opts))
            .collect::<Result<Vec<_>, _>>()?;
        // Discovery keeps the discoverers (and channels) of unchanged SD configs.
        let discovery = match applied.take() {
            Some((_, mut d)) => {
                d.apply(&cfg);
                d
            }
            None => DiscoveryManager::start(&cfg, &self.discovery_options()),
        };
        let jobs: Vec<ScrapeJob> = cfg
            .scrape_configs
            .iter()
            .zip(settings)
            .filter_map(|(sc, settings)| {
                Some(ScrapeJob {
                    name: sc.job_name.clone(),
                    settings: Arc::new(settings),
                    groups: discovery.job(&sc.job_name)?,
                })
            })
            .collect();
        log::info!("applying {} scrape configs", jobs.len());
        self.manager.apply(jobs).await;
        *applied = Some((cfg, discovery));
        Ok(true)
    }

    fn discovery_options(&self) -> DiscoveryOptions {
        DiscoveryOptions {
            file_sd_check_interval: Some(self.flags.file_sd_interval),
            ..DiscoveryOptions::default()
        }
    }

    /// Reload on SIGHUP and every `-promscrape.configCheckInterval`.
    fn spawn_reloaders(self: &Arc<Self>) {
        let me = Arc::downgrade(self);
        tokio::spawn(async move {
            use tokio::signal::unix::{SignalKind, signal};
            let Ok(mut hup) = signal(SignalKind::hangup()) else {
                log::error!("cannot install the SIGHUP handler; use /-/reload");
                return;
            };
            while hup.recv().await.is_some() {
                let Some(s) = me.upgrade() else { return };
                log::info!("SIGHUP received; reloading {:?}", s.flags.config);
                s.log_reload().await;
            }
        });
        let interval = self.flags.check_interval;
        if interval.is_zero() {
            return;
        }
        let me = Arc::downgrade(self);
        tokio::spawn(async move {
            let mut t = tokio::time::interval(interval);
            t.tick().await;
            loop {
                t.tick().await;
                let Some(s) = me.upgrade() else { return };
                s.log_reload().await;
            }
        });
    }

    async fn log_reload(&self) {
        match self.reload().await {
            Ok(true) => log::info!("scrape config reloaded"),
            Ok(false) => {}
            Err(e) => log::error!("cannot reload scrape config; keeping the previous one: {e}"),
        }
    }

    /// The targets pages and `/-/reload`.
    pub fn router(self: &Arc<Self>) -> Router {
        let source: Arc<dyn TargetsSource> = self.manager.clone();
        gnomon_scrape::http::targets::targets_router(source).merge(
            Router::new()
                .route("/-/reload", get(reload).post(reload))
                .with_state(self.clone()),
        )
    }

    /// Stops every loop at shutdown (no staleness markers, as in Prometheus).
    pub async fn stop(&self) {
        if let Some((_, mut d)) = self.applied.lock().await.take() {
            d.stop();
        }
        self.manager.shutdown().await;
    }
}

/// `/-/reload`: the scrape config and the rule files (both keep their previous version
/// when the new one is broken, and the answer says why).
async fn reload(State(s): State<Arc<Scraping>>) -> Response {
    let mut errors = Vec::new();
    if let Err(e) = s.reload().await {
        log::error!("cannot reload scrape config; keeping the previous one: {e}");
        errors.push(format!("{e}"));
    }
    if let Err(e) = tokio::task::spawn_blocking(crate::rules::reload)
        .await
        .map_err(anyhow::Error::from)
        .and_then(|r| r)
    {
        log::error!("cannot reload rule files; keeping the previous ones: {e:#}");
        errors.push(format!("{e:#}"));
    }
    if errors.is_empty() {
        StatusCode::NO_CONTENT.into_response()
    } else {
        (StatusCode::BAD_REQUEST, errors.join("\n") + "\n").into_response()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::SERVER_FLAGS;
    use crate::flags::parse;

    fn flags(args: &[&str]) -> ScrapeFlags {
        ScrapeFlags::from_flags(&parse(SERVER_FLAGS, args.iter().map(|s| s.to_string())).unwrap())
            .unwrap()
    }

    #[test]
    fn promscrape_flags_have_victoriametrics_defaults() {
        let f = flags(&[]);
        assert_eq!(f.config, None);
        assert!(f.strict);
        assert_eq!(f.check_interval, Duration::ZERO);
        assert_eq!(f.file_sd_interval, Duration::from_secs(60));
        assert_eq!(f.kubernetes_sd_interval, Duration::from_secs(30));
        assert!(!f.suppress_errors);
        assert_eq!(f.max_scrape_size, 16 << 20);
        let f = flags(&[
            "-promscrape.config=/etc/p.yml",
            "-promscrape.config.strictParse=false",
            "-promscrape.configCheckInterval=10s",
            "-promscrape.suppressScrapeErrors",
            "-promscrape.maxScrapeSize=1MB",
        ]);
        assert_eq!(f.config, Some(PathBuf::from("/etc/p.yml")));
        assert!(!f.strict);
        assert_eq!(f.check_interval, Duration::from_secs(10));
        assert!(f.suppress_errors);
        assert_eq!(f.max_scrape_size, 1_000_000);
        let f = flags(&[
            "-promscrape.cluster.membersCount=3",
            "-promscrape.cluster.memberNum=vmagent-2",
            "-promscrape.cluster.replicationFactor=2",
        ]);
        assert_eq!(
            f.shard,
            Some(Shard {
                members: 3,
                member: 2,
                replication: 2
            })
        );
        let bad = |args: &[&str]| {
            ScrapeFlags::from_flags(
                &parse(SERVER_FLAGS, args.iter().map(|s| s.to_string())).unwrap(),
            )
            .unwrap_err()
            .to_string()
        };
        assert!(
            bad(&[
                "-promscrape.cluster.membersCount=2",
                "-promscrape.cluster.memberNum=2"
            ])
            .contains("must be smaller than -promscrape.cluster.membersCount=2")
        );
        assert!(bad(&["-promscrape.cluster.membersCount=2.5"]).contains("non-negative integer"));
        assert!(bad(&["-promscrape.cluster.memberNum=x"]).contains("pod name"));
    }

    #[tokio::test]
    async fn without_a_config_nothing_is_scraped_and_reload_is_a_no_op() {
        let store: AppenderFactory =
            Arc::new(|| -> Box<dyn gnomon_tsdb_core::model::Appender + Send> {
                unreachable!("no scrape without a config")
            });
        let s = Scraping::start(ScrapeFlags::default(), store)
            .await
            .unwrap();
        assert!(!s.reload().await.unwrap());
        assert!(s.manager.pools().is_empty());
        s.stop().await;
    }
}
