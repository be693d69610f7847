//! Transforms that see each series across all steps of the query: `range_*` (a value
//! over the whole range, written at the steps that have a value), `running_*` (cumulative), gap filling
//! (`interpolate`, `keep_last_value`, `keep_next_value`), `smooth_exponential`,
//! `remove_resets`, `drop_empty_series`.

use crate::engine::error::EvalResult;
use crate::engine::eval::{Ev, Grid, StepSeries, Val};
use crate::engine::stats::{linear_regression, quantile};
use crate::parser::ast::Call;
use gnomon_tsdb_core::model::Sample;

use super::rollups::{mean_stddev, remove_counter_resets};

type Vals = Vec<Option<f64>>;

/// Applies `f(values, step)` to each series of argument `arg`; `keep` keeps the name.
fn per_series(
    ev: &Ev,
    c: &Call,
    g: &Grid,
    arg: usize,
    keep: bool,
    f: impl Fn(&mut Vals, &Grid),
) -> EvalResult<Val> {
    let mut v = ev.eval_vector(&c.args[arg], g)?;
    for s in &mut v {
        f(&mut s.vals, g);
        if !keep && !c.keep_metric_names {
            s.drop_name = true;
        }
    }
    Ok(super::window::vector(v))
}

fn present(v: &Vals) -> Vec<f64> {
    v.iter().flatten().copied().collect()
}

/// Writes `x` at the steps that have a value.
fn fill_present(v: &mut Vals, x: Option<f64>) {
    let x = x.filter(|x| !x.is_nan());
    for s in v.iter_mut().filter(|s| s.is_some()) {
        *s = x;
    }
}

/// A `range_*` statistic written at the steps that have a value; `keep`: the name stays
/// (VM keeps it for `range_first`, `range_last`, `range_median` and `range_quantile`).
fn range_stat(
    ev: &Ev,
    c: &Call,
    g: &Grid,
    arg: usize,
    keep: bool,
    stat: impl Fn(&mut Vec<f64>, usize) -> f64,
) -> EvalResult<Val> {
    per_series(ev, c, g, arg, keep, |v, _| {
        let mut p = present(v);
        let last = v.len().saturating_sub(1);
        let x = (!p.is_empty()).then(|| stat(&mut p, last));
        fill_present(v, x);
    })
}

/// VM's `range_avg`/`range_min`/`range_max`/`range_sum`: the last value of the running
/// fold, written from the first value on.
fn range_running(ev: &Ev, c: &Call, g: &Grid, f: fn(f64, f64, usize) -> f64) -> EvalResult<Val> {
    per_series(ev, c, g, 0, false, |v, _| {
        running_fold(v, f);
        let last = v.iter().rev().flatten().next().copied();
        fill_present(v, last);
    })
}

/// `range_avg(q)`.
pub(crate) fn range_avg(ev: &Ev, c: &Call, g: &Grid) -> EvalResult<Val> {
    range_running(ev, c, g, avg_step)
}
/// `range_sum(q)`.
pub(crate) fn range_sum(ev: &Ev, c: &Call, g: &Grid) -> EvalResult<Val> {
    range_running(ev, c, g, |a, b, _| a + b)
}
/// `range_min(q)`.
pub(crate) fn range_min(ev: &Ev, c: &Call, g: &Grid) -> EvalResult<Val> {
    range_stat(ev, c, g, 0, false, |p, _| {
        p.iter().copied().fold(f64::INFINITY, f64::min)
    })
}
/// `range_max(q)`.
pub(crate) fn range_max(ev: &Ev, c: &Call, g: &Grid) -> EvalResult<Val> {
    range_running(ev, c, g, |a, b, _| a.max(b))
}
/// `range_first(q)`.
pub(crate) fn range_first(ev: &Ev, c: &Call, g: &Grid) -> EvalResult<Val> {
    range_stat(ev, c, g, 0, true, |p, _| p[0])
}
/// `range_last(q)`.
pub(crate) fn range_last(ev: &Ev, c: &Call, g: &Grid) -> EvalResult<Val> {
    range_stat(ev, c, g, 0, true, |p, _| p[p.len() - 1])
}
/// `range_median(q)`.
pub(crate) fn range_median(ev: &Ev, c: &Call, g: &Grid) -> EvalResult<Val> {
    range_stat(ev, c, g, 0, true, |p, _| quantile(0.5, p))
}
/// `range_stddev(q)`.
pub(crate) fn range_stddev(ev: &Ev, c: &Call, g: &Grid) -> EvalResult<Val> {
    range_stat(ev, c, g, 0, false, |p, _| mean_stddev(p.iter().copied()).1)
}
/// `range_stdvar(q)`.
pub(crate) fn range_stdvar(ev: &Ev, c: &Call, g: &Grid) -> EvalResult<Val> {
    range_stat(ev, c, g, 0, false, |p, _| {
        mean_stddev(p.iter().copied()).1.powi(2)
    })
}
/// `range_mad(q)`: the median absolute deviation.
pub(crate) fn range_mad(ev: &Ev, c: &Call, g: &Grid) -> EvalResult<Val> {
    range_stat(ev, c, g, 0, false, |p, _| mad(p))
}

