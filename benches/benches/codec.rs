//! Block codec speed and size per data shape: encode and decode throughput of one
//! 1440-sample block (6 h at 15 s), and bytes per sample printed once per shape.
//!
//! `cargo bench -p gnomon-benches --bench codec -- --warm-up-time 1 --measurement-time 3`
//!
//! With `GNOMON_CODEC_DATASET=/tmp/codec-ds/prom` (Prometheus text from
//! `shared/bench/gen_dataset.py --format prom`), also encodes and decodes every series
//! of that dataset as one block and prints its bytes/sample and samples per CPU-second.

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use gnomon_tsdb_core::encoding::{
    decode_timestamps, decode_values, encode_timestamps, encode_values,
};
use std::hint::black_box;

const N: usize = 1440;

/// Deterministic xorshift so the shapes are the same on every run.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn below(&mut self, k: u64) -> u64 {
        self.next() % k
    }
}

/// (name, timestamps, values) of the typical block shapes.
fn shapes() -> Vec<(&'static str, Vec<i64>, Vec<f64>)> {
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
    let regular: Vec<i64> = (0..N as i64)
        .map(|i| 1_704_067_200_000 + 15_000 * i)
        .collect();
    let jittered: Vec<i64> = (0..N as i64)
        .map(|i| 1_704_067_200_000 + 15_000 * i + (rng.below(40) as i64 - 20))
        .collect();
    let constant = vec![1.0; N];
    let mut c = 1_682_438_745_951.0f64;
    let byte_counter: Vec<f64> = (0..N)
        .map(|_| {
            c += (1024 * (20 + rng.below(40))) as f64;
            c
        })
        .collect();
    let mut s = 123_456.78f64;
    let cpu_seconds: Vec<f64> = (0..N)
        .map(|_| {
            s = ((s * 100.0).round() + (1400 + rng.below(200)) as f64) / 100.0;
            s
        })
        .collect();
    let mut g = 500i64;
    let gauge_2dp: Vec<f64> = (0..N)
        .map(|_| {
            g = (g + rng.below(21) as i64 - 10).max(0);
            g as f64 / 100.0
        })
        .collect();
    let random: Vec<f64> = (0..N)
        .map(|_| (rng.next() >> 11) as f64 / (1u64 << 53) as f64)
        .collect();
    vec![
        ("constant", regular.clone(), constant),
        ("byte_counter", regular.clone(), byte_counter),
        ("cpu_seconds_2dp", jittered.clone(), cpu_seconds),
        ("gauge_2dp", jittered, gauge_2dp),
        ("random_float", regular, random),
    ]
}

/// Nanoseconds this thread has spent on a CPU (Linux `schedstat`), or `None` elsewhere.
///
/// The bench machine is shared by several builders; CPU time, unlike wall time, does
/// not count the time the thread waited for a core.
fn thread_cpu_ns() -> Option<u64> {
    let s = std::fs::read_to_string("/proc/thread-self/schedstat").ok()?;
    s.split_whitespace().next()?.parse().ok()
}

/// Samples per CPU-second of `f` (which handles one block of `N` samples), over ~0.5 s.
fn samples_per_cpu_second(mut f: impl FnMut()) -> Option<f64> {
    let (start, wall) = (thread_cpu_ns()?, std::time::Instant::now());
    let mut blocks = 0u64;
    while wall.elapsed().as_millis() < 500 {
        for _ in 0..16 {
            f();
        }
        blocks += 16;
    }
    let cpu = thread_cpu_ns()? - start;
    Some((blocks * N as u64) as f64 / (cpu as f64 / 1e9))
}

fn bench_codec(c: &mut Criterion) {
    let mut group = c.benchmark_group("codec");
    group.throughput(Throughput::Elements(N as u64));
    for (name, ts, vs) in shapes() {
        let (mut tb, mut vb) = (Vec::new(), Vec::new());
        encode_timestamps(&ts, &mut tb);
        encode_values(&vs, &mut vb);
        println!(
            "codec/{name}: {:.3} B/sample (timestamps {:.3}, values {:.3})",
            (tb.len() + vb.len()) as f64 / N as f64,
            tb.len() as f64 / N as f64,
            vb.len() as f64 / N as f64
        );
        let mut out = Vec::with_capacity(4 * N);
        let enc = samples_per_cpu_second(|| {
            out.clear();
            encode_timestamps(black_box(&ts), &mut out);
            encode_values(black_box(&vs), &mut out);
        });
        let (mut t, mut v) = (Vec::with_capacity(N), Vec::with_capacity(N));
        let dec = samples_per_cpu_second(|| {
            t.clear();
            v.clear();
            decode_timestamps(black_box(&tb), N, &mut t).unwrap();
            decode_values(black_box(&vb), N, &mut v).unwrap();
        });
        if let (Some(enc), Some(dec)) = (enc, dec) {
            println!(
                "codec/{name}: encode {:.1} M samples/cpu-s, decode {:.1} M samples/cpu-s",
                enc / 1e6,
                dec / 1e6
            );
        }
        group.bench_with_input(BenchmarkId::new("encode", name), &(), |b, _| {
            let mut out = Vec::with_capacity(4 * N);
            b.iter(|| {
                out.clear();
                encode_timestamps(black_box(&ts), &mut out);
                encode_values(black_box(&vs), &mut out);
                out.len()
            })
        });
        group.bench_with_input(BenchmarkId::new("decode", name), &(), |b, _| {
            let (mut t, mut v) = (Vec::with_capacity(N), Vec::with_capacity(N));
            b.iter(|| {
                t.clear();
                v.clear();
                decode_timestamps(black_box(&tb), N, &mut t).unwrap();
                decode_values(black_box(&vb), N, &mut v).unwrap();
                v.len()
            })
        });
    }
    group.finish();
}

