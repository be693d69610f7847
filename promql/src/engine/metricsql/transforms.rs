//! Other MetricsQL transforms: `union`, `now`, `rand*`, `bitmap_*`, `ru`,
//! `limit_offset`, `histogram_share`, `prometheus_buckets`, `buckets_limit`.

use std::collections::{HashMap, HashSet};
use std::time::{SystemTime, UNIX_EPOCH};

use gnomon_tsdb_core::model::Labels;

use super::vmrange;
use crate::engine::error::{EvalError, EvalResult};
use crate::engine::eval::{Ev, Grid, StepSeries, Val, drop_metric_name};
use crate::parser::ast::{Call, Expr, Grouping};

/// `union(q1, q2, …)`: the series of every argument; of series with equal labels the
/// first one wins.
pub(crate) fn union(ev: &Ev, c: &Call, g: &Grid) -> EvalResult<Val> {
    let mut seen: HashSet<Labels> = HashSet::new();
    let mut out = Vec::new();
    for a in &c.args {
        for s in ev.eval_vector(a, g)? {
            let key = if s.drop_name {
                drop_metric_name(&s.labels)
            } else {
                s.labels.clone()
            };
            if seen.insert(key) {
                out.push(s);
            }
        }
    }
    Ok(Val::Vector(out))
}

/// `now()`: the wall-clock time in seconds.
pub(crate) fn now(_: &Ev, _: &Call, g: &Grid) -> EvalResult<Val> {
    let t = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0.0, |d| d.as_secs_f64());
    Ok(Val::Scalar(vec![t; g.n]))
}

/// SplitMix64: a small seeded generator (quality is not a concern for `rand()`).
struct SplitMix(u64);

impl SplitMix {
    fn next_f64(&mut self) -> f64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^= z >> 31;
        (z >> 11) as f64 / (1u64 << 53) as f64
    }
}

fn rand_series(ev: &Ev, c: &Call, g: &Grid, f: fn(&mut SplitMix) -> f64) -> EvalResult<Val> {
    let seed = match c.args.first() {
        Some(a) => ev.eval_scalar(a, g)?.first().copied().unwrap_or(0.0) as u64,
        None => SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos() as u64),
    };
    let mut r = SplitMix(seed);
    Ok(Val::Vector(vec![StepSeries {
        labels: Labels::empty(),
        vals: (0..g.n).map(|_| Some(f(&mut r))).collect(),
        drop_name: false,
    }]))
}

/// `rand(seed?)`: uniform in `[0, 1)`.
pub(crate) fn rand(ev: &Ev, c: &Call, g: &Grid) -> EvalResult<Val> {
    rand_series(ev, c, g, SplitMix::next_f64)
}

/// `rand_normal(seed?)`: standard normal (Box–Muller).
pub(crate) fn rand_normal(ev: &Ev, c: &Call, g: &Grid) -> EvalResult<Val> {
    rand_series(ev, c, g, |r| {
        let (u, v) = (1.0 - r.next_f64(), r.next_f64());
        (-2.0 * u.ln()).sqrt() * (2.0 * std::f64::consts::PI * v).cos()
    })
}

/// `rand_exponential(seed?)`: exponential with rate 1.
pub(crate) fn rand_exponential(ev: &Ev, c: &Call, g: &Grid) -> EvalResult<Val> {
    rand_series(ev, c, g, |r| -(1.0 - r.next_f64()).ln())
}

fn bitmap(ev: &Ev, c: &Call, g: &Grid, f: fn(u64, u64) -> u64) -> EvalResult<Val> {
    let mask = ev.eval_scalar(&c.args[1], g)?;
    ev.map_values(c, g, |v, i| Some(f(v as u64, mask[i] as u64) as f64))
}

/// `bitmap_and(q, mask)`.
pub(crate) fn bitmap_and(ev: &Ev, c: &Call, g: &Grid) -> EvalResult<Val> {
    bitmap(ev, c, g, |a, b| a & b)
}
/// `bitmap_or(q, mask)`.
pub(crate) fn bitmap_or(ev: &Ev, c: &Call, g: &Grid) -> EvalResult<Val> {
    bitmap(ev, c, g, |a, b| a | b)
}
/// `bitmap_xor(q, mask)`.
pub(crate) fn bitmap_xor(ev: &Ev, c: &Call, g: &Grid) -> EvalResult<Val> {
    bitmap(ev, c, g, |a, b| a ^ b)
}

