//! Parse errors: what went wrong, and where (line, column, byte offset).

use std::fmt;

/// A rejected input, located at the offending byte.
///
/// `Display` renders `line {line}, column {column}: {kind}`; [`ParseError::line_text`]
/// gives the offending line back from the input for caret-style reports.
#[derive(Clone, Debug, PartialEq, thiserror::Error)]
#[error("line {line}, column {column}: {kind}")]
pub struct ParseError {
    /// 1-based line number.
    pub line: usize,
    /// 1-based column, counted in characters (UTF-8 code points) from the line start.
    pub column: usize,
    /// Byte offset of the offending byte in the whole input.
    pub offset: usize,
    /// What was wrong.
    pub kind: ParseErrorKind,
}

impl ParseError {
    /// Builds an error at byte `offset` of `input`, computing line and column with
    /// `lines` (which only moves forward, so reporting many errors stays linear).
    pub(crate) fn at(
        input: &[u8],
        lines: &mut LineTracker,
        offset: usize,
        kind: ParseErrorKind,
    ) -> Self {
        let offset = offset.min(input.len());
        let (line, line_start) = lines.locate(input, offset);
        let column = 1 + input[line_start..offset]
            .iter()
            .filter(|&&b| !is_utf8_continuation(b))
            .count();
        ParseError {
            line,
            column,
            offset,
            kind,
        }
    }

    /// The text of the line holding the error (without its line break), taken from the
    /// input the parser was given.
    pub fn line_text<'i>(&self, input: &'i [u8]) -> &'i [u8] {
        let offset = self.offset.min(input.len());
        let start = input[..offset]
            .iter()
            .rposition(|&b| b == b'\n')
            .map_or(0, |i| i + 1);
        let end = input[offset..]
            .iter()
            .position(|&b| b == b'\n')
            .map_or(input.len(), |i| offset + i);
        &input[start..end]
    }
}

/// Line numbers computed lazily: remembers the last located line so that locating
/// increasing offsets scans the input once in total.
#[derive(Clone, Debug)]
pub(crate) struct LineTracker {
    /// Start offset of a line whose number is known.
    line_start: usize,
    /// Its 1-based number.
    line: usize,
}

impl Default for LineTracker {
    fn default() -> Self {
        LineTracker {
            line_start: 0,
            line: 1,
        }
    }
}

impl LineTracker {
    /// Returns the 1-based line number of `offset` and the start of that line.
    pub(crate) fn locate(&mut self, input: &[u8], offset: usize) -> (usize, usize) {
        if offset < self.line_start {
            *self = LineTracker::default();
        }
        let base = self.line_start;
        for nl in memchr::memchr_iter(b'\n', &input[base..offset]) {
            self.line += 1;
            self.line_start = base + nl + 1;
        }
        (self.line, self.line_start)
    }
}

fn is_utf8_continuation(b: u8) -> bool {
    b & 0xC0 == 0x80
}

/// The reason an input was rejected.
#[derive(Clone, Debug, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum ParseErrorKind {
    /// A token other than the one the grammar needs here.
    #[error("expected {expected}, found {found}")]
    Unexpected {
        /// What the grammar needed (`"label value"`, `"equal sign"`...).
        expected: &'static str,
        /// What the input held instead.
        found: Found,
    },
    /// A sample or exemplar value that is not a float in Prometheus' syntax.
    #[error("invalid {what} {text:?}: {reason}")]
    InvalidNumber {
        /// `"value"`, `"timestamp"`, `"exemplar value"`...
        what: &'static str,
        /// The rejected text (lossily decoded).
        text: String,
        /// Why it was rejected.
        reason: &'static str,
    },
    /// An OpenMetrics sample or exemplar timestamp that is NaN or infinite.
    #[error("invalid {what} {value}")]
    NonFiniteTimestamp {
        /// `"timestamp"` or `"exemplar timestamp"`.
        what: &'static str,
        /// The parsed value.
        value: f64,
    },
    /// A label value, quoted name, HELP or UNIT text that is not valid UTF-8.
    #[error("{what} is not valid UTF-8")]
    InvalidUtf8 {
        /// What held the bytes.
        what: &'static str,
    },
    /// A `# TYPE` line naming a type this format does not have.
    #[error("invalid metric type {0:?}")]
    InvalidMetricType(String),
    /// An OpenMetrics `# UNIT` that is not a `_`-separated suffix of the metric name.
    #[error("unit {unit:?} not a suffix of metric {metric:?}")]
    UnitNotSuffix {
        /// The unit text.
        unit: String,
        /// The metric name.
        metric: String,
    },
    /// A series with labels but no metric name (`{a="b"} 1`).
    #[error("metric name not set")]
    MetricNameMissing,
    /// A series naming its metric twice (`a{"b"} 1`, `{"a","b"} 1`).
    #[error("metric name already set")]
    MetricNameTwice,
    /// OpenMetrics input that ends without the `# EOF` line.
    #[error("data does not end with # EOF")]
    MissingEof,
    /// OpenMetrics input with bytes after `# EOF` (and its optional line break).
    #[error("unexpected data after # EOF")]
    DataAfterEof,
}

/// The offending token of [`ParseErrorKind::Unexpected`].
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Found {
    /// The input ended.
    EndOfInput,
    /// The line ended.
    EndOfLine,
    /// These bytes (at most a few, up to the end of the line).
    Bytes(Vec<u8>),
}

impl Found {
    /// Describes what sits at `pos` of `input`: the end, a line break, or up to 8 bytes.
    pub(crate) fn at(input: &[u8], pos: usize) -> Self {
        match input.get(pos) {
            None => Found::EndOfInput,
            Some(b'\n') => Found::EndOfLine,
            Some(_) => {
                let rest = &input[pos..];
                let end = rest
                    .iter()
                    .take(8)
                    .position(|&b| b == b'\n')
                    .unwrap_or(rest.len().min(8));
                Found::Bytes(rest[..end].to_vec())
            }
        }
    }
}

impl fmt::Display for Found {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Found::EndOfInput => f.write_str("end of input"),
            Found::EndOfLine => f.write_str("end of line"),
            Found::Bytes(b) => write!(f, "{:?}", String::from_utf8_lossy(b)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn position_counts_lines_and_characters() {
        let input = "a 1\nbé{x\n".as_bytes();
        let mut lines = LineTracker::default();
        let e = ParseError::at(input, &mut lines, 7, ParseErrorKind::MetricNameMissing);
        assert_eq!((e.line, e.column, e.offset), (2, 3, 7));
        assert_eq!(e.line_text(input), "bé{x".as_bytes());
        assert_eq!(e.to_string(), "line 2, column 3: metric name not set");
    }

    #[test]
    fn found_stops_at_line_end() {
        assert_eq!(Found::at(b"ab\ncd", 0), Found::Bytes(b"ab".to_vec()));
        assert_eq!(Found::at(b"ab\ncd", 2), Found::EndOfLine);
        assert_eq!(Found::at(b"ab", 2), Found::EndOfInput);
        assert_eq!(
            Found::at(b"0123456789", 0).to_string(),
            "\"01234567\"".to_owned()
        );
    }
}
