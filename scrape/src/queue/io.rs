//! The disk work done outside the queue's lock: reading a backlogged block, and the
//! fsyncs of a sync.

use std::fs::File;
use std::os::unix::fs::FileExt;
use std::path::PathBuf;
use std::sync::Arc;

use super::Block;
use super::error::{QueueError, Result, io_err};
use super::files;
use super::segment::{RECORD_HEADER_BYTES, check_header};

/// What `State::take_next` handed out.
pub(crate) enum Taken {
    /// Nothing unread.
    Empty,
    /// A block from the memory cache.
    Memory(Block),
    /// A block to read from its segment.
    Disk(DiskRead),
}

/// A backlogged block to read from disk, outside the lock.
pub(crate) struct DiskRead {
    pub id: u64,
    pub len: u32,
    pub file: Arc<File>,
    pub path: PathBuf,
    pub offset: u64,
}

/// Why a [`DiskRead`] failed.
pub(crate) enum ReadFailure {
    /// The record on disk is damaged (or gone): skip it.
    Corrupt,
    /// The read itself failed.
    Io(QueueError),
}

impl DiskRead {
    /// Reads and checks the record.
    pub fn read(&self) -> std::result::Result<Vec<u8>, ReadFailure> {
        let eof = |e: std::io::Error| match e.kind() {
            std::io::ErrorKind::UnexpectedEof => ReadFailure::Corrupt,
            _ => ReadFailure::Io(io_err(&self.path)(e)),
        };
        let mut head = [0u8; RECORD_HEADER_BYTES];
        self.file
            .read_exact_at(&mut head, self.offset)
            .map_err(eof)?;
        let crc = match check_header(&head) {
            Some((len, crc)) if len == self.len => crc,
            _ => return Err(ReadFailure::Corrupt),
        };
        let mut data = vec![0u8; self.len as usize];
        let at = self.offset + RECORD_HEADER_BYTES as u64;
        self.file.read_exact_at(&mut data, at).map_err(eof)?;
        if crc32fast::hash(&data) != crc {
            return Err(ReadFailure::Corrupt);
        }
        Ok(data)
    }
}

/// Files to fsync, taken under the lock and synced outside it.
pub(crate) struct SyncJob {
    pub files: Vec<(Arc<File>, PathBuf)>,
    pub dir: PathBuf,
}

impl SyncJob {
    /// Fsyncs the files' data, then the directory (creations, renames, removals).
    pub fn run(self) -> Result<()> {
        for (file, path) in &self.files {
            file.sync_data().map_err(io_err(path))?;
        }
        files::sync_dir(&self.dir)
    }
}
