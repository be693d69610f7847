//! Regexes with Go RE2 semantics on top of Rust's `regex`, anchored as Prometheus does,
//! with literal fast paths.
//!
//! Rust's `regex` differs from Go's RE2 where it matters for relabeling: `\d`, `\w`, `\s`
//! and `\b` are Unicode-aware in Rust but ASCII in Go, Go has `\Q...\E` quoting, and
//! Rust gives `[`, `&&`, `--` and `~~` a meaning inside a character class. [`translate`]
//! rewrites a Go pattern into an equivalent Rust one.

use gnomon_tsdb_core::model::{RegexShape, regex_shape};
use regex::{Captures, Regex, RegexBuilder};

/// Go's `\d`, `\w`, `\s` as Rust class bodies (ASCII, as RE2 defines them).
const DIGIT: &str = "0-9";
const WORD: &str = "0-9A-Za-z_";
const SPACE: &str = "\\t\\n\\x0C\\r ";

/// Rewrites a Go RE2 pattern into Rust `regex` syntax with the same meaning.
pub(crate) fn translate(go: &str) -> String {
    let mut out = String::with_capacity(go.len() + 8);
    let mut chars = go.char_indices().peekable();
    let mut in_class = false;
    while let Some((i, c)) = chars.next() {
        match c {
            '\\' => {
                let Some((_, e)) = chars.next() else {
                    // A trailing backslash: let the regex parser report it.
                    out.push('\\');
                    break;
                };
                if e == 'Q' && !in_class {
                    let rest = &go[i + 2..];
                    let end = rest.find("\\E").unwrap_or(rest.len());
                    out.push_str(&regex::escape(&rest[..end]));
                    let skip = (end + 2).min(rest.len());
                    while chars.peek().is_some_and(|&(j, _)| j < i + 2 + skip) {
                        chars.next();
                    }
                    continue;
                }
                push_escape(&mut out, e, in_class);
            }
            '[' if !in_class => {
                in_class = true;
                out.push('[');
                if chars.peek().is_some_and(|&(_, n)| n == '^') {
                    chars.next();
                    out.push('^');
                }
                // A `]` first in a class is a literal in both dialects; escape it anyway.
                if chars.peek().is_some_and(|&(_, n)| n == ']') {
                    chars.next();
                    out.push_str("\\]");
                }
            }
            '[' if go[i..].starts_with("[:") => {
                // POSIX class `[:alpha:]`: copy it through.
                let end = go[i..].find(":]").map_or(go.len(), |e| i + e + 2);
                out.push_str(&go[i..end]);
                while chars.peek().is_some_and(|&(j, _)| j < end) {
                    chars.next();
                }
            }
            '[' | '&' | '~' if in_class => {
                out.push('\\');
                out.push(c);
            }
            '-' if in_class && chars.peek().is_some_and(|&(_, n)| n == '-') => {
                out.push_str("\\-");
            }
            ']' if in_class => {
                in_class = false;
                out.push(']');
            }
            _ => out.push(c),
        }
    }
    out
}

fn push_escape(out: &mut String, e: char, in_class: bool) {
    let (body, negated) = match e {
        'd' => (DIGIT, false),
        'D' => (DIGIT, true),
        'w' => (WORD, false),
        'W' => (WORD, true),
        's' => (SPACE, false),
        'S' => (SPACE, true),
        'b' | 'B' if !in_class => {
            out.push_str("(?-u:\\");
            out.push(e);
            out.push(')');
            return;
        }
        _ => {
            out.push('\\');
            out.push(e);
            return;
        }
    };
    match (in_class, negated) {
        (true, false) => out.push_str(body),
        _ => {
            out.push_str(if negated { "[^" } else { "[" });
            out.push_str(body);
            out.push(']');
        }
    }
}

/// Compiles a translated pattern with the options Go's parser implies (octal escapes).
pub(crate) fn build(pattern: &str) -> Result<Regex, regex::Error> {
    RegexBuilder::new(pattern).octal(true).build()
}

/// Strips VictoriaMetrics-style redundant anchors: leading `^`s and trailing unescaped
/// `$`s. They are harmless inside `^(?s:...)$`, but removing them lets `^foo$` take the
/// literal fast path.
fn strip_anchors(re: &str) -> &str {
    let mut s = re.trim_start_matches('^');
    while let Some(rest) = s.strip_suffix('$') {
        let backslashes = rest.bytes().rev().take_while(|&b| b == b'\\').count();
        if backslashes % 2 == 1 {
            break;
        }
        s = rest;
    }
    s
}

/// A regex that must match the whole string (`^(?s:RE)$`), with fast paths for literal
/// sets, prefixes and "anything".
#[derive(Clone, Debug)]
pub(crate) struct Anchored {
    re: Regex,
    shape: RegexShape,
    /// `(.*)`: every string matches and group 1 is the whole string.
    whole_group: bool,
}

