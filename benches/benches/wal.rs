//! Write-ahead log append throughput: 4 KiB payloads, with the interval fsync policy and
//! with fsync on every commit (group commit shares fdatasyncs between threads), from 1 and
//! 4 appending threads. One criterion iteration is one append, so time/iter is the
//! inverse of appends/s and the throughput line is the payload MiB/s.

use std::time::{Duration, Instant};

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use gnomon_tsdb_core::storage::FsyncPolicy;
use gnomon_tsdb_core::wal::{Wal, WalOptions};

const PAYLOAD_BYTES: usize = 4096;

/// Appends `iters` payloads split over `threads` threads; returns the wall time.
fn append_from_threads(wal: &Wal, threads: u64, iters: u64) -> Duration {
    let payload = vec![0x5au8; PAYLOAD_BYTES];
    let start = Instant::now();
    std::thread::scope(|s| {
        for t in 0..threads {
            let share = iters / threads + u64::from(t < iters % threads);
            let payload = &payload;
            s.spawn(move || {
                for _ in 0..share {
                    wal.append(payload).expect("append");
                }
            });
        }
    });
    start.elapsed()
}

fn bench_policy(c: &mut Criterion, name: &str, fsync: FsyncPolicy, sample_size: usize) {
    let mut group = c.benchmark_group(format!("wal_append_4KiB/{name}"));
    group.throughput(Throughput::Bytes(PAYLOAD_BYTES as u64));
    group.sample_size(sample_size);
    for threads in [1u64, 4] {
        let dir = tempfile::tempdir().expect("tempdir");
        let opts = WalOptions {
            fsync,
            ..WalOptions::default()
        };
        let wal = Wal::open(dir.path(), opts).expect("open wal");
        group.bench_function(format!("{threads}_threads"), |b| {
            b.iter_custom(|iters| {
                let elapsed = append_from_threads(&wal, threads, iters);
                // Keep the disk footprint bounded between samples (not timed).
                let seq = wal.rotate().expect("rotate");
                wal.remove_segments_before(seq).expect("remove segments");
                elapsed
            });
        });
        wal.close().expect("close wal");
    }
    group.finish();
}

fn wal_append(c: &mut Criterion) {
    bench_policy(
        c,
        "interval_1s",
        FsyncPolicy::Interval(Duration::from_secs(1)),
        30,
    );
    bench_policy(c, "every_commit", FsyncPolicy::EveryCommit, 10);
}

criterion_group!(benches, wal_append);
criterion_main!(benches);
