//! The integer-sequence codec shared by timestamps and decimal values.
//!
//! A sequence `m` is transformed by a predictor of order `p` (0 = plain, 1 = delta,
//! 2 = delta-of-delta, 3 = third difference): the `p`-th differences from position `p`
//! on are the *residuals*; the first `p` entries (the value, then the first difference,
//! ... at the start) are the *heads*. Residuals are divided by their greatest common
//! divisor when it is above 1 (byte counters move in multiples of 512/1024/4096,
//! second-precision timestamps in multiples of 1000) and coded either bit-packed after
//! subtracting their minimum (frame of reference) or as zig-zag varints. The encoder
//! computes the exact size of every (predictor, coder) pair in one pass and keeps the
//! smallest.
//!
//! Layout (see `docs/format/block-encoding.md`):
//! `descriptor u8 | heads: p zig-zag varints | [gcd uvarint] | residuals`, where
//! descriptor bits 0-1 hold `p`, bit 2 says a gcd follows, bits 4-5 the coder.

use super::bitpack::{bit_width, pack, packed_len, unpack};
use super::reader::{Reader, put_ivarint, put_uvarint, uvarint_len, zigzag};
use crate::Result;

/// Residual coder: `min` zig-zag varint, width byte, bit-packed `residual - min`.
const CODER_PACKED: u8 = 0;
/// Residual coder: one zig-zag varint per residual.
const CODER_VARINT: u8 = 1;
/// Descriptor bit: a gcd varint follows the heads.
const HAS_GCD: u8 = 0b100;
/// Highest predictor order.
const MAX_ORDER: usize = 3;

/// Running statistics of the residuals of one predictor.
#[derive(Clone, Copy)]
struct Stats {
    min: i64,
    max: i64,
    gcd: u64,
    varint_bytes: usize,
}

impl Stats {
    const EMPTY: Stats = Stats {
        min: i64::MAX,
        max: i64::MIN,
        gcd: 0,
        varint_bytes: 0,
    };

    #[inline(always)]
    fn add(&mut self, r: i64) {
        self.min = self.min.min(r);
        self.max = self.max.max(r);
        self.varint_bytes += uvarint_len(zigzag(r));
        if self.gcd != 1 {
            let a = r.unsigned_abs();
            if self.gcd == 0 {
                self.gcd = a;
            } else if !a.is_multiple_of(self.gcd) {
                self.gcd = gcd(self.gcd, a);
            }
        }
    }

    /// The divisor actually used: the gcd when it is above 1 and fits an `i64`.
    fn divisor(&self) -> u64 {
        if self.gcd > 1 && self.gcd <= i64::MAX as u64 {
            self.gcd
        } else {
            1
        }
    }
}

fn gcd(mut a: u64, mut b: u64) -> u64 {
    while b != 0 {
        (a, b) = (b, a % b);
    }
    a
}

/// The chosen encoding of one sequence.
struct Choice {
    order: usize,
    coder: u8,
    size: usize,
}

/// Appends the encoding of `m` to `out` (the length is not written).
pub(crate) fn encode_ints(m: &[i64], out: &mut Vec<u8>) {
    let stats = collect_stats(m);
    let choice = choose(m, &stats);
    write(m, &stats[choice.order], choice, out);
}

/// Exact encoded size of `m`; what [`encode_ints`] would append.
#[cfg(test)]
pub(crate) fn encoded_len(m: &[i64]) -> usize {
    let stats = collect_stats(m);
    choose(m, &stats).size
}

/// One pass computing the residual statistics of every predictor order.
fn collect_stats(m: &[i64]) -> [Stats; MAX_ORDER + 1] {
    let mut s = [Stats::EMPTY; MAX_ORDER + 1];
    let (mut d1, mut d2) = (0i64, 0i64);
    for (i, &x) in m.iter().enumerate() {
        s[0].add(x);
        if i == 0 {
            continue;
        }
        let n1 = x.wrapping_sub(m[i - 1]);
        if i >= 1 {
            s[1].add(n1);
        }
        let n2 = n1.wrapping_sub(d1);
        if i >= 2 {
            s[2].add(n2);
        }
        if i >= 3 {
            s[3].add(n2.wrapping_sub(d2));
        }
        (d1, d2) = (n1, n2);
    }
    s
}

