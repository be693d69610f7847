//! Differential test against the `promql-parser` crate (GreptimeDB's PromQL parser).
//!
//! Both parsers (ours in Prometheus-strict mode) read every corpus query and a few
//! thousand generated PromQL queries. A disagreement is one parser accepting what the
//! other rejects, or both accepting but reading different trees (checked by re-parsing
//! the oracle's printed form with our parser). Every disagreement must match a rule of
//! `oracle_disagreements.tsv` that says whether it is intended (the oracle lacks a
//! Prometheus 3.x feature, or Prometheus behaves like us) or a bug and whose; the test
//! prints each one with its verdict and fails on any disagreement no rule explains.

mod common;

use std::collections::BTreeMap;

use common::trees::Gen;
use gnomon_promql::parser::ast::{
    Duration, Expr, Grouping, Number, VectorMatching, VectorSelector,
};
use gnomon_promql::{ParseOptions, parse_with};

struct Rule {
    pattern: regex::Regex,
    kind: String,
    verdict: String,
    reason: String,
}

fn rules() -> Vec<Rule> {
    let path =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/oracle_disagreements.tsv");
    let text = std::fs::read_to_string(path).expect("read oracle_disagreements.tsv");
    text.lines()
        .filter(|l| !l.trim().is_empty() && !l.starts_with('#'))
        .map(|l| {
            let f: Vec<&str> = l.splitn(4, '\t').collect();
            Rule {
                pattern: regex::Regex::new(f.first().copied().unwrap_or_default())
                    .expect("rule pattern is a regex"),
                kind: f.get(1).copied().unwrap_or_default().to_string(),
                verdict: f.get(2).copied().unwrap_or_default().to_string(),
                reason: f.get(3).copied().unwrap_or_default().to_string(),
            }
        })
        .collect()
}

/// Number-of-seconds durations (`[1800]`, `offset 2`) as literals: the oracle stores
/// both forms the same way.
fn norm_duration(d: &mut Duration) {
    match d {
        Duration::Seconds(Number(v)) if (*v * 1000.0).fract() == 0.0 && v.is_finite() => {
            *d = Duration::Millis((*v * 1000.0) as i64);
        }
        Duration::Neg(x) => norm_duration(x),
        Duration::Binary(_, a, b) | Duration::Call(_, a, b) => {
            norm_duration(a);
            norm_duration(b);
        }
        _ => {}
    }
}

/// The oracle keeps the metric name as a sorted `__name__` matcher.
fn norm_selector(v: &mut VectorSelector) {
    if let Some(d) = &mut v.offset {
        norm_duration(d);
    }
    let mut all = v.all_matchers();
    all.sort_by(|a, b| (&a.name, a.op.as_str(), &a.value).cmp(&(&b.name, b.op.as_str(), &b.value)));
    v.matchers = all;
    v.name = None;
}

fn normalize(e: &mut Expr) {
    match e {
        Expr::Vector(v) => norm_selector(v),
        Expr::Matrix(m) => {
            norm_selector(&mut m.selector);
            norm_duration(&mut m.range);
        }
        Expr::Subquery(s) => {
            normalize(&mut s.expr);
            norm_duration(&mut s.range);
            if let Some(d) = &mut s.step {
                norm_duration(d);
            }
            if let Some(d) = &mut s.offset {
                norm_duration(d);
            }
        }
        Expr::Neg(x) => normalize(x),
        Expr::Binary(b) => {
            if b.modifier.group.is_none()
                && matches!(&b.modifier.matching, Some(VectorMatching::Ignoring(l)) if l.is_empty())
            {
                b.modifier.matching = None;
            }
            normalize(&mut b.lhs);
            normalize(&mut b.rhs);
        }
        Expr::Aggregate(a) => {
            if matches!(&a.grouping, Some(Grouping::By(l)) if l.is_empty()) {
                a.grouping = None;
            }
            a.args.iter_mut().for_each(normalize)
        }
        Expr::Call(c) => c.args.iter_mut().for_each(normalize),
        Expr::Number(_) | Expr::String(_) | Expr::Special(_) => {}
    }
}

