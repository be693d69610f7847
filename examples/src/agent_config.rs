//! `gnomon-agent`'s flags (vmagent's names and defaults) and the configuration built
//! from them: the server's HTTP, push and `-promscrape.*` flags, plus `-remoteWrite.*`.
//!
//! Per-destination flags are arrays read by position: the i-th value belongs to the
//! i-th `-remoteWrite.url`; a flag given once applies to every URL; an empty item means
//! the default for that URL, as in vmagent.

use std::path::PathBuf;
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use gnomon_relabel::{RelabelConfigs, RelabelOptions, Relabeler, compile};
use gnomon_scrape::config::{Authorization, BasicAuth as ClientBasicAuth, TlsConfig};
use gnomon_scrape::remote::{RemoteWriteOptions, UrlOptions};
use gnomon_tsdb_core::model::Label;

use crate::config::{BasicAuth, SERVER_FLAGS, TlsFiles, http_and_logging, listen_addr};
use crate::flags::{FlagError, FlagKind, FlagSpec, Flags, parse_duration};
use crate::listeners::PushConfig;
use crate::scraping::ScrapeFlags;

/// Server flags the agent shares (besides every `-promscrape.*` flag).
const SHARED: &[&str] = &[
    "httpListenAddr",
    "httpAuth.username",
    "httpAuth.password",
    "tls",
    "tlsCertFile",
    "tlsKeyFile",
    "maxInsertRequestSize",
    "loggerLevel",
    "version",
    "graphiteListenAddr",
    "graphiteTrimTimestamp",
    "opentsdbListenAddr",
    "influxMeasurementFieldSeparator",
    "influxSkipSingleField",
    "influxSkipMeasurement",
    "influxDBLabel",
    "influx.databaseNames",
];

const fn array(name: &'static str, help: &'static str) -> FlagSpec {
    FlagSpec {
        name,
        default: "",
        help,
        kind: FlagKind::Array,
    }
}

