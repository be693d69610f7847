//! MetricsQL's single-valued rollup functions with VictoriaMetrics' semantics: each sees
//! a [`VmWin`] (the window's samples and the sample before it) and returns NaN for "no
//! value".

use std::collections::HashMap;

use gnomon_tsdb_core::model::is_stale_nan;

use super::window::VmWin;
use crate::engine::stats::quantile;

/// A VM rollup function.
pub(crate) type VmFn = fn(&VmWin) -> f64;

/// A rollup function with the traits the driver needs.
#[derive(Clone, Copy)]
pub(crate) struct VmRollup {
    /// The function.
    pub f: VmFn,
    /// May widen a window shorter than the scrape interval (`rate`, `deriv`, …).
    pub adjust: bool,
    /// Counter resets are removed from the series first.
    pub resets: bool,
    /// Keeps the metric name.
    pub keep_name: bool,
    /// Sees staleness markers.
    pub stale: bool,
}

impl VmRollup {
    /// A plain rollup: no window widening, no reset removal, the name dropped.
    pub const fn new(f: VmFn) -> VmRollup {
        VmRollup {
            f,
            adjust: false,
            resets: false,
            keep_name: false,
            stale: false,
        }
    }
    /// Widens short windows.
    pub const fn adjust(mut self) -> Self {
        self.adjust = true;
        self
    }
    /// Removes counter resets first.
    pub const fn resets(mut self) -> Self {
        self.resets = true;
        self
    }
    /// Keeps the metric name.
    pub const fn keep(mut self) -> Self {
        self.keep_name = true;
        self
    }
    /// Keeps staleness markers.
    pub const fn stale(mut self) -> Self {
        self.stale = true;
        self
    }
}

const NAN: f64 = f64::NAN;

/// The scalar argument (NaN when the call has none, as in `aggr_over_time`).
fn param(w: &VmWin) -> f64 {
    w.params.first().copied().unwrap_or(NAN)
}

fn secs(ms: i64) -> f64 {
    ms as f64 / 1e3
}

/// VM's `removeCounterResets`: a drop adds the previous value to a running correction,
/// except a drop of less than 1/8 of the value (jitter between HA pairs), which adds
/// only the difference.
pub(crate) fn remove_counter_resets(v: &mut [f64]) {
    let Some(&first) = v.first() else { return };
    let (mut corr, mut prev) = (0.0, first);
    for x in v.iter_mut() {
        let cur = *x;
        let d = cur - prev;
        if d < 0.0 {
            if -d * 8.0 < prev {
                corr += prev - cur;
            } else {
                corr += prev;
            }
        }
        prev = cur;
        *x = cur + corr;
    }
}

/// `default_rollup`: the last value in the window.
pub(crate) fn default_rollup(w: &VmWin) -> f64 {
    w.s.last().map_or(NAN, |x| x.v)
}

/// VM's `min_over_time` (for `aggr_over_time`).
pub(crate) fn min_over_time(w: &VmWin) -> f64 {
    if w.s.is_empty() {
        return NAN;
    }
    w.vals().fold(f64::INFINITY, f64::min)
}

/// VM's `max_over_time`.
pub(crate) fn max_over_time(w: &VmWin) -> f64 {
    if w.s.is_empty() {
        return NAN;
    }
    w.vals().fold(f64::NEG_INFINITY, f64::max)
}

/// VM's `avg_over_time`.
pub(crate) fn avg_over_time(w: &VmWin) -> f64 {
    if w.s.is_empty() {
        return NAN;
    }
    w.vals().sum::<f64>() / w.s.len() as f64
}

/// VM's `sum_over_time`.
pub(crate) fn sum_over_time(w: &VmWin) -> f64 {
    if w.s.is_empty() {
        return NAN;
    }
    w.vals().sum()
}

/// VM's `count_over_time`.
pub(crate) fn count_over_time(w: &VmWin) -> f64 {
    if w.s.is_empty() {
        return NAN;
    }
    w.s.len() as f64
}