/// The median absolute deviation from the median.
pub(crate) fn mad(p: &mut [f64]) -> f64 {
    let m = quantile(0.5, p);
    let mut d: Vec<f64> = p.iter().map(|x| (x - m).abs()).collect();
    quantile(0.5, &mut d)
}

/// `range_quantile(phi, q)`.
pub(crate) fn range_quantile(ev: &Ev, c: &Call, g: &Grid) -> EvalResult<Val> {
    let phi = ev.eval_scalar(&c.args[0], g)?;
    range_stat(ev, c, g, 1, true, |p, last| quantile(phi[last], p))
}

/// `range_linear_regression(q)`: the least-squares line through the points, at every
/// step.
pub(crate) fn range_linear_regression(ev: &Ev, c: &Call, g: &Grid) -> EvalResult<Val> {
    per_series(ev, c, g, 0, false, |v, g| {
        let pts: Vec<Sample> = v
            .iter()
            .enumerate()
            .filter_map(|(i, x)| x.map(|x| Sample::new(g.t(i), x)))
            .collect();
        let Some(first) = pts.first() else { return };
        let t0 = first.t;
        let (slope, icpt) = if pts.len() == 1 {
            (0.0, first.v)
        } else {
            linear_regression(&pts, t0)
        };
        for (i, x) in v.iter_mut().enumerate() {
            *x = Some(icpt + slope * (g.t(i) - t0) as f64 / 1e3);
        }
    })
}

/// `range_normalize(q, …)`: each series scaled to `[0, 1]` by its min and max.
pub(crate) fn range_normalize(ev: &Ev, c: &Call, g: &Grid) -> EvalResult<Val> {
    let mut all: Vec<StepSeries> = Vec::new();
    for a in &c.args {
        all.extend(ev.eval_vector(a, g)?);
    }
    for s in &mut all {
        let p = present(&s.vals);
        let lo = p.iter().copied().fold(f64::INFINITY, f64::min);
        let hi = p.iter().copied().fold(f64::NEG_INFINITY, f64::max);
        for x in s.vals.iter_mut().flatten() {
            *x = (*x - lo) / (hi - lo);
        }
        s.drop_name = !c.keep_metric_names;
    }
    for s in &mut all {
        for x in s.vals.iter_mut() {
            *x = x.filter(|v| !v.is_nan());
        }
    }
    Ok(super::window::vector(all))
}

/// `range_zscore(q)`: each point's distance from the series' mean in standard deviations.
pub(crate) fn range_zscore(ev: &Ev, c: &Call, g: &Grid) -> EvalResult<Val> {
    per_series(ev, c, g, 0, false, |v, _| {
        let (m, sd, _) = mean_stddev(present(v).into_iter());
        for x in v.iter_mut() {
            *x = x.map(|x| (x - m) / sd).filter(|x| !x.is_nan());
        }
    })
}

fn trim(
    ev: &Ev,
    c: &Call,
    g: &Grid,
    drop: impl Fn(f64, &mut Vec<f64>) -> Box<dyn Fn(f64) -> bool>,
) -> EvalResult<Val> {
    let k = ev.eval_scalar(&c.args[0], g)?;
    per_series(ev, c, g, 1, false, |v, _| {
        let mut p = present(v);
        if p.is_empty() {
            return;
        }
        let out = drop(k[v.len() - 1], &mut p);
        for x in v.iter_mut() {
            if x.is_some_and(&out) {
                *x = None;
            }
        }
    })
}

/// `range_trim_outliers(k, q)`: drops points farther than `k` MADs from the median.
pub(crate) fn range_trim_outliers(ev: &Ev, c: &Call, g: &Grid) -> EvalResult<Val> {
    trim(ev, c, g, |k, p| {
        let m = quantile(0.5, p);
        let bound = k * mad(p);
        Box::new(move |x| (x - m).abs() > bound)
    })
}

/// `range_trim_spikes(phi, q)`: drops points below the `phi` and above the `1 - phi`
/// quantile.
pub(crate) fn range_trim_spikes(ev: &Ev, c: &Call, g: &Grid) -> EvalResult<Val> {
    trim(ev, c, g, |phi, p| {
        let (lo, hi) = (quantile(phi, p), quantile(1.0 - phi, p));
        Box::new(move |x| x < lo || x > hi)
    })
}

/// `range_trim_zscore(z, q)`: drops points more than `z` standard deviations from the
/// mean.
pub(crate) fn range_trim_zscore(ev: &Ev, c: &Call, g: &Grid) -> EvalResult<Val> {
    trim(ev, c, g, |z, p| {
        let (m, sd, _) = mean_stddev(p.iter().copied());
        Box::new(move |x| ((x - m) / sd).abs() > z)
    })
}