/// The heads of order `p`: the `j`-th difference at position `j`, for `j < p`.
fn heads(m: &[i64], p: usize) -> [i64; MAX_ORDER] {
    let mut h = [0i64; MAX_ORDER];
    let mut w = [0i64; MAX_ORDER];
    w[..p].copy_from_slice(&m[..p]);
    for (j, head) in h.iter_mut().enumerate().take(p) {
        *head = w[j];
        for i in (j + 1..p).rev() {
            w[i] = w[i].wrapping_sub(w[i - 1]);
        }
    }
    h
}

fn choose(m: &[i64], stats: &[Stats; MAX_ORDER + 1]) -> Choice {
    let mut best = Choice {
        order: 0,
        coder: CODER_VARINT,
        size: usize::MAX,
    };
    for (p, s) in stats.iter().enumerate() {
        if p > m.len() {
            break;
        }
        let k = m.len() - p;
        let g = s.divisor();
        let head_bytes: usize = heads(m, p)[..p]
            .iter()
            .map(|&h| uvarint_len(zigzag(h)))
            .sum();
        let fixed = 1 + head_bytes + if g > 1 { uvarint_len(g) } else { 0 };
        let (min, width) = if k == 0 {
            (0, 0)
        } else {
            (
                s.min / g as i64,
                bit_width((s.max.wrapping_sub(s.min) as u64) / g),
            )
        };
        let packed =
            fixed + uvarint_len(zigzag(min)) + 1 + packed_len(k, width).unwrap_or(usize::MAX / 2);
        if packed < best.size {
            best = Choice {
                order: p,
                coder: CODER_PACKED,
                size: packed,
            };
        }
        // The varint estimate ignores the gcd, so it is exact only when g == 1.
        if g == 1 && fixed + s.varint_bytes < best.size {
            best = Choice {
                order: p,
                coder: CODER_VARINT,
                size: fixed + s.varint_bytes,
            };
        }
    }
    best
}

fn write(m: &[i64], s: &Stats, c: Choice, out: &mut Vec<u8>) {
    let p = c.order;
    let g = s.divisor();
    let flag = if g > 1 { HAS_GCD } else { 0 };
    out.push(p as u8 | flag | (c.coder << 4));
    for &h in &heads(m, p)[..p] {
        put_ivarint(out, h);
    }
    if g > 1 {
        put_uvarint(out, g);
    }
    let mut t = m.to_vec();
    for j in 1..=p {
        for i in (j..t.len()).rev() {
            t[i] = t[i].wrapping_sub(t[i - 1]);
        }
    }
    let res = &mut t[p.min(m.len())..];
    if g > 1 {
        let g = g as i64;
        res.iter_mut().for_each(|r| *r /= g);
    }
    match c.coder {
        CODER_PACKED => {
            let min = res.iter().copied().min().unwrap_or(0);
            let max = res.iter().copied().max().unwrap_or(0);
            let width = bit_width(max.wrapping_sub(min) as u64);
            put_ivarint(out, min);
            out.push(width as u8);
            pack(res.iter().map(|&r| r.wrapping_sub(min) as u64), width, out);
        }
        _ => res.iter().for_each(|&r| put_ivarint(out, r)),
    }
}

