//! Push-protocol decode throughput, in samples per second, on one node_exporter scrape
//! (`shared/bench/node_exporter_template.prom`, ~900 samples) written in each protocol:
//!
//! - `prometheus_text`: the exposition parser with `labels()` (what
//!   `/api/v1/import/prometheus` does on a series-cache miss), for reference;
//! - `remote_write/decode`: snappy + the hand-written protobuf reader, iterating borrowed
//!   labels and samples (the cache-hit path: the series key is the labels' bytes);
//! - `remote_write/decode+labels`: the same, building each series' `Labels` (cache miss);
//! - `remote_write/prost`: prost-derived messages decoding into owned structs, the
//!   alternative the hand-written reader was measured against;
//! - `influx/parse` and `influx/parse+labels`: line protocol, one line per sample;
//! - `into_storage/*`: decode and append into a `Storage` (series cache warm after the
//!   first iteration) with one commit per request, as the handlers do; remote write keys
//!   series by their label bytes, Influx builds labels per sample.
//!
//! `cargo bench -p gnomon-benches --bench push`

use gnomon_benches::node_exporter_scrape;

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use gnomon_scrape::push::influx::{InfluxNaming, parse_line};
use gnomon_scrape::push::remote_write::{WriteRequest, decompress, encode};
use gnomon_scrape::textparse::{Entry, Format, Parser};
use gnomon_tsdb_core::model::{Appender, Label, Labels, METRIC_NAME, Sample};
use gnomon_tsdb_core::{Options, Storage};
use prost::Message;

#[derive(Clone, PartialEq, prost::Message)]
struct PbWriteRequest {
    #[prost(message, repeated, tag = "1")]
    timeseries: Vec<PbTimeSeries>,
}

#[derive(Clone, PartialEq, prost::Message)]
struct PbTimeSeries {
    #[prost(message, repeated, tag = "1")]
    labels: Vec<PbLabel>,
    #[prost(message, repeated, tag = "2")]
    samples: Vec<PbSample>,
}

#[derive(Clone, PartialEq, prost::Message)]
struct PbLabel {
    #[prost(string, tag = "1")]
    name: String,
    #[prost(string, tag = "2")]
    value: String,
}

#[derive(Clone, PartialEq, prost::Message)]
struct PbSample {
    #[prost(double, tag = "1")]
    value: f64,
    #[prost(int64, tag = "2")]
    timestamp: i64,
}

const TS: i64 = 1_700_000_000_000;

fn series_of(text: &[u8]) -> Vec<(Labels, Vec<Sample>)> {
    Parser::new(text, Format::PrometheusText)
        .filter_map(|e| match e.expect("valid input") {
            Entry::Sample(s) => Some((s.labels(), vec![Sample::new(TS, s.value)])),
            _ => None,
        })
        .collect()
}

fn influx_of(series: &[(Labels, Vec<Sample>)]) -> Vec<u8> {
    let esc = |s: &str| {
        s.replace(' ', "\\ ")
            .replace(',', "\\,")
            .replace('=', "\\=")
    };
    let mut out = String::new();
    for (labels, samples) in series {
        out.push_str(&esc(labels.get(METRIC_NAME).unwrap_or("m")));
        for l in labels.iter().filter(|l| l.name != METRIC_NAME) {
            out.push_str(&format!(",{}={}", esc(&l.name), esc(&l.value)));
        }
        out.push_str(&format!(" value={} {}\n", samples[0].v, TS * 1_000_000));
    }
    out.into_bytes()
}