/// VM's `stdvar_over_time` (population variance).
pub(crate) fn stdvar_over_time(w: &VmWin) -> f64 {
    if w.s.is_empty() {
        return NAN;
    }
    mean_stddev(w.vals()).1.powi(2)
}

/// VM's `stddev_over_time`.
pub(crate) fn stddev_over_time(w: &VmWin) -> f64 {
    stdvar_over_time(w).sqrt()
}

/// VM's `first_over_time`.
pub(crate) fn first_over_time(w: &VmWin) -> f64 {
    w.s.first().map_or(NAN, |x| x.v)
}

/// VM's `changes`: value changes, the previous sample included.
pub(crate) fn changes(w: &VmWin) -> f64 {
    let Some((mut prev, rest)) = with_prev(w) else {
        return NAN;
    };
    let mut n = usize::from(w.prev.is_none());
    for x in rest {
        if x.v != prev {
            n += 1;
            prev = x.v;
        }
    }
    n as f64
}

/// VM's `delta`: the last value minus the previous one; a series starting in the window
/// counts from its previous sample however old, else from 0 when its first value is
/// small next to its first change.
pub(crate) fn delta(w: &VmWin) -> f64 {
    let mut s = w.s;
    let prev = match (w.prev, w.real_prev) {
        (Some(p), _) => p.v,
        _ if s.is_empty() => return NAN,
        (None, Some(p)) => p.v,
        (None, None) => {
            let next = s.get(1).or(w.real_next.as_ref()).map(|x| x.v);
            let d = match next.map(|n| n - s[0].v) {
                Some(d) if d != 0.0 => d,
                _ => 10.0,
            };
            if s[0].v.abs() < 10.0 * (d.abs() + 1.0) {
                0.0
            } else {
                let first = s[0].v;
                s = &s[1..];
                first
            }
        }
    };
    s.last().map_or(0.0, |x| x.v - prev)
}

/// VM's `holt_winters(m, sf, tf)`: double exponential smoothing seeded with the previous
/// sample (or the first one), the trend with the first change.
pub(crate) fn holt_winters(w: &VmWin) -> f64 {
    let (sf, tf) = (param(w), w.params.get(1).copied().unwrap_or(NAN));
    if w.s.is_empty() {
        return w.prev.map_or(NAN, |p| p.v);
    }
    let unit = |x: f64| x > 0.0 && x < 1.0;
    if !unit(sf) || !unit(tf) {
        return NAN;
    }
    let (mut s0, rest) = match w.prev {
        Some(p) => (p.v, w.s),
        None => (w.s[0].v, &w.s[1..]),
    };
    let Some(first) = rest.first() else {
        return s0;
    };
    let mut b0 = first.v - s0;
    for x in rest {
        let s1 = sf * x.v + (1.0 - sf) * (s0 + b0);
        b0 = tf * (s1 - s0) + (1.0 - tf) * b0;
        s0 = s1;
    }
    s0
}

/// `range_over_time`: max minus min.
pub(crate) fn range_over_time(w: &VmWin) -> f64 {
    let (lo, hi) = w
        .vals()
        .fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), v| {
            (a.min(v), b.max(v))
        });
    if w.s.is_empty() { NAN } else { hi - lo }
}

/// `sum2_over_time`: the sum of squares.
pub(crate) fn sum2_over_time(w: &VmWin) -> f64 {
    if w.s.is_empty() {
        return NAN;
    }
    w.vals().map(|v| v * v).sum()
}

/// `geomean_over_time`.
pub(crate) fn geomean_over_time(w: &VmWin) -> f64 {
    if w.s.is_empty() {
        return NAN;
    }
    let p: f64 = w.vals().product();
    p.powf(1.0 / w.s.len() as f64)
}

/// `median_over_time`.
pub(crate) fn median_over_time(w: &VmWin) -> f64 {
    let mut v: Vec<f64> = w.vals().collect();
    if v.is_empty() {
        return NAN;
    }
    quantile(0.5, &mut v)
}

