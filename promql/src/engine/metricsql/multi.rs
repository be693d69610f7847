//! Rollups with several outputs per input series, told apart by a label: `rollup*`
//! (`rollup="min|max|avg"`), `rollup_candlestick` (`open|close|low|high`),
//! `quantiles_over_time` (a label per phi), `count_values_over_time` and
//! `histogram_over_time` (`vmrange`).

use std::collections::HashMap;

use gnomon_tsdb_core::model::Sample;

use super::rollups::{VmRollup, mean_stddev, value_counts};
use super::vmrange::vmrange;
use super::window::{VmWin, slide};
use super::without_resets;
use crate::engine::aggregate::format_float;
use crate::engine::error::{EvalError, EvalResult};
use crate::engine::eval::{Ev, Grid, StepSeries, Val};
use crate::engine::functions::string_arg;
use crate::engine::stats::quantile;
use crate::parser::ast::{Call, Expr};

/// How a multi-output rollup is computed.
struct Spec<'a> {
    /// The label telling the outputs apart.
    label: &'a str,
    keep_name: bool,
    adjust: bool,
    /// Rewrites a series' samples before the windows slide (reset removal, deltas).
    pre: fn(&[Sample]) -> Vec<Sample>,
}

type Emit<'e> = dyn FnMut(String, f64) + 'e;

impl Ev<'_> {
    fn multi_rollup(
        &self,
        c: &Call,
        g: &Grid,
        spec: Spec,
        f: impl Fn(&VmWin, &mut Emit) + Sync,
    ) -> EvalResult<Val> {
        let params = self.rollup_params(c, g)?;
        let inp = self.rollup_input(c, g, false)?;
        let keep = spec.keep_name || c.keep_metric_names;
        let mut out = Vec::new();
        for s in &inp.series {
            let samples = (spec.pre)(&s.samples);
            let mut index: HashMap<String, usize> = HashMap::new();
            let mut outs: Vec<StepSeries> = Vec::new();
            slide(&samples, &inp, spec.adjust, &params, |k, w| {
                f(w, &mut |name: String, v: f64| {
                    if v.is_nan() {
                        return;
                    }
                    let o = *index.entry(name.clone()).or_insert_with(|| {
                        let mut b = s.labels.builder();
                        b.set(spec.label, &name);
                        outs.push(StepSeries {
                            labels: b.build(),
                            vals: vec![None; g.n],
                            drop_name: !keep,
                        });
                        outs.len() - 1
                    });
                    outs[o].vals[k] = Some(v);
                })
            });
            out.extend(outs);
        }
        Ok(super::window::vector(out))
    }
}

fn same(s: &[Sample]) -> Vec<Sample> {
    s.to_vec()
}

/// VM's `deltaValues`: each sample holds the change to the next one (the last repeats
/// the last change).
fn deltas(s: &[Sample], resets: bool) -> Vec<Sample> {
    let s = if resets {
        without_resets(s)
    } else {
        s.to_vec()
    };
    let mut out = s.clone();
    let mut d = 0.0;
    for k in 0..s.len().saturating_sub(1) {
        d = s[k + 1].v - s[k].v;
        out[k].v = d;
    }
    if let Some(l) = out.last_mut() {
        l.v = d;
    }
    out
}

/// VM's `derivValues`: each sample holds the slope to the next one.
fn derivs(s: &[Sample], resets: bool) -> Vec<Sample> {
    let s = if resets {
        without_resets(s)
    } else {
        s.to_vec()
    };
    let mut out = s.clone();
    let mut d = 0.0;
    let Some(first) = s.first() else { return out };
    let (mut pv, mut pt) = (first.v, first.t);
    for k in 0..s.len().saturating_sub(1) {
        let x = s[k + 1];
        if x.t == pt {
            out[k].v = d;
            continue;
        }
        d = (x.v - pv) / ((x.t - pt) as f64 / 1e3);
        out[k].v = d;
        (pv, pt) = (x.v, x.t);
    }
    if let Some(l) = out.last_mut() {
        l.v = d;
    }
    out
}

/// Each sample holds the time since the previous one in seconds (the first copies the
/// second).
fn intervals(s: &[Sample]) -> Vec<Sample> {
    let mut out = s.to_vec();
    let mut prev = f64::NAN;
    for x in out.iter_mut() {
        let t = x.t as f64 / 1e3;
        x.v = t - prev;
        prev = t;
    }
    if out.len() > 1 {
        out[0].v = out[1].v;
    }
    out
}

fn min_max_avg(w: &VmWin, only: Option<&str>, emit: &mut Emit) {
    if w.s.is_empty() {
        return;
    }
    let lo = w.vals().fold(f64::INFINITY, f64::min);
    let hi = w.vals().fold(f64::NEG_INFINITY, f64::max);
    let (avg, _, _) = mean_stddev(w.vals());
    for (name, v) in [("min", lo), ("max", hi), ("avg", avg)] {
        if only.is_none_or(|o| o == name) {
            emit(name.to_string(), v);
        }
    }
}

