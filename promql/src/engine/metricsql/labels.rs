//! MetricsQL label transforms: `label_set`, `label_del`, `label_keep`, `label_copy`,
//! `label_move`, `label_transform`, `label_uppercase`, `label_lowercase`, `label_map`,
//! `label_value`, `label_match`, `label_mismatch`, `labels_equal`,
//! `label_graphite_group`, `drop_common_labels`, `sort_by_label_numeric(_desc)`.
//! They keep the metric name unless they change it.

use std::collections::HashMap;

use gnomon_tsdb_core::model::{Labels, METRIC_NAME};
use regex::Regex;

use crate::engine::error::{EvalError, EvalResult};
use crate::engine::eval::{Ev, Grid, StepSeries, Val, drop_metric_name, merge_same_labels};
use crate::engine::functions::{natural_cmp, string_arg};
use crate::parser::ast::Call;

/// Evaluates the series argument with the names already dropped by inner functions
/// removed now: VM drops names at once, so label functions never see them.
fn series_arg(ev: &Ev, c: &Call, i: usize, g: &Grid) -> EvalResult<Vec<StepSeries>> {
    let mut v = ev.eval_vector(&c.args[i], g)?;
    for s in &mut v {
        if s.drop_name {
            s.labels = drop_metric_name(&s.labels);
            s.drop_name = false;
        }
    }
    Ok(v)
}

/// The string arguments from index `from` on.
fn strings(c: &Call, from: usize) -> EvalResult<Vec<&str>> {
    (from..c.args.len()).map(|i| string_arg(c, i)).collect()
}

fn regex(func: &'static str, re: &str, anchored: bool) -> EvalResult<Regex> {
    let src = if anchored {
        format!("^(?s:{re})$")
    } else {
        re.to_string()
    };
    Regex::new(&src).map_err(|e| EvalError::InvalidRegex {
        func,
        detail: e.to_string(),
    })
}

/// Rewrites each series' labels with `f(builder)`; the name stays unless `f` touches it.
fn relabel(
    ev: &Ev,
    c: &Call,
    g: &Grid,
    f: impl Fn(&Labels, &mut gnomon_tsdb_core::model::LabelsBuilder),
) -> EvalResult<Val> {
    let mut v = series_arg(ev, c, 0, g)?;
    for s in &mut v {
        let mut b = s.labels.builder();
        f(&s.labels, &mut b);
        let l = b.build();
        if l.get(METRIC_NAME) != s.labels.get(METRIC_NAME) {
            s.drop_name = false;
        }
        s.labels = l;
    }
    Ok(Val::Vector(merge_same_labels(v)?))
}

/// `label_set(q, "name", "value", …)`.
pub(crate) fn label_set(ev: &Ev, c: &Call, g: &Grid) -> EvalResult<Val> {
    let kv = strings(c, 1)?;
    relabel(ev, c, g, |_, b| {
        for p in kv.chunks(2) {
            b.set(p[0], p.get(1).copied().unwrap_or(""));
        }
    })
}

/// `label_del(q, "name", …)`.
pub(crate) fn label_del(ev: &Ev, c: &Call, g: &Grid) -> EvalResult<Val> {
    let names = strings(c, 1)?;
    relabel(ev, c, g, |_, b| {
        for n in &names {
            b.del(n);
        }
    })
}

/// `label_keep(q, "name", …)`.
pub(crate) fn label_keep(ev: &Ev, c: &Call, g: &Grid) -> EvalResult<Val> {
    let names = strings(c, 1)?;
    relabel(ev, c, g, |_, b| {
        b.retain(|l| names.contains(&l.name.as_str()));
    })
}

fn copy_labels(ev: &Ev, c: &Call, g: &Grid, delete: bool) -> EvalResult<Val> {
    let pairs = strings(c, 1)?;
    relabel(ev, c, g, |orig, b| {
        for p in pairs.chunks(2) {
            let (src, dst) = (p[0], p.get(1).copied().unwrap_or(""));
            let Some(v) = orig.get(src) else { continue };
            if delete {
                b.del(src);
            }
            b.set(dst, v);
        }
    })
}

