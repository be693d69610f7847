//! Push ingestion against real senders: a real Prometheus and a real vmagent, both
//! scraping a real node_exporter and remote-writing to `gnomon`; the Graphite and
//! OpenTSDB socket listeners of the binary; undecodable bodies refused while the server
//! keeps serving with earlier data intact.
//!
//! Needs the Debian packages `prometheus`, `prometheus-node-exporter` and
//! `victoria-metrics` (for vmagent); a missing binary fails the test naming the package.

mod common;

use std::fs::File;
use std::io::Write;
use std::net::{TcpListener, TcpStream};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use common::{Server, data_dir, enc, tempdir};

/// How long a sender may take to deliver its first samples (scrape every second,
/// remote-write batches every second; slow CI machines need the margin).
const ARRIVAL_TIMEOUT: Duration = Duration::from_secs(90);

/// A peer process, killed on drop; its output goes to a log file.
struct Peer {
    child: Child,
    log: std::path::PathBuf,
}

impl Peer {
    fn start(binary: &str, package: &str, args: &[String], log: &Path) -> Peer {
        assert!(
            Path::new(binary).exists(),
            "{binary} is missing: install the Debian package `{package}`"
        );
        let out = File::create(log).expect("log file");
        let child = Command::new(binary)
            .args(args)
            .stdin(Stdio::null())
            .stdout(out.try_clone().expect("log file"))
            .stderr(out)
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {binary}: {e}"));
        Peer {
            child,
            log: log.to_owned(),
        }
    }

    fn log_tail(&self) -> String {
        let text = std::fs::read_to_string(&self.log).unwrap_or_default();
        let lines: Vec<&str> = text.lines().collect();
        lines[lines.len().saturating_sub(20)..].join("\n")
    }
}

impl Drop for Peer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A port free right now on 127.0.0.1 (for peers that cannot report a port they picked).
fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("bind 127.0.0.1:0")
        .port()
}

