//! The queue's state behind its lock: segments, unread and in-flight blocks, acks, and
//! the operations on them. Disk reads of backlogged blocks happen outside the lock
//! ([`DiskRead`]).

use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::fs::File;
use std::io::Write;
use std::os::unix::fs::FileExt;
use std::path::PathBuf;
use std::sync::Arc;

use super::error::{QueueError, Result, io_err};
use super::files::{self, META_FILE, META_TMP_FILE, Segment};
use super::io::{DiskRead, SyncJob, Taken};
use super::meta::{Meta, encode_ack};
use super::segment::{MAX_BLOCK_BYTES, RECORD_HEADER_BYTES, SEGMENT_HEADER_BYTES, encode_record};
use super::{Block, QueueStats};

/// The ack journal is folded into the metadata file after this many entries (12 bytes
/// each, 192 KiB): a metadata rewrite (tmp file, fsync, rename) costs about as much as
/// one fsync, ~10 ms on the development VM (`remote_queue/steady_sync_every_push`), so
/// one every 16384 acks stays under 1 µs an ack; replaying 16384 entries on open is a
/// sub-millisecond CRC pass.
pub(crate) const JOURNAL_COMPACT_ENTRIES: u64 = 16384;

/// A block pushed but not yet handed out.
#[derive(Debug)]
pub(crate) struct Unread {
    pub id: u64,
    pub len: u32,
    /// The payload, when it is in the memory cache; else it is read from its segment.
    pub data: Option<Vec<u8>>,
}

/// Counters since open.
#[derive(Debug, Default)]
pub(crate) struct Counters {
    pub dropped_blocks: u64,
    pub dropped_bytes: u64,
    pub written_blocks: u64,
    pub written_bytes: u64,
    pub corrupt_blocks: u64,
}

/// The ack journal file.
#[derive(Debug)]
pub(crate) struct Journal {
    pub file: Arc<File>,
    pub path: PathBuf,
    pub entries: u64,
}

/// Everything behind the queue's lock.
#[derive(Debug)]
pub(crate) struct State {
    pub dir: PathBuf,
    pub name: String,
    pub max_disk_bytes: u64,
    pub segment_bytes: u64,
    /// Oldest first; never empty: the last one is the active segment appends go to.
    pub segments: VecDeque<Segment>,
    pub unread: VecDeque<Unread>,
    /// Handed out, not acked: id → payload length.
    pub in_flight: BTreeMap<u64, u32>,
    /// Acked ids at or above `head`.
    pub acked: BTreeSet<u64>,
    /// Every id below is acked or dropped.
    pub head: u64,
    pub pending_bytes: u64,
    pub cached_bytes: usize,
    /// Bound of `cached_bytes` (`MEMORY_CACHE_BYTES`; tests lower it).
    pub cache_limit: usize,
    /// Sum of the segment file lengths.
    pub disk_bytes: u64,
    pub journal: Journal,
    /// Journal entries that trigger a metadata rewrite (`JOURNAL_COMPACT_ENTRIES`;
    /// tests lower it).
    pub compact_after: u64,
    /// Segments rotated out and not yet fsynced (by the next [`State::sync_job`]).
    pub unsynced: Vec<(Arc<File>, PathBuf)>,
    pub counters: Counters,
    pub closed: bool,
    /// Holds the directory's lock until the queue is closed or dropped.
    pub lock: Option<File>,
    /// Reused record encoding buffer.
    pub buf: Vec<u8>,
}

impl State {
    /// The id the next pushed block gets.
    pub fn write_pos(&self) -> u64 {
        self.active().end()
    }

    fn active(&self) -> &Segment {
        self.segments
            .back()
            .expect("BUG: queue without an active segment")
    }

    /// The counters and pending totals.
    pub fn stats(&self) -> QueueStats {
        let c = &self.counters;
        QueueStats {
            pending_blocks: (self.unread.len() + self.in_flight.len()) as u64,
            pending_bytes: self.pending_bytes,
            dropped_blocks: c.dropped_blocks,
            dropped_bytes: c.dropped_bytes,
            written_blocks: c.written_blocks,
            written_bytes: c.written_bytes,
            corrupt_blocks: c.corrupt_blocks,
        }
    }

