//! The storage engine: [`Storage`] opens a data directory and implements
//! [`Appender`](crate::model::Appender) (through [`Storage::appender`]) and
//! [`Querier`](crate::model::Querier).

mod background;
mod calendar;
mod catalog;
mod engine;
pub mod inspect;
mod manifest;
mod merge;
mod options;
mod part;
mod partition;
mod registry;
mod row;
mod samples;
mod select;
mod snapshot;
mod stats;
pub mod status;
mod tombstones;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};

use parking_lot::{Mutex, RwLock};
use roaring::RoaringBitmap;

pub use options::{FsyncPolicy, Options};
pub use stats::Stats;

use self::background::Background;
use self::catalog::Catalog;
use self::partition::Partition;
use self::registry::Registry;
use self::row::Row;
use crate::error::Result;
use crate::fs::DirLock;
use crate::model::{
    Appender, Labels, LazySeriesIter, Matcher, Querier, Sample, SeriesIter, TimeRange,
};
use crate::wal::Wal;

/// A storage engine over one data directory. Cheap to clone; every clone is the same
/// storage. Dropping the last clone flushes and closes it; [`Storage::close`] does the
/// same and reports errors.
///
/// Durability: a commit returns once its rows are in the write-ahead log (they survive
/// the death of the process); [`Options::fsync`] decides when they also survive a power
/// loss.
#[derive(Clone)]
pub struct Storage {
    inner: Arc<Inner>,
}

/// Counters kept by the engine.
#[derive(Default)]
pub(crate) struct Counters {
    pub rows_ingested: AtomicU64,
    pub rows_too_old: AtomicU64,
    pub flushes: AtomicU64,
    pub small_merges: AtomicU64,
    pub big_merges: AtomicU64,
    pub active_merges: AtomicU64,
    pub dedup_removed: AtomicU64,
    pub deleted_purged: AtomicU64,
    pub selects: AtomicU64,
}

/// The shared state behind every clone of a [`Storage`].
pub(crate) struct Inner {
    pub path: PathBuf,
    pub opts: Options,
    /// Released at close, even while appenders still hold the storage.
    pub lock: Mutex<Option<DirLock>>,
    pub wal: Wal,
    pub registry: Registry,
    pub catalog: Mutex<Catalog>,
    pub partitions: RwLock<BTreeMap<i32, Arc<Partition>>>,
    /// Rows committed but not yet in a part, sharded to spread lock contention.
    pub shards: Vec<Mutex<Vec<Row>>>,
    /// Commits hold it shared; a flush takes it exclusively to cut the WAL.
    pub commit_lock: RwLock<()>,
    /// Selects hold it shared while capturing their view; moving rows between buffers
    /// and parts holds it exclusively, so a select sees every row exactly once or twice
    /// (duplicates resolve), never zero times.
    pub view_lock: RwLock<()>,
    pub flush_lock: Mutex<()>,
    /// Held shared while obsolete files are removed; snapshots hold it exclusively.
    pub file_removal: RwLock<()>,
    pub deleted: RwLock<RoaringBitmap>,
    pub next_file: AtomicU64,
    pub next_shard: AtomicUsize,
    pub dedup_ms: i64,
    pub retention_ms: i64,
    pub counters: Counters,
    pub closed: AtomicBool,
    /// Set by commits, cleared by the flush that persists them.
    pub dirty: AtomicBool,
    pub background: Mutex<Option<Background>>,
}

impl Storage {
    /// Opens (creating if needed) the data directory `path`: replays the write-ahead log,
    /// removes orphan files, drops partitions past retention, starts background work.
    ///
    /// # Errors
    /// [`Error::Locked`](crate::Error::Locked) when another process uses the directory;
    /// I/O errors. Damaged files are not an error: their damaged tail is cut off with a
    /// logged warning.
    pub fn open(path: impl AsRef<Path>, opts: Options) -> Result<Storage> {
        let inner = Arc::new(Inner::open(path.as_ref(), opts)?);
        // Replayed rows go to disk at once, so the log starts small.
        inner.flush()?;
        let bg = Background::start(&inner);
        *inner.background.lock() = Some(bg);
        Ok(Storage { inner })
    }

