//! Aggregations: `sum`, `avg`, `min`, `max`, `count`, `group`, `stddev`, `stdvar`,
//! `quantile`, `topk`, `bottomk`, `limitk`, `count_values`.

use std::cmp::Ordering;
use std::collections::HashMap;

use gnomon_tsdb_core::model::{Labels, METRIC_NAME};

use super::annotations::check_quantile;
use super::error::{EvalError, EvalResult};
use super::eval::{Ev, Grid, StepSeries, TYPE_LABEL, UNIT_LABEL, unsupported};
use super::stats::{Mean, kahan_sum, quantile, variance};
use crate::parser::ast::{AggregateExpr, Expr, Grouping};

/// Series partitioned into groups by the grouping labels.
struct Groups {
    labels: Vec<Labels>,
    members: Vec<Vec<usize>>,
}

pub(crate) fn group_labels(l: &Labels, g: Option<&Grouping>) -> Labels {
    let mut b = l.builder();
    match g {
        Some(Grouping::By(names)) => b.retain(|x| names.contains(&x.name)),
        Some(Grouping::Without(names)) => b.retain(|x| {
            x.name != METRIC_NAME
                && x.name != TYPE_LABEL
                && x.name != UNIT_LABEL
                && !names.contains(&x.name)
        }),
        None => return Labels::empty(),
    };
    b.build()
}

fn partition(input: &[StepSeries], g: Option<&Grouping>) -> Groups {
    let mut index: HashMap<Labels, usize> = HashMap::new();
    let mut gr = Groups {
        labels: Vec::new(),
        members: Vec::new(),
    };
    for (k, s) in input.iter().enumerate() {
        let key = group_labels(&s.labels, g);
        let id = *index.entry(key.clone()).or_insert_with(|| {
            gr.labels.push(key);
            gr.members.push(Vec::new());
            gr.labels.len() - 1
        });
        gr.members[id].push(k);
    }
    gr
}

impl Ev<'_> {
    /// Evaluates an aggregation.
    pub fn aggregate(&self, a: &AggregateExpr, g: &Grid) -> EvalResult<Vec<StepSeries>> {
        let Some(expr) = a.expr() else {
            return Ok(Vec::new());
        };
        if let Some(out) = self.aggregate_streamed(a, g)? {
            return Ok(out);
        }
        let name = a.func.name;
        if let Some(n) = a.limit {
            let all = AggregateExpr {
                limit: None,
                ..a.clone()
            };
            return Ok(super::metricsql::ops::limit(self.aggregate(&all, g)?, n));
        }
        if a.func.metricsql {
            return self.mql_aggregate(a, g);
        }
        let param: Option<Vec<f64>> = match a.param() {
            Some(Expr::String(_)) | None => None,
            Some(p) => Some(self.eval_scalar(p, g)?),
        };
        if name == "quantile"
            && let (Some(q), Some(e)) = (param.as_deref(), a.param())
        {
            check_quantile(&self.notes, q, e);
        }
        let input = self.eval_vector(expr, g)?;
        let groups = partition(&input, a.grouping.as_ref());
        match name {
            "topk" | "bottomk" | "limitk" => {
                k_select(name, &input, &groups, param.as_deref().unwrap_or(&[]), g.n)
            }
            "limit_ratio" => Ok(limit_ratio(input, param.as_deref().unwrap_or(&[]))),
            "count_values" => {
                let Some(Expr::String(label)) = a.param() else {
                    return Err(unsupported("count_values without a string label"));
                };
                count_values(label, &input, &groups, g.n)
            }
            _ => {
                let fold = fold_fn(name)?;
                Ok(fold_groups(&input, &groups, fold, param.as_deref(), g.n))
            }
        }
    }
}

type Fold = fn(&mut Vec<f64>, f64) -> f64;

fn fold_fn(name: &str) -> EvalResult<Fold> {
    Ok(match name {
        "sum" => |v, _| kahan_sum(v.iter().copied()),
        "avg" => |v, _| {
            let mut m = Mean::default();
            v.iter().for_each(|&x| m.add(x));
            m.get()
        },
        "min" => |v, _| extreme(v, |a, b| a < b),
        "max" => |v, _| extreme(v, |a, b| a > b),
        "count" => |v, _| v.len() as f64,
        "group" => |_, _| 1.0,
        "stdvar" => |v, _| variance(v.iter().copied()),
        "stddev" => |v, _| variance(v.iter().copied()).sqrt(),
        "quantile" => |v, q| quantile(q, v),
        other => return Err(unsupported(&format!("aggregation {other}"))),
    })
}

fn extreme(v: &[f64], better: fn(f64, f64) -> bool) -> f64 {
    let mut best = v[0];
    for &x in &v[1..] {
        if better(x, best) || best.is_nan() {
            best = x;
        }
    }
    best
}

fn fold_groups(
    input: &[StepSeries],
    groups: &Groups,
    fold: Fold,
    param: Option<&[f64]>,
    n: usize,
) -> Vec<StepSeries> {
    let mut out = Vec::with_capacity(groups.labels.len());
    let mut buf = Vec::new();
    for (labels, mem) in groups.labels.iter().zip(&groups.members) {
        let drop_name =
            labels.get(METRIC_NAME).is_some() && mem.iter().any(|&k| input[k].drop_name);
        let mut vals = vec![None; n];
        for (i, slot) in vals.iter_mut().enumerate() {
            buf.clear();
            buf.extend(mem.iter().filter_map(|&k| input[k].vals[i]));
            if !buf.is_empty() {
                *slot = Some(fold(&mut buf, param.map_or(f64::NAN, |p| p[i])));
            }
        }
        out.push(StepSeries {
            labels: labels.clone(),
            vals,
            drop_name,
        });
    }
    out
}

