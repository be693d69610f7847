//! Label matchers with Prometheus semantics and literal fast paths for regexes.

use std::fmt;

use regex::Regex;
use regex_syntax::hir::{Class, Hir, HirKind};

use crate::error::{Error, Result};

/// The four matcher operators of PromQL.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum MatchOp {
    /// `=`
    Equal,
    /// `!=`
    NotEqual,
    /// `=~` (fully anchored regex)
    RegexMatch,
    /// `!~` (fully anchored regex, negated)
    RegexNoMatch,
}

impl MatchOp {
    /// The operator as written in PromQL.
    pub fn as_str(self) -> &'static str {
        match self {
            MatchOp::Equal => "=",
            MatchOp::NotEqual => "!=",
            MatchOp::RegexMatch => "=~",
            MatchOp::RegexNoMatch => "!~",
        }
    }
}

/// What a regex accepts, when that can be said without running it.
///
/// The index uses it to turn a regex into set lookups or prefix scans.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum RegexShape {
    /// Exactly these strings (sorted, unique): `a|b|c`, `foo`, `(x|y)z`.
    Set(Vec<String>),
    /// Any string starting with one of these prefixes (sorted, unique): `foo.*`, `(a|b).*`.
    Prefixes(Vec<String>),
    /// Every string, the empty one included: `.*`.
    Any,
    /// Every non-empty string: `.+`.
    NonEmpty,
    /// No shortcut: run the regex.
    Other,
}

/// Largest number of strings a regex may expand to before [`RegexShape::Set`] gives up;
/// dashboards generate `a|b|...` lists of a few hundred values, so 1024 covers them while
/// bounding the expansion work.
const MAX_SET: usize = 1024;

/// One label matcher: `name op "value"`.
///
/// A missing label matches as the empty string, so `{foo=""}` selects series without
/// `foo` and `{foo=~".*"}` matches every series. Regexes are anchored on both ends and
/// `.` matches a newline too (`^(?s:value)$`, as in Prometheus 3).
#[derive(Clone)]
pub struct Matcher {
    /// Label name.
    pub name: String,
    /// Operator.
    pub op: MatchOp,
    /// Value or regex as written.
    pub value: String,
    re: Option<Regex>,
    shape: RegexShape,
}

impl Matcher {
    /// Creates a matcher; compiles the regex of `=~` and `!~`.
    ///
    /// # Errors
    /// [`Error::InvalidRegex`] when the regex does not compile.
    pub fn new(op: MatchOp, name: impl Into<String>, value: impl Into<String>) -> Result<Self> {
        let name = name.into();
        let value = value.into();
        let (re, shape) = match op {
            MatchOp::Equal | MatchOp::NotEqual => (None, RegexShape::Set(vec![value.clone()])),
            MatchOp::RegexMatch | MatchOp::RegexNoMatch => {
                let re = Regex::new(&format!("^(?s:{value})$")).map_err(|e| {
                    Error::InvalidRegex {
                        name: name.clone(),
                        value: value.clone(),
                        source: Box::new(e),
                    }
                })?;
                (Some(re), regex_shape(&value))
            }
        };
        Ok(Matcher {
            name,
            op,
            value,
            re,
            shape,
        })
    }

    /// `name="value"`.
    pub fn equal(name: impl Into<String>, value: impl Into<String>) -> Self {
        let value = value.into();
        Matcher {
            name: name.into(),
            op: MatchOp::Equal,
            shape: RegexShape::Set(vec![value.clone()]),
            value,
            re: None,
        }
    }

    /// True when the label value `v` (the empty string for a missing label) matches.
    #[inline]
    pub fn matches(&self, v: &str) -> bool {
        match self.op {
            MatchOp::Equal => v == self.value,
            MatchOp::NotEqual => v != self.value,
            MatchOp::RegexMatch => self.regex_matches(v),
            MatchOp::RegexNoMatch => !self.regex_matches(v),
        }
    }

