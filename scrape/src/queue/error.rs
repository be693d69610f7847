//! The queue's error type.

use std::path::PathBuf;

/// What can go wrong with a [`PersistentQueue`](super::PersistentQueue).
///
/// Damage inside segment files is never an error: recovery skips or cuts it and counts it
/// in [`QueueStats::corrupt_blocks`](super::QueueStats::corrupt_blocks).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum QueueError {
    /// A file operation failed; `path` names the file or directory.
    #[error("persistent queue I/O on {path}: {source}")]
    Io {
        /// The file or directory the operation was on.
        path: PathBuf,
        /// The underlying error.
        #[source]
        source: std::io::Error,
    },
    /// The metadata file (`meta`) cannot be decoded.
    #[error("corrupt persistent queue metadata {path} at byte {offset}: {reason}")]
    Corrupt {
        /// The metadata file.
        path: PathBuf,
        /// Byte offset in the file where decoding failed.
        offset: usize,
        /// What was expected there.
        reason: &'static str,
    },
    /// A segment file's 8-byte header is short or not a queue segment header.
    #[error("bad persistent queue segment header: {reason}")]
    BadSegmentHeader {
        /// What was wrong with it.
        reason: &'static str,
    },
    /// A block longer than [`MAX_BLOCK_BYTES`](super::MAX_BLOCK_BYTES) was pushed to an
    /// unbounded queue (a bounded queue drops and counts it instead).
    #[error("block of {len} bytes exceeds the persistent queue limit of {max} bytes")]
    BlockTooLarge {
        /// The block's length.
        len: usize,
        /// The limit.
        max: usize,
    },
    /// `ack` of an id that `next` never handed out.
    #[error("ack of block {id}, which was never handed out")]
    UnknownBlock {
        /// The id passed to `ack`.
        id: u64,
    },
    /// Another open queue (in this or another process) holds the directory's lock.
    #[error("persistent queue {path} is in use by another process or instance")]
    Locked {
        /// The lock file.
        path: PathBuf,
    },
    /// The queue was closed.
    #[error("persistent queue is closed")]
    Closed,
}

/// The queue's result type.
pub type Result<T> = std::result::Result<T, QueueError>;

/// Wraps an I/O error with the path it happened on.
pub(crate) fn io_err(path: impl Into<PathBuf>) -> impl FnOnce(std::io::Error) -> QueueError {
    let path = path.into();
    move |source| QueueError::Io { path, source }
}
