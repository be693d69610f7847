//! Numeric helpers shared by rollups and aggregations, with Prometheus' exact arithmetic
//! (Kahan–Neumaier sums, incremental means on overflow, quantile interpolation).

/// One step of a Kahan–Neumaier sum: returns the new sum and compensation.
#[inline]
pub(crate) fn kahan_inc(inc: f64, sum: f64, c: f64) -> (f64, f64) {
    let t = sum + inc;
    let c = if t.is_infinite() {
        0.0
    } else if sum.abs() >= inc.abs() {
        c + ((sum - t) + inc)
    } else {
        c + ((inc - t) + sum)
    };
    (t, c)
}

/// A compensated sum.
pub(crate) fn kahan_sum(vals: impl Iterator<Item = f64>) -> f64 {
    let (mut s, mut c) = (0.0, 0.0);
    for v in vals {
        (s, c) = kahan_inc(v, s, c);
    }
    s + c
}

/// A mean that sums while it can and switches to an incremental mean on overflow.
#[derive(Default)]
pub(crate) struct Mean {
    sum: f64,
    c: f64,
    mean: f64,
    count: f64,
    incremental: bool,
}

impl Mean {
    /// Adds a value.
    pub fn add(&mut self, v: f64) {
        self.count += 1.0;
        if !self.incremental {
            let (ns, nc) = kahan_inc(v, self.sum, self.c);
            if self.count == 1.0 || !ns.is_infinite() {
                (self.sum, self.c) = (ns, nc);
                return;
            }
            self.incremental = true;
            self.mean = self.sum / (self.count - 1.0);
            self.c /= self.count - 1.0;
        }
        if self.mean.is_infinite() {
            if v.is_infinite() && (self.mean > 0.0) == (v > 0.0) {
                return;
            }
            if !v.is_infinite() && !v.is_nan() {
                return;
            }
        }
        let corrected = self.mean + self.c;
        (self.mean, self.c) = kahan_inc(v / self.count - corrected / self.count, self.mean, self.c);
    }

    /// The mean of the values added.
    pub fn get(&self) -> f64 {
        if self.incremental {
            self.mean + self.c
        } else {
            (self.sum + self.c) / self.count
        }
    }
}

/// The mean of `vals` exactly as [`Mean`] computes it (same operations in the same
/// order), with the running sums in locals: the common case (no overflow) is one tight
/// loop; a sum that overflows replays the values through [`Mean`].
pub(crate) fn mean_of(vals: impl Iterator<Item = f64> + Clone) -> f64 {
    let (mut sum, mut c, mut count) = (0.0f64, 0.0f64, 0.0f64);
    for v in vals.clone() {
        let (ns, nc) = kahan_inc(v, sum, c);
        if ns.is_infinite() && count != 0.0 {
            let mut m = Mean::default();
            vals.for_each(|v| m.add(v));
            return m.get();
        }
        (sum, c, count) = (ns, nc, count + 1.0);
    }
    (sum + c) / count
}

/// Population variance with compensated running sums.
pub(crate) fn variance(vals: impl Iterator<Item = f64>) -> f64 {
    let (mut count, mut mean, mut cm, mut aux, mut ca) = (0.0, 0.0, 0.0, 0.0, 0.0);
    for v in vals {
        count += 1.0;
        let delta = v - (mean + cm);
        (mean, cm) = kahan_inc(delta / count, mean, cm);
        (aux, ca) = kahan_inc(delta * (v - (mean + cm)), aux, ca);
    }
    (aux + ca) / count
}

/// Sorts floats as Go's `sort.Float64s` does (NaN first).
pub(crate) fn sort_floats(v: &mut [f64]) {
    v.sort_by(|a, b| match (a.is_nan(), b.is_nan()) {
        (true, true) => std::cmp::Ordering::Equal,
        (true, false) => std::cmp::Ordering::Less,
        (false, true) => std::cmp::Ordering::Greater,
        _ => a.partial_cmp(b).unwrap_or(std::cmp::Ordering::Equal),
    });
}

/// Prometheus' `quantile`: linear interpolation between the closest ranks.
pub(crate) fn quantile(q: f64, vals: &mut [f64]) -> f64 {
    if vals.is_empty() || q.is_nan() {
        return f64::NAN;
    }
    if q < 0.0 {
        return f64::NEG_INFINITY;
    }
    if q > 1.0 {
        return f64::INFINITY;
    }
    sort_floats(vals);
    let n = vals.len() as f64;
    let rank = q * (n - 1.0);
    let lower = rank.floor().max(0.0);
    let upper = (lower + 1.0).min(n - 1.0);
    let w = rank - rank.floor();
    vals[lower as usize] * (1.0 - w) + vals[upper as usize] * w
}

/// Least-squares slope and intercept of `(t - intercept_t) / 1000, v`.
pub(crate) fn linear_regression(
    s: &[gnomon_tsdb_core::model::Sample],
    intercept_t: i64,
) -> (f64, f64) {
    let (mut n, mut sx, mut cx, mut sy, mut cy) = (0.0, 0.0, 0.0, 0.0, 0.0);
    let (mut sxy, mut cxy, mut sx2, mut cx2) = (0.0, 0.0, 0.0, 0.0);
    let init = s[0].v;
    let mut const_y = true;
    for (i, p) in s.iter().enumerate() {
        if const_y && i > 0 && p.v != init {
            const_y = false;
        }
        n += 1.0;
        let x = (p.t - intercept_t) as f64 / 1e3;
        (sx, cx) = kahan_inc(x, sx, cx);
        (sy, cy) = kahan_inc(p.v, sy, cy);
        (sxy, cxy) = kahan_inc(x * p.v, sxy, cxy);
        (sx2, cx2) = kahan_inc(x * x, sx2, cx2);
    }
    if const_y {
        if init.is_infinite() {
            return (f64::NAN, f64::NAN);
        }
        return (0.0, init);
    }
    let (sx, sy, sxy, sx2) = (sx + cx, sy + cy, sxy + cxy, sx2 + cx2);
    let cov = sxy - sx * sy / n;
    let var = sx2 - sx * sx / n;
    let slope = cov / var;
    (slope, sy / n - slope * sx / n)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kahan_keeps_small_terms() {
        assert_eq!(kahan_sum([1e100, 1.0, -1e100].into_iter()), 1.0);
    }

    #[test]
    fn mean_survives_overflow() {
        let mut m = Mean::default();
        for v in [f64::MAX, f64::MAX, f64::MAX] {
            m.add(v);
        }
        assert_eq!(m.get(), f64::MAX);
    }

    proptest::proptest! {
        /// `mean_of` gives the bits of `Mean`, overflow and infinities included.
        #[test]
        fn mean_of_matches_mean(
            vals in proptest::collection::vec(
                proptest::prop_oneof![
                    -1e3f64..1e3,
                    proptest::num::f64::ANY,
                    proptest::strategy::Just(f64::MAX),
                    proptest::strategy::Just(f64::INFINITY),
                ],
                0..60,
            ),
        ) {
            let mut m = Mean::default();
            vals.iter().for_each(|&v| m.add(v));
            proptest::prop_assert_eq!(mean_of(vals.iter().copied()).to_bits(), m.get().to_bits());
        }
    }

    #[test]
    fn quantile_interpolates() {
        assert_eq!(quantile(0.5, &mut [1.0, 3.0, 2.0, 4.0]), 2.5);
        assert_eq!(quantile(2.0, &mut [1.0]), f64::INFINITY);
        assert!(quantile(0.5, &mut []).is_nan());
    }
}