fn k_select(
    name: &str,
    input: &[StepSeries],
    groups: &Groups,
    k: &[f64],
    n: usize,
) -> EvalResult<Vec<StepSeries>> {
    let mut keep: Vec<Vec<Option<f64>>> = vec![vec![None; n]; input.len()];
    let mut rank: Vec<(usize, usize)> = Vec::new();
    let mut cand: Vec<(usize, f64)> = Vec::new();
    #[allow(clippy::needless_range_loop)] // `i` indexes every series' values
    for i in 0..n {
        let kf = k.get(i).copied().unwrap_or(0.0);
        if kf.is_nan() {
            return Err(EvalError::InvalidArgument(format!(
                "Parameter value is NaN for {name}"
            )));
        }
        let kk = if kf >= 9.0e18 {
            usize::MAX
        } else {
            kf.max(0.0) as usize
        };
        for (gi, mem) in groups.members.iter().enumerate() {
            cand.clear();
            cand.extend(mem.iter().filter_map(|&m| input[m].vals[i].map(|v| (m, v))));
            match name {
                "topk" => cand.sort_by(|a, b| by_value(b.1, a.1)),
                "bottomk" => cand.sort_by(|a, b| by_value(a.1, b.1)),
                _ => {}
            }
            for (r, &(m, v)) in cand.iter().take(kk).enumerate() {
                keep[m][i] = Some(v);
                if n == 1 {
                    rank.push((gi * input.len() + r, m));
                }
            }
        }
    }
    let mut order: Vec<usize> = if n == 1 {
        rank.sort();
        rank.into_iter().map(|x| x.1).collect()
    } else {
        (0..input.len()).collect()
    };
    order.retain(|&m| keep[m].iter().any(Option::is_some));
    Ok(order
        .into_iter()
        .map(|m| StepSeries {
            labels: input[m].labels.clone(),
            vals: std::mem::take(&mut keep[m]),
            drop_name: input[m].drop_name,
        })
        .collect())
}

/// `limit_ratio(r, v)`: a stable pseudo-random share `r` of the series (by label hash);
/// `-r` keeps exactly the complement of `r`. The ratio is clamped to `[-1, 1]`.
fn limit_ratio(input: Vec<StepSeries>, r: &[f64]) -> Vec<StepSeries> {
    let mut out = Vec::with_capacity(input.len());
    for mut s in input {
        let offset = s.labels.hash64() as f64 / u64::MAX as f64;
        for (i, v) in s.vals.iter_mut().enumerate() {
            let ratio = r.get(i).copied().unwrap_or(f64::NAN).clamp(-1.0, 1.0);
            let keep = (ratio >= 0.0 && offset < ratio) || (ratio < 0.0 && offset >= 1.0 + ratio);
            if !keep {
                *v = None;
            }
        }
        if s.vals.iter().any(Option::is_some) {
            out.push(s);
        }
    }
    out
}

/// Ascending order with NaN after every number.
fn by_value(a: f64, b: f64) -> Ordering {
    match (a.is_nan(), b.is_nan()) {
        (true, true) => Ordering::Equal,
        (true, false) => Ordering::Greater,
        (false, true) => Ordering::Less,
        _ => a.partial_cmp(&b).unwrap_or(Ordering::Equal),
    }
}

/// Go's `strconv.FormatFloat(v, 'f', -1, 64)`.
pub(crate) fn format_float(v: f64) -> String {
    if v.is_nan() {
        "NaN".into()
    } else if v.is_infinite() {
        if v > 0.0 {
            "+Inf".into()
        } else {
            "-Inf".into()
        }
    } else {
        format!("{v}")
    }
}

/// True for a valid Prometheus label name (UTF-8 names are valid in Prometheus 3, but
/// must not be empty).
pub(crate) fn valid_label_name(s: &str) -> bool {
    !s.is_empty()
}

fn count_values(
    label: &str,
    input: &[StepSeries],
    groups: &Groups,
    n: usize,
) -> EvalResult<Vec<StepSeries>> {
    if !valid_label_name(label) {
        return Err(EvalError::InvalidLabelName(label.to_string()));
    }
    let mut out: Vec<StepSeries> = Vec::new();
    let mut index: HashMap<Labels, usize> = HashMap::new();
    for (labels, mem) in groups.labels.iter().zip(&groups.members) {
        for i in 0..n {
            for &m in mem {
                let Some(v) = input[m].vals[i] else { continue };
                let mut b = labels.builder();
                b.set(label, &format_float(v));
                let l = b.build();
                let o = *index.entry(l.clone()).or_insert_with(|| {
                    out.push(StepSeries {
                        labels: l,
                        vals: vec![None; n],
                        drop_name: false,
                    });
                    out.len() - 1
                });
                let slot = &mut out[o].vals[i];
                *slot = Some(slot.unwrap_or(0.0) + 1.0);
            }
        }
    }
    Ok(out)
}