/// VM's mode: the longest run of equal values in sorted `v`, ties to the smaller value.
/// `prev` (NaN for none) starts as a run of its own that merges with the first run
/// when equal to it.
pub(crate) fn mode(prev: f64, v: &mut [f64]) -> f64 {
    if v.is_empty() {
        return prev;
    }
    v.sort_by(f64::total_cmp);
    let (mut best, mut best_n) = (prev, 0usize);
    let (mut run_value, mut run_start) = (prev, -1isize);
    for (i, &x) in v.iter().enumerate() {
        if x == run_value {
            continue;
        }
        let n = (i as isize - run_start) as usize;
        if n > best_n || best.is_nan() {
            (best, best_n) = (run_value, n);
        }
        (run_value, run_start) = (x, i as isize);
    }
    let n = (v.len() as isize - run_start) as usize;
    if n > best_n || best.is_nan() {
        best = run_value;
    }
    best
}

/// `mode_over_time`.
pub(crate) fn mode_over_time(w: &VmWin) -> f64 {
    let mut v: Vec<f64> = w.vals().filter(|x| !x.is_nan()).collect();
    mode(w.prev.map_or(NAN, |p| p.v), &mut v)
}

/// Population mean and standard deviation.
pub(crate) fn mean_stddev(v: impl Iterator<Item = f64>) -> (f64, f64, usize) {
    let (mut n, mut mean, mut q) = (0usize, 0.0, 0.0);
    for x in v {
        n += 1;
        let next = mean + (x - mean) / n as f64;
        q += (x - mean) * (x - next);
        mean = next;
    }
    (mean, (q / n as f64).sqrt(), n)
}

/// `zscore_over_time`: how far the last value is from the window's mean, in standard
/// deviations; nothing when the last sample is older than the scrape interval.
pub(crate) fn zscore_over_time(w: &VmWin) -> f64 {
    let (si, lag) = (scrape_interval(w), lag(w));
    if si.is_nan() || lag.is_nan() || lag > si {
        return NAN;
    }
    let Some(last) = w.s.last() else { return NAN };
    let (mean, sd, _) = mean_stddev(w.vals());
    let d = last.v - mean;
    if d == 0.0 { 0.0 } else { d / sd }
}

fn count_where(w: &VmWin, pred: impl Fn(f64, f64) -> bool) -> f64 {
    if w.s.is_empty() {
        return NAN;
    }
    let x = param(w);
    w.vals().filter(|&v| pred(v, x)).count() as f64
}

fn share_where(w: &VmWin, pred: impl Fn(f64, f64) -> bool) -> f64 {
    count_where(w, pred) / w.s.len() as f64
}

fn sum_where(w: &VmWin, pred: impl Fn(f64, f64) -> bool) -> f64 {
    if w.s.is_empty() {
        return NAN;
    }
    let x = param(w);
    w.vals().filter(|&v| pred(v, x)).sum()
}

