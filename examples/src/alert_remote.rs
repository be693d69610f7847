//! `gnomon-alert`: rules evaluated against a remote Prometheus-compatible datasource
//! (`-datasource.url`, its `/api/v1/query`), results remote-written to
//! `-remoteWrite.url` + `/api/v1/write` (through an on-disk queue), alerts sent to
//! `-notifier.url`; alert state restored at start from `-remoteRead.url`'s
//! `/api/v1/export`; `/api/v1/rules` and `/api/v1/alerts` on `-httpListenAddr` (`:8880`).

use std::sync::Arc;
use std::time::Duration;

use anyhow::Context as _;
use axum::Router;
use axum::routing::get;
use gnomon_alert_rules::manager::{Manager, ManagerOptions, RuleStorage};
use gnomon_alert_rules::notifier::{Notifier, NotifierOptions};
use gnomon_alert_rules::rule::QueryBackend;
use gnomon_alert_rules::template::QuerySample;
use gnomon_promql::Expr;
use gnomon_scrape::remote::{RemoteWriteOptions, RemoteWriter, UrlOptions};
use gnomon_tsdb_core::model::{
    Appender, Labels, MatchOp, Matcher, Querier, Sample, Series, SeriesIter, TimeRange,
};
use tokio::runtime::Handle;

use crate::flags::{FlagError, FlagKind, FlagSpec, Flags};

/// `gnomon-alert`'s flags.
pub const ALERT_FLAGS: &[FlagSpec] = &[
    FlagSpec {
        name: "datasource.url",
        default: "",
        help: "Prometheus-compatible datasource the rules query (its /api/v1/query), e.g. http://127.0.0.1:8428",
        kind: FlagKind::String,
    },
    FlagSpec {
        name: "remoteWrite.url",
        default: "",
        help: "Where recording-rule results and ALERTS series are written with Prometheus remote write: -remoteWrite.url=http://127.0.0.1:8428 writes to http://127.0.0.1:8428/api/v1/write; empty: not written",
        kind: FlagKind::String,
    },
    FlagSpec {
        name: "remoteWrite.tmpDataPath",
        default: "gnomon-alert-remotewrite-data",
        help: "Where results wait, on disk, until -remoteWrite.url accepts them",
        kind: FlagKind::String,
    },
    FlagSpec {
        name: "remoteRead.url",
        default: "",
        help: "Where ALERTS_FOR_STATE is read to restore alert state at start (VictoriaMetrics /api/v1/export); empty: no restore",
        kind: FlagKind::String,
    },
    FlagSpec {
        name: "httpListenAddr",
        default: ":8880",
        help: "Address for /api/v1/rules, /api/v1/alerts and /health",
        kind: FlagKind::String,
    },
    FlagSpec {
        name: "loggerLevel",
        default: "INFO",
        help: "Minimum level of errors to log. Possible values: INFO, WARN, ERROR",
        kind: FlagKind::String,
    },
    crate::rules::RULE_FLAGS[0],
    crate::rules::RULE_FLAGS[1],
    crate::rules::RULE_FLAGS[2],
    crate::rules::RULE_FLAGS[3],
    crate::rules::RULE_FLAGS[4],
    crate::rules::RULE_FLAGS[5],
    crate::rules::RULE_FLAGS[6],
];

/// `gnomon-alert`'s configuration.
#[derive(Clone, Debug)]
pub struct AlertConfig {
    /// Datasource base URL.
    pub datasource: String,
    /// Remote-write base URL (empty: results are not written).
    pub remote_write: String,
    /// The remote-write queue's directory.
    pub remote_write_tmp: std::path::PathBuf,
    /// Export base URL for state restore (empty: no restore).
    pub remote_read: String,
    /// Listen address.
    pub listen_addr: String,
    /// Rules, notifier and evaluation settings.
    pub rules: crate::rules::RulesConfig,
}

