//! The `gnomon` binary end to end: every endpoint against VictoriaMetrics' recorded
//! responses (shared/bench/api-examples), lossless export → import, bad input, auth,
//! flags, graceful shutdown.

mod common;

use std::path::PathBuf;
use std::process::Command;

use common::{Server, data_dir, enc, tempdir};
use serde_json::{Value, json};

/// The demo samples VictoriaMetrics' reference responses were recorded with:
/// 2024-01-01T00:00:00Z + k*15s, k = 0..=40.
fn demo_prometheus_text() -> String {
    let mut s = String::new();
    for k in 0..=40i64 {
        let t = 1_704_067_200_000 + k * 15_000;
        s.push_str(&format!(
            "demo_requests_total{{instance=\"a:9100\",job=\"demo\",code=\"200\"}} {} {t}\n",
            100 + 7 * k
        ));
        s.push_str(&format!(
            "demo_requests_total{{instance=\"b:9100\",job=\"demo\",code=\"200\"}} {} {t}\n",
            50 + 3 * k
        ));
        s.push_str(&format!(
            "demo_temperature_celsius{{instance=\"a:9100\",job=\"demo\"}} {} {t}\n",
            20.5 + 0.25 * (k % 5) as f64
        ));
    }
    s
}

fn api_examples() -> PathBuf {
    std::env::var_os("GNOMON_SHARED")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../../shared")))
        .join("bench/api-examples")
}

/// Status and JSON body of a recorded VictoriaMetrics response.
fn recorded(name: &str) -> (u16, String, Value) {
    let path = api_examples().join(name);
    let text = std::fs::read_to_string(&path)
        .map(|t| t.replace("\r\n", "\n"))
        .unwrap_or_else(|e| {
            panic!(
                "missing reference response {} ({e}); set GNOMON_SHARED to the shared/ folder",
                path.display()
            )
        });
    let status: u16 = text.split(' ').nth(1).unwrap().parse().unwrap();
    let (head, body) = text.split_once("\n\n").unwrap();
    let ct = head
        .lines()
        .find_map(|l| l.strip_prefix("Content-Type: "))
        .unwrap_or("")
        .to_owned();
    let body = serde_json::from_str(body.trim()).unwrap_or(Value::String(body.trim().into()));
    (status, ct, body)
}

/// Compares a JSON `data` list ignoring order (the recorded series list is in
/// VictoriaMetrics' internal order).
fn sorted(v: &Value) -> Vec<String> {
    let mut items: Vec<String> = v
        .as_array()
        .unwrap()
        .iter()
        .map(|x| x.to_string())
        .collect();
    items.sort();
    items
}

