//! The bytes of a WAL segment (documented in `docs/format/wal.md`): an 8-byte segment
//! header, then records `u32 LE payload length | u32 LE crc32 of payload | payload`.

use std::fmt;
use std::io::{self, Read};

/// First four bytes of every segment file.
pub(crate) const SEGMENT_MAGIC: [u8; 4] = *b"GNWL";

/// Segment format version written after the magic (`u32` little endian).
pub(crate) const FORMAT_VERSION: u32 = 1;

/// Length of the segment header: magic + version.
pub(crate) const SEGMENT_HEADER_LEN: u64 = 8;

/// Length of a record header: payload length + crc32.
pub(crate) const RECORD_HEADER_LEN: usize = 8;

/// Largest payload a record may carry.
///
/// Chosen as a bound far above any single commit the engine writes (a 100k-sample remote
/// write batch encodes to a few MiB) yet small enough that a corrupt length field is
/// recognised as absurd instead of being trusted.
pub const MAX_PAYLOAD_BYTES: usize = 64 << 20;

/// The segment header every segment file starts with.
pub(crate) fn segment_header() -> [u8; SEGMENT_HEADER_LEN as usize] {
    let mut h = [0u8; SEGMENT_HEADER_LEN as usize];
    h[..4].copy_from_slice(&SEGMENT_MAGIC);
    h[4..].copy_from_slice(&FORMAT_VERSION.to_le_bytes());
    h
}

/// Why a segment header is not acceptable.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum BadHeader {
    /// The file is shorter than a header.
    Short(u64),
    /// The first four bytes are not [`SEGMENT_MAGIC`].
    Magic([u8; 4]),
    /// A format version this code does not read.
    Version(u32),
}

impl fmt::Display for BadHeader {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            BadHeader::Short(n) => write!(f, "{n} bytes, shorter than the segment header"),
            BadHeader::Magic(m) => write!(f, "magic {m:02x?} is not {SEGMENT_MAGIC:02x?}"),
            BadHeader::Version(v) => {
                write!(f, "format version {v}, this build reads {FORMAT_VERSION}")
            }
        }
    }
}

/// Checks the first bytes of a segment file (`bytes` holds at most the header).
pub(crate) fn check_segment_header(bytes: &[u8]) -> Result<(), BadHeader> {
    let Some(header) = bytes.get(..SEGMENT_HEADER_LEN as usize) else {
        return Err(BadHeader::Short(bytes.len() as u64));
    };
    let magic = [header[0], header[1], header[2], header[3]];
    if magic != SEGMENT_MAGIC {
        return Err(BadHeader::Magic(magic));
    }
    let version = u32::from_le_bytes([header[4], header[5], header[6], header[7]]);
    if version != FORMAT_VERSION {
        return Err(BadHeader::Version(version));
    }
    Ok(())
}

/// Appends the encoded record for `payload` (header, then payload) to `buf`.
/// The caller has checked `0 < payload.len() <= MAX_PAYLOAD_BYTES`.
pub(crate) fn encode_record(buf: &mut Vec<u8>, payload: &[u8]) {
    let len = u32::try_from(payload.len()).expect("BUG: payload length checked by the caller");
    buf.reserve(RECORD_HEADER_LEN + payload.len());
    buf.extend_from_slice(&len.to_le_bytes());
    buf.extend_from_slice(&crc32fast::hash(payload).to_le_bytes());
    buf.extend_from_slice(payload);
}

/// Why the record at some offset is not intact; ends the replay of its segment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Damage {
    /// Fewer bytes than a record header are left.
    ShortHeader(u64),
    /// The length field is zero: a zero-filled tail (empty payloads are never written).
    ZeroLength,
    /// The length field exceeds [`MAX_PAYLOAD_BYTES`].
    AbsurdLength(u32),
    /// The payload announced is longer than what the file holds.
    ShortPayload {
        /// Bytes announced by the length field.
        announced: u32,
        /// Bytes present after the header.
        present: u64,
    },
    /// The payload's crc32 differs from the stored one.
    CrcMismatch {
        /// The crc32 in the record header.
        stored: u32,
        /// The crc32 of the payload read.
        computed: u32,
    },
}

impl fmt::Display for Damage {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Damage::ShortHeader(n) => write!(f, "short record header ({n} of 8 bytes)"),
            Damage::ZeroLength => f.write_str("zero length field (zero-filled tail)"),
            Damage::AbsurdLength(n) => {
                write!(f, "absurd payload length {n} (max {MAX_PAYLOAD_BYTES})")
            }
            Damage::ShortPayload { announced, present } => write!(
                f,
                "short payload ({present} of {announced} announced bytes present)"
            ),
            Damage::CrcMismatch { stored, computed } => write!(
                f,
                "crc32 mismatch (stored {stored:#010x}, computed {computed:#010x})"
            ),
        }
    }
}

/// What [`read_record`] found.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Next {
    /// An intact record; its payload is in the buffer.
    Record,
    /// The end of the segment, exactly at a record boundary.
    End,
    /// A damaged record: the segment's intact part ends before it.
    Damaged(Damage),
}

