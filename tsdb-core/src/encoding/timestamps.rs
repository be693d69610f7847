//! Timestamp blocks: `encode_timestamps` / `decode_timestamps`.
//!
//! Schemes (first byte; bit 7 set = the rest is a zstd frame holding the body):
//! - `0` empty block (`n == 0`), no body;
//! - `1` constant step: `first` and `step` as zig-zag varints (`t[i] = first + i*step`);
//! - `2` integer sequence (see [`ints`](super::ints)): the encoder picks among plain,
//!   delta, delta-of-delta and third differences, divided by the common step GCD.

use super::compress::{decompress, maybe_compress};
use super::ints::{decode_ints, encode_ints};
use super::reader::{Reader, put_ivarint};
use crate::Result;

const WHAT: &str = "timestamps";

/// Scheme byte: no samples.
pub(crate) const TS_EMPTY: u8 = 0;
/// Scheme byte: first timestamp and a constant step.
pub(crate) const TS_CONST_STEP: u8 = 1;
/// Scheme byte: integer-sequence codec.
pub(crate) const TS_INTS: u8 = 2;
/// Scheme bit: the body is zstd-compressed.
pub(crate) const ZSTD_FLAG: u8 = 0x80;

/// Appends the encoding of `ts` (any `i64`s; typically strictly increasing ms) to `out`.
///
/// The block length is not written: the decoder is given it.
pub fn encode_timestamps(ts: &[i64], out: &mut Vec<u8>) {
    let Some((&first, rest)) = ts.split_first() else {
        out.push(TS_EMPTY);
        return;
    };
    let step = rest.first().map_or(0, |&t| t.wrapping_sub(first));
    if ts.windows(2).all(|w| w[1].wrapping_sub(w[0]) == step) {
        out.push(TS_CONST_STEP);
        put_ivarint(out, first);
        put_ivarint(out, step);
        return;
    }
    let at = out.len();
    out.push(TS_INTS);
    encode_ints(ts, out);
    if let Some(z) = maybe_compress(&out[at + 1..], ts.len()) {
        out.truncate(at);
        out.push(TS_INTS | ZSTD_FLAG);
        out.extend_from_slice(&z);
    }
}