/// `ru(free, max)`: utilization in percent, `(max - free) / max * 100` within `[0, 100]`,
/// series matched on their labels without the name (a single series on either side
/// applies to all of the other).
pub(crate) fn ru(ev: &Ev, c: &Call, g: &Grid) -> EvalResult<Val> {
    let free = ev.eval_vector(&c.args[0], g)?;
    let max = ev.eval_vector(&c.args[1], g)?;
    let f = |fr: f64, mx: f64| {
        let used = (mx - fr.max(0.0)).max(0.0);
        (used / mx.max(0.0) * 100.0).clamp(0.0, 100.0)
    };
    let key = |s: &StepSeries| drop_metric_name(&s.labels);
    let mut out = Vec::new();
    let single = |v: &[StepSeries]| (v.len() == 1).then(|| v[0].clone());
    let by_key: HashMap<Labels, &StepSeries> = max.iter().map(|s| (key(s), s)).collect();
    for fr in &free {
        let m = single(&max).or_else(|| by_key.get(&key(fr)).map(|s| (*s).clone()));
        let Some(m) = m else { continue };
        let vals = fr
            .vals
            .iter()
            .zip(&m.vals)
            .map(|(a, b)| match (a, b) {
                (Some(a), Some(b)) => Some(f(*a, *b)).filter(|x| !x.is_nan()),
                _ => None,
            })
            .collect();
        out.push(StepSeries {
            labels: key(fr),
            vals,
            drop_name: false,
        });
    }
    Ok(super::window::vector(out))
}

/// `limit_offset(limit, offset, q)`: series `offset .. offset + limit` in label order.
pub(crate) fn limit_offset(ev: &Ev, c: &Call, g: &Grid) -> EvalResult<Val> {
    let limit = ev
        .eval_scalar(&c.args[0], g)?
        .first()
        .copied()
        .unwrap_or(0.0);
    let offset = ev
        .eval_scalar(&c.args[1], g)?
        .first()
        .copied()
        .unwrap_or(0.0);
    if limit.is_nan() || offset.is_nan() || limit < 0.0 || offset < 0.0 {
        return Err(EvalError::InvalidArgument(
            "limit_offset: limit and offset must be non-negative numbers".into(),
        ));
    }
    let mut v = ev.eval_vector(&c.args[2], g)?;
    v.retain(|s| s.vals.iter().any(Option::is_some));
    v.sort_by(|a, b| a.labels.cmp(&b.labels));
    Ok(Val::Vector(
        v.into_iter()
            .skip(offset as usize)
            .take(limit.min(usize::MAX as f64) as usize)
            .collect(),
    ))
}

/// One histogram: bucket upper bounds and the series holding their counts.
struct Buckets {
    labels: Labels,
    les: Vec<(f64, usize)>,
}

/// Groups `le` buckets (after converting VM's `vmrange` buckets) by their other labels.
fn le_groups(series: &[StepSeries]) -> Vec<Buckets> {
    let mut index: HashMap<Labels, usize> = HashMap::new();
    let mut out: Vec<Buckets> = Vec::new();
    for (k, s) in series.iter().enumerate() {
        let Some(le) = s.labels.get("le").and_then(parse_le) else {
            continue;
        };
        let mut b = drop_metric_name(&s.labels).builder();
        b.del("le");
        let key = b.build();
        let o = *index.entry(key.clone()).or_insert_with(|| {
            out.push(Buckets {
                labels: key,
                les: Vec::new(),
            });
            out.len() - 1
        });
        out[o].les.push((le, k));
    }
    for b in &mut out {
        b.les.sort_by(|a, b| a.0.total_cmp(&b.0));
    }
    out
}

fn parse_le(s: &str) -> Option<f64> {
    match s {
        "+Inf" | "Inf" | "inf" => Some(f64::INFINITY),
        _ => s.parse().ok(),
    }
}