#[test]
fn endpoints_answer_like_victoriametrics() {
    let dir = tempdir();
    let srv = Server::start(&data_dir(&dir), &["-retentionPeriod=100y"]);
    let r = srv.post(
        "/api/v1/import/prometheus",
        demo_prometheus_text().as_bytes(),
    );
    assert_eq!(r.status, 204, "{}", r.text());

    let window = "start=1704067200&end=1704067800";
    for (file, path) in [
        (
            "07-series.http",
            format!("/api/v1/series?match%5B%5D=demo_requests_total&{window}"),
        ),
        ("08-labels.http", format!("/api/v1/labels?{window}")),
        (
            "10-label-job-values.http",
            format!("/api/v1/label/job/values?{window}"),
        ),
    ] {
        let (status, ct, want) = recorded(file);
        let got = srv.get(&path);
        assert_eq!(got.status, status, "{path}: {}", got.text());
        assert_eq!(got.header("content-type"), Some(ct.as_str()), "{path}");
        assert_eq!(
            got.header("access-control-allow-origin"),
            Some("*"),
            "{path}"
        );
        let got = got.json();
        assert_eq!(got["status"], want["status"], "{path}");
        assert_eq!(sorted(&got["data"]), sorted(&want["data"]), "{path}");
    }

    // Without start/end the whole history is searched (the recorded 2024 "demo" job is
    // in VictoriaMetrics' default answer too).
    let got = srv.get("/api/v1/label/job/values").json();
    assert_eq!(got, json!({"status":"success","data":["demo"]}));
    let got = srv.get("/api/v1/labels").json();
    assert_eq!(got["data"], json!(["__name__", "code", "instance", "job"]));
    let got = srv
        .get("/api/v1/series?match[]=demo_temperature_celsius&limit=1")
        .json();
    assert_eq!(got["data"].as_array().unwrap().len(), 1);
    // match[] is a union.
    let got = srv
        .get(&format!(
            "/api/v1/series?match[]={}&match[]=demo_temperature_celsius",
            enc("demo_requests_total{instance=\"a:9100\"}")
        ))
        .json();
    assert_eq!(got["data"].as_array().unwrap().len(), 2);

    let (status, ct, want) = recorded("12-export-one-series.http");
    let got = srv.get(&format!(
        "/api/v1/export?match%5B%5D=demo_temperature_celsius%7Binstance%3D%22a%3A9100%22%7D&{window}"
    ));
    assert_eq!(got.status, status);
    assert_eq!(got.header("content-type"), Some(ct.as_str()));
    assert_eq!(got.json(), want);

    let (status, _, want) = recorded("13-health.http");
    let got = srv.get("/health");
    assert_eq!(
        (got.status, got.text()),
        (status, want.as_str().unwrap().to_owned())
    );
    assert_eq!(
        got.header("content-type"),
        Some("text/plain; charset=utf-8")
    );
    assert_eq!(srv.get("/-/healthy").status, 200);
    assert_eq!(srv.get("/-/ready").status, 200);

    let m = srv.get("/metrics");
    assert_eq!(m.status, 200);
    assert_eq!(m.header("content-type"), Some("text/plain; charset=utf-8"));
    let m = m.text();
    for name in [
        "vm_rows_inserted_total{type=\"prometheus\"} 123\n",
        "vm_http_requests_total{path=\"/api/v1/import/prometheus\"} 1\n",
        "vm_new_timeseries_created_total ",
        "vm_rows{type=\"storage/small\"} ",
        "vm_pending_rows{type=\"storage\"} ",
        "process_resident_memory_bytes ",
        "process_start_time_seconds ",
        "vm_app_version{",
    ] {
        assert!(m.contains(name), "/metrics lacks {name:?}:\n{m}");
    }

    // Errors: Prometheus envelope with 400 bad_data.
    let r = srv.get("/api/v1/series");
    assert_eq!(r.status, 400);
    assert_eq!(r.json()["errorType"], "bad_data");
    let r = srv.get("/api/v1/labels?start=abc");
    assert_eq!(r.status, 400);
    assert!(
        r.json()["error"].as_str().unwrap().contains("start"),
        "{}",
        r.text()
    );
    assert_eq!(srv.get("/no/such/path").status, 404);
}

#[test]
fn admin_endpoints_delete_snapshot_flush_merge() {
    let dir = tempdir();
    let srv = Server::start(&data_dir(&dir), &["-retentionPeriod=100y"]);
    assert_eq!(
        srv.post(
            "/api/v1/import/prometheus",
            demo_prometheus_text().as_bytes()
        )
        .status,
        204
    );
    assert_eq!(srv.get("/internal/force_flush").status, 200);
    assert_eq!(srv.get("/internal/force_merge").status, 200);

    let created = srv.get("/snapshot/create");
    assert_eq!(created.status, 200);
    assert_eq!(created.header("content-type"), Some("application/json"));
    let created = created.json();
    assert_eq!(created["status"], "ok");
    let name = created["snapshot"].as_str().unwrap().to_owned();
    assert_eq!(
        srv.get("/snapshot/list").json(),
        json!({"status":"ok","snapshots":[name]})
    );
    let r = srv.get("/snapshot/delete?snapshot=nope");
    assert_eq!(r.status, 404);
    assert_eq!(r.json()["status"], "error");
    assert_eq!(
        srv.get(&format!("/snapshot/delete?snapshot={name}")).json(),
        json!({"status":"ok"})
    );
    srv.get("/snapshot/create");
    assert_eq!(
        srv.get("/snapshot/delete_all").json(),
        json!({"status":"ok"})
    );
    assert_eq!(
        srv.get("/snapshot/list").json(),
        json!({"status":"ok","snapshots":[]})
    );

    let r = srv.post(
        "/api/v1/admin/tsdb/delete_series",
        format!("match[]={}", enc("demo_requests_total")).as_bytes(),
    );
    assert_eq!(r.status, 204, "{}", r.text());
    let left = srv
        .get("/api/v1/series?match[]=%7Bjob%3D%22demo%22%7D")
        .json();
    assert_eq!(
        left["data"],
        json!([{"__name__":"demo_temperature_celsius","instance":"a:9100","job":"demo"}])
    );
    assert_eq!(srv.get("/api/v1/admin/tsdb/delete_series").status, 400);
}

