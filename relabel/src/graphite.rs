//! The `graphite` action's templates: `match: "foo.*.bar"` captures dot-free parts of the
//! metric name, `labels: {job: "$1"}` writes them into labels.

/// A `match` template split at its `*`s.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct MatchTemplate {
    /// Literal text before the first `*`, then after each `*`.
    literals: Vec<String>,
}

impl MatchTemplate {
    /// Parses a template; every `*` is a wildcard.
    pub(crate) fn parse(t: &str) -> Self {
        MatchTemplate {
            literals: t.split('*').map(str::to_owned).collect(),
        }
    }

    /// Matches `name`, pushing `$0` (the name) and one capture per `*` into `caps`.
    /// A `*` matches a possibly empty dot-free run that ends at the FIRST occurrence of
    /// the literal text after it (no backtracking).
    pub(crate) fn matches<'a>(&self, name: &'a str, caps: &mut Vec<&'a str>) -> bool {
        caps.clear();
        caps.push(name);
        let (first, stars) = self.literals.split_first().expect("split yields one part");
        let Some(mut rest) = name.strip_prefix(first.as_str()) else {
            return false;
        };
        for (k, lit) in stars.iter().enumerate() {
            let last = k + 1 == stars.len();
            let end = if lit.is_empty() {
                if last { rest.len() } else { 0 }
            } else {
                match rest.find(lit.as_str()) {
                    Some(e) => e,
                    None => return false,
                }
            };
            let cap = &rest[..end];
            if cap.contains('.') {
                return false;
            }
            caps.push(cap);
            rest = &rest[end + lit.len()..];
        }
        rest.is_empty()
    }
}

/// A `labels` value: text with `$N` / `${N}` capture references.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct LabelTemplate {
    pieces: Vec<Piece>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
enum Piece {
    Lit(String),
    /// Capture `n`, and the text to write when it does not exist.
    Cap(usize, String),
}

impl LabelTemplate {
    /// Parses `$N` and `${N}`; a `$` not followed by digits is literal.
    pub(crate) fn parse(t: &str) -> Self {
        let mut pieces = Vec::new();
        let mut lit = String::new();
        let mut rest = t;
        while let Some(pos) = rest.find('$') {
            lit.push_str(&rest[..pos]);
            let after = &rest[pos + 1..];
            let (digits, consumed) = match after.strip_prefix('{') {
                Some(b) => match b.find('}') {
                    Some(close) if close > 0 && b[..close].bytes().all(|c| c.is_ascii_digit()) => {
                        (&b[..close], close + 2)
                    }
                    _ => ("", 0),
                },
                None => {
                    let n = after.bytes().take_while(u8::is_ascii_digit).count();
                    (&after[..n], n)
                }
            };
            match digits.parse::<usize>() {
                Ok(n) if consumed > 0 => {
                    if !lit.is_empty() {
                        pieces.push(Piece::Lit(std::mem::take(&mut lit)));
                    }
                    pieces.push(Piece::Cap(n, rest[pos..pos + 1 + consumed].to_owned()));
                    rest = &after[consumed..];
                }
                _ => {
                    lit.push('$');
                    rest = after;
                }
            }
        }
        lit.push_str(rest);
        if !lit.is_empty() {
            pieces.push(Piece::Lit(lit));
        }
        LabelTemplate { pieces }
    }

    /// Expands the template with the captures of [`MatchTemplate::matches`].
    pub(crate) fn expand_into(&self, caps: &[&str], out: &mut String) {
        for p in &self.pieces {
            match p {
                Piece::Lit(s) => out.push_str(s),
                Piece::Cap(n, raw) => out.push_str(caps.get(*n).copied().unwrap_or(raw)),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn caps(t: &str, s: &str) -> Option<Vec<String>> {
        let mut c = Vec::new();
        MatchTemplate::parse(t)
            .matches(s, &mut c)
            .then(|| c.iter().map(|x| x.to_string()).collect())
    }

    #[test]
    fn stars_capture_dot_free_parts() {
        assert_eq!(caps("foo.*.bar", "foo.x.bar").unwrap(), ["foo.x.bar", "x"]);
        assert_eq!(caps("*.*", "a.b").unwrap(), ["a.b", "a", "b"]);
        assert_eq!(caps("foo.*", "foo.").unwrap(), ["foo.", ""]);
        assert!(caps("foo.*", "foo.a.b").is_none());
        assert!(caps("foo.*.bar", "foo.x.baz").is_none());
        assert!(caps("foo", "foo.x").is_none());
        // No backtracking: the first `_b` ends the star, then `_b` must be the end.
        assert!(caps("*_b", "a_b_b").is_none());
    }

    #[test]
    fn label_templates_keep_unknown_references() {
        let mut out = String::new();
        LabelTemplate::parse("$1-${2}-$3-$x-$").expand_into(&["all", "a", "b"], &mut out);
        assert_eq!(out, "a-b-$3-$x-$");
    }
}
