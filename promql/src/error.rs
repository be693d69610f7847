//! The crate's one error type.

use std::fmt;
use std::ops::Range;

/// Result alias used throughout the crate.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Everything that can go wrong in `gnomon-promql`.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The query text is not valid PromQL/MetricsQL (syntax, unknown function, bad regex,
    /// type mismatch…). Display draws the query with a caret under the spot.
    #[error("{0}")]
    Parse(Box<ParseError>),
}

impl From<ParseError> for Error {
    fn from(e: ParseError) -> Self {
        Error::Parse(Box::new(e))
    }
}

impl Error {
    /// The parse error, when this is one.
    pub fn as_parse(&self) -> Option<&ParseError> {
        match self {
            Error::Parse(p) => Some(p),
        }
    }
}

/// What kind of mistake a [`ParseError`] reports.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum ParseErrorKind {
    /// A token was expected and something else was found; the string says what was
    /// expected (`"\`)\`"`, `"label matcher"`, `"expression"`).
    Expected(String),
    /// Input left over after a complete expression.
    TrailingInput,
    /// A call of a name that is not in the function table.
    UnknownFunction(String),
    /// Wrong number of arguments for a function.
    ArgCount {
        /// Function name.
        func: String,
        /// What the function accepts (`"2"`, `"1 to 2"`, `"at least 3"`).
        expected: String,
        /// How many were given.
        got: usize,
    },
    /// An expression has the wrong type where it appears.
    Type(String),
    /// A regular expression does not compile.
    InvalidRegex(String),
    /// A number, duration or string literal is malformed or out of range.
    InvalidLiteral(String),
    /// A selector has no matcher that rejects the empty string (`{}`, `{a=~".*"}`), or
    /// names the metric twice.
    InvalidSelector(String),
    /// Expressions are nested deeper than the parser's limit.
    TooDeep(usize),
    /// A MetricsQL construct in Prometheus-strict mode.
    NotPromQL(String),
    /// A WITH template is misused (wrong arity, recursion).
    Template(String),
}

impl fmt::Display for ParseErrorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ParseErrorKind::Expected(what) => write!(f, "expected {what}"),
            ParseErrorKind::TrailingInput => write!(f, "unexpected input after the expression"),
            ParseErrorKind::UnknownFunction(n) => write!(f, "unknown function {n:?}"),
            ParseErrorKind::ArgCount {
                func,
                expected,
                got,
            } => write!(
                f,
                "function {func:?} takes {expected} argument(s), {got} given"
            ),
            ParseErrorKind::Type(m)
            | ParseErrorKind::InvalidLiteral(m)
            | ParseErrorKind::InvalidSelector(m)
            | ParseErrorKind::NotPromQL(m)
            | ParseErrorKind::Template(m) => f.write_str(m),
            ParseErrorKind::InvalidRegex(m) => write!(f, "invalid regex: {m}"),
            ParseErrorKind::TooDeep(n) => write!(f, "expression nested deeper than {n} levels"),
        }
    }
}

/// A parse error: the query, the byte span of the offending part and what was wrong.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ParseError {
    /// The whole query text.
    pub input: String,
    /// Byte range of the offending part (empty at the end of the input).
    pub span: Range<usize>,
    /// What was wrong or expected.
    pub kind: ParseErrorKind,
}

impl ParseError {
    /// 1-based line and column (in characters) of the start of the span.
    pub fn line_col(&self) -> (usize, usize) {
        let before = &self.input[..self.span.start.min(self.input.len())];
        let line = before.matches('\n').count() + 1;
        let col = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
        (line, col)
    }
}

impl fmt::Display for ParseError {
    /// `parse error at 1:5: expected …`, then the query line and a caret line under it.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (line, col) = self.line_col();
        write!(f, "parse error at {line}:{col}: {}", self.kind)?;
        let start = self.span.start.min(self.input.len());
        let line_start = self.input[..start].rfind('\n').map_or(0, |p| p + 1);
        let line_end = self.input[start..]
            .find('\n')
            .map_or(self.input.len(), |p| start + p);
        let text = &self.input[line_start..line_end];
        let pad: String = self.input[line_start..start]
            .chars()
            .map(|c| if c == '\t' { '\t' } else { ' ' })
            .collect();
        let end = self.span.end.clamp(start, line_end);
        let width = self.input[start..end].chars().count().max(1);
        write!(f, "\n  {text}\n  {pad}{}", "^".repeat(width))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn caret_under_the_span() {
        let e = ParseError {
            input: "sum(rate(x[5m])".into(),
            span: 15..15,
            kind: ParseErrorKind::Expected("`)`".into()),
        };
        assert_eq!(
            e.to_string(),
            "parse error at 1:16: expected `)`\n  sum(rate(x[5m])\n                 ^"
        );
        let e = ParseError {
            input: "a +\nfoo(1)".into(),
            span: 4..7,
            kind: ParseErrorKind::UnknownFunction("foo".into()),
        };
        assert_eq!(e.line_col(), (2, 1));
        assert!(e.to_string().ends_with("\n  foo(1)\n  ^^^"));
    }
}
