//! InfluxDB line protocol, read as VictoriaMetrics reads it:
//!
//! ```text
//! measurement[,tag=value...] field=value[,field=value...] [timestamp]
//! ```
//!
//! - `\,`, `\=`, `\ ` and `\\` are unescaped in the measurement, tag keys, tag values and
//!   field keys; a backslash before any other character stays;
//! - field values: floats (`1.5`, `-2e3`), integers (`5i`), unsigned integers (`5u`),
//!   booleans (`t`, `T`, `true`, `True`, `TRUE` and the `f` forms: 1 and 0), and double
//!   quoted strings, which are kept when they hold a number (some agents send numbers as
//!   strings, VictoriaMetrics reads those too) and skipped otherwise (VictoriaMetrics
//!   stores a meaningless 0 for them);
//! - one sample per field, named `{measurement}{separator}{field}` ([`InfluxNaming`]);
//! - the timestamp is an integer in the request's [`Precision`], nanoseconds by default.
//!
//! Blank lines and `#` comments are skipped. The parser is pure and never panics:
//! arbitrary bytes give an [`InfluxError`] with the byte offset in the line.

use std::borrow::Cow;

/// A decoding error and where in the line it was found.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{kind} at byte {offset}")]
pub struct InfluxError {
    /// Byte offset in the line (0-based).
    pub offset: usize,
    /// What went wrong.
    pub kind: InfluxErrorKind,
}

/// Why a line was refused.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum InfluxErrorKind {
    /// The line is not UTF-8.
    #[error("line is not valid UTF-8")]
    NotUtf8,
    /// The measurement name is empty.
    #[error("missing measurement")]
    MissingMeasurement,
    /// No field set after the measurement and tags.
    #[error("missing fields")]
    MissingFields,
    /// A tag or field has no `=`.
    #[error("missing '=' in {0:?}")]
    MissingEquals(String),
    /// A field value is empty or not a number, boolean or string.
    #[error("invalid value for field {field:?}: {value:?}")]
    InvalidValue {
        /// Field key.
        field: String,
        /// Value as written.
        value: String,
    },
    /// A string field value lacks its closing quote.
    #[error("unterminated string")]
    UnterminatedString,
    /// The timestamp is not an integer (or overflows in milliseconds).
    #[error("invalid timestamp {0:?}")]
    InvalidTimestamp(String),
}

/// One parsed line. Borrowed from the input unless unescaping changed a name.
#[derive(Clone, Debug, PartialEq)]
pub struct InfluxLine<'a> {
    /// The measurement and tags as written (escaped): equal texts mean equal tag sets,
    /// so it can key a series cache.
    pub raw_key: &'a str,
    /// Measurement name.
    pub measurement: Cow<'a, str>,
    /// Tags in line order.
    pub tags: Vec<(Cow<'a, str>, Cow<'a, str>)>,
    /// Numeric fields in line order (strings that are not numbers left out).
    pub fields: Vec<(Cow<'a, str>, f64)>,
    /// Number of fields written on the line, the skipped strings included.
    pub fields_written: usize,
    /// Timestamp in the request's precision, when given.
    pub timestamp: Option<i64>,
}

/// Timestamp unit of a request (`precision=` argument).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Precision {
    /// Nanoseconds (`ns`, `n`; the default).
    #[default]
    Nanoseconds,
    /// Microseconds (`u`, `us`, `µ`).
    Microseconds,
    /// Milliseconds (`ms`).
    Milliseconds,
    /// Seconds (`s`).
    Seconds,
    /// Minutes (`m`).
    Minutes,
    /// Hours (`h`).
    Hours,
}

impl Precision {
    /// The precision named by a `precision=` argument; `None` for an unknown name.
    pub fn parse(s: &str) -> Option<Precision> {
        Some(match s {
            "" | "n" | "ns" => Precision::Nanoseconds,
            "u" | "us" | "µ" | "µs" => Precision::Microseconds,
            "ms" => Precision::Milliseconds,
            "s" => Precision::Seconds,
            "m" => Precision::Minutes,
            "h" => Precision::Hours,
            _ => return None,
        })
    }

