//! Evaluator unit tests: window rules, lookback, staleness, extrapolation, matching.

use gnomon_tsdb_core::model::{Labels, STALE_NAN, Sample};

use super::memstore::MemStore;
use super::*;
use crate::parse;

fn store(series: &[(&str, &[(i64, f64)])]) -> MemStore {
    let mut m = MemStore::new();
    for (sel, pts) in series {
        let (name, rest) = sel.split_once('{').unwrap_or((sel, ""));
        let mut pairs = vec![("__name__".to_string(), name.to_string())];
        for kv in rest
            .trim_end_matches('}')
            .split(',')
            .filter(|s| !s.is_empty())
        {
            let (k, v) = kv.split_once('=').unwrap();
            pairs.push((k.to_string(), v.trim_matches('"').to_string()));
        }
        let l = Labels::from_pairs(&pairs);
        for &(t, v) in *pts {
            m.add(&l, Sample::new(t, v));
        }
    }
    m
}

fn instant(m: &MemStore, q: &str, t: i64) -> EvalResult<Vec<(String, f64)>> {
    let e = parse(q).unwrap();
    match Engine::default().instant(m, &e, t)? {
        Value::Vector(v) => Ok(v.into_iter().map(|s| (s.labels.to_string(), s.v)).collect()),
        Value::Scalar { v, .. } => Ok(vec![("scalar".into(), v)]),
        other => panic!("{other:?}"),
    }
}

#[test]
fn lookback_excludes_a_sample_exactly_five_minutes_old() {
    let m = store(&[("a", &[(0, 1.0)])]);
    assert_eq!(instant(&m, "a", 299_999).unwrap().len(), 1);
    assert!(instant(&m, "a", 300_000).unwrap().is_empty());
}

#[test]
fn staleness_marker_ends_a_series() {
    let m = store(&[("a", &[(0, 1.0), (10_000, STALE_NAN), (20_000, 3.0)])]);
    assert_eq!(instant(&m, "a", 5_000).unwrap()[0].1, 1.0);
    assert!(instant(&m, "a", 15_000).unwrap().is_empty());
    assert_eq!(instant(&m, "a", 25_000).unwrap()[0].1, 3.0);
    assert_eq!(
        instant(&m, "count_over_time(a[1m])", 25_000).unwrap()[0].1,
        2.0
    );
}

#[test]
fn range_windows_are_open_on_the_left() {
    let m = store(&[("a", &[(0, 1.0), (60_000, 2.0), (120_000, 3.0)])]);
    assert_eq!(
        instant(&m, "count_over_time(a[1m])", 120_000).unwrap()[0].1,
        1.0
    );
    assert_eq!(
        instant(&m, "count_over_time(a[1m] offset 1m)", 120_000).unwrap()[0].1,
        1.0
    );
    assert_eq!(
        instant(&m, "count_over_time(a[2m] @ 120)", 0).unwrap()[0].1,
        2.0
    );
}

#[test]
fn rate_extrapolates_like_prometheus() {
    // 0, 10, 20 … every 30s; window of 5m at t=5m holds 10 samples (30s..300s).
    let pts: Vec<(i64, f64)> = (0..=10).map(|i| (i * 30_000, i as f64 * 10.0)).collect();
    let m = store(&[("c", &pts)]);
    let r = instant(&m, "rate(c[5m])", 300_000).unwrap()[0].1;
    // Samples cover 270s of 300s; the start gap (30s) is below the 1.1x threshold and
    // extrapolates fully: increase = 90 * 300/270 = 100.
    assert!((r - 100.0 / 300.0).abs() < 1e-12, "{r}");
    let inc = instant(&m, "increase(c[5m])", 300_000).unwrap()[0].1;
    assert!((inc - 100.0).abs() < 1e-9, "{inc}");
    // A counter reset adds the value before it.
    let m = store(&[("c", &[(10_000, 5.0), (20_000, 1.0), (30_000, 4.0)])]);
    let d = instant(&m, "increase(c[30s])", 30_000).unwrap()[0].1;
    // Raw increase 4 - 5 + 5 (reset) = 4 over 20s of samples; the 10s before the first
    // sample is under 1.1x the 10s spacing, so it extrapolates: 4 * 30/20 = 6.
    assert!((d - 6.0).abs() < 1e-9, "{d}");
}

#[test]
fn many_to_many_matching_is_an_error_with_prometheus_text() {
    let m = store(&[
        ("dup_metric{label=\"alpha\"}", &[(0, 1.0)]),
        ("dup_metric{label=\"beta\"}", &[(0, 2.0)]),
        ("one", &[(0, 1.0)]),
    ]);
    let err = instant(&m, "one + on() dup_metric", 0).unwrap_err();
    assert_eq!(
        err.to_string(),
        "found duplicate series for the match group {} on the right hand-side of the operation: \
         [{__name__=\"dup_metric\", label=\"alpha\"}, {__name__=\"dup_metric\", label=\"beta\"}];\
         many-to-many matching not allowed: matching labels must be unique on one side"
    );
    let ok = instant(&m, "dup_metric * on() group_left one", 0).unwrap();
    assert_eq!(ok.len(), 2);
}

