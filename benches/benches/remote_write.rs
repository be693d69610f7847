//! The remote-write client of `gnomon-agent`, in samples per second, on one
//! node_exporter scrape (`shared/bench/node_exporter_template.prom`, ~900 samples) per
//! push:
//!
//! - `push/plain`: [`RemoteWriter::push`] with no rules: protobuf encoding into the
//!   pending block, and every ~11 pushes (10,000 samples, vmagent's
//!   `-remoteWrite.maxRowsPerBlock`) snappy compression and a write into the on-disk
//!   queue;
//! - `push/relabel`: the same with what a typical agent runs: one `-remoteWrite.label`,
//!   a global rule set (drop `go_gc_.*`, `labelmap`) and a per-URL rule
//!   (`replace` of `instance`);
//! - `end_to_end/relabel`: pushes of 11 scrapes (one full block) until the destination
//!   (an in-process HTTP server answering 204, on 127.0.0.1) acknowledged every block:
//!   queue read, HTTP request and acknowledgement included.
//!
//! Senders deliver in the background during `push/*` too (as in the agent), so the
//! queue stays short.
//!
//! `cargo bench -p gnomon-benches --bench remote_write`

use gnomon_benches::node_exporter_scrape;
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use gnomon_relabel::{RelabelConfigs, RelabelOptions, Relabeler, compile};
use gnomon_scrape::remote::{RemoteWriteOptions, RemoteWriter, SampleBatch, UrlOptions};
use gnomon_scrape::textparse::{Entry, Format, Parser};
use gnomon_tsdb_core::model::{Label, Sample};

fn scrape_batch() -> SampleBatch {
    let text = node_exporter_scrape();
    let mut batch = SampleBatch::new();
    for e in Parser::new(&text, Format::PrometheusText) {
        if let Entry::Sample(s) = e.expect("valid input") {
            let labels = s
                .labels()
                .builder()
                .set("job", "node")
                .set("instance", "host-0001:9100")
                .build();
            batch.push(&labels, Sample::new(1_700_000_000_000, s.value));
        }
    }
    batch
}

fn rules(yaml: &str) -> Arc<Relabeler> {
    let c = RelabelConfigs::from_yaml(yaml).expect("rules");
    Arc::new(compile(c.rules(), &RelabelOptions::victoriametrics()).expect("compile"))
}

/// A destination that accepts everything.
async fn receiver() -> String {
    let app = axum::Router::new().route(
        "/api/v1/write",
        axum::routing::post(|_body: axum::body::Bytes| async {
            axum::http::StatusCode::NO_CONTENT
        }),
    );
    let l = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let url = format!("http://{}/api/v1/write", l.local_addr().expect("addr"));
    tokio::spawn(async move { axum::serve(l, app).await });
    url
}

fn writer(rt: &tokio::runtime::Runtime, tmp: &Path, with_rules: bool) -> Arc<RemoteWriter> {
    rt.block_on(async {
        let mut url = UrlOptions::new(receiver().await);
        let mut o = RemoteWriteOptions {
            tmp_data_path: tmp.to_path_buf(),
            queues: 2,
            ..RemoteWriteOptions::default()
        };
        if with_rules {
            o.extra_labels = vec![Label::new("dc", "eu-west-1")];
            o.relabel = Some(rules(
                "- action: drop\n  source_labels: [__name__]\n  regex: go_gc_.*\n- action: labelmap\n  regex: ^(instance)$\n  replacement: host_${1}\n",
            ));
            url.relabel = Some(rules(
                "- source_labels: [instance]\n  regex: (.*):\\d+\n  target_label: instance\n",
            ));
        }
        o.urls = vec![url];
        RemoteWriter::start(o).expect("start")
    })
}

fn bench_remote_write(c: &mut Criterion) {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    let batch = scrape_batch();
    let n = batch.len() as u64;
    let mut g = c.benchmark_group("remote_write");
    g.throughput(Throughput::Elements(n));
    for (name, with_rules) in [("plain", false), ("relabel", true)] {
        let tmp = tempfile::tempdir().expect("tmp");
        let w = writer(&rt, tmp.path(), with_rules);
        g.bench_function(BenchmarkId::new("push", name), |b| {
            b.iter(|| w.push(&batch).expect("push"))
        });
        rt.block_on(w.stop()).expect("stop");
    }
    let tmp = tempfile::tempdir().expect("tmp");
    let w = writer(&rt, tmp.path(), true);
    const SCRAPES: u64 = 11;
    g.throughput(Throughput::Elements(n * SCRAPES));
    g.bench_function(BenchmarkId::new("end_to_end", "relabel"), |b| {
        b.iter_custom(|iters| {
            let start = Instant::now();
            for _ in 0..iters {
                for _ in 0..SCRAPES {
                    w.push(&batch).expect("push");
                }
                w.flush().expect("flush");
                while w.destinations()[0].queue.pending_blocks > 0 {
                    std::thread::sleep(Duration::from_micros(50));
                }
            }
            start.elapsed()
        })
    });
    rt.block_on(w.stop()).expect("stop");
    g.finish();
}

criterion_group!(benches, bench_remote_write);
criterion_main!(benches);
