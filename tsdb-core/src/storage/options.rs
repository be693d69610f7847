//! Everything that can be tuned, passed to [`Storage::open`](super::Storage::open).

use std::time::Duration;

/// When the write-ahead log is forced to stable storage.
///
/// Whatever the policy, a commit has written its rows to the log file before it returns,
/// so they survive the death of the process (`kill -9`); the policy decides what survives
/// the loss of the machine's power.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FsyncPolicy {
    /// fsync before every commit returns: nothing acknowledged is lost on power loss.
    EveryCommit,
    /// fsync in the background at this interval: a power loss loses at most this much.
    Interval(Duration),
}

/// Storage options. `Options::default()` is what the `gnomon` server starts with.
#[derive(Clone, Debug)]
pub struct Options {
    /// Samples older than now minus this are dropped (whole months at a time) and hidden
    /// from queries. VictoriaMetrics' default: 1 month (31 days).
    pub retention: Duration,
    /// Keep one sample per series per interval (the last one, as VictoriaMetrics does);
    /// `Duration::ZERO` keeps all. Applied at merge and at query time.
    pub dedup_interval: Duration,
    /// When the write-ahead log reaches stable storage.
    pub fsync: FsyncPolicy,
    /// Memory the caches may use, in bytes (series-id cache, decoded-block cache).
    pub memory_budget: u64,
    /// Number of ingestion shards (independent buffers, locks and WAL writers are not
    /// shared across shards). Default: the number of CPUs.
    pub shards: usize,
    /// Everything committed is written to disk parts (and the write-ahead log truncated)
    /// at this interval. 1 s: on the 50-host bench dataset, 5 s held 1.7x more memory at
    /// peak (292 vs 174 MiB RSS) for the same CPU per sample.
    pub flush_interval: Duration,
    /// A shard's buffer becomes an encoded in-memory part at this many rows. The default,
    /// 256k rows (6 MiB of raw rows per shard), keeps the buffers' memory small while
    /// giving the encoder blocks long enough to compress.
    pub shard_rows: usize,
    /// Run merges in background threads. Tests that want deterministic part counts turn
    /// this off and call `force_merge`.
    pub background_merges: bool,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            retention: Duration::from_secs(31 * 24 * 3600),
            dedup_interval: Duration::ZERO,
            fsync: FsyncPolicy::Interval(Duration::from_secs(1)),
            memory_budget: 512 << 20,
            shards: std::thread::available_parallelism().map_or(2, |n| n.get()),
            flush_interval: Duration::from_secs(1),
            shard_rows: 256 * 1024,
            background_merges: true,
        }
    }
}
