//! VictoriaMetrics' JSON-lines format, as read by `/api/v1/import` and written by
//! `/api/v1/export`: one series per line,
//!
//! ```text
//! {"metric":{"__name__":"up","job":"node"},"values":[1,0,null,NaN],"timestamps":[1000,2000,3000,4000]}
//! ```
//!
//! Values carry every float: finite numbers in JSON syntax, bare `NaN`, `Inf`, `+Inf` and
//! `-Inf` (any letter case), and `null` for the Prometheus staleness marker. What
//! [`write_line`] writes, [`parse_line`] reads back bit for bit (the one exception is a NaN
//! with a payload other than the staleness marker's, which is read back as the canonical
//! NaN: JSON lines have no way to spell payloads).
//!
//! Fields other than `metric`, `values` and `timestamps` are skipped, as VictoriaMetrics
//! does. The parser is pure and never panics: arbitrary bytes give a [`VmJsonError`] with
//! the byte offset in the line.

use gnomon_tsdb_core::model::{Label, Labels, METRIC_NAME, STALE_NAN, Sample, is_stale_nan};

/// Deepest nesting of skipped (unknown) fields; bounds recursion on hostile input.
const MAX_SKIP_DEPTH: usize = 64;

/// One decoded line: a series and its samples, in the order given.
#[derive(Clone, Debug, PartialEq)]
pub struct VmJsonLine {
    /// The series' labels.
    pub labels: Labels,
    /// Samples, paired from `values` and `timestamps` by position.
    pub samples: Vec<Sample>,
}