/// The agent's own flags.
const REMOTE_WRITE_FLAGS: &[FlagSpec] = &[
    array(
        "remoteWrite.url",
        "Remote storage URL to write data to. It must support Prometheus remote_write API. Example url: http://<victoriametrics-host>:8428/api/v1/write . Pass multiple -remoteWrite.url flags in order to replicate data to multiple remote storage systems",
    ),
    FlagSpec {
        name: "remoteWrite.tmpDataPath",
        default: "vmagent-remotewrite-data",
        help: "Path to directory where temporary data for remote write component is stored. See also -remoteWrite.maxDiskUsagePerURL",
        kind: FlagKind::String,
    },
    FlagSpec {
        name: "remoteWrite.maxDiskUsagePerURL",
        default: "0",
        help: "The maximum file-based buffer size in bytes at -remoteWrite.tmpDataPath for each -remoteWrite.url. When buffer size reaches the configured maximum, then old data is dropped when adding new data to the buffer. Disk usage is unlimited if the value is set to 0",
        kind: FlagKind::Size,
    },
    FlagSpec {
        name: "remoteWrite.flushInterval",
        default: "1s",
        help: "Interval for flushing the data to remote storage",
        kind: FlagKind::Duration,
    },
    FlagSpec {
        name: "remoteWrite.maxBlockSize",
        default: "8388608",
        help: "The maximum block size to send to remote storage. Bigger blocks may improve performance at the cost of the increased memory usage. See also -remoteWrite.maxRowsPerBlock",
        kind: FlagKind::Size,
    },
    FlagSpec {
        name: "remoteWrite.maxRowsPerBlock",
        default: "10000",
        help: "The maximum number of samples to send in each block to remote storage. Higher number may improve performance at the cost of the increased memory usage. See also -remoteWrite.maxBlockSize",
        kind: FlagKind::Size,
    },
    FlagSpec {
        name: "remoteWrite.queues",
        default: "0",
        help: "The number of concurrent queues to each -remoteWrite.url. Set more queues if default number of queues isn't enough for sending high volume of collected data to remote storage. Default value (0) is 2 * numberOfAvailableCPUs",
        kind: FlagKind::Size,
    },
    FlagSpec {
        name: "remoteWrite.relabelConfig",
        default: "",
        help: "Optional path to file with relabel_config entries. These entries are applied to all the metrics before sending them to -remoteWrite.url",
        kind: FlagKind::String,
    },
    array(
        "remoteWrite.urlRelabelConfig",
        "Optional path to relabel config for the corresponding -remoteWrite.url",
    ),
    array(
        "remoteWrite.label",
        "Optional label in the form 'name=value' to add to all the metrics before sending them to -remoteWrite.url. Pass multiple -remoteWrite.label flags in order to add multiple labels to metrics before sending them to remote storage",
    ),
    FlagSpec {
        name: "remoteWrite.showURL",
        default: "false",
        help: "Whether to show -remoteWrite.url in the exported metrics. It is hidden by default, since it can contain sensitive info such as auth key",
        kind: FlagKind::Bool,
    },
    array(
        "remoteWrite.basicAuth.username",
        "Optional basic auth username to use for the corresponding -remoteWrite.url",
    ),
    array(
        "remoteWrite.basicAuth.password",
        "Optional basic auth password to use for the corresponding -remoteWrite.url",
    ),
    array(
        "remoteWrite.basicAuth.passwordFile",
        "Optional path to basic auth password to use for the corresponding -remoteWrite.url. The file is re-read on every request",
    ),
    array(
        "remoteWrite.bearerToken",
        "Optional bearer auth token to use for the corresponding -remoteWrite.url",
    ),
    array(
        "remoteWrite.bearerTokenFile",
        "Optional path to bearer token file to use for the corresponding -remoteWrite.url. The token is re-read from the file on every request",
    ),
    array(
        "remoteWrite.headers",
        "Optional HTTP headers to send with each request to the corresponding -remoteWrite.url. For example, -remoteWrite.headers='My-Auth:foobar' would send 'My-Auth: foobar' HTTP header with every request to the corresponding -remoteWrite.url. Multiple headers must be delimited by '^^': -remoteWrite.headers='header1:value1^^header2:value2'",
    ),
    array(
        "remoteWrite.tlsCAFile",
        "Optional path to TLS CA file to use for verifying connections to the corresponding -remoteWrite.url. By default system CA is used",
    ),
    array(
        "remoteWrite.tlsCertFile",
        "Optional path to client-side TLS certificate file to use when connecting to the corresponding -remoteWrite.url",
    ),
    array(
        "remoteWrite.tlsKeyFile",
        "Optional path to client-side TLS certificate key to use when connecting to the corresponding -remoteWrite.url",
    ),
    array(
        "remoteWrite.tlsInsecureSkipVerify",
        "Whether to skip tls verification when connecting to the corresponding -remoteWrite.url",
    ),
    array(
        "remoteWrite.proxyURL",
        "Optional proxy URL for writing data to the corresponding -remoteWrite.url. Supported proxies: http, https, socks5. Example: -remoteWrite.proxyURL=socks5://proxy:1234",
    ),
    array(
        "remoteWrite.sendTimeout",
        "Timeout for sending a single block of data to the corresponding -remoteWrite.url (default 1m)",
    ),
    array(
        "remoteWrite.retryMinInterval",
        "The minimum delay between retry attempts to send a block of data to the corresponding -remoteWrite.url. Every next retry attempt will double the delay to prevent hammering of remote database (default 1s)",
    ),
    array(
        "remoteWrite.retryMaxInterval",
        "The maximum delay between retry attempts to send a block of data to the corresponding -remoteWrite.url (default 1m)",
    ),
    array(
        "remoteWrite.roundDigits",
        "Round metric values to this number of decimal digits after the point before writing them to remote storage. Examples: -remoteWrite.roundDigits=2 would round 1.236 to 1.24, while -remoteWrite.roundDigits=-1 would round 126.78 to 130. By default digits rounding is disabled. Set it to 100 for disabling it for a particular remote storage",
    ),
    array(
        "remoteWrite.significantFigures",
        "The number of significant figures to leave in metric values before writing them to remote storage. Zero value saves all the significant figures",
    ),
];

/// Every flag of `gnomon-agent`.
pub fn agent_flags() -> &'static [FlagSpec] {
    static FLAGS: OnceLock<&'static [FlagSpec]> = OnceLock::new();
    FLAGS.get_or_init(|| {
        let mut v: Vec<FlagSpec> = SERVER_FLAGS
            .iter()
            .filter(|s| SHARED.contains(&s.name) || s.name.starts_with("promscrape."))
            .map(|s| match s.name {
                "httpListenAddr" => FlagSpec {
                    default: ":8429",
                    ..*s
                },
                _ => *s,
            })
            .collect();
        v.extend_from_slice(REMOTE_WRITE_FLAGS);
        Box::leak(v.into_boxed_slice())
    })
}

