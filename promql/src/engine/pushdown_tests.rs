//! Streamed selectors and pushed-down aggregations give the same bits as the
//! materialized path (`x * 1` forces it), and the per-query limits hold.

use gnomon_tsdb_core::model::{Labels, STALE_NAN, Sample};
use proptest::prelude::*;

use super::memstore::MemStore;
use super::*;
use crate::parse;

/// `n` series `m{k="k<j%3>", j="<j>"}` with the given points (shared by all series,
/// moved by the series number so they differ).
fn store(n: usize, pts: &[(i64, f64)]) -> MemStore {
    let mut m = MemStore::new();
    for j in 0..n {
        let l = Labels::from_pairs(&[
            ("__name__", "m".to_string()),
            ("k", format!("k{}", j % 3)),
            ("j", format!("{j:04}")),
        ]);
        for &(t, v) in pts {
            let v = if v.is_finite() { v + j as f64 } else { v };
            m.add(&l, Sample::new(t - j as i64 % 7, v));
        }
    }
    m
}

fn range(e: &Engine, m: &MemStore, q: &str) -> Vec<RangeSeries> {
    let expr = parse(q).unwrap();
    match e.range(m, &expr, 0, 600_000, 30_000).unwrap() {
        Value::Matrix(v) => v,
        other => panic!("{other:?}"),
    }
}

fn same_bits(a: &[RangeSeries], b: &[RangeSeries]) -> bool {
    a.len() == b.len()
        && a.iter().zip(b).all(|(x, y)| {
            x.labels == y.labels
                && x.samples.len() == y.samples.len()
                && x.samples.iter().zip(&y.samples).all(|(p, q)| {
                    p.t == q.t && (p.v.to_bits() == q.v.to_bits() || p.v.is_nan() && q.v.is_nan())
                })
        })
}

fn point() -> impl Strategy<Value = f64> {
    prop_oneof![
        8 => -1e6f64..1e6,
        1 => Just(f64::NAN),
        1 => Just(STALE_NAN),
        1 => Just(f64::INFINITY),
        1 => Just(1e308),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(12))]

    #[test]
    fn pushed_down_aggregations_match_the_materialized_ones(
        n in 1usize..600,
        vals in proptest::collection::vec(point(), 1..40),
    ) {
        let pts: Vec<(i64, f64)> = vals.iter().enumerate().map(|(i, &v)| (i as i64 * 15_000, v)).collect();
        let m = store(n, &pts);
        let e = Engine::default();
        for agg in ["sum", "avg", "min", "max", "count", "group"] {
            for inner in ["m", "rate(m[1m])", "max_over_time(m[90s])", "last_over_time(m[1m])"] {
                for grouping in ["", " by (k)", " without (j)"] {
                    let streamed = range(&e, &m, &format!("{agg}{grouping} ({inner})"));
                    let whole = range(&e, &m, &format!("{agg}{grouping} ({inner} * 1)"));
                    prop_assert!(same_bits(&streamed, &whole), "{agg}{grouping} ({inner}): {streamed:?} vs {whole:?}");
                }
            }
        }
    }
}

#[test]
fn streamed_selectors_cross_batch_boundaries_in_label_order() {
    let pts: Vec<(i64, f64)> = (0..41).map(|i| (i * 15_000, i as f64)).collect();
    let m = store(1000, &pts);
    let out = range(&Engine::default(), &m, "m");
    assert_eq!(out.len(), 1000);
    assert!(out.windows(2).all(|w| w[0].labels < w[1].labels));
    let j = |s: &RangeSeries| s.labels.get("j").unwrap().parse::<f64>().unwrap();
    // At 600s every series' newest sample is i = 40 (plus its number).
    assert!(
        out.iter()
            .all(|s| s.samples.last().unwrap().v == 40.0 + j(s))
    );
    let sum = range(&Engine::default(), &m, "sum(m)");
    let expect: f64 = (0..1000).map(|j| 40.0 + j as f64).sum();
    assert_eq!(sum[0].samples.last().unwrap().v, expect);
}

#[test]
fn memory_limit_fails_the_query_with_its_limit() {
    let pts: Vec<(i64, f64)> = (0..41).map(|i| (i * 15_000, i as f64)).collect();
    let m = store(300, &pts);
    let limited = Engine::new(EngineOptions {
        max_memory_per_query: 400_000,
        ..EngineOptions::default()
    });
    // 300 series × 121 steps × 16 bytes of value slots alone exceed the limit.
    let run = |q: &str| limited.range(&m, &parse(q).unwrap(), 0, 600_000, 5_000);
    match run("m") {
        Err(EvalError::TooMuchMemory { limit }) => assert_eq!(limit, 400_000),
        other => panic!("{other:?}"),
    }
    // A pushed-down aggregation holds 3 groups, not 300 series: it fits.
    let Value::Matrix(v) = run("sum by (k) (rate(m[1m]))").unwrap() else {
        panic!()
    };
    assert_eq!(v.len(), 3);
    // The same aggregation over a materialized argument does not.
    assert!(matches!(
        run("sum by (k) (rate(m[1m]) * 1)"),
        Err(EvalError::TooMuchMemory { .. })
    ));
}

#[test]
fn series_limit_still_counts_streamed_series() {
    let m = store(50, &[(0, 1.0)]);
    let limited = Engine::new(EngineOptions {
        max_series: 49,
        ..EngineOptions::default()
    });
    for q in [
        "m",
        "sum(m)",
        "rate(m[5m])",
        "count(count_over_time(m[5m]))",
    ] {
        let e = parse(q).unwrap();
        assert!(
            matches!(
                limited.instant(&m, &e, 1000),
                Err(EvalError::TooManySeries(49))
            ),
            "{q}"
        );
    }
}
