//! Block codec speed and size per data shape: encode and decode throughput of one
//! 1440-sample block (6 h at 15 s), and bytes per sample printed once per shape.
//!
//! `cargo bench -p gnomon-benches --bench codec -- --warm-up-time 1 --measurement-time 3`

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

criterion_group!(benches, bench_codec);
criterion_main!(benches);