fn rollup_family(
    ev: &Ev,
    c: &Call,
    g: &Grid,
    pre: fn(&[Sample]) -> Vec<Sample>,
) -> EvalResult<Val> {
    let only = match c.args.get(1) {
        Some(Expr::String(s)) => Some(s.as_str()),
        _ => None,
    };
    if let Some(o) = only
        && !matches!(o, "min" | "max" | "avg")
    {
        return Err(EvalError::InvalidArgument(format!(
            "unexpected rollup tag value {o:?}; wanted min, max or avg"
        )));
    }
    let spec = Spec {
        label: "rollup",
        keep_name: c.func.name == "rollup",
        adjust: true,
        pre,
    };
    ev.multi_rollup(c, g, spec, |w, e| min_max_avg(w, only, e))
}

/// `rollup(m)`: min, max and avg of each window.
pub(crate) fn rollup(ev: &Ev, c: &Call, g: &Grid) -> EvalResult<Val> {
    rollup_family(ev, c, g, same)
}
/// `rollup_delta(m)`: min, max and avg of the changes between samples.
pub(crate) fn rollup_delta(ev: &Ev, c: &Call, g: &Grid) -> EvalResult<Val> {
    rollup_family(ev, c, g, |s| deltas(s, false))
}
/// `rollup_increase(m)`: as `rollup_delta` with counter resets removed.
pub(crate) fn rollup_increase(ev: &Ev, c: &Call, g: &Grid) -> EvalResult<Val> {
    rollup_family(ev, c, g, |s| deltas(s, true))
}
/// `rollup_deriv(m)`: min, max and avg of the slopes between samples.
pub(crate) fn rollup_deriv(ev: &Ev, c: &Call, g: &Grid) -> EvalResult<Val> {
    rollup_family(ev, c, g, |s| derivs(s, false))
}
/// `rollup_rate(m)`: as `rollup_deriv` with counter resets removed.
pub(crate) fn rollup_rate(ev: &Ev, c: &Call, g: &Grid) -> EvalResult<Val> {
    rollup_family(ev, c, g, |s| derivs(s, true))
}
/// `rollup_scrape_interval(m)`: min, max and avg of the gaps between samples.
pub(crate) fn rollup_scrape_interval(ev: &Ev, c: &Call, g: &Grid) -> EvalResult<Val> {
    rollup_family(ev, c, g, intervals)
}

/// `rollup_candlestick(m)`: open, close, low and high of the samples before the window
/// end, the open taken from the previous sample when it is within one step.
pub(crate) fn rollup_candlestick(ev: &Ev, c: &Call, g: &Grid) -> EvalResult<Val> {
    // VM computes the candle of step `t` over the window ending one step later.
    let shifted = Grid {
        start: g.start + super::window::vm_step(g),
        ..*g
    };
    let g = &shifted;
    let spec = Spec {
        label: "rollup",
        keep_name: true,
        adjust: true,
        pre: same,
    };
    ev.multi_rollup(c, g, spec, |w, emit| {
        let n = w.s.iter().take_while(|x| x.t < w.t).count();
        let vals: Vec<f64> = w.s[..n].iter().map(|x| x.v).collect();
        let first = w.prev.filter(|p| p.t + w.step >= w.t).map(|p| p.v);
        let all: Vec<f64> = first.into_iter().chain(vals.iter().copied()).collect();
        let Some(&open) = all.first() else { return };
        let close = vals.last().copied().unwrap_or(open);
        emit("open".into(), open);
        emit("close".into(), close);
        emit("low".into(), all.iter().copied().fold(open, f64::min));
        emit("high".into(), all.iter().copied().fold(open, f64::max));
    })
}

/// The rollups `aggr_over_time` accepts: VM's versions of the `*_over_time` basics and
/// every MetricsQL rollup with VM semantics.
fn aggr_fn(name: &str) -> Option<VmRollup> {
    use super::rollups as r;
    let f: r::VmFn = match name {
        "min_over_time" => r::min_over_time,
        "max_over_time" => r::max_over_time,
        "avg_over_time" => r::avg_over_time,
        "sum_over_time" => r::sum_over_time,
        "count_over_time" => r::count_over_time,
        "stddev_over_time" => r::stddev_over_time,
        "stdvar_over_time" => r::stdvar_over_time,
        "first_over_time" => r::first_over_time,
        "last_over_time" => r::default_rollup,
        "changes" => r::changes,
        "resets" => r::decreases_over_time,
        "delta" => r::delta,
        "increase" => return Some(VmRollup::new(r::delta).resets()),
        "rate" => return Some(VmRollup::new(r::deriv_fast).resets()),
        "irate" => return Some(VmRollup::new(r::ideriv).resets()),
        _ => {
            // Only rollups without parameters: VM rejects `count_eq_over_time` here.
            let def = crate::parser::functions::lookup(name).filter(|d| d.args.len() == 1)?;
            return match crate::engine::registry::lookup(def) {
                Some(crate::engine::registry::Impl::Vm(v)) => Some(v),
                _ => None,
            };
        }
    };
    Some(VmRollup::new(f))
}