/// The share of observations at or below `le` at one step (VM's interpolation).
fn share_at(le_req: f64, counts: &[(f64, f64)]) -> f64 {
    if le_req.is_nan() || counts.is_empty() {
        return f64::NAN;
    }
    if le_req < 0.0 {
        return 0.0;
    }
    if le_req == f64::INFINITY {
        return 1.0;
    }
    let total = counts[counts.len() - 1].1;
    let (mut v_prev, mut le_prev) = (0.0, 0.0);
    for &(le, v) in counts {
        if le_req >= le {
            (v_prev, le_prev) = (v, le);
            continue;
        }
        let lower = v_prev / total;
        if le == f64::INFINITY || le_prev == le_req {
            return lower;
        }
        return lower + (v - v_prev) / total * (le_req - le_prev) / (le - le_prev);
    }
    1.0
}

/// `histogram_share(le, buckets)`: the share of observations at or below `le`.
pub(crate) fn histogram_share(ev: &Ev, c: &Call, g: &Grid) -> EvalResult<Val> {
    let le = ev.eval_scalar(&c.args[0], g)?;
    let series = prometheus_le(ev.eval_vector(&c.args[1], g)?);
    let mut out = Vec::new();
    for b in le_groups(&series) {
        let vals = (0..g.n)
            .map(|i| {
                let mut counts: Vec<(f64, f64)> = b
                    .les
                    .iter()
                    .filter_map(|&(le, k)| series[k].vals[i].map(|v| (le, v)))
                    .collect();
                // Broken buckets: a count above a later one takes the later one's value.
                for j in (0..counts.len().saturating_sub(1)).rev() {
                    counts[j].1 = counts[j].1.min(counts[j + 1].1);
                }
                Some(share_at(le[i], &counts)).filter(|x| !x.is_nan())
            })
            .collect();
        out.push(StepSeries {
            labels: b.labels,
            vals,
            drop_name: false,
        });
    }
    Ok(super::window::vector(out))
}

/// A `vmrange` bucket: lower and upper bound as numbers and as written, and its series.
type VmBucket = (f64, f64, String, String, StepSeries);

/// Weighted sums over the finite buckets at one step: each bucket's observations count
/// at the middle of the bucket (VM's `histogram_avg`/`histogram_stdvar`). Returns
/// `(sum, sum of squares, observations)`.
fn bucket_moments(counts: &[(f64, f64)]) -> (f64, f64, f64) {
    let (mut le_prev, mut v_prev) = (0.0, 0.0);
    let (mut sum, mut sum2, mut total) = (0.0, 0.0, 0.0);
    for &(le, v) in counts {
        if le.is_infinite() {
            continue;
        }
        let mid = (le + le_prev) / 2.0;
        let w = v - v_prev;
        sum += mid * w;
        sum2 += mid * mid * w;
        total += w;
        (le_prev, v_prev) = (le, v);
    }
    (sum, sum2, total)
}

fn bucket_stat(ev: &Ev, c: &Call, g: &Grid, f: fn(f64, f64, f64) -> f64) -> EvalResult<Val> {
    let series = prometheus_le(ev.eval_vector(&c.args[0], g)?);
    let mut out = Vec::new();
    for b in le_groups(&series) {
        let vals = (0..g.n)
            .map(|i| {
                let counts: Vec<(f64, f64)> = b
                    .les
                    .iter()
                    .filter_map(|&(le, k)| series[k].vals[i].map(|v| (le, v)))
                    .collect();
                let (sum, sum2, total) = bucket_moments(&counts);
                Some(f(sum, sum2, total)).filter(|x| !x.is_nan())
            })
            .collect();
        out.push(StepSeries {
            labels: b.labels,
            vals,
            drop_name: false,
        });
    }
    Ok(super::window::vector(out))
}

fn stdvar_of(sum: f64, sum2: f64, total: f64) -> f64 {
    if total == 0.0 {
        return f64::NAN;
    }
    let avg = sum / total;
    (sum2 / total - avg * avg).max(0.0)
}

/// `histogram_avg(buckets)` on classic (`le`) or VM (`vmrange`) buckets: the mean of
/// the observations, each taken at the middle of its bucket.
pub(crate) fn histogram_avg(ev: &Ev, c: &Call, g: &Grid) -> EvalResult<Val> {
    bucket_stat(ev, c, g, |s, _, n| if n == 0.0 { f64::NAN } else { s / n })
}

/// `histogram_stdvar(buckets)`: the variance of the observations (bucket middles).
pub(crate) fn histogram_stdvar(ev: &Ev, c: &Call, g: &Grid) -> EvalResult<Val> {
    bucket_stat(ev, c, g, stdvar_of)
}

