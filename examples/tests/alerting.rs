//! Interop with a real Alertmanager (Debian package `prometheus-alertmanager`): samples
//! pushed into `gnomon` make an alert go pending → firing (`for: 2s`, evaluation every
//! second), Alertmanager delivers it to a webhook with the rendered annotation, then the
//! condition ends and the resolution is delivered; the recording rule's series is
//! queryable.

mod common;

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use common::Server;

const ALERTMANAGER: &str = "/usr/bin/prometheus-alertmanager";

/// Kills the child on drop.
struct Killed(Child);

impl Drop for Killed {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// A webhook receiver: every POST body, as JSON.
fn webhook() -> (String, Arc<Mutex<Vec<serde_json::Value>>>) {
    let l = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}/hook", l.local_addr().unwrap());
    let got = Arc::new(Mutex::new(Vec::new()));
    let got2 = got.clone();
    std::thread::spawn(move || {
        for s in l.incoming() {
            let Ok(s) = s else { continue };
            if let Some(body) = read_request(s)
                && let Ok(v) = serde_json::from_slice(&body)
            {
                got2.lock().unwrap().push(v);
            }
        }
    });
    (url, got)
}

fn read_request(mut s: TcpStream) -> Option<Vec<u8>> {
    let mut r = BufReader::new(s.try_clone().ok()?);
    let mut len = 0;
    loop {
        let mut line = String::new();
        r.read_line(&mut line).ok()?;
        let l = line.trim_end();
        if l.is_empty() {
            break;
        }
        if let Some((k, v)) = l.split_once(':')
            && k.eq_ignore_ascii_case("content-length")
        {
            len = v.trim().parse().ok()?;
        }
    }
    let mut body = vec![0; len];
    r.read_exact(&mut body).ok()?;
    s.write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")
        .ok()?;
    Some(body)
}

fn wait_for<T>(what: &str, timeout: Duration, mut f: impl FnMut() -> Option<T>) -> T {
    let end = Instant::now() + timeout;
    loop {
        if let Some(v) = f() {
            return v;
        }
        assert!(Instant::now() < end, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(100));
    }
}

fn start_alertmanager(dir: &std::path::Path, hook: &str) -> (Killed, String) {
    assert!(
        std::path::Path::new(ALERTMANAGER).exists(),
        "{ALERTMANAGER} not found: install the Debian package prometheus-alertmanager"
    );
    let cfg = dir.join("am.yml");
    std::fs::write(
        &cfg,
        format!(
            "route:\n  receiver: hook\n  group_by: [alertname]\n  group_wait: 1s\n  group_interval: 1s\n  repeat_interval: 1h\nreceivers:\n- name: hook\n  webhook_configs:\n  - url: {hook}\n    send_resolved: true\n"
        ),
    )
    .unwrap();
    let port = free_port();
    let addr = format!("127.0.0.1:{port}");
    let child = Command::new(ALERTMANAGER)
        .arg(format!("--config.file={}", cfg.display()))
        .arg(format!("--storage.path={}", dir.join("am-data").display()))
        .arg(format!("--web.listen-address={addr}"))
        .arg("--cluster.listen-address=")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn alertmanager");
    let am = Killed(child);
    wait_for("alertmanager to be ready", Duration::from_secs(30), || {
        common::request(&addr, "GET", "/-/ready", &[], b"")
            .ok()
            .filter(|r| r.status == 200)
    });
    (am, addr)
}

#[test]
fn alert_lifecycle_through_alertmanager() {
    let dir = tempfile::tempdir().unwrap();
    let (hook, received) = webhook();
    let (_am, am_addr) = start_alertmanager(dir.path(), &hook);
    let rules = dir.path().join("rules.yml");
    std::fs::write(
        &rules,
        "groups:\n- name: room\n  interval: 1s\n  rules:\n  - record: temp:double\n    expr: temp * 2\n  - alert: Hot\n    expr: temp > 10\n    for: 2s\n    labels:\n      severity: page\n    annotations:\n      summary: '{{ $labels.room }} is at {{ $value }} degrees'\n",
    )
    .unwrap();
    let server = Server::start(
        &dir.path().join("data"),
        &[
            &format!("-rule={}", rules.display()),
            &format!("-notifier.url=http://{am_addr}"),
            "-evaluationInterval=1s",
            "-rule.resendDelay=1s",
        ],
    );
    // A pusher thread: temp=20 until told otherwise, then 5.
    let value = Arc::new(AtomicU64::new(20));
    let stop = Arc::new(AtomicBool::new(false));
    let pusher = {
        let (value, stop, addr) = (value.clone(), stop.clone(), server.addr.clone());
        std::thread::spawn(move || {
            while !stop.load(Ordering::SeqCst) {
                let body = format!("temp{{room=\"a\"}} {}\n", value.load(Ordering::SeqCst));
                let _ = common::request(
                    &addr,
                    "POST",
                    "/api/v1/import/prometheus",
                    &[],
                    body.as_bytes(),
                );
                std::thread::sleep(Duration::from_millis(200));
            }
        })
    };
    let state = |s: &Server| -> Option<String> {
        let j = s.get("/api/v1/alerts").json();
        j["data"]["alerts"][0]["state"].as_str().map(str::to_owned)
    };
    wait_for("a pending alert", Duration::from_secs(20), || {
        (state(&server).as_deref() == Some("pending")).then_some(())
    });
    wait_for("a firing alert", Duration::from_secs(20), || {
        (state(&server).as_deref() == Some("firing")).then_some(())
    });
    let firing = wait_for("the firing notification", Duration::from_secs(30), || {
        received
            .lock()
            .unwrap()
            .iter()
            .find(|n| n["status"] == "firing")
            .cloned()
    });
    let a = &firing["alerts"][0];
    assert_eq!(a["labels"]["alertname"], "Hot");
    assert_eq!(a["labels"]["severity"], "page");
    assert_eq!(a["labels"]["room"], "a");
    assert_eq!(a["annotations"]["summary"], "a is at 20 degrees");
    assert!(
        a["generatorURL"]
            .as_str()
            .unwrap()
            .contains("/graph?g0.expr=temp+%3E+10"),
        "{a}"
    );
    // The recording rule's series.
    let q = server.get("/api/v1/query?query=temp:double").json();
    assert_eq!(q["data"]["result"][0]["value"][1], "40", "{q}");
    // The rules API.
    let r = server.get("/api/v1/rules").json();
    assert_eq!(r["data"]["groups"][0]["rules"][1]["state"], "firing", "{r}");
    // The condition ends: the resolution reaches the webhook.
    value.store(5, Ordering::SeqCst);
    let resolved = wait_for("the resolved notification", Duration::from_secs(30), || {
        received
            .lock()
            .unwrap()
            .iter()
            .find(|n| n["status"] == "resolved")
            .cloned()
    });
    assert_eq!(resolved["alerts"][0]["labels"]["alertname"], "Hot");
    assert_eq!(state(&server), None, "no active alert after resolution");
    stop.store(true, Ordering::SeqCst);
    pusher.join().unwrap();
}
