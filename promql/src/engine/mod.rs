//! The PromQL evaluator: [`Engine::instant`] and [`Engine::range`] over any
//! [`Querier`], with Prometheus 3.x semantics.
//!
//! | module | what |
//! |---|---|
//! | `eval` | the step grid, per-step series, dispatch over the tree, delayed name removal |
//! | `selector` | streamed selectors (5m lookback, staleness) in bounded batches, range selectors, subqueries |
//! | `rollup` | window functions (`rate`, `*_over_time`, …) and the sliding-window driver |
//! | `modifiers` | the `anchored` and `smoothed` range modifiers |
//! | `annotations` | warnings and infos with Prometheus' texts |
//! | `binary` | operators, vector matching, set operators |
//! | `pushdown` | `sum`/`count`/`avg`/`min`/`max`/`group` folded into streamed selectors |
//! | `aggregate` | `sum`, `topk`, `quantile`, `count_values`, … |
//! | `functions` | transforms: math, labels, sorting, `absent`, `scalar`, `timestamp` |
//! | `dates` | calendar functions (`hour`, `day_of_week`, …) |
//! | `histogram` | `histogram_quantile(s)` and `histogram_fraction` on classic buckets |
//! | `info` | `info()`: data labels of info metrics joined on `instance`/`job` |
//! | `registry` | implementations keyed by the parser's function table |
//! | `stats` | Kahan sums, means, quantiles, linear regression |
//! | [`memstore`] | an in-memory [`Querier`] for tests and embedding |
//!
//! A range query evaluates every expression for all steps at once: each selector reads a
//! series' samples once and slides its window (or lookback) across the steps.
//! Only float samples are evaluated; native histograms are not supported yet.
//!
//! ```
//! use gnomon_promql::engine::{Engine, EngineOptions, Value, memstore::MemStore};
//! use gnomon_tsdb_core::model::{Labels, Sample};
//!
//! let mut store = MemStore::new();
//! let up = Labels::from_pairs(&[("__name__", "up"), ("job", "node")]);
//! for i in 0..10 {
//!     store.add(&up, Sample::new(i * 15_000, 1.0));
//! }
//! let engine = Engine::new(EngineOptions::default());
//! let expr = gnomon_promql::parse("sum(up)").unwrap();
//! match engine.instant(&store, &expr, 60_000).unwrap() {
//!     Value::Vector(v) => assert_eq!(v[0].v, 1.0),
//!     other => panic!("{other:?}"),
//! }
//! ```

mod aggregate;
mod annotations;
mod binary;
mod dates;
mod error;
mod eval;
mod functions;
mod histogram;
mod info;
pub mod memstore;
mod metricsql;
mod modifiers;
mod pushdown;
mod registry;
mod rollup;
mod selector;
mod stats;
mod value;

use std::cell::Cell;
use std::time::{Duration, Instant};

use gnomon_tsdb_core::model::{Querier, Sample};

pub use annotations::{Annotation, AnnotationKind};
pub use error::{EvalError, EvalResult};
pub use value::{Evaluation, InstantSample, RangeSeries, Value};

use crate::parser::ast::Expr;
use eval::{Ev, Grid, TIME_LIMIT, Val, drop_metric_name, finish_names};

/// Evaluator settings.
#[derive(Clone, Debug)]
pub struct EngineOptions {
    /// How far back an instant selector looks for a sample (Prometheus: 5m).
    pub lookback_delta: Duration,
    /// Most samples a query may read, and most value slots (series × steps) one
    /// intermediate result may hold.
    pub max_samples: usize,
    /// Most series one selector may return.
    pub max_series: usize,
    /// Most steps a range query may have (VictoriaMetrics' `-search.maxPointsPerTimeseries`
    /// default, 30k; Prometheus' API allows 11k).
    pub max_points_per_series: usize,
    /// Longest a query may run (`None`: no limit).
    pub timeout: Option<Duration>,
    /// Resolution of subqueries written without one (`x[5m:]`): Prometheus uses the
    /// global evaluation interval, 1m by default.
    pub default_subquery_step: Duration,
    /// Most bytes of intermediate state one query may hold (0: no limit), as
    /// VictoriaMetrics' `-search.maxMemoryPerQuery`: the value slots and labels of every
    /// intermediate instant vector, the samples of the batch of series being evaluated,
    /// and the per-group state of streamed aggregations. Exceeding it fails the query with
    /// [`EvalError::TooMuchMemory`].
    pub max_memory_per_query: usize,
}

impl Default for EngineOptions {
    fn default() -> Self {
        EngineOptions {
            lookback_delta: Duration::from_secs(300),
            max_samples: 50_000_000,
            max_series: 1_000_000,
            max_points_per_series: 30_000,
            timeout: Some(Duration::from_secs(120)),
            default_subquery_step: Duration::from_secs(60),
            max_memory_per_query: 0,
        }
    }
}

/// The query engine. Cheap to share; holds no per-query state.
#[derive(Clone, Debug, Default)]
pub struct Engine {
    opts: EngineOptions,
}

impl Engine {
    /// An engine with these options.
    pub fn new(opts: EngineOptions) -> Engine {
        Engine { opts }
    }

    /// The engine's options.
    pub fn options(&self) -> &EngineOptions {
        &self.opts
    }

