//! Transform functions: per-sample math, label functions, sorting, `absent`, `scalar`,
//! `vector`, `time`, `timestamp`.

use std::cmp::Ordering;

use gnomon_tsdb_core::model::{Labels, METRIC_NAME, MatchOp};
use regex::Regex;

use super::aggregate::valid_label_name;
use super::annotations::AnnotationKind;
use super::error::{EvalError, EvalResult};
use super::eval::{Ev, Grid, StepSeries, Val, merge_same_labels, unsupported};
use crate::parser::ast::{Call, Expr};

/// Go's `math.Max` (NaN wins).
pub(crate) fn go_max(a: f64, b: f64) -> f64 {
    if a.is_nan() || b.is_nan() {
        f64::NAN
    } else {
        a.max(b)
    }
}

/// Go's `math.Min` (NaN wins).
pub(crate) fn go_min(a: f64, b: f64) -> f64 {
    if a.is_nan() || b.is_nan() {
        f64::NAN
    } else {
        a.min(b)
    }
}

impl Ev<'_> {
    /// The first argument as series, or `vector(time())` when it is optional and absent.
    fn arg_vector_or_time(&self, c: &Call, g: &Grid) -> EvalResult<Vec<StepSeries>> {
        match c.args.first() {
            Some(a) => self.eval_vector(a, g),
            None => Ok(vec![StepSeries {
                labels: Labels::empty(),
                vals: (0..g.n).map(|i| Some(g.t(i) as f64 / 1000.0)).collect(),
                drop_name: false,
            }]),
        }
    }

    /// Applies `f(value, step)` to every sample of the first argument; drops the name.
    pub fn map_values(
        &self,
        c: &Call,
        g: &Grid,
        f: impl Fn(f64, usize) -> Option<f64>,
    ) -> EvalResult<Val> {
        let mut v = self.arg_vector_or_time(c, g)?;
        for s in &mut v {
            s.drop_name = true;
            for (i, x) in s.vals.iter_mut().enumerate() {
                *x = x.and_then(|y| f(y, i));
            }
        }
        v.retain(|s| s.vals.iter().any(Option::is_some));
        Ok(Val::Vector(v))
    }

    pub(crate) fn scalar_arg(&self, c: &Call, i: usize, g: &Grid) -> EvalResult<Vec<f64>> {
        match c.args.get(i) {
            Some(a) => self.eval_scalar(a, g),
            None => Err(unsupported("a missing scalar argument")),
        }
    }
}

pub(crate) fn string_arg(c: &Call, i: usize) -> EvalResult<&str> {
    match c.args.get(i) {
        Some(Expr::String(s)) => Ok(s),
        _ => Err(unsupported("a non-literal string argument")),
    }
}

pub(crate) fn clamp(ev: &Ev, c: &Call, g: &Grid) -> EvalResult<Val> {
    let lo = ev.scalar_arg(c, 1, g)?;
    let hi = ev.scalar_arg(c, 2, g)?;
    ev.map_values(c, g, |v, i| {
        (lo[i] <= hi[i] || lo[i].is_nan() || hi[i].is_nan())
            .then(|| go_max(lo[i], go_min(hi[i], v)))
    })
}

pub(crate) fn clamp_min(ev: &Ev, c: &Call, g: &Grid) -> EvalResult<Val> {
    let lo = ev.scalar_arg(c, 1, g)?;
    ev.map_values(c, g, |v, i| Some(go_max(lo[i], v)))
}

pub(crate) fn clamp_max(ev: &Ev, c: &Call, g: &Grid) -> EvalResult<Val> {
    let hi = ev.scalar_arg(c, 1, g)?;
    ev.map_values(c, g, |v, i| Some(go_min(hi[i], v)))
}

pub(crate) fn round(ev: &Ev, c: &Call, g: &Grid) -> EvalResult<Val> {
    let to = match c.args.get(1) {
        Some(a) => ev.eval_scalar(a, g)?,
        None => vec![1.0; g.n],
    };
    ev.map_values(c, g, |v, i| {
        let inv = 1.0 / to[i];
        Some((v * inv + 0.5).floor() / inv)
    })
}

pub(crate) fn sgn(v: f64) -> f64 {
    if v < 0.0 {
        -1.0
    } else if v > 0.0 {
        1.0
    } else {
        v
    }
}

pub(crate) fn vector(ev: &Ev, c: &Call, g: &Grid) -> EvalResult<Val> {
    let s = ev.scalar_arg(c, 0, g)?;
    Ok(Val::Vector(vec![StepSeries {
        labels: Labels::empty(),
        vals: s.into_iter().map(Some).collect(),
        drop_name: false,
    }]))
}

pub(crate) fn scalar(ev: &Ev, c: &Call, g: &Grid) -> EvalResult<Val> {
    let v = ev.arg_vector_or_time(c, g)?;
    Ok(Val::Scalar(
        (0..g.n)
            .map(|i| {
                let mut it = v.iter().filter_map(|s| s.vals[i]);
                match (it.next(), it.next()) {
                    (Some(x), None) => x,
                    _ => f64::NAN,
                }
            })
            .collect(),
    ))
}

