//! Binary operators: scalar/scalar, vector/scalar, vector/vector with `on`/`ignoring`,
//! `group_left`/`group_right`, `bool`, and the set operators.
//!
//! Series labels are fixed over the steps, so signatures and candidate matches are
//! computed once; the steps then only look at which series have a value.

use std::collections::HashMap;

use gnomon_tsdb_core::model::{Labels, METRIC_NAME};

use super::error::{EvalError, EvalResult};
use super::eval::{Ev, Grid, StepSeries, Val, unsupported};
use crate::parser::ast::{BinaryExpr, BinaryOp, Group, VectorMatching};

/// `op(l, r)`: the value and whether a comparison keeps the sample.
pub(crate) fn apply(op: BinaryOp, l: f64, r: f64) -> (f64, bool) {
    use BinaryOp::*;
    match op {
        Add => (l + r, true),
        Sub => (l - r, true),
        Mul => (l * r, true),
        Div => (l / r, true),
        Mod => (l % r, true),
        Pow => (l.powf(r), true),
        Atan2 => (l.atan2(r), true),
        Eql => (l, l == r),
        Neq => (l, l != r),
        Lss => (l, l < r),
        Gtr => (l, l > r),
        Lte => (l, l <= r),
        Gte => (l, l >= r),
        _ => (f64::NAN, false),
    }
}

/// Arithmetic drops the metric name.
fn drops_name(op: BinaryOp) -> bool {
    use BinaryOp::*;
    matches!(op, Add | Sub | Mul | Div | Mod | Pow | Atan2)
}

/// The matching signature of a label set.
fn signature(l: &Labels, m: Option<&VectorMatching>) -> Labels {
    match m {
        Some(VectorMatching::On(names)) => {
            let mut b = l.builder();
            b.retain(|x| names.contains(&x.name));
            b.build()
        }
        Some(VectorMatching::Ignoring(names)) => {
            let mut b = l.builder();
            b.retain(|x| x.name != METRIC_NAME && !names.contains(&x.name));
            b.build()
        }
        None => {
            let mut b = l.builder();
            b.del(METRIC_NAME);
            b.build()
        }
    }
}

/// Assigns a dense id to each distinct signature.
fn sig_ids(
    series: &[StepSeries],
    m: Option<&VectorMatching>,
    ids: &mut HashMap<Labels, usize>,
) -> Vec<usize> {
    series
        .iter()
        .map(|s| {
            let sig = signature(&s.labels, m);
            let n = ids.len();
            *ids.entry(sig).or_insert(n)
        })
        .collect()
}

fn present_per_step(series: &[StepSeries], n: usize) -> Vec<bool> {
    let mut p = vec![false; n];
    for s in series {
        for (i, v) in s.vals.iter().enumerate() {
            p[i] |= v.is_some();
        }
    }
    p
}

impl Ev<'_> {
    /// Evaluates `lhs op rhs`.
    pub fn binary(&self, b: &BinaryExpr, g: &Grid) -> EvalResult<Val> {
        if b.op.is_metricsql() {
            return self.mql_binary(b, g);
        }
        let l = self.eval(&b.lhs, g)?;
        let r = self.eval(&b.rhs, g)?;
        let rb = b.modifier.return_bool;
        Ok(match (l, r) {
            (Val::Scalar(a), Val::Scalar(c)) => Val::Scalar(
                a.iter()
                    .zip(&c)
                    .map(|(&x, &y)| {
                        let (v, keep) = apply(b.op, x, y);
                        if b.op.is_comparison() {
                            if keep { 1.0 } else { 0.0 }
                        } else {
                            v
                        }
                    })
                    .collect(),
            ),
            (Val::Vector(v), Val::Scalar(s)) => Val::Vector(vector_scalar(b.op, v, &s, false, rb)),
            (Val::Scalar(s), Val::Vector(v)) => Val::Vector(vector_scalar(b.op, v, &s, true, rb)),
            (Val::Vector(l), Val::Vector(r)) => Val::Vector(match b.op {
                BinaryOp::And | BinaryOp::Unless => set_filter(
                    l,
                    &r,
                    b.modifier.matching.as_ref(),
                    b.op == BinaryOp::And,
                    g.n,
                ),
                BinaryOp::Or => set_or(l, r, b.modifier.matching.as_ref(), g.n),
                _ => vector_vector(b, l, r, g.n)?,
            }),
            _ => return Err(unsupported("a binary operator on a string or range vector")),
        })
    }
}