/// `label_copy(q, "src", "dst", …)`.
pub(crate) fn label_copy(ev: &Ev, c: &Call, g: &Grid) -> EvalResult<Val> {
    copy_labels(ev, c, g, false)
}

/// `label_move(q, "src", "dst", …)`.
pub(crate) fn label_move(ev: &Ev, c: &Call, g: &Grid) -> EvalResult<Val> {
    copy_labels(ev, c, g, true)
}

/// `label_transform(q, "label", "regexp", "replacement")`: every match replaced.
pub(crate) fn label_transform(ev: &Ev, c: &Call, g: &Grid) -> EvalResult<Val> {
    let (label, re, repl) = (string_arg(c, 1)?, string_arg(c, 2)?, string_arg(c, 3)?);
    let rx = regex("label_transform", re, false)?;
    relabel(ev, c, g, |orig, b| {
        let v = orig.get(label).unwrap_or("");
        b.set(label, &rx.replace_all(v, repl));
    })
}

fn change_case(ev: &Ev, c: &Call, g: &Grid, upper: bool) -> EvalResult<Val> {
    let names = strings(c, 1)?;
    relabel(ev, c, g, |orig, b| {
        for n in &names {
            if let Some(v) = orig.get(n) {
                let v = if upper {
                    v.to_uppercase()
                } else {
                    v.to_lowercase()
                };
                b.set(n, &v);
            }
        }
    })
}

/// `label_uppercase(q, "name", …)`.
pub(crate) fn label_uppercase(ev: &Ev, c: &Call, g: &Grid) -> EvalResult<Val> {
    change_case(ev, c, g, true)
}

/// `label_lowercase(q, "name", …)`.
pub(crate) fn label_lowercase(ev: &Ev, c: &Call, g: &Grid) -> EvalResult<Val> {
    change_case(ev, c, g, false)
}

/// `label_map(q, "label", "from", "to", …)`.
pub(crate) fn label_map(ev: &Ev, c: &Call, g: &Grid) -> EvalResult<Val> {
    let label = string_arg(c, 1)?;
    let pairs = strings(c, 2)?;
    let map: HashMap<&str, &str> = pairs
        .chunks(2)
        .map(|p| (p[0], p.get(1).copied().unwrap_or("")))
        .collect();
    relabel(ev, c, g, |orig, b| {
        if let Some(to) = map.get(orig.get(label).unwrap_or("")) {
            b.set(label, to);
        }
    })
}

/// `label_graphite_group(q, n, …)`: the dot-separated groups `n, …` of the name.
pub(crate) fn label_graphite_group(ev: &Ev, c: &Call, g: &Grid) -> EvalResult<Val> {
    let mut nums = Vec::new();
    for a in &c.args[1..] {
        let v = ev.eval_scalar(a, g)?;
        nums.push(v.first().copied().unwrap_or(f64::NAN));
    }
    relabel(ev, c, g, |orig, b| {
        let name = orig.get(METRIC_NAME).unwrap_or("");
        let groups: Vec<&str> = name.split('.').collect();
        let picked: Vec<&str> = nums
            .iter()
            .map(|&n| {
                if n >= 0.0 && (n as usize) < groups.len() {
                    groups[n as usize]
                } else {
                    ""
                }
            })
            .collect();
        b.set(METRIC_NAME, &picked.join("."));
    })
}

/// `label_value(q, "label")`: the label's value parsed as a number, where `q` has a value.
pub(crate) fn label_value(ev: &Ev, c: &Call, g: &Grid) -> EvalResult<Val> {
    let label = string_arg(c, 1)?;
    let mut v = series_arg(ev, c, 0, g)?;
    for s in &mut v {
        s.drop_name = true;
        let x = s
            .labels
            .get(label)
            .and_then(|l| l.parse::<f64>().ok())
            .filter(|x| !x.is_nan());
        for slot in s.vals.iter_mut() {
            *slot = slot.and(x);
        }
    }
    // Series without a number stay, so that `label_value(q, "l") default 0` works.
    Ok(Val::Vector(v))
}

