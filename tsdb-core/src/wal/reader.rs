//! Replay of one segment: streams its intact records to a callback and cuts a torn or
//! corrupt tail off the file.

use std::fs::OpenOptions;
use std::io::{self, BufReader, Read};
use std::path::Path;

use super::format::{self, Next, SEGMENT_HEADER_LEN};
use crate::error::{Error, Result};

/// Read buffer of the replay: large enough that a 4 KiB-record segment is read in a few
/// hundred syscalls per 128 MiB, small enough not to matter next to the engine's memory.
const READ_BUFFER_BYTES: usize = 256 << 10;

/// What the replay of one segment found.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub(crate) struct SegmentReplay {
    /// Intact records passed to the callback.
    pub(crate) records: u64,
    /// Payload bytes of those records.
    pub(crate) payload_bytes: u64,
    /// Whether a damaged tail was cut off.
    pub(crate) truncated: bool,
    /// Size of the file after the replay.
    pub(crate) len: u64,
}

/// Replays segment `seq` at `path`, calling `f(seq, payload)` for each intact record in
/// order. A damaged record ends the segment: the file is truncated before it (and
/// fsynced) with a warning. Returns `None` when the file no longer exists.
pub(crate) fn replay_segment(
    path: &Path,
    seq: u64,
    f: &mut impl FnMut(u64, &[u8]) -> Result<()>,
) -> Result<Option<SegmentReplay>> {
    let file = match OpenOptions::new().read(true).write(true).open(path) {
        Ok(file) => file,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(Error::io("open segment", path, e)),
    };
    let file_len = file
        .metadata()
        .map_err(|e| Error::io("stat", path, e))?
        .len();
    let mut reader = BufReader::with_capacity(READ_BUFFER_BYTES, &file);
    check_header(&mut reader, path)?;

    let mut out = SegmentReplay::default();
    let mut offset = SEGMENT_HEADER_LEN;
    let mut payload = Vec::new();
    loop {
        let next = format::read_record(&mut reader, file_len - offset, &mut payload)
            .map_err(|e| Error::io("read segment", path, e))?;
        match next {
            Next::Record => {
                f(seq, &payload)?;
                out.records += 1;
                out.payload_bytes += payload.len() as u64;
                offset += (format::RECORD_HEADER_LEN + payload.len()) as u64;
            }
            Next::End => break,
            Next::Damaged(damage) => {
                log::warn!(
                    "WAL: segment {} damaged at offset {offset} ({damage}); truncating it \
                     there, dropping {} bytes",
                    path.display(),
                    file_len - offset
                );
                file.set_len(offset)
                    .map_err(|e| Error::io("truncate segment", path, e))?;
                file.sync_all().map_err(|e| Error::io("fsync", path, e))?;
                out.truncated = true;
                break;
            }
        }
    }
    out.len = offset;
    Ok(Some(out))
}

/// Re-checks the header read at open (the file could have been replaced since).
fn check_header(reader: &mut impl Read, path: &Path) -> Result<()> {
    let mut header = Vec::with_capacity(SEGMENT_HEADER_LEN as usize);
    reader
        .take(SEGMENT_HEADER_LEN)
        .read_to_end(&mut header)
        .map_err(|e| Error::io("read segment", path, e))?;
    format::check_segment_header(&header)
        .map_err(|bad| Error::corrupt(path, 0, "wal segment header", bad.to_string()))
}
