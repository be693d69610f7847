//! Exposition parser throughput: Prometheus text and OpenMetrics files from
//! `shared/conformance/textparse` and `shared/bench`, iterating only (the scrape hot path
//! with a warm series cache) and iterating + `labels()` (every sample a cache miss).
//!
//! `cargo bench -p gnomon-benches --bench textparse`

use gnomon_benches::shared_dir;

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use gnomon_scrape::textparse::{Entry, Format, Parser};

/// Samples yielded; panics on a parse error (the inputs are valid).
fn iterate(input: &[u8], format: Format) -> usize {
    let mut n = 0;
    for entry in Parser::new(input, format) {
        if let Entry::Sample(s) = entry.expect("valid input") {
            n += 1;
            std::hint::black_box((s.series, s.value));
        }
    }
    n
}

fn iterate_with_labels(input: &[u8], format: Format) -> usize {
    let mut n = 0;
    for entry in Parser::new(input, format) {
        if let Entry::Sample(s) = entry.expect("valid input") {
            n += 1;
            std::hint::black_box(s.labels());
        }
    }
    n
}

fn bench_textparse(c: &mut Criterion) {
    let shared = shared_dir();
    let files = [
        (
            "alltypes.237mfs.prom",
            "conformance/textparse/alltypes.237mfs.prom.txt",
            Format::PrometheusText,
        ),
        (
            "node_exporter.prom",
            "bench/node_exporter_template.prom",
            Format::PrometheusText,
        ),
        (
            "alltypes.5mfs.om",
            "conformance/textparse/alltypes.5mfs.om.txt",
            Format::OpenMetrics,
        ),
        (
            "1histogram.om",
            "conformance/textparse/1histogram.om.txt",
            Format::OpenMetrics,
        ),
    ];
    let mut group = c.benchmark_group("textparse");
    for (name, path, format) in files {
        let input = std::fs::read(shared.join(path)).expect("bench input");
        let samples = iterate(&input, format);
        eprintln!("{name}: {} bytes, {samples} samples", input.len());
        group.throughput(Throughput::Bytes(input.len() as u64));
        group.bench_with_input(BenchmarkId::new("iterate", name), &input, |b, input| {
            b.iter(|| iterate(input, format))
        });
        group.bench_with_input(
            BenchmarkId::new("iterate+labels", name),
            &input,
            |b, input| b.iter(|| iterate_with_labels(input, format)),
        );
    }
    group.finish();
}

criterion_group!(benches, bench_textparse);
criterion_main!(benches);
