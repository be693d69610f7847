//! Router-level tests of the push endpoints over an in-memory store: the examples of
//! VictoriaMetrics' documentation stored under the names and labels VictoriaMetrics gives
//! them, a bad-input table per endpoint (valid lines kept, bad ones named, undecodable
//! bodies refused with earlier data intact), relabeling, counters and `/federate`.

use std::sync::Arc;
use std::sync::atomic::Ordering;

use axum::body::Body;
use axum::http::{Request, StatusCode};
use gnomon_relabel::{RelabelConfigs, RelabelOptions, compile};
use gnomon_tsdb_core::model::{Labels, Sample};

use super::tests::{MemStore, app, call, factory, get, post};
use super::*;
use crate::push::remote_write;

fn lbl(pairs: &[(&str, &str)]) -> Labels {
    Labels::from_pairs(pairs)
}

/// Stored samples of `labels` as `(t, v)`.
fn stored(store: &MemStore, labels: &Labels) -> Vec<(i64, f64)> {
    let d = store.0.lock().unwrap();
    d.get(labels)
        .map(|m| m.iter().map(|(t, v)| (*t, f64::from_bits(*v))).collect())
        .unwrap_or_default()
}

fn names(store: &MemStore) -> Vec<String> {
    let d = store.0.lock().unwrap();
    d.keys().map(ToString::to_string).collect()
}

fn snappy(raw: &[u8]) -> Vec<u8> {
    snap::raw::Encoder::new().compress_vec(raw).unwrap()
}

fn write_request(series: &[(Labels, Vec<Sample>)]) -> Vec<u8> {
    snappy(&remote_write::encode(series))
}

fn rw_post(uri: &str, body: Vec<u8>) -> Request<Body> {
    Request::post(uri)
        .header("content-encoding", "snappy")
        .header("content-type", "application/x-protobuf")
        .body(Body::from(body))
        .unwrap()
}

#[tokio::test]
async fn remote_write_stores_and_refuses_garbage_keeping_earlier_data() {
    let store = MemStore::default();
    let (app, counters) = app(&store, IngestOptions::default());
    let cpu = lbl(&[
        ("__name__", "node_cpu_seconds_total"),
        ("cpu", "0"),
        ("instance", "localhost:9100"),
        ("job", "node"),
    ]);
    let body = write_request(&[
        (
            cpu.clone(),
            vec![Sample::new(1000, 1.5), Sample::new(2000, 2.5)],
        ),
        (lbl(&[("__name__", "up")]), vec![Sample::new(1000, 1.0)]),
    ]);
    let (status, _, text) = call(&app, rw_post("/api/v1/write", body.clone())).await;
    assert_eq!(status, StatusCode::NO_CONTENT, "{text}");
    assert_eq!(stored(&store, &cpu), vec![(1000, 1.5), (2000, 2.5)]);
    assert_eq!(counters.remote_write_rows.load(Ordering::Relaxed), 3);

    // Undecodable bodies: 400 with the reason; nothing of them stored.
    let mut truncated = remote_write::encode(&[(lbl(&[("__name__", "x")]), vec![])]);
    truncated.pop();
    let cases: Vec<(&str, Vec<u8>, StatusCode, &str)> = vec![
        (
            "not snappy",
            b"\x0a\x03abcdef".to_vec(),
            StatusCode::BAD_REQUEST,
            "cannot decompress snappy block",
        ),
        (
            "bad protobuf",
            snappy(b"\x0b\x01"),
            StatusCode::BAD_REQUEST,
            "invalid protobuf at byte 1",
        ),
        (
            "truncated protobuf",
            snappy(&truncated),
            StatusCode::BAD_REQUEST,
            "field runs past the end of its message",
        ),
        (
            "uncompressed protobuf",
            remote_write::encode(&[(lbl(&[("__name__", "x")]), vec![Sample::new(1, 1.0)])]),
            StatusCode::BAD_REQUEST,
            "cannot decode remote write request",
        ),
    ];
    for (what, body, want, msg) in cases {
        let (status, _, text) = call(&app, rw_post("/api/v1/write", body)).await;
        assert_eq!(status, want, "{what}: {text}");
        assert!(text.contains(msg), "{what}: {text}");
    }
    let req = Request::post("/api/v1/write")
        .header("content-encoding", "zstd")
        .body(Body::from(body.clone()))
        .unwrap();
    assert_eq!(call(&app, req).await.0, StatusCode::UNSUPPORTED_MEDIA_TYPE);
    // The server keeps serving; earlier data is intact.
    let (status, _, _) = call(&app, rw_post("/api/v1/write", body)).await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    assert_eq!(stored(&store, &cpu), vec![(1000, 1.5), (2000, 2.5)]);
    assert_eq!(store.0.lock().unwrap().len(), 2);
    assert_eq!(counters.remote_write_rows.load(Ordering::Relaxed), 6);
}