    /// Appends a block with one write, dropping the oldest segments first when the disk
    /// budget would be exceeded.
    pub fn push(&mut self, block: &[u8]) -> Result<()> {
        if self.closed {
            return Err(QueueError::Closed);
        }
        let rec = (RECORD_HEADER_BYTES + block.len()) as u64;
        if self.max_disk_bytes > 0 && rec + SEGMENT_HEADER_BYTES as u64 > self.max_disk_bytes {
            log::warn!(
                "persistent queue {:?}: dropping a {}-byte block larger than the {}-byte disk budget",
                self.name,
                block.len(),
                self.max_disk_bytes
            );
            self.counters.dropped_blocks += 1;
            self.counters.dropped_bytes += block.len() as u64;
            return Ok(());
        }
        if block.len() > MAX_BLOCK_BYTES {
            return Err(QueueError::BlockTooLarge {
                len: block.len(),
                max: MAX_BLOCK_BYTES,
            });
        }
        let active_len = self.active().len;
        if active_len > SEGMENT_HEADER_BYTES as u64 && active_len + rec > self.segment_bytes {
            self.rotate()?;
        }
        while self.max_disk_bytes > 0 && self.disk_bytes + rec > self.max_disk_bytes {
            if !self.drop_oldest()? {
                break;
            }
        }
        self.buf.clear();
        encode_record(block, &mut self.buf);
        let seg = self.segments.back_mut().expect("BUG: no active segment");
        let id = seg.end();
        seg.file
            .write_all_at(&self.buf, seg.len)
            .map_err(io_err(&seg.path))?;
        seg.len += rec;
        self.disk_bytes += rec;
        let len = block.len();
        let data = (self.cached_bytes + len <= self.cache_limit).then(|| block.to_vec());
        if data.is_some() {
            self.cached_bytes += len;
        }
        self.unread.push_back(Unread {
            id,
            len: len as u32,
            data,
        });
        self.pending_bytes += len as u64;
        self.counters.written_blocks += 1;
        self.counters.written_bytes += len as u64;
        Ok(())
    }

    /// Starts a new active segment; the current one is fsynced by the next sync.
    fn rotate(&mut self) -> Result<()> {
        let old = self.active();
        let (file, path, end) = (Arc::clone(&old.file), old.path.clone(), old.end());
        self.unsynced.push((file, path));
        let seg = Segment::create(&self.dir, end)?;
        self.disk_bytes += seg.len;
        self.segments.push_back(seg);
        Ok(())
    }

    /// Removes the oldest segment and every unacked block in it (counted as dropped).
    /// Returns false when there was nothing to drop (only an empty active segment).
    pub fn drop_oldest(&mut self) -> Result<bool> {
        if self.segments.len() == 1 {
            if self.active().len == SEGMENT_HEADER_BYTES as u64 {
                return Ok(false);
            }
            self.rotate()?;
        }
        let seg = self.segments.pop_front().expect("BUG: no segment to drop");
        let end = seg.end();
        let (mut blocks, mut bytes) = (0u64, 0u64);
        while self.unread.front().is_some_and(|u| u.id < end) {
            let u = self.unread.pop_front().expect("BUG: checked front");
            self.cached_bytes -= u.data.as_ref().map_or(0, Vec::len);
            blocks += 1;
            bytes += u64::from(u.len);
        }
        let kept = self.in_flight.split_off(&end);
        for len in std::mem::replace(&mut self.in_flight, kept).into_values() {
            blocks += 1;
            bytes += u64::from(len);
        }
        self.acked = self.acked.split_off(&end);
        log::warn!(
            "persistent queue {:?}: disk budget of {} bytes reached, dropped {blocks} blocks ({bytes} bytes) of segment {}",
            self.name,
            self.max_disk_bytes,
            seg.path.display()
        );
        self.pending_bytes -= bytes;
        self.counters.dropped_blocks += blocks;
        self.counters.dropped_bytes += bytes;
        self.remove_segment(seg)?;
        self.advance_head()?;
        Ok(true)
    }

    fn remove_segment(&mut self, seg: Segment) -> Result<()> {
        self.disk_bytes -= seg.len;
        // No fsync for a removed file (and no open handle keeping its space).
        self.unsynced.retain(|(_, path)| *path != seg.path);
        std::fs::remove_file(&seg.path).map_err(io_err(&seg.path))
    }

