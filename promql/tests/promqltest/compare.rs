//! Comparing a query result with an eval's expectations, as the reference harness does.

use std::collections::HashMap;

use gnomon_promql::engine::Value;
use gnomon_tsdb_core::model::{Labels, Sample, is_stale_nan};

use super::script::{Eval, FailExpect, Slot};

/// Float equality of the promqltest harness.
fn float_eq(a: f64, b: f64) -> bool {
    if is_stale_nan(a) || is_stale_nan(b) {
        return is_stale_nan(a) && is_stale_nan(b);
    }
    if a.is_nan() && b.is_nan() {
        return true;
    }
    if a == b {
        return true;
    }
    let sum = a.abs() + b.abs();
    if a == 0.0 || b == 0.0 || sum < f64::MIN_POSITIVE {
        return (a - b).abs() < 1e-6 * f64::MIN_POSITIVE;
    }
    (a - b).abs() / sum < 1e-6
}

fn matches(e: &FailExpect, text: &str) -> bool {
    match e {
        FailExpect::Any => true,
        FailExpect::Msg(m) => m == text,
        FailExpect::Regex(r) => regex::Regex::new(r).is_ok_and(|re| re.is_match(text)),
    }
}

/// The annotation rules: with `expect warn`/`info` lines, each must match a returned
/// annotation of its kind and each returned one must match a line; `no_warn`/`no_info`
/// forbid them.
fn check_annotations(ev: &Eval, notes: &[String]) -> Result<(), String> {
    for (prefix, want, none) in [
        ("PromQL warning:", &ev.warns, ev.no_warn),
        ("PromQL info:", &ev.infos, ev.no_info),
    ] {
        let got: Vec<&String> = notes.iter().filter(|n| n.starts_with(prefix)).collect();
        if none && !got.is_empty() {
            return Err(format!("unexpected annotations {got:?}"));
        }
        if want.is_empty() {
            continue;
        }
        if got.is_empty() {
            return Err(format!("expected annotations {want:?}, got none"));
        }
        if let Some(w) = want.iter().find(|w| !got.iter().any(|g| matches(w, g))) {
            return Err(format!("expected annotation {w:?} not in {got:?}"));
        }
        if let Some(g) = got.iter().find(|g| !want.iter().any(|w| matches(w, g))) {
            return Err(format!("unexpected annotation {g:?}"));
        }
    }
    Ok(())
}

/// Checks a result (and, when given, its rendered annotations) against an eval.
pub fn check(
    ev: &Eval,
    got: Result<Value, String>,
    notes: Option<&[String]>,
) -> Result<(), String> {
    if ev.fail.is_none()
        && got.is_ok()
        && let Some(n) = notes
    {
        check_annotations(ev, n)?;
    }
    if let Some(f) = &ev.fail {
        return match got {
            Ok(v) => Err(format!("expected an error, got {}", short(&v))),
            Err(e) => match f {
                FailExpect::Any => Ok(()),
                FailExpect::Msg(m) if *m == e => Ok(()),
                FailExpect::Regex(r) if regex::Regex::new(r).is_ok_and(|re| re.is_match(&e)) => {
                    Ok(())
                }
                _ => Err(format!("error {e:?} does not match {f:?}")),
            },
        };
    }
    let got = got?;
    if let Some(s) = &ev.string {
        return match got {
            Value::String { v, .. } if v == *s => Ok(()),
            other => Err(format!("expected string {s:?}, got {}", short(&other))),
        };
    }
    if let Some(x) = ev.scalar {
        return match got {
            Value::Scalar { v, .. } if float_eq(v, x) => Ok(()),
            other => Err(format!("expected scalar {x}, got {}", short(&other))),
        };
    }
    if let Some((start, _, step)) = ev.range.or(ev.range_vector) {
        let Value::Matrix(m) = got else {
            return Err(format!("expected a matrix, got {}", short(&got)));
        };
        let mut by: HashMap<&Labels, &[Sample]> = HashMap::new();
        for s in &m {
            by.insert(&s.labels, &s.samples);
        }
        if by.len() != ev.results.len() {
            return Err(format!(
                "expected {} series, got {}: {}",
                ev.results.len(),
                m.len(),
                short(&Value::Matrix(m.clone()))
            ));
        }
        for (labels, slots) in &ev.results {
            let Some(samples) = by.get(labels) else {
                return Err(format!(
                    "missing series {labels}; got {}",
                    short(&Value::Matrix(m.clone()))
                ));
            };
            let want: Vec<(i64, f64)> = slots
                .iter()
                .enumerate()
                .filter_map(|(i, s)| match s {
                    Slot::Float(v) => Some((start + i as i64 * step, *v)),
                    _ => None,
                })
                .collect();
            let ok = want.len() == samples.len()
                && want
                    .iter()
                    .zip(samples.iter())
                    .all(|(w, g)| w.0 == g.t && float_eq(w.1, g.v));
            if !ok {
                let g: Vec<(i64, f64)> = samples.iter().map(|s| (s.t, s.v)).collect();
                return Err(format!("{labels}: want {want:?}, got {g:?}"));
            }
        }
        return Ok(());
    }
    let v = match got {
        Value::Vector(v) => v,
        Value::Matrix(m) if m.is_empty() && ev.results.is_empty() => return Ok(()),
        other => return Err(format!("expected a vector, got {}", short(&other))),
    };
    if v.len() != ev.results.len() {
        return Err(format!(
            "expected {} samples, got {}: {}",
            ev.results.len(),
            v.len(),
            short(&Value::Vector(v.clone()))
        ));
    }
    for (i, (labels, slots)) in ev.results.iter().enumerate() {
        let want = match slots.as_slice() {
            [Slot::Float(x)] => *x,
            _ => return Err("expected line without exactly one float".into()),
        };
        let found = if ev.ordered {
            Some(&v[i]).filter(|s| s.labels == *labels)
        } else {
            v.iter().find(|s| s.labels == *labels)
        };
        match found {
            Some(s) if float_eq(s.v, want) => {}
            Some(s) => return Err(format!("{labels}: want {want}, got {}", s.v)),
            None => {
                return Err(format!(
                    "missing {labels} (ordered: {}); got {}",
                    ev.ordered,
                    short(&Value::Vector(v.clone()))
                ));
            }
        }
    }
    Ok(())
}

fn short(v: &Value) -> String {
    let s = match v {
        Value::Vector(x) => format!(
            "vector[{}]",
            x.iter()
                .map(|s| format!("{} {}", s.labels, s.v))
                .collect::<Vec<_>>()
                .join(", ")
        ),
        Value::Matrix(m) => format!(
            "matrix[{}]",
            m.iter()
                .map(|s| format!(
                    "{} {:?}",
                    s.labels,
                    s.samples.iter().map(|x| (x.t, x.v)).collect::<Vec<_>>()
                ))
                .collect::<Vec<_>>()
                .join(", ")
        ),
        other => format!("{other:?}"),
    };
    s.chars().take(400).collect()
}
