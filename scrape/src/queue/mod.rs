//! A disk-backed FIFO of opaque blocks with acknowledgements: the remote-write client's
//! queue per `-remoteWrite.url` (vmagent's `-remoteWrite.tmpDataPath`, bounded by
//! `-remoteWrite.maxDiskUsagePerURL`).
//!
//! Blocks are appended to segment files (`docs/format/persistent-queue.md`) and handed
//! out by [`PersistentQueue::next`] in push order, each once per process run; several
//! senders may hold blocks at once and [`ack`](PersistentQueue::ack) them in any order.
//! Recently pushed blocks are also kept in memory (up to [`MEMORY_CACHE_BYTES`]), so a
//! sender that keeps up never reads the files; a backlog is read back from disk.
//!
//! Durability:
//! - when [`push`](PersistentQueue::push) returns, the block was handed to the OS with
//!   one `write(2)`: it survives `kill -9` of the process;
//! - when [`ack`](PersistentQueue::ack) returns, the ack was written (12 bytes) to the
//!   ack journal: after `kill -9` the block is never handed out again;
//! - nothing is fsynced on push or ack: [`sync`](PersistentQueue::sync) (call it on an
//!   interval, e.g. every second) and [`close`](PersistentQueue::close) fsync, outside
//!   the lock; a power loss loses what was written since the last of those. An fsync per
//!   push would cost 10–50× the push (see the `remote_queue` bench).
//!
//! On open, every segment is scanned: a torn tail is cut, a damaged record in the middle
//! is skipped and counted in [`QueueStats::corrupt_blocks`]. Blocks handed out but not
//! acked before the process ended are handed out again.
//!
//! ```
//! use gnomon_scrape::queue::{PersistentQueue, QueueOptions};
//! # fn main() -> Result<(), gnomon_scrape::queue::QueueError> {
//! let dir = tempfile::tempdir().unwrap();
//! let opts = || QueueOptions { dir: dir.path().join("url-1"), ..QueueOptions::default() };
//! let q = PersistentQueue::open(opts())?;
//! q.push(b"block 1")?;
//! q.push(b"block 2")?;
//! let first = q.next()?.expect("a block");
//! let second = q.next()?.expect("a block");
//! q.ack(second.id)?; // out of order: block 1 is still being sent
//! q.close()?;
//!
//! let q = PersistentQueue::open(opts())?;
//! let again = q.next()?.expect("block 1 again");
//! assert_eq!((again.id, again.data), (first.id, b"block 1".to_vec()));
//! assert!(q.next()?.is_none()); // block 2 was acked
//! # Ok(())
//! # }
//! ```

mod error;
mod files;
mod io;
mod meta;
mod recover;
pub mod segment;
mod state;
#[cfg(test)]
mod tests;

use std::path::PathBuf;
use std::sync::Arc;

use parking_lot::Mutex;
use tokio::sync::Notify;

pub use error::{QueueError, Result};
use io::{ReadFailure, Taken};
pub use segment::MAX_BLOCK_BYTES;
use state::State;

/// Default target size of a segment file: 32 MiB, as vmagent's persistent queue chunks,
/// large enough that rotation (a file creation) is rare.
pub const DEFAULT_SEGMENT_BYTES: u64 = 32 << 20;
/// The smallest segment size the clamping in [`PersistentQueue::open`] goes down to.
pub const MIN_SEGMENT_BYTES: u64 = 64;
/// Memory kept for pushed blocks not yet handed out (8 MiB): a few seconds of a busy
/// sender's blocks, so the steady state never re-reads the files.
pub const MEMORY_CACHE_BYTES: usize = 8 << 20;

/// How to open a [`PersistentQueue`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QueueOptions {
    /// The queue's own directory, created if missing.
    pub dir: PathBuf,
    /// Disk budget for the segment files; the oldest blocks are dropped beyond it.
    /// 0 = unbounded.
    pub max_disk_bytes: u64,
    /// Target segment file size (0 = [`DEFAULT_SEGMENT_BYTES`]); clamped to a quarter of
    /// `max_disk_bytes` so that a drop frees at most a quarter of the budget.
    pub segment_bytes: u64,
    /// Human name stored in the metadata and logged (e.g. the redacted URL).
    pub name: String,
}

impl Default for QueueOptions {
    fn default() -> Self {
        QueueOptions {
            dir: PathBuf::from("queue"),
            max_disk_bytes: 0,
            segment_bytes: DEFAULT_SEGMENT_BYTES,
            name: String::new(),
        }
    }
}

impl QueueOptions {
    /// The segment size actually used: the target, at most a quarter of the budget, at
    /// least [`MIN_SEGMENT_BYTES`].
    pub fn effective_segment_bytes(&self) -> u64 {
        let mut seg = match self.segment_bytes {
            0 => DEFAULT_SEGMENT_BYTES,
            n => n,
        };
        if self.max_disk_bytes > 0 {
            seg = seg.min(self.max_disk_bytes / 4);
        }
        seg.max(MIN_SEGMENT_BYTES)
    }
}

/// A block handed out by [`PersistentQueue::next`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Block {
    /// The block's position in the queue: strictly increasing in push order, stable
    /// across restarts. Pass it to [`PersistentQueue::ack`].
    pub id: u64,
    /// The bytes pushed.
    pub data: Vec<u8>,
}

