//! MetricsQL aggregations: per-step folds (`median`, `mode`, `geomean`, `mad`, `sum2`,
//! `distinct`, `histogram`, `quantiles`), per-series results (`share`, `zscore`, `any`),
//! and selections of whole series (`outliersk`, `outliers_mad`, `outliers_iqr`,
//! `topk_*`, `bottomk_*`).

use std::collections::HashMap;

use gnomon_tsdb_core::model::{Labels, METRIC_NAME};

use super::rollups::{mean_stddev, mode, value_counts};
use super::series::mad;
use super::vmrange::vmrange;
use crate::engine::aggregate::format_float;
use crate::engine::error::{EvalError, EvalResult};
use crate::engine::eval::{Ev, Grid, StepSeries, unsupported};
use crate::engine::stats::quantile;
use crate::parser::ast::{AggregateExpr, Expr, Grouping};

/// Input series split into groups.
struct Groups {
    labels: Vec<Labels>,
    members: Vec<Vec<usize>>,
}

fn group_key(l: &Labels, g: Option<&Grouping>) -> Labels {
    let mut b = l.builder();
    match g {
        Some(Grouping::By(n)) => b.retain(|x| n.contains(&x.name)),
        Some(Grouping::Without(n)) => b.retain(|x| x.name != METRIC_NAME && !n.contains(&x.name)),
        None => return Labels::empty(),
    };
    b.build()
}

fn groups(input: &[StepSeries], g: Option<&Grouping>) -> Groups {
    let mut index: HashMap<Labels, usize> = HashMap::new();
    let mut out = Groups {
        labels: Vec::new(),
        members: Vec::new(),
    };
    for (k, s) in input.iter().enumerate() {
        let key = group_key(&s.labels, g);
        let id = *index.entry(key.clone()).or_insert_with(|| {
            out.labels.push(key);
            out.members.push(Vec::new());
            out.labels.len() - 1
        });
        out.members[id].push(k);
    }
    out
}

/// A per-step fold over the values of a group (NaN: no value).
type Fold = fn(&mut Vec<f64>, f64) -> f64;

fn fold_fn(name: &str) -> Option<Fold> {
    Some(match name {
        "median" => |v, _| quantile(0.5, v),
        "mode" => |v, _| mode(f64::NAN, v),
        "geomean" => |v, _| v.iter().product::<f64>().powf(1.0 / v.len() as f64),
        "mad" => |v, _| mad(v),
        "sum2" => |v, _| v.iter().map(|x| x * x).sum(),
        "distinct" => |v, _| value_counts(v.iter().copied()).len() as f64,
        _ => return None,
    })
}