/// `histogram_stddev(buckets)`: the standard deviation of the observations.
pub(crate) fn histogram_stddev(ev: &Ev, c: &Call, g: &Grid) -> EvalResult<Val> {
    bucket_stat(ev, c, g, |s, s2, n| stdvar_of(s, s2, n).sqrt())
}

/// Converts `vmrange` buckets to cumulative `le` buckets; other series pass through.
pub(crate) fn prometheus_le(series: Vec<StepSeries>) -> Vec<StepSeries> {
    let (vm, mut out): (Vec<StepSeries>, Vec<StepSeries>) = series
        .into_iter()
        .partition(|s| s.labels.get("vmrange").is_some());
    let mut groups: HashMap<Labels, Vec<VmBucket>> = HashMap::new();
    let mut order: Vec<Labels> = Vec::new();
    for s in vm {
        let r = s.labels.get("vmrange").unwrap_or("").to_string();
        let (Some(lo), Some(hi)) = (vmrange::lower(&r), vmrange::upper(&r)) else {
            continue;
        };
        let (los, his) = r.split_once("...").unwrap_or(("", ""));
        let (los, his) = (los.to_string(), his.to_string());
        let mut b = s.labels.builder();
        b.del("vmrange");
        let key = b.build();
        if !groups.contains_key(&key) {
            order.push(key.clone());
        }
        groups.entry(key).or_default().push((lo, hi, los, his, s));
    }
    for key in order {
        let Some(mut bs) = groups.remove(&key) else {
            continue;
        };
        bs.sort_by(|a, b| a.1.total_cmp(&b.1));
        let n = bs.first().map_or(0, |b| b.4.vals.len());
        // Every step where some bucket of the histogram has a value gets a count in
        // every `le` bucket (0 below the first observation).
        let mut acc: Vec<Option<f64>> = (0..n)
            .map(|i| bs.iter().any(|b| b.4.vals[i].is_some()).then_some(0.0))
            .collect();
        let mut prev_hi = f64::NAN;
        let mut push = |le: &str, vals: Vec<Option<f64>>, drop_name: bool| {
            let mut b = key.builder();
            b.set("le", le);
            out.push(StepSeries {
                labels: b.build(),
                vals,
                drop_name,
            });
        };
        let mut last_drop = false;
        for (lo, hi, los, his, s) in bs {
            if lo != prev_hi {
                push(&los, acc.clone(), s.drop_name);
            }
            for (a, v) in acc.iter_mut().zip(&s.vals) {
                if let Some(v) = v {
                    *a = Some(a.unwrap_or(0.0) + v);
                }
            }
            push(&his, acc.clone(), s.drop_name);
            prev_hi = hi;
            last_drop = s.drop_name;
        }
        if prev_hi != f64::INFINITY {
            push("+Inf", acc.clone(), last_drop);
        }
    }
    out
}

/// True when `e` visibly works with VM `vmrange` buckets: it calls `histogram_over_time`
/// or `histogram`, groups by `vmrange`, or matches on it.
fn uses_vmrange(e: &Expr) -> bool {
    let names_vmrange =
        |ms: &[gnomon_tsdb_core::model::Matcher]| ms.iter().any(|m| m.name == "vmrange");
    match e {
        Expr::Vector(vs) => names_vmrange(&vs.matchers),
        Expr::Matrix(m) => names_vmrange(&m.selector.matchers),
        Expr::Subquery(sq) => uses_vmrange(&sq.expr),
        Expr::Neg(x) => uses_vmrange(x),
        Expr::Binary(b) => uses_vmrange(&b.lhs) || uses_vmrange(&b.rhs),
        Expr::Call(c) => c.func.name == "histogram_over_time" || c.args.iter().any(uses_vmrange),
        Expr::Aggregate(a) => {
            let grouped = match &a.grouping {
                Some(Grouping::By(n)) => n.iter().any(|x| x == "vmrange"),
                _ => false,
            };
            a.func.name == "histogram" || grouped || a.args.iter().any(uses_vmrange)
        }
        Expr::Number(_) | Expr::String(_) | Expr::Special(_) => false,
    }
}

