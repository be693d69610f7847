//! MetricsQL functions through the engine, with hand-computed expectations.

use std::time::Duration;

use gnomon_tsdb_core::model::{Labels, Sample};

use crate::engine::{Engine, EngineOptions, EvalError, Value, memstore::MemStore};

/// `g{i="1"}` at 0s=1, 60s=2, 180s=4; `g{i="2"}` at 0s=10, 60s=20, 120s=30, 180s=40;
/// `c{i="1"}` a counter 0, 5, 2 (reset), 6 at 0/60/120/180s. The lookback is 30s, so
/// `g{i="1"}` has no value at 120s and 240s.
fn store() -> MemStore {
    let mut s = MemStore::new();
    let mut add = |pairs: &[(&str, &str)], pts: &[(i64, f64)]| {
        let l = Labels::from_pairs(pairs);
        for &(t, v) in pts {
            s.add(&l, Sample::new(t * 1000, v));
        }
    };
    add(
        &[("__name__", "g"), ("i", "1")],
        &[(0, 1.0), (60, 2.0), (180, 4.0)],
    );
    add(
        &[("__name__", "g"), ("i", "2")],
        &[(0, 10.0), (60, 20.0), (120, 30.0), (180, 40.0)],
    );
    add(
        &[("__name__", "c"), ("i", "1")],
        &[(0, 0.0), (60, 5.0), (120, 2.0), (180, 6.0)],
    );
    s
}

fn engine() -> Engine {
    Engine::new(EngineOptions {
        lookback_delta: Duration::from_secs(30),
        ..EngineOptions::default()
    })
}

/// Range query 0..240s every 60s: `labels → values per step`.
fn range(q: &str) -> Vec<(String, Vec<Option<f64>>)> {
    let expr = crate::parse(q).unwrap_or_else(|e| panic!("{q}: {e}"));
    let Value::Matrix(m) = engine().range(&store(), &expr, 0, 240_000, 60_000).unwrap() else {
        panic!("{q}: not a matrix")
    };
    m.into_iter()
        .map(|s| {
            let mut vals = vec![None; 5];
            for x in s.samples {
                vals[(x.t / 60_000) as usize] = Some(x.v);
            }
            (s.labels.to_string(), vals)
        })
        .collect()
}

fn one(q: &str) -> Vec<Option<f64>> {
    let r = range(q);
    assert_eq!(r.len(), 1, "{q}: {r:?}");
    r.into_iter().next().map(|x| x.1).unwrap_or_default()
}

#[test]
fn gap_filling() {
    let q = r#"g{i="1"}"#;
    assert_eq!(
        one(q),
        vec![Some(1.0), Some(2.0), None, Some(4.0), None],
        "the gaps the tests below fill"
    );
    assert_eq!(
        one(&format!("interpolate({q})")),
        vec![Some(1.0), Some(2.0), Some(3.0), Some(4.0), Some(4.0)]
    );
    assert_eq!(
        one(&format!("keep_last_value({q})")),
        vec![Some(1.0), Some(2.0), Some(2.0), Some(4.0), Some(4.0)]
    );
    assert_eq!(
        one(&format!("keep_next_value({q})")),
        vec![Some(1.0), Some(2.0), Some(4.0), Some(4.0), None]
    );
    assert_eq!(
        one(&format!("{q} default 7")),
        vec![Some(1.0), Some(2.0), Some(7.0), Some(4.0), Some(7.0)]
    );
}