/// `count_eq_over_time(m, x)`.
pub(crate) fn count_eq_over_time(w: &VmWin) -> f64 {
    count_where(w, |v, x| v == x)
}
/// `count_ne_over_time(m, x)`.
pub(crate) fn count_ne_over_time(w: &VmWin) -> f64 {
    count_where(w, |v, x| v != x)
}
/// `count_gt_over_time(m, x)`.
pub(crate) fn count_gt_over_time(w: &VmWin) -> f64 {
    count_where(w, |v, x| v > x)
}
/// `count_le_over_time(m, x)`.
pub(crate) fn count_le_over_time(w: &VmWin) -> f64 {
    count_where(w, |v, x| v <= x)
}
/// `share_eq_over_time(m, x)`.
pub(crate) fn share_eq_over_time(w: &VmWin) -> f64 {
    share_where(w, |v, x| v == x)
}
/// `share_gt_over_time(m, x)`.
pub(crate) fn share_gt_over_time(w: &VmWin) -> f64 {
    share_where(w, |v, x| v > x)
}
/// `share_le_over_time(m, x)`.
pub(crate) fn share_le_over_time(w: &VmWin) -> f64 {
    share_where(w, |v, x| v <= x)
}
/// `sum_eq_over_time(m, x)`.
pub(crate) fn sum_eq_over_time(w: &VmWin) -> f64 {
    sum_where(w, |v, x| v == x)
}
/// `sum_gt_over_time(m, x)`.
pub(crate) fn sum_gt_over_time(w: &VmWin) -> f64 {
    sum_where(w, |v, x| v > x)
}
/// `sum_le_over_time(m, x)`.
pub(crate) fn sum_le_over_time(w: &VmWin) -> f64 {
    sum_where(w, |v, x| v <= x)
}
/// `sum_lt_over_time(m, x)`.
pub(crate) fn sum_lt_over_time(w: &VmWin) -> f64 {
    sum_where(w, |v, x| v < x)
}

/// `distinct_over_time`: the number of distinct values.
pub(crate) fn distinct_over_time(w: &VmWin) -> f64 {
    if w.s.is_empty() {
        return if w.prev.is_none() { NAN } else { 0.0 };
    }
    let mut v: Vec<u64> = w.vals().map(f64::to_bits).collect();
    v.sort_unstable();
    v.dedup();
    v.len() as f64
}

/// The window's values with the previous one in front when there is one; `None` for an
/// empty window without a previous value.
fn with_prev<'a>(w: &VmWin<'a>) -> Option<(f64, &'a [gnomon_tsdb_core::model::Sample])> {
    match w.prev {
        Some(p) => Some((p.v, w.s)),
        None => w.s.split_first().map(|(f, rest)| (f.v, rest)),
    }
}

/// Counts steps between consecutive values (`prev` included) that satisfy `pred`.
fn count_steps(w: &VmWin, pred: fn(f64, f64) -> bool) -> f64 {
    if w.s.is_empty() {
        return if w.prev.is_none() { NAN } else { 0.0 };
    }
    let Some((mut prev, rest)) = with_prev(w) else {
        return NAN;
    };
    let mut n = 0;
    for x in rest {
        if pred(prev, x.v) {
            n += 1;
        }
        prev = x.v;
    }
    n as f64
}

/// `increases_over_time`.
pub(crate) fn increases_over_time(w: &VmWin) -> f64 {
    count_steps(w, |a, b| b > a)
}
/// `decreases_over_time`.
pub(crate) fn decreases_over_time(w: &VmWin) -> f64 {
    count_steps(w, |a, b| b < a)
}

fn moves(w: &VmWin, up: bool) -> f64 {
    let Some((mut prev, rest)) = with_prev(w) else {
        return NAN;
    };
    let mut s = 0.0;
    for x in rest {
        let d = if up { x.v - prev } else { prev - x.v };
        if d > 0.0 {
            s += d;
        }
        prev = x.v;
    }
    s
}

/// `ascent_over_time`: the sum of increases.
pub(crate) fn ascent_over_time(w: &VmWin) -> f64 {
    moves(w, true)
}
/// `descent_over_time`: the sum of decreases.
pub(crate) fn descent_over_time(w: &VmWin) -> f64 {
    moves(w, false)
}

/// `changes_prometheus`: value changes inside the window only.
pub(crate) fn changes_prometheus(w: &VmWin) -> f64 {
    let Some((first, rest)) = w.s.split_first() else {
        return NAN;
    };
    let (mut prev, mut n) = (first.v, 0);
    for x in rest {
        if x.v != prev {
            n += 1;
            prev = x.v;
        }
    }
    n as f64
}

/// `delta_prometheus`: last minus first in the window.
pub(crate) fn delta_prometheus(w: &VmWin) -> f64 {
    match (w.s.first(), w.s.last()) {
        (Some(a), Some(b)) if w.s.len() >= 2 => b.v - a.v,
        _ => NAN,
    }
}

