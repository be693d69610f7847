//! Reading series: instant-vector selectors (lookback), range-vector selectors and
//! subqueries (windows over the steps).

use gnomon_tsdb_core::model::{Matcher, Sample, Series, TimeRange, is_stale_nan};

use super::error::{EvalError, EvalResult};
use super::eval::{Ev, Grid, StepSeries, Val, WindowSeries, Windows, unsupported};
use super::modifiers;
use crate::parser::ast::{Expr, MatrixSelector, RangeModifier, Subquery, VectorSelector};

impl Ev<'_> {
    /// Selects series with samples in `[mint, maxt]`, counting them against the limits.
    pub fn select(&self, matchers: &[Matcher], mint: i64, maxt: i64) -> EvalResult<Vec<Series>> {
        let mut out = Vec::new();
        if mint > maxt {
            return Ok(out);
        }
        for s in self.q.select(matchers, TimeRange::new(mint, maxt))? {
            let s = s?;
            self.add_samples(s.samples.len())?;
            out.push(s);
            if out.len() > self.opts.max_series {
                return Err(EvalError::TooManySeries(self.opts.max_series));
            }
        }
        self.check_deadline("series selection")?;
        Ok(out)
    }

    /// `name{…}`: per step, the newest sample in `(t - lookback, t]` unless it is a
    /// staleness marker.
    pub fn vector_selector(&self, vs: &VectorSelector, g: &Grid) -> EvalResult<Vec<StepSeries>> {
        let eff = self.eff_times(g, vs.at.as_ref(), vs.offset.as_ref());
        let (lo, hi) = bounds(&eff);
        let lookback = self.opts.lookback_delta.as_millis() as i64;
        let smoothed = vs.modifier == Some(RangeModifier::Smoothed);
        let after = if smoothed { lookback } else { 0 };
        let series = self.select(&vs.all_matchers(), lo - lookback + 1, hi + after)?;
        let mut out = Vec::with_capacity(series.len());
        for s in series {
            let vals = if smoothed {
                modifiers::smoothed_values(&s.samples, &eff, lookback)
            } else {
                lookback_values(&s.samples, &eff, lookback, |x| x.v)
            };
            if vals.iter().any(Option::is_some) {
                out.push(StepSeries {
                    labels: s.labels,
                    vals,
                    drop_name: false,
                });
            }
        }
        Ok(out)
    }

    /// `timestamp(name{…})`: the time of the sample the selector picks, in seconds.
    pub fn vector_selector_timestamps(
        &self,
        vs: &VectorSelector,
        g: &Grid,
    ) -> EvalResult<Vec<StepSeries>> {
        let eff = self.eff_times(g, vs.at.as_ref(), vs.offset.as_ref());
        self.selector_timestamps_at(vs, &eff)
    }

    /// Like [`Ev::vector_selector_timestamps`] at explicit window ends.
    pub fn selector_timestamps_at(
        &self,
        vs: &VectorSelector,
        eff: &[i64],
    ) -> EvalResult<Vec<StepSeries>> {
        let (lo, hi) = bounds(eff);
        let lookback = self.opts.lookback_delta.as_millis() as i64;
        let series = self.select(&vs.all_matchers(), lo - lookback + 1, hi)?;
        Ok(series
            .into_iter()
            .map(|s| StepSeries {
                vals: lookback_values(&s.samples, eff, lookback, |x| x.t as f64 / 1000.0),
                labels: s.labels,
                drop_name: true,
            })
            .filter(|s| s.vals.iter().any(Option::is_some))
            .collect())
    }

    /// The windows of a range-vector expression (`x[5m]` or a subquery).
    pub fn windows(&self, e: &Expr, g: &Grid) -> EvalResult<Windows> {
        match e {
            Expr::Matrix(m) => self.matrix_selector(m, g),
            Expr::Subquery(sq) => self.subquery(sq, g),
            Expr::Vector(vs) => self.matrix_selector(&super::metricsql::implicit_window(vs, g), g),
            _ => Err(unsupported("a rollup of this expression")),
        }
    }

    fn matrix_selector(&self, m: &MatrixSelector, g: &Grid) -> EvalResult<Windows> {
        let vs = &m.selector;
        let eff = self.eff_times(g, vs.at.as_ref(), vs.offset.as_ref());
        let range = self.duration_ms(&m.range);
        let (lo, hi) = bounds(&eff);
        let lookback = self.opts.lookback_delta.as_millis() as i64;
        let (before, after) = match vs.modifier {
            None => (0, 0),
            Some(RangeModifier::Anchored) => (lookback, 0),
            Some(RangeModifier::Smoothed) => (lookback, lookback),
        };
        let series = self.select(&vs.all_matchers(), lo - range - before + 1, hi + after)?;
        let series = series
            .into_iter()
            .map(|s| WindowSeries {
                labels: s.labels,
                samples: s
                    .samples
                    .into_iter()
                    .filter(|x| !is_stale_nan(x.v))
                    .collect(),
                drop_name: false,
            })
            .collect();
        Ok(Windows {
            series,
            eff,
            range,
            modifier: vs.modifier,
        })
    }

    fn subquery(&self, sq: &Subquery, g: &Grid) -> EvalResult<Windows> {
        let eff = self.eff_times(g, sq.at.as_ref(), sq.offset.as_ref());
        let range = self.duration_ms(&sq.range);
        let step = match &sq.step {
            Some(d) => self.duration_ms(d),
            None => self.opts.default_subquery_step.as_millis() as i64,
        };
        if step <= 0 {
            return Err(EvalError::InvalidArgument(
                "zero or negative subquery resolution".into(),
            ));
        }
        let (lo, hi) = bounds(&eff);
        let first = lo - range;
        let start = first.div_euclid(step) * step;
        let start = if start <= first { start + step } else { start };
        let inner = Grid::new(start, hi, step);
        if inner.n > self.opts.max_samples {
            return Err(EvalError::TooManySamples("subquery evaluation"));
        }
        let series = match self.eval(&sq.expr, &inner)? {
            Val::Scalar(v) => vec![StepSeries {
                labels: Default::default(),
                vals: v.into_iter().map(Some).collect(),
                drop_name: false,
            }],
            Val::Vector(v) => v,
            _ => return Err(unsupported("a subquery of a non-instant expression")),
        };
        let series = series
            .into_iter()
            .map(|s| WindowSeries {
                samples: s
                    .vals
                    .iter()
                    .enumerate()
                    .filter_map(|(i, v)| v.map(|v| Sample::new(inner.t(i), v)))
                    .collect(),
                labels: s.labels,
                drop_name: s.drop_name,
            })
            .collect();
        Ok(Windows {
            series,
            eff,
            range,
            modifier: None,
        })
    }
}

/// Smallest and largest window end.
fn bounds(eff: &[i64]) -> (i64, i64) {
    let lo = eff.iter().copied().min().unwrap_or(0);
    let hi = eff.iter().copied().max().unwrap_or(-1);
    (lo, hi)
}

/// Per window end, `f` of the newest sample in `(end - lookback, end]` unless stale.
fn lookback_values(
    samples: &[Sample],
    eff: &[i64],
    lookback: i64,
    f: impl Fn(&Sample) -> f64,
) -> Vec<Option<f64>> {
    let mut hi = 0usize;
    let mut prev = i64::MIN;
    eff.iter()
        .map(|&end| {
            if end < prev {
                hi = 0;
            }
            prev = end;
            while hi < samples.len() && samples[hi].t <= end {
                hi += 1;
            }
            let last = samples[..hi].last()?;
            (last.t > end - lookback && !is_stale_nan(last.v)).then(|| f(last))
        })
        .collect()
}
