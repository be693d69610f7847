//! The write-ahead log: opaque payloads appended durably before a commit is acknowledged,
//! replayed on open.
//!
//! The log is a directory of segment files named by a 16-hex-digit sequence number; each
//! holds a small header and records `length | crc32 | payload` (see `docs/format/wal.md`).
//! The engine encodes its rows into payloads; the log only stores and replays them.
//!
//! Durability, as [`FsyncPolicy`] says:
//! - when [`Wal::append`] returns, the record has been handed to the OS with one write, so
//!   it survives the death of the process (`kill -9`);
//! - with [`FsyncPolicy::EveryCommit`] it was also fdatasync'ed, so it survives power loss;
//!   appenders waiting at the same time share one fdatasync (group commit);
//! - with [`FsyncPolicy::Interval`] a background thread fdatasyncs the log at that interval
//!   when something was written; a power loss loses at most the last interval.
//!
//! Recovery never refuses to start: a torn or corrupt record ends its segment, which is
//! cut there with a warning; a segment whose header is damaged is renamed aside.
//!
//! ```
//! use gnomon_tsdb_core::wal::{Wal, WalOptions};
//! # fn main() -> gnomon_tsdb_core::Result<()> {
//! let dir = tempfile::tempdir().unwrap();
//! let wal = Wal::open(dir.path(), WalOptions::default())?;
//! wal.replay(|_, _| Ok(()))?;
//! wal.append(b"rows of commit 1")?;
//! wal.close()?;
//!
//! let wal = Wal::open(dir.path(), WalOptions::default())?;
//! let mut seen = Vec::new();
//! wal.replay(|_seq, payload| {
//!     seen.push(payload.to_vec());
//!     Ok(())
//! })?;
//! assert_eq!(seen, vec![b"rows of commit 1".to_vec()]);
//! # Ok(())
//! # }
//! ```

mod format;
mod reader;
mod segment;
mod sync;
mod writer;

#[cfg(test)]
mod tests;

use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use parking_lot::Mutex;

pub use format::MAX_PAYLOAD_BYTES;

use self::sync::{SyncGate, Syncer};
use self::writer::Writer;
use crate::error::{Error, Result};
use crate::fs::{create_dir_all_synced, sync_dir};
use crate::storage::FsyncPolicy;

/// Options of [`Wal::open`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct WalOptions {
    /// A new segment is started before a record that would make the current one exceed
    /// this many bytes (a segment always holds at least one record). Default 128 MiB: the
    /// engine deletes whole segments once their rows are in parts, so this bounds the log
    /// kept beyond what the engine needs, while keeping rotations (each costs two fsyncs)
    /// rare.
    pub segment_bytes: u64,
    /// When records reach stable storage.
    pub fsync: FsyncPolicy,
}

impl Default for WalOptions {
    fn default() -> Self {
        WalOptions {
            segment_bytes: 128 << 20,
            fsync: FsyncPolicy::Interval(std::time::Duration::from_secs(1)),
        }
    }
}

/// What [`Wal::replay`] found.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ReplayStats {
    /// Segments replayed.
    pub segments: u64,
    /// Intact records passed to the callback.
    pub records: u64,
    /// Payload bytes of those records.
    pub bytes: u64,
    /// Segments whose damaged tail was cut off.
    pub truncated_segments: u64,
}

/// A write-ahead log over one directory. `Send + Sync`: share it (for example in an `Arc`)
/// between appending threads.
pub struct Wal {
    inner: Arc<Inner>,
    syncer: Option<Syncer>,
    closed: bool,
}

struct Inner {
    dir: PathBuf,
    fsync: FsyncPolicy,
    /// Segments that existed at open, oldest first: what [`Wal::replay`] reads.
    to_replay: Vec<u64>,
    writer: Mutex<Writer>,
    gate: SyncGate,
}

impl fmt::Debug for Wal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Wal")
            .field("dir", &self.inner.dir)
            .field("fsync", &self.inner.fsync)
            .finish_non_exhaustive()
    }
}

