//! The evaluator's core: the step grid, per-step series, and the dispatch over the tree.
//!
//! Every expression is evaluated for all steps of its grid at once. An instant-vector
//! value is a list of [`StepSeries`], each holding one optional float per step; labels
//! are fixed per series, so operators match series once and then run over the steps.

use std::cell::Cell;
use std::collections::HashMap;
use std::time::Instant;

use gnomon_tsdb_core::model::{Labels, METRIC_NAME, Querier, Sample};

use super::EngineOptions;
use super::annotations::Notes;
use super::error::{EvalError, EvalResult};
use crate::parser::ast::{
    AtModifier, Duration, DurationFn, DurationOp, Expr, RangeModifier, SpecialFn,
};

/// The label Prometheus 3 drops together with `__name__`.
pub(crate) const TYPE_LABEL: &str = "__type__";
/// The label Prometheus 3 drops together with `__name__`.
pub(crate) const UNIT_LABEL: &str = "__unit__";

/// Bound on every time and duration the evaluator computes with (±2^53 ms, about 285,000
/// years): far beyond real data, and sums of a few such values stay inside `i64`.
pub(crate) const TIME_LIMIT: i64 = 1 << 53;

/// Evaluation times: `start + i * step` for `i < n`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Grid {
    pub start: i64,
    pub step: i64,
    pub n: usize,
}

impl Grid {
    /// The time of step `i` in milliseconds.
    #[inline]
    pub fn t(&self, i: usize) -> i64 {
        self.start + i as i64 * self.step
    }

    /// The grid from `start` to `end` (inclusive) every `step` ms.
    pub fn new(start: i64, end: i64, step: i64) -> Grid {
        let n = if end < start {
            0
        } else {
            ((end - start) / step.max(1)) as usize + 1
        };
        Grid {
            start,
            step: step.max(1),
            n,
        }
    }
}

/// One series of an instant-vector value over the grid.
#[derive(Clone, Debug)]
pub(crate) struct StepSeries {
    pub labels: Labels,
    pub vals: Vec<Option<f64>>,
    /// Prometheus 3's delayed name removal: `__name__` goes at the end of evaluation.
    pub drop_name: bool,
}

impl StepSeries {
    /// Estimated heap bytes: the value slots and the label strings.
    pub fn bytes(&self) -> usize {
        self.vals.len() * std::mem::size_of::<Option<f64>>() + labels_bytes(&self.labels)
    }
}

/// Estimated heap bytes of a label set (strings plus per-label overhead).
pub(crate) fn labels_bytes(l: &Labels) -> usize {
    l.iter()
        .map(|x| x.name.len() + x.value.len() + 48)
        .sum::<usize>()
        + 16
}

/// One series of a range-vector value, with its samples.
#[derive(Clone, Debug)]
pub(crate) struct WindowSeries {
    pub labels: Labels,
    pub samples: Vec<Sample>,
    pub drop_name: bool,
}

/// A range-vector value: series and, per step, the window `(eff - range, eff]`.
#[derive(Clone, Debug)]
pub(crate) struct Windows {
    pub series: Vec<WindowSeries>,
    /// Window end per step (the step time shifted by `@` and `offset`).
    pub eff: Vec<i64>,
    /// Window length in ms.
    pub range: i64,
    /// `anchored` / `smoothed`.
    pub modifier: Option<RangeModifier>,
}

impl Windows {
    /// Calls `f(series index, step, window)` for every series and step, moving two cursors
    /// over each series' samples (one pass per series when the ends are increasing).
    pub fn slide(&self, mut f: impl FnMut(usize, usize, &[Sample])) {
        for (si, s) in self.series.iter().enumerate() {
            self.slide_one(&s.samples, |i, w| f(si, i, w));
        }
    }

    /// [`Windows::slide`] over one series' samples: `f(step, window)`.
    pub fn slide_one(&self, samples: &[Sample], f: impl FnMut(usize, &[Sample])) {
        slide(&self.eff, self.range, samples, f);
    }
}

