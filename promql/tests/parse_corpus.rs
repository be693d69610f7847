//! Parses every query of the shared conformance corpora (`promql/*.test` eval lines,
//! `compliance/expanded-queries.jsonl`, `expr:` of the rule files under `rules/` and
//! `configs/`) in Prometheus-strict and MetricsQL mode, checks that each accepted query
//! prints canonically and re-parses to the same tree, and that exactly the queries listed
//! in `parse_corpus_expected.tsv` are rejected (in the mode listed there, with a reason).

mod common;

use gnomon_promql::{ParseOptions, parse_with};

#[test]
fn parse_corpus() {
    let mut queries = common::test_file_queries();
    let evals = queries.len();
    let index = std::fs::read_to_string(common::conformance_dir().join("promql/eval_index.jsonl"))
        .expect("eval_index.jsonl");
    assert_eq!(
        evals,
        index.lines().count(),
        "eval lines found vs eval_index.jsonl"
    );
    let compliance = common::compliance_queries();
    let should_fail: Vec<String> = compliance
        .iter()
        .filter(|(_, f)| *f)
        .map(|(q, _)| q.text.clone())
        .collect();
    queries.extend(compliance.into_iter().map(|(q, _)| q));
    let (rules, unreadable) = common::rule_queries();
    let n_rules = rules.len();
    queries.extend(rules);
    let expected = common::expected_failures();

    let mut passed = 0;
    let mut failed = Vec::new();
    let mut rejected = [0usize; 2];
    for (mi, (mode, opts)) in [
        ("prometheus", ParseOptions::prometheus()),
        ("metricsql", ParseOptions::default()),
    ]
    .into_iter()
    .enumerate()
    {
        for q in &queries {
            let listed = expected
                .iter()
                .find(|(m, text, _)| text == &q.text && (m == "both" || m == mode));
            match (parse_with(&q.text, &opts), listed) {
                (Ok(e), None) => {
                    let printed = e.to_string();
                    match parse_with(&printed, &opts) {
                        Ok(again) if again == e => passed += 1,
                        Ok(again) => failed.push(format!(
                            "[{mode}] {}: {:?}\n  printed {printed:?}\n  re-parsed differently: {again:?}",
                            q.origin, q.text
                        )),
                        Err(err) => failed.push(format!(
                            "[{mode}] {}: {:?}\n  printed {printed:?} does not re-parse: {err}",
                            q.origin, q.text
                        )),
                    }
                }
                (Err(_), Some(_)) => {
                    passed += 1;
                    rejected[mi] += 1;
                }
                (Err(err), None) => {
                    failed.push(format!("[{mode}] {}: {:?}\n{err}", q.origin, q.text))
                }
                (Ok(e), Some((_, _, why))) => failed.push(format!(
                    "[{mode}] {}: {:?} was accepted as {e} but is listed as rejected ({why})",
                    q.origin, q.text
                )),
            }
        }
    }
    // Every listed query must occur in the corpus, so the list cannot go stale.
    for (mode, text, _) in &expected {
        if !queries.iter().any(|q| &q.text == text) {
            failed.push(format!(
                "[{mode}] listed query {text:?} is not in the corpus"
            ));
        }
    }
    println!(
        "queries: {evals} eval lines, {} compliance ({} should_fail), {n_rules} rule exprs; \
         rejected as listed: {} strict, {} MetricsQL; YAML files not readable: {unreadable:?}",
        queries.len() - evals - n_rules,
        should_fail.len(),
        rejected[0],
        rejected[1]
    );
    for f in &failed {
        println!("FAIL {f}");
    }
    println!("parse corpus: {passed} passed, {} failed", failed.len());
    assert!(
        failed.is_empty(),
        "{} corpus queries misparsed",
        failed.len()
    );
}
