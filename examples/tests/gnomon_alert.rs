//! `gnomon-alert` against a running `gnomon`: rules query the server's `/api/v1/query`,
//! recording results and `ALERTS` come back through `/api/v1/import`, and the alert is
//! visible on `gnomon-alert`'s own `/api/v1/alerts`.

mod common;

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use common::Server;

struct Killed(Child);

impl Drop for Killed {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
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

fn start_alert(args: &[String]) -> (Killed, String) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_gnomon-alert"))
        .arg("-httpListenAddr=127.0.0.1:0")
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn gnomon-alert");
    let stderr = child.stderr.take().expect("stderr");
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stderr).lines() {
            let Ok(line) = line else { break };
            if let Some(i) = line.find("listening on http://") {
                let _ = tx.send(line[i + "listening on http://".len()..].trim().to_owned());
            }
        }
    });
    let addr = rx
        .recv_timeout(Duration::from_secs(30))
        .expect("gnomon-alert did not start");
    (Killed(child), addr)
}

#[test]
fn rules_against_a_remote_gnomon() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(&dir.path().join("data"), &[]);
    let rules = dir.path().join("rules.yml");
    std::fs::write(
        &rules,
        "groups:\n- name: room\n  interval: 1s\n  rules:\n  - record: temp:double\n    expr: temp * 2\n  - alert: Hot\n    expr: temp > 10\n    annotations:\n      summary: '{{ $labels.room }} at {{ $value }}'\n  - alert: Warm\n    expr: temp > 5\n    for: 20m\n",
    )
    .unwrap();
    let url = format!("http://{}", server.addr);
    let (_alert, addr) = start_alert(&[
        format!("-datasource.url={url}"),
        format!("-remoteWrite.url={url}"),
        format!(
            "-remoteWrite.tmpDataPath={}",
            dir.path().join("q").display()
        ),
        format!("-remoteRead.url={url}"),
        format!("-rule={}", rules.display()),
    ]);
    let push = || {
        let _ = server.post("/api/v1/import/prometheus", b"temp{room=\"a\"} 20\n");
    };
    let firing = wait_for(
        "a firing alert on gnomon-alert",
        Duration::from_secs(30),
        || {
            push();
            let r = common::request(&addr, "GET", "/api/v1/alerts", &[], b"")
                .ok()?
                .json();
            let list = r["data"]["alerts"].as_array()?;
            list.iter()
                .any(|a| a["state"] == "firing")
                .then_some(r.clone())
        },
    );
    assert_eq!(
        firing["data"]["alerts"][0]["annotations"]["summary"],
        "a at 20"
    );
    wait_for(
        "temp:double written back to gnomon",
        Duration::from_secs(30),
        || {
            push();
            let q = server.get("/api/v1/query?query=temp:double").json();
            (q["data"]["result"][0]["value"][1] == "40").then_some(())
        },
    );
    wait_for(
        "ALERTS written back to gnomon",
        Duration::from_secs(30),
        || {
            let q = server
                .get("/api/v1/query?query=ALERTS%7Balertstate%3D%22firing%22%7D")
                .json();
            (q["data"]["result"][0]["metric"]["alertname"] == "Hot").then_some(())
        },
    );
}
