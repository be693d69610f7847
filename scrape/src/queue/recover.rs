//! Opening a queue directory: metadata and ack journal, then every segment scanned,
//! damage cut or skipped, and the unacked blocks listed in order.

use std::collections::{BTreeSet, VecDeque};
use std::fs::{self, OpenOptions};
use std::io::ErrorKind;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use super::error::{Result, io_err};
use super::files::{self, ACKS_FILE, META_FILE, META_TMP_FILE, Segment, parse_segment_name};
use super::meta::{MAX_POSITION, Meta, decode_acks};
use super::segment::{SEGMENT_HEADER_BYTES, SegmentScan, scan_segment};
use super::state::{Counters, JOURNAL_COMPACT_ENTRIES, Journal, State, Unread};
use super::{MEMORY_CACHE_BYTES, QueueOptions};

/// The unacked blocks found on disk.
#[derive(Default)]
struct Found {
    segments: VecDeque<Segment>,
    unread: VecDeque<Unread>,
    cached_bytes: usize,
    pending_bytes: u64,
    corrupt: u64,
    /// Ids from here on are free (one past the last segment).
    end: u64,
}

/// Opens (or creates) the queue directory; `segment_bytes` is already clamped.
pub(crate) fn open(opts: &QueueOptions, segment_bytes: u64) -> Result<State> {
    let dir = opts.dir.clone();
    fs::create_dir_all(&dir).map_err(io_err(&dir))?;
    let lock = files::lock_dir(&dir)?;
    let meta = load_meta(&dir)?;
    let journal_path = dir.join(ACKS_FILE);
    let mut acked = meta.acked;
    for id in read_if_exists(&journal_path)?.map_or(Vec::new(), |b| decode_acks(&b)) {
        if id >= meta.head {
            acked.insert(id);
        }
    }
    let found = load_segments(&dir, meta.head, &acked)?;
    let start = [
        found.end,
        meta.head,
        acked.last().map_or(0, |a| a.saturating_add(1)),
    ]
    .into_iter()
    .max()
    .unwrap_or(0);
    let mut segments = found.segments;
    segments.push_back(Segment::create(&dir, start)?);
    let journal_file = OpenOptions::new()
        .append(true)
        .create(true)
        .open(&journal_path)
        .map_err(io_err(&journal_path))?;
    let mut state = State {
        dir: dir.clone(),
        name: opts.name.clone(),
        max_disk_bytes: opts.max_disk_bytes,
        segment_bytes,
        disk_bytes: segments.iter().map(|s| s.len).sum(),
        segments,
        unread: found.unread,
        in_flight: Default::default(),
        acked,
        head: meta.head,
        pending_bytes: found.pending_bytes,
        cached_bytes: found.cached_bytes,
        cache_limit: MEMORY_CACHE_BYTES,
        journal: Journal {
            file: Arc::new(journal_file),
            path: journal_path,
            entries: 0,
        },
        compact_after: JOURNAL_COMPACT_ENTRIES,
        unsynced: Vec::new(),
        counters: Counters {
            corrupt_blocks: found.corrupt,
            ..Counters::default()
        },
        closed: false,
        lock: Some(lock),
        buf: Vec::new(),
    };
    state.advance_head()?;
    match fs::remove_file(dir.join(META_TMP_FILE)) {
        Err(e) if e.kind() != ErrorKind::NotFound => {
            return Err(io_err(dir.join(META_TMP_FILE))(e));
        }
        _ => {}
    }
    state.write_meta()?;
    while state.max_disk_bytes > 0 && state.disk_bytes > state.max_disk_bytes {
        if !state.drop_oldest()? {
            break;
        }
    }
    Ok(state)
}

fn read_if_exists(path: &Path) -> Result<Option<Vec<u8>>> {
    match fs::read(path) {
        Ok(b) => Ok(Some(b)),
        Err(e) if e.kind() == ErrorKind::NotFound => Ok(None),
        Err(e) => Err(io_err(path)(e)),
    }
}

fn load_meta(dir: &Path) -> Result<Meta> {
    let path = dir.join(META_FILE);
    match read_if_exists(&path)? {
        Some(bytes) => Meta::decode(&bytes, &path),
        None => Ok(Meta::default()),
    }
}

