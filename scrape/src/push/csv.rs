//! CSV rows with VictoriaMetrics' column spec, the `format` argument of
//! `/api/v1/import/csv`:
//!
//! ```text
//! format=2:metric:ask,3:metric:bid,1:label:ticker,4:label:market
//! GOOG,1.23,4.56,NYSE      ->  ask{ticker="GOOG",market="NYSE"} 1.23, bid{...} 4.56
//! ```
//!
//! Each entry is `<column>:<kind>:<arg>` with 1-based columns: `metric:<name>` makes one
//! sample per row from the column, `label:<name>` adds a label, `time:<format>` gives the
//! timestamp (`unix_s`, `unix_ms`, `unix_ns`, `rfc3339`; rows without a time column get
//! the request's time). Fields may be double-quoted (`""` inside quotes is a quote). An
//! empty metric field gives no sample.

use gnomon_tsdb_core::model::civil::days_from_civil;

use super::graphite::parse_number;

/// Why a `format` spec or a row was refused.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum CsvError {
    /// An entry of the spec is not `<column>:<kind>:<arg>`.
    #[error("invalid format entry {0:?}: want <column>:<metric|label|time>:<arg>")]
    BadSpecEntry(String),
    /// A time format other than the supported ones.
    #[error("unsupported time format {0:?}; want unix_s, unix_ms, unix_ns or rfc3339")]
    BadTimeFormat(String),
    /// The spec has no `metric` column.
    #[error("format has no metric column")]
    NoMetric,
    /// Two time columns.
    #[error("format has more than one time column")]
    TwoTimes,
    /// A row is shorter than a column of the spec.
    #[error("missing column {0}")]
    MissingColumn(usize),
    /// A metric field is not a number.
    #[error("column {column}: invalid value {value:?}")]
    InvalidValue {
        /// 1-based column.
        column: usize,
        /// The field.
        value: String,
    },
    /// A time field does not parse in its format.
    #[error("column {column}: invalid time {value:?}")]
    InvalidTime {
        /// 1-based column.
        column: usize,
        /// The field.
        value: String,
    },
    /// A quoted field lacks its closing quote.
    #[error("unterminated quoted field")]
    Unterminated,
    /// The row is not UTF-8.
    #[error("row is not valid UTF-8")]
    NotUtf8,
}

/// How a time column is written.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TimeFormat {
    /// Unix seconds (a fraction allowed).
    UnixS,
    /// Unix milliseconds.
    UnixMs,
    /// Unix nanoseconds.
    UnixNs,
    /// RFC 3339, e.g. `2024-01-01T00:00:00Z`, `2024-01-01T01:00:00.5+01:00`.
    Rfc3339,
}

/// A parsed `format` spec.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CsvSpec {
    /// `(0-based column, metric name)`.
    pub metrics: Vec<(usize, String)>,
    /// `(0-based column, label name)`.
    pub labels: Vec<(usize, String)>,
    /// `(0-based column, format)`.
    pub time: Option<(usize, TimeFormat)>,
}

/// One sample of a row: metric name, labels, value, timestamp (`None`: the request's).
pub type CsvSample<'a> = (&'a str, &'a [(String, String)], f64, Option<i64>);

impl CsvSpec {
    /// Parses the `format` argument.
    ///
    /// # Errors
    /// [`CsvError`] for a malformed entry, an unknown kind or time format, no metric
    /// column or two time columns.
    pub fn parse(spec: &str) -> Result<CsvSpec, CsvError> {
        let mut out = CsvSpec {
            metrics: Vec::new(),
            labels: Vec::new(),
            time: None,
        };
        for entry in spec.split(',').filter(|e| !e.is_empty()) {
            let bad = || CsvError::BadSpecEntry(entry.to_owned());
            let mut parts = entry.splitn(3, ':');
            let (Some(col), Some(kind), Some(arg)) = (parts.next(), parts.next(), parts.next())
            else {
                return Err(bad());
            };
            let col = col
                .parse::<usize>()
                .ok()
                .and_then(|c| c.checked_sub(1))
                .ok_or_else(bad)?;
            match kind {
                "metric" if !arg.is_empty() => out.metrics.push((col, arg.to_owned())),
                "label" if !arg.is_empty() => out.labels.push((col, arg.to_owned())),
                "time" => {
                    let f = match arg {
                        "unix_s" => TimeFormat::UnixS,
                        "unix_ms" => TimeFormat::UnixMs,
                        "unix_ns" => TimeFormat::UnixNs,
                        "rfc3339" => TimeFormat::Rfc3339,
                        other => return Err(CsvError::BadTimeFormat(other.to_owned())),
                    };
                    if out.time.replace((col, f)).is_some() {
                        return Err(CsvError::TwoTimes);
                    }
                }
                _ => return Err(bad()),
            }
        }
        if out.metrics.is_empty() {
            return Err(CsvError::NoMetric);
        }
        Ok(out)
    }

