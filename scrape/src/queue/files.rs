//! File names and file operations of the queue directory.

use std::fs::{File, OpenOptions};
use std::io::Write;
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use super::error::{QueueError, Result, io_err};
use super::segment::{SEGMENT_HEADER_BYTES, segment_header};

/// The metadata file's name.
pub const META_FILE: &str = "meta";
/// The metadata file's temporary name while it is replaced.
pub const META_TMP_FILE: &str = "meta.tmp";
/// The lock file's name: `flock`ed exclusively while a queue has the directory open.
pub const LOCK_FILE: &str = "lock";
/// The ack journal's name.
pub const ACKS_FILE: &str = "acks";

/// A segment's file name: its start position as 16 lowercase hex digits.
pub fn segment_name(start: u64) -> String {
    format!("{start:016x}")
}

/// The start position a segment file name stands for, if it is one.
pub fn parse_segment_name(name: &str) -> Option<u64> {
    let hex = name.len() == 16 && name.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'));
    hex.then(|| u64::from_str_radix(name, 16).ok()).flatten()
}

/// One segment file and the ids it holds.
#[derive(Debug)]
pub struct Segment {
    /// Id of the first record (the position after the header).
    pub start: u64,
    /// The file.
    pub path: PathBuf,
    /// Open for reading and writing; shared with readers outside the queue lock.
    pub file: Arc<File>,
    /// File length, header included.
    pub len: u64,
}

impl Segment {
    /// Creates a new segment file holding only the header.
    pub fn create(dir: &Path, start: u64) -> Result<Segment> {
        let path = dir.join(segment_name(start));
        let file = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(true)
            .open(&path)
            .map_err(io_err(&path))?;
        file.write_all_at(&segment_header(), 0)
            .map_err(io_err(&path))?;
        Ok(Segment {
            start,
            path,
            file: Arc::new(file),
            len: SEGMENT_HEADER_BYTES as u64,
        })
    }

    /// The id the next record appended here gets (one past the last byte).
    pub fn end(&self) -> u64 {
        self.start + (self.len - SEGMENT_HEADER_BYTES as u64)
    }

    /// The file offset of the record with this id.
    pub fn offset_of(&self, id: u64) -> u64 {
        id - self.start + SEGMENT_HEADER_BYTES as u64
    }
}

/// Replaces `dir/name` with `bytes`: written to a temporary file, fsynced, renamed.
pub fn replace_file(dir: &Path, tmp: &str, name: &str, bytes: &[u8]) -> Result<()> {
    let tmp_path = dir.join(tmp);
    let mut f = File::create(&tmp_path).map_err(io_err(&tmp_path))?;
    f.write_all(bytes).map_err(io_err(&tmp_path))?;
    f.sync_all().map_err(io_err(&tmp_path))?;
    let path = dir.join(name);
    std::fs::rename(&tmp_path, &path).map_err(io_err(&path))
}

/// Fsyncs a directory so that creations, renames and removals in it are durable.
pub fn sync_dir(dir: &Path) -> Result<()> {
    File::open(dir)
        .and_then(|d| d.sync_all())
        .map_err(io_err(dir))
}

/// Takes the directory's exclusive lock; it is released when the returned file is
/// dropped (or the process dies).
///
/// # Errors
///
/// [`QueueError::Locked`] when another open queue holds it.
pub fn lock_dir(dir: &Path) -> Result<File> {
    let path = dir.join(LOCK_FILE);
    let file = OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(false)
        .open(&path)
        .map_err(io_err(&path))?;
    match file.try_lock() {
        Ok(()) => Ok(file),
        Err(std::fs::TryLockError::WouldBlock) => Err(QueueError::Locked { path }),
        Err(std::fs::TryLockError::Error(e)) => Err(io_err(&path)(e)),
    }
}
