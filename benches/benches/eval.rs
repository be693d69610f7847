//! PromQL evaluation by cardinality (1 / 100 / 10k series), on tsdb-core `Storage` in a
//! temp dir: `rate` over a 1 h range query (step 60 s), `sum by` over that `rate`
//! (pushed down into the streamed selector), and an instant selector.
//!
//! `cargo bench -p gnomon-benches --bench eval -- --warm-up-time 1 --measurement-time 3`

use std::time::Duration;

use criterion::{BenchmarkId, Criterion, criterion_group, criterion_main};
use gnomon_promql::engine::{Engine, Value};
use gnomon_tsdb_core::model::{Appender, Labels, Sample};
use gnomon_tsdb_core::{Options, Storage};

/// 2024-01-01T00:00:00Z.
const T0: i64 = 1_704_067_200_000;
/// One hour of samples every 15 s.
const POINTS: i64 = 240;
const INTERVAL: i64 = 15_000;

/// A storage holding `n` counters `http_requests_total{instance, path}` (10 paths).
fn storage(dir: &std::path::Path, n: usize) -> Storage {
    let s = Storage::open(
        dir,
        Options {
            retention: Duration::from_secs(100 * 365 * 86_400),
            ..Options::default()
        },
    )
    .unwrap();
    let labels: Vec<Labels> = (0..n)
        .map(|i| {
            Labels::from_pairs(&[
                ("__name__", "http_requests_total".to_string()),
                ("instance", format!("host-{:05}:9100", i / 10)),
                ("path", format!("/api/{}", i % 10)),
            ])
        })
        .collect();
    let mut app = s.appender();
    for p in 0..POINTS {
        for (i, l) in labels.iter().enumerate() {
            let v = (p * (1 + i as i64 % 7)) as f64;
            app.append(l, Sample::new(T0 + p * INTERVAL, v)).unwrap();
        }
        app.commit().unwrap();
    }
    s.force_flush().unwrap();
    s
}

fn eval(c: &mut Criterion) {
    let engine = Engine::default();
    let end = T0 + (POINTS - 1) * INTERVAL;
    let queries = [
        ("rate_range", "rate(http_requests_total[5m])", true),
        (
            "sum_by_rate_range",
            "sum by (path) (rate(http_requests_total[5m]))",
            true,
        ),
        ("selector_instant", "http_requests_total", false),
    ];
    let mut g = c.benchmark_group("eval");
    g.sample_size(10);
    for n in [1usize, 100, 10_000] {
        let dir = tempfile::tempdir().unwrap();
        let s = storage(dir.path(), n);
        for (name, q, range) in queries {
            let expr = gnomon_promql::parse(q).unwrap();
            g.bench_with_input(BenchmarkId::new(name, n), &n, |b, _| {
                b.iter(|| {
                    let v = if range {
                        engine.range(&s, &expr, T0, end, 60_000).unwrap()
                    } else {
                        engine.instant(&s, &expr, end).unwrap()
                    };
                    match v {
                        Value::Matrix(m) => assert!(!m.is_empty()),
                        Value::Vector(v) => assert!(!v.is_empty()),
                        other => panic!("{other:?}"),
                    }
                });
            });
        }
    }
    g.finish();
}

criterion_group!(benches, eval);
criterion_main!(benches);
