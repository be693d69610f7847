//! Label-index selection: matchers selecting 1 / 100 / 10k series out of 100k
//! node_exporter-like series, per operator, on a `MemIndex` and on an `IndexFile`.
//!
//! Series `i` has `__name__="node_m{i % 100}"`, `instance="host-{i / 100}"` (1000 hosts of
//! 100 series), `dc="dc{(i / 100) % 10}"` (10k series each) and `job="node"`.

use std::hint::black_box;

use criterion::{BenchmarkId, Criterion, criterion_group, criterion_main};
use gnomon_tsdb_core::index::{self, IndexFile, IndexSource, MemIndex};
use gnomon_tsdb_core::model::{Labels, MatchOp, Matcher};

const SERIES: u32 = 100_000;

fn build() -> MemIndex {
    let mut m = MemIndex::new();
    for i in 0..SERIES {
        let labels = Labels::from_pairs(&[
            ("__name__", format!("node_m{:02}", i % 100)),
            ("instance", format!("host-{:04}", i / 100)),
            ("dc", format!("dc{}", (i / 100) % 10)),
            ("job", "node".to_owned()),
        ]);
        m.add_series(i, &labels);
    }
    m
}

fn m(name: &str, op: &str, value: &str) -> Matcher {
    let op = match op {
        "=" => MatchOp::Equal,
        "!=" => MatchOp::NotEqual,
        "=~" => MatchOp::RegexMatch,
        _ => MatchOp::RegexNoMatch,
    };
    Matcher::new(op, name, value).expect("bench matchers compile")
}

/// (operator, expected series, matchers).
fn cases() -> Vec<(&'static str, u64, Vec<Matcher>)> {
    let name = m("__name__", "=", "node_m07");
    vec![
        ("eq", 1, vec![name.clone(), m("instance", "=", "host-0042")]),
        ("eq", 100, vec![m("instance", "=", "host-0042")]),
        ("eq", 10_000, vec![m("dc", "=", "dc3")]),
        (
            "set",
            1,
            vec![name.clone(), m("instance", "=~", "host-0042|nohost|other")],
        ),
        (
            "set",
            100,
            vec![m("instance", "=~", "host-0042|nohost|other")],
        ),
        ("set", 10_000, vec![m("dc", "=~", "dc3|dcx|dcy")]),
        (
            "prefix",
            1,
            vec![name.clone(), m("instance", "=~", "host-0042.*")],
        ),
        ("prefix", 100, vec![m("instance", "=~", "host-0042.*")]),
        ("prefix", 10_000, vec![m("instance", "=~", "host-01.*")]),
        (
            "ne",
            1,
            vec![
                name.clone(),
                m("instance", "=", "host-0042"),
                m("job", "!=", "x"),
            ],
        ),
        (
            "ne",
            100,
            vec![m("instance", "=", "host-0042"), m("dc", "!=", "dc9")],
        ),
        (
            "ne",
            9_900,
            vec![m("dc", "=", "dc3"), m("__name__", "!=", "node_m07")],
        ),
        ("regex", 1, vec![name, m("instance", "=~", "host-004[2]+")]),
        ("regex", 100, vec![m("instance", "=~", "host-004[2]+")]),
        ("regex", 10_000, vec![m("instance", "=~", "host-01[0-9]+")]),
    ]
}

fn bench_select(c: &mut Criterion) {
    let mem = build();
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("bench.idx");
    let bytes = index::write_index(&path, &[&mem], None).expect("write");
    let file = IndexFile::open(&path).expect("open");
    eprintln!(
        "index file: {bytes} bytes for {SERIES} series; MemIndex ~{} bytes",
        mem.memory_bytes()
    );
    let sources: [(&str, &dyn IndexSource); 2] = [("mem", &mem), ("file", &file)];
    let mut g = c.benchmark_group("index_select");
    for (op, n, matchers) in cases() {
        for (kind, src) in sources {
            let got = index::select(&[src], &matchers, None);
            assert_eq!(got.len(), n, "{op} {kind} {matchers:?}");
            g.bench_with_input(
                BenchmarkId::new(format!("{op}/{kind}"), n),
                &matchers,
                |b, ms| b.iter(|| index::select(&[src], black_box(ms), None)),
            );
        }
    }
    g.finish();
}

fn bench_write_open(c: &mut Criterion) {
    let mem = build();
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("w.idx");
    let mut g = c.benchmark_group("index_file");
    g.sample_size(10);
    g.bench_function("write_100k", |b| {
        b.iter(|| index::write_index(&path, &[&mem], None).expect("write"))
    });
    g.bench_function("open_100k", |b| {
        b.iter(|| IndexFile::open(&path).expect("open"))
    });
    g.finish();
}

criterion_group!(benches, bench_select, bench_write_open);
criterion_main!(benches);