/// `rate_prometheus`: `delta_prometheus` over the window length.
pub(crate) fn rate_prometheus(w: &VmWin) -> f64 {
    delta_prometheus(w) / secs(w.window)
}

/// `increase_pure`: the increase since the sample before the window however old,
/// counting from 0 when the series starts in the window; 0 for an empty window after
/// the series' last sample.
pub(crate) fn increase_pure(w: &VmWin) -> f64 {
    let prev = match w.real_prev {
        Some(p) => p.v,
        None if w.s.is_empty() => return NAN,
        None => 0.0,
    };
    w.s.last().map_or(0.0, |x| x.v - prev)
}

/// `deriv_fast`: the slope between the previous (or first) and the last value.
pub(crate) fn deriv_fast(w: &VmWin) -> f64 {
    let (pv, pt, s) = match w.prev {
        Some(p) => (p.v, p.t, w.s),
        None if w.s.len() < 2 => return NAN,
        None => (w.s[0].v, w.s[0].t, &w.s[1..]),
    };
    match s.last() {
        Some(l) => (l.v - pv) / secs(l.t - pt),
        None => 0.0,
    }
}

/// `ideriv`: the slope between the last two values.
pub(crate) fn ideriv(w: &VmWin) -> f64 {
    let n = w.s.len();
    if n == 0 {
        return NAN;
    }
    let last = w.s[n - 1];
    if n == 1 {
        return match w.prev {
            Some(p) => (last.v - p.v) / secs(last.t - p.t),
            None => NAN,
        };
    }
    let before = w.s[..n - 1].iter().rev().find(|x| x.t < last.t);
    let (t0, v0) = match (before, w.prev) {
        (Some(b), _) => (b.t, b.v),
        (None, Some(p)) => (p.t, p.v),
        (None, None) => return 0.0,
    };
    (last.v - v0) / secs(last.t - t0)
}

/// `integrate`: the area under the values held from one sample to the next, from the
/// window start (or the first sample) to the window end, in value × seconds.
pub(crate) fn integrate(w: &VmWin) -> f64 {
    let (mut pv, mut pt, rest) = match (w.prev, w.s.split_first()) {
        (Some(p), _) => (p.v, w.t - w.window, w.s),
        (None, Some((f, rest))) => (f.v, f.t, rest),
        (None, None) => return NAN,
    };
    let mut sum = 0.0;
    for x in rest {
        sum += pv * secs(x.t - pt);
        (pv, pt) = (x.v, x.t);
    }
    sum + pv * secs(w.t - pt)
}

/// `lifetime`: from the first (or previous) to the last sample, in seconds.
pub(crate) fn lifetime(w: &VmWin) -> f64 {
    match (w.prev, w.s.first(), w.s.last()) {
        (None, Some(f), Some(l)) if w.s.len() >= 2 => secs(l.t - f.t),
        (Some(p), _, Some(l)) => secs(l.t - p.t),
        _ => NAN,
    }
}

/// `lag`: from the last sample to the window end, in seconds.
pub(crate) fn lag(w: &VmWin) -> f64 {
    match (w.s.last(), w.prev) {
        (Some(l), _) => secs(w.t - l.t),
        (None, Some(p)) => secs(w.t - p.t),
        (None, None) => NAN,
    }
}

/// `scrape_interval`: the mean gap between samples, in seconds.
pub(crate) fn scrape_interval(w: &VmWin) -> f64 {
    match (w.prev, w.s.first(), w.s.last()) {
        (None, Some(f), Some(l)) if w.s.len() >= 2 => secs(l.t - f.t) / (w.s.len() - 1) as f64,
        (Some(p), _, Some(l)) => secs(l.t - p.t) / w.s.len() as f64,
        _ => NAN,
    }
}