impl AlertConfig {
    /// Reads the flags.
    ///
    /// # Errors
    /// [`FlagError::Invalid`] when `-datasource.url` is missing or a rule flag is invalid.
    pub fn from_flags(f: &Flags) -> Result<AlertConfig, FlagError> {
        if f.str("datasource.url").is_empty() {
            return Err(FlagError::Invalid {
                flag: "datasource.url".into(),
                value: String::new(),
                why: "a datasource is required".into(),
            });
        }
        let listen = f.str("httpListenAddr");
        Ok(AlertConfig {
            datasource: f.str("datasource.url").trim_end_matches('/').to_owned(),
            remote_write: f.str("remoteWrite.url").trim_end_matches('/').to_owned(),
            remote_write_tmp: f.str("remoteWrite.tmpDataPath").into(),
            remote_read: f.str("remoteRead.url").trim_end_matches('/').to_owned(),
            listen_addr: if listen.starts_with(':') {
                format!("0.0.0.0{listen}")
            } else {
                listen.to_owned()
            },
            rules: crate::rules::RulesConfig::from_flags(f)?,
        })
    }
}

fn remote_err(e: impl std::fmt::Display) -> gnomon_alert_rules::Error {
    gnomon_alert_rules::Error::Remote(e.to_string())
}

/// Instant queries against `/api/v1/query`.
struct Datasource {
    client: reqwest::Client,
    url: String,
    rt: Handle,
}

impl QueryBackend for Datasource {
    fn query(&self, expr: &Expr, t: i64) -> gnomon_alert_rules::Result<Vec<QuerySample>> {
        let time = format!("{}.{:03}", t.div_euclid(1000), t.rem_euclid(1000));
        let req = self
            .client
            .get(format!("{}/api/v1/query", self.url))
            .query(&[("query", expr.to_string()), ("time", time)]);
        let bytes = self
            .rt
            .block_on(async { req.send().await?.bytes().await })
            .map_err(remote_err)?;
        let body: serde_json::Value = serde_json::from_slice(&bytes).map_err(remote_err)?;
        if body["status"] != "success" {
            return Err(remote_err(body["error"].as_str().unwrap_or("query failed")));
        }
        let num = |v: &serde_json::Value| v[1].as_str().and_then(|s| s.parse::<f64>().ok());
        let data = &body["data"];
        match data["resultType"].as_str() {
            Some("scalar") => Ok(vec![QuerySample {
                labels: Labels::empty(),
                value: num(&data["result"]).ok_or_else(|| remote_err("bad scalar"))?,
            }]),
            Some("vector") => data["result"]
                .as_array()
                .map(Vec::as_slice)
                .unwrap_or_default()
                .iter()
                .map(|s| {
                    let pairs: Vec<(String, String)> = s["metric"]
                        .as_object()
                        .map(|m| {
                            m.iter()
                                .map(|(k, v)| (k.clone(), v.as_str().unwrap_or("").to_owned()))
                                .collect()
                        })
                        .unwrap_or_default();
                    Ok(QuerySample {
                        labels: Labels::from_pairs(&pairs),
                        value: num(&s["value"]).ok_or_else(|| remote_err("bad sample value"))?,
                    })
                })
                .collect(),
            other => Err(remote_err(format!(
                "rule result is not a vector or scalar: {other:?}"
            ))),
        }
    }
}

/// Writes results through the remote-write client; reads alert state with
/// `/api/v1/export`.
struct ImportWriter {
    client: reqwest::Client,
    writer: Option<Arc<RemoteWriter>>,
    read_url: String,
    rt: Handle,
}

/// Appends nowhere: without `-remoteWrite.url` results are only evaluated.
struct Discard;

impl Appender for Discard {
    fn append(&mut self, _: &Labels, _: Sample) -> gnomon_tsdb_core::Result<()> {
        Ok(())
    }
    fn commit(&mut self) -> gnomon_tsdb_core::Result<()> {
        Ok(())
    }
}

