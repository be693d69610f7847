//! Fixed-width bit packing: `count` unsigned values of `width` bits each, packed
//! least-significant bit first into `ceil(count * width / 8)` bytes.

use super::reader::Reader;
use crate::Result;

/// Number of bytes that `count` values of `width` bits occupy, or `None` on overflow.
#[inline]
pub(crate) fn packed_len(count: usize, width: u32) -> Option<usize> {
    count
        .checked_mul(width as usize)
        .map(|bits| bits.div_ceil(8))
}

/// Number of bits needed to hold `v` (0 for 0).
#[inline]
pub(crate) fn bit_width(v: u64) -> u32 {
    64 - v.leading_zeros()
}

/// Appends the values produced by `values`, `width` bits each (every value must fit).
pub(crate) fn pack(values: impl Iterator<Item = u64>, width: u32, out: &mut Vec<u8>) {
    if width == 0 {
        return;
    }
    let mut acc = 0u64;
    let mut used = 0u32;
    for v in values {
        debug_assert!(
            width == 64 || v >> width == 0,
            "BUG: value wider than width"
        );
        acc |= v << used;
        if used + width >= 64 {
            out.extend_from_slice(&acc.to_le_bytes());
            acc = if used == 0 { 0 } else { v >> (64 - used) };
            used = used + width - 64;
        } else {
            used += width;
        }
    }
    let tail = used.div_ceil(8) as usize;
    out.extend_from_slice(&acc.to_le_bytes()[..tail]);
}

/// Reads `count` values of `width` bits (at most 64) from `r`, handing each to `emit`.
///
/// # Errors
/// When the payload holds fewer than `ceil(count * width / 8)` bytes.
pub(crate) fn unpack(
    r: &mut Reader<'_>,
    count: usize,
    width: u32,
    mut emit: impl FnMut(u64),
) -> Result<()> {
    if width == 0 {
        (0..count).for_each(|_| emit(0));
        return Ok(());
    }
    let len = packed_len(count, width)
        .ok_or_else(|| r.error(format_args!("{count} values of {width} bits overflow")))?;
    let src = r.bytes(len)?;
    let mask = if width == 64 {
        u64::MAX
    } else {
        (1u64 << width) - 1
    };
    let mut bit = 0usize;
    for _ in 0..count {
        emit(read_at(src, bit, width) & mask);
        bit += width as usize;
    }
    Ok(())
}

/// The (unmasked) bits starting at bit offset `bit`; at least `width` of them are valid.
#[inline(always)]
fn read_at(src: &[u8], bit: usize, width: u32) -> u64 {
    let byte = bit >> 3;
    let shift = (bit & 7) as u32;
    if let Some(w) = src.get(byte..byte + 9) {
        let lo = u64::from_le_bytes([w[0], w[1], w[2], w[3], w[4], w[5], w[6], w[7]]);
        let hi = if shift + width > 64 {
            u64::from(w[8]) << (64 - shift)
        } else {
            0
        };
        return (lo >> shift) | hi;
    }
    // Near the end: copy what is left into a zero-padded window.
    let mut w = [0u8; 9];
    let avail = &src[byte.min(src.len())..];
    let take = avail.len().min(9);
    w[..take].copy_from_slice(&avail[..take]);
    let lo = u64::from_le_bytes([w[0], w[1], w[2], w[3], w[4], w[5], w[6], w[7]]);
    let hi = if shift + width > 64 {
        u64::from(w[8]) << (64 - shift)
    } else {
        0
    };
    (lo >> shift) | hi
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn packs_lsb_first() {
        let mut out = Vec::new();
        pack([1u64, 2, 3, 4].into_iter(), 3, &mut out);
        // 001 010 011 100 -> bits (lsb first) 1,0,0, 0,1,0, 1,1,0, 0,0,1
        assert_eq!(out, [0b1101_0001, 0b1000]);
    }

    #[test]
    fn truncated_input_is_an_error() {
        let mut r = Reader::new(&[0xff], "values");
        let err = unpack(&mut r, 3, 5, |_| {}).unwrap_err();
        assert_eq!(
            err.to_string(),
            "cannot decode values: at byte 0: unexpected end of payload, wanted 2 bytes, 1 left"
        );
    }

    proptest! {
        #[test]
        fn round_trip(width in 0u32..=64, raw in proptest::collection::vec(any::<u64>(), 0..200)) {
            let mask = if width == 64 { u64::MAX } else { (1u64 << width) - 1 };
            let vals: Vec<u64> = raw.iter().map(|v| v & mask).collect();
            let mut out = Vec::new();
            pack(vals.iter().copied(), width, &mut out);
            prop_assert_eq!(Some(out.len()), packed_len(vals.len(), width));
            let mut r = Reader::new(&out, "t");
            let mut back = Vec::new();
            unpack(&mut r, vals.len(), width, |v| back.push(v)).unwrap();
            prop_assert_eq!(r.remaining(), 0);
            prop_assert_eq!(back, vals);
        }
    }
}
