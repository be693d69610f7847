//! Serialized roaring bitmaps: the portable RoaringFormatSpec layout without run
//! containers (cookie 12346), which is what `roaring` 0.10 writes.
//!
//! [`validate`] checks every structural invariant the in-memory bitmap relies on, so a
//! validated byte string can be decoded without checks ([`decode_validated`]).

use roaring::RoaringBitmap;

/// Cookie of the layout without run containers.
const COOKIE_NO_RUN: u32 = 12346;
/// Containers of at most this many values are sorted `u16` arrays; larger ones are
/// 65536-bit bitmaps (fixed by the format).
const ARRAY_LIMIT: usize = 4096;
/// Bytes of a bitmap container.
const BITMAP_BYTES: usize = 8192;

/// Where and why a serialized bitmap is malformed: the offset is relative to its start.
#[derive(Debug, PartialEq, Eq)]
pub(super) struct BadBitmap {
    pub offset: usize,
    pub detail: String,
}

fn bad(offset: usize, detail: impl Into<String>) -> BadBitmap {
    BadBitmap {
        offset,
        detail: detail.into(),
    }
}

fn u16_at(b: &[u8], at: usize) -> Option<u16> {
    Some(u16::from_le_bytes(b.get(at..at + 2)?.try_into().ok()?))
}

fn u32_at(b: &[u8], at: usize) -> Option<u32> {
    Some(u32::from_le_bytes(b.get(at..at + 4)?.try_into().ok()?))
}

/// Checks that `b` is exactly one serialized bitmap: known cookie, container keys
/// strictly increasing, offsets consistent, array values strictly increasing, bitmap
/// cardinalities right, no trailing bytes.
pub(super) fn validate(b: &[u8]) -> Result<(), BadBitmap> {
    let cookie = u32_at(b, 0).ok_or_else(|| bad(0, "truncated header"))?;
    if cookie != COOKIE_NO_RUN {
        return Err(bad(0, format!("cookie {cookie}, expected {COOKIE_NO_RUN}")));
    }
    let n = u32_at(b, 4).ok_or_else(|| bad(4, "truncated header"))? as usize;
    if n > 1 << 16 {
        return Err(bad(4, format!("{n} containers, at most 65536")));
    }
    let mut pos = 8 + 8 * n;
    if pos > b.len() {
        return Err(bad(b.len(), format!("{n} container headers do not fit")));
    }
    let mut prev_key: Option<u16> = None;
    for i in 0..n {
        let desc = 8 + 4 * i;
        let key = u16_at(b, desc).ok_or_else(|| bad(desc, "truncated"))?;
        let card = usize::from(u16_at(b, desc + 2).ok_or_else(|| bad(desc, "truncated"))?) + 1;
        if prev_key.is_some_and(|p| p >= key) {
            return Err(bad(desc, format!("container key {key} not increasing")));
        }
        prev_key = Some(key);
        let off_at = 8 + 4 * n + 4 * i;
        let off = u32_at(b, off_at).ok_or_else(|| bad(off_at, "truncated"))? as usize;
        if off != pos {
            return Err(bad(
                off_at,
                format!("container offset {off}, expected {pos}"),
            ));
        }
        pos = if card <= ARRAY_LIMIT {
            check_array(b, pos, card)?
        } else {
            check_bitmap(b, pos, card)?
        };
    }
    if pos != b.len() {
        return Err(bad(pos, format!("{} trailing bytes", b.len() - pos)));
    }
    Ok(())
}

fn check_array(b: &[u8], pos: usize, card: usize) -> Result<usize, BadBitmap> {
    let end = pos + 2 * card;
    let body = b
        .get(pos..end)
        .ok_or_else(|| bad(pos, "array container truncated"))?;
    let mut prev: Option<u16> = None;
    for (i, pair) in body.chunks_exact(2).enumerate() {
        let v = u16::from_le_bytes([pair[0], pair[1]]);
        if prev.is_some_and(|p| p >= v) {
            return Err(bad(pos + 2 * i, "array values not increasing"));
        }
        prev = Some(v);
    }
    Ok(end)
}

fn check_bitmap(b: &[u8], pos: usize, card: usize) -> Result<usize, BadBitmap> {
    let end = pos + BITMAP_BYTES;
    let body = b
        .get(pos..end)
        .ok_or_else(|| bad(pos, "bitmap container truncated"))?;
    let ones: usize = body
        .chunks_exact(8)
        .map(|w| u64::from_le_bytes(w.try_into().unwrap_or([0; 8])).count_ones() as usize)
        .sum();
    if ones != card {
        return Err(bad(
            pos,
            format!("bitmap container has {ones} bits, header says {card}"),
        ));
    }
    Ok(end)
}

/// Decodes bytes that passed [`validate`]. Should they not decode anyway (the file was
/// changed under its memory map), logs a warning and returns the empty bitmap.
pub(super) fn decode_validated(b: &[u8]) -> RoaringBitmap {
    match RoaringBitmap::deserialize_unchecked_from(b) {
        Ok(bm) => bm,
        Err(e) => {
            log::warn!("index postings no longer decode ({e}); treating them as empty");
            RoaringBitmap::new()
        }
    }
}

/// Serializes `bm` (appending to `out`).
pub(super) fn encode(bm: &RoaringBitmap, out: &mut Vec<u8>) {
    out.reserve(bm.serialized_size());
    // Writing into a Vec cannot fail.
    let _ = bm.serialize_into(out);
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn bytes_of(bm: &RoaringBitmap) -> Vec<u8> {
        let mut out = Vec::new();
        encode(bm, &mut out);
        out
    }

    #[test]
    fn rejects_each_kind_of_damage() {
        let bm: RoaringBitmap = [1u32, 5, 70_000].into_iter().collect();
        let good = bytes_of(&bm);
        assert_eq!(validate(&good), Ok(()));
        assert_eq!(decode_validated(&good), bm);

        let mut b = good.clone();
        b[0] ^= 1;
        assert_eq!(validate(&b).unwrap_err().offset, 0);
        // Second container key (1) made equal to the first (0).
        let mut b = good.clone();
        b[12] = 0;
        assert_eq!(validate(&b).unwrap_err().offset, 12);
        // Array values 1, 5 swapped to 5, 1.
        let mut b = good.clone();
        let body = 8 + 8 * 2;
        b.swap(body, body + 2);
        assert_eq!(validate(&b).unwrap_err().offset, body + 2);
        let mut b = good.clone();
        b.push(0);
        assert_eq!(validate(&b).unwrap_err().detail, "1 trailing bytes");
        assert!(validate(&good[..good.len() - 1]).is_err());
    }

    #[test]
    fn bitmap_container_cardinality_is_checked() {
        let bm: RoaringBitmap = (0u32..5000).collect();
        let mut b = bytes_of(&bm);
        assert_eq!(validate(&b), Ok(()));
        let last = b.len() - 1;
        b[last] |= 0x80;
        assert_eq!(validate(&b).unwrap_err().offset, 16);
    }

    proptest! {
        #[test]
        fn round_trip(ids in proptest::collection::vec(0u32..300_000, 0..6000)) {
            let bm: RoaringBitmap = ids.into_iter().collect();
            let b = bytes_of(&bm);
            prop_assert_eq!(validate(&b), Ok(()));
            prop_assert_eq!(decode_validated(&b), bm);
        }

        #[test]
        fn arbitrary_bytes_never_panic(b in proptest::collection::vec(any::<u8>(), 0..64)) {
            if validate(&b).is_ok() {
                let bm = decode_validated(&b);
                prop_assert_eq!(bytes_of(&bm), b);
            }
        }
    }
}