fn bench_push(c: &mut Criterion) {
    let text = node_exporter_scrape();
    let series = series_of(&text);
    let n = series.len() as u64;
    let rw = snap::raw::Encoder::new()
        .compress_vec(&encode(&series))
        .expect("snappy");
    let influx = influx_of(&series);
    eprintln!(
        "{n} samples: text {} bytes, remote write {} bytes (snappy), influx {} bytes",
        text.len(),
        rw.len(),
        influx.len()
    );
    let mut g = c.benchmark_group("push");
    g.throughput(Throughput::Elements(n));
    g.bench_function(BenchmarkId::new("prometheus_text", "iterate+labels"), |b| {
        b.iter(|| {
            let mut k = 0usize;
            for e in Parser::new(&text, Format::PrometheusText) {
                if let Entry::Sample(s) = e.expect("valid") {
                    k += s.labels().len();
                }
            }
            k
        })
    });
    g.bench_function(BenchmarkId::new("remote_write", "decode"), |b| {
        b.iter(|| {
            let msg = decompress(&rw, 1 << 30).expect("valid");
            let req = WriteRequest::parse(&msg).expect("valid");
            let mut k = 0usize;
            for ts in &req.series {
                k += ts.labels().map(|(n, v)| n.len() + v.len()).sum::<usize>();
                k += ts.label_key().map_or(0, <[u8]>::len);
                for s in ts.samples() {
                    std::hint::black_box(s);
                }
            }
            k
        })
    });
    g.bench_function(BenchmarkId::new("remote_write", "decode+labels"), |b| {
        b.iter(|| {
            let msg = decompress(&rw, 1 << 30).expect("valid");
            let req = WriteRequest::parse(&msg).expect("valid");
            let mut k = 0usize;
            for ts in &req.series {
                k += ts.to_labels().len();
                for s in ts.samples() {
                    std::hint::black_box(s);
                }
            }
            k
        })
    });
    g.bench_function(BenchmarkId::new("remote_write", "prost"), |b| {
        b.iter(|| {
            let msg = decompress(&rw, 1 << 30).expect("valid");
            let req = PbWriteRequest::decode(&msg[..]).expect("valid");
            req.timeseries.len()
        })
    });
    g.bench_function(BenchmarkId::new("influx", "parse"), |b| {
        b.iter(|| {
            let mut k = 0usize;
            for line in influx.split(|&b| b == b'\n') {
                if let Some(l) = parse_line(line).expect("valid") {
                    k += l.tags.len() + l.fields.len();
                }
            }
            k
        })
    });
    let naming = InfluxNaming::default();
    g.bench_function(BenchmarkId::new("influx", "parse+labels"), |b| {
        b.iter(|| {
            let mut k = 0usize;
            for line in influx.split(|&b| b == b'\n') {
                if let Some(l) = parse_line(line).expect("valid") {
                    for (field, _) in &l.fields {
                        let mut pairs: Vec<Label> = l
                            .tags
                            .iter()
                            .map(|(k, v)| Label::new(k.as_ref(), v.as_ref()))
                            .collect();
                        pairs.push(Label::new(METRIC_NAME, l.metric_name(field, &naming)));
                        k += Labels::new(pairs).len();
                    }
                }
            }
            k
        })
    });
    g.finish();

    let dir = tempfile::tempdir().expect("tempdir");
    let storage = Storage::open(
        dir.path(),
        Options {
            retention: std::time::Duration::from_secs(100 * 365 * 86_400),
            ..Options::default()
        },
    )
    .expect("open storage");
    let mut g = c.benchmark_group("into_storage");
    g.throughput(Throughput::Elements(n));
    g.bench_function("remote_write", |b| {
        let mut app = storage.appender();
        let mut key = Vec::new();
        b.iter(|| {
            let msg = decompress(&rw, 1 << 30).expect("valid");
            let req = WriteRequest::parse(&msg).expect("valid");
            for ts in &req.series {
                key.clear();
                key.extend_from_slice(b"rw:");
                key.extend_from_slice(ts.label_key().expect("labels lead"));
                for s in ts.samples() {
                    app.append_keyed(&key, &mut || ts.to_labels(), s)
                        .expect("append");
                }
            }
            app.commit().expect("commit");
        })
    });
    g.bench_function("influx", |b| {
        let mut app = storage.appender();
        let mut key = Vec::new();
        b.iter(|| {
            for line in influx.split(|&b| b == b'\n') {
                if let Some(l) = parse_line(line).expect("valid") {
                    let t = l.timestamp.unwrap_or(0) / 1_000_000;
                    for (field, v) in &l.fields {
                        // As the handler does: the raw measurement+tags text and the
                        // field name key the series; labels are built on a miss only.
                        key.clear();
                        key.extend_from_slice(b"influx:");
                        key.extend_from_slice(&(l.raw_key.len() as u64).to_le_bytes());
                        key.extend_from_slice(l.raw_key.as_bytes());
                        key.extend_from_slice(field.as_bytes());
                        let mut labels = || {
                            let mut pairs: Vec<Label> = l
                                .tags
                                .iter()
                                .map(|(k, v)| Label::new(k.as_ref(), v.as_ref()))
                                .collect();
                            pairs.push(Label::new(METRIC_NAME, l.metric_name(field, &naming)));
                            Labels::new(pairs)
                        };
                        app.append_keyed(&key, &mut labels, Sample::new(t, *v))
                            .expect("append");
                    }
                }
            }
            app.commit().expect("commit");
        })
    });
    g.bench_function("prometheus_text", |b| {
        let mut app = storage.appender();
        b.iter(|| {
            for e in Parser::new(&text, Format::PrometheusText) {
                if let Entry::Sample(s) = e.expect("valid") {
                    let sample = Sample::new(TS, s.value);
                    if s.key_is_raw() {
                        app.append_keyed(s.series, &mut || s.labels(), sample)
                            .expect("append");
                    } else {
                        app.append(&s.labels(), sample).expect("append");
                    }
                }
            }
            app.commit().expect("commit");
        })
    });
    g.finish();
    drop(storage);
}

criterion_group!(benches, bench_push);
criterion_main!(benches);