#[tokio::test]
async fn remote_write_limits_extra_labels_and_unlabelled_series() {
    let store = MemStore::default();
    let (app, _) = app(
        &store,
        IngestOptions {
            max_body_bytes: 200,
            ..IngestOptions::default()
        },
    );
    let body = write_request(&[
        (lbl(&[("__name__", "a")]), vec![Sample::new(1, 1.0)]),
        (Labels::empty(), vec![Sample::new(1, 1.0)]),
    ]);
    let (status, _, text) = call(
        &app,
        rw_post("/api/v1/write?extra_label=env=prod&extra_label=dc=x", body),
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(text.contains("line 2: time series has no labels"), "{text}");
    assert_eq!(
        stored(
            &store,
            &lbl(&[("__name__", "a"), ("dc", "x"), ("env", "prod")])
        ),
        vec![(1, 1.0)]
    );
    // Compressed body over the limit, and a small body that decompresses past it.
    let (status, _, text) = call(&app, rw_post("/api/v1/write", vec![0; 300])).await;
    assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE, "{text}");
    assert!(text.contains("-maxInsertRequestSize"), "{text}");
    let big = write_request(&[(lbl(&[("__name__", &"n".repeat(400))]), vec![])]);
    assert!(big.len() < 200);
    let (status, _, text) = call(&app, rw_post("/api/v1/write", big)).await;
    assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE, "{text}");
}

#[tokio::test]
async fn influx_documented_example_as_victoriametrics_stores_it() {
    let store = MemStore::default();
    let (app, counters) = app(&store, IngestOptions::default());
    let body = r#"measurement,tag1=value1,tag2=value2 field1=123,field2=1.23 1695000000000000000"#;
    let (status, _, text) = call(&app, post("/write?db=mydb", body)).await;
    assert_eq!(status, StatusCode::NO_CONTENT, "{text}");
    let base = [("db", "mydb"), ("tag1", "value1"), ("tag2", "value2")];
    let with = |name: &'static str| {
        let mut p = base.to_vec();
        p.push(("__name__", name));
        lbl(&p)
    };
    assert_eq!(
        stored(&store, &with("measurement_field1")),
        vec![(1_695_000_000_000, 123.0)]
    );
    assert_eq!(
        stored(&store, &with("measurement_field2")),
        vec![(1_695_000_000_000, 1.23)]
    );
    assert_eq!(counters.influx_rows.load(Ordering::Relaxed), 2);
    // A db tag wins over the argument; v2 endpoint with precision; extra labels.
    let (status, _, _) = call(
        &app,
        post(
            "/influx/api/v2/write?precision=s&db=qdb&extra_label=e=1",
            "withdb,db=tagdb v=2 1695000000\nsingle value=3 1695000000",
        ),
    )
    .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    assert_eq!(
        stored(
            &store,
            &lbl(&[("__name__", "withdb_v"), ("db", "tagdb"), ("e", "1")])
        ),
        vec![(1_695_000_000_000, 2.0)]
    );
    assert_eq!(
        stored(
            &store,
            &lbl(&[("__name__", "single_value"), ("db", "qdb"), ("e", "1")])
        ),
        vec![(1_695_000_000_000, 3.0)]
    );
}