/// How the two parsers disagree on one query, if they do.
fn disagreement(q: &str) -> Option<(&'static str, String)> {
    let strict = ParseOptions::prometheus();
    let ours = parse_with(q, &strict);
    let theirs = promql_parser::parser::parse(q);
    match (ours, theirs) {
        (Ok(_), Err(e)) => Some(("only-ours", e.replace('\n', " "))),
        (Err(e), Ok(_)) => Some(("only-oracle", e.to_string().replace('\n', " | "))),
        (Err(_), Err(_)) => None,
        (Ok(mut a), Ok(b)) => {
            let printed = b.to_string();
            normalize(&mut a);
            match parse_with(&printed, &strict).map(|mut e| {
                normalize(&mut e);
                e
            }) {
                Ok(again) if again == a => None,
                Ok(again) => Some((
                    "different-tree",
                    format!("oracle printed {printed:?}; ours {a} vs {again}"),
                )),
                Err(e) => Some((
                    "different-tree",
                    format!(
                        "oracle printed {printed:?}, which we reject: {}",
                        e.to_string().replace('\n', " | ")
                    ),
                )),
            }
        }
    }
}

#[test]
fn oracle_agrees_or_the_difference_is_explained() {
    let rules = rules();
    let mut queries: Vec<(String, String)> = common::test_file_queries()
        .into_iter()
        .map(|q| (q.origin, q.text))
        .collect();
    queries.extend(
        common::compliance_queries()
            .into_iter()
            .map(|(q, _)| (q.origin, q.text)),
    );
    queries.extend(
        common::rule_queries()
            .0
            .into_iter()
            .map(|q| (q.origin, q.text)),
    );
    let corpus = queries.len();
    for seed in 0..3000u64 {
        let e = Gen::new(seed.wrapping_mul(0x9e37_79b9_7f4a_7c15), true).any((seed % 5) as u32);
        queries.push((format!("generated#{seed}"), e.to_string()));
    }

    let mut agreed = 0;
    let mut unexplained = Vec::new();
    let mut by_rule: BTreeMap<String, usize> = BTreeMap::new();
    for (origin, q) in &queries {
        let Some((kind, detail)) = disagreement(q) else {
            agreed += 1;
            continue;
        };
        let rule = rules
            .iter()
            .find(|r| r.kind == kind && r.pattern.is_match(q));
        match rule {
            Some(r) => {
                *by_rule
                    .entry(format!(
                        "{} [{}] {:?}: {}",
                        r.verdict,
                        kind,
                        r.pattern.as_str(),
                        r.reason
                    ))
                    .or_default() += 1;
                if !origin.starts_with("generated") {
                    println!("{}: {origin}: {q:?} ({kind}: {detail})", r.verdict);
                }
            }
            None => unexplained.push(format!("{origin}: {q:?}\n  {kind}: {detail}")),
        }
    }
    println!("--- disagreements by rule (corpus and generated) ---");
    for (rule, n) in &by_rule {
        println!("{n:5}  {rule}");
    }
    for u in &unexplained {
        println!("UNEXPLAINED {u}");
    }
    for r in &rules {
        if !by_rule
            .keys()
            .any(|k| k.contains(&format!("{:?}", r.pattern.as_str())))
        {
            unexplained.push(format!(
                "rule {:?} ({}) explains nothing: remove it",
                r.pattern.as_str(),
                r.reason
            ));
        }
    }
    let explained: usize = by_rule.values().sum();
    println!(
        "oracle: {} queries ({corpus} corpus, {} generated): {agreed} agree, {explained} explained, {} unexplained",
        queries.len(),
        queries.len() - corpus,
        unexplained.len()
    );
    assert!(
        unexplained.is_empty(),
        "{} unexplained disagreements",
        unexplained.len()
    );
}