/// Calls `f(step, window)` with the samples in `(end - range, end]` for every window end
/// of `eff`, moving two cursors over `samples` (one pass when the ends are increasing).
pub(crate) fn slide(
    eff: &[i64],
    range: i64,
    samples: &[Sample],
    mut f: impl FnMut(usize, &[Sample]),
) {
    slide_bounds(eff, range, samples, |i, lo, hi| f(i, &samples[lo..hi]));
}

/// [`slide`] by position: calls `f(step, lo, hi)` with `samples[lo..hi]` the window.
#[inline(always)]
pub(crate) fn slide_bounds(
    eff: &[i64],
    range: i64,
    samples: &[Sample],
    mut f: impl FnMut(usize, usize, usize),
) {
    let (mut lo, mut hi) = (0usize, 0usize);
    let mut prev_end = i64::MIN;
    for (i, &end) in eff.iter().enumerate() {
        if end < prev_end {
            lo = 0;
            hi = 0;
        }
        prev_end = end;
        let start = end - range;
        while hi < samples.len() && samples[hi].t <= end {
            hi += 1;
        }
        while lo < hi && samples[lo].t <= start {
            lo += 1;
        }
        f(i, lo.min(hi), hi);
    }
}

/// An intermediate value.
#[derive(Debug)]
pub(crate) enum Val {
    Scalar(Vec<f64>),
    Vector(Vec<StepSeries>),
    Matrix(Windows),
    String(String),
}

/// The state of one query.
pub(crate) struct Ev<'a> {
    pub q: &'a dyn Querier,
    pub opts: &'a EngineOptions,
    /// The top-level query's start, end and step (for `start()`, `@ end()`, …).
    pub query: Grid,
    pub deadline: Option<Instant>,
    pub samples: Cell<usize>,
    /// Estimated bytes of intermediate state held (see [`Ev::hold`]).
    pub mem: Cell<usize>,
    /// True for a range query (start != end).
    pub range_query: bool,
    /// Warnings and infos raised so far.
    pub notes: Notes,
}

