//! Byte-level scanning primitives shared by both formats. Everything here works on the
//! input slice and positions into it; nothing allocates.

use super::error::{Found, ParseErrorKind};

/// An error at a byte position; the parser turns it into a [`super::ParseError`] with
/// line and column.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct Fail {
    pub pos: usize,
    pub kind: ParseErrorKind,
}

impl Fail {
    pub(crate) fn new(pos: usize, kind: ParseErrorKind) -> Self {
        Fail { pos, kind }
    }

    /// "expected `expected`, found <what is at `pos`>".
    pub(crate) fn unexpected(input: &[u8], pos: usize, expected: &'static str) -> Self {
        Fail {
            pos,
            kind: ParseErrorKind::Unexpected {
                expected,
                found: Found::at(input, pos),
            },
        }
    }
}

/// First byte of a metric name: `[a-zA-Z_:]`.
#[inline]
pub(crate) fn is_metric_start(b: u8) -> bool {
    b.is_ascii_alphabetic() || b == b'_' || b == b':'
}

/// Later bytes of a metric name: `[a-zA-Z0-9_:]`.
#[inline]
fn is_metric_char(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'_' || b == b':'
}

/// First byte of a label name: `[a-zA-Z_]`.
#[inline]
pub(crate) fn is_label_start(b: u8) -> bool {
    b.is_ascii_alphabetic() || b == b'_'
}

/// Later bytes of a label name: `[a-zA-Z0-9_]`.
#[inline]
fn is_label_char(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'_'
}

/// End of the metric name starting at `pos` (whose first byte the caller checked).
#[inline]
pub(crate) fn scan_metric_name(input: &[u8], pos: usize) -> usize {
    scan_while(input, pos + 1, is_metric_char)
}

/// End of the label name starting at `pos` (whose first byte the caller checked).
#[inline]
pub(crate) fn scan_label_name(input: &[u8], pos: usize) -> usize {
    scan_while(input, pos + 1, is_label_char)
}

/// First position at or after `pos` whose byte does not satisfy `pred`.
#[inline]
pub(crate) fn scan_while(input: &[u8], mut pos: usize, pred: impl Fn(u8) -> bool) -> usize {
    while pos < input.len() && pred(input[pos]) {
        pos += 1;
    }
    pos
}

/// Skips spaces and tabs.
#[inline]
pub(crate) fn skip_blank(input: &[u8], pos: usize) -> usize {
    scan_while(input, pos, |b| b == b' ' || b == b'\t')
}

/// Position of the next line break at or after `pos`, or the input length.
#[inline]
pub(crate) fn line_end(input: &[u8], pos: usize) -> usize {
    memchr::memchr(b'\n', input.get(pos..).unwrap_or_default()).map_or(input.len(), |i| pos + i)
}

/// What a quoted string may contain besides escapes and ordinary bytes.
#[derive(Clone, Copy, Debug)]
pub(crate) struct QuoteRules {
    /// Raw line breaks inside the quotes (the Prometheus text lexer allows them).
    pub newline: bool,
    /// NUL bytes (Prometheus allows them in series label values only).
    pub nul: bool,
}

/// Scans the quoted string whose opening `"` is at `pos`; returns the position after the
/// closing quote. `\` escapes any byte except a line break.
pub(crate) fn scan_quoted(input: &[u8], pos: usize, rules: QuoteRules) -> Result<usize, Fail> {
    let mut i = pos + 1;
    while let Some(&b) = input.get(i) {
        match b {
            b'"' => return Ok(i + 1),
            b'\\' => match input.get(i + 1) {
                Some(b'\n') | None => {
                    return Err(Fail::unexpected(input, i + 1, "escaped character"));
                }
                Some(0) if !rules.nul => {
                    return Err(Fail::unexpected(input, i + 1, "escaped character"));
                }
                Some(_) => i += 2,
            },
            b'\n' if !rules.newline => return Err(Fail::unexpected(input, i, "closing quote")),
            0 if !rules.nul => return Err(Fail::unexpected(input, i, "closing quote")),
            _ => i += 1,
        }
    }
    Err(Fail::unexpected(input, i, "closing quote"))
}

/// Checks that `bytes` (starting at `pos` in the input) are UTF-8.
#[inline]
pub(crate) fn check_utf8(bytes: &[u8], pos: usize, what: &'static str) -> Result<(), Fail> {
    match std::str::from_utf8(bytes) {
        Ok(_) => Ok(()),
        Err(e) => Err(Fail::new(
            pos + e.valid_up_to(),
            ParseErrorKind::InvalidUtf8 { what },
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const LOOSE: QuoteRules = QuoteRules {
        newline: true,
        nul: true,
    };
    const STRICT: QuoteRules = QuoteRules {
        newline: false,
        nul: false,
    };

    #[test]
    fn quoted_strings() {
        assert_eq!(scan_quoted(br#""ab" x"#, 0, STRICT), Ok(4));
        assert_eq!(scan_quoted(br#""a\"b""#, 0, STRICT), Ok(6));
        assert_eq!(scan_quoted(b"\"a\nb\"", 0, LOOSE), Ok(5));
        assert_eq!(
            scan_quoted(b"\"a\nb\"", 0, STRICT).map_err(|f| f.pos),
            Err(2)
        );
        assert_eq!(scan_quoted(b"\"a\0\"", 0, LOOSE), Ok(4));
        assert_eq!(
            scan_quoted(b"\"a\0\"", 0, STRICT).map_err(|f| f.pos),
            Err(2)
        );
        assert_eq!(
            scan_quoted(b"\"a\\\nb\"", 0, LOOSE).map_err(|f| f.pos),
            Err(3)
        );
        assert_eq!(scan_quoted(b"\"abc", 0, LOOSE).map_err(|f| f.pos), Err(4));
    }

    #[test]
    fn names() {
        assert_eq!(scan_metric_name(b"a:b_1{", 0), 5);
        assert_eq!(scan_label_name(b"a:b", 0), 1);
        assert_eq!(line_end(b"ab\ncd", 0), 2);
        assert_eq!(line_end(b"ab\ncd", 3), 5);
        assert_eq!(line_end(b"ab", 9), 2);
    }
}