impl Wal {
    /// Opens the log in `dir`, creating the directory if needed, and starts a new segment
    /// after the existing ones (which [`Wal::replay`] reads). Segments with a damaged
    /// header are renamed `<name>.corrupt` with a warning; other files are left alone.
    /// Does not replay.
    ///
    /// # Errors
    /// [`Error::InvalidArgument`] for a zero `segment_bytes` or a zero sync interval;
    /// [`Error::Io`] when the directory cannot be created or listed, or the new segment or
    /// the sync thread cannot be created.
    pub fn open(dir: &Path, opts: WalOptions) -> Result<Wal> {
        check_options(&opts)?;
        create_dir_all_synced(dir)?;
        let scan = segment::scan_dir(dir)?;
        let next_seq = scan.max_seq.map_or(Ok(1), |max| {
            max.checked_add(1).ok_or_else(|| {
                Error::corrupt(
                    dir,
                    0,
                    "wal directory",
                    "segment sequence numbers exhausted",
                )
            })
        })?;
        let to_replay = scan.segments.keys().copied().collect();
        let writer = Writer::create(dir, opts.segment_bytes, next_seq, scan.segments)?;
        let inner = Arc::new(Inner {
            dir: dir.to_path_buf(),
            fsync: opts.fsync,
            to_replay,
            writer: Mutex::new(writer),
            gate: SyncGate::default(),
        });
        let syncer = match opts.fsync {
            FsyncPolicy::EveryCommit => None,
            FsyncPolicy::Interval(every) => {
                let ticking = Arc::clone(&inner);
                let syncer = Syncer::start(every, move || ticking.background_sync())
                    .map_err(|e| Error::io("spawn sync thread for", dir, e))?;
                Some(syncer)
            }
        };
        Ok(Wal {
            inner,
            syncer,
            closed: false,
        })
    }

    /// The directory of the log.
    pub fn dir(&self) -> &Path {
        &self.inner.dir
    }

    /// Replays every intact record of the segments that existed when the log was opened,
    /// oldest first, calling `f(segment_seq, payload)`. Call it before the first append;
    /// records appended since open are not replayed.
    ///
    /// A torn or corrupt record (short header, short payload, crc mismatch, absurd length,
    /// zero-filled tail) ends its segment: the file is truncated after the last intact
    /// record with a warning naming the path, offset and reason, and later segments are
    /// still replayed.
    ///
    /// # Errors
    /// The first error returned by `f` (the replay stops there); [`Error::Io`] when a
    /// segment cannot be read or truncated; [`Error::Corrupt`] when a segment's header was
    /// damaged after open.
    pub fn replay(&self, mut f: impl FnMut(u64, &[u8]) -> Result<()>) -> Result<ReplayStats> {
        let mut stats = ReplayStats::default();
        for &seq in &self.inner.to_replay {
            let path = self.inner.dir.join(segment::segment_name(seq));
            let found = reader::replay_segment(&path, seq, &mut f)?;
            self.inner
                .writer
                .lock()
                .set_sealed_len(seq, found.map(|s| s.len));
            let Some(segment) = found else { continue };
            stats.segments += 1;
            stats.records += segment.records;
            stats.bytes += segment.payload_bytes;
            stats.truncated_segments += u64::from(segment.truncated);
        }
        Ok(stats)
    }

    /// Appends one record holding `payload`, written with a single `write(2)` of header and
    /// payload. When it returns, the record is in the OS and survives `kill -9`; with
    /// [`FsyncPolicy::EveryCommit`] it was also fdatasync'ed (shared with concurrent
    /// appenders) and survives power loss.
    ///
    /// # Errors
    /// [`Error::InvalidArgument`] for an empty payload or one longer than
    /// [`MAX_PAYLOAD_BYTES`]; [`Error::Io`] when the write, a rotation or the fdatasync
    /// fails. After a failed fsync every later call fails too: what reached the disk is
    /// unknown.
    pub fn append(&self, payload: &[u8]) -> Result<()> {
        check_payload(payload)?;
        self.inner.gate.check()?;
        let number = {
            let mut writer = self.inner.writer.lock();
            if writer.needs_rotation(payload.len()) {
                self.inner.rotate_locked(&mut writer)?;
            }
            writer.write(payload)?
        };
        match self.inner.fsync {
            FsyncPolicy::EveryCommit => self.inner.sync_through(number),
            FsyncPolicy::Interval(_) => Ok(()),
        }
    }

