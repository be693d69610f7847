//! Token-level parsers (nom): blanks and comments, identifiers, numbers, durations and
//! string literals. Each takes the remaining input and returns the rest.

use nom::branch::alt;
use nom::bytes::complete::{tag, take_while1};
use nom::character::complete::{char, digit1, hex_digit1};
use nom::combinator::{opt, recognize};
use nom::error::ErrorKind;
use nom::{IResult, Parser};

use crate::error::ParseErrorKind;

/// The parser's error: where (as the length of the input left), how long the offending
/// part is, and what went wrong.
#[derive(Clone, Debug, PartialEq)]
pub struct PErr {
    /// Length of the remaining input at the error.
    pub rest: usize,
    /// Length of the offending part (0: a point).
    pub len: usize,
    /// What went wrong.
    pub kind: ParseErrorKind,
}

impl PErr {
    /// An error at the start of `i`, as long as the token there.
    pub fn at(i: &str, kind: ParseErrorKind) -> Self {
        PErr {
            rest: i.len(),
            len: token_len(i),
            kind,
        }
    }

    /// An error covering `len` bytes from the start of `i`.
    pub fn span(i: &str, len: usize, kind: ParseErrorKind) -> Self {
        PErr {
            rest: i.len(),
            len,
            kind,
        }
    }

    /// "expected `what`" at `i`.
    pub fn expected(i: &str, what: &str) -> Self {
        PErr::at(i, ParseErrorKind::Expected(what.to_string()))
    }
}

impl nom::error::ParseError<&str> for PErr {
    fn from_error_kind(input: &str, kind: ErrorKind) -> Self {
        PErr::at(input, ParseErrorKind::Expected(format!("{kind:?}")))
    }
    fn append(_: &str, _: ErrorKind, other: Self) -> Self {
        other
    }
    fn or(self, other: Self) -> Self {
        // Keep the error that got further.
        if other.rest <= self.rest { other } else { self }
    }
}

/// Parser result with [`PErr`].
pub type PResult<'a, T> = IResult<&'a str, T, PErr>;

/// A recoverable error (alternatives are tried).
pub fn fail<T>(e: PErr) -> Result<T, nom::Err<PErr>> {
    Err(nom::Err::Error(e))
}

/// A committed error (no backtracking: the error is reported as is).
pub fn cut<T>(e: PErr) -> Result<T, nom::Err<PErr>> {
    Err(nom::Err::Failure(e))
}

/// Length of the token at the start of `i`, for error spans: an identifier or number,
/// else one character.
pub fn token_len(i: &str) -> usize {
    let w = i
        .char_indices()
        .find(|(_, c)| !(c.is_alphanumeric() || *c == '_' || *c == ':' || *c == '.'))
        .map_or(i.len(), |(p, _)| p);
    if w > 0 {
        w
    } else {
        i.chars().next().map_or(0, char::len_utf8)
    }
}

/// Skips blanks and `#` comments (to the end of the line).
pub fn ws(mut i: &str) -> &str {
    loop {
        let t = i.trim_start();
        if let Some(rest) = t.strip_prefix('#') {
            i = rest.find('\n').map_or("", |p| &rest[p..]);
        } else {
            return t;
        }
    }
}

/// True for a character that may start an identifier.
pub fn is_ident_start(c: char, unicode: bool) -> bool {
    c.is_ascii_alphabetic() || c == '_' || (unicode && c.is_alphabetic())
}

/// True for a character that may continue an identifier (`:` only in metric names).
pub fn is_ident_char(c: char, unicode: bool) -> bool {
    c.is_ascii_alphanumeric() || c == '_' || (unicode && c.is_alphanumeric())
}

/// An identifier: `[a-zA-Z_][a-zA-Z0-9_]*`, plus `:` when `colons` (metric names) and
/// Unicode letters when `unicode` (MetricsQL).
pub fn ident(i: &str, colons: bool, unicode: bool) -> PResult<'_, &str> {
    let mut it = i.char_indices();
    match it.next() {
        Some((_, c)) if is_ident_start(c, unicode) || (colons && c == ':') => {}
        _ => return fail(PErr::expected(i, "identifier")),
    }
    let end = it
        .find(|&(_, c)| !(is_ident_char(c, unicode) || (colons && c == ':')))
        .map_or(i.len(), |(p, _)| p);
    Ok((&i[end..], &i[..end]))
}