    /// Decodes one row (without its `\n`), calling `f` once per non-empty metric field;
    /// a blank row gives nothing. Nothing is emitted for a row with an error.
    ///
    /// # Errors
    /// [`CsvError`] for a short row, a bad number or time, a broken quote.
    pub fn parse_row(&self, row: &[u8], mut f: impl FnMut(CsvSample<'_>)) -> Result<(), CsvError> {
        let text = std::str::from_utf8(row).map_err(|_| CsvError::NotUtf8)?;
        let text = text.trim_end_matches('\r');
        if text.trim().is_empty() {
            return Ok(());
        }
        let fields = split_fields(text)?;
        let field = |c: usize| {
            fields
                .get(c)
                .map(String::as_str)
                .ok_or(CsvError::MissingColumn(c + 1))
        };
        let labels = self
            .labels
            .iter()
            .map(|(c, name)| Ok((name.clone(), field(*c)?.to_owned())))
            .collect::<Result<Vec<_>, CsvError>>()?;
        let ts = match self.time {
            None => None,
            Some((c, format)) => {
                let v = field(c)?;
                Some(parse_time(v, format).ok_or_else(|| CsvError::InvalidTime {
                    column: c + 1,
                    value: v.to_owned(),
                })?)
            }
        };
        let mut values = Vec::with_capacity(self.metrics.len());
        for (c, name) in &self.metrics {
            let v = field(*c)?;
            if v.is_empty() {
                continue;
            }
            let value = parse_number(v.trim()).ok_or_else(|| CsvError::InvalidValue {
                column: c + 1,
                value: v.to_owned(),
            })?;
            values.push((name.as_str(), value));
        }
        for (name, value) in values {
            f((name, &labels, value, ts));
        }
        Ok(())
    }
}

/// Splits a row at commas, honouring double quotes.
fn split_fields(text: &str) -> Result<Vec<String>, CsvError> {
    let mut out = Vec::new();
    let mut cur = String::new();
    let mut chars = text.chars().peekable();
    let mut quoted = false;
    let mut at_start = true;
    while let Some(c) = chars.next() {
        match c {
            '"' if quoted => {
                if chars.peek() == Some(&'"') {
                    chars.next();
                    cur.push('"');
                } else {
                    quoted = false;
                }
            }
            '"' if at_start => quoted = true,
            ',' if !quoted => {
                out.push(std::mem::take(&mut cur));
                at_start = true;
                continue;
            }
            c => cur.push(c),
        }
        at_start = false;
    }
    if quoted {
        return Err(CsvError::Unterminated);
    }
    out.push(cur);
    Ok(out)
}

fn parse_time(v: &str, format: TimeFormat) -> Option<i64> {
    let v = v.trim();
    match format {
        TimeFormat::UnixS => parse_number(v)
            .filter(|s| s.is_finite())
            .map(|s| (s * 1000.0) as i64),
        TimeFormat::UnixMs => v.parse().ok(),
        TimeFormat::UnixNs => v.parse::<i64>().ok().map(|ns| ns / 1_000_000),
        TimeFormat::Rfc3339 => parse_rfc3339(v),
    }
}

/// `YYYY-MM-DDTHH:MM:SS[.fraction](Z|±HH:MM)` as Unix milliseconds.
pub fn parse_rfc3339(s: &str) -> Option<i64> {
    let b = s.as_bytes();
    let num = |r: std::ops::Range<usize>| -> Option<i64> {
        let part = b.get(r)?;
        part.iter()
            .all(u8::is_ascii_digit)
            .then(|| part.iter().fold(0i64, |a, d| a * 10 + i64::from(d - b'0')))
    };
    let sep = |i: usize, c: &[u8]| b.get(i).is_some_and(|x| c.contains(x));
    if !(sep(4, b"-") && sep(7, b"-") && sep(10, b"Tt ") && sep(13, b":") && sep(16, b":")) {
        return None;
    }
    let (year, month, day) = (num(0..4)?, num(5..7)?, num(8..10)?);
    let (hour, min, sec) = (num(11..13)?, num(14..16)?, num(17..19)?);
    if !(1..=12).contains(&month) || !(1..=31).contains(&day) || hour > 23 || min > 59 || sec > 60 {
        return None;
    }
    let mut i = 19;
    let mut ms = 0i64;
    if sep(i, b".") {
        let start = i + 1;
        i = start;
        while b.get(i).is_some_and(u8::is_ascii_digit) {
            i += 1;
        }
        if i == start {
            return None;
        }
        let digits = &s[start..i.min(start + 3)];
        ms = digits.parse::<i64>().ok()? * 10i64.pow(3 - digits.len() as u32);
    }
    let offset_min = match b.get(i)? {
        b'Z' | b'z' if i + 1 == b.len() => 0,
        c @ (b'+' | b'-') if b.len() == i + 6 && sep(i + 3, b":") => {
            let m = num(i + 1..i + 3)? * 60 + num(i + 4..i + 6)?;
            if *c == b'-' { -m } else { m }
        }
        _ => return None,
    };
    let days = days_from_civil(year, month as u32, day as u32);
    let secs = days * 86_400 + hour * 3600 + min * 60 + sec - offset_min * 60;
    Some(secs * 1000 + ms)
}

#[cfg(test)]
mod tests {
    use super::*;