impl Ev<'_> {
    /// Evaluates a MetricsQL-only aggregation.
    ///
    /// # Errors
    /// Evaluation errors of the arguments; [`EvalError::InvalidArgument`] for a bad
    /// parameter.
    pub(crate) fn mql_aggregate(&self, a: &AggregateExpr, g: &Grid) -> EvalResult<Vec<StepSeries>> {
        let name = a.func.name;
        // The aggregated expression: the last argument that is not a string
        // (`topk_max(k, q, "other=x")`, `quantiles("phi", 0.1, 0.9, q)`).
        let Some(expr) = a.args.iter().rev().find(|e| !matches!(e, Expr::String(_))) else {
            return Ok(Vec::new());
        };
        if g.n == 0 {
            return Ok(Vec::new());
        }
        let input = self.eval_vector(expr, g)?;
        let gr = groups(&input, a.grouping.as_ref());
        if let Some(f) = fold_fn(name) {
            return Ok(fold(&input, &gr, g.n, |v| f(v, 0.0)));
        }
        let scalar = |i: usize| -> EvalResult<Vec<f64>> {
            match a.args.get(i) {
                Some(e) => self.eval_scalar(e, g),
                None => Err(EvalError::InvalidArgument(format!(
                    "{name}: missing parameter"
                ))),
            }
        };
        match name {
            "any" => Ok(gr.members.iter().map(|m| input[m[0]].clone()).collect()),
            "share" => Ok(per_series(input, &gr, g.n, |v, own| {
                let sum: f64 = v.iter().sum();
                own / sum
            })),
            "zscore" => Ok(per_series(input, &gr, g.n, |v, own| {
                let (m, sd, _) = mean_stddev(v.iter().copied());
                (own - m) / sd
            })),
            // VM returns the buckets as cumulative `le` buckets (ready for heatmaps).
            "histogram" => Ok(super::transforms::prometheus_le(histogram(
                &input, &gr, g.n,
            ))),
            "quantiles" => {
                let label = match a.args.first() {
                    Some(Expr::String(s)) => s.clone(),
                    _ => return Err(unsupported("quantiles without a label name")),
                };
                let mut phis = Vec::new();
                for i in 1..a.args.len() - 1 {
                    phis.push(scalar(i)?);
                }
                Ok(quantiles(&input, &gr, g.n, &label, &phis))
            }
            "outliers_mad" => {
                let tol = scalar(0)?;
                Ok(outliers(input, &gr, g.n, |v, i| {
                    let m = quantile(0.5, v);
                    let d = tol[i] * mad(v);
                    (m - d, m + d)
                }))
            }
            "outliers_iqr" => Ok(outliers(input, &gr, g.n, |v, _| {
                let (q25, q75) = (quantile(0.25, v), quantile(0.75, v));
                let d = 1.5 * (q75 - q25);
                (q25 - d, q75 + d)
            })),
            "outliersk" => {
                let k = scalar(0)?;
                Ok(outliersk(
                    input,
                    &gr,
                    g.n,
                    k.first().copied().unwrap_or(0.0),
                ))
            }
            _ => {
                if let Some((stat, desc)) = ranking(name) {
                    let k = scalar(0)?;
                    let other = match a.args.get(2) {
                        Some(Expr::String(s)) if a.args.len() == 3 => Some(s.as_str()),
                        _ => None,
                    };
                    let k = k.first().copied().unwrap_or(f64::NAN);
                    return rank_k(input, &gr, g.n, k, stat, desc, other);
                }
                Err(unsupported(&format!("aggregation {name}")))
            }
        }
    }
}

fn fold(
    input: &[StepSeries],
    gr: &Groups,
    n: usize,
    f: impl Fn(&mut Vec<f64>) -> f64,
) -> Vec<StepSeries> {
    let mut buf = Vec::new();
    let mut out = Vec::new();
    for (labels, mem) in gr.labels.iter().zip(&gr.members) {
        let vals = (0..n)
            .map(|i| {
                buf.clear();
                buf.extend(mem.iter().filter_map(|&k| input[k].vals[i]));
                if buf.is_empty() {
                    return None;
                }
                Some(f(&mut buf)).filter(|x| !x.is_nan())
            })
            .collect();
        out.push(StepSeries {
            labels: labels.clone(),
            vals,
            drop_name: false,
        });
    }
    super::window::nonempty(out)
}

/// Every input series keeps its labels; its value becomes `f(group values, own value)`.
fn per_series(
    mut input: Vec<StepSeries>,
    gr: &Groups,
    n: usize,
    f: impl Fn(&[f64], f64) -> f64,
) -> Vec<StepSeries> {
    let mut buf = Vec::new();
    for mem in &gr.members {
        for i in 0..n {
            buf.clear();
            buf.extend(mem.iter().filter_map(|&k| input[k].vals[i]));
            let new: Vec<Option<f64>> = mem
                .iter()
                .map(|&k| input[k].vals[i].map(|v| f(&buf, v)).filter(|x| !x.is_nan()))
                .collect();
            for (&k, v) in mem.iter().zip(new) {
                input[k].vals[i] = v;
            }
        }
    }
    for s in &mut input {
        s.drop_name = true;
    }
    super::window::nonempty(input)
}

