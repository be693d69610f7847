//! The `gnomon` server's flag table and the configuration built from it.

use std::path::PathBuf;
use std::time::Duration;

use gnomon_tsdb_core::Options;

use crate::flags::{FlagError, FlagKind, FlagSpec, Flags};

/// Every flag of the `gnomon` server, with VictoriaMetrics' names, defaults and help.
pub const SERVER_FLAGS: &[FlagSpec] = &[
    FlagSpec {
        name: "storageDataPath",
        default: "gnomon-data",
        help: "Path to storage data",
        kind: FlagKind::String,
    },
    FlagSpec {
        name: "retentionPeriod",
        default: "1",
        help: "Data with timestamps outside the retentionPeriod is automatically deleted\n    \tThe following optional suffixes are supported: h (hour), d (day), w (week), y (year). If suffix isn't set, then the duration is counted in months",
        kind: FlagKind::Retention,
    },
    FlagSpec {
        name: "httpListenAddr",
        default: ":8428",
        help: "TCP address to listen for http connections",
        kind: FlagKind::String,
    },
    FlagSpec {
        name: "dedup.minScrapeInterval",
        default: "0s",
        help: "Leave only the last sample in every time series per each discrete interval equal to -dedup.minScrapeInterval > 0",
        kind: FlagKind::Duration,
    },
    FlagSpec {
        name: "memory.allowedPercent",
        default: "60",
        help: "Allowed percent of system memory Gnomon caches may occupy (of MemTotal, or of the cgroup memory limit when one is set)",
        kind: FlagKind::Float,
    },
    FlagSpec {
        name: "search.disableCache",
        default: "false",
        help: "Whether to disable response caching. This may be useful during data backfilling",
        kind: FlagKind::Bool,
    },
    FlagSpec {
        name: "httpAuth.username",
        default: "",
        help: "Username for HTTP Basic Auth. The authentication is disabled if empty. See also -httpAuth.password",
        kind: FlagKind::String,
    },
    FlagSpec {
        name: "httpAuth.password",
        default: "",
        help: "Password for HTTP Basic Auth. The authentication is disabled if -httpAuth.username is empty",
        kind: FlagKind::String,
    },
    FlagSpec {
        name: "tls",
        default: "false",
        help: "Whether to enable TLS for incoming HTTP requests at -httpListenAddr (aka https). -tlsCertFile and -tlsKeyFile must be set if -tls is set",
        kind: FlagKind::Bool,
    },
    FlagSpec {
        name: "tlsCertFile",
        default: "",
        help: "Path to file with TLS certificate (PEM) if -tls is set",
        kind: FlagKind::String,
    },
    FlagSpec {
        name: "tlsKeyFile",
        default: "",
        help: "Path to file with TLS key (PEM) if -tls is set",
        kind: FlagKind::String,
    },
    FlagSpec {
        name: "maxInsertRequestSize",
        default: "32MB",
        help: "The maximum size in bytes of a single import request body, after gzip decoding",
        kind: FlagKind::Size,
    },
    FlagSpec {
        name: "loggerLevel",
        default: "INFO",
        help: "Minimum level of errors to log. Possible values: INFO, WARN, ERROR",
        kind: FlagKind::String,
    },
    FlagSpec {
        name: "version",
        default: "false",
        help: "Show Gnomon version",
        kind: FlagKind::Bool,
    },
    // Push ingestion (read by `listeners::PushConfig`).
    FlagSpec {
        name: "graphiteListenAddr",
        default: "",
        help: "TCP and UDP address to listen for Graphite plaintext data. Usually :2003 must be set. Doesn't work if empty",
        kind: FlagKind::String,
    },
    FlagSpec {
        name: "graphiteTrimTimestamp",
        default: "1s",
        help: "Trim timestamps for Graphite data to this duration. Minimum practical duration is 1s. Higher duration (i.e. 1m) may be used for reducing disk space usage for timestamp data",
        kind: FlagKind::Duration,
    },
    FlagSpec {
        name: "opentsdbListenAddr",
        default: "",
        help: "TCP and UDP address to listen for OpenTSDB metrics. Telnet put messages are accepted at this address. Usually :4242 must be set. Doesn't work if empty",
        kind: FlagKind::String,
    },
    FlagSpec {
        name: "influxMeasurementFieldSeparator",
        default: "_",
        help: "Separator for '{measurement}{separator}{field_name}' metric name when inserted via InfluxDB line protocol",
        kind: FlagKind::String,
    },
    FlagSpec {
        name: "influxSkipSingleField",
        default: "false",
        help: "Uses '{measurement}' instead of '{measurement}{separator}{field_name}' for metric name if InfluxDB line contains only a single field",
        kind: FlagKind::Bool,
    },
    FlagSpec {
        name: "influxSkipMeasurement",
        default: "false",
        help: "Uses '{field_name}' as a metric name while ignoring '{measurement}' and '-influxMeasurementFieldSeparator'",
        kind: FlagKind::Bool,
    },
    FlagSpec {
        name: "influxDBLabel",
        default: "db",
        help: "Default label for the DB name sent over '?db={db_name}' query parameter",
        kind: FlagKind::String,
    },
    FlagSpec {
        name: "influx.databaseNames",
        default: "",
        help: "Comma-separated list of database names to return from /query and /influx/query API. This can be needed for accepting data from Telegraf plugins such as https://github.com/fangli/fluent-plugin-influxdb",
        kind: FlagKind::String,
    },
    FlagSpec {
        name: "relabelConfig",
        default: "",
        help: "Optional path to a file with relabeling rules, which are applied to all the ingested metrics (Prometheus relabel_configs syntax, with VictoriaMetrics extensions)",
        kind: FlagKind::String,
    },
    // Rules (examples/src/rules.rs).
    crate::rules::RULE_FLAGS[0],
    crate::rules::RULE_FLAGS[1],
    crate::rules::RULE_FLAGS[2],
    crate::rules::RULE_FLAGS[3],
    crate::rules::RULE_FLAGS[4],
    crate::rules::RULE_FLAGS[5],
    crate::rules::RULE_FLAGS[6],
    FlagSpec {
        name: "search.maxQueryDuration",
        default: "30s",
        help: "The maximum duration for query execution",
        kind: FlagKind::Duration,
    },
    FlagSpec {
        name: "search.maxSamplesPerQuery",
        default: "1000000000",
        help: "The maximum number of raw samples a single query can process across all time series. This protects from heavy queries, which select unexpectedly high number of raw samples",
        kind: FlagKind::Size,
    },
    FlagSpec {
        name: "search.maxUniqueTimeseries",
        default: "300000",
        help: "The maximum number of unique time series, which can be selected during /api/v1/query and /api/v1/query_range queries. This option allows limiting memory usage",
        kind: FlagKind::Size,
    },
    FlagSpec {
        name: "search.maxSeries",
        default: "0",
        help: "Synonym of -search.maxUniqueTimeseries when set to a positive value (VictoriaMetrics uses it for /api/v1/series)",
        kind: FlagKind::Size,
    },
    FlagSpec {
        name: "search.maxPointsPerTimeseries",
        default: "30000",
        help: "The maximum points per a single timeseries returned from /api/v1/query_range. This option doesn't limit the number of scanned raw samples in the database. The main purpose of this option is to limit the number of per-series points returned to graphing UI such as Grafana. There is no sense in setting this limit to values bigger than the horizontal resolution of the graph",
        kind: FlagKind::Size,
    },
    FlagSpec {
        name: "search.maxStalenessInterval",
        default: "0s",
        help: "The maximum interval for staleness calculations: how far back an instant selector looks for a sample (Prometheus' lookback delta). Zero means 5m",
        kind: FlagKind::Duration,
    },
    FlagSpec {
        name: "search.latencyOffset",
        default: "30s",
        help: "The time when data points become visible in query results after the collection. Accepted for compatibility: Gnomon evaluates at the requested times and shows samples as soon as they are committed",
        kind: FlagKind::Duration,
    },
    FlagSpec {
        name: "search.maxMemoryPerQuery",
        default: "0",
        help: "The maximum amounts of memory a single query may consume for its intermediate results. Queries requiring more memory are rejected. Zero means no limit",
        kind: FlagKind::Size,
    },
    FlagSpec {
        name: "search.cacheTimestampOffset",
        default: "5m",
        help: "The maximum duration since the current time for response data, which is always queried from the original raw data, without using the response cache",
        kind: FlagKind::Duration,
    },
    FlagSpec {
        name: "promscrape.config",
        default: "",
        help: "Optional path to Prometheus config file with 'scrape_configs' section containing targets to scrape. See https://docs.victoriametrics.com/victoriametrics/sd_configs/",
        kind: FlagKind::String,
    },
    FlagSpec {
        name: "promscrape.config.strictParse",
        default: "true",
        help: "Whether to deny unsupported fields in -promscrape.config . Set to false in order to silently skip unsupported fields",
        kind: FlagKind::Bool,
    },
    FlagSpec {
        name: "promscrape.configCheckInterval",
        default: "0s",
        help: "Interval for checking for changes in -promscrape.config file. By default, the checking is disabled. Send SIGHUP signal in order to force config check for changes",
        kind: FlagKind::Duration,
    },
    FlagSpec {
        name: "promscrape.fileSDCheckInterval",
        default: "1m",
        help: "Interval for checking for changes in 'file_sd_config'",
        kind: FlagKind::Duration,
    },
    FlagSpec {
        name: "promscrape.kubernetesSDCheckInterval",
        default: "30s",
        help: "Interval for checking for changes in Kubernetes API server. This works only if kubernetes_sd_configs is configured in '-promscrape.config' file",
        kind: FlagKind::Duration,
    },
    FlagSpec {
        name: "promscrape.suppressScrapeErrors",
        default: "false",
        help: "Whether to suppress scrape errors logging. The last error for each target is always available at '/targets' page even if scrape errors logging is suppressed",
        kind: FlagKind::Bool,
    },
    FlagSpec {
        name: "promscrape.maxScrapeSize",
        default: "16MiB",
        help: "The maximum size of scrape response in bytes to process from Prometheus targets. Bigger responses are rejected",
        kind: FlagKind::Size,
    },
    FlagSpec {
        name: "promscrape.cluster.membersCount",
        default: "0",
        help: "The number of members in a cluster of scrapers. Each member must have a unique -promscrape.cluster.memberNum in the range 0 ... promscrape.cluster.membersCount-1 . Each member then scrapes roughly 1/N of all the targets. By default cluster scraping is disabled, i.e. a single scraper scrapes all the targets",
        kind: FlagKind::Float,
    },
    FlagSpec {
        name: "promscrape.cluster.memberNum",
        default: "0",
        help: "The number of this member in the cluster of scrapers. It must be a unique value in the range 0 ... promscrape.cluster.membersCount-1 across scrapers in the cluster. Can be specified as pod name of Kubernetes StatefulSet - pod-name-Num, where Num is a numeric part of pod name",
        kind: FlagKind::String,
    },
    FlagSpec {
        name: "promscrape.cluster.replicationFactor",
        default: "1",
        help: "The number of members in the cluster, which scrape the same targets. If the replication factor is greater than 1, then the deduplication must be enabled at remote storage side",
        kind: FlagKind::Float,
    },
];

