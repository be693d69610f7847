//! Reading series: instant-vector selectors (lookback), range-vector selectors and
//! subqueries (windows over the steps).

//!
//! Selectors stream: series come from the store one at a time, are gathered in bounded
//! batches, and each batch is turned into per-step values on the rayon pool before the
//! next one is read, so a query holds the samples of one batch rather than of every
//! series it touches.

use gnomon_tsdb_core::model::{LazySeries, Matcher, Sample, Series, TimeRange, is_stale_nan};
use rayon::prelude::*;

use super::error::{EvalError, EvalResult};
use super::eval::{Ev, Grid, StepSeries, Val, WindowSeries, Windows, unsupported};
use super::modifiers;
use super::registry::{Impl, lookup};
use super::rollup::RollupPlan;
use crate::parser::ast::{Expr, MatrixSelector, RangeModifier, Subquery, VectorSelector};

/// Most series gathered before a batch is read and evaluated; smaller batches lose
/// parallelism to rayon's hand-off. Only the outputs of a batch are held at once: each
/// series' samples are dropped once mapped.
const BATCH_SERIES: usize = 256;

/// Receives the series of a streamed instant vector, in store (label) order.
pub(crate) type Sink<'s> = &'s mut dyn FnMut(StepSeries) -> EvalResult<()>;