#[tokio::test]
async fn influx_naming_options_and_no_db_label() {
    let store = MemStore::default();
    let (app, _) = app(
        &store,
        IngestOptions {
            influx: InfluxOptions {
                naming: crate::push::influx::InfluxNaming {
                    separator: ".".into(),
                    skip_single_field: true,
                    skip_measurement: false,
                },
                db_label: String::new(),
                database_names: vec!["telegraf".into()],
            },
            ..IngestOptions::default()
        },
    );
    let (status, _, _) = call(
        &app,
        post(
            "/influx/write?db=x&precision=ms",
            "cpu usage=1 5\nmem a=1,b=2 5\n",
        ),
    )
    .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    assert_eq!(
        names(&store),
        vec![
            r#"{__name__="cpu"}"#,
            r#"{__name__="mem.a"}"#,
            r#"{__name__="mem.b"}"#
        ]
    );
    let (status, ct, text) = call(&app, get("/query?q=SHOW+DATABASES")).await;
    assert_eq!((status, ct.as_str()), (StatusCode::OK, "application/json"));
    assert_eq!(
        text,
        r#"{"results":[{"statement_id":0,"series":[{"name":"databases","columns":["name"],"values":[["telegraf"]]}]}]}"#
    );
}

#[tokio::test]
async fn influx_ping_health_and_query_stub() {
    let store = MemStore::default();
    let (app, _) = app(&store, IngestOptions::default());
    for path in ["/ping", "/influx/ping"] {
        let resp = tower::ServiceExt::oneshot(app.clone(), get(path))
            .await
            .unwrap();
        assert_eq!(resp.status(), StatusCode::NO_CONTENT);
        assert_eq!(resp.headers()["x-influxdb-version"], "1.8.0");
    }
    let (status, _, text) = call(&app, get("/influx/health")).await;
    assert_eq!(status, StatusCode::OK);
    assert!(text.contains(r#""status":"pass""#), "{text}");
    let (_, _, text) = call(&app, get("/influx/query?q=show%20databases")).await;
    assert!(text.contains(r#"[["_internal"]]"#), "{text}");
    let (status, _, text) = call(&app, get("/query?q=SELECT+1")).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(text.contains("only SHOW DATABASES"), "{text}");
}

/// One row per endpoint: a body mixing good and bad lines gets 400 naming the bad ones
/// (line numbers and reasons), while the good ones are stored.
#[tokio::test]
async fn bad_input_table_keeps_valid_lines() {
    struct Case {
        uri: &'static str,
        body: &'static str,
        stored: &'static [&'static str],
        errors: &'static [&'static str],
    }
    let cases = [
        Case {
            uri: "/write?precision=s",
            body: "ok1 v=1 1695000000\nbad line here\nok2 v=2i\ncpu2 x=1,y 1\nm v=abc\n",
            stored: &["ok1_v", "ok2_v"],
            errors: &[
                "3 malformed line(s) skipped; 2 row(s)",
                "line 2: missing '=' in \"line\" at byte 4",
                "line 4: missing '=' in \"y\" at byte 9",
                "line 5: invalid value for field \"v\": \"abc\" at byte 2",
            ],
        },
        Case {
            uri: "/write?precision=h",
            body: "ok v=1 1\nhuge v=1 9223372036854775807\n",
            stored: &["ok_v"],
            errors: &["line 2: timestamp 9223372036854775807 overflows in milliseconds"],
        },
        Case {
            uri: "/api/put",
            body: r#"[{"metric":"ok.a","value":1,"timestamp":1695000000},{"metric":"bad"},{"value":1},{"metric":"ok.b","value":"2"}]"#,
            stored: &["ok.a", "ok.b"],
            errors: &[
                "2 malformed line(s) skipped; 2 row(s)",
                "line 2: missing value",
                "line 3: missing metric",
            ],
        },
        Case {
            uri: "/api/v1/import/csv?format=1:label:t,2:metric:m,3:time:unix_s",
            body: "a,1,1695000000\nb,x,1695000000\nc,2\nd,3,1695000001\n",
            stored: &["m"],
            errors: &[
                "line 2: column 2: invalid value \"x\"",
                "line 3: missing column 3",
            ],
        },
    ];
    for c in cases {
        let store = MemStore::default();
        let (app, counters) = app(&store, IngestOptions::default());
        let (status, ct, text) = call(&app, post(c.uri, c.body)).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{}: {text}", c.uri);
        assert_eq!(ct, "text/plain; charset=utf-8");
        for e in c.errors {
            assert!(text.contains(e), "{}: want {e:?} in\n{text}", c.uri);
        }
        let got: Vec<String> = store
            .0
            .lock()
            .unwrap()
            .keys()
            .map(|l| l.get("__name__").unwrap().to_owned())
            .collect::<std::collections::BTreeSet<_>>()
            .into_iter()
            .collect();
        assert_eq!(got, c.stored, "{}", c.uri);
        assert!(counters.bad_lines.load(Ordering::Relaxed) >= 1);
    }
}

#[tokio::test]
async fn whole_body_errors() {
    let store = MemStore::default();
    let (app, _) = app(
        &store,
        IngestOptions {
            max_body_bytes: 64,
            ..IngestOptions::default()
        },
    );
    let cases: &[(&str, &str, StatusCode, &str)] = &[
        (
            "/write?precision=d",
            "m v=1",
            StatusCode::BAD_REQUEST,
            "unsupported precision",
        ),
        (
            "/write?extra_label=x",
            "m v=1",
            StatusCode::BAD_REQUEST,
            "cannot parse extra_label",
        ),
        (
            "/api/put",
            "{",
            StatusCode::BAD_REQUEST,
            "cannot parse OpenTSDB put body: invalid JSON",
        ),
        (
            "/api/put",
            "42",
            StatusCode::BAD_REQUEST,
            "want an object or an array",
        ),
        (
            "/api/v1/import/csv?format=1:gauge:x",
            "1",
            StatusCode::BAD_REQUEST,
            "cannot parse format: invalid format entry",
        ),
        (
            "/api/v1/import/csv",
            "1",
            StatusCode::BAD_REQUEST,
            "format has no metric column",
        ),
        (
            "/api/put",
            r#"[{"metric":"a","value":1},{"metric":"a","value":1},{"metric":"a","value":1}]"#,
            StatusCode::PAYLOAD_TOO_LARGE,
            "-maxInsertRequestSize",
        ),
    ];
    for (uri, body, want, msg) in cases {
        let (status, _, text) = call(&app, post(uri, *body)).await;
        assert_eq!(status, *want, "{uri}: {text}");
        assert!(text.contains(msg), "{uri}: {text}");
    }
    let long = format!("m v=1 {}", "1".repeat(100));
    let (status, _, _) = call(&app, post("/write", long)).await;
    assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE);
    assert!(store.0.lock().unwrap().is_empty());
}

#[tokio::test]
async fn opentsdb_http_and_csv_documented_examples() {
    let store = MemStore::default();
    let (app, counters) = app(&store, IngestOptions::default());
    let (status, _, text) = call(
        &app,
        post(
            "/opentsdb/api/put",
            r#"{"metric": "x.y.z", "value": 45.34, "timestamp": 1695000000, "tags": {"t1": "v1", "t2": "v2"}}"#,
        ),
    )
    .await;
    assert_eq!(status, StatusCode::NO_CONTENT, "{text}");
    assert_eq!(
        stored(
            &store,
            &lbl(&[("__name__", "x.y.z"), ("t1", "v1"), ("t2", "v2")])
        ),
        vec![(1_695_000_000_000, 45.34)]
    );
    assert_eq!(counters.opentsdb_http_rows.load(Ordering::Relaxed), 1);
    let (status, _, _) = call(
        &app,
        post(
            "/api/v1/import/csv?format=2:metric:ask,3:metric:bid,1:label:ticker,4:label:market",
            "GOOG,1.23,4.56,NYSE\nMSFT,3.21,1.67,NASDAQ\n",
        ),
    )
    .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let bid = lbl(&[
        ("__name__", "bid"),
        ("market", "NASDAQ"),
        ("ticker", "MSFT"),
    ]);
    let got = stored(&store, &bid);
    assert_eq!(got.len(), 1);
    assert_eq!(got[0].1, 1.67);
    assert_eq!(counters.csv_rows.load(Ordering::Relaxed), 4);
}

#[tokio::test]
async fn relabeling_applies_to_every_protocol() {
    let rules = RelabelConfigs::from_yaml(
        r#"
- action: drop
  source_labels: [__name__]
  regex: 'secret.*'
- target_label: env
  replacement: prod
"#,
    )
    .unwrap();
    let relabel = compile(rules.rules(), &RelabelOptions::victoriametrics()).unwrap();
    let store = MemStore::default();
    let (app, counters) = app(
        &store,
        IngestOptions {
            relabel: Some(Arc::new(relabel)),
            ..IngestOptions::default()
        },
    );
    let body = write_request(&[
        (lbl(&[("__name__", "keep_rw")]), vec![Sample::new(1, 1.0)]),
        (lbl(&[("__name__", "secret_rw")]), vec![Sample::new(1, 1.0)]),
    ]);
    assert_eq!(
        call(&app, rw_post("/api/v1/write", body)).await.0,
        StatusCode::NO_CONTENT
    );
    for (uri, body) in [
        ("/write?precision=ms", "keep v=1 1\nsecret v=1 1"),
        (
            "/api/v1/import/prometheus",
            "keep_prom 1 1\nsecret_prom 1 1",
        ),
        (
            "/api/put",
            r#"[{"metric":"keep_tsdb","value":1,"timestamp":1}]"#,
        ),
    ] {
        let (status, _, text) = call(&app, post(uri, body)).await;
        assert_eq!(status, StatusCode::NO_CONTENT, "{uri}: {text}");
    }
    assert_eq!(
        names(&store),
        vec![
            r#"{__name__="keep_prom", env="prod"}"#,
            r#"{__name__="keep_rw", env="prod"}"#,
            r#"{__name__="keep_tsdb", env="prod"}"#,
            r#"{__name__="keep_v", env="prod"}"#,
        ]
    );
    assert_eq!(counters.relabel_dropped.load(Ordering::Relaxed), 3);
}

#[test]
fn stream_ingest_graphite_and_opentsdb_lines() {
    let store = MemStore::default();
    let counters = Arc::new(IngestCounters::default());
    let s = StreamIngest::new(factory(&store), counters.clone(), IngestOptions::default());
    let r = s
        .ingest(
            StreamProtocol::Graphite,
            b"foo.bar.baz;tag1=value1;tag2=value2 123 1560277406.789\nbad\nfoo.neg 1 -1\n",
        )
        .unwrap();
    assert_eq!((r.rows, r.bad_lines), (2, 1));
    assert_eq!(
        r.errors[0].message,
        "missing value after the metric name at byte 3"
    );
    assert_eq!(
        stored(
            &store,
            &lbl(&[
                ("__name__", "foo.bar.baz"),
                ("tag1", "value1"),
                ("tag2", "value2")
            ])
        ),
        vec![(1_560_277_406_000, 123.0)]
    );
    let r = s
        .ingest(
            StreamProtocol::OpenTsdb,
            b"put sys.cpu.nice 1346846400 18 host=web01 dc=lga\r\nput bad\n",
        )
        .unwrap();
    assert_eq!((r.rows, r.bad_lines), (1, 1));
    assert_eq!(
        stored(
            &store,
            &lbl(&[
                ("__name__", "sys.cpu.nice"),
                ("dc", "lga"),
                ("host", "web01")
            ])
        ),
        vec![(1_346_846_400_000, 18.0)]
    );
    assert_eq!(counters.graphite_rows.load(Ordering::Relaxed), 2);
    assert_eq!(counters.opentsdb_rows.load(Ordering::Relaxed), 1);
    assert_eq!(counters.bad_lines.load(Ordering::Relaxed), 2);
}

#[tokio::test]
async fn federate_gives_the_newest_sample_within_the_lookback() {
    let store = MemStore::default();
    let (app, _) = app(&store, IngestOptions::default());
    let body = "up{job=\"a\"} 1 1000000\nup{job=\"a\"} 2 1060000\nup{job=\"old\"} 3 100000\nother 5 1060000\n";
    assert_eq!(
        call(&app, post("/api/v1/import/prometheus", body)).await.0,
        StatusCode::NO_CONTENT
    );
    let (status, ct, text) = call(
        &app,
        get("/federate?match[]=up&match[]=%7B__name__%3D%22other%22%7D&time=1070"),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(ct, "text/plain; version=0.0.4; charset=utf-8");
    assert_eq!(
        text,
        "# TYPE other untyped\nother 5 1060000\n# TYPE up untyped\nup{job=\"a\"} 2 1060000\n"
    );
    let (status, _, _) = call(&app, get("/federate")).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
}