/// Decodes exactly `n` timestamps from `src` (the whole payload), appending to `out`.
///
/// # Errors
/// [`Error::Decode`](crate::Error::Decode) with `what = "timestamps"` when `src` is not
/// a payload of exactly `n` timestamps: truncated, trailing bytes, unknown scheme byte,
/// varint overflow, or `n` inconsistent with the scheme or too large for the payload.
/// On error `out` may hold a partial block.
pub fn decode_timestamps(src: &[u8], n: usize, out: &mut Vec<i64>) -> Result<()> {
    let mut r = Reader::new(src, WHAT);
    let scheme = r.u8()?;
    if (scheme == TS_EMPTY) != (n == 0) {
        return Err(r.error(format_args!("scheme {scheme} cannot hold {n} samples")));
    }
    match scheme {
        TS_EMPTY => {}
        TS_CONST_STEP => {
            let first = r.ivarint()?;
            let step = r.ivarint()?;
            out.reserve(n.min(1 << 16));
            let mut t = first;
            for _ in 0..n {
                out.push(t);
                t = t.wrapping_add(step);
            }
        }
        TS_INTS => decode_ints(&mut r, n, out)?,
        s if s == TS_INTS | ZSTD_FLAG => {
            let body = decompress(&mut r, n.saturating_mul(10).saturating_add(16))?;
            let mut inner = Reader::new(&body, WHAT);
            decode_ints(&mut inner, n, out)?;
            inner.finish()?;
        }
        s => return Err(r.error(format_args!("unknown timestamp scheme {s:#04x}"))),
    }
    r.finish()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Error;
    use proptest::prelude::*;

    fn round_trip(ts: &[i64]) -> Vec<u8> {
        let mut out = Vec::new();
        encode_timestamps(ts, &mut out);
        let mut back = vec![42];
        decode_timestamps(&out, ts.len(), &mut back).unwrap();
        assert_eq!(&back[1..], ts, "appends after existing content");
        out
    }

    #[test]
    fn golden_empty_and_constant_step() {
        assert_eq!(round_trip(&[]), [TS_EMPTY]);
        // first 1704067200000 (zig-zag 3408134400000), step 15000 (zig-zag 30000).
        let ts: Vec<i64> = (0..1440).map(|i| 1_704_067_200_000 + 15_000 * i).collect();
        assert_eq!(
            round_trip(&ts),
            [1, 0x80, 0xd0, 0x8f, 0xa5, 0x98, 0x63, 0xb0, 0xea, 0x01]
        );
        assert_eq!(round_trip(&[-5]), [1, 0x09, 0x00]);
    }

    #[test]
    fn golden_jittered_scrapes_use_delta() {
        let ts = [1000i64, 2001, 2999, 4000, 5002, 6000];
        // Order 1: head 1000 (zig-zag 2000 = d0 0f); deltas 1001, 998, 1001, 1002, 998
        // -> min 998 (zig-zag 1996 = cc 0f), width 3, offsets 3, 0, 3, 4, 0 packed LSB
        // first. Delta-of-delta (-3, 3, 1, -4) would cost one byte more for its 2nd head.
        assert_eq!(
            round_trip(&ts),
            [
                2,
                0x01,
                0xd0,
                0x0f,
                0xcc,
                0x0f,
                0x03,
                0b1100_0011,
                0b000_1000
            ]
        );
    }

    #[test]
    fn golden_accelerating_steps_use_third_differences() {
        let ts = [0i64, 10, 30, 60, 100, 150, 210, 280];
        // Order 3, sparse coder (0x23): heads 0, 10, 10 (zig-zag 0, 20, 20), then zero
        // non-zero residuals.
        assert_eq!(round_trip(&ts), [2, 0x23, 0x00, 0x14, 0x14, 0x00]);
    }

    #[test]
    fn missing_scrapes_and_gcd() {
        // Second-precision timestamps with a gap: residuals are multiples of 1000.
        let mut ts: Vec<i64> = (0..500).map(|i| 1_700_000_000_000 + 15_000 * i).collect();
        ts.drain(100..108);
        ts[300] += 1000;
        let out = round_trip(&ts);
        assert!(out.len() < 120, "{} bytes", out.len());
    }

    #[test]
    fn errors_name_what_went_wrong() {
        let err = decode_timestamps(&[9], 1, &mut Vec::new()).unwrap_err();
        assert!(matches!(
            err,
            Error::Decode {
                what: "timestamps",
                ..
            }
        ));
        assert_eq!(
            err.to_string(),
            "cannot decode timestamps: at byte 1: unknown timestamp scheme 0x09"
        );
        let err = decode_timestamps(&[1, 0, 0, 7], 3, &mut Vec::new()).unwrap_err();
        assert_eq!(
            err.to_string(),
            "cannot decode timestamps: at byte 3: 1 trailing bytes after the last sample"
        );
        let err = decode_timestamps(&[0], 2, &mut Vec::new()).unwrap_err();
        assert_eq!(
            err.to_string(),
            "cannot decode timestamps: at byte 1: scheme 0 cannot hold 2 samples"
        );
        let err = decode_timestamps(&[], 0, &mut Vec::new()).unwrap_err();
        assert_eq!(
            err.to_string(),
            "cannot decode timestamps: at byte 0: unexpected end of payload, wanted 1 byte"
        );
        let err = decode_timestamps(&[0x82, 1, 2, 3], 10, &mut Vec::new()).unwrap_err();
        assert!(err.to_string().contains("bad zstd frame"), "{err}");
    }

    proptest! {
        #[test]
        fn arbitrary_round_trip(ts in proptest::collection::vec(any::<i64>(), 0..300)) {
            round_trip(&ts);
        }

        #[test]
        fn scrape_like_round_trip(
            start in 0i64..2_000_000_000_000,
            step in prop::sample::select(vec![1000i64, 10_000, 15_000, 60_000]),
            jitter in proptest::collection::vec((-20i64..20, 0u8..50), 1..2000),
        ) {
            let mut t = start;
            let ts: Vec<i64> = jitter.iter().map(|&(j, gap)| {
                t += step * if gap == 0 { 5 } else { 1 };
                t + j
            }).collect();
            round_trip(&ts);
        }

        #[test]
        fn arbitrary_bytes_never_panic(src in proptest::collection::vec(any::<u8>(), 0..64), n in 0usize..5000) {
            let mut out = Vec::new();
            if decode_timestamps(&src, n, &mut out).is_ok() {
                prop_assert_eq!(out.len(), n);
            }
        }
    }
}