    /// `ts` in this unit as Unix milliseconds (truncated toward zero); `None` on overflow.
    pub fn to_ms(self, ts: i64) -> Option<i64> {
        match self {
            Precision::Nanoseconds => Some(ts / 1_000_000),
            Precision::Microseconds => Some(ts / 1_000),
            Precision::Milliseconds => Some(ts),
            Precision::Seconds => ts.checked_mul(1_000),
            Precision::Minutes => ts.checked_mul(60_000),
            Precision::Hours => ts.checked_mul(3_600_000),
        }
    }
}

/// How series are named from measurements and fields
/// (`-influxMeasurementFieldSeparator`, `-influxSkipSingleField`,
/// `-influxSkipMeasurement`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct InfluxNaming {
    /// Between measurement and field; `_` by default.
    pub separator: String,
    /// A line with one field is named by its measurement alone.
    pub skip_single_field: bool,
    /// Series are named by their field alone.
    pub skip_measurement: bool,
}

impl Default for InfluxNaming {
    fn default() -> Self {
        InfluxNaming {
            separator: "_".to_owned(),
            skip_single_field: false,
            skip_measurement: false,
        }
    }
}

impl InfluxLine<'_> {
    /// The metric name of `field` of this line.
    pub fn metric_name(&self, field: &str, naming: &InfluxNaming) -> String {
        if naming.skip_measurement || self.measurement.is_empty() {
            field.to_owned()
        } else if naming.skip_single_field && self.fields_written == 1 {
            self.measurement.clone().into_owned()
        } else {
            format!("{}{}{}", self.measurement, naming.separator, field)
        }
    }
}

/// Decodes one line (without its `\n`); `Ok(None)` for a blank line or a `#` comment.
///
/// # Errors
/// [`InfluxError`] with the offset of the part that does not fit the format.
pub fn parse_line(line: &[u8]) -> Result<Option<InfluxLine<'_>>, InfluxError> {
    let line = std::str::from_utf8(line).map_err(|e| InfluxError {
        offset: e.valid_up_to(),
        kind: InfluxErrorKind::NotUtf8,
    })?;
    let start = line.len() - line.trim_start().len();
    let body = line.trim_end();
    if start >= body.len() || body.as_bytes()[start] == b'#' {
        return Ok(None);
    }
    let err = |offset: usize, kind| InfluxError { offset, kind };
    let key_end = find_unescaped(body, start, b' ', false);
    let key = &body[start..key_end];
    let mut parts = split_unescaped(key, b',', false);
    let measurement = unescape(parts.next().unwrap_or(""));
    if measurement.is_empty() {
        return Err(err(start, InfluxErrorKind::MissingMeasurement));
    }
    let mut tags = Vec::new();
    for tag in parts {
        let (k, v) = split_pair(tag).ok_or_else(|| {
            err(
                start + offset_in(key, tag),
                InfluxErrorKind::MissingEquals(tag.to_owned()),
            )
        })?;
        tags.push((unescape(k), unescape(v)));
    }
    let fields_start = skip_spaces(body, key_end);
    if fields_start >= body.len() {
        return Err(err(fields_start, InfluxErrorKind::MissingFields));
    }
    let fields_end = find_unescaped(body, fields_start, b' ', true);
    let field_text = &body[fields_start..fields_end];
    let mut fields = Vec::new();
    let mut fields_written = 0;
    for f in split_unescaped(field_text, b',', true) {
        let at = fields_start + offset_in(field_text, f);
        let (k, v) =
            split_pair(f).ok_or_else(|| err(at, InfluxErrorKind::MissingEquals(f.to_owned())))?;
        fields_written += 1;
        if let Some(value) = field_value(k, v).map_err(|kind| err(at, kind))? {
            fields.push((unescape(k), value));
        }
    }
    let ts_start = skip_spaces(body, fields_end);
    let timestamp = if ts_start >= body.len() {
        None
    } else {
        let text = &body[ts_start..];
        Some(
            text.parse::<i64>()
                .map_err(|_| err(ts_start, InfluxErrorKind::InvalidTimestamp(text.to_owned())))?,
        )
    };
    Ok(Some(InfluxLine {
        raw_key: key,
        measurement,
        tags,
        fields,
        fields_written,
        timestamp,
    }))
}