fn vector_scalar(
    op: BinaryOp,
    v: Vec<StepSeries>,
    s: &[f64],
    swap: bool,
    rb: bool,
) -> Vec<StepSeries> {
    let mut out = Vec::with_capacity(v.len());
    for mut ser in v {
        for (i, slot) in ser.vals.iter_mut().enumerate() {
            let Some(x) = *slot else { continue };
            let (lf, rf) = if swap { (s[i], x) } else { (x, s[i]) };
            let (mut val, mut keep) = apply(op, lf, rf);
            if op.is_comparison() && swap {
                val = rf;
            }
            if rb {
                val = if keep { 1.0 } else { 0.0 };
                keep = true;
            }
            *slot = keep.then_some(val);
        }
        ser.drop_name |= drops_name(op) || rb;
        if ser.vals.iter().any(Option::is_some) {
            out.push(ser);
        }
    }
    out
}

/// `and` (`keep_matched`) and `unless` (`!keep_matched`).
fn set_filter(
    l: Vec<StepSeries>,
    r: &[StepSeries],
    m: Option<&VectorMatching>,
    keep_matched: bool,
    n: usize,
) -> Vec<StepSeries> {
    let mut ids = HashMap::new();
    let rs = sig_ids(r, m, &mut ids);
    let ls = sig_ids(&l, m, &mut ids);
    let mut has = vec![vec![false; n]; ids.len()];
    for (s, &id) in r.iter().zip(&rs) {
        for (i, v) in s.vals.iter().enumerate() {
            has[id][i] |= v.is_some();
        }
    }
    let mut out = Vec::new();
    for (mut s, id) in l.into_iter().zip(ls) {
        for (i, v) in s.vals.iter_mut().enumerate() {
            if has[id][i] != keep_matched {
                *v = None;
            }
        }
        if s.vals.iter().any(Option::is_some) {
            out.push(s);
        }
    }
    out
}

fn set_or(
    mut l: Vec<StepSeries>,
    r: Vec<StepSeries>,
    m: Option<&VectorMatching>,
    n: usize,
) -> Vec<StepSeries> {
    let mut ids = HashMap::new();
    let ls = sig_ids(&l, m, &mut ids);
    let rs = sig_ids(&r, m, &mut ids);
    let mut has = vec![vec![false; n]; ids.len()];
    for (s, &id) in l.iter().zip(&ls) {
        for (i, v) in s.vals.iter().enumerate() {
            has[id][i] |= v.is_some();
        }
    }
    for (mut s, id) in r.into_iter().zip(rs) {
        for (i, v) in s.vals.iter_mut().enumerate() {
            if has[id][i] {
                *v = None;
            }
        }
        if s.vals.iter().any(Option::is_some) {
            l.push(s);
        }
    }
    l
}

/// The labels of a match result (Prometheus' `resultMetric`).
fn result_labels(many: &Labels, one: &Labels, b: &BinaryExpr) -> Labels {
    let mut lb = many.builder();
    match (&b.modifier.group, &b.modifier.matching) {
        (None, Some(VectorMatching::On(names))) => {
            lb.retain(|x| names.contains(&x.name));
        }
        (None, Some(VectorMatching::Ignoring(names))) => {
            lb.retain(|x| !names.contains(&x.name));
        }
        (Some(Group::Left(inc) | Group::Right(inc)), _) => {
            for n in inc {
                match one.get(n) {
                    Some(v) if !v.is_empty() => lb.set(n, v),
                    _ => lb.del(n),
                };
            }
        }
        _ => {}
    }
    lb.build()
}

