//! Prometheus' experimental range modifiers. `x[5m] anchored`: the window also holds the
//! last sample at or before its start, and `increase`/`rate`/`delta` are exact
//! differences (no extrapolation). `x[5m] smoothed`: the values at both window ends are
//! interpolated between their neighbouring samples (from zero across a counter reset);
//! `x smoothed` interpolates an instant selector the same way.

use gnomon_tsdb_core::model::{Sample, is_stale_nan};

use super::error::{EvalError, EvalResult};
use super::eval::{StepSeries, Windows};
use crate::parser::ast::RangeModifier;

/// Fails when `func` does not accept the modifier, with Prometheus' message.
pub(crate) fn check(func: &str, md: RangeModifier) -> EvalResult<()> {
    let allowed: &[&str] = match md {
        RangeModifier::Smoothed => &["delta", "increase", "rate"],
        RangeModifier::Anchored => &["changes", "delta", "increase", "rate", "resets"],
    };
    if allowed.contains(&func) {
        return Ok(());
    }
    Err(EvalError::InvalidArgument(format!(
        "{} modifier can only be used with: {} - not with {func}",
        md.name(),
        allowed.join(", ")
    )))
}

/// The value at `t`, interpolated between `s[idx - 1]` (at or before `t`) and `s[idx]`
/// (after `t`); the nearest sample when one side is missing. `counter`: a drop between the
/// two neighbours is a reset, so the line starts from zero.
pub(crate) fn interpolate(s: &[Sample], t: i64, idx: usize, counter: bool) -> f64 {
    if idx == 0 {
        return s[0].v;
    }
    let a = s[idx - 1];
    if idx == s.len() || a.t == t {
        return a.v;
    }
    let b = s[idx];
    let av = if counter && b.v < a.v { 0.0 } else { a.v };
    av + (b.v - av) * (t - a.t) as f64 / (b.t - a.t) as f64
}

fn counter_increase(p: &[Sample]) -> f64 {
    let mut inc = 0.0;
    for w in p.windows(2) {
        inc += if w[1].v < w[0].v {
            w[1].v
        } else {
            w[1].v - w[0].v
        };
    }
    inc
}

fn apply(func: &str, p: &[Sample], range_secs: f64) -> Option<f64> {
    let (first, last) = (p.first()?, p.last()?);
    Some(match func {
        "increase" => counter_increase(p),
        "rate" => counter_increase(p) / range_secs,
        "delta" => last.v - first.v,
        "changes" => p.windows(2).filter(|w| w[1].v != w[0].v).count() as f64,
        "resets" => p.windows(2).filter(|w| w[1].v < w[0].v).count() as f64,
        _ => return None,
    })
}

/// Evaluates `func` over modified windows, per series and step.
pub(crate) fn rollup(func: &str, w: &Windows, md: RangeModifier, lookback: i64) -> Vec<StepSeries> {
    let range_secs = w.range as f64 / 1000.0;
    let mut buf: Vec<Sample> = Vec::new();
    let mut out = Vec::with_capacity(w.series.len());
    for ser in &w.series {
        let s = &ser.samples;
        let vals = w
            .eff
            .iter()
            .map(|&end| {
                let start = end - w.range;
                let lo = s.partition_point(|x| x.t <= start);
                let hi = s.partition_point(|x| x.t <= end);
                buf.clear();
                match md {
                    RangeModifier::Anchored => {
                        if lo == hi {
                            return None;
                        }
                        if lo > 0 && s[lo - 1].t > start - lookback {
                            buf.push(s[lo - 1]);
                        }
                        buf.extend_from_slice(&s[lo..hi]);
                    }
                    RangeModifier::Smoothed => {
                        if hi == 0 || lo == s.len() {
                            return None;
                        }
                        let counter = func != "delta";
                        buf.push(Sample::new(start, interpolate(s, start, lo, counter)));
                        buf.extend_from_slice(&s[lo..hi]);
                        buf.push(Sample::new(end, interpolate(s, end, hi, counter)));
                    }
                }
                apply(func, &buf, range_secs)
            })
            .collect::<Vec<_>>();
        if vals.iter().any(Option::is_some) {
            out.push(StepSeries {
                labels: ser.labels.clone(),
                vals,
                drop_name: true,
            });
        }
    }
    out
}

/// `x smoothed`: per step, the value interpolated at the step time, when a sample lies in
/// the lookback window.
pub(crate) fn smoothed_values(s: &[Sample], eff: &[i64], lookback: i64) -> Vec<Option<f64>> {
    eff.iter()
        .map(|&t| {
            let hi = s.partition_point(|x| x.t <= t);
            let last = s[..hi].last()?;
            if last.t <= t - lookback || is_stale_nan(last.v) {
                return None;
            }
            let next_ok = s.get(hi).is_some_and(|n| !is_stale_nan(n.v));
            Some(if next_ok {
                interpolate(s, t, hi, false)
            } else {
                last.v
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn interpolation_restarts_from_zero_after_a_reset() {
        let s = [Sample::new(0, 100.0), Sample::new(15_000, 10.0)];
        assert!((interpolate(&s, 12_000, 1, true) - 8.0).abs() < 1e-12);
        assert!((interpolate(&s, 12_000, 1, false) - 28.0).abs() < 1e-12);
        assert_eq!(interpolate(&s, 20_000, 2, true), 10.0);
    }

    #[test]
    fn wrong_function_has_prometheus_message() {
        let e = check("deriv", RangeModifier::Smoothed).unwrap_err();
        assert_eq!(
            e.to_string(),
            "smoothed modifier can only be used with: delta, increase, rate - not with deriv"
        );
    }
}