/// Why a line could not be decoded.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum VmJsonErrorKind {
    /// Another character (or the end of the line) was found where this was expected.
    #[error("expected {0}")]
    Expected(&'static str),
    /// A value is neither a number, `NaN`, an infinity nor `null`.
    #[error("invalid value {0:?}")]
    InvalidValue(String),
    /// A timestamp is not an integer number of milliseconds.
    #[error("invalid timestamp {0:?}: want integer milliseconds")]
    InvalidTimestamp(String),
    /// A string holds a bad escape sequence or is not UTF-8.
    #[error("invalid string: {0}")]
    InvalidString(&'static str),
    /// A required field is missing.
    #[error("missing field {0:?}")]
    MissingField(&'static str),
    /// `values` and `timestamps` have different lengths.
    #[error("{values} values but {timestamps} timestamps")]
    LengthMismatch {
        /// Number of values.
        values: usize,
        /// Number of timestamps.
        timestamps: usize,
    },
    /// The `metric` object has no label with a non-empty value.
    #[error("metric has no labels")]
    EmptyMetric,
    /// Unknown fields are nested deeper than the parser follows.
    #[error("nesting deeper than {MAX_SKIP_DEPTH}")]
    TooDeep,
}

/// A decoding error and where in the line it was found.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{kind} at byte {offset}")]
pub struct VmJsonError {
    /// Byte offset in the line (0-based).
    pub offset: usize,
    /// What went wrong.
    pub kind: VmJsonErrorKind,
}

/// Decodes one line (without its `\n`; a trailing `\r` and surrounding blanks are fine).
///
/// # Errors
/// [`VmJsonError`] with the offset of the first byte that does not fit the format.
pub fn parse_line(line: &[u8]) -> Result<VmJsonLine, VmJsonError> {
    let mut p = Cursor { buf: line, pos: 0 };
    let (labels, values, timestamps) = p.line_object()?;
    p.skip_ws();
    if p.pos != line.len() {
        return Err(p.err(VmJsonErrorKind::Expected("end of line after the object")));
    }
    let labels = labels.ok_or_else(|| p.err_at(0, VmJsonErrorKind::MissingField("metric")))?;
    let values = values.ok_or_else(|| p.err_at(0, VmJsonErrorKind::MissingField("values")))?;
    let timestamps =
        timestamps.ok_or_else(|| p.err_at(0, VmJsonErrorKind::MissingField("timestamps")))?;
    if values.len() != timestamps.len() {
        return Err(p.err_at(
            0,
            VmJsonErrorKind::LengthMismatch {
                values: values.len(),
                timestamps: timestamps.len(),
            },
        ));
    }
    let samples = timestamps
        .into_iter()
        .zip(values)
        .map(|(t, v)| Sample::new(t, v))
        .collect();
    Ok(VmJsonLine { labels, samples })
}

/// Appends one line (with its trailing `\n`) for `labels` and `samples` to `out`.
///
/// `__name__` comes first in `metric`, then the other labels in name order.
pub fn write_line(out: &mut Vec<u8>, labels: &Labels, samples: &[Sample]) {
    out.extend_from_slice(b"{\"metric\":{");
    let mut first = true;
    let name_first = labels
        .iter()
        .filter(|l| l.name == METRIC_NAME)
        .chain(labels.iter().filter(|l| l.name != METRIC_NAME));
    for l in name_first {
        if !first {
            out.push(b',');
        }
        first = false;
        write_string(out, &l.name);
        out.push(b':');
        write_string(out, &l.value);
    }
    out.extend_from_slice(b"},\"values\":[");
    for (i, s) in samples.iter().enumerate() {
        if i > 0 {
            out.push(b',');
        }
        write_value(out, s.v);
    }
    out.extend_from_slice(b"],\"timestamps\":[");
    for (i, s) in samples.iter().enumerate() {
        if i > 0 {
            out.push(b',');
        }
        out.extend_from_slice(s.t.to_string().as_bytes());
    }
    out.extend_from_slice(b"]}\n");
}

/// Appends the JSON-lines spelling of `v`: `null` for the staleness marker, `NaN`, `+Inf`,
/// `-Inf`, or the shortest decimal that reads back to the same bits.
pub fn write_value(out: &mut Vec<u8>, v: f64) {
    if is_stale_nan(v) {
        out.extend_from_slice(b"null");
    } else if v.is_nan() {
        out.extend_from_slice(b"NaN");
    } else if v == f64::INFINITY {
        out.extend_from_slice(b"+Inf");
    } else if v == f64::NEG_INFINITY {
        out.extend_from_slice(b"-Inf");
    } else {
        // `{}` is the shortest round-trip form but never uses an exponent, so 1e300 would
        // take 301 bytes; past 21 characters the exponent form (also round-trip) is shorter.
        let plain = v.to_string();
        if plain.len() <= 21 {
            out.extend_from_slice(plain.as_bytes());
        } else {
            out.extend_from_slice(format!("{v:e}").as_bytes());
        }
    }
}

/// Appends `s` as a JSON string literal.
pub fn write_string(out: &mut Vec<u8>, s: &str) {
    out.push(b'"');
    for c in s.chars() {
        match c {
            '"' => out.extend_from_slice(b"\\\""),
            '\\' => out.extend_from_slice(b"\\\\"),
            '\n' => out.extend_from_slice(b"\\n"),
            '\r' => out.extend_from_slice(b"\\r"),
            '\t' => out.extend_from_slice(b"\\t"),
            c if (c as u32) < 0x20 => {
                out.extend_from_slice(format!("\\u{:04x}", c as u32).as_bytes());
            }
            c => {
                let mut b = [0u8; 4];
                out.extend_from_slice(c.encode_utf8(&mut b).as_bytes());
            }
        }
    }
    out.push(b'"');
}

type LineFields = (Option<Labels>, Option<Vec<f64>>, Option<Vec<i64>>);

struct Cursor<'a> {
    buf: &'a [u8],
    pos: usize,
}

impl<'a> Cursor<'a> {
    fn err(&self, kind: VmJsonErrorKind) -> VmJsonError {
        self.err_at(self.pos, kind)
    }

    fn err_at(&self, offset: usize, kind: VmJsonErrorKind) -> VmJsonError {
        VmJsonError { offset, kind }
    }

    fn skip_ws(&mut self) {
        while self
            .buf
            .get(self.pos)
            .is_some_and(|b| matches!(b, b' ' | b'\t' | b'\r' | b'\n'))
        {
            self.pos += 1;
        }
    }

    fn peek(&mut self) -> Option<u8> {
        self.skip_ws();
        self.buf.get(self.pos).copied()
    }

    fn expect(&mut self, c: u8, what: &'static str) -> Result<(), VmJsonError> {
        if self.peek() == Some(c) {
            self.pos += 1;
            Ok(())
        } else {
            Err(self.err(VmJsonErrorKind::Expected(what)))
        }
    }

    /// True (and consumed) when the next byte is `c`.
    fn eat(&mut self, c: u8) -> bool {
        let hit = self.peek() == Some(c);
        if hit {
            self.pos += 1;
        }
        hit
    }

    /// Runs `item` for each element of a `[...]` or each `"key": value` of a `{...}`
    /// (`close` says which), separated by commas.
    fn list(
        &mut self,
        open: u8,
        close: u8,
        what: &'static str,
        mut item: impl FnMut(&mut Self) -> Result<(), VmJsonError>,
    ) -> Result<(), VmJsonError> {
        self.expect(open, what)?;
        if self.eat(close) {
            return Ok(());
        }
        loop {
            item(self)?;
            if self.eat(close) {
                return Ok(());
            }
            self.expect(
                b',',
                if close == b']' {
                    "',' or ']'"
                } else {
                    "',' or '}'"
                },
            )?;
        }
    }

    fn line_object(&mut self) -> Result<LineFields, VmJsonError> {
        let mut fields: LineFields = (None, None, None);
        self.list(b'{', b'}', "'{'", |p| {
            let key = p.string()?;
            p.expect(b':', "':'")?;
            match key.as_str() {
                "metric" => fields.0 = Some(p.metric()?),
                "values" => fields.1 = Some(p.values()?),
                "timestamps" => fields.2 = Some(p.timestamps()?),
                _ => p.skip_value(0)?,
            }
            Ok(())
        })?;
        Ok(fields)
    }

    fn metric(&mut self) -> Result<Labels, VmJsonError> {
        let start = self.pos;
        let mut pairs = Vec::new();
        self.list(b'{', b'}', "'{' starting the metric", |p| {
            let name = p.string()?;
            p.expect(b':', "':'")?;
            let value = p.string()?;
            pairs.push(Label { name, value });
            Ok(())
        })?;
        let labels = Labels::new(pairs);
        if labels.is_empty() {
            return Err(self.err_at(start, VmJsonErrorKind::EmptyMetric));
        }
        Ok(labels)
    }

    fn values(&mut self) -> Result<Vec<f64>, VmJsonError> {
        let mut out = Vec::new();
        self.list(b'[', b']', "'[' starting values", |p| {
            let (start, tok) = p.token()?;
            let v = if tok == "null" {
                STALE_NAN
            } else {
                parse_float(tok)
                    .ok_or_else(|| p.err_at(start, VmJsonErrorKind::InvalidValue(tok.to_owned())))?
            };
            out.push(v);
            Ok(())
        })?;
        Ok(out)
    }

    fn timestamps(&mut self) -> Result<Vec<i64>, VmJsonError> {
        let mut out = Vec::new();
        self.list(b'[', b']', "'[' starting timestamps", |p| {
            let (start, tok) = p.token()?;
            let t = tok
                .parse::<i64>()
                .map_err(|_| p.err_at(start, VmJsonErrorKind::InvalidTimestamp(tok.to_owned())))?;
            out.push(t);
            Ok(())
        })?;
        Ok(out)
    }

    /// A bare token: a number, `null`, `true`, `NaN`, `+Inf`...
    fn token(&mut self) -> Result<(usize, &'a str), VmJsonError> {
        self.skip_ws();
        let start = self.pos;
        while self
            .buf
            .get(self.pos)
            .is_some_and(|b| b.is_ascii_alphanumeric() || matches!(b, b'+' | b'-' | b'.'))
        {
            self.pos += 1;
        }
        if start == self.pos {
            return Err(self.err(VmJsonErrorKind::Expected("a number")));
        }
        // Only ASCII bytes were taken, so this cannot fail; the error path keeps it total.
        let buf: &'a [u8] = self.buf;
        let tok = std::str::from_utf8(&buf[start..self.pos])
            .map_err(|_| self.err_at(start, VmJsonErrorKind::Expected("a number")))?;
        Ok((start, tok))
    }

    fn string(&mut self) -> Result<String, VmJsonError> {
        self.expect(b'"', "'\"' starting a string")?;
        let mut out: Vec<u8> = Vec::new();
        loop {
            let Some(&b) = self.buf.get(self.pos) else {
                return Err(self.err(VmJsonErrorKind::Expected("'\"' ending the string")));
            };
            self.pos += 1;
            match b {
                b'"' => break,
                b'\\' => self.escape(&mut out)?,
                b if b < 0x20 => {
                    self.pos -= 1;
                    return Err(self.err(VmJsonErrorKind::InvalidString(
                        "control character in string",
                    )));
                }
                b => out.push(b),
            }
        }
        String::from_utf8(out).map_err(|_| self.err(VmJsonErrorKind::InvalidString("not UTF-8")))
    }

    fn escape(&mut self, out: &mut Vec<u8>) -> Result<(), VmJsonError> {
        let Some(&e) = self.buf.get(self.pos) else {
            return Err(self.err(VmJsonErrorKind::InvalidString("truncated escape")));
        };
        self.pos += 1;
        let c = match e {
            b'"' => '"',
            b'\\' => '\\',
            b'/' => '/',
            b'b' => '\u{8}',
            b'f' => '\u{c}',
            b'n' => '\n',
            b'r' => '\r',
            b't' => '\t',
            b'u' => self.unicode_escape()?,
            _ => {
                self.pos -= 1;
                return Err(self.err(VmJsonErrorKind::InvalidString("unknown escape")));
            }
        };
        let mut b = [0u8; 4];
        out.extend_from_slice(c.encode_utf8(&mut b).as_bytes());
        Ok(())
    }

    fn unicode_escape(&mut self) -> Result<char, VmJsonError> {
        let hi = self.hex4()?;
        let code = if (0xD800..0xDC00).contains(&hi) {
            if self.buf.get(self.pos..self.pos + 2) != Some(b"\\u") {
                return Err(self.err(VmJsonErrorKind::InvalidString("lone surrogate")));
            }
            self.pos += 2;
            let lo = self.hex4()?;
            if !(0xDC00..0xE000).contains(&lo) {
                return Err(self.err(VmJsonErrorKind::InvalidString("lone surrogate")));
            }
            0x10000 + ((hi - 0xD800) << 10) + (lo - 0xDC00)
        } else {
            hi
        };
        char::from_u32(code)
            .ok_or_else(|| self.err(VmJsonErrorKind::InvalidString("lone surrogate")))
    }

    fn hex4(&mut self) -> Result<u32, VmJsonError> {
        let digits = self
            .buf
            .get(self.pos..self.pos + 4)
            .and_then(|d| std::str::from_utf8(d).ok())
            .and_then(|d| u32::from_str_radix(d, 16).ok())
            .ok_or_else(|| self.err(VmJsonErrorKind::InvalidString("bad \\u escape")))?;
        self.pos += 4;
        Ok(digits)
    }

    /// Skips any JSON value (of a field this format does not use).
    fn skip_value(&mut self, depth: usize) -> Result<(), VmJsonError> {
        if depth > MAX_SKIP_DEPTH {
            return Err(self.err(VmJsonErrorKind::TooDeep));
        }
        match self.peek() {
            Some(b'"') => self.string().map(drop),
            Some(b'[') => self.list(b'[', b']', "'['", |p| p.skip_value(depth + 1)),
            Some(b'{') => self.list(b'{', b'}', "'{'", |p| {
                p.string()?;
                p.expect(b':', "':'")?;
                p.skip_value(depth + 1)
            }),
            _ => self.token().map(drop),
        }
    }
}

/// Parses a value token: JSON numbers plus `NaN` and `Inf`/`+Inf`/`-Inf`/`Infinity` in any
/// case, as Prometheus' text format spells them.
fn parse_float(tok: &str) -> Option<f64> {
    let first = tok.as_bytes().first()?;
    if !(first.is_ascii_digit() || matches!(first, b'+' | b'-' | b'.' | b'N' | b'n' | b'I' | b'i'))
    {
        return None;
    }
    tok.parse::<f64>().ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn line(s: &str) -> Result<VmJsonLine, VmJsonError> {
        parse_line(s.as_bytes())
    }

    fn kind(s: &str) -> (usize, VmJsonErrorKind) {
        let e = line(s).unwrap_err();
        (e.offset, e.kind)
    }

    #[test]
    fn parses_specials_and_keeps_stale_bits() {
        let l = line(
            r#"{"metric":{"__name__":"up","job":"a"},"values":[1,NaN,+Inf,-Inf,null,2.5e3,Inf],"timestamps":[1,2,3,4,5,6,7]}"#,
        )
        .unwrap();
        assert_eq!(
            l.labels,
            Labels::from_pairs(&[("__name__", "up"), ("job", "a")])
        );
        let v: Vec<f64> = l.samples.iter().map(|s| s.v).collect();
        assert_eq!(v[0], 1.0);
        assert!(v[1].is_nan() && !is_stale_nan(v[1]));
        assert_eq!(v[2], f64::INFINITY);
        assert_eq!(v[3], f64::NEG_INFINITY);
        assert!(is_stale_nan(v[4]));
        assert_eq!(v[5], 2500.0);
        assert_eq!(v[6], f64::INFINITY);
        assert_eq!(l.samples[6].t, 7);
    }

    #[test]
    fn writes_vm_shape() {
        let labels = Labels::from_pairs(&[("job", "a\"b"), ("__name__", "m"), ("A", "x")]);
        let mut out = Vec::new();
        write_line(
            &mut out,
            &labels,
            &[
                Sample::new(1000, 21.0),
                Sample::new(2000, STALE_NAN),
                Sample::new(3000, f64::NEG_INFINITY),
                Sample::new(4000, 1e300),
            ],
        );
        assert_eq!(
            String::from_utf8(out).unwrap(),
            "{\"metric\":{\"__name__\":\"m\",\"A\":\"x\",\"job\":\"a\\\"b\"},\"values\":[21,null,-Inf,1e300],\"timestamps\":[1000,2000,3000,4000]}\n"
        );
    }

    #[test]
    fn unknown_fields_are_skipped_and_escapes_decoded() {
        let l = line(
            r#" {"x":{"y":[1,{"z":"w"}]},"metric":{"a":"\u00e9\n\ud83d\ude00"},"values":[],"timestamps":[]} "#,
        )
        .unwrap();
        assert_eq!(l.labels.get("a"), Some("é\n😀"));
        assert!(l.samples.is_empty());
    }

    #[test]
    fn errors_say_what_and_where() {
        assert_eq!(
            kind(r#"{"metric":{"a":"b"},"values":[1,x],"timestamps":[1,2]}"#),
            (32, VmJsonErrorKind::InvalidValue("x".into()))
        );
        assert_eq!(
            kind(r#"{"metric":{"a":"b"},"values":[1],"timestamps":[1.5]}"#),
            (47, VmJsonErrorKind::InvalidTimestamp("1.5".into()))
        );
        assert_eq!(
            kind(r#"{"metric":{"a":"b"},"values":[1,2],"timestamps":[1]}"#),
            (
                0,
                VmJsonErrorKind::LengthMismatch {
                    values: 2,
                    timestamps: 1
                }
            )
        );
        assert_eq!(
            kind(r#"{"values":[1],"timestamps":[1]}"#),
            (0, VmJsonErrorKind::MissingField("metric"))
        );
        assert_eq!(
            kind(r#"{"metric":{},"values":[],"timestamps":[]}"#),
            (10, VmJsonErrorKind::EmptyMetric)
        );
        assert_eq!(
            kind(r#"{"metric":{"a":"b"},"values":[1] "#),
            (33, VmJsonErrorKind::Expected("',' or '}'"))
        );
        assert_eq!(
            kind("{\"metric\":{\"a\":\"b\\q\"}}"),
            (18, VmJsonErrorKind::InvalidString("unknown escape"))
        );
        assert_eq!(
            kind("{} x"),
            (3, VmJsonErrorKind::Expected("end of line after the object"))
        );
        let deep = format!("{{\"x\":{}", "[".repeat(200));
        assert_eq!(kind(&deep).1, VmJsonErrorKind::TooDeep);
    }

    fn any_value() -> impl Strategy<Value = f64> {
        prop_oneof![
            any::<f64>().prop_filter("payload NaNs are not representable", |v| !v.is_nan()),
            Just(f64::NAN),
            Just(STALE_NAN),
            Just(f64::INFINITY),
            Just(-0.0),
        ]
    }

    proptest! {
        #[test]
        fn write_then_parse_is_bit_exact(
            pairs in proptest::collection::vec(("[a-zA-Z_][a-zA-Z0-9_]{0,6}", "\\PC{1,8}"), 1..5),
            samples in proptest::collection::vec((any::<i64>(), any_value()), 0..20),
        ) {
            let labels = Labels::from_pairs(&pairs);
            let samples: Vec<Sample> = samples.into_iter().map(|(t, v)| Sample::new(t, v)).collect();
            let mut out = Vec::new();
            write_line(&mut out, &labels, &samples);
            prop_assert_eq!(out.last(), Some(&b'\n'));
            let back = parse_line(&out[..out.len() - 1]).unwrap();
            prop_assert_eq!(back.labels, labels);
            prop_assert_eq!(back.samples, samples);
        }

        #[test]
        fn parse_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..128)) {
            let _ = parse_line(&bytes);
        }
    }
}
