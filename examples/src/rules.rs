//! Recording and alerting rules inside the `gnomon` server: the `-rule`, `-notifier.url`,
//! `-evaluationInterval`, `-external.*` and `-rule.*` flags, a rule manager over the
//! server's storage, `/api/v1/rules` and `/api/v1/alerts`, and [`reload`] (SIGHUP is
//! handled here; `/-/reload`, served by [`crate::scraping`], calls [`reload`]).
//!
//! List flags (`-rule`, `-notifier.url`, `-external.label`) may be repeated or take
//! comma-separated values,
//! as VictoriaMetrics accepts them.

use std::sync::{Arc, Mutex, Weak};
use std::time::Duration;

use axum::Router;
use gnomon_alert_rules::manager::{Manager, ManagerOptions, RuleStorage};
use gnomon_alert_rules::notifier::{Notifier, NotifierOptions};
use gnomon_tsdb_core::Storage;
use gnomon_tsdb_core::model::{Appender, Labels, Querier};

use crate::flags::{FlagError, FlagKind, FlagSpec, Flags};

/// The rule flags, appended to the server's table.
pub const RULE_FLAGS: [FlagSpec; 7] = [
    FlagSpec {
        name: "rule",
        default: "",
        help: "Paths or globs of Prometheus rule files (e.g. /etc/rules/*.yml); repeat the flag or separate with commas",
        kind: FlagKind::Array,
    },
    FlagSpec {
        name: "notifier.url",
        default: "",
        help: "Alertmanager URLs, comma-separated (e.g. http://127.0.0.1:9093)",
        kind: FlagKind::Array,
    },
    FlagSpec {
        name: "evaluationInterval",
        default: "1m",
        help: "How often rule groups without their own interval are evaluated",
        kind: FlagKind::Duration,
    },
    FlagSpec {
        name: "external.label",
        default: "",
        help: "Labels added to alerts sent to Alertmanager, comma-separated name=value pairs",
        kind: FlagKind::Array,
    },
    FlagSpec {
        name: "external.url",
        default: "",
        help: "URL of this server for generator links and $externalURL (default http://<hostname>:<port>)",
        kind: FlagKind::String,
    },
    FlagSpec {
        name: "rule.validateTemplates",
        default: "true",
        help: "Whether annotation and label templates must parse when rule files are loaded",
        kind: FlagKind::Bool,
    },
    FlagSpec {
        name: "rule.resendDelay",
        default: "1m",
        help: "Least time between two notifications of the same firing alert",
        kind: FlagKind::Duration,
    },
];

/// The rule settings of the server.
#[derive(Clone, Debug, Default)]
pub struct RulesConfig {
    /// Rule file paths and globs.
    pub files: Vec<String>,
    /// Alertmanager base URLs.
    pub notifier_urls: Vec<String>,
    /// Default evaluation interval.
    pub interval: Duration,
    /// External labels.
    pub external_labels: Vec<(String, String)>,
    /// External URL.
    pub external_url: String,
    /// Resend delay.
    pub resend_delay: Duration,
    /// Whether templates must parse when files are loaded.
    pub validate_templates: bool,
}

fn list(s: &str) -> Vec<String> {
    s.split(',')
        .map(str::trim)
        .filter(|x| !x.is_empty())
        .map(str::to_owned)
        .collect()
}

impl RulesConfig {
    /// Reads the rule flags.
    ///
    /// # Errors
    /// [`FlagError::Invalid`] for an `-external.label` without `=`.
    pub fn from_flags(f: &Flags) -> Result<RulesConfig, FlagError> {
        let mut external_labels = Vec::new();
        for kv in list(f.str("external.label")) {
            let Some((k, v)) = kv.split_once('=') else {
                return Err(FlagError::Invalid {
                    flag: "external.label".into(),
                    value: kv,
                    why: "want name=value".into(),
                });
            };
            external_labels.push((k.to_owned(), v.to_owned()));
        }
        Ok(RulesConfig {
            files: list(f.str("rule")),
            notifier_urls: list(f.str("notifier.url")),
            interval: f.duration("evaluationInterval"),
            external_labels,
            external_url: f.str("external.url").to_owned(),
            resend_delay: f.duration("rule.resendDelay"),
            validate_templates: f.bool("rule.validateTemplates"),
        })
    }
}

