//! The writing side of the log: the active segment, the sizes of the other segments, and
//! the numbering of records. Always used under the WAL's writer mutex.

use std::collections::BTreeMap;
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use super::format::{self, SEGMENT_HEADER_LEN};
use super::segment;
use super::sync::SegmentFile;
use crate::error::{Error, Result};

/// The active segment and the bookkeeping of the others.
#[derive(Debug)]
pub(crate) struct Writer {
    dir: PathBuf,
    /// Rotate before a record that would make the active segment exceed this.
    segment_bytes: u64,
    active_seq: u64,
    active: Arc<SegmentFile>,
    /// Bytes in the active segment (where the next record goes).
    active_len: u64,
    /// Segments other than the active one: seq → size in bytes.
    sealed: BTreeMap<u64, u64>,
    /// Number of the last record written since open (records are numbered from 1).
    written: u64,
    /// Reused encoding buffer: header + payload of one record.
    buf: Vec<u8>,
}

impl Writer {
    /// Starts a new active segment `seq` in `dir`, after the existing `sealed` ones.
    pub(crate) fn create(
        dir: &Path,
        segment_bytes: u64,
        seq: u64,
        sealed: BTreeMap<u64, u64>,
    ) -> Result<Writer> {
        let (file, path) = segment::create_segment(dir, seq)?;
        Ok(Writer {
            dir: dir.to_path_buf(),
            segment_bytes,
            active_seq: seq,
            active: Arc::new(SegmentFile { file, path }),
            active_len: SEGMENT_HEADER_LEN,
            sealed,
            written: 0,
            buf: Vec::new(),
        })
    }

    /// Sequence number of the active segment.
    pub(crate) fn active_seq(&self) -> u64 {
        self.active_seq
    }

    /// Number of the last record written.
    pub(crate) fn written(&self) -> u64 {
        self.written
    }

    /// The active segment and the number of the last record written, for a sync.
    pub(crate) fn sync_target(&self) -> (Arc<SegmentFile>, u64) {
        (Arc::clone(&self.active), self.written)
    }

    /// Whether the active segment has no record.
    pub(crate) fn active_is_empty(&self) -> bool {
        self.active_len == SEGMENT_HEADER_LEN
    }

    /// Whether a record of `payload_len` bytes should go to a new segment: the active one
    /// already holds a record and would exceed the segment size.
    pub(crate) fn needs_rotation(&self, payload_len: usize) -> bool {
        let record = (format::RECORD_HEADER_LEN + payload_len) as u64;
        !self.active_is_empty() && self.active_len + record > self.segment_bytes
    }

    /// Writes one record with a single positional write at the end of the active segment;
    /// returns its number. On failure the file is cut back to its previous length (best
    /// effort: a later record overwrites the partial bytes anyway).
    pub(crate) fn write(&mut self, payload: &[u8]) -> Result<u64> {
        self.buf.clear();
        format::encode_record(&mut self.buf, payload);
        let file = &self.active.file;
        if let Err(err) = file.write_all_at(&self.buf, self.active_len) {
            let _ = file.set_len(self.active_len);
            return Err(Error::io("write", &self.active.path, err));
        }
        self.active_len += self.buf.len() as u64;
        self.written += 1;
        Ok(self.written)
    }

    /// Fsyncs the active segment (before it is rotated out or closed).
    pub(crate) fn sync_active(&self) -> std::io::Result<()> {
        self.active.file.sync_data()
    }

    /// Path of the active segment.
    pub(crate) fn active_path(&self) -> &Path {
        &self.active.path
    }

    /// Makes a new segment, numbered after the active one, the active segment. The caller
    /// has synced the old one.
    pub(crate) fn start_next_segment(&mut self) -> Result<u64> {
        let next = self.active_seq + 1;
        let (file, path) = segment::create_segment(&self.dir, next)?;
        self.sealed.insert(self.active_seq, self.active_len);
        self.active = Arc::new(SegmentFile { file, path });
        self.active_seq = next;
        self.active_len = SEGMENT_HEADER_LEN;
        Ok(next)
    }

    /// Records the size of sealed segment `seq` after replay (`None`: it is gone).
    pub(crate) fn set_sealed_len(&mut self, seq: u64, len: Option<u64>) {
        match len {
            Some(len) => {
                self.sealed.insert(seq, len);
            }
            None => {
                self.sealed.remove(&seq);
            }
        }
    }

    /// Takes the sealed segments with seq < `seq` out of the bookkeeping.
    pub(crate) fn take_sealed_before(&mut self, seq: u64) -> BTreeMap<u64, u64> {
        let keep = self.sealed.split_off(&seq);
        std::mem::replace(&mut self.sealed, keep)
    }

    /// Puts segments back into the bookkeeping (their removal failed).
    pub(crate) fn restore_sealed(&mut self, segments: BTreeMap<u64, u64>) {
        self.sealed.extend(segments);
    }

    /// Bytes of every segment on disk, the active one included.
    pub(crate) fn size_bytes(&self) -> u64 {
        self.sealed.values().sum::<u64>() + self.active_len
    }
}
