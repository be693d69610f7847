//! VictoriaMetrics' rollup windows: each step sees the samples in `(t - window, t]` plus
//! the sample just before the window (VM's `prevValue`) when it is recent enough, and a
//! window left out (`rate(x)`) or shorter than the scrape interval is widened.

use gnomon_tsdb_core::model::{Labels, Sample, is_stale_nan};

use crate::engine::error::{EvalError, EvalResult};
use crate::engine::eval::{Ev, Grid, Val};
use crate::parser::ast::{Expr, Subquery, VectorSelector};

/// VM's `maxSilenceInterval`: how far before a window the previous sample is looked for
/// at most, and how much extra history a selector fetches.
pub(crate) const MAX_SILENCE: i64 = 5 * 60 * 1000;

/// The step VM uses for instant queries that give none (`/api/v1/query` default, 5m).
pub(crate) const INSTANT_STEP: i64 = 5 * 60 * 1000;

/// One step's view of a series, as VM's rollup functions see it.
pub(crate) struct VmWin<'a> {
    /// Samples in `(t - window, t]`.
    pub s: &'a [Sample],
    /// The sample before the window when it lies within the max previous interval and
    /// samples exist after the window start (VM's `prevValue`/`prevTimestamp`).
    pub prev: Option<Sample>,
    /// The sample before the window however old (VM's `realPrevValue`).
    pub real_prev: Option<Sample>,
    /// The sample after the window (VM's `realNextValue`).
    pub real_next: Option<Sample>,
    /// The window end (VM's `currTimestamp`).
    pub t: i64,
    /// The query step in ms.
    pub step: i64,
    /// The effective window in ms.
    pub window: i64,
    /// Scalar arguments at this step.
    pub params: &'a [f64],
}

impl VmWin<'_> {
    /// Values in the window.
    pub fn vals(&self) -> impl Iterator<Item = f64> + '_ {
        self.s.iter().map(|x| x.v)
    }
}

/// A series fetched for a VM rollup.
pub(crate) struct VmSeries {
    pub labels: Labels,
    pub samples: Vec<Sample>,
}

/// The series and window geometry of a rollup argument.
pub(crate) struct VmInput {
    pub series: Vec<VmSeries>,
    /// Window end per step (step time shifted by `@`/`offset`).
    pub eff: Vec<i64>,
    /// The window written (`0`: left out).
    pub window: i64,
    /// The step used for implicit windows.
    pub step: i64,
}

/// The step of grid `g` as VM sees it (instant queries: 5m).
pub(crate) fn vm_step(g: &Grid) -> i64 {
    if g.n <= 1 && g.step <= 1 {
        INSTANT_STEP
    } else {
        g.step
    }
}

/// VM's scrape interval estimate: the 0.6 quantile of the first 20 gaps.
pub(crate) fn scrape_interval(s: &[Sample]) -> i64 {
    if s.len() < 2 {
        return MAX_SILENCE;
    }
    let mut gaps: Vec<f64> = s
        .windows(2)
        .take(20)
        .map(|p| (p[1].t - p[0].t) as f64)
        .collect();
    let q = crate::engine::stats::quantile(0.6, &mut gaps) as i64;
    if q <= 0 { MAX_SILENCE } else { q }
}

/// VM's `getMaxPrevInterval`: the scrape interval plus a jitter allowance that shrinks as
/// the interval grows.
pub(crate) fn max_prev_interval(si: i64) -> i64 {
    let extra = match si {
        ..=2_000 => 4 * si,
        2_001..=4_000 => 2 * si,
        4_001..=8_000 => si,
        8_001..=16_000 => si / 2,
        16_001..=32_000 => si / 4,
        _ => si / 8,
    };
    si + extra
}

impl Ev<'_> {
    /// Fetches the rollup argument `arg` (a selector, a matrix selector or a subquery)
    /// with the history VM reads before the first window.
    ///
    /// # Errors
    /// Storage failures, limits, and [`EvalError::Unsupported`] for other expressions.
    pub(crate) fn vm_input(&self, arg: &Expr, g: &Grid, keep_stale: bool) -> EvalResult<VmInput> {
        let step = vm_step(g);
        match arg {
            Expr::Vector(vs) => self.vm_select(vs, 0, g, step, keep_stale),
            Expr::Matrix(m) => {
                let window = self.duration_ms(&m.range).max(0);
                self.vm_select(&m.selector, window, g, step, keep_stale)
            }
            Expr::Subquery(sq) => self.vm_subquery(sq, g, step),
            _ => Err(EvalError::Unsupported(
                "a rollup over an expression that is not a selector or subquery".into(),
            )),
        }
    }

    fn vm_select(
        &self,
        vs: &VectorSelector,
        window: i64,
        g: &Grid,
        step: i64,
        keep_stale: bool,
    ) -> EvalResult<VmInput> {
        let eff = self.eff_times(g, vs.at.as_ref(), vs.offset.as_ref());
        let lo = eff.iter().copied().min().unwrap_or(0);
        let hi = eff.iter().copied().max().unwrap_or(-1);
        let back = window.max(step) + MAX_SILENCE;
        let series = self
            .select(&vs.all_matchers(), lo - back, hi)?
            .into_iter()
            .map(|s| VmSeries {
                labels: s.labels,
                samples: s
                    .samples
                    .into_iter()
                    .filter(|x| keep_stale || !is_stale_nan(x.v))
                    .collect(),
            })
            .collect();
        Ok(VmInput {
            series,
            eff,
            window,
            step,
        })
    }

    fn vm_subquery(&self, sq: &Subquery, g: &Grid, step: i64) -> EvalResult<VmInput> {
        let eff = self.eff_times(g, sq.at.as_ref(), sq.offset.as_ref());
        let window = self.duration_ms(&sq.range).max(0);
        let inner_step = match &sq.step {
            Some(d) => self.duration_ms(d),
            None => step,
        };
        if inner_step <= 0 {
            return Err(EvalError::InvalidArgument(
                "zero or negative subquery resolution".into(),
            ));
        }
        let lo = eff.iter().copied().min().unwrap_or(0);
        let hi = eff.iter().copied().max().unwrap_or(-1);
        let first = lo - window - inner_step - MAX_SILENCE;
        let inner = Grid::new(first.div_euclid(inner_step) * inner_step, hi, inner_step);
        if inner.n > self.opts.max_samples {
            return Err(EvalError::TooManySamples("subquery evaluation"));
        }
        let series = self
            .eval_vector(&sq.expr, &inner)?
            .into_iter()
            .map(|s| VmSeries {
                samples: s
                    .vals
                    .iter()
                    .enumerate()
                    .filter_map(|(i, v)| v.map(|v| Sample::new(inner.t(i), v)))
                    .collect(),
                labels: if s.drop_name {
                    crate::engine::eval::drop_metric_name(&s.labels)
                } else {
                    s.labels
                },
            })
            .collect();
        Ok(VmInput {
            series,
            eff,
            window,
            step: inner_step,
        })
    }
}

