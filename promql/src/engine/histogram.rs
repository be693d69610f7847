//! Classic-histogram functions over `le` buckets: `histogram_quantile`,
//! `histogram_quantiles`, `histogram_fraction`.

use std::cmp::Ordering;

use gnomon_tsdb_core::model::{Labels, METRIC_NAME};

use super::aggregate::valid_label_name;
use super::annotations::{AnnotationKind, check_quantile};
use super::error::{EvalError, EvalResult};
use super::eval::{Ev, Grid, StepSeries, Val};
use super::functions::string_arg;
use crate::parser::ast::{Call, Expr};

/// Prometheus' `bucketQuantile` over classic buckets `(upper bound, cumulative count)`.
/// `fixed` is set when the counts had to be made monotonic.
fn bucket_quantile(q: f64, b: &mut [(f64, f64)], fixed: &mut bool) -> f64 {
    if q.is_nan() {
        return f64::NAN;
    }
    if q < 0.0 {
        return f64::NEG_INFINITY;
    }
    if q > 1.0 {
        return f64::INFINITY;
    }
    let Some((m, forced)) = clean_buckets(b) else {
        return f64::NAN;
    };
    *fixed |= forced;
    if m.len() < 2 {
        return f64::NAN;
    }
    let total = m[m.len() - 1].1;
    if total == 0.0 || total.is_nan() {
        return f64::NAN;
    }
    let rank = q * total;
    let idx = m.iter().position(|x| x.1 >= rank).unwrap_or(m.len() - 1);
    if idx == m.len() - 1 {
        return m[m.len() - 2].0;
    }
    if idx == 0 && m[0].0 <= 0.0 {
        return m[0].0;
    }
    let (mut start, mut end, mut count, mut rank) = (0.0, m[idx].0, m[idx].1, rank);
    if idx > 0 {
        start = m[idx - 1].0;
        count -= m[idx - 1].1;
        rank -= m[idx - 1].1;
    }
    end = end.max(start);
    start + (end - start) * (rank / count)
}

/// Buckets sorted by bound, equal bounds merged, counts made monotonic (and whether that
/// changed any); `None` without a `+Inf` bucket.
fn clean_buckets(b: &mut [(f64, f64)]) -> Option<(Vec<(f64, f64)>, bool)> {
    b.sort_by(|x, y| x.0.partial_cmp(&y.0).unwrap_or(Ordering::Equal));
    if b.last().is_none_or(|x| x.0 != f64::INFINITY) {
        return None;
    }
    let mut m: Vec<(f64, f64)> = Vec::with_capacity(b.len());
    for &(ub, c) in b.iter() {
        match m.last_mut() {
            Some(last) if last.0 == ub => last.1 += c,
            _ => m.push((ub, c)),
        }
    }
    let mut forced = false;
    for i in 1..m.len() {
        if m[i].1 < m[i - 1].1 {
            m[i].1 = m[i - 1].1;
            forced = true;
        }
    }
    Some((m, forced))
}

/// The cumulative count at `v`, interpolated inside finite buckets; an infinitely wide
/// bucket contributes nothing to a fraction (unless a bound is infinite itself).
fn rank_at(v: f64, m: &[(f64, f64)]) -> f64 {
    if v == f64::INFINITY {
        return m[m.len() - 1].1;
    }
    let mut prev = 0.0;
    for (i, &(ub, c)) in m.iter().enumerate() {
        let lb = match i {
            0 if ub > 0.0 => 0.0,
            0 => f64::NEG_INFINITY,
            _ => m[i - 1].0,
        };
        if v <= lb {
            return prev;
        }
        if v <= ub {
            if lb.is_infinite() {
                return c;
            }
            if ub.is_infinite() {
                return prev;
            }
            return prev + (c - prev) * (v - lb) / (ub - lb);
        }
        prev = c;
    }
    prev
}

/// `histogram_fraction` over classic buckets.
fn bucket_fraction(lower: f64, upper: f64, b: &mut [(f64, f64)]) -> f64 {
    let Some((m, _)) = clean_buckets(b) else {
        return f64::NAN;
    };
    let total = m[m.len() - 1].1;
    if total == 0.0 || lower.is_nan() || upper.is_nan() {
        return f64::NAN;
    }
    if lower >= upper {
        return 0.0;
    }
    (rank_at(upper, &m) - rank_at(lower, &m)) / total
}