/// The segment files of `dir`, ordered by start position.
fn list_segments(dir: &Path) -> Result<Vec<(u64, PathBuf)>> {
    let mut out = Vec::new();
    for entry in fs::read_dir(dir).map_err(io_err(dir))? {
        let entry = entry.map_err(io_err(dir))?;
        let is_file = entry.file_type().map_err(io_err(entry.path()))?.is_file();
        let start = entry.file_name().to_str().and_then(parse_segment_name);
        if let (true, Some(start)) = (is_file, start) {
            out.push((start, entry.path()));
        }
    }
    out.sort_unstable();
    Ok(out)
}

/// Renames a damaged segment to `<name>.corrupt`, out of the queue's way.
fn set_aside(path: &Path, why: &str) -> Result<()> {
    let mut aside = path.as_os_str().to_owned();
    aside.push(".corrupt");
    log::warn!(
        "persistent queue segment {} {why}: renamed to .corrupt",
        path.display()
    );
    fs::rename(path, &aside).map_err(io_err(path))
}

fn load_segments(dir: &Path, head: u64, acked: &BTreeSet<u64>) -> Result<Found> {
    let list = list_segments(dir)?;
    let mut found = Found::default();
    for (i, (start, path)) in list.iter().enumerate() {
        let bytes = fs::read(path).map_err(io_err(path))?;
        let scan = match scan_segment(&bytes) {
            Err(_) if bytes.len() < SEGMENT_HEADER_BYTES => {
                // Created, header not yet written when the process died: nothing in it.
                fs::remove_file(path).map_err(io_err(path))?;
                continue;
            }
            Err(e) => {
                set_aside(path, &e.to_string())?;
                found.corrupt += 1;
                continue;
            }
            Ok(scan) => scan,
        };
        if *start < found.end || *start >= MAX_POSITION {
            set_aside(path, "overlaps the previous segment or is out of range")?;
            found.corrupt += 1;
            continue;
        }
        let last = i + 1 == list.len();
        if let Some(seg) = keep_segment(*start, path, &bytes, &scan, last, &mut found)? {
            add_records(&seg, &bytes, &scan, head, acked, &mut found);
            found.end = seg.end();
            found.segments.push_back(seg);
        }
    }
    Ok(found)
}

/// Cuts a segment after its last intact record; removes it when none is left.
fn keep_segment(
    start: u64,
    path: &Path,
    bytes: &[u8],
    scan: &SegmentScan,
    last: bool,
    found: &mut Found,
) -> Result<Option<Segment>> {
    found.corrupt += scan.corrupt;
    if let Some(damage) = scan.tail {
        log::warn!(
            "persistent queue segment {}: {damage:?} at byte {}, cut there ({} bytes)",
            path.display(),
            scan.valid_end,
            bytes.len() - scan.valid_end
        );
        if !last {
            found.corrupt += 1;
        }
    }
    if scan.records.is_empty() {
        found.end = found.end.max(start);
        fs::remove_file(path).map_err(io_err(path))?;
        return Ok(None);
    }
    let file = OpenOptions::new()
        .read(true)
        .write(true)
        .open(path)
        .map_err(io_err(path))?;
    if scan.valid_end < bytes.len() {
        file.set_len(scan.valid_end as u64).map_err(io_err(path))?;
        file.sync_data().map_err(io_err(path))?;
    }
    Ok(Some(Segment {
        start,
        path: path.to_path_buf(),
        file: Arc::new(file),
        len: scan.valid_end as u64,
    }))
}

/// Lists the segment's unacked records, filling the memory cache from the bytes read.
fn add_records(
    seg: &Segment,
    bytes: &[u8],
    scan: &SegmentScan,
    head: u64,
    acked: &BTreeSet<u64>,
    found: &mut Found,
) {
    for rec in &scan.records {
        let id = seg.start + (rec.offset - SEGMENT_HEADER_BYTES) as u64;
        if id < head || acked.contains(&id) {
            continue;
        }
        let len = rec.len as usize;
        let data = (found.cached_bytes + len <= MEMORY_CACHE_BYTES).then(|| {
            let at = rec.offset + super::segment::RECORD_HEADER_BYTES;
            bytes[at..at + len].to_vec()
        });
        found.cached_bytes += data.as_ref().map_or(0, Vec::len);
        found.pending_bytes += rec.len as u64;
        found.unread.push_back(Unread {
            id,
            len: rec.len,
            data,
        });
    }
}