#[test]
fn names_are_dropped_at_the_end_and_duplicates_detected() {
    let m = store(&[("a{x=\"1\"}", &[(0, 1.0)]), ("b{x=\"1\"}", &[(0, 2.0)])]);
    assert_eq!(
        instant(&m, "sum by (__name__) (a)", 0).unwrap(),
        vec![("{__name__=\"a\"}".to_string(), 1.0)]
    );
    assert!(matches!(
        instant(&m, "abs({x=\"1\"})", 0),
        Err(EvalError::DuplicateLabelset)
    ));
    let r = instant(
        &m,
        "label_replace(abs(a), \"__name__\", \"z\", \"\", \"\")",
        0,
    )
    .unwrap();
    assert_eq!(r, vec![("{__name__=\"z\", x=\"1\"}".to_string(), 1.0)]);
}

#[test]
fn range_query_slides_over_steps() {
    let pts: Vec<(i64, f64)> = (0..=20).map(|i| (i * 10_000, i as f64)).collect();
    let m = store(&[("a", &pts)]);
    let e = parse("sum_over_time(a[20s])").unwrap();
    let Value::Matrix(mx) = Engine::default().range(&m, &e, 0, 200_000, 50_000).unwrap() else {
        panic!()
    };
    let vals: Vec<f64> = mx[0].samples.iter().map(|s| s.v).collect();
    assert_eq!(vals, vec![0.0, 9.0, 19.0, 29.0, 39.0]);
}

#[test]
fn absurd_times_and_resolutions_are_errors_not_panics() {
    let m = store(&[("a", &[(0, 1.0)])]);
    for q in [
        "a offset 1e300",
        "a @ -1e300",
        "rate(a[100000000y])",
        "max_over_time(a[1000000d:1ms])",
    ] {
        let e = parse(q).unwrap();
        let _ = Engine::default().instant(&m, &e, 0);
        let _ = Engine::default().instant(&m, &e, i64::MAX);
    }
    let e = parse("a").unwrap();
    let err = Engine::default()
        .range(&m, &e, 0, 1_000_000_000, 1)
        .unwrap_err();
    assert!(
        err.to_string()
            .starts_with("exceeded maximum resolution of 30000 points"),
        "{err}"
    );
    let e = parse("max_over_time(a[1000000d:1ms])").unwrap();
    assert!(matches!(
        Engine::default().instant(&m, &e, 0),
        Err(EvalError::TooManySamples(_))
    ));
}

#[test]
fn subquery_steps_are_aligned_to_the_epoch() {
    let pts: Vec<(i64, f64)> = (0..=60).map(|i| (i * 10_000, i as f64)).collect();
    let m = store(&[("a", &pts)]);
    // Inner steps at 0, 60s, 120s …: a 2m window ending at 150s holds 120s and 60s? No:
    // (30s, 150s] holds the steps 60s and 120s, whose values are 6 and 12.
    let r = instant(&m, "sum_over_time(a[2m:1m])", 150_000).unwrap();
    assert_eq!(r[0].1, 18.0);
}

#[test]
fn fill_modifiers_stand_in_for_missing_series() {
    let m = store(&[("l{k=\"a\"}", &[(0, 1.0)]), ("r{k=\"b\"}", &[(0, 10.0)])]);
    let mut r = instant(&m, "l + fill(0) r", 0).unwrap();
    r.sort_by(|a, b| a.0.cmp(&b.0));
    assert_eq!(
        r,
        vec![
            ("{k=\"a\"}".to_string(), 1.0),
            ("{k=\"b\"}".to_string(), 10.0)
        ]
    );
}

#[test]
fn sample_limit_bounds_reads_and_intermediate_results() {
    let pts: Vec<(i64, f64)> = (0..100).map(|i| (i * 1000, i as f64)).collect();
    let m = store(&[("a{i=\"1\"}", &pts), ("a{i=\"2\"}", &pts)]);
    let small = Engine::new(EngineOptions {
        max_samples: 150,
        ..EngineOptions::default()
    });
    let e = parse("a").unwrap();
    assert!(matches!(
        small.instant(&m, &e, 99_000),
        Err(EvalError::TooManySamples(_))
    ));
    let e = parse("vector(1)").unwrap();
    assert!(small.range(&m, &e, 0, 100_000, 1000).is_ok());
    let e = parse("vector(1) + vector(2) * vector(3)").unwrap();
    assert!(small.range(&m, &e, 0, 149_000, 1000).is_ok());
    assert!(matches!(
        small.range(&m, &e, 0, 151_000, 1000),
        Err(EvalError::TooManySamples(_))
    ));
}
