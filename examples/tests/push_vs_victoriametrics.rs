//! The same pushes sent to a real VictoriaMetrics (Debian `victoria-metrics`) and to
//! `gnomon`: every protocol's documented examples, mixed with malformed lines, must be
//! stored under the same names, labels, values and timestamps by both (compared through
//! `/api/v1/export`). Where the two differ on purpose, the input is left out and the
//! difference is written here:
//!
//! - a non-numeric Influx string field: VictoriaMetrics stores 0, gnomon skips it;
//! - malformed lines: both store the valid lines, VictoriaMetrics answers 204 and gnomon
//!   400 naming the bad lines (checked in `push_interop.rs` and the router tests).

mod common;

use std::collections::BTreeSet;
use std::io::Write;
use std::net::{TcpListener, TcpStream};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use common::{Server, data_dir, tempdir};
use gnomon_scrape::push::remote_write::encode;
use gnomon_tsdb_core::model::{Labels, Sample};

const VM: &str = "/usr/bin/victoria-metrics";

struct Vm {
    child: Child,
    http: String,
    graphite: String,
    opentsdb: String,
    opentsdb_http: String,
    log: std::path::PathBuf,
}

impl Drop for Vm {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn free_addr() -> String {
    let l = TcpListener::bind("127.0.0.1:0").expect("bind");
    format!("127.0.0.1:{}", l.local_addr().unwrap().port())
}

fn start_vm(dir: &Path) -> Vm {
    assert!(
        Path::new(VM).exists(),
        "{VM} is missing: install the Debian package `victoria-metrics`"
    );
    let (http, graphite, opentsdb, opentsdb_http) =
        (free_addr(), free_addr(), free_addr(), free_addr());
    let log = dir.join("vm.log");
    let out = std::fs::File::create(&log).unwrap();
    let child = Command::new(VM)
        .arg(format!("-storageDataPath={}", dir.join("vmdata").display()))
        .arg(format!("-httpListenAddr={http}"))
        .arg(format!("-graphiteListenAddr={graphite}"))
        .arg(format!("-opentsdbListenAddr={opentsdb}"))
        .arg(format!("-opentsdbHTTPListenAddr={opentsdb_http}"))
        .stdin(Stdio::null())
        .stdout(out.try_clone().unwrap())
        .stderr(out)
        .spawn()
        .expect("start victoria-metrics");
    let vm = Vm {
        child,
        http,
        graphite,
        opentsdb,
        opentsdb_http,
        log,
    };
    let deadline = Instant::now() + Duration::from_secs(30);
    while !common::request(&vm.http, "GET", "/health", &[], b"").is_ok_and(|r| r.status == 200) {
        assert!(
            Instant::now() < deadline,
            "victoria-metrics did not start:\n{}",
            std::fs::read_to_string(&vm.log).unwrap_or_default()
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    vm
}

fn send_tcp(addr: &str, data: &[u8]) {
    let mut c = TcpStream::connect(addr).expect("connect");
    c.write_all(data).expect("write");
}

/// `(metric, values, timestamps)` of every exported line, as canonical JSON text.
fn export(addr: &str) -> BTreeSet<String> {
    let r = common::request(
        addr,
        "GET",
        "/api/v1/export?match[]=%7B__name__%3D~%22.%2B%22%7D",
        &[],
        b"",
    )
    .expect("export");
    assert_eq!(r.status, 200, "{}", r.text());
    r.text()
        .lines()
        .map(|l| {
            let v: serde_json::Value = serde_json::from_str(l).expect("json line");
            // serde_json's maps are sorted, so the text is canonical.
            serde_json::json!([v["metric"], v["values"], v["timestamps"]]).to_string()
        })
        .collect()
}

#[test]
fn documented_examples_are_stored_as_victoriametrics_stores_them() {
    let dir = tempdir();
    let vm = start_vm(dir.path());
    let gnomon = Server::start(
        &data_dir(&dir),
        &[
            "-graphiteListenAddr=127.0.0.1:0",
            "-opentsdbListenAddr=127.0.0.1:0",
        ],
    );
    let log = |name: &str| {
        let needle = format!("{name} listener on tcp://");
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            let text = gnomon.log_text();
            if let Some(at) = text.find(&needle) {
                return text[at + needle.len()..]
                    .split_whitespace()
                    .next()
                    .unwrap()
                    .to_owned();
            }
            assert!(Instant::now() < deadline, "no {needle}:\n{text}");
            std::thread::sleep(Duration::from_millis(20));
        }
    };
    let (g_graphite, g_opentsdb) = (log("graphite"), log("opentsdb"));
    // Recent timestamps: VictoriaMetrics drops rows outside its one-month retention.
    let s = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs()
        - 60;
    let (ms, ns) = (s * 1000, s * 1_000_000_000);

    let influx: Vec<(&str, String)> = vec![
        (
            "/write?db=mydb",
            format!(
                "measurement,tag1=value1,tag2=value2 field1=123,field2=1.23,n=\"12\",b=true,f=F,u=5u,i=-3i {ns}\nbad line here\n"
            ),
        ),
        (
            "/write?precision=ms",
            format!("cpu,host=a value=1 {ms}\ncpu2 x=1,y {ms}\n"),
        ),
        (
            "/influx/api/v2/write?precision=s&bucket=bk&org=o",
            format!("single value=2 {s}\n"),
        ),
        (
            "/write?precision=s&db=qdb",
            format!("withdb,db=tagdb v=2 {s}\n"),
        ),
        (
            "/write?precision=s",
            format!("esc\\ m\\,x,t\\ k=v\\=a\\,b f\\ 1=3 {s}\n"),
        ),
        (
            "/influx/write?precision=s&extra_label=e=1",
            format!("withextra f=7 {s}\n"),
        ),
    ];
    let graphite = format!("foo.bar.baz;tag1=value1;tag2=value2 123 {s}\nbad\nfoo.spc  3   {s}\n");
    let opentsdb = format!("put sys.cpu.nice {s} 18 host=web01 dc=lga\nput bad\n");
    let opentsdb_http = format!(
        r#"[{{"metric": "x.y.z", "value": 45.34, "timestamp": {s}, "tags": {{"t1": "v1", "t2": "v2"}}}},{{"metric":"a.b","value":1,"timestamp":{ms},"tags":{{"t":"v"}}}}]"#
    );
    let csv = format!("GOOG,1.23,4.56,NYSE,{s}\nMSFT,3.21,1.67,NASDAQ,{s}\n");
    let csv_uri = "/api/v1/import/csv?format=2:metric:ask,3:metric:bid,1:label:ticker,4:label:market,5:time:unix_s";
    let rw = snap::raw::Encoder::new()
        .compress_vec(&encode(&[
            (
                Labels::from_pairs(&[("__name__", "rw_metric"), ("job", "j"), ("instance", "i:1")]),
                vec![
                    Sample::new(ms as i64, 1.5),
                    Sample::new(ms as i64 + 1000, 2.5),
                ],
            ),
            (
                Labels::from_pairs(&[("__name__", "rw_other"), ("a", "b")]),
                vec![Sample::new(ms as i64, -1.0)],
            ),
        ]))
        .unwrap();

    for (path, body) in &influx {
        for addr in [&vm.http, &gnomon.addr] {
            let r = common::request(addr, "POST", path, &[], body.as_bytes()).unwrap();
            assert!(
                r.status == 204 || r.status == 400,
                "{addr}{path}: {}",
                r.text()
            );
        }
    }
    for addr in [&vm.http, &gnomon.addr] {
        let r = common::request(addr, "POST", csv_uri, &[], csv.as_bytes()).unwrap();
        assert_eq!(r.status, 204, "{addr}: {}", r.text());
        let r = common::request(
            addr,
            "POST",
            "/api/v1/write",
            &[
                ("Content-Encoding", "snappy"),
                ("Content-Type", "application/x-protobuf"),
            ],
            &rw,
        )
        .unwrap();
        assert_eq!(r.status, 204, "{addr}: {}", r.text());
    }
    let r = common::request(
        &vm.opentsdb_http,
        "POST",
        "/api/put",
        &[],
        opentsdb_http.as_bytes(),
    )
    .unwrap();
    assert_eq!(r.status, 204, "{}", r.text());
    let r = gnomon.post("/api/put", opentsdb_http.as_bytes());
    assert_eq!(r.status, 204, "{}", r.text());
    for (addr, data) in [
        (&vm.graphite, graphite.as_bytes()),
        (&g_graphite, graphite.as_bytes()),
        (&vm.opentsdb, opentsdb.as_bytes()),
        (&g_opentsdb, opentsdb.as_bytes()),
    ] {
        send_tcp(addr, data);
    }

    // VictoriaMetrics buffers pushed rows for a few seconds: poll until both stores hold
    // the same set, or time out showing the difference.
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let _ = common::request(&vm.http, "GET", "/internal/force_flush", &[], b"");
        let (want, got) = (export(&vm.http), export(&gnomon.addr));
        if want == got && want.len() == 23 {
            for needle in [
                r#""__name__":"measurement_field1","db":"mydb","tag1":"value1","tag2":"value2""#,
                r#""__name__":"esc m,x_f 1","t k":"v=a,b""#,
                r#""__name__":"withdb_v","db":"tagdb""#,
                r#""__name__":"foo.bar.baz","tag1":"value1","tag2":"value2""#,
                r#""__name__":"bid","market":"NASDAQ","ticker":"MSFT""#,
                r#""__name__":"rw_metric","instance":"i:1","job":"j"},[1.5,2.5]"#,
            ] {
                assert!(
                    want.iter().any(|l| l.contains(needle)),
                    "{needle} in {want:#?}"
                );
            }
            return;
        }
        if Instant::now() > deadline {
            let only_vm: Vec<_> = want.difference(&got).collect();
            let only_gnomon: Vec<_> = got.difference(&want).collect();
            panic!(
                "stores differ ({} vs {} series)\nonly in VictoriaMetrics: {only_vm:#?}\nonly in gnomon: {only_gnomon:#?}\nvm log:\n{}",
                want.len(),
                got.len(),
                std::fs::read_to_string(&vm.log).unwrap_or_default()
            );
        }
        std::thread::sleep(Duration::from_millis(500));
    }
}