/// `tfirst_over_time`: the first sample's time.
pub(crate) fn tfirst_over_time(w: &VmWin) -> f64 {
    w.s.first().map_or(NAN, |x| secs(x.t))
}
/// `tlast_over_time` (and `timestamp_with_name`): the last sample's time.
pub(crate) fn tlast_over_time(w: &VmWin) -> f64 {
    w.s.last().map_or(NAN, |x| secs(x.t))
}

/// `tlast_change_over_time`: the time of the last value change (the first sample's time
/// when the series has no earlier sample).
pub(crate) fn tlast_change_over_time(w: &VmWin) -> f64 {
    let Some(last) = w.s.last() else { return NAN };
    for k in (1..w.s.len()).rev() {
        if w.s[k - 1].v != last.v {
            return secs(w.s[k].t);
        }
    }
    // No change inside the window: the series appearing counts as a change.
    match w.prev {
        Some(p) if p.v == last.v => NAN,
        _ => secs(w.s[0].t),
    }
}

fn t_extreme(w: &VmWin, better: fn(f64, f64) -> bool) -> f64 {
    let Some(first) = w.s.first() else {
        return NAN;
    };
    let mut best = *first;
    for x in &w.s[1..] {
        if better(x.v, best.v) {
            best = *x;
        }
    }
    secs(best.t)
}

/// `tmin_over_time`: the time of the minimum (the last one on ties).
pub(crate) fn tmin_over_time(w: &VmWin) -> f64 {
    t_extreme(w, |a, b| a <= b)
}
/// `tmax_over_time`: the time of the maximum (the last one on ties).
pub(crate) fn tmax_over_time(w: &VmWin) -> f64 {
    t_extreme(w, |a, b| a >= b)
}

/// `duration_over_time(m, max_gap)`: the time covered by samples, gaps longer than
/// `max_gap` seconds not counted.
pub(crate) fn duration_over_time(w: &VmWin) -> f64 {
    if w.s.is_empty() {
        return NAN;
    }
    let max = (param(w) * 1e3) as i64;
    let sum: i64 =
        w.s.windows(2)
            .map(|p| p[1].t - p[0].t)
            .filter(|&d| d <= max)
            .sum();
    secs(sum)
}

/// `rate_over_sum`: the sum of values per second of window.
pub(crate) fn rate_over_sum(w: &VmWin) -> f64 {
    if w.s.is_empty() {
        return NAN;
    }
    w.vals().sum::<f64>() / secs(w.window)
}

/// `stale_samples_over_time`: the number of staleness markers.
pub(crate) fn stale_samples_over_time(w: &VmWin) -> f64 {
    if w.s.is_empty() {
        return NAN;
    }
    w.vals().filter(|&v| is_stale_nan(v)).count() as f64
}

fn hoeffding(w: &VmWin) -> (f64, f64) {
    let n = w.s.len();
    if n == 0 {
        return (NAN, NAN);
    }
    let (mean, _, _) = mean_stddev(w.vals());
    if n == 1 {
        return (0.0, w.s[0].v);
    }
    let lo = w.vals().fold(f64::INFINITY, f64::min);
    let hi = w.vals().fold(f64::NEG_INFINITY, f64::max);
    let range = hi - lo;
    let phi = param(w);
    if range <= 0.0 || phi <= 0.0 {
        return (0.0, mean);
    }
    if phi >= 1.0 {
        return (f64::INFINITY, mean);
    }
    (
        range * ((1.0 / (1.0 - phi)).ln() / (2.0 * n as f64)).sqrt(),
        mean,
    )
}

/// `hoeffding_bound_lower(phi, m)`.
pub(crate) fn hoeffding_bound_lower(w: &VmWin) -> f64 {
    let (b, m) = hoeffding(w);
    m - b
}
/// `hoeffding_bound_upper(phi, m)`.
pub(crate) fn hoeffding_bound_upper(w: &VmWin) -> f64 {
    let (b, m) = hoeffding(w);
    m + b
}