/// TLS certificate and key files.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TlsFiles {
    /// PEM certificate chain.
    pub cert: PathBuf,
    /// PEM private key.
    pub key: PathBuf,
}

/// Basic-auth credentials every endpoint but `/health` requires.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BasicAuth {
    /// User name.
    pub username: String,
    /// Password.
    pub password: String,
}

/// Everything the server needs, from the flags.
#[derive(Clone, Debug)]
pub struct ServerConfig {
    /// Data directory.
    pub data_path: PathBuf,
    /// Address to bind, `host:port` (`:8428` becomes `0.0.0.0:8428`).
    pub listen_addr: String,
    /// Storage options (retention, dedup, memory budget).
    pub storage: Options,
    /// Basic auth, when `-httpAuth.username` is set.
    pub auth: Option<BasicAuth>,
    /// TLS files, when `-tls` is set.
    pub tls: Option<TlsFiles>,
    /// Largest import body.
    pub max_insert_bytes: usize,
    /// Accepted for compatibility; the query engine reads it.
    pub disable_cache: bool,
    /// Minimum log level.
    pub log_level: log::LevelFilter,
    /// Push-protocol settings and socket listeners.
    pub push: crate::listeners::PushConfig,
    /// Rule files, notifier and evaluation settings.
    pub rules: crate::rules::RulesConfig,
    /// Query limits and result-cache settings (`-search.*`).
    pub search: crate::search::SearchConfig,
    /// Scraping (`-promscrape.*`).
    pub scrape: crate::scraping::ScrapeFlags,
}

