//! `gnomon-agent` against real peers: a real node_exporter scraped and remote-written
//! into a real VictoriaMetrics (Debian `victoria-metrics`) and into `gnomon` at once;
//! a 60 s outage of the receiver; kill -9 with a non-empty queue; cluster sharding.

mod common;

use std::collections::BTreeMap;
use std::path::Path;
use std::process::Command;
use std::time::Duration;

use common::{
    Server, data_dir, enc, free_port, start_node_exporter, start_victoria_metrics, tempdir,
    wait_for,
};

fn start_agent(args: &[String]) -> Server {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_gnomon-agent"));
    cmd.arg("-httpListenAddr=127.0.0.1:0").args(args);
    Server::spawn(cmd)
}

/// `gnomon` on a fixed port, so that it can be stopped and started again at the same URL.
fn start_gnomon_at(data: &Path, port: u16) -> Server {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_gnomon"));
    cmd.arg(format!("-storageDataPath={}", data.display()))
        .arg(format!("-httpListenAddr=127.0.0.1:{port}"));
    Server::spawn(cmd)
}

fn scrape_config(dir: &Path, targets: &[String]) -> String {
    let path = dir.join("scrape.yml");
    let list: Vec<String> = targets.iter().map(|t| format!("\"{t}\"")).collect();
    std::fs::write(
        &path,
        format!(
            "global:\n  scrape_interval: 1s\nscrape_configs:\n  - job_name: node\n    static_configs:\n      - targets: [{}]\n",
            list.join(", ")
        ),
    )
    .unwrap();
    path.display().to_string()
}

/// The sum of every `/metrics` line of `agent` whose name and labels start with `prefix`.
fn metric(agent: &Server, prefix: &str) -> f64 {
    agent
        .get("/metrics")
        .text()
        .lines()
        .filter(|l| l.starts_with(prefix))
        .filter_map(|l| l.rsplit_once(' ')?.1.parse::<f64>().ok())
        .sum()
}

/// Series (canonical JSON of the labels) → `(timestamp, value bits)` of every sample
/// `addr` exports for `selector`.
fn export(addr: &str, selector: &str) -> BTreeMap<String, Vec<(i64, u64)>> {
    let r = common::request(
        addr,
        "GET",
        &format!("/api/v1/export?match[]={}", enc(selector)),
        &[],
        b"",
    )
    .expect("export");
    assert_eq!(r.status, 200, "{}", r.text());
    let mut out: BTreeMap<String, Vec<(i64, u64)>> = BTreeMap::new();
    for line in r.text().lines() {
        let v: serde_json::Value = serde_json::from_str(line).expect("json line");
        let samples = out.entry(v["metric"].to_string()).or_default();
        let values = v["values"].as_array().unwrap();
        let ts = v["timestamps"].as_array().unwrap();
        for (t, x) in ts.iter().zip(values) {
            let x = x
                .as_f64()
                .unwrap_or_else(|| x.as_str().unwrap().parse().unwrap());
            samples.push((t.as_i64().unwrap(), x.to_bits()));
        }
        samples.sort_unstable();
    }
    out
}

/// VictoriaMetrics stores a float as a decimal with at most 16 significant digits, so
/// values with more (1.8446744073709552e19, `process_virtual_memory_max_bytes`) come
/// back a few ULPs off; everything else is exact.
fn same_as_victoriametrics_stores(ours: f64, theirs: f64) -> bool {
    ours.to_bits() == theirs.to_bits()
        || (ours.is_nan() && theirs.is_nan())
        || (ours - theirs).abs() <= ours.abs() * 1e-15
}

fn sample_count(series: &BTreeMap<String, Vec<(i64, u64)>>) -> usize {
    series.values().map(Vec::len).sum()
}

/// The agent's last words: `queued N samples` per destination.
fn queued_rows_at_stop(log: &str) -> u64 {
    log.lines()
        .filter_map(|l| {
            l.split("queued ")
                .nth(1)?
                .split(' ')
                .next()?
                .parse::<u64>()
                .ok()
        })
        .sum()
}