    fn regex_matches(&self, v: &str) -> bool {
        match &self.shape {
            RegexShape::Set(set) => set.binary_search_by(|s| s.as_str().cmp(v)).is_ok(),
            RegexShape::Prefixes(ps) => ps.iter().any(|p| v.starts_with(p.as_str())),
            RegexShape::Any => true,
            RegexShape::NonEmpty => !v.is_empty(),
            RegexShape::Other => self.re.as_ref().is_some_and(|re| re.is_match(v)),
        }
    }

    /// True when a missing label (the empty string) matches.
    pub fn matches_empty(&self) -> bool {
        self.matches("")
    }

    /// What the positive form of this matcher accepts (for `=`/`!=`: the one value; for
    /// `=~`/`!~`: the regex's shape). Negation is the caller's job: see [`Matcher::op`].
    pub fn shape(&self) -> &RegexShape {
        &self.shape
    }

    /// True for `!=` and `!~`.
    pub fn is_negative(&self) -> bool {
        matches!(self.op, MatchOp::NotEqual | MatchOp::RegexNoMatch)
    }
}

impl PartialEq for Matcher {
    fn eq(&self, other: &Self) -> bool {
        self.name == other.name && self.op == other.op && self.value == other.value
    }
}

impl Eq for Matcher {}

impl std::hash::Hash for Matcher {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        self.name.hash(state);
        self.op.hash(state);
        self.value.hash(state);
    }
}

impl fmt::Debug for Matcher {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

impl fmt::Display for Matcher {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}{}{:?}", self.name, self.op.as_str(), self.value)
    }
}

/// Classifies a regex (unanchored text, as written in a matcher).
pub fn regex_shape(re: &str) -> RegexShape {
    let Ok(hir) = regex_syntax::ParserBuilder::new()
        .dot_matches_new_line(true)
        .build()
        .parse(re)
    else {
        return RegexShape::Other;
    };
    if is_any_star(&hir, 0) {
        return RegexShape::Any;
    }
    if is_any_star(&hir, 1) {
        return RegexShape::NonEmpty;
    }
    if let Some(set) = finite_strings(&hir) {
        return RegexShape::Set(sorted_unique(set));
    }
    if let HirKind::Concat(parts) = hir.kind()
        && let Some((last, init)) = parts.split_last()
        && is_any_star(last, 0)
        && let Some(prefixes) = finite_strings(&Hir::concat(init.to_vec()))
    {
        return RegexShape::Prefixes(sorted_unique(prefixes));
    }
    RegexShape::Other
}

fn sorted_unique(mut v: Vec<String>) -> Vec<String> {
    v.sort();
    v.dedup();
    v
}

/// True for `.*` (min 0) or `.+` (min 1) where `.` matches every character.
fn is_any_star(hir: &Hir, min: u32) -> bool {
    match hir.kind() {
        HirKind::Repetition(r) => r.min == min && r.max.is_none() && is_any_char(&r.sub),
        HirKind::Capture(c) => is_any_star(&c.sub, min),
        _ => false,
    }
}

fn is_any_char(hir: &Hir) -> bool {
    match hir.kind() {
        HirKind::Class(Class::Unicode(c)) => {
            let r = c.ranges();
            r.len() == 1 && r[0].start() == '\0' && r[0].end() == char::MAX
        }
        HirKind::Capture(c) => is_any_char(&c.sub),
        _ => false,
    }
}