struct StorageRules(Storage);

impl RuleStorage for StorageRules {
    fn querier(&self) -> &dyn Querier {
        &self.0
    }
    fn appender(&self) -> Box<dyn Appender + '_> {
        Box::new(self.0.appender())
    }
}

/// Managers started by [`router`], for [`reload`].
static MANAGERS: Mutex<Vec<Weak<Manager>>> = Mutex::new(Vec::new());

/// Reads and validates the rule files (the server refuses to start on an invalid one).
///
/// # Errors
/// The first unreadable or invalid file, with every problem in it.
pub fn check(cfg: &RulesConfig) -> anyhow::Result<()> {
    let opts = gnomon_alert_rules::rulefmt::ParseOptions {
        promql: gnomon_promql::ParseOptions::default(),
        validate_templates: cfg.validate_templates,
        ..Default::default()
    };
    gnomon_alert_rules::files::parse_files(&cfg.files, &opts)?;
    Ok(())
}

/// Starts the rule manager on `storage` (when called inside a tokio runtime) and
/// returns the rules and alerts endpoints. A file that cannot be loaded is logged as an
/// error and the server runs without rules ([`check`] refuses it earlier in `run`).
pub fn router(storage: &Storage, cfg: &RulesConfig, listen_addr: &str) -> Router {
    let ms = |d: Duration| i64::try_from(d.as_millis()).unwrap_or(i64::MAX);
    let pairs: Vec<(&str, &str)> = cfg
        .external_labels
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    let mut opts = ManagerOptions {
        external_labels: Labels::from_pairs(&pairs),
        external_url: if cfg.external_url.is_empty() {
            format!("http://{}", listen_addr.replace("0.0.0.0", "localhost"))
        } else {
            cfg.external_url.clone()
        },
        resend_delay: ms(cfg.resend_delay),
        ..ManagerOptions::default()
    };
    opts.defaults.interval = ms(cfg.interval).max(1);
    // Rule files in the server take MetricsQL, as vmalert's do.
    opts.defaults.promql = gnomon_promql::ParseOptions::default();
    opts.rulefmt.promql = gnomon_promql::ParseOptions::default();
    opts.rulefmt.validate_templates = cfg.validate_templates;
    let running = tokio::runtime::Handle::try_current().is_ok();
    let notifier = (running && !cfg.notifier_urls.is_empty()).then(|| {
        Notifier::start(NotifierOptions {
            urls: cfg.notifier_urls.clone(),
            ..NotifierOptions::default()
        })
    });
    let m = Manager::new(Arc::new(StorageRules(storage.clone())), notifier, opts);
    match m.load(&cfg.files) {
        Ok(n) if !cfg.files.is_empty() => log::info!("loaded {n} rule groups from {:?}", cfg.files),
        Ok(_) => {}
        Err(e) => log::error!("cannot load rule files: {e}"),
    }
    if running {
        m.clone().start();
        spawn_sighup_reload();
    }
    MANAGERS
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
        .push(Arc::downgrade(&m));
    gnomon_alert_rules::http::router(m)
}

/// Re-reads the rule files of every running manager; unchanged rules keep their alerts.
///
/// # Errors
/// The first invalid file (the old rules keep running).
pub fn reload() -> anyhow::Result<()> {
    let managers: Vec<Arc<Manager>> = {
        let mut all = MANAGERS
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        all.retain(|w| w.strong_count() > 0);
        all.iter().filter_map(Weak::upgrade).collect()
    };
    for m in managers {
        let n = m.reload()?;
        log::info!("reloaded {n} rule groups");
    }
    Ok(())
}

fn spawn_sighup_reload() {
    tokio::spawn(async {
        let Ok(mut hup) = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::hangup())
        else {
            return;
        };
        while hup.recv().await.is_some() {
            if let Err(e) = reload() {
                log::error!("cannot reload rule files: {e:#}");
            }
        }
    });
}