/// Every float kind, the staleness marker included, through import, export and import
/// again, compared as text (so bit for bit).
#[test]
fn export_then_import_is_bit_exact() {
    let lines = concat!(
        r#"{"metric":{"__name__":"floats","kind":"special"},"values":[0,-0,1.5,NaN,null,+Inf,-Inf,1e-310,1.7976931348623157e308,0.1],"timestamps":[1700000000000,1700000001000,1700000002000,1700000003000,1700000004000,1700000005000,1700000006000,1700000007000,1700000008000,1700000009000]}"#,
        "\n",
        r#"{"metric":{"__name__":"floats","kind":"plain"},"values":[3,2,1],"timestamps":[1700000000000,1700000015000,1700000030000]}"#,
        "\n"
    );
    let dir = tempdir();
    let srv = Server::start(&data_dir(&dir), &["-retentionPeriod=100y"]);
    assert_eq!(srv.post("/api/v1/import", lines.as_bytes()).status, 204);
    let export = srv.get("/api/v1/export?match[]=floats");
    assert_eq!(export.status, 200);
    let mut want: Vec<&str> = lines.lines().collect();
    want.sort();
    let mut got: Vec<String> = export.text().lines().map(str::to_owned).collect();
    got.sort();
    assert_eq!(got, want);

    let dir2 = tempdir();
    let other = Server::start(&data_dir(&dir2), &["-retentionPeriod=100y"]);
    assert_eq!(other.post("/api/v1/import", &export.body).status, 204);
    assert_eq!(
        other.get("/api/v1/export?match[]=floats").text(),
        export.text()
    );
}

#[test]
fn bad_input_is_named_by_line_and_the_rest_is_kept() {
    let dir = tempdir();
    let srv = Server::start(&data_dir(&dir), &["-retentionPeriod=100y"]);
    let cases: &[(&str, &str, &str, &[&str])] = &[
        (
            "/api/v1/import",
            "{\"metric\":{\"__name__\":\"j1\"},\"values\":[1],\"timestamps\":[1700000000000]}\n{\"metric\":{\"__name__\":\"jbad\"},\"values\":[oops],\"timestamps\":[1]}\n",
            "line 2: invalid value \"oops\"",
            &["j1"],
        ),
        (
            "/api/v1/import",
            "{\"metric\":{\"__name__\":\"j2\"},\"values\":[1,2],\"timestamps\":[1700000000000]}\n{\"metric\":{\"__name__\":\"j3\"},\"values\":[1],\"timestamps\":[1700000000000]}\n",
            "line 1: 2 values but 1 timestamps",
            &["j3"],
        ),
        ("/api/v1/import", "not json\n", "line 1: expected '{'", &[]),
        (
            "/api/v1/import/prometheus",
            "p1 1 1700000000000\np2{ 2\np3 3 1700000000000\n",
            "line 2",
            &["p1", "p3"],
        ),
    ];
    for (path, body, want, kept) in cases {
        let r = srv.post(path, body.as_bytes());
        assert_eq!(r.status, 400, "{path} {body:?}: {}", r.text());
        assert!(
            r.text().contains(want),
            "{path}: want {want:?} in {:?}",
            r.text()
        );
        for name in *kept {
            let got = srv.get(&format!("/api/v1/series?match[]={name}")).json();
            assert_eq!(
                got["data"].as_array().unwrap().len(),
                1,
                "{name} was not kept"
            );
        }
    }
    let r = srv
        .request(
            "POST",
            "/api/v1/import",
            &[("Content-Encoding", "gzip")],
            b"not gzip",
        )
        .unwrap();
    assert_eq!(r.status, 400, "{}", r.text());
    let r = srv.post("/api/v1/import/prometheus?extra_label=novalue", b"x 1\n");
    assert_eq!(r.status, 400);
    let r = srv.get("/api/v1/series?match[]=%7B");
    assert_eq!(r.status, 400);
    assert!(r.text().contains("match[]"), "{}", r.text());
    assert_eq!(srv.get("/health").status, 200, "server must keep serving");
}

