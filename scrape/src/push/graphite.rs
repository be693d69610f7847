//! Graphite plaintext protocol, with Graphite 1.1 tags:
//!
//! ```text
//! foo.bar.baz;tag1=value1;tag2=value2 123 1560277406
//! ```
//!
//! Fields are separated by blanks (spaces or tabs, any number). The timestamp is Unix
//! seconds (a fraction is allowed); a missing or negative one means "now", as in
//! Graphite and VictoriaMetrics. The metric name is kept as written, dots included.

/// A decoding error and where in the line it was found.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{kind} at byte {offset}")]
pub struct GraphiteError {
    /// Byte offset in the line (0-based).
    pub offset: usize,
    /// What went wrong.
    pub kind: GraphiteErrorKind,
}

/// Why a line was refused.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum GraphiteErrorKind {
    /// The line is not UTF-8.
    #[error("line is not valid UTF-8")]
    NotUtf8,
    /// Only a name, no value.
    #[error("missing value after the metric name")]
    MissingValue,
    /// The metric name (before the tags) is empty.
    #[error("empty metric name")]
    EmptyName,
    /// A `;tag` without `=`.
    #[error("tag {0:?} has no '='")]
    BadTag(String),
    /// The value is not a number.
    #[error("invalid value {0:?}")]
    InvalidValue(String),
    /// The timestamp is not a number.
    #[error("invalid timestamp {0:?}")]
    InvalidTimestamp(String),
    /// Something follows the timestamp.
    #[error("unexpected {0:?} after the timestamp")]
    Trailing(String),
}

/// One parsed line, borrowed from the input.
#[derive(Clone, Debug, PartialEq)]
pub struct GraphiteLine<'a> {
    /// Metric name (the path before any `;`).
    pub name: &'a str,
    /// Tags in line order.
    pub tags: Vec<(&'a str, &'a str)>,
    /// The value.
    pub value: f64,
    /// Unix milliseconds, `None` for "now" (missing or negative).
    pub timestamp_ms: Option<i64>,
}

/// Decodes one line (without its `\n`); `Ok(None)` for a blank line.
///
/// # Errors
/// [`GraphiteError`] naming the part that does not fit the format.
pub fn parse_line(line: &[u8]) -> Result<Option<GraphiteLine<'_>>, GraphiteError> {
    let text = std::str::from_utf8(line).map_err(|e| GraphiteError {
        offset: e.valid_up_to(),
        kind: GraphiteErrorKind::NotUtf8,
    })?;
    let mut fields = fields(text);
    let Some((at, path)) = fields.next() else {
        return Ok(None);
    };
    let err = |offset, kind| GraphiteError { offset, kind };
    let mut parts = path.split(';');
    let name = parts.next().unwrap_or("");
    if name.is_empty() {
        return Err(err(at, GraphiteErrorKind::EmptyName));
    }
    let mut tags = Vec::new();
    for tag in parts {
        let (k, v) = tag
            .split_once('=')
            .ok_or_else(|| err(at, GraphiteErrorKind::BadTag(tag.to_owned())))?;
        tags.push((k, v));
    }
    let (vat, vtext) = fields
        .next()
        .ok_or_else(|| err(text.len(), GraphiteErrorKind::MissingValue))?;
    let value = parse_number(vtext)
        .ok_or_else(|| err(vat, GraphiteErrorKind::InvalidValue(vtext.to_owned())))?;
    let timestamp_ms = match fields.next() {
        None => None,
        Some((tat, ttext)) => {
            let secs = parse_number(ttext)
                .filter(|s| s.is_finite())
                .ok_or_else(|| err(tat, GraphiteErrorKind::InvalidTimestamp(ttext.to_owned())))?;
            (secs >= 0.0).then_some((secs * 1000.0) as i64)
        }
    };
    if let Some((rat, rest)) = fields.next() {
        return Err(err(rat, GraphiteErrorKind::Trailing(rest.to_owned())));
    }
    Ok(Some(GraphiteLine {
        name,
        tags,
        value,
        timestamp_ms,
    }))
}