/// Reads the record at the current position of `reader`, of which `remaining` bytes are
/// left in the file, into `payload` (cleared first). Only I/O failures are errors; bytes
/// that do not form an intact record give [`Next::Damaged`].
pub(crate) fn read_record(
    reader: &mut impl Read,
    remaining: u64,
    payload: &mut Vec<u8>,
) -> io::Result<Next> {
    payload.clear();
    if remaining == 0 {
        return Ok(Next::End);
    }
    if remaining < RECORD_HEADER_LEN as u64 {
        return Ok(Next::Damaged(Damage::ShortHeader(remaining)));
    }
    let mut header = [0u8; RECORD_HEADER_LEN];
    reader.read_exact(&mut header)?;
    let len = u32::from_le_bytes([header[0], header[1], header[2], header[3]]);
    let stored = u32::from_le_bytes([header[4], header[5], header[6], header[7]]);
    if len == 0 {
        return Ok(Next::Damaged(Damage::ZeroLength));
    }
    if len as usize > MAX_PAYLOAD_BYTES {
        return Ok(Next::Damaged(Damage::AbsurdLength(len)));
    }
    let present = remaining - RECORD_HEADER_LEN as u64;
    if u64::from(len) > present {
        return Ok(Next::Damaged(Damage::ShortPayload {
            announced: len,
            present,
        }));
    }
    payload.resize(len as usize, 0);
    reader.read_exact(payload)?;
    let computed = crc32fast::hash(payload);
    if computed != stored {
        payload.clear();
        return Ok(Next::Damaged(Damage::CrcMismatch { stored, computed }));
    }
    Ok(Next::Record)
}

#[cfg(test)]
mod tests {
    use std::io::Cursor;

    use super::*;

    /// Reads every record of a segment body; returns the payloads and how it ended.
    fn read_all(body: &[u8]) -> (Vec<Vec<u8>>, Next) {
        let mut cursor = Cursor::new(body);
        let mut out = Vec::new();
        let mut payload = Vec::new();
        loop {
            let remaining = body.len() as u64 - cursor.position();
            match read_record(&mut cursor, remaining, &mut payload).unwrap() {
                Next::Record => out.push(payload.clone()),
                end => return (out, end),
            }
        }
    }

    #[test]
    fn golden_bytes_of_header_and_records() {
        let mut seg = segment_header().to_vec();
        encode_record(&mut seg, b"a");
        encode_record(&mut seg, b"hello");
        #[rustfmt::skip]
        let golden: &[u8] = &[
            // segment header: magic "GNWL", version 1
            0x47, 0x4e, 0x57, 0x4c, 0x01, 0x00, 0x00, 0x00,
            // record: len 1, crc32("a") = 0xe8b7be43, "a"
            0x01, 0x00, 0x00, 0x00, 0x43, 0xbe, 0xb7, 0xe8, b'a',
            // record: len 5, crc32("hello") = 0x3610a686, "hello"
            0x05, 0x00, 0x00, 0x00, 0x86, 0xa6, 0x10, 0x36, b'h', b'e', b'l', b'l', b'o',
        ];
        assert_eq!(seg, golden);
        assert_eq!(check_segment_header(&seg), Ok(()));
        let (records, end) = read_all(&seg[SEGMENT_HEADER_LEN as usize..]);
        assert_eq!(records, vec![b"a".to_vec(), b"hello".to_vec()]);
        assert_eq!(end, Next::End);
    }

    #[test]
    fn bad_headers_are_named() {
        assert_eq!(check_segment_header(b"GNW"), Err(BadHeader::Short(3)));
        assert_eq!(
            check_segment_header(b"XXXX\x01\0\0\0"),
            Err(BadHeader::Magic(*b"XXXX"))
        );
        assert_eq!(
            check_segment_header(b"GNWL\x02\0\0\0"),
            Err(BadHeader::Version(2))
        );
    }

    #[test]
    fn each_kind_of_damage_is_recognised() {
        let mut ok = Vec::new();
        encode_record(&mut ok, b"payload");

        let (recs, end) = read_all(&ok[..5]);
        assert!(recs.is_empty());
        assert_eq!(end, Next::Damaged(Damage::ShortHeader(5)));

        let (_, end) = read_all(&ok[..10]);
        assert_eq!(
            end,
            Next::Damaged(Damage::ShortPayload {
                announced: 7,
                present: 2
            })
        );

        let mut zeros = ok.clone();
        zeros.extend_from_slice(&[0u8; 32]);
        let (recs, end) = read_all(&zeros);
        assert_eq!(recs, vec![b"payload".to_vec()]);
        assert_eq!(end, Next::Damaged(Damage::ZeroLength));

        let mut absurd = ok.clone();
        absurd[..4].copy_from_slice(&u32::MAX.to_le_bytes());
        let (_, end) = read_all(&absurd);
        assert_eq!(end, Next::Damaged(Damage::AbsurdLength(u32::MAX)));

        let mut flipped = ok.clone();
        flipped[10] ^= 0x01;
        let (recs, end) = read_all(&flipped);
        assert!(recs.is_empty());
        assert!(
            matches!(end, Next::Damaged(Damage::CrcMismatch { stored, .. }) if stored == crc32fast::hash(b"payload"))
        );
    }
}