/// A cumulative fold from the first value on, carried over steps without a value.
/// `f(acc, value, k)` gets the step's position `k` counted from 1 at the first value
/// (VM's `idx`: steps without a value count too).
fn running_fold(v: &mut Vals, f: fn(f64, f64, usize) -> f64) {
    let mut acc: Option<(f64, usize)> = None;
    for (i, x) in v.iter_mut().enumerate() {
        if let Some(y) = *x {
            acc = Some(match acc {
                None => (y, i),
                Some((a, first)) => (f(a, y, i - first + 1), first),
            });
        }
        *x = acc.map(|a| a.0);
    }
}

/// VM's running mean step: `a + (b - a) / k` with `k` the step position.
fn avg_step(a: f64, b: f64, k: usize) -> f64 {
    a + (b - a) / k as f64
}

fn running(ev: &Ev, c: &Call, g: &Grid, f: fn(f64, f64, usize) -> f64) -> EvalResult<Val> {
    per_series(ev, c, g, 0, false, |v, _| running_fold(v, f))
}

/// `running_sum(q)`.
pub(crate) fn running_sum(ev: &Ev, c: &Call, g: &Grid) -> EvalResult<Val> {
    running(ev, c, g, |a, b, _| a + b)
}
/// `running_min(q)`.
pub(crate) fn running_min(ev: &Ev, c: &Call, g: &Grid) -> EvalResult<Val> {
    running(ev, c, g, |a, b, _| a.min(b))
}
/// `running_max(q)`.
pub(crate) fn running_max(ev: &Ev, c: &Call, g: &Grid) -> EvalResult<Val> {
    running(ev, c, g, |a, b, _| a.max(b))
}
/// `running_avg(q)`.
pub(crate) fn running_avg(ev: &Ev, c: &Call, g: &Grid) -> EvalResult<Val> {
    running(ev, c, g, avg_step)
}

/// `smooth_exponential(q, sf)`: an exponential moving average with factor `sf`.
pub(crate) fn smooth_exponential(ev: &Ev, c: &Call, g: &Grid) -> EvalResult<Val> {
    let sf = ev.eval_scalar(&c.args[1], g)?;
    per_series(ev, c, g, 0, true, |v, _| {
        let mut avg: Option<f64> = None;
        for (i, x) in v.iter_mut().enumerate() {
            match (*x, avg) {
                (Some(y), None) => avg = Some(y),
                (Some(y), Some(a)) if y.is_finite() => {
                    let f = sf[i].clamp(0.0, 1.0);
                    avg = Some(a * (1.0 - f) + y * f);
                }
                _ => {}
            }
            if x.is_some() {
                *x = avg;
            }
        }
    })
}

/// `remove_resets(q)`: counter resets removed (VM's correction).
pub(crate) fn remove_resets(ev: &Ev, c: &Call, g: &Grid) -> EvalResult<Val> {
    per_series(ev, c, g, 0, true, |v, _| {
        let mut p = present(v);
        remove_counter_resets(&mut p);
        let mut it = p.into_iter();
        for x in v.iter_mut().filter(|x| x.is_some()) {
            *x = it.next();
        }
    })
}

/// `interpolate(q)`: gaps between two values filled on the straight line between them,
/// the steps before the first and after the last value with that value.
pub(crate) fn interpolate(ev: &Ev, c: &Call, g: &Grid) -> EvalResult<Val> {
    per_series(ev, c, g, 0, true, |v, _| {
        // Before the first and after the last value: that value (VM).
        let first = v.iter().position(Option::is_some);
        let last = v.iter().rposition(Option::is_some);
        if let (Some(f), Some(l)) = (first, last) {
            let (fv, lv) = (v[f], v[l]);
            v[..f].iter_mut().for_each(|x| *x = fv);
            v[l + 1..].iter_mut().for_each(|x| *x = lv);
        }
        let mut prev: Option<(usize, f64)> = None;
        for i in 0..v.len() {
            let Some(y) = v[i] else { continue };
            if let Some((j, x)) = prev {
                for (k, slot) in v.iter_mut().enumerate().take(i).skip(j + 1) {
                    *slot = Some(x + (y - x) * (k - j) as f64 / (i - j) as f64);
                }
            }
            prev = Some((i, y));
        }
    })
}

/// `keep_last_value(q)`: gaps filled with the value before them.
pub(crate) fn keep_last_value(ev: &Ev, c: &Call, g: &Grid) -> EvalResult<Val> {
    per_series(ev, c, g, 0, true, |v, _| {
        let mut last = None;
        for x in v.iter_mut() {
            match *x {
                Some(_) => last = *x,
                None => *x = last,
            }
        }
    })
}

/// `keep_next_value(q)`: gaps filled with the value after them.
pub(crate) fn keep_next_value(ev: &Ev, c: &Call, g: &Grid) -> EvalResult<Val> {
    per_series(ev, c, g, 0, true, |v, _| {
        let mut next = None;
        for x in v.iter_mut().rev() {
            match *x {
                Some(_) => next = *x,
                None => *x = next,
            }
        }
    })
}

/// `drop_empty_series(q)`: the series that have a value.
pub(crate) fn drop_empty_series(ev: &Ev, c: &Call, g: &Grid) -> EvalResult<Val> {
    per_series(ev, c, g, 0, true, |_, _| {})
}