#[test]
fn running_and_range() {
    let q = r#"g{i="1"}"#;
    assert_eq!(
        one(&format!("running_sum({q})")),
        vec![Some(1.0), Some(3.0), Some(3.0), Some(7.0), Some(7.0)]
    );
    assert_eq!(
        one(&format!("running_max({q})")),
        vec![Some(1.0), Some(2.0), Some(2.0), Some(4.0), Some(4.0)]
    );
    // VM divides by the position since the first value, gaps included: 1.5 + 2.5 / 4.
    assert_eq!(
        one(&format!("running_avg({q})")),
        vec![Some(1.0), Some(1.5), Some(1.5), Some(2.125), Some(2.125)]
    );
    // range_avg is the last running_avg, from the first value on; range_last and
    // range_quantile write at the steps that have a value.
    let at = |x: f64| vec![Some(x), Some(x), None, Some(x), None];
    assert_eq!(one(&format!("range_avg({q})")), vec![Some(2.125); 5]);
    assert_eq!(one(&format!("range_last({q})")), at(4.0));
    assert_eq!(one(&format!("range_quantile(0.5, {q})")), at(2.0));
    assert_eq!(
        one(&format!("smooth_exponential({q}, 0.5)")),
        vec![Some(1.0), Some(1.5), None, Some(2.75), None]
    );
    assert_eq!(
        one(r#"remove_resets(c)"#),
        vec![Some(0.0), Some(5.0), Some(7.0), Some(11.0), None]
    );
}

#[test]
fn conditional_operators_match_on_labels() {
    // g{i="1"} where c{i="1"} has a value; g{i="2"} has no partner and is dropped.
    let r = range("g if c");
    assert_eq!(r.len(), 1);
    assert_eq!(r[0].0, r#"{__name__="g", i="1"}"#);
    assert_eq!(r[0].1, vec![Some(1.0), Some(2.0), None, Some(4.0), None]);
    // ifnot keeps the unmatched series whole and blanks the matched one where c exists.
    let r = range("g ifnot c");
    assert_eq!(r.len(), 1, "{r:?}");
    assert_eq!(r[0].0, r#"{__name__="g", i="2"}"#);
    let r = range("g if g > 15");
    assert_eq!(r.len(), 1);
    assert_eq!(r[0].1, vec![None, Some(20.0), Some(30.0), Some(40.0), None]);
}

#[test]
fn limit_clause_keeps_the_first_groups() {
    let r = range("sum(g) by (i) limit 1");
    assert_eq!(r.len(), 1);
    assert_eq!(r[0].0, r#"{i="1"}"#);
}

#[test]
fn label_functions() {
    let names = |q: &str| range(q).into_iter().map(|x| x.0).collect::<Vec<_>>();
    assert_eq!(
        names(r#"label_set(c, "a", "b", "i", "")"#),
        vec![r#"{__name__="c", a="b"}"#]
    );
    assert_eq!(names(r#"label_del(c, "i")"#), vec![r#"{__name__="c"}"#]);
    assert_eq!(names(r#"label_keep(c, "i")"#), vec![r#"{i="1"}"#]);
    assert_eq!(
        names(r#"label_copy(c, "i", "j")"#),
        vec![r#"{__name__="c", i="1", j="1"}"#]
    );
    assert_eq!(
        names(r#"label_move(c, "i", "j")"#),
        vec![r#"{__name__="c", j="1"}"#]
    );
    assert_eq!(
        names(r#"label_transform(c, "__name__", "c", "cc_$0")"#),
        vec![r#"{__name__="cc_c", i="1"}"#]
    );
    assert_eq!(
        names(r#"label_uppercase(label_set(c, "x", "ab"), "x")"#),
        vec![r#"{__name__="c", i="1", x="AB"}"#]
    );
    assert_eq!(
        names(r#"label_match(g, "i", "2|3")"#),
        vec![r#"{__name__="g", i="2"}"#]
    );
    assert_eq!(
        names(r#"label_mismatch(g, "i", "2|3")"#),
        vec![r#"{__name__="g", i="1"}"#]
    );
    assert_eq!(
        names(r#"label_graphite_group(label_set(c, "__name__", "a.b.c"), 2, 0)"#),
        vec![r#"{__name__="c.a", i="1"}"#]
    );
    assert_eq!(
        names("drop_common_labels(g)"),
        vec![r#"{i="1"}"#, r#"{i="2"}"#]
    );
    // A name a rollup dropped is gone for label functions too (VM drops it at once).
    assert_eq!(
        names(r#"label_copy(lag(c[1m]), "__name__", "n")"#),
        vec![r#"{i="1"}"#]
    );
    assert_eq!(
        one(r#"label_value(label_set(c, "n", "2.5"), "n")"#),
        vec![Some(2.5), Some(2.5), Some(2.5), Some(2.5), None]
    );
}

#[test]
fn label_regex_errors_name_the_function() {
    let expr = crate::parse(r#"label_match(g, "i", "(")"#).unwrap();
    match engine().instant(&store(), &expr, 0) {
        Err(EvalError::InvalidRegex { func, .. }) => assert_eq!(func, "label_match"),
        other => panic!("{other:?}"),
    }
}

#[test]
fn vm_rollups_see_the_previous_sample() {
    // The counter's window (60s, 120s] holds 2 (after the reset from 5); VM's
    // increase_pure counts from the previous sample with the reset removed: 7 - 5.
    let r = one("increase_pure(c[1m])");
    assert_eq!(r[2], Some(2.0));
    // lag: seconds since the last sample; g{i="1"} has none in (60, 120].
    let r = range("lag(g[1m])");
    // At 120s the window is empty but the sample at 60s is recent enough (VM's prevValue).
    assert_eq!(
        r[0].1,
        vec![Some(0.0), Some(0.0), Some(60.0), Some(0.0), None]
    );
    // rollup() gives min, max and avg with a `rollup` label; the name stays.
    let r = range(r#"rollup(g{i="2"}[2m])"#);
    let names: Vec<&str> = r.iter().map(|x| x.0.as_str()).collect();
    assert_eq!(
        names,
        vec![
            r#"{__name__="g", i="2", rollup="avg"}"#,
            r#"{__name__="g", i="2", rollup="max"}"#,
            r#"{__name__="g", i="2", rollup="min"}"#,
        ]
    );
    assert_eq!(r[0].1[2], Some(25.0));
    // An implicit window is the step.
    assert_eq!(one(r#"count_gt_over_time(g{i="2"}, 15)"#)[2], Some(1.0));
}

#[test]
fn implicit_windows_of_rate_like_rollups_cover_the_scrape_interval() {
    // g{i="2"} every 60s; a 10s step. deriv(x) reads max(10s, 60s + 60s/8) = 67.5s,
    // which holds two samples at each minute; sum_over_time(x) reads the bare step.
    let st = store();
    let run = |q: &str| {
        let expr = crate::parse(q).unwrap();
        match engine().range(&st, &expr, 60_000, 120_000, 10_000).unwrap() {
            Value::Matrix(m) => m,
            other => panic!("{other:?}"),
        }
    };
    let d = run(r#"deriv(g{i="2"})"#);
    assert_eq!(d.len(), 1);
    assert_eq!(
        d[0].samples.first().map(|x| (x.t, x.v)),
        Some((60_000, 10.0 / 60.0))
    );
    let s = run(r#"sum_over_time(g{i="2"})"#);
    let times: Vec<i64> = s[0].samples.iter().map(|x| x.t).collect();
    assert_eq!(times, vec![60_000, 120_000]);
}

#[test]
fn aggregations() {
    assert_eq!(one("median(g)")[1], Some(11.0));
    assert_eq!(one("sum2(g)")[1], Some(404.0));
    assert_eq!(one("geomean(g)")[1], Some(40f64.sqrt()));
    let r = range("topk_max(1, g)");
    assert_eq!(r.len(), 1);
    assert_eq!(r[0].0, r#"{__name__="g", i="2"}"#);
    let r = range("zscore(g)");
    assert_eq!(r[0].1[1], Some(-1.0));
    assert_eq!(r[1].1[1], Some(1.0));
    let r = range(r#"quantiles("q", 0, 1, g)"#);
    let names: Vec<&str> = r.iter().map(|x| x.0.as_str()).collect();
    assert_eq!(names, vec![r#"{q="0"}"#, r#"{q="1"}"#]);
}

/// Every MetricsQL function, called with plausible and with odd arguments, gives a value
/// or an error, never a panic.
#[test]
fn every_metricsql_function_evaluates_without_panicking() {
    use crate::parser::functions::{ArgType, FUNCTIONS, FunctionKind};
    let arg = |t: ArgType, odd: bool| match (t, odd) {
        (ArgType::Scalar, false) => "0.5".to_string(),
        (ArgType::Scalar, true) => "NaN".to_string(),
        (ArgType::Vector, false) => "g".to_string(),
        (ArgType::Vector, true) => "nothing".to_string(),
        (ArgType::Matrix, false) => "g[2m]".to_string(),
        (ArgType::Matrix, true) => "g[1ms]".to_string(),
        (ArgType::String, false) => r#""i""#.to_string(),
        (ArgType::String, true) => r#""""#.to_string(),
    };
    let st = store();
    let mut evaluated = 0;
    for f in FUNCTIONS.iter().filter(|f| f.metricsql) {
        for odd in [false, true] {
            for n in f.required..=f.args.len() + usize::from(f.variadic) {
                let args: Vec<String> = (0..n)
                    .filter_map(|i| f.arg_type(i).map(|t| arg(t, odd)))
                    .collect();
                let q = if f.kind == FunctionKind::Aggregate {
                    format!("{}({}) by (i)", f.name, args.join(", "))
                } else {
                    format!("{}({})", f.name, args.join(", "))
                };
                let Ok(expr) = crate::parse(&q) else { continue };
                evaluated += 1;
                let _ = engine().instant(&st, &expr, 120_000);
                let _ = engine().range(&st, &expr, 0, 240_000, 60_000);
                let _ = engine().range(&st, &expr, 240_000, 0, 60_000);
            }
        }
    }
    let functions = FUNCTIONS.iter().filter(|f| f.metricsql).count();
    assert!(
        evaluated >= 2 * functions,
        "{evaluated} calls for {functions} functions"
    );
}
