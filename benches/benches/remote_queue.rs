//! Persistent queue of the remote-write client: push + next + ack throughput for 64 KiB
//! and 1 MiB blocks.
//!
//! - `steady`: the consumer keeps up (one push, one next, one ack per iteration); blocks
//!   come from the memory cache, nothing is read back from disk. time/iter is the inverse
//!   of blocks/s, the throughput line is MiB/s.
//! - `steady_sync_every_push`: the same with an fsync after each push, the price of the
//!   durability the queue does not pay by default.
//! - `backlog_fill` / `backlog_drain`: 256 MiB pushed with no consumer, then drained
//!   (next + ack) — past the 8 MiB memory cache the blocks are read from the segment
//!   files (page cache). One iteration is the whole 256 MiB.
//! - `reopen_backlog`: opening a queue that holds a 256 MiB backlog (the recovery scan).

use std::time::{Duration, Instant};

use criterion::{Criterion, SamplingMode, Throughput, criterion_group, criterion_main};
use gnomon_scrape::queue::{PersistentQueue, QueueOptions};

const BACKLOG_BYTES: usize = 256 << 20;
const SIZES: [(usize, &str); 2] = [(64 << 10, "64KiB"), (1 << 20, "1MiB")];

fn open(dir: &std::path::Path) -> PersistentQueue {
    PersistentQueue::open(QueueOptions {
        dir: dir.join("q"),
        name: "bench".into(),
        ..QueueOptions::default()
    })
    .expect("open queue")
}

/// A block that does not compress to nothing (remote-write blocks are snappy output).
fn block(size: usize) -> Vec<u8> {
    (0..size)
        .map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8)
        .collect()
}

fn drain(q: &PersistentQueue) -> usize {
    let mut bytes = 0;
    while let Some(b) = q.next().expect("next") {
        bytes += b.data.len();
        q.ack(b.id).expect("ack");
    }
    bytes
}

fn steady(c: &mut Criterion, sync: bool) {
    let name = if sync {
        "steady_sync_every_push"
    } else {
        "steady"
    };
    let mut group = c.benchmark_group(format!("remote_queue/{name}"));
    for (size, label) in SIZES {
        let dir = tempfile::tempdir().expect("tempdir");
        let q = open(dir.path());
        let data = block(size);
        group.throughput(Throughput::Bytes(size as u64));
        group.bench_function(label, |b| {
            b.iter(|| {
                q.push(&data).expect("push");
                if sync {
                    q.sync().expect("sync");
                }
                let got = q.next().expect("next").expect("a block");
                q.ack(got.id).expect("ack");
                got.data.len()
            });
        });
        q.close().expect("close");
    }
    group.finish();
}

/// Pushes the backlog; returns the time it took.
fn fill(q: &PersistentQueue, data: &[u8]) -> Duration {
    let start = Instant::now();
    for _ in 0..BACKLOG_BYTES / data.len() {
        q.push(data).expect("push");
    }
    start.elapsed()
}

fn backlog(c: &mut Criterion) {
    for drain_timed in [false, true] {
        let name = if drain_timed {
            "backlog_drain"
        } else {
            "backlog_fill"
        };
        let mut group = c.benchmark_group(format!("remote_queue/{name}"));
        group.throughput(Throughput::Bytes(BACKLOG_BYTES as u64));
        group.sampling_mode(SamplingMode::Flat);
        group.sample_size(10);
        for (size, label) in SIZES {
            let dir = tempfile::tempdir().expect("tempdir");
            let q = open(dir.path());
            let data = block(size);
            group.bench_function(label, |b| {
                b.iter_custom(|iters| {
                    let mut timed = Duration::ZERO;
                    for _ in 0..iters {
                        let filled = fill(&q, &data);
                        let start = Instant::now();
                        let drained = drain(&q);
                        let drained_in = start.elapsed();
                        assert_eq!(drained, BACKLOG_BYTES / size * size);
                        timed += if drain_timed { drained_in } else { filled };
                    }
                    timed
                });
            });
            q.close().expect("close");
        }
        group.finish();
    }
}

/// Reopening a queue with a 256 MiB backlog: every segment is read and checked (from the
/// page cache here), and the first 8 MiB of blocks are kept in memory.
fn reopen(c: &mut Criterion) {
    let mut group = c.benchmark_group("remote_queue/reopen_backlog");
    group.throughput(Throughput::Bytes(BACKLOG_BYTES as u64));
    group.sampling_mode(SamplingMode::Flat);
    group.sample_size(10);
    let (size, label) = SIZES[0];
    let dir = tempfile::tempdir().expect("tempdir");
    fill(&open(dir.path()), &block(size));
    group.bench_function(label, |b| {
        b.iter_custom(|iters| {
            let start = Instant::now();
            for _ in 0..iters {
                let q = open(dir.path());
                assert_eq!(q.stats().pending_blocks as usize, BACKLOG_BYTES / size);
            }
            start.elapsed()
        });
    });
    group.finish();
}

fn remote_queue(c: &mut Criterion) {
    steady(c, false);
    steady(c, true);
    backlog(c);
    reopen(c);
}

criterion_group!(benches, remote_queue);
criterion_main!(benches);
