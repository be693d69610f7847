//! promtool's rule lint: rules that would write the same series (same name, same labels
//! after merging group labels).

use std::collections::BTreeMap;

use crate::rulefmt::RuleGroups;

/// A rule that appears more than once.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Duplicate {
    /// Alert or record name.
    pub metric: String,
    /// Group labels overlaid with rule labels, sorted.
    pub labels: BTreeMap<String, String>,
}

/// Rules of `groups` (all groups of a file) with the same name and labels, each reported
/// once, sorted by name then labels.
pub fn duplicates(groups: &RuleGroups) -> Vec<Duplicate> {
    let mut all: Vec<Duplicate> = groups
        .groups
        .iter()
        .flat_map(|g| {
            g.rules.iter().map(|r| {
                let mut labels = g.labels.clone();
                labels.extend(r.labels.iter().map(|(k, v)| (k.clone(), v.clone())));
                Duplicate {
                    metric: r.name().to_string(),
                    labels,
                }
            })
        })
        .collect();
    all.sort_by(|a, b| {
        a.metric
            .cmp(&b.metric)
            .then_with(|| a.labels.cmp(&b.labels))
    });
    let mut out: Vec<Duplicate> = Vec::new();
    for w in all.windows(2) {
        if w[0] == w[1] && out.last() != Some(&w[1]) {
            out.push(w[1].clone());
        }
    }
    out
}

/// promtool's message for duplicates (after `lint error `).
pub fn duplicates_message(d: &[Duplicate]) -> String {
    let mut m = format!("{} duplicate rule(s) found.\n", d.len());
    for x in d {
        m.push_str(&format!("Metric: {}\nLabel(s):\n", x.metric));
        for (k, v) in &x.labels {
            m.push_str(&format!("\t{k}: {v}\n"));
        }
    }
    m.push_str("Might cause inconsistency while recording expressions");
    m
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rulefmt::{ParseOptions, parse_rules};

    #[test]
    fn reports_each_duplicate_once() {
        let g = parse_rules(
            "groups:\n- name: a\n  rules:\n  - record: x\n    expr: 1\n  - record: x\n    expr: 2\n  - record: x\n    expr: 3\n  - record: x\n    expr: 1\n    labels: {a: b}\n- name: b\n  labels: {a: b}\n  rules:\n  - record: x\n    expr: 1\n",
            &ParseOptions::default(),
        )
        .unwrap();
        let d = duplicates(&g);
        assert_eq!(d.len(), 2);
        assert_eq!(d[0].metric, "x");
        assert!(d[0].labels.is_empty());
        assert_eq!(d[1].labels["a"], "b");
        assert_eq!(
            duplicates_message(&d[1..]),
            "1 duplicate rule(s) found.\nMetric: x\nLabel(s):\n\ta: b\nMight cause inconsistency while recording expressions"
        );
    }
}
