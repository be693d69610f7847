//! Push-ingestion settings of the server and its socket listeners: Graphite plaintext
//! (`-graphiteListenAddr`) and OpenTSDB telnet (`-opentsdbListenAddr`), each on TCP and
//! UDP at the same address, plus the flags that shape every push protocol (`-influx*`,
//! `-graphiteTrimTimestamp`, `-relabelConfig`).

use std::sync::Arc;
use std::time::Duration;

use anyhow::Context as _;
use gnomon_relabel::{RelabelConfigs, RelabelOptions, Relabeler, compile};
use gnomon_scrape::http::{
    AppenderFactory, InfluxOptions, IngestCounters, IngestOptions, StreamIngest, StreamProtocol,
};
use gnomon_scrape::push::influx::InfluxNaming;
use tokio::io::AsyncReadExt;
use tokio::net::{TcpListener, TcpStream, UdpSocket};

use crate::flags::{FlagError, Flags};

/// Bytes read from a connection at a time; each read's complete lines are stored and
/// committed together, so a trickle of lines is visible at once and a flood is batched.
const READ_BYTES: usize = 64 * 1024;

/// Push settings from the flags.
#[derive(Clone, Debug, Default)]
pub struct PushConfig {
    /// Graphite address (TCP and UDP), when set.
    pub graphite_addr: Option<String>,
    /// OpenTSDB telnet address (TCP and UDP), when set.
    pub opentsdb_addr: Option<String>,
    /// InfluxDB naming and labels.
    pub influx: InfluxOptions,
    /// Graphite timestamp rounding, in milliseconds.
    pub graphite_trim_ms: i64,
    /// Compiled `-relabelConfig` rules.
    pub relabel: Option<Arc<Relabeler>>,
}

impl PushConfig {
    /// Reads the push flags; compiles the `-relabelConfig` file.
    ///
    /// # Errors
    /// [`FlagError::Invalid`] for a relabel file that cannot be read or compiled.
    pub fn from_flags(f: &Flags) -> Result<PushConfig, FlagError> {
        let addr = |name: &str| {
            let a = f.str(name);
            (!a.is_empty()).then(|| crate::config::listen_addr(a))
        };
        // `gnomon-agent` has no -relabelConfig (vmagent relabels per destination).
        let path = if f.is_declared("relabelConfig") {
            f.str("relabelConfig")
        } else {
            ""
        };
        let relabel = if path.is_empty() {
            None
        } else {
            Some(Arc::new(load_relabel(path).map_err(|why| {
                FlagError::Invalid {
                    flag: "relabelConfig".into(),
                    value: path.into(),
                    why,
                }
            })?))
        };
        Ok(PushConfig {
            graphite_addr: addr("graphiteListenAddr"),
            opentsdb_addr: addr("opentsdbListenAddr"),
            influx: InfluxOptions {
                naming: InfluxNaming {
                    separator: f.str("influxMeasurementFieldSeparator").to_owned(),
                    skip_single_field: f.bool("influxSkipSingleField"),
                    skip_measurement: f.bool("influxSkipMeasurement"),
                },
                db_label: f.str("influxDBLabel").to_owned(),
                database_names: f
                    .str("influx.databaseNames")
                    .split(',')
                    .filter(|s| !s.is_empty())
                    .map(str::to_owned)
                    .collect(),
            },
            graphite_trim_ms: i64::try_from(f.duration("graphiteTrimTimestamp").as_millis())
                .unwrap_or(i64::MAX),
            relabel,
        })
    }

    /// Copies the push settings into the ingest handlers' options.
    pub fn apply(&self, opts: &mut IngestOptions) {
        opts.influx = self.influx.clone();
        opts.graphite_trim_ms = self.graphite_trim_ms;
        opts.relabel = self.relabel.clone();
    }
}

fn load_relabel(path: &str) -> Result<Relabeler, String> {
    let text = std::fs::read_to_string(path).map_err(|e| format!("cannot read: {e}"))?;
    let configs = RelabelConfigs::from_yaml(&text).map_err(|e| e.to_string())?;
    compile(configs.rules(), &RelabelOptions::victoriametrics()).map_err(|e| e.to_string())
}

/// Binds the configured Graphite and OpenTSDB listeners and serves them in background
/// tasks, writing through `appenders` and counting into `counters`. Logs
/// `<protocol> listener on tcp://ADDR` (and `udp://ADDR`) for each.
///
/// # Errors
/// An address cannot be bound.
pub async fn start(
    push: &PushConfig,
    max_insert_bytes: usize,
    appenders: AppenderFactory,
    counters: Arc<IngestCounters>,
) -> anyhow::Result<()> {
    if push.graphite_addr.is_none() && push.opentsdb_addr.is_none() {
        return Ok(());
    }
    let mut opts = IngestOptions {
        max_body_bytes: max_insert_bytes,
        ..IngestOptions::default()
    };
    push.apply(&mut opts);
    let ingest = StreamIngest::new(appenders, counters, opts);
    for (addr, proto, name) in [
        (&push.graphite_addr, StreamProtocol::Graphite, "graphite"),
        (&push.opentsdb_addr, StreamProtocol::OpenTsdb, "opentsdb"),
    ] {
        let Some(addr) = addr else { continue };
        let tcp = TcpListener::bind(addr)
            .await
            .with_context(|| format!("cannot listen for {name} on tcp {addr}"))?;
        let local = tcp.local_addr()?;
        // UDP on the port TCP got (it may have been picked by the system).
        let udp = UdpSocket::bind(local)
            .await
            .with_context(|| format!("cannot listen for {name} on udp {local}"))?;
        log::info!("{name} listener on tcp://{local}");
        log::info!("{name} listener on udp://{local}");
        tokio::spawn(serve_tcp(tcp, proto, name, ingest.clone()));
        tokio::spawn(serve_udp(udp, proto, name, ingest.clone()));
    }
    Ok(())
}