/// Series of a Prometheus-text dataset (`name{labels} value ts_ms` lines), sorted by time.
fn load_dataset(dir: &str) -> Vec<(Vec<i64>, Vec<f64>)> {
    let mut series: std::collections::HashMap<String, Vec<(i64, f64)>> = Default::default();
    let mut files: Vec<_> = std::fs::read_dir(dir)
        .expect("GNOMON_CODEC_DATASET is a directory")
        .filter_map(|e| e.ok().map(|e| e.path()))
        .collect();
    files.sort();
    for f in files {
        let text = std::fs::read_to_string(&f).expect("dataset file");
        for line in text
            .lines()
            .filter(|l| !l.is_empty() && !l.starts_with('#'))
        {
            let mut it = line.rsplitn(3, ' ');
            let (Some(t), Some(v), Some(key)) = (it.next(), it.next(), it.next()) else {
                continue;
            };
            let (Ok(t), Ok(v)) = (t.parse(), v.parse()) else {
                continue;
            };
            series.entry(key.to_string()).or_default().push((t, v));
        }
    }
    series
        .into_values()
        .map(|mut rows| {
            rows.sort_by_key(|r| r.0);
            rows.into_iter().unzip()
        })
        .collect()
}

fn bench_dataset(c: &mut Criterion) {
    let Ok(dir) = std::env::var("GNOMON_CODEC_DATASET") else {
        return;
    };
    let series = load_dataset(&dir);
    let samples: usize = series.iter().map(|s| s.0.len()).sum();
    let encoded: Vec<(Vec<u8>, Vec<u8>)> = series
        .iter()
        .map(|(ts, vs)| {
            let (mut tb, mut vb) = (Vec::new(), Vec::new());
            encode_timestamps(ts, &mut tb);
            encode_values(vs, &mut vb);
            (tb, vb)
        })
        .collect();
    let tbytes: usize = encoded.iter().map(|e| e.0.len()).sum();
    let vbytes: usize = encoded.iter().map(|e| e.1.len()).sum();
    println!(
        "dataset: {} series, {samples} samples: {:.4} B/sample (timestamps {:.4}, values {:.4})",
        series.len(),
        (tbytes + vbytes) as f64 / samples as f64,
        tbytes as f64 / samples as f64,
        vbytes as f64 / samples as f64
    );
    let mut out = Vec::new();
    let cpu = |f: &mut dyn FnMut()| {
        let start = thread_cpu_ns()?;
        f();
        Some(samples as f64 / ((thread_cpu_ns()? - start) as f64 / 1e9) / 1e6)
    };
    let enc = cpu(&mut || {
        for (ts, vs) in &series {
            out.clear();
            encode_timestamps(ts, &mut out);
            encode_values(vs, &mut out);
        }
    });
    let (mut t, mut v) = (Vec::new(), Vec::new());
    let dec = cpu(&mut || {
        for ((tb, vb), (ts, _)) in encoded.iter().zip(&series) {
            t.clear();
            v.clear();
            decode_timestamps(tb, ts.len(), &mut t).unwrap();
            decode_values(vb, ts.len(), &mut v).unwrap();
        }
    });
    if let (Some(enc), Some(dec)) = (enc, dec) {
        println!("dataset: encode {enc:.1} M samples/cpu-s, decode {dec:.1} M samples/cpu-s");
    }
    let mut group = c.benchmark_group("codec_dataset");
    group.throughput(Throughput::Elements(samples as u64));
    group.sample_size(10);
    group.bench_function("encode_all", |b| {
        b.iter(|| {
            let mut bytes = 0;
            for (ts, vs) in &series {
                out.clear();
                encode_timestamps(ts, &mut out);
                encode_values(vs, &mut out);
                bytes += out.len();
            }
            bytes
        })
    });
    group.bench_function("decode_all", |b| {
        b.iter(|| {
            for ((tb, vb), (ts, _)) in encoded.iter().zip(&series) {
                t.clear();
                v.clear();
                decode_timestamps(tb, ts.len(), &mut t).unwrap();
                decode_values(vb, ts.len(), &mut v).unwrap();
            }
            v.len()
        })
    });
    group.finish();
}

criterion_group!(benches, bench_codec, bench_dataset);
criterion_main!(benches);
