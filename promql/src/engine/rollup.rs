//! Functions over a window of samples per series (`rate`, `*_over_time`, …) and the
//! driver that slides each window across the steps.

use gnomon_tsdb_core::model::{Labels, Sample};

use super::error::EvalResult;
use rayon::prelude::*;

use super::annotations::check_quantile;
use super::eval::{Ev, Grid, StepSeries, Val, WindowSeries, slide, slide_bounds};
use super::modifiers;
use super::stats::{kahan_sum, linear_regression, mean_of, quantile, variance};
use crate::parser::ast::{Call, Expr};

/// One window handed to a rollup: samples in `(start, end]` and the scalar arguments at
/// this step.
pub(crate) struct Win<'a> {
    pub s: &'a [Sample],
    /// The step's evaluation time.
    pub t: i64,
    pub start: i64,
    pub end: i64,
    pub params: &'a [f64],
}

/// Below this many samples + steps a rollup runs on the calling thread: rayon's hand-off
/// costs a few microseconds, about what 10k sample visits take.
const PARALLEL_MIN_WORK: usize = 10_000;

/// A rollup implementation: `None` means "no output at this step".
pub(crate) type RollupFn = fn(&Win) -> Option<f64>;

/// A rollup call ready to run over any series' samples: the function, its scalar
/// arguments per step, and whether the output keeps the metric name.
pub(crate) struct RollupPlan {
    f: RollupFn,
    /// Set for `rate` / `increase`: on series without counter resets their per-window
    /// reset scan adds nothing, so [`extrapolated_scan`] without it gives the same bits;
    /// it is called directly (inlined into the window loop), not through `f`.
    no_resets: Option<Extrapolated>,
    params: Vec<Vec<f64>>,
    keep_name: bool,
    grid: Grid,
}

/// `rate` or `increase`, the extrapolated rollups with a reset-free fast path.
#[derive(Clone, Copy)]
enum Extrapolated {
    Rate,
    Increase,
}

/// Whether some sample is a counter reset (a value below the previous one), in one
/// branch-free pass the compiler can vectorise.
fn has_reset(samples: &[Sample]) -> bool {
    samples
        .windows(2)
        .fold(false, |any, w| any | (w[1].v < w[0].v))
}

impl RollupPlan {
    /// The per-step outputs of one series whose windows end at `eff` and span `range`
    /// ms; `None` when no step has a value.
    pub fn apply(
        &self,
        eff: &[i64],
        range: i64,
        labels: Labels,
        samples: &[Sample],
        drop_name: bool,
    ) -> Option<StepSeries> {
        if let Some(kind) = self.no_resets
            && !has_reset(samples)
        {
            return self.apply_no_resets(kind, eff, range, labels, samples, drop_name);
        }
        let f = self.f;
        let mut vals = vec![None; self.grid.n];
        let mut p = vec![0.0; self.params.len()];
        let mut any = false;
        slide(eff, range, samples, |i, win| {
            if win.is_empty() {
                return;
            }
            for (k, col) in self.params.iter().enumerate() {
                p[k] = col[i];
            }
            let end = eff[i];
            vals[i] = f(&Win {
                s: win,
                t: self.grid.t(i),
                start: end - range,
                end,
                params: &p,
            });
            any |= vals[i].is_some();
        });
        any.then_some(StepSeries {
            labels,
            vals,
            drop_name: drop_name || !self.keep_name,
        })
    }

    /// [`RollupPlan::apply`] of `rate` / `increase` over a series without resets, in two
    /// passes: the window bounds of every step, then [`extrapolate`] per step in a loop
    /// without branches on the data, so the divisions of consecutive windows overlap
    /// (one window after the other, they wait for each other's loop exits).
    fn apply_no_resets(
        &self,
        kind: Extrapolated,
        eff: &[i64],
        range: i64,
        labels: Labels,
        samples: &[Sample],
        drop_name: bool,
    ) -> Option<StepSeries> {
        let rate = matches!(kind, Extrapolated::Rate);
        let mut bounds = vec![(0usize, 0usize); eff.len()];
        slide_bounds(eff, range, samples, |i, lo, hi| bounds[i] = (lo, hi));
        let mut vals = vec![None; self.grid.n];
        let mut any = false;
        for (i, (&(lo, hi), &end)) in bounds.iter().zip(eff).enumerate() {
            if hi - lo < 2 {
                continue;
            }
            let (first, last) = (samples[lo], samples[hi - 1]);
            let result = last.v - first.v;
            let v = extrapolate(first, last, hi - lo, end - range, end, result, true, rate);
            vals[i] = Some(v);
            any = true;
        }
        any.then_some(StepSeries {
            labels,
            vals,
            drop_name: drop_name || !self.keep_name,
        })
    }
}