/// `outlier_iqr_over_time`: the last value when it lies outside
/// `[q25 - 1.5 iqr, q75 + 1.5 iqr]` of the window.
pub(crate) fn outlier_iqr_over_time(w: &VmWin) -> f64 {
    let Some(last) = w.s.last() else { return NAN };
    let mut v: Vec<f64> = w.vals().collect();
    let (q25, q75) = (quantile(0.25, &mut v), quantile(0.75, &mut v));
    let iqr = 1.5 * (q75 - q25);
    if last.v < q25 - iqr || last.v > q75 + iqr {
        last.v
    } else {
        NAN
    }
}

/// Distinct values and their counts, in order of first appearance.
pub(crate) fn value_counts(v: impl Iterator<Item = f64>) -> Vec<(f64, usize)> {
    let mut out: Vec<(f64, usize)> = Vec::new();
    let mut index: HashMap<u64, usize> = HashMap::new();
    for x in v {
        let k = *index.entry(x.to_bits()).or_insert_with(|| {
            out.push((x, 0));
            out.len() - 1
        });
        out[k].1 += 1;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use gnomon_tsdb_core::model::{STALE_NAN, Sample};

    fn win<'a>(s: &'a [Sample], prev: Option<Sample>, params: &'a [f64]) -> VmWin<'a> {
        VmWin {
            s,
            prev,
            real_prev: prev,
            real_next: None,
            t: s.last().map_or(100_000, |x| x.t + 5_000),
            step: 10_000,
            window: 60_000,
            params,
        }
    }

    fn samples(v: &[(i64, f64)]) -> Vec<Sample> {
        v.iter().map(|&(t, v)| Sample::new(t * 1000, v)).collect()
    }

    #[test]
    fn counter_resets_add_the_previous_value() {
        let mut v = vec![5.0, 10.0, 2.0, 4.0, 3.9];
        remove_counter_resets(&mut v);
        // 10 -> 2 is a reset (+10); 4 -> 3.9 is jitter (+0.1).
        assert_eq!(v, vec![5.0, 10.0, 12.0, 14.0, 14.0]);
    }

    #[test]
    fn steps_and_moves_use_the_previous_value() {
        let s = samples(&[(10, 3.0), (20, 1.0), (30, 4.0)]);
        let p = Some(Sample::new(0, 2.0));
        assert_eq!(increases_over_time(&win(&s, p, &[])), 2.0);
        assert_eq!(decreases_over_time(&win(&s, p, &[])), 1.0);
        assert_eq!(increases_over_time(&win(&s, None, &[])), 1.0);
        assert_eq!(ascent_over_time(&win(&s, p, &[])), 4.0);
        assert_eq!(descent_over_time(&win(&s, p, &[])), 2.0);
        assert_eq!(
            integrate(&win(&s, p, &[])),
            2.0 * 35.0 + 3.0 * 10.0 + 10.0 + 4.0 * 5.0
        );
        assert_eq!(lifetime(&win(&s, p, &[])), 30.0);
        assert_eq!(lifetime(&win(&s, None, &[])), 20.0);
        assert_eq!(scrape_interval(&win(&s, p, &[])), 10.0);
        assert_eq!(lag(&win(&s, p, &[])), 5.0);
        assert_eq!(deriv_fast(&win(&s, p, &[])), 2.0 / 30.0);
        assert_eq!(ideriv(&win(&s, p, &[])), 0.3);
        assert_eq!(increase_pure(&win(&s, None, &[])), 4.0);
        assert_eq!(increase_pure(&win(&s, p, &[])), 2.0);
    }

    #[test]
    fn value_statistics() {
        let s = samples(&[(1, 2.0), (2, 3.0), (3, 2.0), (4, 9.0)]);
        let w = win(&s, None, &[2.0]);
        assert_eq!(range_over_time(&w), 7.0);
        assert_eq!(sum2_over_time(&w), 4.0 + 9.0 + 4.0 + 81.0);
        assert_eq!(median_over_time(&w), 2.5);
        assert_eq!(mode_over_time(&w), 2.0);
        assert_eq!(distinct_over_time(&w), 3.0);
        assert_eq!(count_eq_over_time(&w), 2.0);
        assert_eq!(count_gt_over_time(&w), 2.0);
        assert_eq!(share_le_over_time(&w), 0.5);
        assert_eq!(sum_gt_over_time(&w), 12.0);
        assert_eq!(tmin_over_time(&w), 3.0);
        assert_eq!(tmax_over_time(&w), 4.0);
        assert_eq!(tfirst_over_time(&w), 1.0);
        assert_eq!(tlast_change_over_time(&w), 4.0);
        assert_eq!(delta_prometheus(&w), 7.0);
        assert_eq!(changes_prometheus(&w), 3.0);
        // The last sample is 5s old, more than the 1s scrape interval: no z-score.
        assert!(zscore_over_time(&w).is_nan());
        let fresh = VmWin { t: 4_000, ..w };
        let z = zscore_over_time(&fresh);
        assert!((z - 5.0 / 8.5f64.sqrt()).abs() < 1e-12, "{z}");
        assert!((geomean_over_time(&fresh) - 108f64.powf(0.25)).abs() < 1e-12);
    }

    #[test]
    fn empty_windows_give_nan() {
        let w = win(&[], None, &[1.0]);
        for f in [
            range_over_time,
            median_over_time,
            count_eq_over_time,
            lag,
            integrate,
            distinct_over_time,
            tmin_over_time,
            duration_over_time,
        ] {
            assert!(f(&w).is_nan());
        }
        let w = win(&[], Some(Sample::new(0, 1.0)), &[]);
        assert_eq!(integrate(&w), 60.0);
        assert_eq!(lag(&w), 100.0);
    }

    #[test]
    fn durations_and_staleness() {
        let s = samples(&[(0, 1.0), (10, 1.0), (50, 1.0), (60, STALE_NAN)]);
        assert_eq!(duration_over_time(&win(&s, None, &[15.0])), 20.0);
        assert_eq!(stale_samples_over_time(&win(&s, None, &[])), 1.0);
    }

    #[test]
    fn last_change_of_a_constant_window() {
        let s = samples(&[(10, 5.0), (20, 5.0)]);
        // No earlier sample: the series appearing is the change.
        assert_eq!(tlast_change_over_time(&win(&s, None, &[])), 10.0);
        // An equal earlier sample: no change at all.
        let p = Some(Sample::new(0, 5.0));
        assert!(tlast_change_over_time(&win(&s, p, &[])).is_nan());
        let p = Some(Sample::new(0, 4.0));
        assert_eq!(tlast_change_over_time(&win(&s, p, &[])), 10.0);
    }

    #[test]
    fn holt_winters_starts_from_the_previous_sample() {
        let s = samples(&[(10, 2.0), (20, 4.0)]);
        // s0 = 0 (previous), b0 = 2 - 0; then s = .5*2 + .5*(0+2) = 2, b = .5*2 + .5*2 = 2;
        // s = .5*4 + .5*(2+2) = 4.
        let p = Some(Sample::new(0, 0.0));
        assert_eq!(holt_winters(&win(&s, p, &[0.5, 0.5])), 4.0);
        assert!(holt_winters(&win(&s, p, &[1.5, 0.5])).is_nan());
        assert_eq!(holt_winters(&win(&[], p, &[0.5, 0.5])), 0.0);
    }

    #[test]
    fn hoeffding_bounds_surround_the_mean() {
        let s = samples(&[(1, 0.0), (2, 10.0)]);
        let w = win(&s, None, &[0.9]);
        let b = 10.0 * ((10.0f64).ln() / 4.0).sqrt();
        assert!((hoeffding_bound_upper(&w) - (5.0 + b)).abs() < 1e-12);
        assert!((hoeffding_bound_lower(&w) - (5.0 - b)).abs() < 1e-12);
    }
}