/// Slides VM windows over one series: `f(step index, window)` for every window end.
/// `adjust`: the function may widen a window shorter than the max previous interval.
pub(crate) fn slide(
    samples: &[Sample],
    inp: &VmInput,
    adjust: bool,
    params: &[Vec<f64>],
    mut f: impl FnMut(usize, &VmWin),
) {
    let max_prev = max_prev_interval(scrape_interval(samples));
    let mut window = if inp.window > 0 { inp.window } else { inp.step };
    if adjust && window < max_prev {
        window = max_prev;
    }
    let mut p = vec![0.0; params.len()];
    let (mut i, mut j) = (0usize, 0usize);
    let mut prev_end = i64::MIN;
    for (k, &end) in inp.eff.iter().enumerate() {
        if end < prev_end {
            (i, j) = (0, 0);
        }
        prev_end = end;
        let start = end - window;
        while i < samples.len() && samples[i].t <= start {
            i += 1;
        }
        j = j.max(i);
        while j < samples.len() && samples[j].t <= end {
            j += 1;
        }
        let real_prev = i.checked_sub(1).map(|x| samples[x]);
        let prev = real_prev.filter(|x| i < samples.len() && x.t > start - max_prev);
        for (slot, col) in p.iter_mut().zip(params) {
            *slot = col.get(k).copied().unwrap_or(f64::NAN);
        }
        f(
            k,
            &VmWin {
                s: &samples[i..j],
                prev,
                real_prev,
                real_next: samples.get(j).copied(),
                t: end,
                step: inp.step,
                window,
                params: &p,
            },
        );
    }
}

/// A value per step of a vector result, with VM's NaN as "no value".
pub(crate) fn some(v: f64) -> Option<f64> {
    (!v.is_nan()).then_some(v)
}

/// The series that have a value at some step.
pub(crate) fn nonempty(
    mut out: Vec<crate::engine::eval::StepSeries>,
) -> Vec<crate::engine::eval::StepSeries> {
    out.retain(|s| s.vals.iter().any(Option::is_some));
    out
}

/// Wraps series into a vector value, dropping the ones without any value.
pub(crate) fn vector(out: Vec<crate::engine::eval::StepSeries>) -> Val {
    Val::Vector(nonempty(out))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ts(t: &[i64]) -> Vec<Sample> {
        t.iter().map(|&t| Sample::new(t, 1.0)).collect()
    }

    #[test]
    fn scrape_interval_is_the_06_quantile_of_gaps() {
        assert_eq!(scrape_interval(&ts(&[0])), MAX_SILENCE);
        assert_eq!(scrape_interval(&ts(&[0, 10_000, 20_000, 35_000])), 11_000);
        assert_eq!(max_prev_interval(15_000), 22_500);
        assert_eq!(max_prev_interval(1_000), 5_000);
        assert_eq!(max_prev_interval(60_000), 67_500);
    }

    #[test]
    fn windows_see_the_previous_sample() {
        let s = ts(&[10_000, 20_000, 30_000, 40_000]);
        let inp = VmInput {
            series: Vec::new(),
            eff: vec![25_000, 40_000, 90_000],
            window: 10_000,
            step: 15_000,
        };
        let mut got = Vec::new();
        slide(&s, &inp, false, &[], |k, w| {
            got.push((k, w.s.len(), w.prev.map(|p| p.t)))
        });
        assert_eq!(
            got,
            vec![
                (0, 1, Some(10_000)),
                (1, 1, Some(30_000)),
                // no sample after the window start: no prevValue
                (2, 0, None),
            ]
        );
    }

    #[test]
    fn implicit_windows_are_the_step_widened_to_the_scrape_interval() {
        let s = ts(&[0, 10_000, 20_000, 30_000]);
        let inp = VmInput {
            series: Vec::new(),
            eff: vec![30_000],
            window: 0,
            step: 5_000,
        };
        let mut w = 0;
        slide(&s, &inp, true, &[], |_, x| w = x.window);
        assert_eq!(w, 15_000);
        slide(&s, &inp, false, &[], |_, x| w = x.window);
        assert_eq!(w, 5_000);
    }
}
