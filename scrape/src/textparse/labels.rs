//! Walking the label text of a series that the tokenizer already validated, to build
//! [`Labels`] (on a cache miss) and to compare label sets without allocating (OpenMetrics
//! `_created` matching).

use gnomon_tsdb_core::model::{Label, Labels, METRIC_NAME};

use super::entry::MetricType;
use super::escape::{Escapes, unescape};
use super::float::{format_openmetrics_float, parse_go_float};
use super::lex::{QuoteRules, is_label_start, scan_label_name, scan_quoted, skip_blank};

/// One `name="value"` pair as written: name without quotes, value without quotes, both
/// still escaped.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct RawLabel<'a> {
    pub name: &'a [u8],
    pub value: &'a [u8],
}

/// Iterates over the pairs of a validated label text (the bytes after `{`), skipping a
/// quoted metric name. Accepts the union of both formats' layouts (blanks, optional
/// commas) and simply stops at anything unexpected, so it never fails or panics.
pub(crate) struct LabelWalker<'a> {
    text: &'a [u8],
    pos: usize,
}

const ANY_QUOTED: QuoteRules = QuoteRules {
    newline: true,
    nul: true,
};

impl<'a> LabelWalker<'a> {
    pub(crate) fn new(text: &'a [u8]) -> Self {
        LabelWalker { text, pos: 0 }
    }

    /// The next name token (inner bytes) and the position after it.
    fn name_token(&self, pos: usize) -> Option<(&'a [u8], usize)> {
        let b = *self.text.get(pos)?;
        if b == b'"' {
            let end = scan_quoted(self.text, pos, ANY_QUOTED).ok()?;
            Some((&self.text[pos + 1..end - 1], end))
        } else if is_label_start(b) {
            let end = scan_label_name(self.text, pos);
            Some((&self.text[pos..end], end))
        } else {
            None
        }
    }
}

impl<'a> Iterator for LabelWalker<'a> {
    type Item = RawLabel<'a>;

    fn next(&mut self) -> Option<RawLabel<'a>> {
        loop {
            let start = skip_separators(self.text, self.pos);
            let (name, after_name) = self.name_token(start)?;
            let eq = skip_blank(self.text, after_name);
            if self.text.get(eq) != Some(&b'=') {
                // A quoted metric name: `{"name", ...}`.
                self.pos = eq;
                continue;
            }
            let open = skip_blank(self.text, eq + 1);
            if self.text.get(open) != Some(&b'"') {
                return None;
            }
            let close = scan_quoted(self.text, open, ANY_QUOTED).ok()?;
            self.pos = close;
            return Some(RawLabel {
                name,
                value: &self.text[open + 1..close - 1],
            });
        }
    }
}

fn skip_separators(text: &[u8], pos: usize) -> usize {
    let mut p = pos;
    while let Some(b' ' | b'\t' | b',') = text.get(p) {
        p += 1;
    }
    p
}

/// Builds the label set of a series: `__name__` plus the pairs, unescaped, with `le`
/// (histograms) or `quantile` (summaries) normalised as Prometheus does.
pub(crate) fn build_labels(name: &str, label_text: &[u8], family: MetricType) -> Labels {
    let mut pairs = Vec::with_capacity(1 + label_text.len() / 8);
    pairs.push(Label::new(METRIC_NAME, name));
    for raw in LabelWalker::new(label_text) {
        let name = unescape(raw.name, Escapes::Quoted);
        let value = unescape(raw.value, Escapes::Quoted);
        let value = normalise_value(family, &name, value.as_ref()).unwrap_or(value.into_owned());
        pairs.push(Label::new(name.into_owned(), value));
    }
    Labels::new(pairs)
}

/// Builds the label set of an exemplar (no metric name, no normalisation).
pub(crate) fn build_exemplar_labels(label_text: &[u8]) -> Labels {
    let pairs = LabelWalker::new(label_text)
        .map(|raw| {
            Label::new(
                unescape(raw.name, Escapes::Quoted).into_owned(),
                unescape(raw.value, Escapes::Quoted).into_owned(),
            )
        })
        .collect();
    Labels::new(pairs)
}