/// True when `s` is a valid label name written bare.
pub fn is_label_name(s: &str) -> bool {
    let mut cs = s.chars();
    cs.next().is_some_and(|c| is_ident_start(c, false)) && cs.all(|c| is_ident_char(c, false))
}

/// True when `s` is a valid metric name written bare.
pub fn is_metric_name(s: &str) -> bool {
    let mut cs = s.chars();
    cs.next()
        .is_some_and(|c| is_ident_start(c, false) || c == ':')
        && cs.all(|c| is_ident_char(c, false) || c == ':')
}

/// Digits with `_` separators between them (`1_000`).
fn digits(i: &str) -> PResult<'_, &str> {
    recognize((digit1, nom::multi::many0_count((char('_'), digit1)))).parse(i)
}

fn parse_float(s: &str) -> Option<f64> {
    let clean: String = s.chars().filter(|&c| c != '_').collect();
    clean.parse::<f64>().ok()
}

/// An unsigned number literal without suffix: decimal with optional fraction and
/// exponent, hexadecimal `0x…`, or (as in Go's `ParseInt(s, 0, 64)`) octal `0…`.
/// `Inf`/`NaN` are identifiers and handled by the grammar.
pub fn unsigned_number(i: &str) -> PResult<'_, f64> {
    let hex: PResult<'_, &str> =
        recognize((tag("0"), alt((char('x'), char('X'))), hex_digit1)).parse(i);
    if let Ok((rest, h)) = hex {
        let v = u64::from_str_radix(&h[2..], 16).map_err(|_| {
            nom::Err::Failure(PErr::span(
                i,
                h.len(),
                ParseErrorKind::InvalidLiteral(format!("hexadecimal number {h} out of range")),
            ))
        })?;
        return Ok((rest, v as f64));
    }
    let (rest, text) = recognize((
        alt((
            recognize((digits, opt((char('.'), opt(digits))))),
            recognize((char('.'), digits)),
        )),
        opt((
            alt((char('e'), char('E'))),
            opt(alt((char('+'), char('-')))),
            digit1,
        )),
    ))
    .parse(i)?;
    if text.len() > 1
        && text.starts_with('0')
        && text.bytes().all(|b| b.is_ascii_digit() || b == b'_')
    {
        let clean: String = text.chars().filter(|&c| c != '_').collect();
        if let Ok(v) = i64::from_str_radix(&clean[1..], 8) {
            return Ok((rest, v as f64));
        }
    }
    match parse_float(text) {
        Some(v) => Ok((rest, v)),
        None => cut(PErr::span(
            i,
            text.len(),
            ParseErrorKind::InvalidLiteral(format!("invalid number {text:?}")),
        )),
    }
}

/// The unit of a duration part.
fn duration_unit(i: &str) -> PResult<'_, f64> {
    let (rest, u) = alt((
        tag("ms"),
        tag("y"),
        tag("w"),
        tag("d"),
        tag("h"),
        tag("m"),
        tag("s"),
    ))
    .parse(i)?;
    // A unit is not followed by more identifier characters (`5mb` is not a duration).
    if rest
        .chars()
        .next()
        .is_some_and(|c| c.is_alphabetic() || c == '_')
    {
        return fail(PErr::expected(i, "duration unit"));
    }
    let ms = match u {
        "ms" => 1.0,
        "s" => 1e3,
        "m" => 60e3,
        "h" => 3600e3,
        "d" => 86400e3,
        "w" => 7.0 * 86400e3,
        _ => 365.0 * 86400e3,
    };
    Ok((rest, ms))
}

/// A duration literal: `5m`, `1h30m`, `1.5h` (MetricsQL); the value in milliseconds.
/// Fails (recoverably) when the input is a plain number.
pub fn duration_literal(i: &str) -> PResult<'_, i64> {
    let mut total = 0f64;
    let mut rest = i;
    let mut parts = 0;
    loop {
        let Ok((r, num)) =
            recognize((digits, opt((char('.'), digits)))).parse(rest) as PResult<'_, &str>
        else {
            break;
        };
        let Ok((r, unit)) = duration_unit(r) else {
            break;
        };
        total += parse_float(num).unwrap_or(0.0) * unit;
        rest = r;
        parts += 1;
    }
    if parts == 0 {
        return fail(PErr::expected(i, "duration"));
    }
    if !total.is_finite() || total.abs() > i64::MAX as f64 / 2.0 {
        return cut(PErr::span(
            i,
            i.len() - rest.len(),
            ParseErrorKind::InvalidLiteral("duration out of range".into()),
        ));
    }
    Ok((rest, total.round() as i64))
}