fn wait_http_ok(addr: &str, path: &str, peer: &Peer) {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        if let Ok(r) = common::request(addr, "GET", path, &[], b"")
            && r.status == 200
        {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "{addr}{path} never answered 200; log:\n{}",
            peer.log_tail()
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

fn node_exporter(dir: &Path) -> (Peer, String) {
    let addr = format!("127.0.0.1:{}", free_port());
    let peer = Peer::start(
        "/usr/bin/prometheus-node-exporter",
        "prometheus-node-exporter",
        &[
            format!("--web.listen-address={addr}"),
            "--collector.disable-defaults".into(),
            "--collector.cpu".into(),
            "--collector.loadavg".into(),
            "--collector.meminfo".into(),
        ],
        &dir.join("node_exporter.log"),
    );
    wait_http_ok(&addr, "/metrics", &peer);
    (peer, addr)
}

/// Polls gnomon's `/api/v1/series` until `node_cpu_seconds_total` of the node_exporter
/// at `target` arrives; returns the series' label sets.
fn wait_for_node_cpu(gnomon: &Server, target: &str, sender: &Peer) -> Vec<serde_json::Value> {
    let path = format!(
        "/api/v1/series?match[]={}&start=0",
        enc(&format!("node_cpu_seconds_total{{instance=\"{target}\"}}"))
    );
    let deadline = Instant::now() + ARRIVAL_TIMEOUT;
    loop {
        let r = gnomon.get(&path);
        assert_eq!(r.status, 200, "{}", r.text());
        let data = r.json()["data"].as_array().cloned().unwrap_or_default();
        if !data.is_empty() {
            return data;
        }
        assert!(
            Instant::now() < deadline,
            "node_cpu_seconds_total never arrived; sender log:\n{}\ngnomon log:\n{}",
            sender.log_tail(),
            gnomon.log_text()
        );
        std::thread::sleep(Duration::from_millis(250));
    }
}

fn check_node_series(series: &[serde_json::Value], job: &str, target: &str) {
    for s in series {
        assert_eq!(s["__name__"], "node_cpu_seconds_total", "{s}");
        assert_eq!(s["job"], job, "{s}");
        assert_eq!(s["instance"], target, "{s}");
        assert!(s["cpu"].is_string() && s["mode"].is_string(), "{s}");
    }
    assert!(series.iter().any(|s| s["mode"] == "idle"), "{series:?}");
}

/// Value of the `/metrics` line that starts with `prefix`.
fn metric(gnomon: &Server, prefix: &str) -> f64 {
    let text = gnomon.get("/metrics").text();
    let line = text
        .lines()
        .find(|l| l.starts_with(prefix))
        .unwrap_or_else(|| panic!("no {prefix} in /metrics:\n{text}"));
    line.rsplit(' ').next().unwrap().parse().unwrap()
}

#[test]
fn prometheus_remote_writes_node_exporter_metrics() {
    let dir = tempdir();
    let gnomon = Server::start(&data_dir(&dir), &[]);
    let (_ne, target) = node_exporter(dir.path());
    let config = dir.path().join("prometheus.yml");
    std::fs::write(
        &config,
        format!(
            r#"global:
  scrape_interval: 1s
  evaluation_interval: 1s
scrape_configs:
  - job_name: node
    static_configs:
      - targets: ["{target}"]
remote_write:
  - url: http://{gnomon}/api/v1/write
    queue_config:
      batch_send_deadline: 1s
      min_backoff: 100ms
      max_backoff: 1s
"#,
            gnomon = gnomon.addr
        ),
    )
    .unwrap();
    let prom_addr = format!("127.0.0.1:{}", free_port());
    let prom = Peer::start(
        "/usr/bin/prometheus",
        "prometheus",
        &[
            format!("--config.file={}", config.display()),
            format!("--storage.tsdb.path={}", dir.path().join("prom").display()),
            format!("--web.listen-address={prom_addr}"),
        ],
        &dir.path().join("prometheus.log"),
    );
    let series = wait_for_node_cpu(&gnomon, &target, &prom);
    check_node_series(&series, "node", &target);
    // Prometheus' own series about the scrape arrive too, and the query API sees them.
    let path = format!(
        "/api/v1/query?query={}",
        enc(&format!("up{{job=\"node\",instance=\"{target}\"}}"))
    );
    let deadline = Instant::now() + ARRIVAL_TIMEOUT;
    loop {
        let q = gnomon.get(&path);
        assert_eq!(q.status, 200, "{}", q.text());
        let result = q.json()["data"]["result"].clone();
        if let Some(first) = result.as_array().and_then(|r| r.first()) {
            assert_eq!(first["value"][1], "1", "{result}");
            break;
        }
        assert!(Instant::now() < deadline, "up never arrived: {}", q.text());
        std::thread::sleep(Duration::from_millis(250));
    }
    assert!(metric(&gnomon, r#"vm_rows_inserted_total{type="promremotewrite"}"#) > 0.0);
}

#[test]
fn vmagent_remote_writes_node_exporter_metrics() {
    let dir = tempdir();
    let gnomon = Server::start(&data_dir(&dir), &[]);
    let (_ne, target) = node_exporter(dir.path());
    let config = dir.path().join("scrape.yml");
    std::fs::write(
        &config,
        format!(
            r#"global:
  scrape_interval: 1s
scrape_configs:
  - job_name: node-vmagent
    static_configs:
      - targets: ["{target}"]
"#
        ),
    )
    .unwrap();
    let agent = Peer::start(
        "/usr/bin/vmagent",
        "victoria-metrics",
        &[
            format!("-promscrape.config={}", config.display()),
            format!("-remoteWrite.url=http://{}/api/v1/write", gnomon.addr),
            format!(
                "-remoteWrite.tmpDataPath={}",
                dir.path().join("vmagent").display()
            ),
            "-remoteWrite.flushInterval=1s".into(),
            format!("-httpListenAddr=127.0.0.1:{}", free_port()),
        ],
        &dir.path().join("vmagent.log"),
    );
    let series = wait_for_node_cpu(&gnomon, &target, &agent);
    check_node_series(&series, "node-vmagent", &target);
    assert!(metric(&gnomon, r#"vm_rows_inserted_total{type="promremotewrite"}"#) > 0.0);
}

/// The address a listener of the server logged (`<name> listener on tcp://ADDR`).
fn listener_addr(gnomon: &Server, name: &str) -> String {
    let needle = format!("{name} listener on tcp://");
    let deadline = Instant::now() + Duration::from_secs(10);
    let (text, at) = loop {
        let text = gnomon.log_text();
        if let Some(at) = text.find(&needle) {
            break (text, at);
        }
        assert!(Instant::now() < deadline, "no {needle} in the log:\n{text}");
        std::thread::sleep(Duration::from_millis(20));
    };
    text[at + needle.len()..]
        .split_whitespace()
        .next()
        .unwrap()
        .to_owned()
}

fn wait_export(gnomon: &Server, selector: &str, want_lines: usize) -> String {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let r = gnomon.get(&format!("/api/v1/export?match[]={}", enc(selector)));
        let text = r.text();
        if text.lines().count() >= want_lines {
            return text;
        }
        assert!(Instant::now() < deadline, "{selector}: got only\n{text}");
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[test]
fn socket_listeners_and_undecodable_bodies() {
    let dir = tempdir();
    let gnomon = Server::start(
        &data_dir(&dir),
        &[
            "-retentionPeriod=100y",
            "-graphiteListenAddr=127.0.0.1:0",
            "-opentsdbListenAddr=127.0.0.1:0",
        ],
    );
    let graphite = listener_addr(&gnomon, "graphite");
    let mut c = TcpStream::connect(&graphite).unwrap();
    c.write_all(
        b"foo.bar.baz;tag1=value1;tag2=value2 123 1560277406\nbad\nfoo.nots 5 1560277406.5\n",
    )
    .unwrap();
    drop(c);
    let text = wait_export(&gnomon, r#"{__name__=~"foo.*"}"#, 2);
    assert!(
        text.contains(r#"{"metric":{"__name__":"foo.bar.baz","tag1":"value1","tag2":"value2"},"values":[123],"timestamps":[1560277406000]}"#),
        "{text}"
    );
    assert!(text.contains(r#""timestamps":[1560277406000]"#), "{text}");

    let opentsdb = listener_addr(&gnomon, "opentsdb");
    let mut c = TcpStream::connect(&opentsdb).unwrap();
    c.write_all(b"put sys.cpu.nice 1346846400 18 host=web01 dc=lga\n")
        .unwrap();
    drop(c);
    let text = wait_export(&gnomon, r#"{__name__="sys.cpu.nice"}"#, 1);
    assert_eq!(
        text.trim(),
        r#"{"metric":{"__name__":"sys.cpu.nice","dc":"lga","host":"web01"},"values":[18],"timestamps":[1346846400000]}"#
    );
    assert_eq!(
        metric(&gnomon, r#"vm_rows_inserted_total{type="graphite"}"#),
        2.0
    );
    assert_eq!(
        metric(&gnomon, r#"vm_rows_inserted_total{type="opentsdb"}"#),
        1.0
    );

    // Undecodable remote write and bad Influx lines; the server keeps serving and the
    // earlier data is intact.
    let r = gnomon
        .request(
            "POST",
            "/api/v1/write",
            &[("Content-Encoding", "snappy")],
            b"\x0a\x03abcdef",
        )
        .unwrap();
    assert_eq!(r.status, 400, "{}", r.text());
    assert!(r.text().contains("snappy"), "{}", r.text());
    let r = gnomon.post("/write?precision=s&db=x", b"ok v=1 1560277406\nbad line\n");
    assert_eq!(r.status, 400);
    assert!(r.text().contains("line 2: missing '='"), "{}", r.text());
    let text = wait_export(&gnomon, r#"{__name__=~"foo.*|sys.*|ok_v"}"#, 4);
    assert!(text.contains(r#""__name__":"ok_v","db":"x""#), "{text}");
    assert!(text.contains("sys.cpu.nice"), "{text}");
    let r = gnomon.get("/federate?match[]=ok_v&time=1560277410");
    assert_eq!(r.status, 200);
    assert_eq!(
        r.text(),
        "# TYPE ok_v untyped\nok_v{db=\"x\"} 1 1560277406000\n"
    );
}

/// Influx series are cached by their raw text; the names still follow the naming flags
/// line by line (one field or several) and the `db` argument.
#[test]
fn influx_series_keys_follow_naming_per_line() {
    let dir = tempdir();
    let gnomon = Server::start(
        &data_dir(&dir),
        &["-retentionPeriod=100y", "-influxSkipSingleField"],
    );
    for (path, body) in [
        ("/write?precision=s", "m a=1 1560277406\n"),
        ("/write?precision=s", "m a=2,b=3 1560277407\n"),
        ("/write?precision=s&db=x", "m a=4 1560277408\n"),
        ("/write?precision=s", "m a=5 1560277409\n"),
    ] {
        let r = gnomon.post(path, body.as_bytes());
        assert_eq!(r.status, 204, "{}", r.text());
    }
    let text = wait_export(&gnomon, r#"{__name__=~"m.*"}"#, 4);
    let mut lines: Vec<&str> = text.lines().collect();
    lines.sort_unstable();
    assert_eq!(
        lines,
        vec![
            r#"{"metric":{"__name__":"m","db":"x"},"values":[4],"timestamps":[1560277408000]}"#,
            r#"{"metric":{"__name__":"m"},"values":[1,5],"timestamps":[1560277406000,1560277409000]}"#,
            r#"{"metric":{"__name__":"m_a"},"values":[2],"timestamps":[1560277407000]}"#,
            r#"{"metric":{"__name__":"m_b"},"values":[3],"timestamps":[1560277407000]}"#,
        ]
    );
}