    /// Moves `head` to the oldest unacked id, forgets acks below it, and deletes the
    /// segments that hold only acked blocks (never the active one).
    pub fn advance_head(&mut self) -> Result<()> {
        let mut head = self.write_pos();
        if let Some(u) = self.unread.front() {
            head = head.min(u.id);
        }
        if let Some((&id, _)) = self.in_flight.first_key_value() {
            head = head.min(id);
        }
        self.head = head;
        self.acked = self.acked.split_off(&head);
        while self.segments.len() > 1 && self.segments[0].end() <= head {
            let seg = self.segments.pop_front().expect("BUG: checked length");
            self.remove_segment(seg)?;
        }
        Ok(())
    }

    /// Hands out the oldest unread block.
    pub fn take_next(&mut self) -> Result<Taken> {
        if self.closed {
            return Err(QueueError::Closed);
        }
        let Some(u) = self.unread.pop_front() else {
            return Ok(Taken::Empty);
        };
        self.in_flight.insert(u.id, u.len);
        if let Some(data) = u.data {
            self.cached_bytes -= data.len();
            return Ok(Taken::Memory(Block { id: u.id, data }));
        }
        let i = self.segments.partition_point(|s| s.start <= u.id);
        let seg = &self.segments[i
            .checked_sub(1)
            .expect("BUG: unread block before every segment")];
        Ok(Taken::Disk(DiskRead {
            id: u.id,
            len: u.len,
            file: Arc::clone(&seg.file),
            path: seg.path.clone(),
            offset: seg.offset_of(u.id),
        }))
    }

    /// A handed-out block turned out damaged on disk: count it and never hand it out
    /// again (the scan on the next open finds the same damage).
    pub fn forget_corrupt(&mut self, id: u64) -> Result<()> {
        if let Some(len) = self.in_flight.remove(&id) {
            log::warn!(
                "persistent queue {:?}: block {id} is damaged on disk, skipped",
                self.name
            );
            self.pending_bytes -= u64::from(len);
            self.counters.corrupt_blocks += 1;
            self.acked.insert(id);
            self.advance_head()?;
        }
        Ok(())
    }

    /// A disk read failed: the block goes back to the unread blocks, in id order.
    pub fn unread_again(&mut self, id: u64) {
        if let Some(len) = self.in_flight.remove(&id) {
            let at = self.unread.partition_point(|u| u.id < id);
            let data = None;
            self.unread.insert(at, Unread { id, len, data });
        }
    }

    /// Records an ack in the journal (one write) and advances the head.
    pub fn ack(&mut self, id: u64) -> Result<()> {
        if self.closed {
            return Err(QueueError::Closed);
        }
        let Some(&len) = self.in_flight.get(&id) else {
            if id < self.head || self.acked.contains(&id) {
                return Ok(());
            }
            return Err(QueueError::UnknownBlock { id });
        };
        let j = &mut self.journal;
        (&*j.file)
            .write_all(&encode_ack(id))
            .map_err(io_err(&j.path))?;
        j.entries += 1;
        self.in_flight.remove(&id);
        self.pending_bytes -= u64::from(len);
        self.acked.insert(id);
        self.advance_head()?;
        if self.journal.entries >= self.compact_after {
            self.write_meta()?;
        }
        Ok(())
    }

    /// Replaces the metadata file with the current head and acks, then empties the
    /// journal it supersedes.
    pub fn write_meta(&mut self) -> Result<()> {
        let meta = Meta {
            head: self.head,
            acked: self.acked.clone(),
            name: self.name.clone(),
        };
        files::replace_file(&self.dir, META_TMP_FILE, META_FILE, &meta.encode())?;
        let j = &mut self.journal;
        j.file.set_len(0).map_err(io_err(&j.path))?;
        j.entries = 0;
        Ok(())
    }

    /// What a sync has to fsync: the segments rotated out since the last sync, the
    /// active segment and the journal. The fsyncs run outside the lock
    /// ([`SyncJob::run`]), so pushes and acks go on meanwhile.
    pub fn sync_job(&mut self) -> SyncJob {
        let mut files = std::mem::take(&mut self.unsynced);
        let seg = self.active();
        files.push((Arc::clone(&seg.file), seg.path.clone()));
        files.push((Arc::clone(&self.journal.file), self.journal.path.clone()));
        SyncJob {
            files,
            dir: self.dir.clone(),
        }
    }
}