fn histogram(input: &[StepSeries], gr: &Groups, n: usize) -> Vec<StepSeries> {
    let mut out = Vec::new();
    for (labels, mem) in gr.labels.iter().zip(&gr.members) {
        let mut index: HashMap<String, usize> = HashMap::new();
        let start = out.len();
        for i in 0..n {
            for &k in mem {
                let Some(r) = input[k].vals[i].and_then(vmrange) else {
                    continue;
                };
                let o = *index.entry(r.clone()).or_insert_with(|| {
                    let mut b = labels.builder();
                    b.set("vmrange", &r);
                    out.push(StepSeries {
                        labels: b.build(),
                        vals: vec![None; n],
                        drop_name: false,
                    });
                    out.len() - 1 - start
                });
                let slot = &mut out[start + o].vals[i];
                *slot = Some(slot.unwrap_or(0.0) + 1.0);
            }
        }
    }
    out
}

fn quantiles(
    input: &[StepSeries],
    gr: &Groups,
    n: usize,
    label: &str,
    phis: &[Vec<f64>],
) -> Vec<StepSeries> {
    let mut out = Vec::new();
    for phi in phis {
        let Some(&phi) = phi.first() else { continue };
        let q = fold(input, gr, n, |v| quantile(phi, v));
        for mut s in q {
            let mut b = s.labels.builder();
            b.set(label, &format_float(phi));
            s.labels = b.build();
            out.push(s);
        }
    }
    out
}

/// The series of each group with a value outside the per-step `bounds` of the group.
fn outliers(
    input: Vec<StepSeries>,
    gr: &Groups,
    n: usize,
    bounds: impl Fn(&mut Vec<f64>, usize) -> (f64, f64),
) -> Vec<StepSeries> {
    let mut keep = vec![false; input.len()];
    let mut buf = Vec::new();
    for mem in &gr.members {
        for i in 0..n {
            buf.clear();
            buf.extend(mem.iter().filter_map(|&k| input[k].vals[i]));
            if buf.is_empty() {
                continue;
            }
            let (lo, hi) = bounds(&mut buf, i);
            for &k in mem {
                if input[k].vals[i].is_some_and(|v| v < lo || v > hi) {
                    keep[k] = true;
                }
            }
        }
    }
    input
        .into_iter()
        .zip(keep)
        .filter_map(|(s, k)| k.then_some(s))
        .collect()
}

/// `outliersk(k, q)`: per group, the `k` series farthest (sum of squared differences)
/// from the group's per-step median.
fn outliersk(input: Vec<StepSeries>, gr: &Groups, n: usize, k: f64) -> Vec<StepSeries> {
    let mut keep = vec![false; input.len()];
    let mut buf = Vec::new();
    for mem in &gr.members {
        let medians: Vec<Option<f64>> = (0..n)
            .map(|i| {
                buf.clear();
                buf.extend(mem.iter().filter_map(|&m| input[m].vals[i]));
                (!buf.is_empty()).then(|| quantile(0.5, &mut buf))
            })
            .collect();
        let mut scored: Vec<(f64, usize)> = mem
            .iter()
            .map(|&m| {
                let d: f64 = input[m]
                    .vals
                    .iter()
                    .zip(&medians)
                    .filter_map(|(v, md)| Some((v.as_ref()? - md.as_ref()?).powi(2)))
                    .sum();
                (d, m)
            })
            .collect();
        scored.sort_by(|a, b| b.0.total_cmp(&a.0));
        for (_, m) in scored.into_iter().take(k.max(0.0) as usize) {
            keep[m] = true;
        }
    }
    input
        .into_iter()
        .zip(keep)
        .filter_map(|(s, k)| k.then_some(s))
        .collect()
}

/// How `topk_*`/`bottomk_*` score a series over the whole range.
type Stat = fn(&[f64]) -> f64;

fn ranking(name: &str) -> Option<(Stat, bool)> {
    let (rest, desc) = match (name.strip_prefix("topk_"), name.strip_prefix("bottomk_")) {
        (Some(r), _) => (r, true),
        (_, Some(r)) => (r, false),
        _ => return None,
    };
    let f: Stat = match rest {
        "avg" => |v| mean_stddev(v.iter().copied()).0,
        "max" => |v| v.iter().copied().fold(f64::NEG_INFINITY, f64::max),
        "min" => |v| v.iter().copied().fold(f64::INFINITY, f64::min),
        "last" => |v| v[v.len() - 1],
        "median" => |v| quantile(0.5, &mut v.to_vec()),
        _ => return None,
    };
    Some((f, desc))
}