/// The agent's configuration.
#[derive(Clone, Debug)]
pub struct AgentConfig {
    /// Address to bind (`:8429` becomes `0.0.0.0:8429`).
    pub listen_addr: String,
    /// Basic auth of the agent's own endpoints.
    pub auth: Option<BasicAuth>,
    /// TLS of the agent's own endpoints.
    pub tls: Option<TlsFiles>,
    /// Largest push body.
    pub max_insert_bytes: usize,
    /// Minimum log level.
    pub log_level: log::LevelFilter,
    /// Push protocols and socket listeners.
    pub push: PushConfig,
    /// Scraping (`-promscrape.*`, cluster sharding included).
    pub scrape: ScrapeFlags,
    /// The remote-write client (`-remoteWrite.*`).
    pub remote: RemoteWriteOptions,
    /// `-remoteWrite.showURL`: metrics name destinations by URL instead of `N:secret-url`.
    pub show_url: bool,
}

impl AgentConfig {
    /// Builds the configuration; reads and compiles the relabel files.
    ///
    /// # Errors
    /// [`FlagError::Invalid`] naming the flag: no `-remoteWrite.url`, a per-URL value
    /// that does not parse, a relabel file that cannot be read or compiled, a bad
    /// `-remoteWrite.label`, and the server's checks of the shared flags.
    pub fn from_flags(f: &Flags) -> Result<AgentConfig, FlagError> {
        let (auth, tls, log_level) = http_and_logging(f)?;
        Ok(AgentConfig {
            listen_addr: listen_addr(f.str("httpListenAddr")),
            auth,
            tls,
            max_insert_bytes: usize::try_from(f.size("maxInsertRequestSize")).unwrap_or(usize::MAX),
            log_level,
            push: PushConfig::from_flags(f)?,
            scrape: ScrapeFlags::from_flags(f)?,
            remote: remote_options(f)?,
            show_url: f.bool("remoteWrite.showURL"),
        })
    }
}

fn invalid(flag: &str, value: &str, why: impl Into<String>) -> FlagError {
    FlagError::Invalid {
        flag: flag.to_owned(),
        value: value.to_owned(),
        why: why.into(),
    }
}

/// The `i`-th item of a per-URL array flag: its own, the only one when a single value
/// is given, or `None`.
fn per_url<'a>(items: &[&'a str], i: usize) -> Option<&'a str> {
    let v = match items {
        [only] => *only,
        _ => items.get(i).copied()?,
    };
    (!v.trim().is_empty()).then(|| v.trim())
}

fn remote_options(f: &Flags) -> Result<RemoteWriteOptions, FlagError> {
    let urls = f.array("remoteWrite.url");
    if urls.iter().all(|u| u.trim().is_empty()) {
        return Err(invalid(
            "remoteWrite.url",
            "",
            "at least one -remoteWrite.url must be set",
        ));
    }
    let defaults = RemoteWriteOptions::default();
    let queues = usize::try_from(f.size("remoteWrite.queues")).unwrap_or(usize::MAX);
    let mut o = RemoteWriteOptions {
        urls: Vec::new(),
        relabel: relabel_file(
            "remoteWrite.relabelConfig",
            f.str("remoteWrite.relabelConfig"),
        )?,
        extra_labels: extra_labels(f)?,
        tmp_data_path: PathBuf::from(f.str("remoteWrite.tmpDataPath")),
        flush_interval: f.duration("remoteWrite.flushInterval"),
        max_block_bytes: usize::try_from(f.size("remoteWrite.maxBlockSize")).unwrap_or(usize::MAX),
        max_rows_per_block: usize::try_from(f.size("remoteWrite.maxRowsPerBlock"))
            .unwrap_or(usize::MAX),
        queues: if queues == 0 { defaults.queues } else { queues },
    };
    let arrays = PerUrl(
        REMOTE_WRITE_FLAGS
            .iter()
            .filter(|s| s.kind == FlagKind::Array)
            .map(|s| (s.name, f.array(s.name)))
            .collect(),
    );
    for (i, url) in urls.iter().enumerate() {
        let url = url.trim();
        if url.is_empty() {
            return Err(invalid("remoteWrite.url", url, "empty URL"));
        }
        o.urls.push(url_options(f, url, i, &arrays)?);
    }
    Ok(o)
}

/// The items of every per-URL array flag.
struct PerUrl<'a>(Vec<(&'static str, Vec<&'a str>)>);