impl Ev<'_> {
    /// Fails once the query's time is up.
    pub fn check_deadline(&self, during: &'static str) -> EvalResult<()> {
        match self.deadline {
            Some(d) if Instant::now() > d => Err(EvalError::Timeout(during)),
            _ => Ok(()),
        }
    }

    /// Counts `n` more samples held, failing past the limit.
    pub fn add_samples(&self, n: usize) -> EvalResult<()> {
        let total = self.samples.get() + n;
        self.samples.set(total);
        if total > self.opts.max_samples {
            return Err(EvalError::TooManySamples("query execution"));
        }
        Ok(())
    }

    /// Counts `bytes` more of intermediate state, failing past
    /// [`EngineOptions::max_memory_per_query`] (0: no limit).
    ///
    /// The count is an upper bound of the peak: every intermediate instant vector is
    /// charged when it is produced and stays charged until the query ends; only the
    /// samples of a streamed batch are [released](Ev::release) once the batch is evaluated.
    pub fn hold(&self, bytes: usize) -> EvalResult<()> {
        let total = self.mem.get().saturating_add(bytes);
        self.mem.set(total);
        let limit = self.opts.max_memory_per_query;
        if limit > 0 && total > limit {
            return Err(EvalError::TooMuchMemory { limit });
        }
        Ok(())
    }

    /// Gives back `bytes` counted by [`Ev::hold`].
    pub fn release(&self, bytes: usize) {
        self.mem.set(self.mem.get().saturating_sub(bytes));
    }

    fn query_end(&self) -> i64 {
        self.query.t(self.query.n.saturating_sub(1))
    }

    /// A duration in seconds.
    pub fn duration_secs(&self, d: &Duration) -> f64 {
        match d {
            Duration::Millis(ms) => *ms as f64 / 1000.0,
            Duration::Seconds(n) => n.0,
            Duration::Special(SpecialFn::Step) | Duration::Interval | Duration::RateInterval => {
                self.query.step as f64 / 1000.0
            }
            Duration::Special(SpecialFn::Range) => {
                (self.query_end() - self.query.start) as f64 / 1000.0
            }
            Duration::Special(SpecialFn::Start) => self.query.start as f64 / 1000.0,
            Duration::Special(SpecialFn::End) => self.query_end() as f64 / 1000.0,
            Duration::Steps(n) => n.0 * self.query.step as f64 / 1000.0,
            Duration::Neg(x) => -self.duration_secs(x),
            Duration::Binary(op, a, b) => {
                let (a, b) = (self.duration_secs(a), self.duration_secs(b));
                match op {
                    DurationOp::Add => a + b,
                    DurationOp::Sub => a - b,
                    DurationOp::Mul => a * b,
                    DurationOp::Div => a / b,
                    DurationOp::Mod => a % b,
                    DurationOp::Pow => a.powf(b),
                }
            }
            Duration::Call(f, a, b) => {
                let (a, b) = (self.duration_secs(a), self.duration_secs(b));
                match f {
                    DurationFn::MinOf => a.min(b),
                    DurationFn::MaxOf => a.max(b),
                }
            }
        }
    }

    /// A duration in milliseconds.
    pub fn duration_ms(&self, d: &Duration) -> i64 {
        ((self.duration_secs(d) * 1000.0).round() as i64).clamp(-TIME_LIMIT, TIME_LIMIT)
    }

    /// The window ends of a selector or subquery: step time (or `@`) minus the offset.
    pub fn eff_times(
        &self,
        g: &Grid,
        at: Option<&AtModifier>,
        offset: Option<&Duration>,
    ) -> Vec<i64> {
        let times: Vec<i64> = (0..g.n).map(|i| g.t(i)).collect();
        self.shift(&times, at, offset)
    }

    /// Applies `@` and `offset` to evaluation times.
    pub fn shift(
        &self,
        times: &[i64],
        at: Option<&AtModifier>,
        offset: Option<&Duration>,
    ) -> Vec<i64> {
        let off = offset.map_or(0, |d| self.duration_ms(d));
        let at = at.map(|a| match a {
            AtModifier::Time(n) => ((n.0 * 1000.0).round() as i64).clamp(-TIME_LIMIT, TIME_LIMIT),
            AtModifier::Start => self.query.start,
            AtModifier::End => self.query_end(),
        });
        times
            .iter()
            .map(|&t| (at.unwrap_or(t) - off).clamp(-TIME_LIMIT, TIME_LIMIT))
            .collect()
    }

    /// Evaluates `e` at every step of `g`.
    pub fn eval(&self, e: &Expr, g: &Grid) -> EvalResult<Val> {
        let v = stacker::maybe_grow(64 * 1024, 1024 * 1024, || self.eval_inner(e, g))?;
        // Memory bound: one value slot per series and step.
        if let Val::Vector(ss) = &v {
            if ss.len().saturating_mul(g.n) > self.opts.max_samples {
                return Err(EvalError::TooManySamples("query execution"));
            }
            if self.opts.max_memory_per_query > 0 {
                self.hold(ss.iter().map(StepSeries::bytes).sum())?;
            }
        }
        Ok(v)
    }

    fn eval_inner(&self, e: &Expr, g: &Grid) -> EvalResult<Val> {
        self.check_deadline("expression evaluation")?;
        Ok(match e {
            Expr::Number(n) => Val::Scalar(vec![n.0; g.n]),
            Expr::String(s) => Val::String(s.clone()),
            Expr::Vector(vs) => Val::Vector(self.vector_selector(vs, g)?),
            Expr::Matrix(_) | Expr::Subquery(_) => Val::Matrix(self.windows(e, g)?),
            Expr::Neg(x) => match self.eval(x, g)? {
                Val::Scalar(v) => Val::Scalar(v.into_iter().map(|x| -x).collect()),
                Val::Vector(mut ss) => {
                    for s in &mut ss {
                        s.drop_name = true;
                        for v in s.vals.iter_mut().flatten() {
                            *v = -*v;
                        }
                    }
                    Val::Vector(ss)
                }
                _ => return Err(unsupported("unary minus on this type")),
            },
            Expr::Binary(b) => self.binary(b, g)?,
            Expr::Aggregate(a) => Val::Vector(self.aggregate(a, g)?),
            Expr::Call(c) => self.call(c, g)?,
            Expr::Special(f) => {
                let v = match f {
                    SpecialFn::Start => self.query.start as f64 / 1000.0,
                    SpecialFn::End => self.query_end() as f64 / 1000.0,
                    SpecialFn::Step => self.query.step as f64 / 1000.0,
                    SpecialFn::Range => (self.query_end() - self.query.start) as f64 / 1000.0,
                };
                Val::Scalar(vec![v; g.n])
            }
        })
    }

    /// Evaluates an expression that must give an instant vector or a scalar, as series
    /// (a scalar becomes the series `{}`).
    pub fn eval_vector(&self, e: &Expr, g: &Grid) -> EvalResult<Vec<StepSeries>> {
        match self.eval(e, g)? {
            Val::Vector(v) => Ok(v),
            Val::Scalar(v) => Ok(vec![StepSeries {
                labels: Labels::empty(),
                vals: v.into_iter().map(Some).collect(),
                drop_name: false,
            }]),
            _ => Err(unsupported(
                "a range vector or string where an instant vector is expected",
            )),
        }
    }

    /// Evaluates an expression that must give a scalar.
    pub fn eval_scalar(&self, e: &Expr, g: &Grid) -> EvalResult<Vec<f64>> {
        match self.eval(e, g)? {
            Val::Scalar(v) => Ok(v),
            _ => Err(unsupported("a non-scalar where a scalar is expected")),
        }
    }
}