/// A MetricsQL numeric suffix multiplier: `Ki Mi Gi Ti` (powers of 1024), `K M G T`.
pub fn number_suffix(i: &str) -> PResult<'_, f64> {
    let (rest, s) = alt((
        tag("Ki"),
        tag("Mi"),
        tag("Gi"),
        tag("Ti"),
        tag("K"),
        tag("M"),
        tag("G"),
        tag("T"),
    ))
    .parse(i)?;
    if rest.chars().next().is_some_and(|c| is_ident_char(c, true)) {
        return fail(PErr::expected(i, "number suffix"));
    }
    let m = match s {
        "Ki" => 1024f64,
        "Mi" => 1024f64.powi(2),
        "Gi" => 1024f64.powi(3),
        "Ti" => 1024f64.powi(4),
        "K" => 1e3,
        "M" => 1e6,
        "G" => 1e9,
        _ => 1e12,
    };
    Ok((rest, m))
}

/// A string literal: `"…"` or `'…'` with Go escapes, or `` `…` `` raw.
pub fn string_literal(i: &str) -> PResult<'_, String> {
    let quote = match i.chars().next() {
        Some(q @ ('"' | '\'' | '`')) => q,
        _ => return fail(PErr::expected(i, "string")),
    };
    let body = &i[1..];
    if quote == '`' {
        return match body.find('`') {
            Some(p) => Ok((&body[p + 1..], body[..p].to_string())),
            None => cut(PErr::span(
                i,
                i.len(),
                ParseErrorKind::InvalidLiteral("unterminated raw string".into()),
            )),
        };
    }
    let mut bytes = Vec::new();
    let mut it = body.char_indices();
    let unterminated = || {
        nom::Err::Failure(PErr::span(
            i,
            i.find('\n').unwrap_or(i.len()),
            ParseErrorKind::InvalidLiteral("unterminated string".into()),
        ))
    };
    while let Some((p, c)) = it.next() {
        match c {
            c if c == quote => {
                let s = String::from_utf8(bytes).map_err(|_| {
                    nom::Err::Failure(PErr::span(
                        i,
                        p + 2,
                        ParseErrorKind::InvalidLiteral("string is not valid UTF-8".into()),
                    ))
                })?;
                return Ok((&body[p + 1..], s));
            }
            '\n' => return Err(unterminated()),
            '\\' => {
                let Some((q, e)) = it.next() else {
                    return Err(unterminated());
                };
                let bad = |len: usize| {
                    nom::Err::Failure(PErr::span(
                        &body[p..],
                        len,
                        ParseErrorKind::InvalidLiteral("invalid escape sequence".into()),
                    ))
                };
                let simple = match e {
                    'a' => Some(7u8),
                    'b' => Some(8),
                    'f' => Some(12),
                    'n' => Some(b'\n'),
                    'r' => Some(b'\r'),
                    't' => Some(b'\t'),
                    'v' => Some(11),
                    '\\' => Some(b'\\'),
                    c if c == quote => Some(c as u8),
                    _ => None,
                };
                if let Some(b) = simple {
                    bytes.push(b);
                    continue;
                }
                let (n, radix) = match e {
                    'x' => (2, 16),
                    'u' => (4, 16),
                    'U' => (8, 16),
                    '0'..='7' => (3, 8),
                    _ => return Err(bad(1 + e.len_utf8())),
                };
                let start = if radix == 8 { q } else { q + 1 };
                let digits = body.get(start..start + n).ok_or_else(|| bad(2))?;
                let v = u32::from_str_radix(digits, radix).map_err(|_| bad(1 + n))?;
                if digits.starts_with('+') {
                    return Err(bad(1 + n));
                }
                // Skip the digits (one was already consumed for octal).
                for _ in 0..(if radix == 8 { n - 1 } else { n }) {
                    it.next();
                }
                if e == 'x' || radix == 8 {
                    if v > 255 {
                        return Err(bad(1 + n));
                    }
                    bytes.push(v as u8);
                } else {
                    let ch = char::from_u32(v).ok_or_else(|| bad(2 + n))?;
                    let mut buf = [0u8; 4];
                    bytes.extend_from_slice(ch.encode_utf8(&mut buf).as_bytes());
                }
            }
            c => {
                let mut buf = [0u8; 4];
                bytes.extend_from_slice(c.encode_utf8(&mut buf).as_bytes());
            }
        }
    }
    Err(unterminated())
}

