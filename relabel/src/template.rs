//! Replacement templates: `$1`, `${1}`, `$name`, `${name}` as Go's `regexp.Expand`, and
//! VictoriaMetrics' `{{label}}` references.

use regex::Regex;

use crate::regex::Groups;

/// One piece of a parsed template.
#[derive(Clone, Debug, PartialEq, Eq)]
enum Piece {
    /// Text copied as is.
    Lit(String),
    /// A capture group by index (names are resolved when parsing).
    Group(usize),
}

/// A replacement template parsed against one regex.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Template {
    pieces: Vec<Piece>,
}

impl Template {
    /// Parses `t` as Go's `regexp.Expand` reads it; names refer to the groups of `re`.
    /// A reference to a group that does not exist expands to nothing and is dropped here.
    pub(crate) fn parse(t: &str, re: &Regex) -> Template {
        let mut pieces = Vec::new();
        let mut lit = String::new();
        let mut rest = t;
        while let Some(pos) = rest.find('$') {
            lit.push_str(&rest[..pos]);
            rest = &rest[pos + 1..];
            if let Some(r) = rest.strip_prefix('$') {
                lit.push('$');
                rest = r;
                continue;
            }
            let Some((name, after)) = extract(rest) else {
                lit.push('$');
                continue;
            };
            rest = after;
            if let Some(i) = group_index(name, re) {
                if !lit.is_empty() {
                    pieces.push(Piece::Lit(std::mem::take(&mut lit)));
                }
                pieces.push(Piece::Group(i));
            }
        }
        lit.push_str(rest);
        if !lit.is_empty() {
            pieces.push(Piece::Lit(lit));
        }
        Template { pieces }
    }

    /// The text when the template has no group references.
    pub(crate) fn literal(&self) -> Option<&str> {
        match self.pieces.as_slice() {
            [] => Some(""),
            [Piece::Lit(s)] => Some(s),
            _ => None,
        }
    }

    /// Appends the expansion for the groups `g` to `out`.
    pub(crate) fn expand_into(&self, g: &Groups<'_>, out: &mut String) {
        for p in &self.pieces {
            match p {
                Piece::Lit(s) => out.push_str(s),
                Piece::Group(i) => out.push_str(g.get(*i).unwrap_or("")),
            }
        }
    }
}

/// The name after a `$` (`name` or `{name}`) and the text after it, as Go's `extract`:
/// the longest run of letters, digits and `_`; `None` when there is no valid name.
fn extract(s: &str) -> Option<(&str, &str)> {
    let (braced, body) = match s.strip_prefix('{') {
        Some(b) => (true, b),
        None => (false, s),
    };
    let end = body
        .char_indices()
        .find(|&(_, c)| !(c.is_alphanumeric() || c == '_'))
        .map_or(body.len(), |(i, _)| i);
    if end == 0 {
        return None;
    }
    let name = &body[..end];
    if braced {
        let after = body[end..].strip_prefix('}')?;
        return Some((name, after));
    }
    Some((name, &body[end..]))
}

/// The group a name refers to: all ASCII digits without a leading zero is a number,
/// anything else a group name.
fn group_index(name: &str, re: &Regex) -> Option<usize> {
    let numeric =
        name.bytes().all(|b| b.is_ascii_digit()) && (name.len() == 1 || !name.starts_with('0'));
    if numeric {
        let n: usize = name.parse().ok()?;
        return (n < re.captures_len()).then_some(n);
    }
    re.capture_names().position(|n| n == Some(name))
}

/// True when `t` holds a `{{label}}` reference (VictoriaMetrics).
pub(crate) fn has_label_refs(t: &str) -> bool {
    t.find("{{").is_some_and(|i| t[i + 2..].contains("}}"))
}

/// Replaces every `{{name}}` in `t` by the value `get(name)` (empty when absent); an
/// unterminated `{{` stays as written.
pub(crate) fn fill_label_refs<'a>(t: &str, get: impl Fn(&str) -> Option<&'a str>) -> String {
    let mut out = String::with_capacity(t.len());
    let mut rest = t;
    while let Some(open) = rest.find("{{") {
        let Some(close) = rest[open + 2..].find("}}") else {
            break;
        };
        out.push_str(&rest[..open]);
        out.push_str(get(&rest[open + 2..open + 2 + close]).unwrap_or(""));
        rest = &rest[open + 2 + close + 2..];
    }
    out.push_str(rest);
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::regex::Anchored;

    fn expand(re: &str, t: &str, s: &str) -> String {
        let a = Anchored::new(re).unwrap();
        let tpl = Template::parse(t, a.regex());
        let mut out = String::new();
        tpl.expand_into(&a.captures(s).unwrap(), &mut out);
        out
    }

    #[test]
    fn go_expand_rules() {
        assert_eq!(expand("(a)(b)", "$2$1", "ab"), "ba");
        assert_eq!(expand("(a)(b)", "${1}x", "ab"), "ax");
        assert_eq!(expand("(a)(b)", "$1x", "ab"), ""); // group named `1x`
        assert_eq!(expand("(a)(b)", "$0", "ab"), "ab");
        assert_eq!(expand("(a)(b)", "$01", "ab"), ""); // leading zero: a name
        assert_eq!(expand("(a)(b)", "$3", "ab"), "");
        assert_eq!(expand("(a)(b)", "$$1", "ab"), "$1");
        assert_eq!(expand("(a)(b)", "$-${", "ab"), "$-${");
        assert_eq!(expand("(a)(b)", "${}", "ab"), "${}");
        assert_eq!(expand("(?P<x>a)(?<y>b)", "$y-${x}", "ab"), "b-a");
        assert_eq!(expand("(a)|(b)", "[$1]", "b"), "[]");
    }

    #[test]
    fn literal_and_group_shapes() {
        let a = Anchored::new("(.*)").unwrap();
        assert_eq!(Template::parse("abc", a.regex()).literal(), Some("abc"));
        assert_eq!(Template::parse("$2", a.regex()).literal(), Some(""));
        assert_eq!(Template::parse("${1}", a.regex()).literal(), None);
    }

    #[test]
    fn label_references() {
        let get = |n: &str| (n == "a").then_some("A");
        assert_eq!(fill_label_refs("x{{a}}-{{b}}y", get), "xA-y");
        assert_eq!(fill_label_refs("x{{a", get), "x{{a");
        assert!(has_label_refs("{{a}}"));
        assert!(!has_label_refs("{{a"));
    }
}
