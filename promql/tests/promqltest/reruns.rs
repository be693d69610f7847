//! The reference harness's extra checks on passed instant evals: re-run as a range query,
//! and re-run with every selector pinned by `@`.

use gnomon_promql::engine::{Engine, InstantSample, Value};
use gnomon_promql::parser::ast::{AtModifier, Expr, Number};
use gnomon_promql::{ParseOptions, parse_with};
use gnomon_tsdb_core::model::Querier;

use super::compare::check;
use super::script::Eval;

/// The harness's second extra check: a passed instant eval, re-run as a range query from
/// t-1m to t+1m every 1m, must give the same result at t. `None` when the check does not
/// apply, `Some(Ok(()))` when it agrees.
pub fn range_rerun(engine: &Engine, q: &dyn Querier, ev: &Eval) -> Option<Result<(), String>> {
    let special = ["start(", "end(", "range(", "step("];
    if ev.range.is_some()
        || ev.fail.is_some()
        || ev.string.is_some()
        || ev.range_vector.is_some()
        || ev.ordered
        || special.iter().any(|f| ev.expr.contains(f))
    {
        return None;
    }
    let expr = parse_with(&ev.expr, &ParseOptions::prometheus()).ok()?;
    let got = match engine.range(q, &expr, ev.at - 60_000, ev.at + 60_000, 60_000) {
        Ok(Value::Matrix(m)) => m,
        Ok(_) => return Some(Err("range query did not return a matrix".into())),
        Err(e) => return Some(Err(format!("range query failed: {e}"))),
    };
    let at_t: Vec<InstantSample> = got
        .iter()
        .filter_map(|s| {
            s.samples
                .iter()
                .find(|x| x.t == ev.at)
                .map(|x| InstantSample {
                    labels: s.labels.clone(),
                    t: ev.at,
                    v: x.v,
                })
        })
        .collect();
    let value = match ev.scalar {
        Some(_) => match at_t.as_slice() {
            [one] if one.labels.is_empty() => Value::Scalar { t: ev.at, v: one.v },
            _ => {
                return Some(Err(format!(
                    "expected one scalar point, got {}",
                    at_t.len()
                )));
            }
        },
        None => Value::Vector(at_t),
    };
    Some(check(ev, Ok(value), None))
}

/// Adds `@ at` to every selector and subquery without one (not inside a subquery that has
/// one), as the reference harness does.
fn pin_at(e: &mut Expr, at: f64) {
    let t = AtModifier::Time(Number(at));
    match e {
        Expr::Vector(v) => {
            v.at.get_or_insert(t);
        }
        Expr::Matrix(m) => {
            m.selector.at.get_or_insert(t);
        }
        Expr::Subquery(sq) if sq.at.is_none() => {
            sq.at = Some(t);
            pin_at(&mut sq.expr, at);
        }
        Expr::Neg(x) => pin_at(x, at),
        Expr::Binary(b) => {
            pin_at(&mut b.lhs, at);
            pin_at(&mut b.rhs, at);
        }
        Expr::Aggregate(a) => a.args.iter_mut().for_each(|x| pin_at(x, at)),
        Expr::Call(c) => c.args.iter_mut().for_each(|x| pin_at(x, at)),
        _ => {}
    }
}

/// The harness's first extra check: with every selector pinned to `@ t`, a passed instant
/// eval gives the same result at other evaluation times. `None` when it does not apply.
pub fn at_rerun(engine: &Engine, q: &dyn Querier, ev: &Eval) -> Option<Result<(), String>> {
    let time_dependent = [
        "days_in_month",
        "day_of_month",
        "day_of_week",
        "day_of_year",
        "end",
        "hour",
        "minute",
        "month",
        "predict_linear",
        "range",
        "start",
        "step",
        "time",
        "timestamp",
        "year",
    ];
    if ev.range.is_some()
        || ev.fail.is_some()
        || !ev.warns.is_empty()
        || !ev.infos.is_empty()
        || time_dependent.iter().any(|f| ev.expr.contains(f))
    {
        return None;
    }
    let mut expr = parse_with(&ev.expr, &ParseOptions::prometheus()).ok()?;
    pin_at(&mut expr, ev.at as f64 / 1000.0);
    let times = if ev.at == 0 {
        vec![-1000, 0, 1000]
    } else {
        vec![-10 * ev.at, 0, ev.at / 5, ev.at, 10 * ev.at]
    };
    for t in times {
        let got = engine.instant(q, &expr, t).map_err(|e| e.to_string());
        if let Err(why) = check(ev, got, None) {
            return Some(Err(format!("at {t}ms with @ pinned: {why}")));
        }
    }
    Some(Ok(()))
}