/// The normalised form of an `le`/`quantile` value, when the family type calls for it and
/// the value parses as a float.
fn normalise_value(family: MetricType, name: &str, value: &str) -> Option<String> {
    if normalised_label(family) != Some(name.as_bytes()) {
        return None;
    }
    parse_go_float(value.as_bytes())
        .ok()
        .map(format_openmetrics_float)
}

/// The label whose value Prometheus normalises in a family of this type.
pub(crate) fn normalised_label(family: MetricType) -> Option<&'static [u8]> {
    match family {
        MetricType::Histogram => Some(b"le"),
        MetricType::Summary => Some(b"quantile"),
        _ => None,
    }
}

/// An order-independent hash of the pairs of `label_text`, leaving out `skip`.
pub(crate) fn label_set_hash(label_text: &[u8], skip: Option<&[u8]>) -> u64 {
    LabelWalker::new(label_text)
        .filter(|l| Some(l.name) != skip)
        .fold(0u64, |acc, l| acc.wrapping_add(pair_hash(l)))
}

/// True when both label texts hold the same pairs (any order), leaving out `skip`.
pub(crate) fn same_label_set(a: &[u8], b: &[u8], skip: Option<&[u8]>) -> bool {
    let keep = |l: &RawLabel<'_>| Some(l.name) != skip;
    let count_a = LabelWalker::new(a).filter(keep).count();
    let count_b = LabelWalker::new(b).filter(keep).count();
    count_a == count_b
        && LabelWalker::new(a)
            .filter(keep)
            .all(|la| LabelWalker::new(b).any(|lb| lb == la))
}

fn pair_hash(l: RawLabel<'_>) -> u64 {
    // FNV-1a over name, a separator that cannot occur in a name, and the value; then a
    // final mix so that summing pair hashes does not cancel structure.
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for &b in l.name.iter().chain(&[0xff]).chain(l.value) {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    h ^= h >> 33;
    h.wrapping_mul(0xff51_afd7_ed55_8ccd)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pairs(text: &[u8]) -> Vec<(String, String)> {
        LabelWalker::new(text)
            .map(|l| {
                (
                    String::from_utf8_lossy(l.name).into_owned(),
                    String::from_utf8_lossy(l.value).into_owned(),
                )
            })
            .collect()
    }

    #[test]
    fn walker_handles_both_layouts() {
        let want = vec![
            ("a".to_owned(), "b".to_owned()),
            ("c".to_owned(), "d".to_owned()),
        ];
        assert_eq!(pairs(br#"a="b",c="d"}"#), want);
        assert_eq!(pairs(br#" a = "b" c= "d", }"#), want);
        assert_eq!(pairs(br#""name.x", a="b",c="d"}"#), want);
        assert_eq!(pairs(br#"a="b","name.x",c="d"}"#), want);
        assert_eq!(pairs(br#""a"="b",c="d"}"#), want);
        assert_eq!(pairs(b"}"), vec![]);
        assert_eq!(pairs(b""), vec![]);
    }

    #[test]
    fn normalisation_only_in_matching_family() {
        let text = br#"le="1",quantile="0"}"#;
        let h = build_labels("m", text, MetricType::Histogram);
        assert_eq!(h.get("le"), Some("1.0"));
        assert_eq!(h.get("quantile"), Some("0"));
        let s = build_labels("m", text, MetricType::Summary);
        assert_eq!(s.get("le"), Some("1"));
        assert_eq!(s.get("quantile"), Some("0.0"));
        let c = build_labels("m", text, MetricType::Counter);
        assert_eq!(c.get("le"), Some("1"));
        let odd = build_labels("m", br#"le="c"}"#, MetricType::Histogram);
        assert_eq!(odd.get("le"), Some("c"));
    }

    #[test]
    fn label_sets_compare_in_any_order() {
        let a = br#"x="1",y="2",le="3"}"#;
        let b = br#"y="2",x="1"}"#;
        assert!(same_label_set(a, b, Some(b"le")));
        assert!(!same_label_set(a, b, None));
        assert_eq!(
            label_set_hash(a, Some(b"le")),
            label_set_hash(b, Some(b"le"))
        );
        assert_ne!(label_set_hash(a, None), label_set_hash(b, None));
        assert!(!same_label_set(br#"x="1"}"#, br#"x="2"}"#, None));
    }
}