/// Groups the series of a classic histogram (`le` label) and computes
/// `f(step, buckets, forced monotonic)`; raises Prometheus' annotations about `anchor`
/// (the histogram argument) for malformed `le` labels and forced monotonicity.
fn over_classic_buckets(
    ev: &Ev,
    anchor: &Expr,
    v: &[StepSeries],
    n: usize,
    f: impl Fn(usize, &mut [(f64, f64)], &mut bool) -> f64,
) -> Vec<StepSeries> {
    let mut groups: Vec<(Labels, Vec<(f64, usize)>)> = Vec::new();
    let mut index = std::collections::HashMap::new();
    for (k, s) in v.iter().enumerate() {
        let le = s.labels.get("le");
        let Some(ub) = le.and_then(|x| parse_le(x).ok()) else {
            ev.notes.add(
                AnnotationKind::Warning,
                format!(
                    "bucket label \"le\" is missing or has a malformed value of {:?} for metric name {:?}",
                    le.unwrap_or(""),
                    s.labels.get(METRIC_NAME).unwrap_or("")
                ),
                anchor,
            );
            continue;
        };
        let mut b = s.labels.builder();
        b.del("le");
        let key = b.build();
        let gi = *index.entry(key.clone()).or_insert_with(|| {
            groups.push((key, Vec::new()));
            groups.len() - 1
        });
        groups[gi].1.push((ub, k));
    }
    let mut out = Vec::with_capacity(groups.len());
    let mut buf = Vec::new();
    for (labels, mem) in groups {
        let mut vals = vec![None; n];
        let mut fixed = false;
        for (i, slot) in vals.iter_mut().enumerate() {
            buf.clear();
            buf.extend(
                mem.iter()
                    .filter_map(|&(ub, k)| v[k].vals[i].map(|c| (ub, c))),
            );
            if !buf.is_empty() {
                *slot = Some(f(i, &mut buf, &mut fixed));
            }
        }
        if fixed {
            ev.notes.add(
                AnnotationKind::Info,
                format!(
                    "input to histogram_quantile needed to be fixed for monotonicity (see https://prometheus.io/docs/prometheus/latest/querying/functions/#histogram_quantile) for metric name {:?}",
                    labels.get(METRIC_NAME).unwrap_or("")
                ),
                anchor,
            );
        }
        out.push(StepSeries {
            labels,
            vals,
            drop_name: true,
        });
    }
    out
}

pub(crate) fn histogram_quantile(ev: &Ev, c: &Call, g: &Grid) -> EvalResult<Val> {
    let q = ev.scalar_arg(c, 0, g)?;
    check_quantile(&ev.notes, &q, &c.args[0]);
    let v = ev.eval_vector(&c.args[1], g)?;
    Ok(Val::Vector(over_classic_buckets(
        ev,
        &c.args[1],
        &v,
        g.n,
        |i, b, fixed| bucket_quantile(q[i], b, fixed),
    )))
}

pub(crate) fn histogram_quantiles(ev: &Ev, c: &Call, g: &Grid) -> EvalResult<Val> {
    let v = ev.eval_vector(&c.args[0], g)?;
    let label = string_arg(c, 1)?;
    if !valid_label_name(label) {
        return Err(EvalError::InvalidLabelName(label.to_string()));
    }
    let mut out = Vec::new();
    for k in 2..c.args.len() {
        let q = ev.scalar_arg(c, k, g)?;
        check_quantile(&ev.notes, &q, &c.args[k]);
        let series = over_classic_buckets(ev, &c.args[0], &v, g.n, |i, b, fixed| {
            bucket_quantile(q[i], b, fixed)
        });
        for mut s in series {
            // One value per series: the label shows the first step's quantile.
            let text = match q.first() {
                Some(x) if x.is_finite() => format!("{x:?}"),
                Some(x) => super::aggregate::format_float(*x),
                None => String::new(),
            };
            let mut b = s.labels.builder();
            b.set(label, &text);
            s.labels = b.build();
            out.push(s);
        }
    }
    Ok(Val::Vector(out))
}

pub(crate) fn histogram_fraction(ev: &Ev, c: &Call, g: &Grid) -> EvalResult<Val> {
    let lo = ev.scalar_arg(c, 0, g)?;
    let hi = ev.scalar_arg(c, 1, g)?;
    let v = ev.eval_vector(&c.args[2], g)?;
    Ok(Val::Vector(over_classic_buckets(
        ev,
        &c.args[2],
        &v,
        g.n,
        |i, b, _| bucket_fraction(lo[i], hi[i], b),
    )))
}

fn parse_le(s: &str) -> Result<f64, std::num::ParseFloatError> {
    match s.trim() {
        "+Inf" | "Inf" | "inf" | "+inf" => Ok(f64::INFINITY),
        "-Inf" | "-inf" => Ok(f64::NEG_INFINITY),
        t => t.parse(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn classic_fraction() {
        let mut b = vec![(1.0, 1.0), (2.0, 3.0), (3.0, 6.0), (f64::INFINITY, 100.0)];
        assert!((bucket_fraction(0.0, 1.5, &mut b) - 0.02).abs() < 1e-12);
        let mut b = vec![
            (-3.0, 10.0),
            (-2.0, 12.0),
            (-1.0, 15.0),
            (f64::INFINITY, 100.0),
        ];
        assert!((bucket_fraction(-4.0, -2.0, &mut b) - 0.02).abs() < 1e-12);
    }

    #[test]
    fn classic_quantile() {
        let mut b = vec![(1.0, 10.0), (2.0, 20.0), (f64::INFINITY, 20.0)];
        assert_eq!(bucket_quantile(0.5, &mut b, &mut false), 1.0);
        assert_eq!(bucket_quantile(0.75, &mut b, &mut false), 1.5);
    }
}