#[test]
fn node_exporter_through_the_agent_lands_identically_in_victoriametrics_and_gnomon() {
    let dir = tempdir();
    let ne_port = free_port();
    let _ne = start_node_exporter(ne_port);
    let (_vm, vm) = start_victoria_metrics(dir.path());
    let gnomon = Server::start(&data_dir(&dir), &[]);
    let config = scrape_config(dir.path(), &[format!("127.0.0.1:{ne_port}")]);
    let agent = start_agent(&[
        format!("-promscrape.config={config}"),
        format!("-remoteWrite.url=http://{vm}/api/v1/write"),
        format!("-remoteWrite.url=http://{}/api/v1/write", gnomon.addr),
        format!(
            "-remoteWrite.tmpDataPath={}",
            dir.path().join("q").display()
        ),
        "-remoteWrite.flushInterval=200ms".into(),
    ]);
    wait_for("5 scrapes in gnomon", Duration::from_secs(60), || {
        export(&gnomon.addr, "up")
            .values()
            .next()
            .is_some_and(|s| s.len() >= 5)
    });
    let log = {
        let log = agent.log.clone();
        assert!(agent.terminate().success());
        log.lock().unwrap().join("\n")
    };
    assert!(
        log.contains("pending 0 bytes"),
        "queues drained at stop:\n{log}"
    );
    let from_gnomon = export(&gnomon.addr, r#"{job="node"}"#);
    // VictoriaMetrics makes accepted samples searchable within a few seconds.
    let mut from_vm = BTreeMap::new();
    wait_for(
        "VictoriaMetrics to show every sample",
        Duration::from_secs(30),
        || {
            common::request(&vm, "GET", "/internal/force_flush", &[], b"").unwrap();
            from_vm = export(&vm, r#"{job="node"}"#);
            sample_count(&from_vm) >= sample_count(&from_gnomon)
        },
    );
    let names: std::collections::BTreeSet<&str> = from_gnomon
        .keys()
        .filter_map(|k| k.split("\"__name__\":\"").nth(1)?.split('"').next())
        .collect();
    for want in [
        "node_load1",
        "node_cpu_seconds_total",
        "node_memory_MemTotal_bytes",
        "up",
    ] {
        assert!(names.contains(want), "{want} missing from {names:?}");
    }
    assert!(
        sample_count(&from_gnomon) > 500,
        "{}",
        sample_count(&from_gnomon)
    );
    // Each destination got every sample the agent queued for it.
    assert_eq!(
        2 * sample_count(&from_gnomon) as u64,
        queued_rows_at_stop(&log),
        "{log}"
    );
    assert_eq!(from_vm.len(), from_gnomon.len(), "same series");
    for (series, samples) in &from_gnomon {
        let theirs = &from_vm[series];
        let ts = |s: &[(i64, u64)]| s.iter().map(|x| x.0).collect::<Vec<_>>();
        assert_eq!(ts(theirs), ts(samples), "{series}: timestamps");
        for (a, b) in samples.iter().zip(theirs) {
            assert!(
                same_as_victoriametrics_stores(f64::from_bits(a.1), f64::from_bits(b.1)),
                "{series} at {}: {} vs {}",
                a.0,
                f64::from_bits(a.1),
                f64::from_bits(b.1)
            );
        }
    }
}

#[test]
fn a_60s_outage_of_the_receiver_loses_no_sample() {
    let dir = tempdir();
    let ne_port = free_port();
    let _ne = start_node_exporter(ne_port);
    let port = free_port();
    let data = data_dir(&dir);
    let gnomon = start_gnomon_at(&data, port);
    let config = scrape_config(dir.path(), &[format!("127.0.0.1:{ne_port}")]);
    let agent = start_agent(&[
        format!("-promscrape.config={config}"),
        format!("-remoteWrite.url=http://127.0.0.1:{port}/api/v1/write"),
        format!(
            "-remoteWrite.tmpDataPath={}",
            dir.path().join("q").display()
        ),
        "-remoteWrite.flushInterval=200ms".into(),
        "-remoteWrite.retryMaxInterval=2s".into(),
    ]);
    wait_for("3 scrapes in gnomon", Duration::from_secs(60), || {
        export(&gnomon.addr, "up")
            .values()
            .next()
            .is_some_and(|s| s.len() >= 3)
    });
    assert!(gnomon.terminate().success());
    // The outage itself: 60 s of scraping every second with nowhere to send to.
    std::thread::sleep(Duration::from_secs(60));
    let pending = metric(&agent, "vmagent_remotewrite_pending_data_bytes");
    assert!(pending > 0.0, "the queue holds the outage's data");
    assert!(metric(&agent, "vmagent_remotewrite_errors_total") > 0.0);
    let gnomon = start_gnomon_at(&data, port);
    wait_for("the queue to drain", Duration::from_secs(60), || {
        metric(&agent, "vmagent_remotewrite_pending_data_bytes") == 0.0
    });
    let log = {
        let log = agent.log.clone();
        assert!(agent.terminate().success());
        log.lock().unwrap().join("\n")
    };
    let stored = export(&gnomon.addr, r#"{job="node"}"#);
    assert_eq!(
        sample_count(&stored) as u64,
        queued_rows_at_stop(&log),
        "every queued sample stored once"
    );
    let up: Vec<i64> = stored
        .iter()
        .find(|(k, _)| k.contains("\"__name__\":\"up\""))
        .unwrap()
        .1
        .iter()
        .map(|(t, _)| *t)
        .collect();
    let span = up.last().unwrap() - up.first().unwrap();
    assert!(span >= 62_000, "{span} ms of scrapes");
    let widest = up.windows(2).map(|w| w[1] - w[0]).max().unwrap();
    assert!(
        widest < 2_000,
        "a scrape is missing: a {widest} ms gap in {up:?}"
    );
}

/// Timestamp of the `k`-th pushed sample: an hour ago, 15 s apart (inside gnomon's
/// default retention).
fn pushed_ts(base: i64, k: usize) -> i64 {
    base + k as i64 * 15_000
}

/// `per_series` samples of each of `series` series in the Prometheus text format.
fn import_body(base: i64, series: usize, per_series: usize) -> (String, usize) {
    let mut body = String::new();
    for s in 0..series {
        for k in 0..per_series {
            let t = pushed_ts(base, k);
            body.push_str(&format!("pushed{{s=\"{s}\"}} {}.5 {t}\n", s * 1000 + k));
        }
    }
    (body, series * per_series)
}

#[test]
fn kill9_with_a_full_queue_then_restart_delivers_everything_once() {
    let dir = tempdir();
    let port = free_port();
    let args = vec![
        format!("-remoteWrite.url=http://127.0.0.1:{port}/api/v1/write"),
        format!(
            "-remoteWrite.tmpDataPath={}",
            dir.path().join("q").display()
        ),
        "-remoteWrite.flushInterval=100ms".into(),
        "-remoteWrite.maxRowsPerBlock=500".into(),
        "-remoteWrite.retryMaxInterval=1s".into(),
    ];
    let agent = start_agent(&args);
    let now_ms = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as i64;
    let base = now_ms - now_ms % 1000 - 3_600_000;
    let (body, n) = import_body(base, 40, 100);
    for chunk in body.lines().collect::<Vec<_>>().chunks(700) {
        let r = agent.post(
            "/api/v1/import/prometheus",
            (chunk.join("\n") + "\n").as_bytes(),
        );
        assert_eq!(r.status, 204, "{}", r.text());
    }
    wait_for("every sample queued", Duration::from_secs(30), || {
        metric(&agent, "vmagent_remotewrite_block_size_rows_sum") == n as f64
    });
    let blocks = metric(&agent, "vm_persistentqueue_blocks_written_total");
    assert!(blocks >= 8.0, "{blocks} blocks");
    assert!(
        metric(&agent, "vmagent_remotewrite_errors_total") > 0.0,
        "receiver is down"
    );
    agent.kill9();

    let gnomon = start_gnomon_at(&data_dir(&dir), port);
    let agent = start_agent(&args);
    wait_for("the queue to drain", Duration::from_secs(60), || {
        metric(&agent, "vmagent_remotewrite_blocks_sent_total") == blocks
            && metric(&agent, "vmagent_remotewrite_pending_data_bytes") == 0.0
    });
    let stored = export(&gnomon.addr, r#"{__name__="pushed"}"#);
    assert_eq!(stored.len(), 40);
    assert_eq!(sample_count(&stored), n, "nothing lost, nothing twice");
    for (series, samples) in &stored {
        let s: usize = series
            .split("\"s\":\"")
            .nth(1)
            .unwrap()
            .split('"')
            .next()
            .unwrap()
            .parse()
            .unwrap();
        let want: Vec<(i64, u64)> = (0..100)
            .map(|k| (pushed_ts(base, k), ((s * 1000 + k) as f64 + 0.5).to_bits()))
            .collect();
        assert_eq!(samples, &want, "{series}");
    }
}

#[test]
fn cluster_members_share_the_targets_and_vmagent_endpoints_answer() {
    let dir = tempdir();
    let targets: Vec<String> = (0..12)
        .map(|_| format!("127.0.0.1:{}", free_port()))
        .collect();
    let config = scrape_config(dir.path(), &targets);
    let dead = free_port();
    let mut active = Vec::new();
    let mut agents: Vec<Server> = Vec::new();
    for member in 0..2 {
        let a = start_agent(&[
            format!("-promscrape.config={config}"),
            format!("-remoteWrite.url=http://127.0.0.1:{dead}/api/v1/write"),
            format!(
                "-remoteWrite.tmpDataPath={}",
                dir.path().join(format!("q{member}")).display()
            ),
            "-promscrape.cluster.membersCount=2".into(),
            format!("-promscrape.cluster.memberNum=vmagent-{member}"),
        ]);
        wait_for("targets listed", Duration::from_secs(20), || {
            let v = a.get("/api/v1/targets").json();
            v["data"]["activeTargets"].as_array().unwrap().len()
                + v["data"]["droppedTargets"].as_array().unwrap().len()
                == 12
        });
        let v = a.get("/api/v1/targets").json();
        let mine: Vec<String> = v["data"]["activeTargets"]
            .as_array()
            .unwrap()
            .iter()
            .map(|t| t["labels"]["instance"].as_str().unwrap().to_owned())
            .collect();
        assert!(!mine.is_empty() && mine.len() < 12, "{mine:?}");
        active.extend(mine);
        assert_eq!(a.get("/health").text(), "OK");
        assert_eq!(a.post("/-/reload", b"").status, 204);
        let m = a.get("/metrics").text();
        for name in [
            "vmagent_remotewrite_queues{url=\"1:secret-url\"}",
            "vmagent_remotewrite_pending_data_bytes{path=",
            "vm_persistentqueue_bytes_pending{path=",
            "vmagent_rows_inserted_total{type=\"promremotewrite\"}",
            "process_resident_memory_bytes",
        ] {
            assert!(m.contains(name), "{name} missing from\n{m}");
        }
        assert!(a.get("/targets").text().contains("job=\"node\""));
        agents.push(a);
    }
    active.sort();
    let mut all = targets.clone();
    all.sort();
    assert_eq!(active, all, "each target scraped by exactly one member");
}

#[test]
fn bad_flags_are_refused_with_the_flag_named() {
    let out = Command::new(env!("CARGO_BIN_EXE_gnomon-agent"))
        .arg("-remoteWrite.url=http://127.0.0.1:1/api/v1/write")
        .arg("-remoteWrite.label=oops")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("-remoteWrite.label") && err.contains("name=value"),
        "{err}"
    );
    let out = Command::new(env!("CARGO_BIN_EXE_gnomon-agent"))
        .arg("-help")
        .output()
        .unwrap();
    let help = String::from_utf8_lossy(&out.stderr);
    for flag in [
        "-remoteWrite.url array",
        "-remoteWrite.tmpDataPath string",
        "-promscrape.cluster.membersCount",
        "(default \":8429\")",
    ] {
        assert!(help.contains(flag), "{flag} missing from -help");
    }
}