impl<'a> PerUrl<'a> {
    fn get(&self, name: &str, i: usize) -> Option<&'a str> {
        self.0
            .iter()
            .find(|(n, _)| *n == name)
            .and_then(|(_, items)| per_url(items, i))
    }
}

fn url_options(
    f: &Flags,
    url: &str,
    i: usize,
    arrays: &PerUrl<'_>,
) -> Result<UrlOptions, FlagError> {
    let get = |name: &str, i: usize| arrays.get(name, i);
    let mut u = UrlOptions::new(url);
    u.max_disk_bytes = f.size("remoteWrite.maxDiskUsagePerURL");
    let duration = |name: &str, default: Duration| match get(name, i) {
        Some(v) => parse_duration(v).map_err(|why| invalid(name, v, why)),
        None => Ok(default),
    };
    u.send_timeout = duration("remoteWrite.sendTimeout", u.send_timeout)?;
    u.retry_min_interval = duration("remoteWrite.retryMinInterval", u.retry_min_interval)?;
    u.retry_max_interval = duration("remoteWrite.retryMaxInterval", u.retry_max_interval)?;
    if let Some(v) = get("remoteWrite.roundDigits", i) {
        u.round_digits = Some(
            v.parse()
                .map_err(|_| invalid("remoteWrite.roundDigits", v, "want an integer"))?,
        );
    }
    if let Some(v) = get("remoteWrite.significantFigures", i) {
        u.significant_figures = Some(v.parse().map_err(|_| {
            invalid(
                "remoteWrite.significantFigures",
                v,
                "want a non-negative integer",
            )
        })?);
    }
    if let Some(path) = get("remoteWrite.urlRelabelConfig", i) {
        u.relabel = relabel_file("remoteWrite.urlRelabelConfig", path)?;
    }
    if let Some(h) = get("remoteWrite.headers", i) {
        for pair in h.split("^^").filter(|p| !p.trim().is_empty()) {
            let (k, v) = pair
                .split_once(':')
                .ok_or_else(|| invalid("remoteWrite.headers", pair, "want 'Name: value'"))?;
            u.headers.push((k.trim().to_owned(), v.trim().to_owned()));
        }
    }
    let user = get("remoteWrite.basicAuth.username", i);
    let password = get("remoteWrite.basicAuth.password", i);
    let password_file = get("remoteWrite.basicAuth.passwordFile", i);
    if user.is_some() || password.is_some() || password_file.is_some() {
        u.http.basic_auth = Some(ClientBasicAuth {
            username: user.unwrap_or_default().to_owned(),
            password: password.map(str::to_owned),
            password_file: password_file.map(str::to_owned),
            ..ClientBasicAuth::default()
        });
    }
    let token = get("remoteWrite.bearerToken", i);
    let token_file = get("remoteWrite.bearerTokenFile", i);
    if token.is_some() || token_file.is_some() {
        if u.http.basic_auth.is_some() {
            return Err(invalid(
                "remoteWrite.bearerToken",
                "",
                format!(
                    "-remoteWrite.url #{} has both basic auth and a bearer token",
                    i + 1
                ),
            ));
        }
        u.http.authorization = Some(Authorization {
            credentials: token.map(str::to_owned),
            credentials_file: token_file.map(str::to_owned),
            ..Authorization::default()
        });
    }
    let tls = TlsConfig {
        ca_file: get("remoteWrite.tlsCAFile", i).map(str::to_owned),
        cert_file: get("remoteWrite.tlsCertFile", i).map(str::to_owned),
        key_file: get("remoteWrite.tlsKeyFile", i).map(str::to_owned),
        insecure_skip_verify: match get("remoteWrite.tlsInsecureSkipVerify", i) {
            Some(v) => crate::flags::parse_bool(v).ok_or_else(|| {
                invalid("remoteWrite.tlsInsecureSkipVerify", v, "want true or false")
            })?,
            None => false,
        },
        ..TlsConfig::default()
    };
    if tls != TlsConfig::default() {
        u.http.tls_config = Some(tls);
    }
    u.http.proxy_url = get("remoteWrite.proxyURL", i).map(str::to_owned);
    Ok(u)
}

fn relabel_file(flag: &str, path: &str) -> Result<Option<Arc<Relabeler>>, FlagError> {
    if path.is_empty() {
        return Ok(None);
    }
    let text = std::fs::read_to_string(path)
        .map_err(|e| invalid(flag, path, format!("cannot read: {e}")))?;
    let configs =
        RelabelConfigs::from_yaml(&text).map_err(|e| invalid(flag, path, e.to_string()))?;
    let r = compile(configs.rules(), &RelabelOptions::victoriametrics())
        .map_err(|e| invalid(flag, path, e.to_string()))?;
    Ok(Some(Arc::new(r)))
}

