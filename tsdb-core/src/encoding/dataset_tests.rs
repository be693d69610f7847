//! Bytes per sample on the shared bench dataset (an `#[ignore]`d test that prints).
//!
//! ```sh
//! python3 /work/shared/bench/gen_dataset.py --hosts 4 --hours 6 --format prom --out /tmp/codec-ds
//! GNOMON_CODEC_DATASET=/tmp/codec-ds/prom cargo test -p gnomon-tsdb-core --release \
//!     encoding::dataset_tests -- --ignored --nocapture
//! ```
//!
//! Every series becomes one block (timestamps + values), as the engine stores a 6 h
//! series at 15 s; the figures are payload bytes only (no block header, no index).

use super::*;
use std::collections::{BTreeMap, HashMap};

/// Series key -> (timestamps, values), from Prometheus text lines `name{labels} value ts`.
fn load(dir: &str) -> HashMap<String, (Vec<i64>, Vec<f64>)> {
    let mut series: HashMap<String, (Vec<i64>, Vec<f64>)> = HashMap::new();
    let mut files: Vec<_> = std::fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("dataset {dir}: {e}"))
        .map(|e| e.unwrap().path())
        .collect();
    files.sort();
    for f in files {
        let text = std::fs::read_to_string(&f).unwrap();
        for line in text
            .lines()
            .filter(|l| !l.is_empty() && !l.starts_with('#'))
        {
            let mut it = line.rsplitn(3, ' ');
            let (t, v, key) = (it.next().unwrap(), it.next().unwrap(), it.next().unwrap());
            let e = series.entry(key.to_string()).or_default();
            e.0.push(t.parse().unwrap());
            e.1.push(v.parse().unwrap());
        }
    }
    for (ts, vs) in series.values_mut() {
        let mut rows: Vec<(i64, f64)> = ts.iter().copied().zip(vs.iter().copied()).collect();
        rows.sort_by_key(|r| r.0);
        (*ts, *vs) = rows.into_iter().unzip();
    }
    series
}

#[test]
#[ignore = "needs the generated bench dataset; prints bytes/sample"]
fn bytes_per_sample_on_bench_dataset() {
    let dir = std::env::var("GNOMON_CODEC_DATASET").unwrap_or("/tmp/codec-ds/prom".into());
    let series = load(&dir);
    let (mut samples, mut tbytes, mut vbytes) = (0usize, 0usize, 0usize);
    let mut by_scheme: BTreeMap<u8, (usize, usize, usize)> = BTreeMap::new();
    let (mut tb, mut vb) = (Vec::new(), Vec::new());
    for (ts, vs) in series.values() {
        tb.clear();
        vb.clear();
        encode_timestamps(ts, &mut tb);
        encode_values(vs, &mut vb);
        samples += ts.len();
        tbytes += tb.len();
        vbytes += vb.len();
        let e = by_scheme.entry(vb[0]).or_default();
        e.0 += 1;
        e.1 += vs.len();
        e.2 += vb.len();
        let (mut t2, mut v2) = (Vec::new(), Vec::new());
        decode_timestamps(&tb, ts.len(), &mut t2).unwrap();
        decode_values(&vb, vs.len(), &mut v2).unwrap();
        assert_eq!(&t2, ts);
        assert!(v2.iter().zip(vs).all(|(a, b)| a.to_bits() == b.to_bits()));
    }
    let per = |b: usize| b as f64 / samples as f64;
    zstd_threshold_table(&series, samples);
    println!(
        "series {} samples {samples}: total {:.4} B/sample (timestamps {:.4}, values {:.4})",
        series.len(),
        per(tbytes + vbytes),
        per(tbytes),
        per(vbytes)
    );
    for (scheme, (blocks, n, bytes)) in by_scheme {
        println!(
            "  value scheme {scheme:#04x}: {blocks} blocks, {n} samples, {:.3} B/sample of those",
            bytes as f64 / n as f64
        );
    }
}

/// The uncompressed body of a payload (scheme byte stripped, zstd undone).
fn body_of(payload: &[u8]) -> Vec<u8> {
    if payload[0] & 0x80 == 0 {
        return payload[1..].to_vec();
    }
    zstd::bulk::decompress(&payload[1..], 1 << 20).unwrap()
}

/// For candidate thresholds and levels: how many bodies zstd is tried on, and the
/// bytes/sample it saves when kept only if it saves at least 1/8.
fn zstd_threshold_table(series: &HashMap<String, (Vec<i64>, Vec<f64>)>, samples: usize) {
    let mut bodies = Vec::new();
    for (ts, vs) in series.values() {
        for is_ts in [true, false] {
            let mut out = Vec::new();
            if is_ts {
                encode_timestamps(ts, &mut out);
            } else {
                encode_values(vs, &mut out);
            }
            let body = body_of(&out);
            if body.len() >= 16 {
                let z1 = super::compress::zstd_len(&body, 1);
                let z3 = super::compress::zstd_len(&body, 3);
                bodies.push((body.len(), z1, z3));
            }
        }
    }
    for threshold in [16usize, 32, 64, 128, 256, 512, 1024] {
        let tried = bodies.iter().filter(|b| b.0 >= threshold).count();
        let saved = |pick: fn(&(usize, usize, usize)) -> usize| -> f64 {
            let s: usize = bodies
                .iter()
                .filter(|b| b.0 >= threshold && pick(b) * 8 <= b.0 * 7)
                .map(|b| b.0 - pick(b))
                .sum();
            s as f64 / samples as f64
        };
        println!(
            "  zstd threshold {threshold:5}: tried on {tried:4} bodies, saves {:.4} B/sample at level 1, {:.4} at level 3",
            saved(|b| b.1),
            saved(|b| b.2)
        );
    }
}