async fn serve_tcp(
    listener: TcpListener,
    proto: StreamProtocol,
    name: &'static str,
    ingest: StreamIngest,
) {
    loop {
        match listener.accept().await {
            Ok((conn, _)) => {
                tokio::spawn(serve_conn(conn, proto, name, ingest.clone()));
            }
            Err(e) => {
                log::warn!("{name}: cannot accept a connection: {e}");
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        }
    }
}

/// Reads lines until the peer closes; each read's complete lines are stored at once.
async fn serve_conn(
    mut conn: TcpStream,
    proto: StreamProtocol,
    name: &'static str,
    ingest: StreamIngest,
) {
    let peer = conn
        .peer_addr()
        .map_or_else(|_| "?".to_owned(), |a| a.to_string());
    let mut pending: Vec<u8> = Vec::new();
    let mut chunk = vec![0u8; READ_BYTES];
    loop {
        let n = match conn.read(&mut chunk).await {
            Ok(n) => n,
            Err(e) => {
                log::warn!("{name}: reading from {peer}: {e}");
                0
            }
        };
        if n == 0 {
            if !pending.is_empty() {
                store(&ingest, proto, name, &peer, std::mem::take(&mut pending)).await;
            }
            return;
        }
        pending.extend_from_slice(&chunk[..n]);
        match pending.iter().rposition(|&b| b == b'\n') {
            Some(nl) => {
                let rest = pending.split_off(nl + 1);
                let run = std::mem::replace(&mut pending, rest);
                store(&ingest, proto, name, &peer, run).await;
            }
            None if pending.len() > ingest.max_line_bytes() => {
                log::warn!(
                    "{name}: closing the connection from {peer}: a line is longer than {} bytes (-maxInsertRequestSize)",
                    ingest.max_line_bytes()
                );
                return;
            }
            None => {}
        }
    }
}

async fn serve_udp(
    socket: UdpSocket,
    proto: StreamProtocol,
    name: &'static str,
    ingest: StreamIngest,
) {
    let mut buf = vec![0u8; READ_BYTES];
    loop {
        match socket.recv_from(&mut buf).await {
            Ok((n, peer)) => {
                store(&ingest, proto, name, &peer.to_string(), buf[..n].to_vec()).await;
            }
            Err(e) => {
                log::warn!("{name}: udp receive: {e}");
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        }
    }
}

async fn store(
    ingest: &StreamIngest,
    proto: StreamProtocol,
    name: &str,
    peer: &str,
    lines: Vec<u8>,
) {
    let ingest = ingest.clone();
    match tokio::task::spawn_blocking(move || ingest.ingest(proto, &lines)).await {
        Ok(Ok(report)) => {
            if let Some(e) = report.errors.first() {
                log::warn!(
                    "{name}: {} malformed line(s) from {peer} skipped; first: {}",
                    report.bad_lines,
                    e.message
                );
            }
        }
        Ok(Err(e)) => log::error!("{name}: cannot store rows from {peer}: {e}"),
        Err(e) => log::error!("{name}: ingest worker failed: {e}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::SERVER_FLAGS;
    use crate::flags::parse;

    fn push(args: &[&str]) -> Result<PushConfig, FlagError> {
        PushConfig::from_flags(&parse(SERVER_FLAGS, args.iter().map(|s| s.to_string()))?)
    }

    #[test]
    fn defaults_and_flags() {
        let d = push(&[]).unwrap();
        assert_eq!(d.graphite_addr, None);
        assert_eq!(d.influx, InfluxOptions::default());
        assert_eq!(d.graphite_trim_ms, 1000);
        assert!(d.relabel.is_none());
        let c = push(&[
            "-graphiteListenAddr=:2003",
            "-opentsdbListenAddr=127.0.0.1:0",
            "-influxMeasurementFieldSeparator=.",
            "-influxSkipSingleField",
            "-influxDBLabel=",
            "-influx.databaseNames=a,b",
            "-graphiteTrimTimestamp=1m",
        ])
        .unwrap();
        assert_eq!(c.graphite_addr.as_deref(), Some("0.0.0.0:2003"));
        assert_eq!(c.opentsdb_addr.as_deref(), Some("127.0.0.1:0"));
        assert_eq!(c.influx.naming.separator, ".");
        assert!(c.influx.naming.skip_single_field);
        assert_eq!(c.influx.db_label, "");
        assert_eq!(c.influx.database_names, vec!["a", "b"]);
        assert_eq!(c.graphite_trim_ms, 60_000);
    }

    #[test]
    fn relabel_file_is_compiled_or_refused() {
        let dir = tempfile::tempdir().unwrap();
        let good = dir.path().join("good.yml");
        std::fs::write(
            &good,
            "- action: drop\n  source_labels: [__name__]\n  regex: x\n",
        )
        .unwrap();
        let c = push(&[&format!("-relabelConfig={}", good.display())]).unwrap();
        assert_eq!(c.relabel.unwrap().len(), 1);
        let bad = dir.path().join("bad.yml");
        std::fs::write(&bad, "- action: nope\n").unwrap();
        let e = push(&[&format!("-relabelConfig={}", bad.display())]).unwrap_err();
        assert!(
            matches!(e, FlagError::Invalid { ref flag, .. } if flag == "relabelConfig"),
            "{e}"
        );
        let e = push(&["-relabelConfig=/nonexistent/x.yml"]).unwrap_err();
        assert!(e.to_string().contains("cannot read"), "{e}");
    }
}