impl Ev<'_> {
    /// Selects series with samples in `[mint, maxt]`, counting them against the limits.
    pub fn select(&self, matchers: &[Matcher], mint: i64, maxt: i64) -> EvalResult<Vec<Series>> {
        let mut out = Vec::new();
        self.stream(matchers, (mint, maxt), Some, |s: Series| {
            self.hold(s.samples.len() * std::mem::size_of::<Sample>())?;
            out.push(s);
            Ok(())
        })?;
        Ok(out)
    }

    /// Streams the series with samples in `range` through `map` (in parallel batches) and
    /// hands the outputs to `sink` in store order. Counts samples and series against the
    /// limits and the samples of each batch against the memory limit. Each series is
    /// read (decoded) on the pool thread that maps it, so its samples are used while
    /// still in that core's cache and dropped right after.
    pub fn stream<T: Send>(
        &self,
        matchers: &[Matcher],
        (mint, maxt): (i64, i64),
        map: impl Fn(Series) -> Option<T> + Sync,
        mut sink: impl FnMut(T) -> EvalResult<()>,
    ) -> EvalResult<()> {
        if mint > maxt {
            return Ok(());
        }
        let mut batch: Vec<LazySeries> = Vec::new();
        let mut seen = 0usize;
        for s in self.q.select_lazy(matchers, TimeRange::new(mint, maxt))? {
            batch.push(s?);
            if batch.len() >= BATCH_SERIES {
                self.run_batch(&mut batch, &mut seen, &map, &mut sink)?;
            }
        }
        self.run_batch(&mut batch, &mut seen, &map, &mut sink)?;
        self.check_deadline("series selection")
    }

    fn run_batch<T: Send>(
        &self,
        batch: &mut Vec<LazySeries>,
        seen: &mut usize,
        map: &(impl Fn(Series) -> Option<T> + Sync),
        sink: &mut impl FnMut(T) -> EvalResult<()>,
    ) -> EvalResult<()> {
        if batch.is_empty() {
            return Ok(());
        }
        // The sample count comes back with the output: the limits are checked in store
        // order once the batch is done (a series without samples in range is skipped).
        let one = |s: LazySeries| -> gnomon_tsdb_core::Result<(usize, Option<T>)> {
            let s = s.read()?;
            Ok(match s.samples.len() {
                0 => (0, None),
                n => (n, map(s)),
            })
        };
        // Reading even a short series decodes whole blocks: more than one is worth the
        // hand-off (as the store's own parallel decoding judged).
        let out: Vec<_> = if batch.len() > 1 {
            batch.par_drain(..).map(one).collect()
        } else {
            batch.drain(..).map(one).collect()
        };
        let mut outputs = Vec::with_capacity(out.len());
        let mut samples = 0usize;
        for r in out {
            let (n, o) = r?;
            if n == 0 {
                continue;
            }
            *seen += 1;
            if *seen > self.opts.max_series {
                return Err(EvalError::TooManySeries(self.opts.max_series));
            }
            self.add_samples(n)?;
            samples += n;
            outputs.extend(o);
        }
        let bytes = samples * std::mem::size_of::<Sample>();
        self.hold(bytes)?;
        self.release(bytes);
        self.check_deadline("series evaluation")?;
        outputs.into_iter().try_for_each(sink)
    }

    /// Evaluates `e` one series at a time into `sink` when it is a selector or a rollup
    /// of a range selector (without `anchored`/`smoothed`); `Ok(false)` (and nothing
    /// sent) for any other expression.
    pub fn stream_vector(&self, e: &Expr, g: &Grid, sink: Sink) -> EvalResult<bool> {
        match e {
            Expr::Vector(vs) if vs.modifier.is_none() => {
                self.stream_selector(vs, g, sink)?;
                Ok(true)
            }
            Expr::Call(c) => {
                let Some(Impl::Rollup(f)) = lookup(c.func) else {
                    return Ok(false);
                };
                let mi = c.func.rollup_arg().unwrap_or(0);
                let Some(Expr::Matrix(m)) = c.args.get(mi) else {
                    return Ok(false);
                };
                if m.selector.modifier.is_some() {
                    return Ok(false);
                }
                let plan = self.rollup_plan(c, f, g)?;
                self.stream_rollup(m, &plan, g, sink)?;
                Ok(true)
            }
            _ => Ok(false),
        }
    }

    /// Collects a streamed instant vector, counting it against the memory limit as it
    /// grows (the finished vector is counted again by [`Ev::eval`]).
    pub fn collect_stream(
        &self,
        run: impl FnOnce(Sink) -> EvalResult<()>,
    ) -> EvalResult<Vec<StepSeries>> {
        let mut out = Vec::new();
        let mut held = 0usize;
        let res = run(&mut |s: StepSeries| {
            let b = s.bytes();
            held += b;
            self.hold(b)?;
            out.push(s);
            Ok(())
        });
        self.release(held);
        res.map(|()| out)
    }

    /// `name{…}`: per step, the newest sample in `(t - lookback, t]` unless it is a
    /// staleness marker.
    pub fn vector_selector(&self, vs: &VectorSelector, g: &Grid) -> EvalResult<Vec<StepSeries>> {
        if vs.modifier.is_none() {
            return self.collect_stream(|sink| self.stream_selector(vs, g, sink));
        }
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

    /// A plain selector (no `anchored`/`smoothed`), streamed.
    fn stream_selector(&self, vs: &VectorSelector, g: &Grid, sink: Sink) -> EvalResult<()> {
        let eff = self.eff_times(g, vs.at.as_ref(), vs.offset.as_ref());
        let (lo, hi) = bounds(&eff);
        let lookback = self.opts.lookback_delta.as_millis() as i64;
        let eff = &eff;
        self.stream(
            &vs.all_matchers(),
            (lo - lookback + 1, hi),
            |s| {
                let vals = lookback_values(&s.samples, eff, lookback, |x| x.v);
                vals.iter().any(Option::is_some).then_some(StepSeries {
                    labels: s.labels,
                    vals,
                    drop_name: false,
                })
            },
            sink,
        )
    }

    /// A rollup of a plain range selector (no `anchored`/`smoothed`), streamed: each
    /// series' windows are evaluated as it arrives and its samples dropped.
    pub fn stream_rollup(
        &self,
        m: &MatrixSelector,
        plan: &RollupPlan,
        g: &Grid,
        sink: Sink,
    ) -> EvalResult<()> {
        let vs = &m.selector;
        let eff = self.eff_times(g, vs.at.as_ref(), vs.offset.as_ref());
        let range = self.duration_ms(&m.range);
        let (lo, hi) = bounds(&eff);
        let eff = &eff;
        self.stream(
            &vs.all_matchers(),
            (lo - range + 1, hi),
            |mut s| {
                // Markers are rare: a branch-free (vectorised) scan first, then the copy.
                if s.samples
                    .iter()
                    .fold(false, |any, x| any | is_stale_nan(x.v))
                {
                    s.samples.retain(|x| !is_stale_nan(x.v));
                }
                plan.apply(eff, range, s.labels, &s.samples, false)
            },
            sink,
        )
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
        self.collect_stream(|sink| {
            self.stream(
                &vs.all_matchers(),
                (lo - lookback + 1, hi),
                |s| {
                    let vals = lookback_values(&s.samples, eff, lookback, |x| x.t as f64 / 1000.0);
                    vals.iter().any(Option::is_some).then_some(StepSeries {
                        labels: s.labels,
                        vals,
                        drop_name: true,
                    })
                },
                sink,
            )
        })
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