    type Row = (String, Vec<(String, String)>, f64, Option<i64>);

    fn rows(spec: &CsvSpec, text: &str) -> Result<Vec<Row>, CsvError> {
        let mut out = Vec::new();
        spec.parse_row(text.as_bytes(), |(n, l, v, t)| {
            out.push((n.to_owned(), l.to_vec(), v, t))
        })?;
        Ok(out)
    }

    fn l(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs
            .iter()
            .map(|(a, b)| (a.to_string(), b.to_string()))
            .collect()
    }

    #[test]
    fn documented_example() {
        let spec =
            CsvSpec::parse("2:metric:ask,3:metric:bid,1:label:ticker,4:label:market").unwrap();
        let labels = l(&[("ticker", "GOOG"), ("market", "NYSE")]);
        assert_eq!(
            rows(&spec, "GOOG,1.23,4.56,NYSE").unwrap(),
            vec![
                ("ask".into(), labels.clone(), 1.23, None),
                ("bid".into(), labels, 4.56, None)
            ]
        );
        assert_eq!(
            rows(&spec, "\"MS,FT\",3.21,,\"NAS\"\"DAQ\"\r").unwrap(),
            vec![(
                "ask".into(),
                l(&[("ticker", "MS,FT"), ("market", "NAS\"DAQ")]),
                3.21,
                None
            )]
        );
        assert!(rows(&spec, "").unwrap().is_empty());
    }

    #[test]
    fn time_columns() {
        for (format, field, want) in [
            ("unix_s", "1704067200", 1_704_067_200_000),
            ("unix_s", "1704067200.25", 1_704_067_200_250),
            ("unix_ms", "1704067200123", 1_704_067_200_123),
            ("unix_ns", "1704067200123456789", 1_704_067_200_123),
            ("rfc3339", "2024-01-01T00:00:00Z", 1_704_067_200_000),
            ("rfc3339", "2024-01-01T01:00:00.5+01:00", 1_704_067_200_500),
        ] {
            let spec = CsvSpec::parse(&format!("1:time:{format},2:metric:m")).unwrap();
            let got = rows(&spec, &format!("{field},7")).unwrap();
            assert_eq!(got[0].3, Some(want), "{format} {field}");
        }
    }

    #[test]
    fn bad_specs_and_rows() {
        assert_eq!(CsvSpec::parse("1:label:x").unwrap_err(), CsvError::NoMetric);
        assert_eq!(
            CsvSpec::parse("0:metric:x").unwrap_err(),
            CsvError::BadSpecEntry("0:metric:x".into())
        );
        assert_eq!(
            CsvSpec::parse("1:gauge:x").unwrap_err(),
            CsvError::BadSpecEntry("1:gauge:x".into())
        );
        assert_eq!(
            CsvSpec::parse("1:time:custom:2006,2:metric:m").unwrap_err(),
            CsvError::BadTimeFormat("custom:2006".into())
        );
        assert_eq!(
            CsvSpec::parse("1:time:unix_s,2:time:unix_s,3:metric:m").unwrap_err(),
            CsvError::TwoTimes
        );
        let spec = CsvSpec::parse("1:time:rfc3339,2:metric:m,3:label:x").unwrap();
        assert_eq!(
            rows(&spec, "2024-01-01T00:00:00Z,1").unwrap_err(),
            CsvError::MissingColumn(3)
        );
        assert_eq!(
            rows(&spec, "2024-01-01T00:00:00Z,x,a").unwrap_err(),
            CsvError::InvalidValue {
                column: 2,
                value: "x".into()
            }
        );
        assert_eq!(
            rows(&spec, "yesterday,1,a").unwrap_err(),
            CsvError::InvalidTime {
                column: 1,
                value: "yesterday".into()
            }
        );
        assert_eq!(
            rows(&spec, "\"2024,1,a").unwrap_err(),
            CsvError::Unterminated
        );
        assert_eq!(parse_rfc3339("2024-13-01T00:00:00Z"), None);
        assert_eq!(parse_rfc3339("2024-01-01T00:00:00"), None);
    }
}