/// Arithmetic and comparisons between two vectors, with the fill modifiers: a series
/// missing on one side takes the fill value, and a missing "many" side produces a result
/// labelled with the match group.
fn vector_vector(
    b: &BinaryExpr,
    l: Vec<StepSeries>,
    r: Vec<StepSeries>,
    n: usize,
) -> EvalResult<Vec<StepSeries>> {
    let m = b.modifier.matching.as_ref();
    let one_to_many = matches!(b.modifier.group, Some(Group::Right(_)));
    let grouped = b.modifier.group.is_some();
    let (fill_l, fill_r) = (
        b.modifier.fill_left.map(|x| x.0),
        b.modifier.fill_right.map(|x| x.0),
    );
    // Prometheus applies the fills after swapping the sides of `group_right`: fill_left
    // always stands in for a missing "many" series, fill_right for a missing "one".
    let (fill_one, fill_many) = (fill_r, fill_l);
    let (lp, rp) = (present_per_step(&l, n), present_per_step(&r, n));
    let (many, one) = if one_to_many { (r, l) } else { (l, r) };
    let mut ids = HashMap::new();
    let one_sig = sig_ids(&one, m, &mut ids);
    let many_sig = sig_ids(&many, m, &mut ids);
    let mut sig_labels = vec![Labels::empty(); ids.len()];
    for (lb, &id) in &ids {
        sig_labels[id] = lb.clone();
    }
    let mut members: Vec<Vec<usize>> = vec![Vec::new(); ids.len()];
    for (j, &id) in one_sig.iter().enumerate() {
        members[id].push(j);
    }
    let side = if one_to_many { "left" } else { "right" };
    let rb = b.modifier.return_bool;
    let no_one = Labels::empty();
    let mut out: Vec<StepSeries> = Vec::new();
    let mut out_index: HashMap<(Labels, bool), usize> = HashMap::new();
    let mut pair_out: HashMap<(usize, usize), usize> = HashMap::new();
    let mut last_pair: Vec<Option<(usize, usize)>> = vec![None; many.len()];
    let mut sig_stamp = vec![usize::MAX; ids.len()];
    let mut many_hit = vec![usize::MAX; ids.len()];
    let mut out_stamp: Vec<usize> = Vec::new();
    let mut matched: Vec<Option<usize>> = vec![None; ids.len()];
    let filling = fill_l.is_some() || fill_r.is_some();
    for i in 0..n {
        if !filling && (!lp[i] || !rp[i]) {
            continue;
        }
        for (id, mem) in members.iter().enumerate() {
            matched[id] = None;
            for &j in mem {
                if one[j].vals[i].is_none() {
                    continue;
                }
                if let Some(prev) = matched[id] {
                    let mut pair = [one[prev].labels.to_string(), one[j].labels.to_string()];
                    pair.sort();
                    let [first, second] = pair;
                    return Err(EvalError::ManyToMany {
                        group: signature(&one[j].labels, m).to_string(),
                        side,
                        first,
                        second,
                    });
                }
                matched[id] = Some(j);
            }
        }
        for (k, ms) in many.iter().enumerate() {
            let Some(mv) = ms.vals[i] else { continue };
            let id = many_sig[k];
            many_hit[id] = i;
            let (ov, j) = match matched[id] {
                Some(j) => (one[j].vals[i].unwrap_or(f64::NAN), Some(j)),
                None => match fill_one {
                    Some(f) => (f, None),
                    None => continue,
                },
            };
            if !grouped && j.is_some() {
                if sig_stamp[id] == i {
                    return Err(EvalError::MultipleMatches(
                        "many-to-one matching must be explicit (group_left/group_right)",
                    ));
                }
                sig_stamp[id] = i;
            }
            let (fl, fr) = if one_to_many { (ov, mv) } else { (mv, ov) };
            let (mut val, keep) = apply(b.op, fl, fr);
            if rb {
                val = if keep { 1.0 } else { 0.0 };
            } else if !keep {
                continue;
            }
            let key = (k, j.unwrap_or(usize::MAX));
            // The partner of a series rarely changes between steps: remember the last one.
            let o = match last_pair[k] {
                Some((pj, o)) if pj == key.1 => o,
                _ => {
                    let o = match pair_out.get(&key) {
                        Some(&o) => o,
                        None => {
                            let one_labels = j.map_or(&no_one, |j| &one[j].labels);
                            let labels = result_labels(&ms.labels, one_labels, b);
                            let drop = drops_name(b.op) || rb || ms.drop_name;
                            let o =
                                out_slot(&mut out, &mut out_index, &mut out_stamp, labels, drop, n);
                            pair_out.insert(key, o);
                            o
                        }
                    };
                    last_pair[k] = Some((key.1, o));
                    o
                }
            };
            if out_stamp[o] == i {
                return Err(EvalError::MultipleMatches(if grouped {
                    "grouping labels must ensure unique label set"
                } else {
                    "many-to-one matching must be explicit (group_left/group_right)"
                }));
            }
            out_stamp[o] = i;
            out[o].vals[i] = Some(val);
        }
        let Some(fm) = fill_many else { continue };
        for (id, mj) in matched.iter().enumerate() {
            let Some(j) = *mj else { continue };
            if many_hit[id] == i {
                continue;
            }
            let ov = one[j].vals[i].unwrap_or(f64::NAN);
            let (fl, fr) = if one_to_many { (ov, fm) } else { (fm, ov) };
            let (mut val, keep) = apply(b.op, fl, fr);
            if rb {
                val = if keep { 1.0 } else { 0.0 };
            } else if !keep {
                continue;
            }
            let o = out_slot(
                &mut out,
                &mut out_index,
                &mut out_stamp,
                sig_labels[id].clone(),
                true,
                n,
            );
            out_stamp[o] = i;
            out[o].vals[i] = Some(val);
        }
    }
    Ok(out)
}

fn out_slot(
    out: &mut Vec<StepSeries>,
    index: &mut HashMap<(Labels, bool), usize>,
    stamps: &mut Vec<usize>,
    labels: Labels,
    drop_name: bool,
    n: usize,
) -> usize {
    *index.entry((labels.clone(), drop_name)).or_insert_with(|| {
        out.push(StepSeries {
            labels,
            vals: vec![None; n],
            drop_name,
        });
        stamps.push(usize::MAX);
        out.len() - 1
    })
}
