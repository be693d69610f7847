//! The storage engine: [`Storage`] opens a data directory and implements
//! [`Appender`](crate::model::Appender) (through [`Storage::appender`]) and
//! [`Querier`](crate::model::Querier).

mod options;
mod stats;

use std::path::Path;

pub use options::{FsyncPolicy, Options};
pub use stats::Stats;

use crate::error::Result;
use crate::model::{Appender, Labels, Matcher, Querier, Sample, SeriesIter, TimeRange};

/// A storage engine over one data directory. Cheap to clone; every clone is the same
/// storage. Dropping the last clone flushes and closes it; [`Storage::close`] does the
/// same and reports errors.
#[derive(Clone)]
pub struct Storage {
    _priv: (),
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
        let _ = (path.as_ref(), opts);
        todo!("engine")
    }

    /// The data directory.
    pub fn path(&self) -> &Path {
        todo!("engine")
    }

    /// A new appender. Appenders are independent; each commit is atomic and durable as
    /// [`Options::fsync`] says.
    pub fn appender(&self) -> StorageAppender {
        todo!("engine")
    }

    /// Deletes every series matching `matchers` (all partitions, all time); returns how
    /// many series were deleted. Their samples disappear from queries at once and from
    /// disk at the next merge. Samples written later under the same labels make the
    /// series visible again.
    ///
    /// # Errors
    /// I/O errors while persisting the deletion.
    pub fn delete_series(&self, matchers: &[Matcher]) -> Result<u64> {
        let _ = matchers;
        todo!("engine")
    }

    /// Writes every buffered row and in-memory part to disk and truncates the write-ahead
    /// log. When it returns, all rows committed before are in on-disk parts.
    ///
    /// # Errors
    /// I/O errors.
    pub fn force_flush(&self) -> Result<()> {
        todo!("engine")
    }

    /// Merges all parts of the partitions whose name (`YYYY_MM`) starts with
    /// `partition_prefix` (all partitions when empty) into one part each, applying
    /// deduplication and purging deleted series.
    ///
    /// # Errors
    /// I/O errors.
    pub fn force_merge(&self, partition_prefix: &str) -> Result<()> {
        let _ = partition_prefix;
        todo!("engine")
    }

    /// Creates a snapshot (hard links of the immutable files after a flush) and returns its
    /// name, `YYYYMMDDhhmmss-<hex>` as VictoriaMetrics names them.
    ///
    /// # Errors
    /// I/O errors.
    pub fn create_snapshot(&self) -> Result<String> {
        todo!("engine")
    }

    /// Names of the snapshots, oldest first.
    ///
    /// # Errors
    /// I/O errors.
    pub fn list_snapshots(&self) -> Result<Vec<String>> {
        todo!("engine")
    }

    /// Deletes one snapshot.
    ///
    /// # Errors
    /// [`Error::SnapshotNotFound`](crate::Error::SnapshotNotFound); I/O errors.
    pub fn delete_snapshot(&self, name: &str) -> Result<()> {
        let _ = name;
        todo!("engine")
    }

    /// Deletes every snapshot.
    ///
    /// # Errors
    /// I/O errors.
    pub fn delete_all_snapshots(&self) -> Result<()> {
        todo!("engine")
    }

    /// Current counters and gauges.
    pub fn stats(&self) -> Stats {
        todo!("engine")
    }

    /// Flushes everything to disk, stops background work and releases the directory.
    ///
    /// # Errors
    /// I/O errors of the final flush.
    pub fn close(self) -> Result<()> {
        todo!("engine")
    }
}

impl Querier for Storage {
    fn select(&self, matchers: &[Matcher], range: TimeRange) -> Result<SeriesIter> {
        let _ = (matchers, range);
        todo!("engine")
    }

    fn series(&self, matchers: &[Matcher], range: TimeRange) -> Result<Vec<Labels>> {
        let _ = (matchers, range);
        todo!("engine")
    }

    fn label_names(&self, matchers: &[Matcher], range: TimeRange) -> Result<Vec<String>> {
        let _ = (matchers, range);
        todo!("engine")
    }

    fn label_values(
        &self,
        name: &str,
        matchers: &[Matcher],
        range: TimeRange,
    ) -> Result<Vec<String>> {
        let _ = (name, matchers, range);
        todo!("engine")
    }
}

/// Appender of a [`Storage`]; `Send`, so a request handler may move it across threads.
pub struct StorageAppender {
    _priv: (),
}

impl Appender for StorageAppender {
    fn append(&mut self, labels: &Labels, sample: Sample) -> Result<()> {
        let _ = (labels, sample);
        todo!("engine")
    }

    fn append_keyed(
        &mut self,
        key: &[u8],
        labels: &mut dyn FnMut() -> Labels,
        sample: Sample,
    ) -> Result<()> {
        let _ = (key, labels, sample);
        todo!("engine")
    }

    fn commit(&mut self) -> Result<()> {
        todo!("engine")
    }
}
