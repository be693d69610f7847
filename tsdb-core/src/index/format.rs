//! Constants, the footer and a bounds-checked reader for the index file format
//! (`docs/format/index.md`).

use std::path::Path;

use crate::error::{Error, Result};

/// First four and last four bytes of every index file.
pub(super) const MAGIC: [u8; 4] = *b"GNIX";
/// Format version written by this code; the only one it reads.
pub(super) const VERSION: u32 = 1;
/// Magic + version.
pub(super) const HEADER_LEN: usize = 8;
/// Five u64 section offsets/lengths, version, crc32, magic.
pub(super) const FOOTER_LEN: usize = 5 * 8 + 4 + 4 + 4;
/// Values per key block. A lookup binary-searches the block index and then decodes at
/// most this many entries; 32 keeps that decode well under a microsecond while the
/// shared-prefix compression already reaches its plateau (LevelDB and VictoriaMetrics'
/// mergeset use restart intervals of 16 and 64 for the same trade-off).
pub(super) const BLOCK_ENTRIES: usize = 32;

/// The fixed-size trailer of an index file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Footer {
    /// Start of the key blocks (end of the bitmap section).
    pub keys_off: u64,
    /// Start of the block index (u64 offsets, one per key block).
    pub block_index_off: u64,
    /// Start of the name table.
    pub names_off: u64,
    /// Start of the day table (it ends where the footer starts).
    pub days_off: u64,
    /// Length of the all-series bitmap, which starts right after the header.
    pub all_len: u64,
}

impl Footer {
    /// The footer bytes, `crc` being the crc32 of every file byte before the crc field.
    pub fn encode_without_crc(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(FOOTER_LEN);
        for v in [
            self.keys_off,
            self.block_index_off,
            self.names_off,
            self.days_off,
            self.all_len,
        ] {
            out.extend_from_slice(&v.to_le_bytes());
        }
        out.extend_from_slice(&VERSION.to_le_bytes());
        out
    }

    /// Reads and checks the footer of `data`: magic, version, crc32, section order.
    pub fn decode(path: &Path, data: &[u8]) -> Result<Footer> {
        let corrupt =
            |off: usize, detail: String| Error::corrupt(path, off as u64, "index footer", detail);
        if data.len() < HEADER_LEN + FOOTER_LEN {
            return Err(corrupt(
                0,
                format!("file of {} bytes is too short", data.len()),
            ));
        }
        if data[..4] != MAGIC {
            return Err(corrupt(
                0,
                format!("magic {:02x?}, expected {MAGIC:02x?}", &data[..4]),
            ));
        }
        let start = data.len() - FOOTER_LEN;
        let mut r = Reader::new(path, data, start, "index footer");
        let mut fields = [0u64; 5];
        for f in &mut fields {
            *f = r.u64()?;
        }
        let version = r.u32()?;
        let crc = r.u32()?;
        if data[data.len() - 4..] != MAGIC {
            return Err(corrupt(
                data.len() - 4,
                "trailing magic missing (torn write?)".into(),
            ));
        }
        let head_version = u32::from_le_bytes([data[4], data[5], data[6], data[7]]);
        if version != VERSION || head_version != VERSION {
            return Err(corrupt(
                start + 40,
                format!("format version {head_version}/{version}, this build reads {VERSION}"),
            ));
        }
        let want = crc32fast::hash(&data[..data.len() - 8]);
        if crc != want {
            return Err(corrupt(
                start + 44,
                format!("checksum {crc:08x}, computed {want:08x}"),
            ));
        }
        let [keys_off, block_index_off, names_off, days_off, all_len] = fields;
        if all_len > start as u64 {
            return Err(corrupt(
                start + 32,
                format!("all-series bitmap of {all_len} bytes"),
            ));
        }
        let order = [
            HEADER_LEN as u64 + all_len,
            keys_off,
            block_index_off,
            names_off,
            days_off,
            start as u64,
        ];
        if order.windows(2).any(|w| w[0] > w[1]) {
            return Err(corrupt(
                start,
                format!("section offsets out of order: {order:?}"),
            ));
        }
        if (names_off - block_index_off) % 8 != 0 {
            return Err(corrupt(
                start + 8,
                "block index length is not a multiple of 8".into(),
            ));
        }
        Ok(Footer {
            keys_off,
            block_index_off,
            names_off,
            days_off,
            all_len,
        })
    }
}

/// A bounds-checked reader over one section of a file; every error names the file, the
/// absolute offset and the structure being read.
pub(super) struct Reader<'a> {
    path: &'a Path,
    data: &'a [u8],
    pos: usize,
    end: usize,
    what: &'static str,
}

impl<'a> Reader<'a> {
    /// Reads `data[pos..]`.
    pub fn new(path: &'a Path, data: &'a [u8], pos: usize, what: &'static str) -> Self {
        Reader {
            path,
            data,
            pos,
            end: data.len(),
            what,
        }
    }