fn filter_series(ev: &Ev, c: &Call, g: &Grid, keep: impl Fn(&Labels) -> bool) -> EvalResult<Val> {
    let mut v = series_arg(ev, c, 0, g)?;
    v.retain(|s| keep(&s.labels));
    Ok(Val::Vector(v))
}

/// `label_match(q, "label", "regexp")`: the series whose label matches.
pub(crate) fn label_match(ev: &Ev, c: &Call, g: &Grid) -> EvalResult<Val> {
    let label = string_arg(c, 1)?;
    let rx = regex("label_match", string_arg(c, 2)?, true)?;
    filter_series(ev, c, g, |l| rx.is_match(l.get(label).unwrap_or("")))
}

/// `label_mismatch(q, "label", "regexp")`: the series whose label does not match.
pub(crate) fn label_mismatch(ev: &Ev, c: &Call, g: &Grid) -> EvalResult<Val> {
    let label = string_arg(c, 1)?;
    let rx = regex("label_mismatch", string_arg(c, 2)?, true)?;
    filter_series(ev, c, g, |l| !rx.is_match(l.get(label).unwrap_or("")))
}

/// `labels_equal(q, "a", "b", …)`: the series whose listed labels all have one value.
pub(crate) fn labels_equal(ev: &Ev, c: &Call, g: &Grid) -> EvalResult<Val> {
    let names = strings(c, 1)?;
    filter_series(ev, c, g, |l| {
        let mut vals = names.iter().map(|n| l.get(n).unwrap_or(""));
        let first = vals.next().unwrap_or("");
        vals.all(|v| v == first)
    })
}

/// `drop_common_labels(q, …)`: the series of all arguments without the labels every
/// one of them has with the same value.
pub(crate) fn drop_common_labels(ev: &Ev, c: &Call, g: &Grid) -> EvalResult<Val> {
    let mut all: Vec<StepSeries> = Vec::new();
    for i in 0..c.args.len() {
        all.extend(series_arg(ev, c, i, g)?);
    }
    let mut counts: HashMap<(String, String), usize> = HashMap::new();
    for s in &all {
        for l in s.labels.iter() {
            *counts.entry((l.name.clone(), l.value.clone())).or_default() += 1;
        }
    }
    let common: Vec<&(String, String)> = counts
        .iter()
        .filter(|(_, n)| **n == all.len())
        .map(|(k, _)| k)
        .collect();
    for s in &mut all {
        let mut b = s.labels.builder();
        for (n, _) in &common {
            b.del(n);
        }
        s.labels = b.build();
    }
    Ok(Val::Vector(merge_same_labels(all)?))
}

fn sort_numeric(ev: &Ev, c: &Call, g: &Grid, desc: bool) -> EvalResult<Val> {
    let names = strings(c, 1)?;
    let mut v = series_arg(ev, c, 0, g)?;
    v.sort_by(|a, b| {
        for n in &names {
            let (x, y) = (a.labels.get(n).unwrap_or(""), b.labels.get(n).unwrap_or(""));
            let o = natural_cmp(x, y);
            if o.is_ne() {
                return if desc { o.reverse() } else { o };
            }
        }
        std::cmp::Ordering::Equal
    });
    Ok(Val::Vector(v))
}

/// `sort_by_label_numeric(q, "label", …)`: natural order of the label values.
pub(crate) fn sort_by_label_numeric(ev: &Ev, c: &Call, g: &Grid) -> EvalResult<Val> {
    sort_numeric(ev, c, g, false)
}

/// `sort_by_label_numeric_desc(q, "label", …)`.
pub(crate) fn sort_by_label_numeric_desc(ev: &Ev, c: &Call, g: &Grid) -> EvalResult<Val> {
    sort_numeric(ev, c, g, true)
}