/// Counters of a queue. `pending_*` are the blocks not yet acked (unread or handed out);
/// the others count since [`PersistentQueue::open`].
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct QueueStats {
    /// Blocks pushed and not yet acked.
    pub pending_blocks: u64,
    /// Payload bytes of those.
    pub pending_bytes: u64,
    /// Blocks dropped to stay in the disk budget (never delivered, or not acked).
    pub dropped_blocks: u64,
    /// Payload bytes of those.
    pub dropped_bytes: u64,
    /// Blocks pushed and written.
    pub written_blocks: u64,
    /// Payload bytes of those.
    pub written_bytes: u64,
    /// Damaged records skipped on open or on read.
    pub corrupt_blocks: u64,
}

/// The disk-backed queue. `Send + Sync`: share it as `Arc<PersistentQueue>`.
#[derive(Debug)]
pub struct PersistentQueue {
    state: Mutex<State>,
    notify: Arc<Notify>,
}

impl PersistentQueue {
    /// Opens the queue in `opts.dir` (created if missing), recovering what an earlier
    /// process left: unacked blocks come out again, torn tails are cut, damaged records
    /// are skipped and counted.
    ///
    /// # Errors
    ///
    /// [`QueueError::Io`] when the directory or a file cannot be read or written;
    /// [`QueueError::Corrupt`] when the `meta` file is damaged; [`QueueError::Locked`]
    /// when another queue (in this process or another) has the directory open: the
    /// directory's `lock` file is `flock`ed until the queue is closed or dropped.
    pub fn open(opts: QueueOptions) -> Result<PersistentQueue> {
        let state = recover::open(&opts, opts.effective_segment_bytes())?;
        Ok(PersistentQueue {
            state: Mutex::new(state),
            notify: Arc::new(Notify::new()),
        })
    }

    /// Appends a block. When it returns, the block was written to its segment file with
    /// one `write(2)` (it survives `kill -9`, not power loss until [`sync`](Self::sync)).
    /// When the disk budget would be exceeded, the oldest segments are dropped first; a
    /// block larger than the whole budget is itself dropped. Both are counted in
    /// [`QueueStats::dropped_blocks`], and are not errors.
    ///
    /// # Errors
    ///
    /// [`QueueError::Closed`] after [`close`](Self::close); [`QueueError::Io`] when the
    /// write fails; [`QueueError::BlockTooLarge`] for a block over [`MAX_BLOCK_BYTES`] in
    /// an unbounded queue.
    pub fn push(&self, block: &[u8]) -> Result<()> {
        self.state.lock().push(block)?;
        self.notify.notify_waiters();
        Ok(())
    }

    /// The oldest block not yet handed out in this process run, or `None` when there is
    /// none (it does not wait: await [`notify`](Self::notify) for that).
    ///
    /// # Errors
    ///
    /// [`QueueError::Closed`] after [`close`](Self::close); [`QueueError::Io`] when
    /// reading a backlogged block fails (it will be handed out by a later call).
    pub fn next(&self) -> Result<Option<Block>> {
        loop {
            let read = match self.state.lock().take_next()? {
                Taken::Empty => return Ok(None),
                Taken::Memory(block) => return Ok(Some(block)),
                Taken::Disk(read) => read,
            };
            match read.read() {
                Ok(data) => return Ok(Some(Block { id: read.id, data })),
                Err(ReadFailure::Corrupt) => self.state.lock().forget_corrupt(read.id)?,
                Err(ReadFailure::Io(e)) => {
                    self.state.lock().unread_again(read.id);
                    return Err(e);
                }
            }
        }
    }

    /// Marks a handed-out block as done (delivered, or given up on): it is never handed
    /// out again, also after a restart. When it returns the ack was written to the ack
    /// journal with one `write(2)`. Acking a block again, or one that was dropped, does
    /// nothing.
    ///
    /// # Errors
    ///
    /// [`QueueError::UnknownBlock`] for an id `next` never handed out;
    /// [`QueueError::Closed`] after [`close`](Self::close) (the block is handed out
    /// again after the next open); [`QueueError::Io`] when the journal or metadata write
    /// fails.
    pub fn ack(&self, id: u64) -> Result<()> {
        self.state.lock().ack(id)
    }

    /// Notified (`notify_waiters`) after every push and on close. To wait without missing
    /// a push, create and `enable` the `notified()` future before calling
    /// [`next`](Self::next), and await it only when `next` returned `None`.
    pub fn notify(&self) -> Arc<Notify> {
        Arc::clone(&self.notify)
    }

    /// The counters.
    pub fn stats(&self) -> QueueStats {
        self.state.lock().stats()
    }

    /// Fsyncs the active segment, the ack journal and the directory: when it returns,
    /// every push and ack so far survives power loss.
    ///
    /// # Errors
    ///
    /// [`QueueError::Io`] naming the file whose fsync failed.
    pub fn sync(&self) -> Result<()> {
        let job = self.state.lock().sync_job();
        job.run()
    }

    /// Syncs, folds the ack journal into the metadata file, releases the directory's
    /// lock (another queue may open it now) and closes the queue: later `push`, `next`
    /// and `ack` give [`QueueError::Closed`]. Waiters on [`notify`](Self::notify) are
    /// woken. Closing twice is fine.
    ///
    /// # Errors
    ///
    /// [`QueueError::Io`] when a write or fsync fails.
    pub fn close(&self) -> Result<()> {
        let mut state = self.state.lock();
        if !state.closed {
            state.sync_job().run()?;
            state.write_meta()?;
            state.closed = true;
            state.lock = None;
        }
        drop(state);
        self.notify.notify_waiters();
        Ok(())
    }
}