/// Rounds `ts_ms` down to a multiple of `trim_ms` (`-graphiteTrimTimestamp`; 0 or 1
/// leaves it as is).
pub fn trim_timestamp(ts_ms: i64, trim_ms: i64) -> i64 {
    if trim_ms <= 1 {
        ts_ms
    } else {
        ts_ms - ts_ms.rem_euclid(trim_ms)
    }
}

/// Blank-separated fields with their offsets.
fn fields(s: &str) -> impl Iterator<Item = (usize, &str)> {
    let blank = |c: char| c == ' ' || c == '\t' || c == '\r';
    s.split(blank)
        .filter(|f| !f.is_empty())
        .map(move |f| (f.as_ptr() as usize - s.as_ptr() as usize, f))
}

/// A decimal number, or `nan`/`inf` in any case.
pub(crate) fn parse_number(s: &str) -> Option<f64> {
    let plain = s
        .bytes()
        .all(|b| b.is_ascii_digit() || matches!(b, b'.' | b'-' | b'+' | b'e' | b'E'));
    let special = matches!(
        s.to_ascii_lowercase().trim_start_matches(['+', '-']),
        "inf" | "nan" | "infinity"
    );
    if plain || special {
        s.parse().ok()
    } else {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn documented_examples() {
        let l = parse_line(b"foo.bar.baz;tag1=value1;tag2=value2 123 1560277406")
            .unwrap()
            .unwrap();
        assert_eq!(l.name, "foo.bar.baz");
        assert_eq!(l.tags, vec![("tag1", "value1"), ("tag2", "value2")]);
        assert_eq!(l.value, 123.0);
        assert_eq!(l.timestamp_ms, Some(1_560_277_406_000));
        let l = parse_line(b"foo.nots 5").unwrap().unwrap();
        assert_eq!((l.value, l.timestamp_ms), (5.0, None));
        let l = parse_line(b"foo.neg 1 -1").unwrap().unwrap();
        assert_eq!(l.timestamp_ms, None);
        let l = parse_line(b"foo.spc\t 3   1.5\r").unwrap().unwrap();
        assert_eq!((l.value, l.timestamp_ms), (3.0, Some(1500)));
        assert_eq!(parse_line(b"  ").unwrap(), None);
    }

    #[test]
    fn malformed_lines() {
        let cases: &[(&[u8], usize, GraphiteErrorKind)] = &[
            (b"bad", 3, GraphiteErrorKind::MissingValue),
            (b";a=b 1", 0, GraphiteErrorKind::EmptyName),
            (b"m;a 1", 0, GraphiteErrorKind::BadTag("a".into())),
            (b"m x", 2, GraphiteErrorKind::InvalidValue("x".into())),
            (
                b"m 1 soon",
                4,
                GraphiteErrorKind::InvalidTimestamp("soon".into()),
            ),
            (
                b"m 1 inf",
                4,
                GraphiteErrorKind::InvalidTimestamp("inf".into()),
            ),
            (b"m 1 2 3", 6, GraphiteErrorKind::Trailing("3".into())),
            (b"m\xff 1", 1, GraphiteErrorKind::NotUtf8),
        ];
        for (line, offset, kind) in cases {
            assert_eq!(
                parse_line(line).unwrap_err(),
                GraphiteError {
                    offset: *offset,
                    kind: kind.clone()
                }
            );
        }
    }

    #[test]
    fn trimming() {
        assert_eq!(trim_timestamp(1_560_277_406_789, 1000), 1_560_277_406_000);
        assert_eq!(trim_timestamp(1_560_277_406_789, 60_000), 1_560_277_380_000);
        assert_eq!(trim_timestamp(1234, 0), 1234);
        assert_eq!(trim_timestamp(-1, 1000), -1000);
    }
}