impl Ev<'_> {
    /// The scalar arguments of a rollup call, evaluated per step, with the checks
    /// Prometheus makes on them.
    pub fn rollup_plan(&self, c: &Call, f: RollupFn, g: &Grid) -> EvalResult<RollupPlan> {
        let mi = c.func.rollup_arg().unwrap_or(0);
        let mut params: Vec<Vec<f64>> = Vec::new();
        for (i, a) in c.args.iter().enumerate() {
            if i != mi {
                params.push(self.eval_scalar(a, g)?);
            }
        }
        if c.func.name == "quantile_over_time"
            && let (Some(q), Some(e)) = (params.first(), c.args.first())
        {
            check_quantile(&self.notes, q, e);
        }
        // Only for the implementations in this file (a registry may map the names to
        // others); a missed match only costs speed.
        let no_resets = if std::ptr::fn_addr_eq(f, rate as RollupFn) {
            Some(Extrapolated::Rate)
        } else if std::ptr::fn_addr_eq(f, increase as RollupFn) {
            Some(Extrapolated::Increase)
        } else {
            None
        };
        Ok(RollupPlan {
            f,
            no_resets,
            params,
            keep_name: matches!(c.func.name, "last_over_time" | "first_over_time"),
            grid: *g,
        })
    }

    /// Evaluates a rollup call: scalar arguments per step, the range-vector argument as
    /// sliding windows. A rollup of a plain range selector streams series by series.
    pub fn rollup(&self, c: &Call, f: RollupFn, g: &Grid) -> EvalResult<Val> {
        let mi = c.func.rollup_arg().unwrap_or(0);
        let Some(arg) = c.args.get(mi) else {
            // As before: the parameters are still evaluated (and checked).
            self.rollup_plan(c, f, g)?;
            return Ok(Val::Vector(Vec::new()));
        };
        if let Expr::Matrix(m) = arg {
            match m.selector.modifier {
                Some(md) => modifiers::check(c.func.name, md)?,
                None => {
                    let plan = self.rollup_plan(c, f, g)?;
                    let out = self.collect_stream(|sink| self.stream_rollup(m, &plan, g, sink))?;
                    return Ok(Val::Vector(out));
                }
            }
        }
        let plan = self.rollup_plan(c, f, g)?;
        let w = self.windows(arg, g)?;
        if let Some(md) = w.modifier {
            let lookback = self.opts.lookback_delta.as_millis() as i64;
            return Ok(Val::Vector(modifiers::rollup(
                c.func.name,
                &w,
                md,
                lookback,
            )));
        }
        let one = |s: &WindowSeries| {
            plan.apply(&w.eff, w.range, s.labels.clone(), &s.samples, s.drop_name)
        };
        // Series are independent: large rollups run on the rayon pool.
        let work: usize = w.series.iter().map(|s| s.samples.len() + g.n).sum();
        let out: Vec<StepSeries> = if work >= PARALLEL_MIN_WORK {
            w.series.par_iter().filter_map(one).collect()
        } else {
            w.series.iter().filter_map(one).collect()
        };
        Ok(Val::Vector(out))
    }
}

fn vals<'a>(w: &'a Win) -> impl Iterator<Item = f64> + 'a {
    w.s.iter().map(|x| x.v)
}

/// Prometheus' `extrapolatedRate`.
fn extrapolated(w: &Win, counter: bool, rate: bool) -> Option<f64> {
    extrapolated_scan(w, counter, rate, counter)
}