/// `word` as a whole identifier (case-insensitive): `and` matches `and` but not `android`.
pub fn keyword<'a>(i: &'a str, word: &str) -> Option<&'a str> {
    let head = i.get(..word.len())?;
    if !head.eq_ignore_ascii_case(word) {
        return None;
    }
    let rest = &i[word.len()..];
    if rest
        .chars()
        .next()
        .is_some_and(|c| is_ident_char(c, true) || c == ':')
    {
        return None;
    }
    Some(rest)
}

/// Like [`keyword`], but a following `:` ends the word (inside `[a:b]`).
pub fn word<'a>(i: &'a str, w: &str) -> Option<&'a str> {
    let head = i.get(..w.len())?;
    if !head.eq_ignore_ascii_case(w) {
        return None;
    }
    let rest = &i[w.len()..];
    if rest.chars().next().is_some_and(|c| is_ident_char(c, true)) {
        return None;
    }
    Some(rest)
}

/// One or more digits forming an unsigned integer (`limit 10`).
pub fn unsigned_int(i: &str) -> PResult<'_, u64> {
    let (rest, d) = take_while1(|c: char| c.is_ascii_digit()).parse(i)?;
    match d.parse() {
        Ok(v) => Ok((rest, v)),
        Err(_) => cut(PErr::span(
            i,
            d.len(),
            ParseErrorKind::InvalidLiteral("integer out of range".into()),
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers() {
        assert_eq!(unsigned_number("1_000 x").unwrap(), (" x", 1000.0));
        assert_eq!(unsigned_number("0x1F").unwrap(), ("", 31.0));
        assert_eq!(unsigned_number("2.").unwrap(), ("", 2.0));
        assert_eq!(unsigned_number(".5e-1").unwrap(), ("", 0.05));
        assert_eq!(unsigned_number("010").unwrap(), ("", 8.0));
        assert_eq!(unsigned_number("12.34e+6").unwrap(), ("", 12.34e6));
        assert!(unsigned_number("x").is_err());
    }

    #[test]
    fn durations() {
        assert_eq!(duration_literal("1h30m]").unwrap(), ("]", 5_400_000));
        assert_eq!(duration_literal("5ms").unwrap(), ("", 5));
        assert_eq!(duration_literal("1.5m").unwrap(), ("", 90_000));
        assert!(duration_literal("5").is_err());
        assert!(duration_literal("5mb").is_err());
    }

    #[test]
    fn strings() {
        assert_eq!(
            string_literal(r#""a\"b\n" x"#).unwrap(),
            (" x", "a\"b\n".into())
        );
        assert_eq!(
            string_literal(r"'\x41\u00e9\101'").unwrap(),
            ("", "Aé\u{41}".into())
        );
        assert_eq!(string_literal("`a\\b`").unwrap(), ("", "a\\b".into()));
        let e = string_literal(r#""\xff""#).unwrap_err();
        assert!(matches!(
            e,
            nom::Err::Failure(PErr {
                kind: ParseErrorKind::InvalidLiteral(_),
                ..
            })
        ));
        let e = string_literal(r#""\q""#).unwrap_err();
        assert!(matches!(
            e,
            nom::Err::Failure(PErr {
                rest: 3,
                len: 2,
                ..
            })
        ));
        assert!(matches!(string_literal("\"abc"), Err(nom::Err::Failure(_))));
    }

    #[test]
    fn blanks_and_keywords() {
        assert_eq!(ws("  # c\n  x"), "x");
        assert_eq!(keyword("and x", "and"), Some(" x"));
        assert_eq!(keyword("android", "and"), None);
        assert_eq!(ident("foo:bar{", true, false).unwrap(), ("{", "foo:bar"));
        assert_eq!(ident("foo:bar{", false, false).unwrap(), (":bar{", "foo"));
    }
}
