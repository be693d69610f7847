//! Counters and gauges of a running storage, read with [`Storage::stats`](super::Storage::stats).

/// A point-in-time copy of the storage's counters (`_total`, monotonic since open) and
/// gauges (current values).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct Stats {
    /// Rows (samples) accepted by commits since open.
    pub rows_ingested_total: u64,
    /// Rows dropped at ingestion because they fall outside the retention period.
    pub rows_too_old_total: u64,
    /// Rows waiting in shard buffers, not yet in a part.
    pub pending_rows: u64,
    /// Series created since open.
    pub new_series_total: u64,
    /// Series known to the storage (all partitions), deleted ones excluded.
    pub series: u64,
    /// Series with samples during the current day (UTC).
    pub active_series: u64,
    /// Time partitions (months).
    pub partitions: u64,
    /// Parts held in memory.
    pub inmemory_parts: u64,
    /// Small on-disk parts.
    pub small_parts: u64,
    /// Big on-disk parts.
    pub big_parts: u64,
    /// Rows in in-memory parts.
    pub inmemory_rows: u64,
    /// Rows in small parts.
    pub small_rows: u64,
    /// Rows in big parts.
    pub big_rows: u64,
    /// Blocks in in-memory parts.
    pub inmemory_blocks: u64,
    /// Blocks in small parts.
    pub small_blocks: u64,
    /// Blocks in big parts.
    pub big_blocks: u64,
    /// Merges finished since open, in-memory parts into a small one.
    pub inmemory_merges_total: u64,
    /// Merges finished since open, into a small part.
    pub small_merges_total: u64,
    /// Merges finished since open, into a big part.
    pub big_merges_total: u64,
    /// Merges running now.
    pub active_merges: u64,
    /// Rows removed by deduplication during merges.
    pub dedup_rows_removed_total: u64,
    /// Rows of deleted series purged during merges.
    pub deleted_rows_purged_total: u64,
    /// Series ids deleted and not yet purged.
    pub deleted_series: u64,
    /// Bytes of sample data on disk (parts).
    pub data_bytes: u64,
    /// Bytes of index data on disk.
    pub index_bytes: u64,
    /// Bytes of the write-ahead log on disk.
    pub wal_bytes: u64,
    /// Hits of the series-id cache of the write path.
    pub series_cache_hits_total: u64,
    /// Misses of the series-id cache of the write path.
    pub series_cache_misses_total: u64,
    /// Entries in the series-id cache.
    pub series_cache_entries: u64,
    /// Capacity of the series-id cache in entries.
    pub series_cache_capacity: u64,
    /// Selects served since open.
    pub selects_total: u64,
    /// Snapshots present.
    pub snapshots: u64,
    /// Samples of the data directory's oldest partition start, in ms (0 when empty).
    pub min_timestamp: i64,
    /// Largest timestamp stored, in ms (0 when empty).
    pub max_timestamp: i64,
}