/// [`extrapolated`]; `scan_resets: false` skips adding the values before counter resets,
/// which is exact for windows known to have none.
#[inline(always)]
fn extrapolated_scan(w: &Win, counter: bool, rate: bool, scan_resets: bool) -> Option<f64> {
    let s = w.s;
    if s.len() < 2 {
        return None;
    }
    let (first, last) = (s[0], s[s.len() - 1]);
    let mut result = last.v - first.v;
    if scan_resets {
        let mut prev = first.v;
        for p in &s[1..] {
            if p.v < prev {
                result += prev;
            }
            prev = p.v;
        }
    }
    Some(extrapolate(
        first,
        last,
        s.len(),
        w.start,
        w.end,
        result,
        counter,
        rate,
    ))
}

/// The extrapolation of Prometheus' `extrapolatedRate` for a window `(start, end]` of
/// `count >= 2` samples from `first` to `last` whose raw increase is `result`.
#[inline(always)]
#[allow(clippy::too_many_arguments)]
fn extrapolate(
    first: Sample,
    last: Sample,
    count: usize,
    start: i64,
    end: i64,
    result: f64,
    counter: bool,
    rate: bool,
) -> f64 {
    let mut to_start = (first.t - start) as f64 / 1000.0;
    let mut to_end = (end - last.t) as f64 / 1000.0;
    let sampled = (last.t - first.t) as f64 / 1000.0;
    let avg = sampled / (count - 1) as f64;
    let threshold = avg * 1.1;
    if to_start >= threshold {
        to_start = avg / 2.0;
    }
    if counter
        && result > 0.0
        && first.v >= 0.0
        && !zero_point_clearly_after(first.v, sampled, to_start, result)
    {
        let to_zero = sampled * (first.v / result);
        if to_zero < to_start {
            to_start = to_zero;
        }
    }
    if to_end >= threshold {
        to_end = avg / 2.0;
    }
    let mut factor = (sampled + to_start + to_end) / sampled;
    if rate {
        factor /= (end - start) as f64 / 1000.0;
    }
    result * factor
}

/// True when `sampled * (first / result) < to_start` is certainly false, told without
/// the division (non-negative `first`, positive `result`): when `first * sampled` exceeds
/// `2 * to_start * result` and the latter is a normal float, each side is within 2^-53
/// (relative) of its exact value, so the exact `to_zero` is above 1.99 `to_start` and
/// its rounding cannot bring it below. Counters far from zero (the usual case) take this
/// path; anything closer is left to the exact comparison.
#[inline(always)]
fn zero_point_clearly_after(first: f64, sampled: f64, to_start: f64, result: f64) -> bool {
    let rhs = 2.0 * to_start * result;
    first * sampled > rhs && rhs >= f64::MIN_POSITIVE
}

pub(crate) fn rate(w: &Win) -> Option<f64> {
    extrapolated(w, true, true)
}
pub(crate) fn increase(w: &Win) -> Option<f64> {
    extrapolated(w, true, false)
}
pub(crate) fn delta(w: &Win) -> Option<f64> {
    extrapolated(w, false, false)
}

fn instant_value(w: &Win, rate: bool) -> Option<f64> {
    let n = w.s.len();
    if n < 2 {
        return None;
    }
    let (prev, last) = (w.s[n - 2], w.s[n - 1]);
    let d = if rate && last.v < prev.v {
        last.v
    } else {
        last.v - prev.v
    };
    if !rate {
        return Some(d);
    }
    let dt = (last.t - prev.t) as f64 / 1000.0;
    (dt != 0.0).then_some(d / dt)
}

pub(crate) fn irate(w: &Win) -> Option<f64> {
    instant_value(w, true)
}
pub(crate) fn idelta(w: &Win) -> Option<f64> {
    instant_value(w, false)
}