#[test]
fn basic_auth_guards_everything_but_health() {
    let dir = tempdir();
    let srv = Server::start(
        &data_dir(&dir),
        &["-httpAuth.username=admin", "-httpAuth.password=s3cret"],
    );
    assert_eq!(srv.get("/health").status, 200);
    for path in ["/api/v1/labels", "/metrics", "/snapshot/list", "/-/healthy"] {
        let r = srv.get(path);
        assert_eq!(r.status, 401, "{path}");
        assert_eq!(
            r.header("www-authenticate"),
            Some("Basic realm=\"Restricted\"")
        );
    }
    // admin:s3cret
    let ok = srv
        .request(
            "GET",
            "/api/v1/labels",
            &[("Authorization", "Basic YWRtaW46czNjcmV0")],
            b"",
        )
        .unwrap();
    assert_eq!(ok.status, 200);
    let bad = srv
        .request(
            "GET",
            "/api/v1/labels",
            &[("Authorization", "Basic YWRtaW46d3Jvbmc=")],
            b"",
        )
        .unwrap();
    assert_eq!(bad.status, 401);
}

#[test]
fn graceful_shutdown_keeps_everything() {
    let dir = tempdir();
    let data = data_dir(&dir);
    let srv = Server::start(&data, &[]);
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as i64;
    let mut body = String::new();
    for i in 0..500 {
        body.push_str(&format!(
            "shutdown_test{{i=\"{}\"}} {i} {}\n",
            i % 10,
            now - 1000 * i
        ));
    }
    assert_eq!(
        srv.post("/api/v1/import/prometheus", body.as_bytes())
            .status,
        204
    );
    let status = srv.terminate();
    assert!(status.success(), "exit status {status:?}");

    let srv = Server::start(&data, &[]);
    let export = srv.get("/api/v1/export?match[]=shutdown_test");
    let rows: usize = export
        .text()
        .lines()
        .map(|l| {
            serde_json::from_str::<Value>(l).unwrap()["values"]
                .as_array()
                .unwrap()
                .len()
        })
        .sum();
    assert_eq!(rows, 500);
}

#[test]
fn flags_help_version_and_errors() {
    let bin = env!("CARGO_BIN_EXE_gnomon");
    let out = Command::new(bin).arg("-help").output().unwrap();
    assert!(out.status.success());
    let help = String::from_utf8_lossy(&out.stderr);
    for want in [
        "-storageDataPath string\n    \tPath to storage data (default \"gnomon-data\")",
        "-httpListenAddr string\n    \tTCP address to listen for http connections (default \":8428\")",
        "-retentionPeriod value",
        "-dedup.minScrapeInterval duration",
        "-memory.allowedPercent float",
        "-search.disableCache\n",
        "-httpAuth.username string",
        "-httpAuth.password string",
        "-tls\n",
        "-tlsCertFile string",
        "-tlsKeyFile string",
    ] {
        assert!(help.contains(want), "-help lacks {want:?}:\n{help}");
    }
    let out = Command::new(bin).arg("--version").output().unwrap();
    assert!(out.status.success());
    assert!(String::from_utf8_lossy(&out.stdout).starts_with("gnomon-v"));
    let out = Command::new(bin).arg("-noSuchFlag=1").output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("flag provided but not defined: -noSuchFlag")
    );
    let out = Command::new(bin)
        .arg("-retentionPeriod=1x")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
}