impl ServerConfig {
    /// Builds the configuration; reads the machine's memory size for the cache budget.
    ///
    /// # Errors
    /// [`FlagError::Invalid`] for `-tls` without files, a bad `-loggerLevel`, a
    /// `-memory.allowedPercent` outside (0, 100] or a bad `-relabelConfig` file.
    pub fn from_flags(f: &Flags) -> Result<ServerConfig, FlagError> {
        let invalid = |flag: &str, why: &str| FlagError::Invalid {
            flag: flag.to_owned(),
            value: f.str(flag).to_owned(),
            why: why.to_owned(),
        };
        let percent = f.float("memory.allowedPercent");
        if !(percent > 0.0 && percent <= 100.0) {
            return Err(invalid(
                "memory.allowedPercent",
                "want a percentage in (0, 100]",
            ));
        }
        let (auth, tls, log_level) = http_and_logging(f)?;
        let storage = Options {
            retention: f.retention("retentionPeriod"),
            dedup_interval: f.duration("dedup.minScrapeInterval"),
            memory_budget: memory_budget(percent, system_memory_bytes()),
            ..Options::default()
        };
        Ok(ServerConfig {
            data_path: f.str("storageDataPath").into(),
            listen_addr: listen_addr(f.str("httpListenAddr")),
            storage,
            auth,
            tls,
            max_insert_bytes: usize::try_from(f.size("maxInsertRequestSize")).unwrap_or(usize::MAX),
            disable_cache: f.bool("search.disableCache"),
            log_level,
            push: crate::listeners::PushConfig::from_flags(f)?,
            rules: crate::rules::RulesConfig::from_flags(f)?,
            search: crate::search::SearchConfig::from_flags(f),
            scrape: crate::scraping::ScrapeFlags::from_flags(f)?,
        })
    }
}