/// `match[]` text of `matchers` (equality and regex matchers, Go-quoted values).
fn selector(matchers: &[Matcher]) -> String {
    let parts: Vec<String> = matchers
        .iter()
        .map(|m| {
            let op = match m.op {
                MatchOp::Equal => "=",
                MatchOp::NotEqual => "!=",
                MatchOp::RegexMatch => "=~",
                MatchOp::RegexNoMatch => "!~",
            };
            format!("{}{op}{:?}", m.name, m.value)
        })
        .collect();
    format!("{{{}}}", parts.join(","))
}

/// Series of VictoriaMetrics' export format (one JSON object a line).
fn parse_export(body: &str) -> Vec<Series> {
    let mut out = Vec::new();
    for line in body.lines().filter(|l| !l.trim().is_empty()) {
        let Ok(v) = serde_json::from_str::<serde_json::Value>(line) else {
            continue;
        };
        let pairs: Vec<(String, String)> = v["metric"]
            .as_object()
            .map(|m| {
                m.iter()
                    .map(|(k, v)| (k.clone(), v.as_str().unwrap_or("").to_owned()))
                    .collect()
            })
            .unwrap_or_default();
        let (Some(vals), Some(ts)) = (v["values"].as_array(), v["timestamps"].as_array()) else {
            continue;
        };
        let samples = vals
            .iter()
            .zip(ts)
            .filter_map(|(v, t)| Some(Sample::new(t.as_i64()?, v.as_f64()?)))
            .collect();
        out.push(Series {
            labels: Labels::from_pairs(&pairs),
            samples,
        });
    }
    out
}

/// Reads `ALERTS_FOR_STATE` back for the state restore through `/api/v1/export` of
/// `-remoteRead.url`; nothing when it is not set.
impl Querier for ImportWriter {
    fn select(
        &self,
        matchers: &[Matcher],
        range: TimeRange,
    ) -> gnomon_tsdb_core::Result<SeriesIter> {
        if self.read_url.is_empty() {
            return Ok(Box::new(std::iter::empty()));
        }
        let req = self
            .client
            .get(format!("{}/api/v1/export", self.read_url))
            .query(&[
                ("match[]", selector(matchers)),
                ("start", format!("{}", range.start as f64 / 1000.0)),
                ("end", format!("{}", range.end as f64 / 1000.0)),
            ]);
        let body = self
            .rt
            .block_on(async { req.send().await?.error_for_status()?.text().await });
        match body {
            Ok(b) => Ok(Box::new(parse_export(&b).into_iter().map(Ok))),
            Err(e) => {
                log::warn!("cannot read alert state from {}: {e}", self.read_url);
                Ok(Box::new(std::iter::empty()))
            }
        }
    }
    fn series(&self, _: &[Matcher], _: TimeRange) -> gnomon_tsdb_core::Result<Vec<Labels>> {
        Ok(Vec::new())
    }
    fn label_names(&self, _: &[Matcher], _: TimeRange) -> gnomon_tsdb_core::Result<Vec<String>> {
        Ok(Vec::new())
    }
    fn label_values(
        &self,
        _: &str,
        _: &[Matcher],
        _: TimeRange,
    ) -> gnomon_tsdb_core::Result<Vec<String>> {
        Ok(Vec::new())
    }
}

impl RuleStorage for ImportWriter {
    fn querier(&self) -> &dyn Querier {
        self
    }
    fn appender(&self) -> Box<dyn Appender + '_> {
        match &self.writer {
            Some(w) => Box::new(w.appender()),
            None => Box::new(Discard),
        }
    }
}

