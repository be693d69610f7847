//! Transform functions: per-sample math, label functions, sorting, time functions,
//! `absent`, `scalar`, `vector`, `timestamp`, `histogram_quantile` (classic buckets).

use std::cmp::Ordering;

use gnomon_tsdb_core::model::{Labels, METRIC_NAME, MatchOp};
use regex::Regex;

use super::aggregate::valid_label_name;
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

    fn scalar_arg(&self, c: &Call, i: usize, g: &Grid) -> EvalResult<Vec<f64>> {
        match c.args.get(i) {
            Some(a) => self.eval_scalar(a, g),
            None => Err(unsupported("a missing scalar argument")),
        }
    }
}

fn string_arg(c: &Call, i: usize) -> EvalResult<&str> {
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

fn sort_impl(ev: &Ev, c: &Call, g: &Grid, desc: bool) -> EvalResult<Val> {
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

/// `(year, month 1-12, day 1-31)` of a day number since 1970-01-01 (proleptic Gregorian).
pub(crate) fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (if m <= 2 { y + 1 } else { y }, m, d)
}

fn is_leap(y: i64) -> bool {
    (y % 4 == 0 && y % 100 != 0) || y % 400 == 0
}

fn days_in(y: i64, m: u32) -> u32 {
    match m {
        2 if is_leap(y) => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// A calendar field of a Unix time in seconds (UTC).
fn date_part(v: f64, part: &str) -> f64 {
    let secs = v.floor() as i64;
    let days = secs.div_euclid(86_400);
    let sod = secs.rem_euclid(86_400);
    let (y, m, d) = civil_from_days(days);
    match part {
        "year" => y as f64,
        "month" => m as f64,
        "day_of_month" => d as f64,
        "day_of_week" => (days + 4).rem_euclid(7) as f64,
        "day_of_year" => {
            let before: u32 = (1..m).map(|k| days_in(y, k)).sum();
            (before + d) as f64
        }
        "days_in_month" => days_in(y, m) as f64,
        "hour" => (sod / 3600) as f64,
        "minute" => (sod % 3600 / 60) as f64,
        _ => f64::NAN,
    }
}

pub(crate) fn date_fn(ev: &Ev, c: &Call, g: &Grid) -> EvalResult<Val> {
    let part = c.func.name;
    ev.map_values(c, g, |v, _| {
        Some(if v.is_finite() {
            date_part(v, part)
        } else {
            f64::NAN
        })
    })
}

/// Prometheus' `bucketQuantile` over classic buckets `(upper bound, cumulative count)`.
fn bucket_quantile(q: f64, b: &mut [(f64, f64)]) -> f64 {
    if q.is_nan() {
        return f64::NAN;
    }
    if q < 0.0 {
        return f64::NEG_INFINITY;
    }
    if q > 1.0 {
        return f64::INFINITY;
    }
    let Some(m) = clean_buckets(b) else {
        return f64::NAN;
    };
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

/// Buckets sorted by bound, equal bounds merged, counts made monotonic; `None` without
/// a `+Inf` bucket.
fn clean_buckets(b: &mut [(f64, f64)]) -> Option<Vec<(f64, f64)>> {
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
    for i in 1..m.len() {
        if m[i].1 < m[i - 1].1 {
            m[i].1 = m[i - 1].1;
        }
    }
    Some(m)
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
    let Some(m) = clean_buckets(b) else {
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

/// Groups the series of a classic histogram (`le` label) and computes `f(step, buckets)`.
fn over_classic_buckets(
    v: &[StepSeries],
    n: usize,
    f: impl Fn(usize, &mut [(f64, f64)]) -> f64,
) -> Vec<StepSeries> {
    let mut groups: Vec<(Labels, Vec<(f64, usize)>)> = Vec::new();
    let mut index = std::collections::HashMap::new();
    for (k, s) in v.iter().enumerate() {
        let Some(le) = s.labels.get("le") else {
            continue;
        };
        let Ok(ub) = parse_le(le) else { continue };
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
        for (i, slot) in vals.iter_mut().enumerate() {
            buf.clear();
            buf.extend(
                mem.iter()
                    .filter_map(|&(ub, k)| v[k].vals[i].map(|c| (ub, c))),
            );
            if !buf.is_empty() {
                *slot = Some(f(i, &mut buf));
            }
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
    let v = ev.eval_vector(&c.args[1], g)?;
    Ok(Val::Vector(over_classic_buckets(&v, g.n, |i, b| {
        bucket_quantile(q[i], b)
    })))
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
        for mut s in over_classic_buckets(&v, g.n, |i, b| bucket_quantile(q[i], b)) {
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
    Ok(Val::Vector(over_classic_buckets(&v, g.n, |i, b| {
        bucket_fraction(lo[i], hi[i], b)
    })))
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
    fn dates() {
        assert_eq!(civil_from_days(0), (1970, 1, 1));
        assert_eq!(civil_from_days(11_016), (2000, 2, 29));
        assert_eq!(date_part(1_136_239_445.0, "hour"), 22.0);
        assert_eq!(date_part(0.0, "day_of_week"), 4.0);
        assert_eq!(date_part(951_782_400.0, "day_of_year"), 60.0);
    }

    #[test]
    fn natural_order() {
        assert_eq!(natural_cmp("a2", "a10"), Ordering::Less);
        assert_eq!(natural_cmp("b", "a10"), Ordering::Greater);
    }

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
        assert_eq!(bucket_quantile(0.5, &mut b), 1.0);
        assert_eq!(bucket_quantile(0.75, &mut b), 1.5);
    }
}