/// Decodes exactly `n` integers from `r`, appending them to `out`.
///
/// # Errors
/// Malformed descriptor, truncated data, or `n` smaller than the predictor order.
pub(crate) fn decode_ints(r: &mut Reader<'_>, n: usize, out: &mut Vec<i64>) -> Result<()> {
    let desc = r.u8()?;
    if desc & 0b1100_1000 != 0 || (desc >> 4) > CODER_VARINT {
        return Err(r.error(format_args!("bad integer-sequence descriptor {desc:#04x}")));
    }
    let p = usize::from(desc & 0b11);
    if p > n {
        return Err(r.error(format_args!(
            "predictor order {p} needs at least {p} samples, block has {n}"
        )));
    }
    let start = out.len();
    for _ in 0..p {
        out.push(r.ivarint()?);
    }
    let g = if desc & HAS_GCD != 0 {
        let g = r.uvarint()?;
        if g < 2 || g > i64::MAX as u64 {
            return Err(r.error(format_args!("residual divisor {g} out of range")));
        }
        g as i64
    } else {
        1
    };
    let k = n - p;
    if desc >> 4 == CODER_PACKED {
        let min = r.ivarint()?;
        let width = u32::from(r.u8()?);
        if width > 64 {
            return Err(r.error(format_args!("bit width {width} above 64")));
        }
        if width > 0 {
            // Bounded by the payload: unpack checks the length before producing values.
            let need = packed_len(k, width).unwrap_or(usize::MAX);
            if need > r.remaining() {
                return Err(r.error(format_args!(
                    "{k} residuals of {width} bits need {need} bytes, {} left",
                    r.remaining()
                )));
            }
        }
        out.reserve(k);
        unpack(r, k, width, |v| {
            out.push(min.wrapping_add(v as i64).wrapping_mul(g))
        })?;
    } else {
        if k > r.remaining() {
            return Err(r.error(format_args!(
                "{k} varint residuals cannot fit in {} bytes",
                r.remaining()
            )));
        }
        out.reserve(k);
        for _ in 0..k {
            out.push(r.ivarint()?.wrapping_mul(g));
        }
    }
    let t = &mut out[start..];
    for j in (1..=p).rev() {
        for i in j..t.len() {
            t[i] = t[i].wrapping_add(t[i - 1]);
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn round_trip(m: &[i64]) -> Vec<u8> {
        let mut out = Vec::new();
        encode_ints(m, &mut out);
        assert_eq!(out.len(), encoded_len(m), "size estimate is exact");
        let mut r = Reader::new(&out, "t");
        let mut back = Vec::new();
        decode_ints(&mut r, m.len(), &mut back).unwrap();
        r.finish().unwrap();
        assert_eq!(back, m);
        out
    }

    #[test]
    fn constant_rate_counter_is_delta_with_zero_width() {
        let m: Vec<i64> = (0..100).map(|i| 1000 + 1024 * i).collect();
        // Order 1 (delta): heads [1000], residuals all 1024 -> gcd 1024, residual 1
        // (the smaller option to plain), packed with width 0.
        let bytes = round_trip(&m);
        assert_eq!(bytes, [0x05, 0xd0, 0x0f, 0x80, 0x08, 0x02, 0x00]);
    }

    #[test]
    fn golden_delta_packed() {
        let m = [10i64, 20, 31, 41, 52];
        // Order 1: head 10 (zig-zag 20), residuals 10, 11, 10, 11 -> min 10 (zig-zag 20),
        // width 1, bits 0, 1, 0, 1 -> 0b1010.
        let bytes = round_trip(&m);
        assert_eq!(bytes, [0x01, 0x14, 0x14, 0x01, 0b1010]);
    }

    #[test]
    fn outliers_choose_varints() {
        let m = [0i64, 1, 0, 1, i64::MAX, 0, 1];
        let bytes = round_trip(&m);
        assert_eq!(bytes[0] >> 4, CODER_VARINT);
    }

    #[test]
    fn short_and_extreme_sequences() {
        round_trip(&[]);
        round_trip(&[i64::MIN]);
        round_trip(&[i64::MIN, i64::MAX]);
        round_trip(&[i64::MAX, i64::MIN, i64::MAX, 0]);
        round_trip(&[0, i64::MIN, 0, i64::MIN]);
    }

    #[test]
    fn order_above_n_is_an_error() {
        let err = decode_ints(
            &mut Reader::new(&[0x02, 0, 0], "timestamps"),
            1,
            &mut Vec::new(),
        )
        .unwrap_err();
        assert_eq!(
            err.to_string(),
            "cannot decode timestamps: at byte 1: predictor order 2 needs at least 2 samples, block has 1"
        );
    }

    #[test]
    fn huge_n_on_small_payload_is_an_error() {
        let err = decode_ints(
            &mut Reader::new(&[0x10, 0, 0], "values"),
            1 << 40,
            &mut Vec::new(),
        )
        .unwrap_err();
        assert_eq!(
            err.to_string(),
            "cannot decode values: at byte 1: 1099511627776 varint residuals cannot fit in 2 bytes"
        );
    }

    proptest! {
        #[test]
        fn arbitrary_round_trip(m in proptest::collection::vec(any::<i64>(), 0..300)) {
            round_trip(&m);
        }

        #[test]
        fn small_steps_round_trip(
            start in any::<i64>(),
            steps in proptest::collection::vec(-5i64..5, 0..300),
            scale in 1i64..5000,
        ) {
            let mut x = start;
            let m: Vec<i64> = steps.iter().map(|s| { x = x.wrapping_add(s * scale); x }).collect();
            round_trip(&m);
        }

        #[test]
        fn arbitrary_bytes_never_panic(src in proptest::collection::vec(any::<u8>(), 0..64), n in 0usize..2000) {
            let mut out = Vec::new();
            let _ = decode_ints(&mut Reader::new(&src, "t"), n, &mut out);
        }
    }
}
