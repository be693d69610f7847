//! MetricsQL functions with VictoriaMetrics' semantics.
//!
//! | module | what |
//! |---|---|
//! | `window` | VM's rollup windows: previous sample, scrape-interval estimate, implicit windows |
//! | `rollups` | single-valued rollups (`integrate`, `lag`, `count_gt_over_time`, …) |
//! | `multi` | rollups with several outputs per series (`rollup`, `rollup_candlestick`, `quantiles_over_time`, `histogram_over_time`, …) |
//! | `vmrange` | VM's log-scale histogram buckets |
//! | `labels` | `label_set`, `label_del`, `label_copy`, `label_match`, … |
//! | `series` | per-series transforms over the steps (`range_*`, `running_*`, `interpolate`, …) |
//! | `transforms` | the other transforms (`union`, `bitmap_*`, `histogram_share`, …) |
//! | `aggregates` | `median`, `mode`, `share`, `outliersk`, `topk_*`, `quantiles`, … |
//! | `ops` | the `default`, `if` and `ifnot` operators and the `limit N` clause |
//! | `tz` | `timezone_offset` from the system tz database |
//!
//! VM's rollups differ from Prometheus': no extrapolation, the sample before the window
//! counts, and a window left out is the step (widened to the scrape interval for
//! `rate`-like functions). PromQL's own functions keep Prometheus' semantics.
//!
//! The rules below were pinned against VictoriaMetrics 1.79 by
//! `tests/metricsql_vs_vm.rs` (its skip file lists what intentionally differs):
//!
//! - A window sees the samples in `(t - window, t]`; the sample before it counts as VM's
//!   `prevValue` when it lies within the max previous interval (the 0.6 quantile of the
//!   first 20 gaps plus a jitter allowance) and a sample follows the window start.
//! - Windows shorter than that interval are widened only for the functions VM lists
//!   (`default_rollup`, `deriv_fast`, `ideriv`, `rate_over_sum`, `scrape_interval`, the
//!   `rollup*` family; of PromQL's, `rate`, `irate`, `deriv`), never inside
//!   `aggr_over_time`.
//! - Rollups drop the metric name except `default_rollup`, `geomean_over_time`,
//!   `hoeffding_bound_*`, `holt_winters`, `median_over_time`, `mode_over_time`,
//!   `quantiles_over_time`, `rollup`, `rollup_candlestick`, `timestamp_with_name`.
//!   Names are dropped at once: label functions do not see them.
//! - Series without any value stay in intermediate results, so `default` and `union`
//!   see them.
//! - `running_*` carry the last value over gaps and `running_avg` divides by the
//!   position since the first value; `range_avg`/`min`/`max`/`sum` are the last running
//!   value from the first value on; `range_first`/`last`/`median`/`quantile` and
//!   `smooth_exponential` write only where the input has a value.
//! - `rollup_candlestick` at `t` is the candle of the window ending one step later;
//!   `histogram()` returns cumulative `le` buckets.

pub(crate) mod aggregates;
pub(crate) mod labels;
pub(crate) mod multi;
pub(crate) mod ops;
pub(crate) mod rollups;
pub(crate) mod series;
pub(crate) mod transforms;
pub(crate) mod tz;
pub(crate) mod vmrange;
pub(crate) mod window;

use gnomon_tsdb_core::model::TimeRange;
use rayon::prelude::*;

use super::error::EvalResult;
use super::eval::{Ev, Grid, StepSeries, Val};
use crate::parser::ast::{Call, Duration, Expr, MatrixSelector, VectorSelector};
use rollups::{VmRollup, remove_counter_resets};
use window::{VmInput, slide, some};

/// Below this many samples + steps a rollup runs on the calling thread (as in
/// `rollup.rs`: rayon's hand-off costs about what 10k sample visits take).
const PARALLEL_MIN_WORK: usize = 10_000;