    fn ev<'a>(&'a self, q: &'a dyn Querier, query: Grid) -> Ev<'a> {
        Ev {
            q,
            opts: &self.opts,
            query,
            deadline: self.opts.timeout.map(|t| Instant::now() + t),
            samples: Cell::new(0),
            mem: Cell::new(0),
            range_query: query.n > 1,
            notes: Default::default(),
        }
    }

    /// Evaluates `expr` at time `t` (ms).
    ///
    /// # Errors
    /// [`EvalError`]: matching errors, limits, timeouts, storage failures, and
    /// [`EvalError::Unsupported`] for what the evaluator does not do yet.
    pub fn instant(&self, q: &dyn Querier, expr: &Expr, t: i64) -> EvalResult<Value> {
        self.instant_annotated(q, expr, t).map(|e| e.value)
    }

    /// Evaluates `expr` at `start, start + step, …, end` (ms) and returns a matrix sorted
    /// by labels (a scalar expression gives the series `{}`).
    ///
    /// # Errors
    /// As [`Engine::instant`]; [`EvalError::InvalidArgument`] for a non-positive step, too
    /// many steps, or an expression that is not a scalar or an instant vector.
    pub fn range(
        &self,
        q: &dyn Querier,
        expr: &Expr,
        start: i64,
        end: i64,
        step: i64,
    ) -> EvalResult<Value> {
        self.range_annotated(q, expr, start, end, step)
            .map(|e| e.value)
    }

    /// [`Engine::instant`] with the warnings and infos of the evaluation.
    ///
    /// # Errors
    /// As [`Engine::instant`].
    pub fn instant_annotated(
        &self,
        q: &dyn Querier,
        expr: &Expr,
        t: i64,
    ) -> EvalResult<Evaluation> {
        let t = t.clamp(-TIME_LIMIT, TIME_LIMIT);
        let g = Grid::new(t, t, 1);
        // `step()` is 0 in an instant query.
        let ev = self.ev(q, Grid { step: 0, ..g });
        let value = match ev.eval(expr, &g)? {
            Val::Scalar(v) => Value::Scalar { t, v: v[0] },
            Val::String(s) => Value::String { t, v: s },
            Val::Vector(v) => Value::Vector(
                finish_names(v)?
                    .into_iter()
                    .filter_map(|s| {
                        s.vals[0].map(|v| InstantSample {
                            labels: s.labels,
                            t,
                            v,
                        })
                    })
                    .collect(),
            ),
            Val::Matrix(w) => {
                let mut out = Vec::with_capacity(w.series.len());
                let mut windows: Vec<Vec<Sample>> = vec![Vec::new(); w.series.len()];
                w.slide(|si, _, s| windows[si] = s.to_vec());
                for (s, samples) in w.series.iter().zip(windows) {
                    if samples.is_empty() {
                        continue;
                    }
                    let labels = if s.drop_name {
                        drop_metric_name(&s.labels)
                    } else {
                        s.labels.clone()
                    };
                    out.push(RangeSeries { labels, samples });
                }
                Value::Matrix(out)
            }
        };
        Ok(Evaluation {
            value,
            annotations: ev.notes.take(),
        })
    }

    /// [`Engine::range`] with the warnings and infos of the evaluation.
    ///
    /// # Errors
    /// As [`Engine::range`].
    pub fn range_annotated(
        &self,
        q: &dyn Querier,
        expr: &Expr,
        start: i64,
        end: i64,
        step: i64,
    ) -> EvalResult<Evaluation> {
        if step <= 0 {
            return Err(EvalError::InvalidArgument(
                "zero or negative query resolution step widths are not accepted".into(),
            ));
        }
        let (start, end) = (
            start.clamp(-TIME_LIMIT, TIME_LIMIT),
            end.clamp(-TIME_LIMIT, TIME_LIMIT),
        );
        let g = Grid::new(start, end, step);
        if g.n > self.opts.max_points_per_series {
            return Err(EvalError::InvalidArgument(format!(
                "exceeded maximum resolution of {} points per timeseries. Try decreasing the query resolution (?step=XX)",
                self.opts.max_points_per_series
            )));
        }
        let ev = self.ev(q, g);
        let series = match ev.eval(expr, &g)? {
            Val::Vector(v) => v,
            Val::Scalar(v) => vec![eval::StepSeries {
                labels: Default::default(),
                vals: v.into_iter().map(Some).collect(),
                drop_name: false,
            }],
            Val::Matrix(_) | Val::String(_) => {
                return Err(EvalError::InvalidArgument(format!(
                    "invalid expression type {:?} for range query, must be Scalar or instant Vector",
                    crate::parser::typecheck::type_of(expr).name()
                )));
            }
        };
        let mut out: Vec<RangeSeries> = finish_names(series)?
            .into_iter()
            .filter_map(|s| {
                let samples: Vec<Sample> = s
                    .vals
                    .iter()
                    .enumerate()
                    .filter_map(|(i, v)| v.map(|v| Sample::new(g.t(i), v)))
                    .collect();
                (!samples.is_empty()).then_some(RangeSeries {
                    labels: s.labels,
                    samples,
                })
            })
            .collect();
        out.sort_by(|a, b| a.labels.cmp(&b.labels));
        Ok(Evaluation {
            value: Value::Matrix(out),
            annotations: ev.notes.take(),
        })
    }
}

#[cfg(test)]
mod pushdown_tests;
#[cfg(test)]
mod tests;