    /// Reads `data[pos..end]`; `end` is clamped to the data.
    pub fn section(
        path: &'a Path,
        data: &'a [u8],
        pos: usize,
        end: usize,
        what: &'static str,
    ) -> Self {
        Reader {
            path,
            data,
            pos,
            end: end.min(data.len()),
            what,
        }
    }

    /// Absolute offset of the next byte.
    pub fn pos(&self) -> usize {
        self.pos
    }

    /// True when the section is consumed.
    pub fn at_end(&self) -> bool {
        self.pos >= self.end
    }

    /// A corruption error at `offset`.
    pub fn error(&self, offset: usize, detail: impl Into<String>) -> Error {
        Error::corrupt(self.path, offset as u64, self.what, detail)
    }

    /// The next `n` bytes.
    pub fn bytes(&mut self, n: usize) -> Result<&'a [u8]> {
        if n > self.end.saturating_sub(self.pos) {
            return Err(self.error(
                self.pos,
                format!(
                    "{n} bytes needed, {} left",
                    self.end.saturating_sub(self.pos)
                ),
            ));
        }
        let s = &self.data[self.pos..self.pos + n];
        self.pos += n;
        Ok(s)
    }

    /// A little-endian u32.
    pub fn u32(&mut self) -> Result<u32> {
        let b = self.bytes(4)?;
        Ok(u32::from_le_bytes([b[0], b[1], b[2], b[3]]))
    }

    /// A little-endian u64.
    pub fn u64(&mut self) -> Result<u64> {
        let b = self.bytes(8)?;
        let mut a = [0u8; 8];
        a.copy_from_slice(b);
        Ok(u64::from_le_bytes(a))
    }

    /// An unsigned LEB128 varint of at most 10 bytes.
    pub fn uvarint(&mut self) -> Result<u64> {
        let start = self.pos;
        // Fast path: lengths, shared prefixes and counts are nearly always one byte.
        if start < self.end
            && let Some(&b) = self.data.get(start)
            && b < 0x80
        {
            self.pos += 1;
            return Ok(u64::from(b));
        }
        let mut v = 0u64;
        for i in 0..10 {
            let b = *self.bytes(1)?.first().unwrap_or(&0);
            let bits = u64::from(b & 0x7f);
            if i == 9 && b > 1 {
                return Err(self.error(start, "varint overflows 64 bits"));
            }
            v |= bits << (7 * i);
            if b < 0x80 {
                return Ok(v);
            }
        }
        Err(self.error(start, "varint longer than 10 bytes"))
    }

    /// A varint that must fit in `usize` and be at most `max`.
    pub fn len_at_most(&mut self, max: usize, field: &str) -> Result<usize> {
        let at = self.pos;
        let v = self.uvarint()?;
        match usize::try_from(v) {
            Ok(v) if v <= max => Ok(v),
            _ => Err(self.error(at, format!("{field} {v} exceeds {max}"))),
        }
    }

    /// A length-prefixed UTF-8 string borrowed from the data.
    pub fn str(&mut self) -> Result<&'a str> {
        let at = self.pos;
        let n = self.len_at_most(self.end.saturating_sub(self.pos), "string length")?;
        let b = self.bytes(n)?;
        std::str::from_utf8(b).map_err(|e| self.error(at, format!("string is not UTF-8: {e}")))
    }
}

/// Appends `v` as an unsigned LEB128 varint.
pub(super) fn put_uvarint(out: &mut Vec<u8>, v: u64) {
    crate::model::put_uvarint(out, v);
}

/// Appends a length-prefixed string.
pub(super) fn put_str(out: &mut Vec<u8>, s: &str) {
    put_uvarint(out, s.len() as u64);
    out.extend_from_slice(s.as_bytes());
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn varints_round_trip_and_reject_overflow() {
        let path = Path::new("x");
        for v in [0u64, 1, 127, 128, 300, u32::MAX.into(), u64::MAX] {
            let mut b = Vec::new();
            put_uvarint(&mut b, v);
            let mut r = Reader::new(path, &b, 0, "t");
            assert_eq!(r.uvarint().unwrap(), v);
            assert!(r.at_end());
        }
        let over = [0xff; 9].iter().copied().chain([0x02]).collect::<Vec<_>>();
        let e = Reader::new(path, &over, 0, "t").uvarint().unwrap_err();
        assert!(matches!(e, Error::Corrupt { offset: 0, .. }), "{e}");
        let e = Reader::new(path, &[0x80, 0x80], 0, "t")
            .uvarint()
            .unwrap_err();
        assert!(matches!(e, Error::Corrupt { offset: 2, .. }), "{e}");
    }

    #[test]
    fn strings_are_bounded_and_utf8() {
        let path = Path::new("x");
        let e = Reader::new(path, &[5, b'a'], 0, "t").str().unwrap_err();
        assert!(matches!(e, Error::Corrupt { offset: 0, .. }), "{e}");
        let e = Reader::new(path, &[1, 0xff], 0, "t").str().unwrap_err();
        assert!(matches!(e, Error::Corrupt { offset: 0, .. }), "{e}");
        assert_eq!(
            Reader::new(path, &[2, b'o', b'k'], 0, "t").str().unwrap(),
            "ok"
        );
    }
}