    /// The data directory.
    pub fn path(&self) -> &Path {
        &self.inner.path
    }

    /// A new appender. Appenders are independent; each commit is atomic and durable as
    /// [`Options::fsync`] says.
    pub fn appender(&self) -> StorageAppender {
        StorageAppender {
            shard: engine::pick_shard(&self.inner),
            inner: self.inner.clone(),
            rows: Vec::new(),
            key_buf: Vec::new(),
            payload: Vec::new(),
        }
    }

    /// Deletes every series matching `matchers` (all partitions, all time); returns how
    /// many series were deleted. Their samples disappear from queries at once and from
    /// disk at the next merge. Samples written later under the same labels make the
    /// series visible again.
    ///
    /// # Errors
    /// I/O errors while persisting the deletion.
    pub fn delete_series(&self, matchers: &[Matcher]) -> Result<u64> {
        self.inner.delete_series(matchers)
    }

    /// Writes every buffered row and in-memory part to disk and truncates the write-ahead
    /// log. When it returns, all rows committed before are in on-disk parts.
    ///
    /// # Errors
    /// I/O errors.
    pub fn force_flush(&self) -> Result<()> {
        self.inner.flush()
    }

    /// Merges all parts of the partitions whose name (`YYYY_MM`) starts with
    /// `partition_prefix` (all partitions when empty) into one part each, applying
    /// deduplication and purging deleted series.
    ///
    /// # Errors
    /// I/O errors.
    pub fn force_merge(&self, partition_prefix: &str) -> Result<()> {
        self.inner.flush()?;
        self.inner.merge(partition_prefix, true).map(|_| ())
    }

    /// Creates a snapshot (hard links of the immutable files after a flush) and returns its
    /// name, `YYYYMMDDhhmmss-<hex>` as VictoriaMetrics names them.
    ///
    /// # Errors
    /// I/O errors.
    pub fn create_snapshot(&self) -> Result<String> {
        self.inner.create_snapshot()
    }

    /// Names of the snapshots, oldest first.
    ///
    /// # Errors
    /// I/O errors.
    pub fn list_snapshots(&self) -> Result<Vec<String>> {
        self.inner.list_snapshots()
    }

    /// Deletes one snapshot.
    ///
    /// # Errors
    /// [`Error::SnapshotNotFound`](crate::Error::SnapshotNotFound); I/O errors.
    pub fn delete_snapshot(&self, name: &str) -> Result<()> {
        self.inner.delete_snapshot(name)
    }

    /// Deletes every snapshot.
    ///
    /// # Errors
    /// I/O errors.
    pub fn delete_all_snapshots(&self) -> Result<()> {
        for name in self.inner.list_snapshots()? {
            self.inner.delete_snapshot(&name)?;
        }
        Ok(())
    }

    /// Current counters and gauges.
    pub fn stats(&self) -> Stats {
        self.inner.stats()
    }

    /// Flushes everything to disk, stops background work and releases the directory.
    ///
    /// # Errors
    /// I/O errors of the final flush.
    pub fn close(self) -> Result<()> {
        self.inner.shutdown()
    }
}

impl Querier for Storage {
    fn select(&self, matchers: &[Matcher], range: TimeRange) -> Result<SeriesIter> {
        self.inner.counters.selects.fetch_add(1, Ordering::Relaxed);
        Ok(Box::new(select::SelectIter::new(
            self.inner.clone(),
            matchers,
            range,
        )))
    }

    fn select_lazy(&self, matchers: &[Matcher], range: TimeRange) -> Result<LazySeriesIter> {
        self.inner.counters.selects.fetch_add(1, Ordering::Relaxed);
        Ok(select::select_lazy(&self.inner, matchers, range))
    }