pub(crate) fn time(_: &Ev, _: &Call, g: &Grid) -> EvalResult<Val> {
    Ok(Val::Scalar(
        (0..g.n).map(|i| g.t(i) as f64 / 1000.0).collect(),
    ))
}

fn scalar_pair(ev: &Ev, c: &Call, g: &Grid, f: fn(f64, f64) -> f64) -> EvalResult<Val> {
    let (a, b) = (ev.scalar_arg(c, 0, g)?, ev.scalar_arg(c, 1, g)?);
    Ok(Val::Scalar(
        a.iter().zip(&b).map(|(&x, &y)| f(x, y)).collect(),
    ))
}

pub(crate) fn min_of(ev: &Ev, c: &Call, g: &Grid) -> EvalResult<Val> {
    scalar_pair(ev, c, g, go_min)
}

pub(crate) fn max_of(ev: &Ev, c: &Call, g: &Grid) -> EvalResult<Val> {
    scalar_pair(ev, c, g, go_max)
}

pub(crate) fn pi(_: &Ev, _: &Call, g: &Grid) -> EvalResult<Val> {
    Ok(Val::Scalar(vec![std::f64::consts::PI; g.n]))
}

pub(crate) fn timestamp(ev: &Ev, c: &Call, g: &Grid) -> EvalResult<Val> {
    if let Some(Expr::Vector(vs)) = c.args.first() {
        return Ok(Val::Vector(ev.vector_selector_timestamps(vs, g)?));
    }
    ev.map_values(c, g, |_, i| Some(g.t(i) as f64 / 1000.0))
}

/// The labels `absent` gives its output: the equality matchers of a selector argument.
fn absent_labels(e: Option<&Expr>) -> Labels {
    let vs = match e {
        Some(Expr::Vector(v)) => v,
        Some(Expr::Matrix(m)) => &m.selector,
        _ => return Labels::empty(),
    };
    let mut b = Labels::empty().builder();
    let mut seen: Vec<&str> = Vec::new();
    let mut dup: Vec<&str> = Vec::new();
    for m in &vs.matchers {
        if m.name == METRIC_NAME {
            continue;
        }
        if seen.contains(&m.name.as_str()) {
            dup.push(&m.name);
        }
        seen.push(&m.name);
        if m.op == MatchOp::Equal {
            b.set(&m.name, &m.value);
        }
    }
    for d in dup {
        b.del(d);
    }
    b.build()
}

pub(crate) fn absent(ev: &Ev, c: &Call, g: &Grid) -> EvalResult<Val> {
    let v = ev.arg_vector_or_time(c, g)?;
    let vals = (0..g.n)
        .map(|i| (!v.iter().any(|s| s.vals[i].is_some())).then_some(1.0))
        .collect::<Vec<_>>();
    Ok(absent_result(absent_labels(c.args.first()), vals))
}

fn absent_result(labels: Labels, vals: Vec<Option<f64>>) -> Val {
    if vals.iter().all(Option::is_none) {
        return Val::Vector(Vec::new());
    }
    Val::Vector(vec![StepSeries {
        labels,
        vals,
        drop_name: false,
    }])
}

pub(crate) fn absent_over_time(ev: &Ev, c: &Call, g: &Grid) -> EvalResult<Val> {
    let Some(arg) = c.args.first() else {
        return Ok(Val::Vector(Vec::new()));
    };
    let w = ev.windows(arg, g)?;
    let mut seen = vec![false; g.n];
    w.slide(|_, i, s| seen[i] |= !s.is_empty());
    let vals = seen.into_iter().map(|x| (!x).then_some(1.0)).collect();
    Ok(absent_result(absent_labels(Some(arg)), vals))
}

/// Sorting means nothing in a range query: Prometheus warns.
fn warn_sort_in_range(ev: &Ev, c: &Call) {
    if ev.range_query {
        ev.notes.add(
            AnnotationKind::Warning,
            "sort is ineffective for range queries since results are always ordered by labels"
                .into(),
            &Expr::Call(c.clone()),
        );
    }
}

fn sort_impl(ev: &Ev, c: &Call, g: &Grid, desc: bool) -> EvalResult<Val> {
    warn_sort_in_range(ev, c);
    let mut v = ev.arg_vector_or_time(c, g)?;
    let key = |s: &StepSeries| s.vals.first().copied().flatten().unwrap_or(f64::NAN);
    v.sort_by(|a, b| {
        let (x, y) = (key(a), key(b));
        match (x.is_nan(), y.is_nan()) {
            (true, true) => Ordering::Equal,
            (true, false) => Ordering::Greater,
            (false, true) => Ordering::Less,
            _ if desc => y.partial_cmp(&x).unwrap_or(Ordering::Equal),
            _ => x.partial_cmp(&y).unwrap_or(Ordering::Equal),
        }
    });
    Ok(Val::Vector(v))
}