pub(crate) fn avg_over_time(w: &Win) -> Option<f64> {
    Some(mean_of(w.s.iter().map(|x| x.v)))
}
pub(crate) fn sum_over_time(w: &Win) -> Option<f64> {
    Some(kahan_sum(vals(w)))
}
pub(crate) fn count_over_time(w: &Win) -> Option<f64> {
    Some(w.s.len() as f64)
}
pub(crate) fn present_over_time(_: &Win) -> Option<f64> {
    Some(1.0)
}
pub(crate) fn last_over_time(w: &Win) -> Option<f64> {
    w.s.last().map(|x| x.v)
}
pub(crate) fn first_over_time(w: &Win) -> Option<f64> {
    w.s.first().map(|x| x.v)
}
pub(crate) fn ts_of_last_over_time(w: &Win) -> Option<f64> {
    w.s.last().map(|x| x.t as f64 / 1000.0)
}
pub(crate) fn ts_of_first_over_time(w: &Win) -> Option<f64> {
    w.s.first().map(|x| x.t as f64 / 1000.0)
}

/// The sample a `max`/`min` scan keeps (NaN loses to any number; ties: `last` picks the
/// later sample).
fn extreme(w: &Win, better: fn(f64, f64) -> bool, last: bool) -> Option<Sample> {
    let mut best = *w.s.first()?;
    for p in &w.s[1..] {
        if better(p.v, best.v) || best.v.is_nan() || (last && p.v == best.v) {
            best = *p;
        }
    }
    Some(best)
}
fn gt(a: f64, b: f64) -> bool {
    a > b
}
fn lt(a: f64, b: f64) -> bool {
    a < b
}
pub(crate) fn max_over_time(w: &Win) -> Option<f64> {
    extreme(w, gt, false).map(|s| s.v)
}
pub(crate) fn min_over_time(w: &Win) -> Option<f64> {
    extreme(w, lt, false).map(|s| s.v)
}
pub(crate) fn ts_of_max_over_time(w: &Win) -> Option<f64> {
    extreme(w, gt, true).map(|s| s.t as f64 / 1000.0)
}
pub(crate) fn ts_of_min_over_time(w: &Win) -> Option<f64> {
    extreme(w, lt, true).map(|s| s.t as f64 / 1000.0)
}
pub(crate) fn stdvar_over_time(w: &Win) -> Option<f64> {
    Some(variance(vals(w)))
}
pub(crate) fn stddev_over_time(w: &Win) -> Option<f64> {
    Some(variance(vals(w)).sqrt())
}
pub(crate) fn quantile_over_time(w: &Win) -> Option<f64> {
    let mut v: Vec<f64> = vals(w).collect();
    Some(quantile(w.params[0], &mut v))
}
pub(crate) fn mad_over_time(w: &Win) -> Option<f64> {
    if w.s.iter().any(|x| x.v.is_nan()) {
        return Some(f64::NAN);
    }
    let mut v: Vec<f64> = vals(w).collect();
    let median = quantile(0.5, &mut v);
    let mut dev: Vec<f64> = v.iter().map(|x| (x - median).abs()).collect();
    Some(quantile(0.5, &mut dev))
}
pub(crate) fn changes(w: &Win) -> Option<f64> {
    let mut n = 0.0;
    for p in w.s.windows(2) {
        let (a, b) = (p[0].v, p[1].v);
        if a != b && !(a.is_nan() && b.is_nan()) {
            n += 1.0;
        }
    }
    Some(n)
}
pub(crate) fn resets(w: &Win) -> Option<f64> {
    Some(w.s.windows(2).filter(|p| p[1].v < p[0].v).count() as f64)
}
pub(crate) fn deriv(w: &Win) -> Option<f64> {
    if w.s.len() < 2 {
        return None;
    }
    Some(linear_regression(w.s, w.s[0].t).0)
}
pub(crate) fn predict_linear(w: &Win) -> Option<f64> {
    if w.s.len() < 2 {
        return None;
    }
    // Prometheus intercepts at the evaluation time, not at the `@`/offset-shifted end.
    let (slope, intercept) = linear_regression(w.s, w.t);
    Some(slope * w.params[0] + intercept)
}