/// `aggr_over_time("f", m)`: the VM rollup `f` with a `rollup="f"` label.
pub(crate) fn aggr_over_time(ev: &Ev, c: &Call, g: &Grid) -> EvalResult<Val> {
    let name = string_arg(c, 0)?.to_string();
    let Some(r) = aggr_fn(&name) else {
        return Err(EvalError::InvalidArgument(format!(
            "{name:?} cannot be used in aggr_over_time"
        )));
    };
    // VM widens windows by the outer function's name, and aggr_over_time never does.
    let spec = Spec {
        label: "rollup",
        keep_name: false,
        adjust: false,
        pre: if r.resets { without_resets } else { same },
    };
    ev.multi_rollup(c, g, spec, |w, emit| emit(name.clone(), (r.f)(w)))
}

/// `quantiles_over_time("label", phi1, …, m)`: one output per phi.
pub(crate) fn quantiles_over_time(ev: &Ev, c: &Call, g: &Grid) -> EvalResult<Val> {
    let label = string_arg(c, 0)?.to_string();
    let phis: Vec<Vec<f64>> = ev.rollup_params(c, g)?;
    let spec = Spec {
        label: &label,
        keep_name: true,
        adjust: false,
        pre: same,
    };
    let names: Vec<String> = phis
        .iter()
        .map(|p| format_float(p.first().copied().unwrap_or(f64::NAN)))
        .collect();
    ev.multi_rollup(c, g, spec, |w, emit| {
        let mut v: Vec<f64> = w.vals().collect();
        if v.is_empty() {
            return;
        }
        for (name, phi) in names.iter().zip(w.params) {
            emit(name.clone(), quantile(*phi, &mut v));
        }
    })
}

/// `count_values_over_time("label", m)`: per distinct value, how often it occurs.
pub(crate) fn count_values_over_time(ev: &Ev, c: &Call, g: &Grid) -> EvalResult<Val> {
    let label = string_arg(c, 0)?.to_string();
    let spec = Spec {
        label: &label,
        keep_name: false,
        adjust: false,
        pre: same,
    };
    ev.multi_rollup(c, g, spec, |w, emit| {
        for (v, n) in value_counts(w.vals()) {
            emit(format_float(v), n as f64);
        }
    })
}

/// `histogram_over_time(m)`: per VM bucket (`vmrange`), how many samples fall in it.
pub(crate) fn histogram_over_time(ev: &Ev, c: &Call, g: &Grid) -> EvalResult<Val> {
    let spec = Spec {
        label: "vmrange",
        keep_name: false,
        adjust: false,
        pre: same,
    };
    ev.multi_rollup(c, g, spec, |w, emit| {
        let ranges = w.vals().filter_map(vmrange);
        let mut counts: Vec<(String, usize)> = Vec::new();
        for r in ranges {
            match counts.iter_mut().find(|(k, _)| *k == r) {
                Some(e) => e.1 += 1,
                None => counts.push((r, 1)),
            }
        }
        for (r, n) in counts {
            emit(r, n as f64);
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s(v: &[(i64, f64)]) -> Vec<Sample> {
        v.iter().map(|&(t, v)| Sample::new(t, v)).collect()
    }

    #[test]
    fn deltas_sit_on_the_earlier_sample() {
        let d = deltas(&s(&[(0, 1.0), (10, 4.0), (20, 2.0)]), false);
        assert_eq!(d, s(&[(0, 3.0), (10, -2.0), (20, -2.0)]));
        let d = deltas(&s(&[(0, 1.0), (10, 4.0), (20, 2.0)]), true);
        assert_eq!(d, s(&[(0, 3.0), (10, 2.0), (20, 2.0)]));
    }

    #[test]
    fn derivs_are_per_second() {
        let d = derivs(
            &s(&[(0, 1.0), (2000, 5.0), (2000, 7.0), (4000, 9.0)]),
            false,
        );
        assert_eq!(d, s(&[(0, 2.0), (2000, 2.0), (2000, 2.0), (4000, 2.0)]));
    }

    #[test]
    fn intervals_copy_the_second_into_the_first() {
        let d = intervals(&s(&[(1000, 0.0), (3000, 0.0), (7000, 0.0)]));
        assert_eq!(d, s(&[(1000, 2.0), (3000, 2.0), (7000, 4.0)]));
    }
}
