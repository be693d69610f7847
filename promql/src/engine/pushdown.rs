//! Aggregations pushed down into streamed selectors and rollups (VictoriaMetrics'
//! "incremental aggregation"): `sum`, `count`, `avg`, `min`, `max` and `group` of a
//! selector or of a rollup of a range selector fold each series into its group's state
//! as the series arrives, so the query holds groups × steps instead of series × steps.
//!
//! The folds run in the order the non-streamed aggregation visits the series (store
//! order), with the same Kahan and mean arithmetic, so results are bit-identical.

use std::collections::HashMap;

use gnomon_tsdb_core::model::{Labels, METRIC_NAME};

use super::aggregate::group_labels;
use super::error::EvalResult;
use super::eval::{Ev, Grid, StepSeries, labels_bytes};
use super::stats::{Mean, kahan_inc};
use crate::parser::ast::AggregateExpr;

/// The per-step state of one group.
enum Acc {
    /// Kahan sum and compensation.
    Sum(Vec<(f64, f64)>),
    Avg(Vec<Mean>),
    /// `true`: keep the smaller value (`min`).
    Extreme(Vec<f64>, bool),
    /// Counts (also `group`, which outputs 1 where the count is positive).
    Count(Vec<f64>),
}

/// Which fold an aggregation name stands for.
#[derive(Clone, Copy, PartialEq)]
enum Kind {
    Sum,
    Avg,
    Min,
    Max,
    Count,
    Group,
}

impl Kind {
    fn of(name: &str) -> Option<Kind> {
        Some(match name {
            "sum" => Kind::Sum,
            "avg" => Kind::Avg,
            "min" => Kind::Min,
            "max" => Kind::Max,
            "count" => Kind::Count,
            "group" => Kind::Group,
            _ => return None,
        })
    }

    fn new_acc(self, n: usize) -> Acc {
        match self {
            Kind::Sum => Acc::Sum(vec![(0.0, 0.0); n]),
            Kind::Avg => Acc::Avg((0..n).map(|_| Mean::default()).collect()),
            Kind::Min => Acc::Extreme(vec![f64::NAN; n], true),
            Kind::Max => Acc::Extreme(vec![f64::NAN; n], false),
            Kind::Count | Kind::Group => Acc::Count(vec![0.0; n]),
        }
    }

    /// Bytes of one step's state.
    fn slot_bytes(self) -> usize {
        match self {
            Kind::Sum => 16,
            Kind::Avg => std::mem::size_of::<Mean>(),
            _ => 8,
        }
    }
}

/// One group: its labels, state, which steps have a value, and the name-drop flag.
struct Group {
    labels: Labels,
    acc: Acc,
    seen: Vec<bool>,
    drop_name: bool,
}

impl Group {
    fn add(&mut self, s: &StepSeries) {
        self.drop_name |= s.drop_name;
        for (i, v) in s.vals.iter().enumerate() {
            let Some(v) = *v else { continue };
            let first = !self.seen[i];
            self.seen[i] = true;
            match &mut self.acc {
                Acc::Sum(st) => st[i] = kahan_inc(v, st[i].0, st[i].1),
                Acc::Avg(st) => st[i].add(v),
                Acc::Extreme(st, min) => {
                    let better = if *min { v < st[i] } else { v > st[i] };
                    if first || better || st[i].is_nan() {
                        st[i] = v;
                    }
                }
                Acc::Count(st) => st[i] += 1.0,
            }
        }
    }

    fn finish(self, kind: Kind) -> StepSeries {
        let seen = self.seen;
        let vals = (0..seen.len())
            .map(|i| {
                seen[i].then(|| match &self.acc {
                    Acc::Sum(st) => st[i].0 + st[i].1,
                    Acc::Avg(st) => st[i].get(),
                    Acc::Extreme(st, _) => st[i],
                    Acc::Count(_) if kind == Kind::Group => 1.0,
                    Acc::Count(st) => st[i],
                })
            })
            .collect();
        StepSeries {
            drop_name: self.labels.get(METRIC_NAME).is_some() && self.drop_name,
            labels: self.labels,
            vals,
        }
    }
}

impl Ev<'_> {
    /// Evaluates `a` by folding its streamed argument into per-group state; `Ok(None)`
    /// when the aggregation or its argument does not stream (the caller then evaluates
    /// it the ordinary way).
    pub fn aggregate_streamed(
        &self,
        a: &AggregateExpr,
        g: &Grid,
    ) -> EvalResult<Option<Vec<StepSeries>>> {
        let Some(kind) = Kind::of(a.func.name) else {
            return Ok(None);
        };
        let Some(expr) = a.expr() else {
            return Ok(None);
        };
        if a.limit.is_some() || a.param().is_some() {
            return Ok(None);
        }
        let mut index: HashMap<Labels, usize> = HashMap::new();
        let mut groups: Vec<Group> = Vec::new();
        let mut held = 0usize;
        let streamed = self.stream_vector(expr, g, &mut |s: StepSeries| {
            let key = group_labels(&s.labels, a.grouping.as_ref());
            let gi = match index.get(&key) {
                Some(&gi) => gi,
                None => {
                    let bytes = g.n * (kind.slot_bytes() + 1) + 2 * labels_bytes(&key);
                    held += bytes;
                    self.hold(bytes)?;
                    index.insert(key.clone(), groups.len());
                    groups.push(Group {
                        labels: key,
                        acc: kind.new_acc(g.n),
                        seen: vec![false; g.n],
                        drop_name: false,
                    });
                    groups.len() - 1
                }
            };
            groups[gi].add(&s);
            Ok(())
        });
        self.release(held);
        if !streamed? {
            return Ok(None);
        }
        Ok(Some(groups.into_iter().map(|gr| gr.finish(kind)).collect()))
    }
}
