//! Exact conversion between `f64` and a decimal `m * 10^-k` (integer mantissa `m`,
//! scale `k`).
//!
//! The decoder computes `m as f64 / 10^k`. For `|m| <= 2^53` and `k <= 22` both operands
//! are exact, so the IEEE division returns the correctly rounded value of the decimal
//! `m * 10^-k`; the encoder accepts a candidate `(m, k)` only after running that very
//! computation and comparing bit patterns, so no value ever loses an ulp.

/// Largest scale: 10^22 is the largest power of ten an `f64` holds exactly.
pub(crate) const MAX_SCALE: u8 = 22;

/// Powers of ten 10^0 ..= 10^22, all exact in `f64`.
const POW10: [f64; MAX_SCALE as usize + 1] = [
    1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11, 1e12, 1e13, 1e14, 1e15, 1e16,
    1e17, 1e18, 1e19, 1e20, 1e21, 1e22,
];

/// The value of `m * 10^-k` as decoded (`k <= MAX_SCALE`).
#[inline(always)]
pub(crate) fn from_decimal(m: i64, k: u8) -> f64 {
    m as f64 / POW10[usize::from(k)]
}

/// The mantissa `m` with `from_decimal(m, k)` bit-identical to `v`, if there is one
/// (found by rounding `v * 10^k`); `None` for NaNs, infinities, `-0.0` and values that
/// need more digits than `k`.
#[inline(always)]
pub(crate) fn to_decimal(v: f64, k: u8) -> Option<i64> {
    let x = v * POW10[usize::from(k)];
    // The range check keeps `m` exact and the comparison honest (and rejects NaN).
    if x.is_nan() || x.abs() >= 9.2e18 {
        return None;
    }
    // Round to nearest without `f64::round` (a libm call on baseline x86-64): above
    // 2^52 every f64 is an integer and the fraction is 0.
    let t = x as i64;
    let frac = x - t as f64;
    let m = if frac >= 0.5 {
        t + 1
    } else if frac <= -0.5 {
        t - 1
    } else {
        t
    };
    (from_decimal(m, k).to_bits() == v.to_bits()).then_some(m)
}

/// The smallest scale `>= from` at which `v` is exact, if any.
pub(crate) fn scale_of(v: f64, from: u8) -> Option<(u8, i64)> {
    (from..=MAX_SCALE).find_map(|k| to_decimal(v, k).map(|m| (k, m)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_the_shortest_exact_scale() {
        assert_eq!(scale_of(20.75, 0), Some((2, 2075)));
        assert_eq!(scale_of(0.1, 0), Some((1, 1)));
        assert_eq!(scale_of(-3.0, 0), Some((0, -3)));
        assert_eq!(scale_of(3.799e-05, 0), Some((8, 3799)));
        assert_eq!(scale_of(1682438745951.0, 0), Some((0, 1682438745951)));
        assert_eq!(scale_of(0.1, 3), Some((3, 100)));
    }

    #[test]
    fn refuses_what_it_cannot_reproduce() {
        assert_eq!(scale_of(f64::NAN, 0), None);
        assert_eq!(scale_of(f64::INFINITY, 0), None);
        assert_eq!(scale_of(-0.0, 0), None, "-0.0 would come back as +0.0");
        assert_eq!(scale_of(f64::from_bits(1), 0), None, "subnormal");
        assert_eq!(scale_of(1e300, 0), None);
        // 0.1 + 0.2 needs 17 significant digits: mantissa above 2^53.
        let v = 0.1 + 0.2;
        if let Some((k, m)) = scale_of(v, 0) {
            assert_eq!(from_decimal(m, k).to_bits(), v.to_bits());
        }
    }
}
