//! `info(v, {selector})`: enriches series with the data labels of info metrics
//! (`target_info` by default) that share their identifying labels (`instance`, `job`).

use std::collections::HashMap;

use gnomon_tsdb_core::model::{Labels, METRIC_NAME, MatchOp, Matcher};

use super::error::{EvalError, EvalResult};
use super::eval::{Ev, Grid, StepSeries, Val, unsupported};
use crate::parser::ast::{Call, Expr, VectorSelector};

/// The labels that tie an info series to the series it describes.
const IDENTIFYING: [&str; 2] = ["instance", "job"];

fn identity(l: &Labels) -> (String, String) {
    let get = |n: &str| l.get(n).unwrap_or("").to_string();
    (get(IDENTIFYING[0]), get(IDENTIFYING[1]))
}

/// The times at which the base expression read its samples: `@` and `offset` of the
/// selectors and subqueries on the way down, composed.
fn read_times(ev: &Ev, e: &Expr, times: Vec<i64>) -> Vec<i64> {
    match e {
        Expr::Vector(v) => ev.shift(&times, v.at.as_ref(), v.offset.as_ref()),
        Expr::Matrix(m) => ev.shift(&times, m.selector.at.as_ref(), m.selector.offset.as_ref()),
        Expr::Subquery(s) => {
            let t = ev.shift(&times, s.at.as_ref(), s.offset.as_ref());
            read_times(ev, &s.expr, t)
        }
        Expr::Call(c) => match c
            .args
            .iter()
            .find(|a| !matches!(a, Expr::Number(_) | Expr::String(_)))
        {
            Some(a) => read_times(ev, a, times),
            None => times,
        },
        Expr::Aggregate(a) => match a.expr() {
            Some(x) => read_times(ev, x, times),
            None => times,
        },
        Expr::Neg(x) => read_times(ev, x, times),
        Expr::Binary(b) => read_times(ev, &b.lhs, times),
        _ => times,
    }
}

pub(crate) fn info(ev: &Ev, c: &Call, g: &Grid) -> EvalResult<Val> {
    let base = ev.eval_vector(&c.args[0], g)?;
    let all = match c.args.get(1) {
        Some(Expr::Vector(vs)) => vs.all_matchers(),
        Some(_) => return Err(unsupported("info() with a non-selector second argument")),
        None => Vec::new(),
    };
    let (mut names, data): (Vec<Matcher>, Vec<Matcher>) =
        all.into_iter().partition(|m| m.name == METRIC_NAME);
    if names.is_empty() {
        names.push(Matcher::equal(METRIC_NAME, "target_info"));
    } else if names.iter().all(Matcher::is_negative) {
        // Only exclusions: the candidates are still the `*_info` metrics.
        names.push(Matcher::new(MatchOp::RegexMatch, METRIC_NAME, ".+_info")?);
    }
    let mut sel = VectorSelector::named("");
    sel.name = None;
    sel.matchers = names.iter().chain(&data).cloned().collect();
    // Info series are looked up at the times the base series were read.
    let eff = read_times(ev, &c.args[0], (0..g.n).map(|i| g.t(i)).collect());
    let infos = ev.selector_timestamps_at(&sel, &eff)?;
    let mut by_id: HashMap<(String, String), Vec<usize>> = HashMap::new();
    for (k, s) in infos.iter().enumerate() {
        by_id.entry(identity(&s.labels)).or_default().push(k);
    }
    let keep_unmatched = data.iter().all(|m| m.matches(""));
    let is_info = |l: &Labels| {
        let n = l.get(METRIC_NAME).unwrap_or("");
        names.iter().all(|m| m.matches(n))
    };
    let mut out: Vec<StepSeries> = Vec::new();
    let mut index: HashMap<(Labels, bool), usize> = HashMap::new();
    let mut present: Vec<(f64, usize)> = Vec::new();
    for b in &base {
        if is_info(&b.labels) {
            out.push(b.clone());
            continue;
        }
        let cands = by_id.get(&identity(&b.labels));
        for (i, v) in b.vals.iter().enumerate() {
            let Some(v) = *v else { continue };
            present.clear();
            if let Some(cs) = cands {
                present.extend(cs.iter().filter_map(|&k| infos[k].vals[i].map(|t| (t, k))));
            }
            if present.is_empty() && !keep_unmatched {
                continue;
            }
            // The latest sample of each info metric wins; different info metrics must
            // not disagree on a data label.
            present.sort_by(|a, b| b.0.total_cmp(&a.0));
            let mut seen_names: Vec<&str> = Vec::new();
            let mut added: Vec<(&str, &str)> = Vec::new();
            let mut lb = b.labels.builder();
            for &(_, k) in &present {
                let n = infos[k].labels.get(METRIC_NAME).unwrap_or("");
                if seen_names.contains(&n) {
                    continue;
                }
                seen_names.push(n);
                for l in infos[k].labels.iter() {
                    let wanted = data.is_empty() || data.iter().any(|m| m.name == l.name);
                    if l.name == METRIC_NAME || IDENTIFYING.contains(&l.name.as_str()) || !wanted {
                        continue;
                    }
                    if let Some(&(_, prev)) = added.iter().find(|a| a.0 == l.name) {
                        if prev != l.value {
                            return Err(EvalError::InvalidArgument(format!(
                                "conflicting label {:?}: values {prev:?} and {:?} from different info metrics",
                                l.name, l.value
                            )));
                        }
                        continue;
                    }
                    if lb.get(&l.name).is_some() {
                        continue;
                    }
                    added.push((&l.name, &l.value));
                    lb.set(&l.name, &l.value);
                }
            }
            let labels = lb.build();
            let o = *index
                .entry((labels.clone(), b.drop_name))
                .or_insert_with(|| {
                    out.push(StepSeries {
                        labels,
                        vals: vec![None; g.n],
                        drop_name: b.drop_name,
                    });
                    out.len() - 1
                });
            out[o].vals[i] = Some(v);
        }
    }
    Ok(Val::Vector(out))
}
