//! The scrape loop's write step on one real node_exporter scrape
//! (`shared/bench/node_exporter_template.prom`, 1.5.0, ~500 samples): parse, label
//! through the per-loop series cache, metric relabeling, staleness bookkeeping, append.
//!
//! * `steady/null`: warm cache, an appender that drops rows (the scrape-side CPU);
//! * `steady/storage`: warm cache into the storage engine, commit included;
//! * `cold/null`: a fresh cache every time (a new target's first scrape).
//!
//! `cargo bench -p gnomon-benches --bench scrape`

use gnomon_benches::node_exporter_scrape;
use std::sync::Arc;
use std::time::Duration;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use gnomon_relabel::{RelabelConfigs, RelabelOptions, compile};
use gnomon_scrape::scrape::{LoopOptions, ScrapeWriter, SeriesCache};
use gnomon_scrape::textparse::Format;
use gnomon_tsdb_core::model::{Appender, Labels, Sample};
use gnomon_tsdb_core::{Options, Storage};

struct Null;

impl Appender for Null {
    fn append(&mut self, labels: &Labels, sample: Sample) -> gnomon_tsdb_core::Result<()> {
        std::hint::black_box((labels, sample));
        Ok(())
    }
    fn append_keyed(
        &mut self,
        key: &[u8],
        _labels: &mut dyn FnMut() -> Labels,
        sample: Sample,
    ) -> gnomon_tsdb_core::Result<()> {
        std::hint::black_box((key, sample));
        Ok(())
    }
    fn commit(&mut self) -> gnomon_tsdb_core::Result<()> {
        Ok(())
    }
}

fn opts() -> LoopOptions {
    let rules = RelabelConfigs::from_yaml(
        "- source_labels: [__name__]\n  regex: 'go_gc_.*'\n  action: drop\n",
    )
    .unwrap();
    LoopOptions {
        metric_relabel: Some(Arc::new(
            compile(rules.rules(), &RelabelOptions::prometheus()).unwrap(),
        )),
        ..LoopOptions::default()
    }
}

fn bench(c: &mut Criterion) {
    let body = node_exporter_scrape();
    let target = Labels::from_pairs(&[("instance", "10.0.0.1:9100"), ("job", "node")]);
    let opts = opts();
    let w = ScrapeWriter {
        target: &target,
        opts: &opts,
        key_prefix: 1,
    };
    let mut cache = SeriesCache::default();
    let counts = w
        .scrape(&body, Format::PrometheusText, 0, &mut cache, &mut Null)
        .unwrap();
    let mut g = c.benchmark_group("scrape_write");
    g.throughput(Throughput::Elements(counts.scraped as u64));
    let mut ts = 0;
    g.bench_function("steady/null", |b| {
        b.iter(|| {
            ts += 15_000;
            w.scrape(&body, Format::PrometheusText, ts, &mut cache, &mut Null)
                .unwrap()
        })
    });
    g.bench_function("cold/null", |b| {
        b.iter(|| {
            let mut fresh = SeriesCache::default();
            w.scrape(&body, Format::PrometheusText, 0, &mut fresh, &mut Null)
                .unwrap()
        })
    });
    let dir = tempfile::tempdir().unwrap();
    let storage = Storage::open(
        dir.path(),
        Options {
            retention: Duration::from_secs(100 * 365 * 86_400),
            ..Options::default()
        },
    )
    .unwrap();
    let mut cache = SeriesCache::default();
    let mut ts = 1_704_067_200_000;
    g.bench_function("steady/storage", |b| {
        b.iter(|| {
            ts += 15_000;
            let mut app = storage.appender();
            let c = w
                .scrape(&body, Format::PrometheusText, ts, &mut cache, &mut app)
                .unwrap();
            app.commit().unwrap();
            c
        })
    });
    g.finish();
    storage.close().unwrap();
}

criterion_group!(benches, bench);
criterion_main!(benches);
