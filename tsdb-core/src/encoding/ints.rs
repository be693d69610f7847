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
/// Residual coder: count of non-zero residuals, then per non-zero residual the number
/// of zeros before it (uvarint) and its value (zig-zag varint).
const CODER_SPARSE: u8 = 2;
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
    nonzero: usize,
}

impl Stats {
    const EMPTY: Stats = Stats {
        min: i64::MAX,
        max: i64::MIN,
        gcd: 0,
        nonzero: 0,
    };

    #[inline(always)]
    fn add(&mut self, r: i64) {
        self.min = self.min.min(r);
        self.max = self.max.max(r);
        self.nonzero += usize::from(r != 0);
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

/// Everything needed to write one sequence: predictor order, divisor, coder, exact
/// size, and the transformed sequence (heads then divided residuals).
struct Plan {
    order: usize,
    gcd: u64,
    coder: u8,
    size: usize,
    t: Vec<i64>,
}

/// Appends the encoding of `m` to `out` (the length is not written).
pub(crate) fn encode_ints(m: &[i64], out: &mut Vec<u8>) {
    write(plan(m), out);
}

/// Exact encoded size of `m`; what [`encode_ints`] would append.
#[cfg(test)]
pub(crate) fn encoded_len(m: &[i64]) -> usize {
    plan(m).size
}

/// Picks the predictor and coder. One pass gathers, for every order, the residuals'
/// range, gcd and number of non-zeros; that gives the exact bit-packed size and an
/// estimate of the sparse size. The best order by each is then transformed and sized
/// exactly under every coder.
fn plan(m: &[i64]) -> Plan {
    let stats = collect_stats(m);
    let (mut by_packed, mut by_sparse) = ((usize::MAX, 0), (usize::MAX, 0));
    for (p, s) in stats.iter().enumerate().take(m.len() + 1) {
        let fixed = fixed_len(m, p, s.divisor());
        let packed = fixed + packed_size(m.len() - p, s);
        // A non-zero costs a gap and a value: ~3 bytes for small ones.
        let sparse = fixed + uvarint_len(s.nonzero as u64) + 3 * s.nonzero;
        by_packed = by_packed.min((packed, p));
        by_sparse = by_sparse.min((sparse, p));
    }
    let best = exact_plan(m, by_packed.1, &stats[by_packed.1]);
    if by_sparse.1 == by_packed.1 {
        return best;
    }
    let other = exact_plan(m, by_sparse.1, &stats[by_sparse.1]);
    if other.size < best.size { other } else { best }
}

/// Size of the descriptor, heads and gcd for order `p` (`p <= m.len()`).
fn fixed_len(m: &[i64], p: usize, g: u64) -> usize {
    let head_bytes: usize = heads_of(m, p)[..p]
        .iter()
        .map(|&h| uvarint_len(zigzag(h)))
        .sum();
    1 + head_bytes + if g > 1 { uvarint_len(g) } else { 0 }
}

/// Size of `k` residuals bit-packed (min, width byte, packed bytes).
fn packed_size(k: usize, s: &Stats) -> usize {
    let g = s.divisor();
    let (min, width) = if k == 0 {
        (0, 0)
    } else {
        (
            s.min / g as i64,
            bit_width((s.max.wrapping_sub(s.min) as u64) / g),
        )
    };
    uvarint_len(zigzag(min)) + 1 + packed_len(k, width).unwrap_or(usize::MAX / 4)
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
        s[1].add(n1);
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
fn heads_of(m: &[i64], p: usize) -> [i64; MAX_ORDER] {
    let mut t = [0i64; MAX_ORDER];
    let p = p.min(m.len());
    t[..p].copy_from_slice(&m[..p]);
    for j in 1..p {
        for i in (j..p).rev() {
            t[i] = t[i].wrapping_sub(t[i - 1]);
        }
    }
    t
}

/// Transforms `m` with order `p` and sizes every coder exactly.
fn exact_plan(m: &[i64], p: usize, s: &Stats) -> Plan {
    let g = s.divisor();
    let mut t = m.to_vec();
    for j in 1..=p.min(t.len()) {
        let mut prev = t[j - 1];
        for x in &mut t[j..] {
            (*x, prev) = (x.wrapping_sub(prev), *x);
        }
    }
    let res = &mut t[p..];
    divide_exact(res, g);
    let fixed = fixed_len(m, p, g);
    let packed = packed_size(res.len(), s);
    // Varints take at least 1 byte a residual, sparse at least 2 a non-zero: skip the
    // sizing pass when bit packing is already as small (the common case).
    let (mut varint, mut sparse) = (usize::MAX, usize::MAX);
    if packed > res.len() || packed > 2 * s.nonzero {
        let (mut zeros, mut count) = (0u64, 0u64);
        (varint, sparse) = (0, 0);
        for &r in res.iter() {
            let len = uvarint_len(zigzag(r));
            varint += len;
            if r == 0 {
                zeros += 1;
            } else {
                sparse += uvarint_len(zeros) + len;
                (zeros, count) = (0, count + 1);
            }
        }
        sparse += uvarint_len(count);
    }
    let (coder, body) = [
        (CODER_PACKED, packed),
        (CODER_VARINT, varint),
        (CODER_SPARSE, sparse),
    ]
    .into_iter()
    .min_by_key(|&(_, size)| size)
    .unwrap_or((CODER_PACKED, packed));
    Plan {
        order: p,
        gcd: g,
        coder,
        size: fixed + body,
        t,
    }
}

/// Divides every element of `res` by `g`, each known to be a multiple of `g`: a shift
/// by the power of two in `g`, then a multiplication by the inverse of its odd part
/// modulo 2^64 (exact for multiples, and much cheaper than a 64-bit division).
fn divide_exact(res: &mut [i64], g: u64) {
    if g <= 1 {
        return;
    }
    let shift = g.trailing_zeros();
    let odd = g >> shift;
    // Newton iteration: each step doubles the number of correct low bits (3 -> 96).
    let mut inv = odd;
    for _ in 0..5 {
        inv = inv.wrapping_mul(2u64.wrapping_sub(odd.wrapping_mul(inv)));
    }
    for r in res {
        *r = (*r >> shift).wrapping_mul(inv as i64);
    }
}

fn write(plan: Plan, out: &mut Vec<u8>) {
    let Plan {
        order: p,
        gcd: g,
        coder,
        t,
        ..
    } = plan;
    let flag = if g > 1 { HAS_GCD } else { 0 };
    out.push(p as u8 | flag | (coder << 4));
    for &h in &t[..p] {
        put_ivarint(out, h);
    }
    if g > 1 {
        put_uvarint(out, g);
    }
    let res = &t[p..];
    match coder {
        CODER_PACKED => {
            let min = res.iter().copied().min().unwrap_or(0);
            let max = res.iter().copied().max().unwrap_or(0);
            let width = bit_width(max.wrapping_sub(min) as u64);
            put_ivarint(out, min);
            out.push(width as u8);
            pack(res.iter().map(|&r| r.wrapping_sub(min) as u64), width, out);
        }
        CODER_VARINT => res.iter().for_each(|&r| put_ivarint(out, r)),
        _ => {
            put_uvarint(out, res.iter().filter(|&&r| r != 0).count() as u64);
            let mut zeros = 0u64;
            for &r in res {
                if r == 0 {
                    zeros += 1;
                } else {
                    put_uvarint(out, zeros);
                    put_ivarint(out, r);
                    zeros = 0;
                }
            }
        }
    }
}

/// Decodes exactly `n` integers from `r`, appending them to `out`.
///
/// # Errors
/// Malformed descriptor, truncated data, or `n` smaller than the predictor order.
pub(crate) fn decode_ints(r: &mut Reader<'_>, n: usize, out: &mut Vec<i64>) -> Result<()> {
    let desc = r.u8()?;
    if desc & 0b1100_1000 != 0 || (desc >> 4) > CODER_SPARSE {
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
    } else if desc >> 4 == CODER_SPARSE {
        decode_sparse(r, k, g, out)?;
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

/// Reads the sparse coder: `k` residuals, all zero but the listed ones.
fn decode_sparse(r: &mut Reader<'_>, k: usize, g: i64, out: &mut Vec<i64>) -> Result<()> {
    let count = r.uvarint()?;
    if count > k as u64 || count.saturating_mul(2) > r.remaining() as u64 {
        return Err(r.error(format_args!(
            "{count} non-zero residuals of {k} with {} bytes left",
            r.remaining()
        )));
    }
    let end = out.len() + k;
    out.reserve(k);
    for _ in 0..count {
        let zeros = r.uvarint()?;
        if zeros >= (end - out.len()) as u64 {
            return Err(r.error(format_args!(
                "{zeros} zero residuals overrun the {k} of the block"
            )));
        }
        out.extend(std::iter::repeat_n(0, zeros as usize));
        out.push(r.ivarint()?.wrapping_mul(g));
    }
    out.resize(end, 0);
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
    fn constant_rate_counter_is_delta_of_delta_with_no_residuals() {
        let m: Vec<i64> = (0..100).map(|i| 1000 + 1024 * i).collect();
        // Order 2, sparse: heads 1000 (zig-zag 2000 = d0 0f) and 1024 (zig-zag 2048 =
        // 80 10), no non-zero residual. (Order 1 would need a gcd or a min: 7 bytes.)
        let bytes = round_trip(&m);
        assert_eq!(bytes, [0x22, 0xd0, 0x0f, 0x80, 0x10, 0x00]);
    }

    #[test]
    fn golden_gcd_packed() {
        let m: Vec<i64> = [3, 1, 2, 0, 3].iter().map(|x| 7 + 4096 * x).collect();
        // Plain values share no gcd; deltas -8192, 4096, -8192, 12288 do: 4096. Order 1:
        // descriptor 0x01 | 0x04, head 12295 (zig-zag 24590 = 8e c0 01), gcd 4096 (80 20), divided
        // residuals -2, 1, -2, 3 -> min -2 (zig-zag 3), width 3, offsets 0, 3, 0, 5.
        let bytes = round_trip(&m);
        assert_eq!(
            bytes,
            [
                0x05,
                0x8e,
                0xc0,
                0x01,
                0x80,
                0x20,
                0x03,
                0x03,
                0b0001_1000,
                0b1010
            ]
        );
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
    fn golden_sparse_piecewise_constant() {
        let mut m = vec![7i64; 40];
        m[10..].fill(9);
        m[30..].fill(8);
        // Delta: head 7 (zig-zag 14); residuals zero but +2 after 9 zeros and -1 after
        // 19 more: count 2, (9, zig-zag 4), (19, zig-zag 1).
        assert_eq!(round_trip(&m), [0x21, 0x0e, 0x02, 0x09, 0x04, 0x13, 0x01]);
    }

    #[test]
    fn sparse_overrun_is_an_error() {
        let err = decode_ints(
            &mut Reader::new(&[0x20, 0x01, 0x05, 0x02], "values"),
            5,
            &mut Vec::new(),
        )
        .unwrap_err();
        assert_eq!(
            err.to_string(),
            "cannot decode values: at byte 3: 5 zero residuals overrun the 5 of the block"
        );
    }

    #[test]
    fn exact_division_matches_integer_division() {
        for g in [2u64, 3, 7, 10, 1000, 1024, 4096 * 3, 15_000, (1 << 62) + 1] {
            let q: Vec<i64> = vec![
                0,
                1,
                -1,
                17,
                -123_456,
                (i64::MAX / g as i64),
                (i64::MIN / g as i64),
            ];
            let mut r: Vec<i64> = q.iter().map(|&x| x.wrapping_mul(g as i64)).collect();
            divide_exact(&mut r, g);
            assert_eq!(r, q, "g = {g}");
        }
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