fn rank_k(
    input: Vec<StepSeries>,
    gr: &Groups,
    n: usize,
    k: f64,
    stat: Stat,
    desc: bool,
    other: Option<&str>,
) -> EvalResult<Vec<StepSeries>> {
    if k.is_nan() {
        return Err(EvalError::InvalidArgument(
            "the k parameter is NaN".to_string(),
        ));
    }
    let k = k.max(0.0).min(usize::MAX as f64) as usize;
    let mut out = Vec::new();
    for (labels, mem) in gr.labels.iter().zip(&gr.members) {
        let mut scored: Vec<(f64, usize)> = mem
            .iter()
            .map(|&m| {
                let v: Vec<f64> = input[m].vals.iter().flatten().copied().collect();
                (if v.is_empty() { f64::NAN } else { stat(&v) }, m)
            })
            .collect();
        scored.sort_by(|a, b| match (a.0.is_nan(), b.0.is_nan()) {
            (true, false) => std::cmp::Ordering::Greater,
            (false, true) => std::cmp::Ordering::Less,
            _ if desc => b.0.total_cmp(&a.0),
            _ => a.0.total_cmp(&b.0),
        });
        for &(_, m) in scored.iter().take(k) {
            out.push(input[m].clone());
        }
        if let Some(o) = other
            && scored.len() > k
        {
            let (name, value) = o.split_once('=').unwrap_or((o, ""));
            let mut b = labels.builder();
            b.set(name, value.trim_matches('"'));
            let mut vals = vec![None; n];
            for &(_, m) in &scored[k..] {
                for (a, v) in vals.iter_mut().zip(&input[m].vals) {
                    if let Some(v) = v {
                        *a = Some(a.unwrap_or(0.0) + v);
                    }
                }
            }
            out.push(StepSeries {
                labels: b.build(),
                vals,
                drop_name: false,
            });
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s(l: &[(&str, &str)], v: &[Option<f64>]) -> StepSeries {
        StepSeries {
            labels: Labels::from_pairs(l),
            vals: v.to_vec(),
            drop_name: false,
        }
    }

    #[test]
    fn topk_max_ranks_whole_series() {
        let input = vec![
            s(&[("i", "a")], &[Some(1.0), Some(9.0)]),
            s(&[("i", "b")], &[Some(5.0), Some(5.0)]),
            s(&[("i", "c")], &[Some(2.0), None]),
        ];
        let gr = groups(&input, None);
        let (stat, desc) = ranking("topk_max").unwrap();
        let out = rank_k(input, &gr, 2, 1.0, stat, desc, Some("i=rest")).unwrap();
        assert_eq!(out[0].labels.get("i"), Some("a"));
        assert_eq!(out[1].labels.get("i"), Some("rest"));
        assert_eq!(out[1].vals, vec![Some(7.0), Some(5.0)]);
    }

    #[test]
    fn share_and_outliers() {
        let input = vec![
            s(&[("i", "a")], &[Some(1.0)]),
            s(&[("i", "b")], &[Some(3.0)]),
        ];
        let gr = groups(&input, None);
        let out = per_series(input.clone(), &gr, 1, |v, own| own / v.iter().sum::<f64>());
        assert_eq!(out[0].vals, vec![Some(0.25)]);
        assert_eq!(out[1].vals, vec![Some(0.75)]);
        let three = vec![
            s(&[("i", "a")], &[Some(1.0)]),
            s(&[("i", "b")], &[Some(1.1)]),
            s(&[("i", "c")], &[Some(50.0)]),
        ];
        let gr = groups(&three, None);
        let out = outliersk(three, &gr, 1, 1.0);
        assert_eq!(out.len(), 1);
        assert_eq!(out[0].labels.get("i"), Some("c"));
    }
}