/// Loads the rules, evaluates them on their schedules and serves the API until SIGINT or
/// SIGTERM.
///
/// # Errors
/// Invalid rule files, an address that cannot be bound, an HTTP client that cannot be
/// built.
pub async fn run(cfg: AlertConfig) -> anyhow::Result<()> {
    crate::rules::check(&cfg.rules)?;
    let client = reqwest::Client::builder()
        .timeout(Duration::from_secs(30))
        .build()
        .context("cannot build the HTTP client")?;
    let rt = Handle::current();
    let ms = |d: Duration| i64::try_from(d.as_millis()).unwrap_or(i64::MAX);
    let pairs: Vec<(&str, &str)> = cfg
        .rules
        .external_labels
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    let mut opts = ManagerOptions {
        external_labels: Labels::from_pairs(&pairs),
        external_url: if cfg.rules.external_url.is_empty() {
            cfg.datasource.clone()
        } else {
            cfg.rules.external_url.clone()
        },
        resend_delay: ms(cfg.rules.resend_delay),
        ..ManagerOptions::default()
    };
    opts.defaults.interval = ms(cfg.rules.interval).max(1);
    opts.defaults.promql = gnomon_promql::ParseOptions::default();
    opts.rulefmt.promql = gnomon_promql::ParseOptions::default();
    opts.rulefmt.validate_templates = cfg.rules.validate_templates;
    let notifier = (!cfg.rules.notifier_urls.is_empty()).then(|| {
        Notifier::start(NotifierOptions {
            urls: cfg.rules.notifier_urls.clone(),
            ..NotifierOptions::default()
        })
    });
    let writer = if cfg.remote_write.is_empty() {
        None
    } else {
        let url = format!("{}/api/v1/write", cfg.remote_write);
        log::info!("writing rule results to {url}");
        Some(
            RemoteWriter::start(RemoteWriteOptions {
                urls: vec![UrlOptions::new(url)],
                tmp_data_path: cfg.remote_write_tmp.clone(),
                ..RemoteWriteOptions::default()
            })
            .context("cannot start remote write")?,
        )
    };
    let storage = Arc::new(ImportWriter {
        client: client.clone(),
        writer: writer.clone(),
        read_url: cfg.remote_read.clone(),
        rt: rt.clone(),
    });
    let backend = Arc::new(Datasource {
        client,
        url: cfg.datasource.clone(),
        rt,
    });
    let m = Manager::with_backend(storage, notifier, opts, Some(backend));
    let n = m.load(&cfg.rules.files)?;
    log::info!("loaded {n} rule groups; datasource {}", cfg.datasource);
    m.clone().start();
    let app = Router::new()
        .merge(gnomon_alert_rules::http::router(m))
        .route("/health", get(|| async { "OK" }));
    let listener = tokio::net::TcpListener::bind(&cfg.listen_addr)
        .await
        .with_context(|| format!("cannot listen on {}", cfg.listen_addr))?;
    log::info!("listening on http://{}", listener.local_addr()?);
    crate::serve::serve(
        listener,
        app,
        None,
        crate::serve::shutdown_signal(),
        Duration::from_secs(5),
    )
    .await;
    if let Some(w) = writer {
        w.stop()
            .await
            .context("cannot close the remote write queue")?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn export_lines_and_selectors() {
        let s = parse_export(
            "{\"metric\":{\"__name__\":\"ALERTS_FOR_STATE\",\"alertname\":\"A\"},\"values\":[1700000000],\"timestamps\":[1700000060000]}\nnot json\n",
        );
        assert_eq!(s.len(), 1);
        assert_eq!(s[0].labels.get("alertname"), Some("A"));
        assert_eq!(s[0].samples, vec![Sample::new(1_700_000_060_000, 1.7e9)]);
        let m = vec![
            Matcher::new(MatchOp::Equal, "__name__", "ALERTS_FOR_STATE").unwrap(),
            Matcher::new(MatchOp::Equal, "job", "a\"b").unwrap(),
        ];
        assert_eq!(
            selector(&m),
            "{__name__=\"ALERTS_FOR_STATE\",job=\"a\\\"b\"}"
        );
    }
}