/// `histogram_quantile(phi, buckets)`: PromQL's, reading VM `vmrange` buckets too when
/// the argument visibly produces them (they are turned into `le` buckets first, as
/// `prometheus_buckets` does).
pub(crate) fn histogram_quantile(ev: &Ev, c: &Call, g: &Grid) -> EvalResult<Val> {
    let def = crate::parser::functions::lookup("prometheus_buckets");
    match (def, c.args.get(1)) {
        (Some(def), Some(arg)) if uses_vmrange(arg) => {
            let mut wrapped = c.clone();
            wrapped.args[1] = Expr::Call(Call {
                func: def,
                args: vec![arg.clone()],
                keep_metric_names: false,
            });
            crate::engine::histogram::histogram_quantile(ev, &wrapped, g)
        }
        _ => crate::engine::histogram::histogram_quantile(ev, c, g),
    }
}

/// `prometheus_buckets(q)`: VM `vmrange` buckets as cumulative Prometheus `le` buckets.
pub(crate) fn prometheus_buckets(ev: &Ev, c: &Call, g: &Grid) -> EvalResult<Val> {
    let v = ev.eval_vector(&c.args[0], g)?;
    Ok(super::window::vector(prometheus_le(v)))
}

/// `buckets_limit(k, buckets)`: at most `k` buckets per histogram (at least 3: the first
/// and last stay). While there are too many, the adjacent inner pair with the fewest
/// observations together is merged into its upper bucket (VM's rule).
pub(crate) fn buckets_limit(ev: &Ev, c: &Call, g: &Grid) -> EvalResult<Val> {
    let k = ev
        .eval_scalar(&c.args[0], g)?
        .first()
        .copied()
        .unwrap_or(0.0);
    if k.is_nan() || k < 1.0 {
        return Ok(Val::Vector(Vec::new()));
    }
    let limit = (k.min(1e9) as usize).max(3);
    let series = prometheus_le(ev.eval_vector(&c.args[1], g)?);
    let mut keep = vec![false; series.len()];
    for b in le_groups(&series) {
        let mut les: Vec<usize> = b.les.iter().map(|x| x.1).collect();
        // Observations per bucket: the cumulative counts minus the bucket below.
        let mut hits: Vec<f64> = (0..les.len())
            .map(|j| {
                let cur = &series[les[j]].vals;
                (0..g.n)
                    .filter_map(|i| {
                        let below = if j == 0 {
                            Some(0.0)
                        } else {
                            series[les[j - 1]].vals[i]
                        };
                        Some(cur[i]? - below?)
                    })
                    .sum()
            })
            .collect();
        while les.len() > limit {
            let mut best = 1;
            for i in 1..les.len() - 2 {
                if hits[i] + hits[i + 1] < hits[best] + hits[best + 1] {
                    best = i;
                }
            }
            hits[best + 1] += hits[best];
            hits.remove(best);
            les.remove(best);
        }
        for k in les {
            keep[k] = true;
        }
    }
    let out = series
        .into_iter()
        .zip(keep)
        .filter_map(|(s, k)| k.then_some(s))
        .collect();
    Ok(Val::Vector(out))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn share_interpolates_inside_a_bucket() {
        let c = [(1.0, 2.0), (2.0, 6.0), (f64::INFINITY, 8.0)];
        assert_eq!(share_at(1.0, &c), 0.25);
        assert_eq!(share_at(1.5, &c), 0.25 + 0.5 * 0.5);
        assert_eq!(share_at(3.0, &c), 0.75);
        assert_eq!(share_at(-1.0, &c), 0.0);
        assert_eq!(share_at(f64::INFINITY, &c), 1.0);
        assert_eq!(share_at(0.5, &c), 0.125);
    }

    #[test]
    fn bucket_moments_use_bucket_middles() {
        // 2 observations in (0, 1], 4 in (1, 2], 2 above 2 (ignored).
        let c = [(1.0, 2.0), (2.0, 6.0), (f64::INFINITY, 8.0)];
        let (s, s2, n) = bucket_moments(&c);
        assert_eq!(
            (s, s2, n),
            (2.0 * 0.5 + 4.0 * 1.5, 2.0 * 0.25 + 4.0 * 2.25, 6.0)
        );
        assert!((stdvar_of(s, s2, n) - (9.5 / 6.0 - (7.0f64 / 6.0).powi(2))).abs() < 1e-12);
    }
}