/// The capture groups of a match.
pub(crate) enum Groups<'a> {
    /// Groups `0..n` are all the whole string: `n` = 1 for a regex without groups,
    /// 2 for `(.*)`.
    Whole(&'a str, usize),
    /// Groups from the regex engine.
    Engine(Captures<'a>),
}

impl<'a> Groups<'a> {
    /// The text of group `i`, `None` when it does not exist or did not participate.
    pub(crate) fn get(&self, i: usize) -> Option<&'a str> {
        match self {
            Groups::Whole(s, n) => (i < *n).then_some(*s),
            Groups::Engine(c) => c.get(i).map(|m| m.as_str()),
        }
    }
}

impl Anchored {
    /// Compiles `re` (Go syntax) anchored on both ends, `.` matching newlines.
    pub(crate) fn new(re: &str) -> Result<Self, regex::Error> {
        let inner = translate(strip_anchors(re));
        let compiled = build(&format!("^(?s:{inner})$"))?;
        let shape = regex_shape(&inner);
        let whole_group = matches!(strip_anchors(re), "(.*)" | "(?s:.*)" | "(?s)(.*)");
        Ok(Anchored {
            re: compiled,
            shape,
            whole_group,
        })
    }

    /// The compiled regex (for its group names).
    pub(crate) fn regex(&self) -> &Regex {
        &self.re
    }

    /// True when the whole of `s` matches.
    #[inline]
    pub(crate) fn is_match(&self, s: &str) -> bool {
        match &self.shape {
            RegexShape::Set(set) => set.iter().any(|x| x == s),
            RegexShape::Prefixes(ps) => ps.iter().any(|p| s.starts_with(p.as_str())),
            RegexShape::Any => true,
            RegexShape::NonEmpty => !s.is_empty(),
            RegexShape::Other => self.re.is_match(s),
        }
    }

    /// The groups of the match of the whole of `s`, if it matches.
    pub(crate) fn captures<'a>(&self, s: &'a str) -> Option<Groups<'a>> {
        if self.whole_group {
            return Some(Groups::Whole(s, 2));
        }
        if self.re.captures_len() == 1 {
            // No groups: only `$0` can be asked for, and the fast paths answer the match.
            return self.is_match(s).then_some(Groups::Whole(s, 1));
        }
        // A failed match is decided by the cheaper match-only engines (literal
        // prefilters) before asking for groups: most labels a `labelmap` sees do not match.
        if !self.is_match(s) {
            return None;
        }
        self.re.captures(s).map(Groups::Engine)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn m(re: &str, s: &str) -> bool {
        Anchored::new(re).unwrap().is_match(s)
    }

    #[test]
    fn perl_classes_are_ascii_as_in_go() {
        assert!(m(r"\d+", "123"));
        assert!(!m(r"\d", "٣")); // Arabic-Indic digit three
        assert!(m(r"\D", "٣"));
        assert!(!m(r"\w", "é"));
        assert!(m(r"\W", "é"));
        assert!(!m(r"\s", "\u{a0}"));
        assert!(!m(r"\s", "\u{0b}")); // Go's \s has no vertical tab
        assert!(m(r"[\d\s]+", "1 2"));
        assert!(m(r"[^\D]", "7"));
        assert!(m(r"x\b.*", "x-y"));
        // é is not an ASCII word char: there is a boundary after x (not in Unicode mode).
        assert!(m(r"x\b.*", "xé"));
        assert!(!m(r"x\B.*", "xé"));
    }

    #[test]
    fn quoting_and_class_punctuation_follow_go() {
        assert!(m(r"\Qa.b*\Ec", "a.b*c"));
        assert!(!m(r"\Qa.b\E", "axb"));
        assert!(m(r"\Qa.b", "a.b"));
        assert!(m(r"[[]", "["));
        assert!(m(r"[a&&b]+", "a&b"));
        assert!(m(r"[]a]", "]"));
        assert!(m(r"[[:alpha:]]+", "abc"));
    }

    #[test]
    fn anchoring_is_whole_string_and_dot_matches_newline() {
        assert!(!m("foo", "foobar"));
        assert!(m("^foo$", "foo"));
        assert!(m("line1.*line2", "line1\nline2"));
        assert!(m("a|b", "b"));
        assert!(!m("a|b", "ab"));
        assert!(m(r"foo\$", "foo$"));
    }

    #[test]
    fn groups_come_from_the_fast_path_or_the_engine() {
        let a = Anchored::new("(.*)").unwrap();
        let g = a.captures("x").unwrap();
        assert_eq!((g.get(0), g.get(1), g.get(2)), (Some("x"), Some("x"), None));
        let b = Anchored::new("f(o+)(x)?").unwrap();
        let g = b.captures("foo").unwrap();
        assert_eq!((g.get(1), g.get(2)), (Some("oo"), None));
        assert!(b.captures("bar").is_none());
        let c = Anchored::new("abc").unwrap();
        assert_eq!(c.captures("abc").unwrap().get(0), Some("abc"));
        assert!(c.captures("abd").is_none());
    }
}
