//! Bounds-checked cursor over an encoded payload, plus the varint writers that match it.
//!
//! Varints are LEB128 (7 bits per byte, low group first, at most 10 bytes); signed
//! integers go through zig-zag first so small magnitudes of either sign stay short.

use crate::{Error, Result};

/// Zig-zag maps signed to unsigned so that small magnitudes get small codes:
/// 0, -1, 1, -2, 2 ... become 0, 1, 2, 3, 4 ...
#[inline]
pub(crate) fn zigzag(v: i64) -> u64 {
    ((v << 1) ^ (v >> 63)) as u64
}

/// Inverse of [`zigzag`].
#[inline]
pub(crate) fn unzigzag(u: u64) -> i64 {
    ((u >> 1) as i64) ^ -((u & 1) as i64)
}

/// Appends `v` as an unsigned LEB128 varint.
#[inline]
pub(crate) fn put_uvarint(out: &mut Vec<u8>, mut v: u64) {
    while v >= 0x80 {
        out.push((v as u8) | 0x80);
        v >>= 7;
    }
    out.push(v as u8);
}

/// Appends `v` zig-zag encoded as a varint.
#[inline]
pub(crate) fn put_ivarint(out: &mut Vec<u8>, v: i64) {
    put_uvarint(out, zigzag(v));
}

/// Length in bytes of the varint of `v`.
#[inline]
pub(crate) fn uvarint_len(v: u64) -> usize {
    // 1 byte per started group of 7 significant bits, at least 1.
    let bits = 64 - (v | 1).leading_zeros() as usize;
    bits.div_ceil(7)
}

/// A cursor over `src` whose every read is bounds-checked; errors name the structure
/// being decoded (`what`) and the byte offset.
pub(crate) struct Reader<'a> {
    src: &'a [u8],
    pos: usize,
    what: &'static str,
}

impl<'a> Reader<'a> {
    /// Starts reading `src` from its first byte.
    pub(crate) fn new(src: &'a [u8], what: &'static str) -> Self {
        Reader { src, pos: 0, what }
    }

    /// Builds a decode error located at the current offset.
    pub(crate) fn error(&self, detail: impl std::fmt::Display) -> Error {
        Error::decode(self.what, format!("at byte {}: {detail}", self.pos))
    }

    /// Bytes not read yet.
    pub(crate) fn remaining(&self) -> usize {
        self.src.len() - self.pos
    }

    /// Reads one byte.
    pub(crate) fn u8(&mut self) -> Result<u8> {
        match self.src.get(self.pos) {
            Some(&b) => {
                self.pos += 1;
                Ok(b)
            }
            None => Err(self.error("unexpected end of payload, wanted 1 byte")),
        }
    }

    /// Reads `len` bytes.
    pub(crate) fn bytes(&mut self, len: usize) -> Result<&'a [u8]> {
        if len > self.remaining() {
            return Err(self.error(format_args!(
                "unexpected end of payload, wanted {len} bytes, {} left",
                self.remaining()
            )));
        }
        let b = &self.src[self.pos..self.pos + len];
        self.pos += len;
        Ok(b)
    }

    /// Reads all the bytes left.
    pub(crate) fn rest(&mut self) -> &'a [u8] {
        let b = &self.src[self.pos..];
        self.pos = self.src.len();
        b
    }

    /// Reads a little-endian `u64`.
    pub(crate) fn u64_le(&mut self) -> Result<u64> {
        let b = self.bytes(8)?;
        let mut a = [0u8; 8];
        a.copy_from_slice(b);
        Ok(u64::from_le_bytes(a))
    }

    /// Reads an unsigned LEB128 varint of at most 10 bytes that fits in 64 bits.
    pub(crate) fn uvarint(&mut self) -> Result<u64> {
        let mut v = 0u64;
        for i in 0..10 {
            let b = self.u8()?;
            if i == 9 && b > 1 {
                return Err(self.error("varint overflows 64 bits"));
            }
            v |= u64::from(b & 0x7f) << (7 * i);
            if b < 0x80 {
                return Ok(v);
            }
        }
        Err(self.error("varint longer than 10 bytes"))
    }

    /// Reads a zig-zag varint.
    pub(crate) fn ivarint(&mut self) -> Result<i64> {
        self.uvarint().map(unzigzag)
    }

    /// Fails when bytes are left over after a complete payload.
    pub(crate) fn finish(&self) -> Result<()> {
        if self.remaining() != 0 {
            return Err(self.error(format_args!(
                "{} trailing bytes after the last sample",
                self.remaining()
            )));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn zigzag_maps_small_magnitudes_to_small_codes() {
        assert_eq!(
            [0, -1, 1, -2, 2].map(zigzag),
            [0, 1, 2, 3, 4],
            "zig-zag order"
        );
        for v in [i64::MIN, i64::MAX, -7, 7, 0] {
            assert_eq!(unzigzag(zigzag(v)), v);
        }
    }

    #[test]
    fn varint_bytes_are_leb128() {
        let mut out = Vec::new();
        put_uvarint(&mut out, 300);
        assert_eq!(out, [0xac, 0x02]);
        assert_eq!(uvarint_len(300), 2);
        assert_eq!(uvarint_len(0), 1);
        assert_eq!(uvarint_len(u64::MAX), 10);
        out.clear();
        put_uvarint(&mut out, u64::MAX);
        assert_eq!(out.len(), 10);
        assert_eq!(Reader::new(&out, "t").uvarint().unwrap(), u64::MAX);
    }

    #[test]
    fn varint_overflow_and_truncation_are_errors() {
        let over = [0xffu8, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x02];
        let err = Reader::new(&over, "values").uvarint().unwrap_err();
        assert_eq!(
            err.to_string(),
            "cannot decode values: at byte 10: varint overflows 64 bits"
        );
        let err = Reader::new(&[0x80], "timestamps").uvarint().unwrap_err();
        assert_eq!(
            err.to_string(),
            "cannot decode timestamps: at byte 1: unexpected end of payload, wanted 1 byte"
        );
    }

    #[test]
    fn finish_reports_trailing_bytes() {
        let mut r = Reader::new(&[1, 2, 3], "values");
        r.u8().unwrap();
        let err = r.finish().unwrap_err();
        assert_eq!(
            err.to_string(),
            "cannot decode values: at byte 1: 2 trailing bytes after the last sample"
        );
    }
}