/// The finite language of `hir`, if it has at most [`MAX_SET`] strings.
fn finite_strings(hir: &Hir) -> Option<Vec<String>> {
    match hir.kind() {
        HirKind::Empty => Some(vec![String::new()]),
        HirKind::Literal(lit) => Some(vec![String::from_utf8(lit.0.to_vec()).ok()?]),
        HirKind::Capture(c) => finite_strings(&c.sub),
        HirKind::Class(Class::Unicode(c)) => {
            let n: u64 = c
                .ranges()
                .iter()
                .map(|r| u64::from(r.end()) - u64::from(r.start()) + 1)
                .sum();
            if n as usize > MAX_SET {
                return None;
            }
            Some(
                c.ranges()
                    .iter()
                    .flat_map(|r| r.start()..=r.end())
                    .map(String::from)
                    .collect(),
            )
        }
        HirKind::Alternation(alts) => {
            let mut out = Vec::new();
            for a in alts {
                out.extend(finite_strings(a)?);
                if out.len() > MAX_SET {
                    return None;
                }
            }
            Some(out)
        }
        HirKind::Concat(parts) => {
            let mut acc = vec![String::new()];
            for p in parts {
                let next = finite_strings(p)?;
                if acc.len() * next.len() > MAX_SET {
                    return None;
                }
                acc = acc
                    .iter()
                    .flat_map(|a| next.iter().map(move |b| format!("{a}{b}")))
                    .collect();
            }
            Some(acc)
        }
        HirKind::Repetition(r) if r.min == 0 && r.max == Some(1) => {
            let mut v = finite_strings(&r.sub)?;
            v.push(String::new());
            Some(v)
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn set(v: &[&str]) -> RegexShape {
        RegexShape::Set(v.iter().map(|s| s.to_string()).collect())
    }

    #[test]
    fn shapes() {
        assert_eq!(regex_shape(".*"), RegexShape::Any);
        assert_eq!(regex_shape(".+"), RegexShape::NonEmpty);
        assert_eq!(regex_shape("a|b|c"), set(&["a", "b", "c"]));
        assert_eq!(regex_shape("foo|foobar"), set(&["foo", "foobar"]));
        assert_eq!(regex_shape("(x|y)z"), set(&["xz", "yz"]));
        assert_eq!(regex_shape("node_.*"), RegexShape::Prefixes(vec!["node_".into()]));
        assert_eq!(
            regex_shape("(a|b).*"),
            RegexShape::Prefixes(vec!["a".into(), "b".into()])
        );
        assert_eq!(regex_shape("a+"), RegexShape::Other);
        assert_eq!(regex_shape("(?i)abc"), set(&["ABC", "ABc", "AbC", "Abc", "aBC", "aBc", "abC", "abc"]));
    }

    #[test]
    fn matching_is_anchored_and_dot_all() {
        let m = Matcher::new(MatchOp::RegexMatch, "a", "b.c").unwrap();
        assert!(m.matches("b\nc"));
        assert!(!m.matches("xb.c"));
        let m = Matcher::new(MatchOp::RegexMatch, "a", "fo+").unwrap();
        assert!(m.matches("foo") && !m.matches("foox"));
        let m = Matcher::new(MatchOp::RegexNoMatch, "a", "x|y").unwrap();
        assert!(m.matches("") && !m.matches("x"));
        assert!(Matcher::new(MatchOp::RegexMatch, "a", ".*").unwrap().matches_empty());
        assert!(!Matcher::new(MatchOp::RegexMatch, "a", ".+").unwrap().matches_empty());
    }

    #[test]
    fn fast_paths_agree_with_regex() {
        for (re, inputs) in [
            ("a|b|c", &["a", "b", "d", "", "ab"][..]),
            ("node_.*", &["node_", "node_x", "nod", "xnode_"][..]),
            ("(?i)abc", &["ABC", "aBc", "abd"][..]),
            ("foo|foobar", &["foo", "foobar", "fooba"][..]),
        ] {
            let m = Matcher::new(MatchOp::RegexMatch, "l", re).unwrap();
            let full = Regex::new(&format!("^(?s:{re})$")).unwrap();
            for i in inputs {
                assert_eq!(m.matches(i), full.is_match(i), "{re} on {i:?}");
            }
        }
    }

    #[test]
    fn invalid_regex_is_reported_with_the_matcher() {
        let e = Matcher::new(MatchOp::RegexMatch, "job", "(").unwrap_err();
        assert!(matches!(&e, Error::InvalidRegex { name, value, .. } if name == "job" && value == "("));
    }
}
