//! MetricsQL's `default`, `if` and `ifnot` operators and the `limit N` clause of
//! aggregations.
//!
//! The operators match series on their labels without the name (or the `on`/`ignoring`
//! list); a scalar on the right applies to every series on the left.

use std::collections::HashMap;

use gnomon_tsdb_core::model::{Labels, METRIC_NAME};

use crate::engine::error::EvalResult;
use crate::engine::eval::{Ev, Grid, StepSeries, Val, unsupported};
use crate::parser::ast::{BinaryExpr, BinaryOp, VectorMatching};

/// The labels two series are matched on.
fn key(l: &Labels, m: Option<&VectorMatching>) -> Labels {
    let mut b = l.builder();
    match m {
        Some(VectorMatching::On(names)) => b.retain(|x| names.contains(&x.name)),
        Some(VectorMatching::Ignoring(names)) => {
            b.retain(|x| x.name != METRIC_NAME && !names.contains(&x.name))
        }
        None => b.del(METRIC_NAME),
    };
    b.build()
}

/// The right-hand side, per step, for the left series with labels `l`.
enum Rhs {
    Scalar(Vec<f64>),
    Series(HashMap<Labels, Vec<Option<f64>>>),
}

impl Rhs {
    fn for_left(&self, l: &Labels, m: Option<&VectorMatching>) -> Option<Vec<Option<f64>>> {
        match self {
            Rhs::Scalar(v) => Some(scalar_series(v).vals),
            Rhs::Series(map) => map.get(&key(l, m)).cloned(),
        }
    }
}

impl Ev<'_> {
    /// Evaluates `a default b`, `a if b` or `a ifnot b`.
    pub(crate) fn mql_binary(&self, b: &BinaryExpr, g: &Grid) -> EvalResult<Val> {
        let m = b.modifier.matching.as_ref();
        let (left, left_scalar) = match self.eval(&b.lhs, g)? {
            Val::Scalar(v) => (vec![scalar_series(&v)], true),
            Val::Vector(v) => (v, false),
            _ => return Err(unsupported("a range vector or string operand")),
        };
        let rhs = match self.eval(&b.rhs, g)? {
            Val::Scalar(v) => Rhs::Scalar(v),
            Val::Vector(series) => {
                let mut map = HashMap::new();
                for s in series {
                    map.entry(key(&s.labels, m)).or_insert(s.vals);
                }
                Rhs::Series(map)
            }
            _ => return Err(unsupported("a range vector or string operand")),
        };
        let out = match b.op {
            BinaryOp::Default => default(left, &rhs, m),
            BinaryOp::If => filter(left, &rhs, m, true),
            _ => filter(left, &rhs, m, false),
        };
        if left_scalar && let [s] = out.as_slice() {
            return Ok(Val::Scalar(
                s.vals.iter().map(|v| v.unwrap_or(f64::NAN)).collect(),
            ));
        }
        Ok(super::window::vector(out))
    }
}

fn scalar_series(v: &[f64]) -> StepSeries {
    StepSeries {
        labels: Labels::empty(),
        vals: v.iter().map(|x| Some(*x).filter(|x| !x.is_nan())).collect(),
        drop_name: false,
    }
}

fn default(left: Vec<StepSeries>, rhs: &Rhs, m: Option<&VectorMatching>) -> Vec<StepSeries> {
    if left.is_empty() {
        return match rhs {
            Rhs::Scalar(v) => vec![scalar_series(v)],
            Rhs::Series(map) => map
                .iter()
                .map(|(l, v)| StepSeries {
                    labels: l.clone(),
                    vals: v.clone(),
                    drop_name: false,
                })
                .collect(),
        };
    }
    left.into_iter()
        .map(|mut s| {
            if let Some(r) = rhs.for_left(&s.labels, m) {
                for (a, b) in s.vals.iter_mut().zip(r) {
                    if a.is_none() {
                        *a = b;
                    }
                }
            }
            s
        })
        .collect()
}

fn filter(
    left: Vec<StepSeries>,
    rhs: &Rhs,
    m: Option<&VectorMatching>,
    keep_where_present: bool,
) -> Vec<StepSeries> {
    left.into_iter()
        .filter_map(|mut s| {
            match rhs.for_left(&s.labels, m) {
                Some(r) => {
                    for (a, b) in s.vals.iter_mut().zip(r) {
                        if b.is_some() != keep_where_present {
                            *a = None;
                        }
                    }
                }
                None if keep_where_present => return None,
                None => {}
            }
            Some(s)
        })
        .collect()
}

/// The `limit N` clause: the first `n` output series in label order.
pub(crate) fn limit(mut out: Vec<StepSeries>, n: u64) -> Vec<StepSeries> {
    out.sort_by(|a, b| a.labels.cmp(&b.labels));
    out.truncate(usize::try_from(n).unwrap_or(usize::MAX));
    out
}