/// Basic auth (`-httpAuth.*`), TLS (`-tls*`) and `-loggerLevel`, as every binary reads
/// them.
///
/// # Errors
/// [`FlagError::Invalid`] for `-tls` without files or a bad `-loggerLevel`.
#[allow(clippy::type_complexity)]
pub fn http_and_logging(
    f: &Flags,
) -> Result<(Option<BasicAuth>, Option<TlsFiles>, log::LevelFilter), FlagError> {
    let invalid = |flag: &str, why: &str| FlagError::Invalid {
        flag: flag.to_owned(),
        value: f.str(flag).to_owned(),
        why: why.to_owned(),
    };
    let tls = if f.bool("tls") {
        let (cert, key) = (f.str("tlsCertFile"), f.str("tlsKeyFile"));
        if cert.is_empty() || key.is_empty() {
            return Err(invalid("tls", "-tlsCertFile and -tlsKeyFile must be set"));
        }
        Some(TlsFiles {
            cert: cert.into(),
            key: key.into(),
        })
    } else {
        None
    };
    let auth = (!f.str("httpAuth.username").is_empty()).then(|| BasicAuth {
        username: f.str("httpAuth.username").to_owned(),
        password: f.str("httpAuth.password").to_owned(),
    });
    let log_level = crate::logger::parse_level(f.str("loggerLevel"))
        .ok_or_else(|| invalid("loggerLevel", "want INFO, WARN or ERROR"))?;
    Ok((auth, tls, log_level))
}

