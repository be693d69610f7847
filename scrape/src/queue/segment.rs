//! Segment files: the 8-byte header, record framing, and the recovery scan.
//!
//! A segment is `header | record*`; a record is
//! `len u32 | payload crc u32 | header crc u32 | payload` (little endian), where the
//! header crc covers the first 8 bytes. The separate header checksum lets the scan trust
//! a length it has checked, and find the next record after a damaged header. The format
//! is drawn in `docs/format/persistent-queue.md`.

use super::error::{QueueError, Result};

/// The first 4 bytes of every segment file.
pub const SEGMENT_MAGIC: [u8; 4] = *b"GNPQ";
/// The segment format version, after the magic.
pub const SEGMENT_VERSION: u32 = 1;
/// Length of the segment header (magic + version).
pub const SEGMENT_HEADER_BYTES: usize = 8;
/// Length of a record header (`len`, payload crc, header crc).
pub const RECORD_HEADER_BYTES: usize = 12;
/// The largest payload a record may hold (1 GiB): remote-write blocks are at most a few
/// MiB, so a larger length can only be damage.
pub const MAX_BLOCK_BYTES: usize = 1 << 30;

/// The segment header bytes.
pub fn segment_header() -> [u8; SEGMENT_HEADER_BYTES] {
    let mut h = [0u8; SEGMENT_HEADER_BYTES];
    h[..4].copy_from_slice(&SEGMENT_MAGIC);
    h[4..].copy_from_slice(&SEGMENT_VERSION.to_le_bytes());
    h
}

/// Appends the record framing `payload` to `out`. The caller keeps
/// `payload.len() <= MAX_BLOCK_BYTES`.
pub fn encode_record(payload: &[u8], out: &mut Vec<u8>) {
    let len = u32::try_from(payload.len()).expect("BUG: record payload over 4 GiB");
    let mut head = [0u8; RECORD_HEADER_BYTES];
    head[..4].copy_from_slice(&len.to_le_bytes());
    head[4..8].copy_from_slice(&crc32fast::hash(payload).to_le_bytes());
    let hcrc = crc32fast::hash(&head[..8]);
    head[8..].copy_from_slice(&hcrc.to_le_bytes());
    out.extend_from_slice(&head);
    out.extend_from_slice(payload);
}

/// Why the bytes at some offset are not an intact record.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Damage {
    /// Fewer than 12 bytes left.
    ShortHeader,
    /// The header checksum does not match, or the length is over [`MAX_BLOCK_BYTES`].
    BadHeader,
    /// The header is intact but the payload runs past the end of the file.
    ShortPayload,
    /// The header is intact but the payload checksum does not match.
    BadPayload,
}

/// One intact record found by [`scan_segment`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RecordSpan {
    /// Offset of the record header from the start of the file.
    pub offset: usize,
    /// Payload length.
    pub len: u32,
}

/// What [`scan_segment`] found in a segment's bytes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SegmentScan {
    /// The intact records, in file order.
    pub records: Vec<RecordSpan>,
    /// Damaged stretches between intact records (each counts as one corrupt block).
    pub corrupt: u64,
    /// End of the last intact record (or of the header): the file is cut here.
    pub valid_end: usize,
    /// Damage after the last intact record (a torn tail), if any.
    pub tail: Option<Damage>,
}

/// The payload length and payload crc of a record header, if its checksum matches and
/// the length is at most [`MAX_BLOCK_BYTES`].
pub fn check_header(head: &[u8; RECORD_HEADER_BYTES]) -> Option<(u32, u32)> {
    let word = |i: usize| u32::from_le_bytes([head[i], head[i + 1], head[i + 2], head[i + 3]]);
    let (len, crc, hcrc) = (word(0), word(4), word(8));
    (crc32fast::hash(&head[..8]) == hcrc && len as usize <= MAX_BLOCK_BYTES).then_some((len, crc))
}

/// Reads the payload length of the intact record at `bytes[pos..]`, or says why it is
/// not one. `Ok(None)` is the clean end of the bytes.
pub fn check_record(bytes: &[u8], pos: usize) -> std::result::Result<Option<u32>, Damage> {
    let rest = bytes.get(pos..).unwrap_or(&[]);
    if rest.is_empty() {
        return Ok(None);
    }
    let Some((head, payload)) = rest.split_first_chunk::<RECORD_HEADER_BYTES>() else {
        return Err(Damage::ShortHeader);
    };
    let (len, crc) = check_header(head).ok_or(Damage::BadHeader)?;
    let Some(payload) = payload.get(..len as usize) else {
        return Err(Damage::ShortPayload);
    };
    if crc32fast::hash(payload) != crc {
        return Err(Damage::BadPayload);
    }
    Ok(Some(len))
}

/// Length of the record at `bytes[pos..]` as its (checked) header says.
fn trusted_len(bytes: &[u8], pos: usize) -> usize {
    let h = &bytes[pos..pos + 4];
    u32::from_le_bytes([h[0], h[1], h[2], h[3]]) as usize
}

/// The next offset after `from` that holds an intact record, if any.
fn resync(bytes: &[u8], from: usize) -> Option<usize> {
    let last = bytes.len().checked_sub(RECORD_HEADER_BYTES)?;
    (from..=last).find(|&p| matches!(check_record(bytes, p), Ok(Some(_))))
}

/// Checks a segment's header and finds its intact records.
///
/// A record with an intact header but a bad payload is skipped by its length; after a
/// damaged header the scan looks for the next intact record byte by byte. Damage between
/// intact records is counted in [`SegmentScan::corrupt`]; damage after the last one is
/// reported as [`SegmentScan::tail`] (the caller cuts the file at `valid_end`).
///
/// # Errors
///
/// [`QueueError::BadSegmentHeader`] when the bytes are shorter than the header or do not
/// start with the segment magic and version. Any other bytes give a scan.
pub fn scan_segment(bytes: &[u8]) -> Result<SegmentScan> {
    let Some(header) = bytes.get(..SEGMENT_HEADER_BYTES) else {
        return Err(QueueError::BadSegmentHeader {
            reason: "shorter than 8 bytes",
        });
    };
    if header[..4] != SEGMENT_MAGIC {
        return Err(QueueError::BadSegmentHeader {
            reason: "magic is not \"GNPQ\"",
        });
    }
    if header[4..] != SEGMENT_VERSION.to_le_bytes() {
        return Err(QueueError::BadSegmentHeader {
            reason: "unknown format version",
        });
    }
    let mut scan = SegmentScan {
        records: Vec::new(),
        corrupt: 0,
        valid_end: SEGMENT_HEADER_BYTES,
        tail: None,
    };
    let mut damaged = 0u64;
    let mut pos = SEGMENT_HEADER_BYTES;
    loop {
        match check_record(bytes, pos) {
            Ok(None) => break,
            Ok(Some(len)) => {
                scan.corrupt += damaged;
                damaged = 0;
                scan.tail = None;
                scan.records.push(RecordSpan { offset: pos, len });
                pos += RECORD_HEADER_BYTES + len as usize;
                scan.valid_end = pos;
            }
            Err(damage) => {
                if scan.tail.is_none() {
                    scan.tail = Some(damage);
                }
                damaged += 1;
                let next = match damage {
                    Damage::BadPayload => Some(pos + RECORD_HEADER_BYTES + trusted_len(bytes, pos)),
                    _ => resync(bytes, pos + 1),
                };
                match next {
                    Some(p) => pos = p,
                    None => break,
                }
            }
        }
    }
    Ok(scan)
}