/// An [`EvalError::Unsupported`].
pub(crate) fn unsupported(what: &str) -> EvalError {
    EvalError::Unsupported(what.to_string())
}

/// The labels without `__name__`, `__type__` and `__unit__`.
pub(crate) fn drop_metric_name(l: &Labels) -> Labels {
    if !l
        .iter()
        .any(|x| x.name == METRIC_NAME || x.name == TYPE_LABEL || x.name == UNIT_LABEL)
    {
        return l.clone();
    }
    let mut b = l.builder();
    b.del(METRIC_NAME).del(TYPE_LABEL).del(UNIT_LABEL);
    b.build()
}

/// Applies delayed name removal, then merges series that now share a label set (they
/// must not both have a value at the same step).
///
/// # Errors
/// [`EvalError::DuplicateLabelset`] when two series with equal labels overlap in time.
pub(crate) fn finish_names(series: Vec<StepSeries>) -> EvalResult<Vec<StepSeries>> {
    // Every operator keeps its output label sets distinct; only dropping names can make
    // two of them equal.
    if !series.iter().any(|s| s.drop_name) {
        return Ok(series);
    }
    let series = series
        .into_iter()
        .map(|mut s| {
            if s.drop_name {
                s.labels = drop_metric_name(&s.labels);
                s.drop_name = false;
            }
            s
        })
        .collect();
    merge_same_labels(series)
}

/// Merges series with equal label sets (and equal name-drop flags).
///
/// # Errors
/// [`EvalError::DuplicateLabelset`] when two of them have a value at the same step.
pub(crate) fn merge_same_labels(series: Vec<StepSeries>) -> EvalResult<Vec<StepSeries>> {
    let mut out: Vec<StepSeries> = Vec::with_capacity(series.len());
    let mut index: HashMap<(Labels, bool), usize> = HashMap::with_capacity(series.len());
    for s in series {
        match index.get(&(s.labels.clone(), s.drop_name)) {
            Some(&i) => {
                let t = &mut out[i];
                for (a, b) in t.vals.iter_mut().zip(s.vals) {
                    match (a.is_some(), b) {
                        (true, Some(_)) => return Err(EvalError::DuplicateLabelset),
                        (false, Some(v)) => *a = Some(v),
                        _ => {}
                    }
                }
            }
            None => {
                index.insert((s.labels.clone(), s.drop_name), out.len());
                out.push(s);
            }
        }
    }
    Ok(out)
}
