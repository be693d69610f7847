//! Storage engine benchmarks: ingest throughput through the appender, and select by
//! matchers at 1 / 100 / 10k matching series.
//!
//! `cargo bench -p gnomon-benches --bench storage`

use std::time::Duration;

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use gnomon_tsdb_core::model::{Appender, Labels, MatchOp, Matcher, Querier, Sample, TimeRange};
use gnomon_tsdb_core::{Options, Storage};

/// 2024-01-01T00:00:00Z.
const T0: i64 = 1_704_067_200_000;

fn opts() -> Options {
    Options {
        retention: Duration::from_secs(100 * 365 * 86_400),
        ..Options::default()
    }
}

/// node_exporter-like series: `hosts` instances × 100 metrics.
fn series(hosts: usize) -> Vec<(Vec<u8>, Labels)> {
    let mut out = Vec::new();
    for h in 0..hosts {
        for m in 0..100 {
            let inst = format!("host-{h:04}:9100");
            let name = format!("node_metric_{m:03}");
            let raw = format!(
                "{name}{{instance=\"{inst}\",job=\"node\",cpu=\"{}\"}}",
                m % 8
            );
            let l = Labels::from_pairs(&[
                ("__name__", name.as_str()),
                ("instance", inst.as_str()),
                ("job", "node"),
                ("cpu", &(m % 8).to_string()),
            ]);
            out.push((raw.into_bytes(), l));
        }
    }
    out
}

fn ingest(c: &mut Criterion) {
    let set = series(100); // 10k series
    let mut g = c.benchmark_group("ingest");
    g.sample_size(10);
    g.throughput(Throughput::Elements(set.len() as u64 * 10));
    g.bench_function("append_keyed+commit 10k series x 10 scrapes", |b| {
        let dir = tempfile::tempdir().unwrap();
        let s = Storage::open(dir.path(), opts()).unwrap();
        let mut round = 0i64;
        b.iter(|| {
            let mut app = s.appender();
            for _ in 0..10 {
                round += 1;
                let t = T0 + round * 15_000;
                for (raw, l) in &set {
                    app.append_keyed(raw, &mut || l.clone(), Sample::new(t, round as f64))
                        .unwrap();
                }
                app.commit().unwrap();
            }
        });
    });
    g.finish();
}

fn select(c: &mut Criterion) {
    let set = series(100);
    let dir = tempfile::tempdir().unwrap();
    let s = Storage::open(dir.path(), opts()).unwrap();
    let mut app = s.appender();
    for i in 0..120 {
        for (raw, l) in &set {
            app.append_keyed(
                raw,
                &mut || l.clone(),
                Sample::new(T0 + i * 15_000, i as f64),
            )
            .unwrap();
        }
        app.commit().unwrap();
    }
    s.force_merge("").unwrap();
    let range = TimeRange::new(T0, T0 + 3_600_000);
    let cases = [
        (
            "1",
            vec![
                Matcher::equal("__name__", "node_metric_007"),
                Matcher::equal("instance", "host-0003:9100"),
            ],
        ),
        ("100", vec![Matcher::equal("__name__", "node_metric_007")]),
        (
            "10k",
            vec![Matcher::new(MatchOp::RegexMatch, "__name__", "node_.*").unwrap()],
        ),
    ];
    let mut g = c.benchmark_group("select");
    g.sample_size(10);
    for (n, m) in &cases {
        g.bench_with_input(BenchmarkId::from_parameter(n), m, |b, m| {
            b.iter(|| {
                let mut samples = 0usize;
                for x in s.select(m, range).unwrap() {
                    samples += x.unwrap().samples.len();
                }
                samples
            })
        });
    }
    g.finish();
}

criterion_group!(benches, ingest, select);
criterion_main!(benches);