    fn series(&self, matchers: &[Matcher], range: TimeRange) -> Result<Vec<Labels>> {
        let mut ids = RoaringBitmap::new();
        for (_, p_ids) in self.inner.matching_ids(matchers, range) {
            ids |= p_ids;
        }
        let mut out: Vec<Labels> = ids
            .iter()
            .filter_map(|id| self.inner.registry.labels(id))
            .collect();
        out.sort_unstable();
        Ok(out)
    }

    fn label_names(&self, matchers: &[Matcher], range: TimeRange) -> Result<Vec<String>> {
        let mut lists = Vec::new();
        for (p, ids) in self.inner.matching_ids(matchers, range) {
            let st = p.state.read();
            lists.push(crate::index::label_names(&st.sources(), &ids));
        }
        Ok(union_sorted(lists))
    }

    fn label_values(
        &self,
        name: &str,
        matchers: &[Matcher],
        range: TimeRange,
    ) -> Result<Vec<String>> {
        let mut lists = Vec::new();
        for (p, ids) in self.inner.matching_ids(matchers, range) {
            let st = p.state.read();
            lists.push(crate::index::label_values(&st.sources(), name, &ids));
        }
        Ok(union_sorted(lists))
    }
}

/// The sorted union of sorted, duplicate-free lists (one per partition; a single list,
/// the usual case, is returned as it is).
fn union_sorted(mut lists: Vec<Vec<String>>) -> Vec<String> {
    if lists.len() <= 1 {
        return lists.pop().unwrap_or_default();
    }
    let all: std::collections::BTreeSet<String> = lists.into_iter().flatten().collect();
    all.into_iter().collect()
}

/// Appender of a [`Storage`]; `Send`, so a request handler may move it across threads.
/// Rows appended are neither visible nor durable before [`Appender::commit`]; an appender
/// dropped without committing discards them.
pub struct StorageAppender {
    inner: Arc<Inner>,
    shard: usize,
    rows: Vec<Row>,
    key_buf: Vec<u8>,
    payload: Vec<u8>,
}

impl Appender for StorageAppender {
    fn append(&mut self, labels: &Labels, sample: Sample) -> Result<()> {
        let sid = self.inner.registry.id_of(labels, &mut self.key_buf);
        self.rows.push(Row {
            sid,
            t: sample.t,
            v: sample.v,
        });
        Ok(())
    }

    fn append_keyed(
        &mut self,
        key: &[u8],
        labels: &mut dyn FnMut() -> Labels,
        sample: Sample,
    ) -> Result<()> {
        let sid = self
            .inner
            .registry
            .id_of_raw(key, labels, &mut self.key_buf);
        self.rows.push(Row {
            sid,
            t: sample.t,
            v: sample.v,
        });
        Ok(())
    }

    /// Writes the batch to the write-ahead log (survives `kill -9` once this returns;
    /// survives power loss as [`Options::fsync`] says), then makes it visible.
    fn commit(&mut self) -> Result<()> {
        self.inner
            .commit(&mut self.rows, self.shard, &mut self.payload)
    }
}

impl Inner {
    /// Stops background work, flushes everything and closes the log.
    fn shutdown(&self) -> Result<()> {
        if self.closed.load(Ordering::Acquire) {
            return Ok(());
        }
        if let Some(bg) = self.background.lock().take() {
            bg.stop();
        }
        let r = self.flush();
        self.closed.store(true, Ordering::Release);
        self.lock.lock().take();
        r
    }
}

impl Drop for Inner {
    fn drop(&mut self) {
        if self.closed.load(Ordering::Acquire) {
            return;
        }
        // Background threads hold weak references only, so none of them is running a
        // flush or merge on our behalf now; they exit at their next tick.
        drop(self.background.lock().take());
        if let Err(e) = self.flush() {
            log::error!("flush at close failed: {e}");
        }
        self.closed.store(true, Ordering::Release);
        self.lock.lock().take();
    }
}