/// A field's value: `None` for a string that is not a number.
fn field_value(key: &str, v: &str) -> Result<Option<f64>, InfluxErrorKind> {
    let invalid = || InfluxErrorKind::InvalidValue {
        field: key.to_owned(),
        value: v.to_owned(),
    };
    if let Some(rest) = v.strip_prefix('"') {
        let inner = rest
            .strip_suffix('"')
            .filter(|_| !ends_escaped(rest))
            .ok_or(InfluxErrorKind::UnterminatedString)?;
        return Ok(parse_float(inner.trim()));
    }
    let value = match v {
        "t" | "T" | "true" | "True" | "TRUE" => 1.0,
        "f" | "F" | "false" | "False" | "FALSE" => 0.0,
        _ => {
            if let Some(int) = v.strip_suffix('i') {
                int.parse::<i64>().map_err(|_| invalid())? as f64
            } else if let Some(uint) = v.strip_suffix('u') {
                uint.parse::<u64>().map_err(|_| invalid())? as f64
            } else {
                parse_float(v).ok_or_else(invalid)?
            }
        }
    };
    Ok(Some(value))
}

/// A decimal float (with optional exponent); also `NaN` and `Inf` spellings.
fn parse_float(s: &str) -> Option<f64> {
    let plain = s
        .bytes()
        .all(|b| b.is_ascii_digit() || matches!(b, b'.' | b'-' | b'+' | b'e' | b'E'));
    if plain
        || matches!(
            s.to_ascii_lowercase().trim_start_matches(['+', '-']),
            "inf" | "nan"
        )
    {
        s.parse().ok()
    } else {
        None
    }
}

/// Whether the closing quote of `s` (its last byte) is escaped.
fn ends_escaped(s: &str) -> bool {
    let body = &s.as_bytes()[..s.len().saturating_sub(1)];
    body.iter().rev().take_while(|&&b| b == b'\\').count() % 2 == 1
}

/// Index of the first `delim` at or after `from` that is not backslash-escaped (nor,
/// with `quotes`, inside a double-quoted string); the end when there is none.
fn find_unescaped(s: &str, from: usize, delim: u8, quotes: bool) -> usize {
    let b = s.as_bytes();
    let mut i = from;
    let mut in_quotes = false;
    while i < b.len() {
        match b[i] {
            b'\\' => i += 1,
            b'"' if quotes => in_quotes = !in_quotes,
            c if c == delim && !in_quotes => return i,
            _ => {}
        }
        i += 1;
    }
    b.len()
}

fn split_unescaped(s: &str, delim: u8, quotes: bool) -> impl Iterator<Item = &str> {
    let mut pos = Some(0);
    std::iter::from_fn(move || {
        let from = pos?;
        let end = find_unescaped(s, from, delim, quotes).min(s.len());
        pos = (end < s.len()).then_some(end + 1);
        Some(&s[from..end])
    })
}

/// `key=value` split at the first unescaped `=`.
fn split_pair(s: &str) -> Option<(&str, &str)> {
    let eq = find_unescaped(s, 0, b'=', false);
    (eq < s.len()).then(|| (&s[..eq], &s[eq + 1..]))
}

fn skip_spaces(s: &str, mut i: usize) -> usize {
    while s.as_bytes().get(i) == Some(&b' ') {
        i += 1;
    }
    i
}

/// Offset of `part` (a sub-slice of `whole`) in `whole`.
fn offset_in(whole: &str, part: &str) -> usize {
    (part.as_ptr() as usize).saturating_sub(whole.as_ptr() as usize)
}

/// Removes the backslash of `\,`, `\=`, `\ ` and `\\`; others stay as written.
fn unescape(s: &str) -> Cow<'_, str> {
    if !s.contains('\\') {
        return Cow::Borrowed(s);
    }
    let mut out = String::with_capacity(s.len());
    let mut chars = s.chars();
    while let Some(c) = chars.next() {
        if c != '\\' {
            out.push(c);
            continue;
        }
        match chars.next() {
            Some(n @ (',' | '=' | ' ' | '\\')) => out.push(n),
            Some(n) => {
                out.push('\\');
                out.push(n);
            }
            None => out.push('\\'),
        }
    }
    Cow::Owned(out)
}

#[cfg(test)]
mod tests;