/// Holt's linear (double exponential) smoothing, as Prometheus computes it.
pub(crate) fn double_exponential_smoothing(w: &Win) -> Option<f64> {
    let (sf, tf) = (w.params[0], w.params[1]);
    let unit = |x: f64| x > 0.0 && x < 1.0;
    if !unit(sf) || !unit(tf) || w.s.len() < 2 {
        return None;
    }
    let (mut s0, mut s1) = (0.0, w.s[0].v);
    let mut b = w.s[1].v - w.s[0].v;
    for (i, p) in w.s.iter().enumerate().skip(1) {
        let x = sf * p.v;
        if i > 1 {
            b = tf * (s1 - s0) + (1.0 - tf) * b;
        }
        let y = (1.0 - sf) * (s1 + b);
        (s0, s1) = (s1, x + y);
    }
    Some(s1)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        /// The reset-free shortcut of `rate`/`increase` gives the same bits on windows
        /// without resets.
        #[test]
        fn reset_free_extrapolation_matches_the_scanning_one(
            steps in proptest::collection::vec((1i64..30_000, 0.0f64..1e6), 2..50),
            start_gap in 0i64..60_000,
            end_gap in 0i64..60_000,
        ) {
            let mut t = 1_000_000;
            let mut v = 0.0;
            let s: Vec<Sample> = steps.iter().map(|&(dt, dv)| {
                t += dt;
                v += dv;
                Sample::new(t, v)
            }).collect();
            let w = Win {
                s: &s,
                t: t + end_gap,
                start: s[0].t - start_gap - 1,
                end: t + end_gap,
                params: &[],
            };
            for rate in [true, false] {
                let a = extrapolated(&w, true, rate).map(f64::to_bits);
                let b = extrapolated_scan(&w, true, rate, false).map(f64::to_bits);
                prop_assert_eq!(a, b);
            }
        }

        /// The division-free test of the zero-point clamp never skips a clamp that the
        /// exact comparison would apply, across magnitudes from subnormal to huge.
        #[test]
        fn zero_point_shortcut_is_conservative(
            first in prop_oneof![0.0f64..1e3, 0.0f64..1e300, Just(0.0), Just(f64::MIN_POSITIVE)],
            result_exp in -320i32..300,
            result_m in 1.0f64..10.0,
            sampled in 0.0f64..1e7,
            to_start in prop_oneof![0.0f64..1e7, Just(0.0), 0.0f64..1e-3],
        ) {
            let result = result_m * 10f64.powi(result_exp);
            prop_assume!(result > 0.0 && result.is_finite());
            if zero_point_clearly_after(first, sampled, to_start, result) {
                let to_zero = sampled * (first / result);
                prop_assert!(to_zero >= to_start, "{to_zero} < {to_start}");
            }
        }

        /// `rate` / `increase` over a reset-free series through the plan's two-pass path
        /// give, step by step, the bits of the window-at-a-time functions.
        #[test]
        fn reset_free_plan_matches_per_window_calls(
            steps in proptest::collection::vec((1i64..40_000, 0.0f64..1e4), 1..200),
            first_v in 0.0f64..1e9,
            grid_start in 0i64..120_000,
            step in 1_000i64..90_000,
            n in 1usize..120,
            range in 1_000i64..600_000,
        ) {
            let mut t = 0;
            let mut v = first_v;
            let s: Vec<Sample> = steps.iter().map(|&(dt, dv)| {
                t += dt;
                v += dv;
                Sample::new(t, v)
            }).collect();
            let grid = Grid { start: grid_start, step, n };
            let eff: Vec<i64> = (0..n).map(|i| grid.t(i)).collect();
            for (f, kind) in [(rate as RollupFn, Extrapolated::Rate), (increase, Extrapolated::Increase)] {
                let plan = RollupPlan { f, no_resets: Some(kind), params: Vec::new(), keep_name: false, grid };
                let got = plan.apply(&eff, range, Labels::default(), &s, false);
                let mut want = vec![None; n];
                slide(&eff, range, &s, |i, win| {
                    let end = eff[i];
                    want[i] = f(&Win { s: win, t: end, start: end - range, end, params: &[] });
                });
                let bits = |v: &[Option<f64>]| v.iter().map(|x| x.map(f64::to_bits)).collect::<Vec<_>>();
                match got {
                    Some(st) => prop_assert_eq!(bits(&st.vals), bits(&want)),
                    None => prop_assert!(want.iter().all(Option::is_none)),
                }
            }
        }
    }
}