    /// Syncs the current segment and starts a new one; returns the new segment's seq. Every
    /// record appended before this call lives in segments with a smaller seq. When the
    /// current segment holds no record it stays current and its seq is returned.
    ///
    /// # Errors
    /// [`Error::Io`] when the sync or the creation of the new segment fails.
    pub fn rotate(&self) -> Result<u64> {
        self.inner.gate.check()?;
        let mut writer = self.inner.writer.lock();
        if writer.active_is_empty() {
            return Ok(writer.active_seq());
        }
        self.inner.rotate_locked(&mut writer)
    }

    /// Deletes the segments with seq < `seq`, once the engine has persisted their contents.
    /// The current segment is never deleted. The directory is fsynced afterwards.
    ///
    /// # Errors
    /// [`Error::Io`] when a file cannot be removed or the directory cannot be fsynced.
    pub fn remove_segments_before(&self, seq: u64) -> Result<()> {
        let doomed = self.inner.writer.lock().take_sealed_before(seq);
        if doomed.is_empty() {
            return Ok(());
        }
        for (i, &old) in doomed.keys().enumerate() {
            let path = self.inner.dir.join(segment::segment_name(old));
            if let Err(err) = segment::remove_segment(&path) {
                let left = doomed.into_iter().skip(i).collect();
                self.inner.writer.lock().restore_sealed(left);
                return Err(err);
            }
        }
        sync_dir(&self.inner.dir)
    }

    /// Bytes of all segments on disk.
    pub fn size_bytes(&self) -> u64 {
        self.inner.writer.lock().size_bytes()
    }

    /// Stops the background sync thread, syncs the current segment and closes the log.
    /// Dropping the log does the same, logging errors instead of returning them.
    ///
    /// # Errors
    /// [`Error::Io`] when the final fdatasync fails (or an earlier one did).
    pub fn close(mut self) -> Result<()> {
        self.shutdown()
    }

    fn shutdown(&mut self) -> Result<()> {
        if std::mem::replace(&mut self.closed, true) {
            return Ok(());
        }
        if let Some(mut syncer) = self.syncer.take() {
            syncer.stop();
        }
        let target = self.inner.writer.lock().written();
        self.inner.sync_through(target)
    }
}

impl Drop for Wal {
    fn drop(&mut self) {
        if let Err(err) = self.shutdown() {
            log::error!("WAL {}: closing: {err}", self.inner.dir.display());
        }
    }
}

impl Inner {
    /// Waits until record `number` is on stable storage (group commit).
    fn sync_through(&self, number: u64) -> Result<()> {
        self.gate
            .sync_through(number, || self.writer.lock().sync_target())
    }

    /// Syncs the active segment and starts the next one.
    fn rotate_locked(&self, writer: &mut Writer) -> Result<u64> {
        if let Err(err) = writer.sync_active() {
            return Err(self.gate.poison("fdatasync", writer.active_path(), err));
        }
        self.gate.mark_synced(writer.written());
        writer.start_next_segment()
    }

    /// One tick of the interval policy: sync when something was written since the last.
    fn background_sync(&self) {
        if self.gate.is_poisoned() {
            return;
        }
        let target = self.writer.lock().written();
        if let Err(err) = self.sync_through(target) {
            log::error!("WAL {}: background sync: {err}", self.dir.display());
        }
    }
}

fn check_options(opts: &WalOptions) -> Result<()> {
    if opts.segment_bytes == 0 {
        return Err(Error::InvalidArgument {
            what: "wal segment_bytes",
            detail: "must be positive".into(),
        });
    }
    if opts.fsync == FsyncPolicy::Interval(std::time::Duration::ZERO) {
        return Err(Error::InvalidArgument {
            what: "wal fsync interval",
            detail: "must be positive (use FsyncPolicy::EveryCommit to sync every append)".into(),
        });
    }
    Ok(())
}

fn check_payload(payload: &[u8]) -> Result<()> {
    if payload.is_empty() {
        return Err(Error::InvalidArgument {
            what: "wal payload",
            detail: "empty payloads cannot be told apart from a zero-filled tail".into(),
        });
    }
    if payload.len() > MAX_PAYLOAD_BYTES {
        return Err(Error::InvalidArgument {
            what: "wal payload",
            detail: format!(
                "{} bytes, more than the maximum {MAX_PAYLOAD_BYTES}",
                payload.len()
            ),
        });
    }
    Ok(())
}