pub(crate) fn sort(ev: &Ev, c: &Call, g: &Grid) -> EvalResult<Val> {
    sort_impl(ev, c, g, false)
}

pub(crate) fn sort_desc(ev: &Ev, c: &Call, g: &Grid) -> EvalResult<Val> {
    sort_impl(ev, c, g, true)
}

/// Natural order: digit runs compare as numbers.
pub(crate) fn natural_cmp(a: &str, b: &str) -> Ordering {
    let (mut x, mut y) = (a.as_bytes(), b.as_bytes());
    while !x.is_empty() && !y.is_empty() {
        if x[0].is_ascii_digit() && y[0].is_ascii_digit() {
            let nx = x.iter().take_while(|c| c.is_ascii_digit()).count();
            let ny = y.iter().take_while(|c| c.is_ascii_digit()).count();
            let (dx, dy) = (&x[..nx], &y[..ny]);
            let tx = dx.iter().skip_while(|&&c| c == b'0').count();
            let ty = dy.iter().skip_while(|&&c| c == b'0').count();
            let o = tx.cmp(&ty).then_with(|| dx[nx - tx..].cmp(&dy[ny - ty..]));
            if o != Ordering::Equal {
                return o;
            }
            x = &x[nx..];
            y = &y[ny..];
        } else {
            if x[0] != y[0] {
                return x[0].cmp(&y[0]);
            }
            x = &x[1..];
            y = &y[1..];
        }
    }
    x.len().cmp(&y.len())
}

fn sort_by_label_impl(ev: &Ev, c: &Call, g: &Grid, desc: bool) -> EvalResult<Val> {
    warn_sort_in_range(ev, c);
    let mut v = ev.arg_vector_or_time(c, g)?;
    let names: Vec<&str> = (1..c.args.len())
        .map(|i| string_arg(c, i))
        .collect::<EvalResult<_>>()?;
    v.sort_by(|a, b| {
        for n in &names {
            let (x, y) = (a.labels.get(n).unwrap_or(""), b.labels.get(n).unwrap_or(""));
            if x != y {
                let o = natural_cmp(x, y);
                return if desc { o.reverse() } else { o };
            }
        }
        let o = a.labels.cmp(&b.labels);
        if desc { o.reverse() } else { o }
    });
    Ok(Val::Vector(v))
}

pub(crate) fn sort_by_label(ev: &Ev, c: &Call, g: &Grid) -> EvalResult<Val> {
    sort_by_label_impl(ev, c, g, false)
}

pub(crate) fn sort_by_label_desc(ev: &Ev, c: &Call, g: &Grid) -> EvalResult<Val> {
    sort_by_label_impl(ev, c, g, true)
}

fn set_label(s: &mut StepSeries, dst: &str, value: &str) {
    let mut b = s.labels.builder();
    b.set(dst, value);
    s.labels = b.build();
    if dst == METRIC_NAME {
        s.drop_name = false;
    }
}

pub(crate) fn label_replace(ev: &Ev, c: &Call, g: &Grid) -> EvalResult<Val> {
    let (dst, repl, src, re) = (
        string_arg(c, 1)?,
        string_arg(c, 2)?,
        string_arg(c, 3)?,
        string_arg(c, 4)?,
    );
    let rx = Regex::new(&format!("^(?s:{re})$")).map_err(|e| EvalError::InvalidRegex {
        func: "label_replace",
        detail: e.to_string(),
    })?;
    if !valid_label_name(dst) {
        return Err(EvalError::InvalidLabelName(dst.to_string()));
    }
    let mut v = ev.eval_vector(&c.args[0], g)?;
    for s in &mut v {
        let sv = s.labels.get(src).unwrap_or("").to_string();
        if let Some(caps) = rx.captures(&sv) {
            let mut out = String::new();
            caps.expand(repl, &mut out);
            set_label(s, dst, &out);
        }
    }
    Ok(Val::Vector(merge_same_labels(v)?))
}

pub(crate) fn label_join(ev: &Ev, c: &Call, g: &Grid) -> EvalResult<Val> {
    let (dst, sep) = (string_arg(c, 1)?, string_arg(c, 2)?);
    let srcs: Vec<&str> = (3..c.args.len())
        .map(|i| string_arg(c, i))
        .collect::<EvalResult<_>>()?;
    if !valid_label_name(dst) {
        return Err(EvalError::InvalidLabelName(dst.to_string()));
    }
    let mut v = ev.eval_vector(&c.args[0], g)?;
    for s in &mut v {
        let joined = srcs
            .iter()
            .map(|n| s.labels.get(n).unwrap_or(""))
            .collect::<Vec<_>>()
            .join(sep);
        set_label(s, dst, &joined);
    }
    Ok(Val::Vector(merge_same_labels(v)?))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn natural_order() {
        assert_eq!(natural_cmp("a2", "a10"), Ordering::Less);
        assert_eq!(natural_cmp("b", "a10"), Ordering::Greater);
    }
}