fn extra_labels(f: &Flags) -> Result<Vec<Label>, FlagError> {
    f.array("remoteWrite.label")
        .into_iter()
        .filter(|s| !s.trim().is_empty())
        .map(|s| match s.split_once('=') {
            Some((n, v)) if !n.trim().is_empty() => Ok(Label::new(n.trim(), v)),
            _ => Err(invalid("remoteWrite.label", s, "want name=value")),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::flags::parse;

    fn cfg(args: &[&str]) -> Result<AgentConfig, FlagError> {
        AgentConfig::from_flags(&parse(agent_flags(), args.iter().map(|s| s.to_string()))?)
    }

    #[test]
    fn defaults_match_vmagent() {
        let c = cfg(&["-remoteWrite.url=http://vm:8428/api/v1/write"]).unwrap();
        assert_eq!(c.listen_addr, "0.0.0.0:8429");
        let r = &c.remote;
        assert_eq!(r.tmp_data_path, PathBuf::from("vmagent-remotewrite-data"));
        assert_eq!(r.flush_interval, Duration::from_secs(1));
        assert_eq!(r.max_block_bytes, 8 << 20);
        assert_eq!(r.max_rows_per_block, 10_000);
        assert!(r.queues >= 2);
        let u = &r.urls[0];
        assert_eq!(u.url, "http://vm:8428/api/v1/write");
        assert_eq!(u.send_timeout, Duration::from_secs(60));
        assert_eq!(u.max_disk_bytes, 0);
        assert!(u.http.basic_auth.is_none() && u.http.tls_config.is_none());
        assert!(!c.show_url);
        assert!(agent_flags().iter().all(|s| s.name != "storageDataPath"));
    }

    #[test]
    fn per_url_flags_go_by_position_and_a_single_value_applies_to_all() {
        let c = cfg(&[
            "-remoteWrite.url=http://a/api/v1/write",
            "-remoteWrite.url=http://b/api/v1/write",
            "-remoteWrite.basicAuth.username=,bob",
            "-remoteWrite.basicAuth.password=,secret",
            "-remoteWrite.sendTimeout=5s",
            "-remoteWrite.headers=X-A:1^^X-B: 2,",
            "-remoteWrite.label=dc=eu",
            "-remoteWrite.label=env=prod",
            "-remoteWrite.tlsInsecureSkipVerify=true",
            "-remoteWrite.roundDigits=2,100",
        ])
        .unwrap();
        let (a, b) = (&c.remote.urls[0], &c.remote.urls[1]);
        assert!(a.http.basic_auth.is_none());
        let ba = b.http.basic_auth.as_ref().unwrap();
        assert_eq!(
            (ba.username.as_str(), ba.password.as_deref()),
            ("bob", Some("secret"))
        );
        assert_eq!(a.send_timeout, Duration::from_secs(5));
        assert_eq!(b.send_timeout, Duration::from_secs(5));
        assert_eq!(
            a.headers,
            vec![("X-A".into(), "1".into()), ("X-B".into(), "2".into())]
        );
        assert!(b.headers.is_empty());
        assert_eq!(
            c.remote.extra_labels,
            vec![Label::new("dc", "eu"), Label::new("env", "prod")]
        );
        assert!(b.http.tls_config.as_ref().unwrap().insecure_skip_verify);
        assert_eq!((a.round_digits, b.round_digits), (Some(2), Some(100)));
    }

    #[test]
    fn bad_values_name_the_flag() {
        let err = |args: &[&str]| cfg(args).unwrap_err().to_string();
        assert!(err(&[]).contains("at least one -remoteWrite.url"));
        let u = "-remoteWrite.url=http://a/";
        assert!(err(&[u, "-remoteWrite.label=novalue"]).contains("-remoteWrite.label"));
        assert!(err(&[u, "-remoteWrite.sendTimeout=soon"]).contains("-remoteWrite.sendTimeout"));
        assert!(err(&[u, "-remoteWrite.relabelConfig=/nonexistent.yml"]).contains("cannot read"));
        assert!(
            err(&[
                u,
                "-remoteWrite.bearerToken=t",
                "-remoteWrite.basicAuth.username=u"
            ])
            .contains("both basic auth and a bearer token")
        );
        assert!(err(&[u, "-storageDataPath=x"]).contains("not defined"));
    }
}