/// `:8428` listens on every interface, as in Go.
pub(crate) fn listen_addr(flag: &str) -> String {
    if flag.starts_with(':') {
        format!("0.0.0.0{flag}")
    } else {
        flag.to_owned()
    }
}

/// `percent` of `total` bytes; 512 MiB when the total is unknown.
fn memory_budget(percent: f64, total: Option<u64>) -> u64 {
    match total {
        Some(t) => (t as f64 * percent / 100.0) as u64,
        None => Options::default().memory_budget,
    }
}

/// The memory this process may use: the smaller of `MemTotal` in /proc/meminfo and the
/// cgroup limit (v2 `memory.max`, v1 `memory.limit_in_bytes`) when one is set.
pub fn system_memory_bytes() -> Option<u64> {
    let meminfo = std::fs::read_to_string("/proc/meminfo").ok();
    let total = meminfo.as_deref().and_then(meminfo_total);
    let cgroup = [
        "/sys/fs/cgroup/memory.max",
        "/sys/fs/cgroup/memory/memory.limit_in_bytes",
    ]
    .iter()
    .filter_map(|p| std::fs::read_to_string(p).ok())
    .find_map(|s| s.trim().parse::<u64>().ok());
    match (total, cgroup) {
        (Some(t), Some(c)) => Some(t.min(c)),
        (t, c) => t.or(c),
    }
}

fn meminfo_total(text: &str) -> Option<u64> {
    let line = text.lines().find(|l| l.starts_with("MemTotal:"))?;
    let kb: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kb * 1024)
}

/// How long the server waits for in-flight requests at shutdown before closing anyway.
pub const SHUTDOWN_GRACE: Duration = Duration::from_secs(10);

#[cfg(test)]
mod tests {
    use super::*;
    use crate::flags::parse;

    fn cfg(args: &[&str]) -> Result<ServerConfig, FlagError> {
        ServerConfig::from_flags(&parse(SERVER_FLAGS, args.iter().map(|s| s.to_string()))?)
    }

    #[test]
    fn defaults_match_victoriametrics() {
        let c = cfg(&[]).unwrap();
        assert_eq!(c.data_path, PathBuf::from("gnomon-data"));
        assert_eq!(c.listen_addr, "0.0.0.0:8428");
        assert_eq!(c.storage.retention, Duration::from_secs(31 * 86_400));
        assert_eq!(c.storage.dedup_interval, Duration::ZERO);
        assert_eq!(c.auth, None);
        assert_eq!(c.tls, None);
        assert_eq!(c.max_insert_bytes, 32_000_000);
    }

    #[test]
    fn flags_reach_the_config() {
        let c = cfg(&[
            "-retentionPeriod=100y",
            "--dedup.minScrapeInterval=15s",
            "-httpListenAddr",
            "127.0.0.1:0",
            "-httpAuth.username=u",
            "-httpAuth.password=p",
        ])
        .unwrap();
        assert_eq!(c.storage.retention, Duration::from_secs(36_500 * 86_400));
        assert_eq!(c.storage.dedup_interval, Duration::from_secs(15));
        assert_eq!(c.listen_addr, "127.0.0.1:0");
        assert_eq!(c.auth.unwrap().password, "p");
        let e = cfg(&["-tls"]).unwrap_err();
        assert!(
            matches!(e, FlagError::Invalid { ref flag, .. } if flag == "tls"),
            "{e}"
        );
        assert!(cfg(&["-memory.allowedPercent=0"]).is_err());
    }

    #[test]
    fn memory_budget_is_a_share_of_memory() {
        assert_eq!(memory_budget(50.0, Some(1000)), 500);
        assert_eq!(memory_budget(60.0, None), Options::default().memory_budget);
        assert_eq!(
            meminfo_total("MemTotal:       1024 kB\nMemFree: 1 kB\n"),
            Some(1 << 20)
        );
        assert!(system_memory_bytes().is_some_and(|b| b > 0));
    }
}
