//! VictoriaMetrics `if:` series selectors, compiled to matcher groups.
//!
//! A selector is `name`, `{filters}` or `name{filters}`; inside the braces `or` separates
//! alternative filter groups (each including the name). A list of selectors matches when
//! any of them does. Each group is parsed by `gnomon_promql::parse_series_selector`.

use gnomon_promql::parse_series_selector;
use gnomon_tsdb_core::model::{LabelsBuilder, Matcher};

use crate::error::{Error, Result};

/// A placeholder matcher that makes `{}` and empty-matching filter groups acceptable to
/// the PromQL selector parser (PromQL requires one non-empty matcher; VictoriaMetrics'
/// `if` does not). It is removed after parsing.
const PLACEHOLDER: &str = "__gnomon_relabel_if__";

/// A compiled `if`: alternatives, each a list of matchers that must all hold.
#[derive(Clone, Debug)]
pub(crate) struct IfSelector {
    groups: Vec<Vec<Matcher>>,
}

impl IfSelector {
    /// Parses the selectors of rule `index`.
    pub(crate) fn parse(index: usize, exprs: &[String]) -> Result<Self> {
        let mut groups = Vec::new();
        for e in exprs {
            parse_one(e, &mut groups).map_err(|source| Error::If {
                index,
                expr: e.clone(),
                source: Box::new(source),
            })?;
        }
        Ok(IfSelector { groups })
    }

    /// True when the labels satisfy one of the alternatives (a missing label is `""`).
    pub(crate) fn matches(&self, lb: &LabelsBuilder) -> bool {
        self.groups
            .iter()
            .any(|g| g.iter().all(|m| m.matches(lb.get(&m.name).unwrap_or(""))))
    }
}

fn parse_one(expr: &str, out: &mut Vec<Vec<Matcher>>) -> gnomon_promql::Result<()> {
    let Some((name, body)) = split_braces(expr) else {
        out.push(parse_series_selector(expr)?);
        return Ok(());
    };
    // MetricsQL allows dots in names; PromQL needs them quoted inside the braces.
    let (name, inner) = if name.contains('.') {
        (String::new(), format!("\"{name}\","))
    } else {
        (name.to_owned(), String::new())
    };
    let alternatives = split_or(body);
    for alt in &alternatives {
        let alt = quote_dotted_names(alt.trim());
        let text = if alt.is_empty() && alternatives.len() == 1 {
            format!("{name}{{{inner}{PLACEHOLDER}=\"1\"}}")
        } else if alt.is_empty() {
            // `{a="b" or}`: let the parser report the empty group.
            format!("{name}{{{inner}{PLACEHOLDER}=\"1\",,}}")
        } else {
            format!("{name}{{{inner}{PLACEHOLDER}=\"1\",{alt}}}")
        };
        let mut ms = parse_series_selector(&text)?;
        ms.retain(|m| m.name != PLACEHOLDER);
        out.push(ms);
    }
    Ok(())
}

/// Quotes label names that hold dots (`foo.bar="x"` → `"foo.bar"="x"`), outside strings.
fn quote_dotted_names(group: &str) -> String {
    let word = |c: char| c.is_alphanumeric() || c == '_' || c == ':' || c == '.';
    let mut out = String::with_capacity(group.len() + 4);
    let mut quote: Option<char> = None;
    let mut escaped = false;
    let mut chars = group.char_indices().peekable();
    while let Some((i, c)) = chars.next() {
        if let Some(q) = quote {
            out.push(c);
            if escaped {
                escaped = false;
            } else if c == '\\' && q != '`' {
                escaped = true;
            } else if c == q {
                quote = None;
            }
            continue;
        }
        if c == '"' || c == '\'' || c == '`' {
            quote = Some(c);
            out.push(c);
            continue;
        }
        if word(c) {
            let mut end = i + c.len_utf8();
            while let Some(&(j, n)) = chars.peek() {
                if !word(n) {
                    break;
                }
                end = j + n.len_utf8();
                chars.next();
            }
            let w = &group[i..end];
            if w.contains('.') {
                out.push('"');
                out.push_str(w);
                out.push('"');
            } else {
                out.push_str(w);
            }
            continue;
        }
        out.push(c);
    }
    out
}