impl Ev<'_> {
    /// The scalar arguments of a rollup call (every argument but the range vector and
    /// string literals), one column per argument.
    pub(crate) fn rollup_params(&self, c: &Call, g: &Grid) -> EvalResult<Vec<Vec<f64>>> {
        let mi = rollup_index(c);
        let mut params = Vec::new();
        for (i, a) in c.args.iter().enumerate() {
            if i != mi && !matches!(a, Expr::String(_)) {
                params.push(self.eval_scalar(a, g)?);
            }
        }
        Ok(params)
    }

    /// The range-vector argument fetched VM-style.
    pub(crate) fn rollup_input(&self, c: &Call, g: &Grid, stale: bool) -> EvalResult<VmInput> {
        match c.args.get(rollup_index(c)) {
            Some(a) => self.vm_input(a, g, stale),
            None => Ok(VmInput {
                series: Vec::new(),
                eff: Vec::new(),
                window: 0,
                step: g.step,
            }),
        }
    }

    /// Evaluates a single-valued VM rollup.
    pub(crate) fn vm_rollup(&self, c: &Call, r: VmRollup, g: &Grid) -> EvalResult<Val> {
        let params = self.rollup_params(c, g)?;
        let inp = self.rollup_input(c, g, r.stale)?;
        let keep = r.keep_name || c.keep_metric_names;
        let one = |s: &window::VmSeries| {
            let mut vals = vec![None; g.n];
            let mut run = |samples: &[gnomon_tsdb_core::model::Sample]| {
                slide(samples, &inp, r.adjust, &params, |k, w| {
                    vals[k] = some((r.f)(w));
                })
            };
            if r.resets {
                run(&without_resets(&s.samples));
            } else {
                run(&s.samples);
            }
            StepSeries {
                labels: s.labels.clone(),
                vals,
                drop_name: !keep,
            }
        };
        let work: usize = inp.series.iter().map(|s| s.samples.len() + g.n).sum();
        let out: Vec<StepSeries> = if work >= PARALLEL_MIN_WORK {
            inp.series.par_iter().map(one).collect()
        } else {
            inp.series.iter().map(one).collect()
        };
        // Series without any value stay (VM keeps them until the result is returned), so
        // that `default` and `union` see them.
        Ok(Val::Vector(out))
    }
}

/// The samples with VM's counter-reset correction applied.
pub(crate) fn without_resets(
    s: &[gnomon_tsdb_core::model::Sample],
) -> Vec<gnomon_tsdb_core::model::Sample> {
    let mut v: Vec<f64> = s.iter().map(|x| x.v).collect();
    remove_counter_resets(&mut v);
    s.iter()
        .zip(v)
        .map(|(x, v)| gnomon_tsdb_core::model::Sample::new(x.t, v))
        .collect()
}

/// MetricsQL `rate(x)`: a PromQL rollup of a selector without a window reads the window
/// VM would use when none is given, the step (5m in instant queries).
pub(crate) fn implicit_window(vs: &VectorSelector, g: &Grid) -> MatrixSelector {
    MatrixSelector {
        selector: vs.clone(),
        range: Duration::Millis(window::vm_step(g)),
    }
}

/// The PromQL rollups VM widens to the scrape interval when their window is left out
/// (VM's list of rollups that may adjust the window, restricted to PromQL's).
const WIDENED: &[&str] = &["rate", "irate", "deriv"];

/// How much data past the first window the scrape-interval estimate reads: it needs
/// the first 20 gaps, 2h covers them down to one sample every 6 minutes.
const PEEK: i64 = 2 * 3600 * 1000;

impl Ev<'_> {
    /// A PromQL rollup call written without a window (`rate(x)`) with the window VM
    /// would use made explicit: the step, and for `rate`, `irate` and `deriv` at least
    /// the largest max-previous-interval of the selected series (VM's scrape-interval
    /// estimate plus jitter allowance, from the series' first two hours in the query).
    /// Other calls come back unchanged.
    ///
    /// # Errors
    /// Storage failures while estimating the scrape interval.
    pub(crate) fn explicit_window<'c>(
        &self,
        c: &'c Call,
        g: &Grid,
    ) -> EvalResult<std::borrow::Cow<'c, Call>> {
        let mi = rollup_index(c);
        let Some(Expr::Vector(vs)) = c.args.get(mi) else {
            return Ok(std::borrow::Cow::Borrowed(c));
        };
        let step = window::vm_step(g);
        let mut range = step;
        if WIDENED.contains(&c.func.name) {
            let eff = self.eff_times(g, vs.at.as_ref(), vs.offset.as_ref());
            let lo = eff.iter().copied().min().unwrap_or(0);
            let hi = eff.iter().copied().max().unwrap_or(-1);
            // The estimate reads the first 20 gaps, so two hours of data are plenty.
            let first = lo - step - window::MAX_SILENCE;
            let tr = TimeRange::new(first, hi.min(lo + PEEK));
            for s in self.q.select(&vs.all_matchers(), tr)? {
                let s = s?;
                let si = window::scrape_interval(&s.samples);
                range = range.max(window::max_prev_interval(si));
            }
        }
        let mut out = c.clone();
        out.args[mi] = Expr::Matrix(MatrixSelector {
            selector: vs.clone(),
            range: Duration::Millis(range),
        });
        Ok(std::borrow::Cow::Owned(out))
    }
}

/// Index of the range-vector argument (or of the selector standing for it).
pub(crate) fn rollup_index(c: &Call) -> usize {
    c.func.rollup_arg().unwrap_or(0)
}

#[cfg(test)]
mod tests;