/// `name{body}` → `(name, body)` when the selector has braces and nothing after them.
fn split_braces(expr: &str) -> Option<(&str, &str)> {
    let open = expr.find('{')?;
    let close = last_unquoted_brace(expr)?;
    if close < open || !expr[close + 1..].trim().is_empty() {
        return None;
    }
    Some((expr[..open].trim(), &expr[open + 1..close]))
}

fn last_unquoted_brace(s: &str) -> Option<usize> {
    let mut quote: Option<char> = None;
    let mut escaped = false;
    let mut last = None;
    for (i, c) in s.char_indices() {
        match quote {
            Some(q) => {
                if escaped {
                    escaped = false;
                } else if c == '\\' && q != '`' {
                    escaped = true;
                } else if c == q {
                    quote = None;
                }
            }
            None => match c {
                '"' | '\'' | '`' => quote = Some(c),
                '}' => last = Some(i),
                _ => {}
            },
        }
    }
    last
}

/// Splits a filter list at the keyword `or` outside quoted strings.
fn split_or(body: &str) -> Vec<&str> {
    let mut parts = Vec::new();
    let mut quote: Option<char> = None;
    let mut escaped = false;
    let mut start = 0;
    let bytes = body.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        let c = bytes[i] as char;
        if let Some(q) = quote {
            if escaped {
                escaped = false;
            } else if c == '\\' && q != '`' {
                escaped = true;
            } else if c == q {
                quote = None;
            }
            i += 1;
            continue;
        }
        match c {
            '"' | '\'' | '`' => quote = Some(c),
            'o' if is_or_keyword(body, i) => {
                parts.push(&body[start..i]);
                start = i + 2;
                i += 2;
                continue;
            }
            _ => {}
        }
        i += 1;
    }
    parts.push(&body[start..]);
    parts
}

/// True when `or` at byte `i` is the keyword: a whole word, not a label name (which
/// would be followed by an operator).
fn is_or_keyword(body: &str, i: usize) -> bool {
    let ident = |c: u8| c.is_ascii_alphanumeric() || c == b'_' || c == b':' || c == b'.';
    let b = body.as_bytes();
    if !body[i..].starts_with("or") {
        return false;
    }
    if i > 0 && ident(b[i - 1]) {
        return false;
    }
    if b.get(i + 2).is_some_and(|&c| ident(c)) {
        return false;
    }
    let next = body[i + 2..].trim_start().bytes().next();
    !matches!(next, Some(b'=' | b'!' | b'~'))
}

#[cfg(test)]
mod tests {
    use super::*;
    use gnomon_tsdb_core::model::Labels;

    fn sel(e: &str) -> IfSelector {
        IfSelector::parse(0, &[e.to_owned()]).unwrap()
    }

    fn lb(pairs: &[(&str, &str)]) -> LabelsBuilder {
        Labels::from_pairs(pairs).builder()
    }

    #[test]
    fn or_groups_each_include_the_name() {
        let s = sel("foo{a=\"b\" or c=\"d\",e=\"x\"}");
        assert!(s.matches(&lb(&[("__name__", "foo"), ("a", "b")])));
        assert!(s.matches(&lb(&[("__name__", "foo"), ("c", "d"), ("e", "x")])));
        assert!(!s.matches(&lb(&[("__name__", "foo"), ("c", "d")])));
        assert!(!s.matches(&lb(&[("__name__", "bar"), ("a", "b")])));
    }

    #[test]
    fn empty_braces_match_everything_and_or_in_values_is_not_a_keyword() {
        assert!(sel("{}").matches(&lb(&[])));
        let s = sel("{a=\"x or y\", or=\"1\"}");
        assert!(s.matches(&lb(&[("a", "x or y"), ("or", "1")])));
        assert!(sel("{a=\"\"}").matches(&lb(&[("b", "1")])));
        assert!(sel("{foo.bar=\"a.b\"}").matches(&lb(&[("foo.bar", "a.b")])));
        assert!(sel("a.b{c=\"d\"}").matches(&lb(&[("__name__", "a.b"), ("c", "d")])));
    }

    #[test]
    fn bad_selectors_name_the_rule() {
        for bad in [
            "{",
            "foo{",
            "foo{bar=\"a\" or}",
            "foo{bar}",
            "foo{bar==\"b\"}",
            "foo+bar",
            "foo{bar=~\"(\"}",
        ] {
            let e = IfSelector::parse(3, &[bad.to_owned()]).unwrap_err();
            assert!(matches!(e, Error::If { index: 3, .. }), "{bad}: {e}");
        }
    }
}
