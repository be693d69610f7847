//! OpenTSDB: telnet `put` lines and the JSON bodies of HTTP `/api/put`.
//!
//! ```text
//! put sys.cpu.nice 1346846400 18 host=web01 dc=lga
//! ```
//!
//! ```json
//! [{"metric": "sys.cpu.nice", "timestamp": 1346846400, "value": 18, "tags": {"host": "web01"}}]
//! ```
//!
//! Timestamps are Unix seconds, or milliseconds when they are at least
//! [`MS_THRESHOLD`] (OpenTSDB's own rule is "13 digits"). Tags are optional (OpenTSDB
//! wants at least one; VictoriaMetrics does not).

use super::graphite::parse_number;

/// Timestamps at or above this are milliseconds: Unix seconds stay below 1e11 until the
/// year 5138, Unix milliseconds have been above it since 1973.
pub const MS_THRESHOLD: f64 = 1e11;

/// Why a put line or JSON point was refused.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum OpenTsdbError {
    /// The line is not UTF-8.
    #[error("line is not valid UTF-8")]
    NotUtf8,
    /// The line does not start with `put`.
    #[error("unsupported command {0:?}; want put")]
    NotPut(String),
    /// Fewer than metric, timestamp and value.
    #[error("want `put <metric> <timestamp> <value> [tag=value ...]`")]
    TooShort,
    /// The timestamp is not a number.
    #[error("invalid timestamp {0:?}")]
    InvalidTimestamp(String),
    /// The value is not a number.
    #[error("invalid value {0:?}")]
    InvalidValue(String),
    /// A tag without `=`.
    #[error("tag {0:?} has no '='")]
    BadTag(String),
    /// The JSON body does not parse.
    #[error("invalid JSON: {0}")]
    Json(String),
    /// A JSON point lacks a field or has one of the wrong type.
    #[error("point {index}: {what}")]
    BadPoint {
        /// 0-based index of the point in the body.
        index: usize,
        /// What is wrong.
        what: String,
    },
}

/// One data point.
#[derive(Clone, Debug, PartialEq)]
pub struct OpenTsdbPoint<S> {
    /// Metric name.
    pub metric: S,
    /// Tags in input order.
    pub tags: Vec<(S, S)>,
    /// The value.
    pub value: f64,
    /// Unix milliseconds; `None` when the JSON point has no timestamp ("now").
    pub timestamp_ms: Option<i64>,
}

/// Decodes one telnet line (without its `\n`); `Ok(None)` for a blank line.
///
/// # Errors
/// [`OpenTsdbError`] naming the field that does not fit.
pub fn parse_put(line: &[u8]) -> Result<Option<OpenTsdbPoint<&str>>, OpenTsdbError> {
    let text = std::str::from_utf8(line).map_err(|_| OpenTsdbError::NotUtf8)?;
    let mut f = text.split_ascii_whitespace();
    let Some(cmd) = f.next() else {
        return Ok(None);
    };
    if cmd != "put" {
        return Err(OpenTsdbError::NotPut(cmd.chars().take(32).collect()));
    }
    let (Some(metric), Some(ts), Some(value)) = (f.next(), f.next(), f.next()) else {
        return Err(OpenTsdbError::TooShort);
    };
    let timestamp_ms = Some(timestamp(ts)?);
    let value = parse_number(value).ok_or_else(|| OpenTsdbError::InvalidValue(value.into()))?;
    let tags = f
        .map(|t| {
            t.split_once('=')
                .ok_or_else(|| OpenTsdbError::BadTag(t.into()))
        })
        .collect::<Result<Vec<_>, _>>()?;
    Ok(Some(OpenTsdbPoint {
        metric,
        tags,
        value,
        timestamp_ms,
    }))
}

fn timestamp(ts: &str) -> Result<i64, OpenTsdbError> {
    let t = parse_number(ts)
        .filter(|t| t.is_finite())
        .ok_or_else(|| OpenTsdbError::InvalidTimestamp(ts.into()))?;
    Ok(seconds_or_ms(t))
}

fn seconds_or_ms(t: f64) -> i64 {
    if t.abs() >= MS_THRESHOLD {
        t as i64
    } else {
        (t * 1000.0) as i64
    }
}

/// Decodes an `/api/put` body: one point object or an array of them. A bad point does
/// not stop the others: each comes back as its own `Result`.
///
/// # Errors
/// [`OpenTsdbError::Json`] when the body is not a JSON object or array.
#[allow(clippy::type_complexity)]
pub fn parse_http(
    body: &[u8],
) -> Result<Vec<Result<OpenTsdbPoint<String>, OpenTsdbError>>, OpenTsdbError> {
    let v: serde_json::Value =
        serde_json::from_slice(body).map_err(|e| OpenTsdbError::Json(e.to_string()))?;
    let items = match v {
        serde_json::Value::Array(a) => a,
        o @ serde_json::Value::Object(_) => vec![o],
        _ => return Err(OpenTsdbError::Json("want an object or an array".into())),
    };
    Ok(items
        .iter()
        .enumerate()
        .map(|(index, item)| {
            json_point(item).map_err(|what| OpenTsdbError::BadPoint { index, what })
        })
        .collect())
}

fn json_point(item: &serde_json::Value) -> Result<OpenTsdbPoint<String>, String> {
    let metric = item
        .get("metric")
        .and_then(|m| m.as_str())
        .filter(|m| !m.is_empty())
        .ok_or("missing metric")?
        .to_owned();
    let value = match item.get("value") {
        Some(serde_json::Value::Number(n)) => n.as_f64().ok_or("value out of range")?,
        Some(serde_json::Value::String(s)) => {
            parse_number(s).ok_or_else(|| format!("invalid value {s:?}"))?
        }
        _ => return Err("missing value".into()),
    };
    let timestamp_ms = match item.get("timestamp") {
        None | Some(serde_json::Value::Null) => None,
        Some(serde_json::Value::Number(n)) => {
            Some(seconds_or_ms(n.as_f64().ok_or("timestamp out of range")?))
        }
        Some(other) => return Err(format!("invalid timestamp {other}")),
    };
    let mut tags = Vec::new();
    match item.get("tags") {
        None | Some(serde_json::Value::Null) => {}
        Some(serde_json::Value::Object(m)) => {
            for (k, v) in m {
                let v = match v {
                    serde_json::Value::String(s) => s.clone(),
                    serde_json::Value::Number(n) => n.to_string(),
                    serde_json::Value::Bool(b) => b.to_string(),
                    other => return Err(format!("tag {k:?} has a non-scalar value {other}")),
                };
                tags.push((k.clone(), v));
            }
        }
        Some(_) => return Err("tags is not an object".into()),
    }
    Ok(OpenTsdbPoint {
        metric,
        tags,
        value,
        timestamp_ms,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn documented_put_lines() {
        let p = parse_put(b"put sys.cpu.nice 1346846400 18 host=web01 dc=lga")
            .unwrap()
            .unwrap();
        assert_eq!(p.metric, "sys.cpu.nice");
        assert_eq!(p.tags, vec![("host", "web01"), ("dc", "lga")]);
        assert_eq!((p.value, p.timestamp_ms), (18.0, Some(1_346_846_400_000)));
        let p = parse_put(b"put sys.ms 1346846400123 1.5 host=a\r")
            .unwrap()
            .unwrap();
        assert_eq!(p.timestamp_ms, Some(1_346_846_400_123));
        let p = parse_put(b"put sys.notag 1346846400 3").unwrap().unwrap();
        assert!(p.tags.is_empty());
        assert_eq!(parse_put(b" \r").unwrap(), None);
    }

    #[test]
    fn malformed_put_lines() {
        let cases: &[(&[u8], OpenTsdbError)] = &[
            (b"put bad", OpenTsdbError::TooShort),
            (b"get x 1 2", OpenTsdbError::NotPut("get".into())),
            (
                b"put m soon 1",
                OpenTsdbError::InvalidTimestamp("soon".into()),
            ),
            (b"put m 1 x", OpenTsdbError::InvalidValue("x".into())),
            (b"put m 1 2 host", OpenTsdbError::BadTag("host".into())),
            (b"put m\xff 1 2", OpenTsdbError::NotUtf8),
        ];
        for (line, want) in cases {
            assert_eq!(&parse_put(line).unwrap_err(), want);
        }
    }

    #[test]
    fn http_single_array_and_bad_points() {
        let one = parse_http(
            br#"{"metric": "sys.cpu.nice", "timestamp": 1346846400, "value": 18, "tags": {"host": "web01", "dc": "lga"}}"#,
        )
        .unwrap();
        let p = one[0].as_ref().unwrap();
        assert_eq!(p.metric, "sys.cpu.nice");
        assert_eq!(p.timestamp_ms, Some(1_346_846_400_000));
        assert_eq!(p.tags.len(), 2);
        let many = parse_http(
            br#"[{"metric":"a","value":"1.5","timestamp":1346846400000},{"metric":"bad"},{"metric":"b","value":2,"tags":{"n":3}},{"value":1}]"#,
        )
        .unwrap();
        assert_eq!(many.len(), 4);
        let a = many[0].as_ref().unwrap();
        assert_eq!((a.value, a.timestamp_ms), (1.5, Some(1_346_846_400_000)));
        assert_eq!(
            many[1].as_ref().unwrap_err(),
            &OpenTsdbError::BadPoint {
                index: 1,
                what: "missing value".into()
            }
        );
        let b = many[2].as_ref().unwrap();
        assert_eq!((b.timestamp_ms, &b.tags[0].1[..]), (None, "3"));
        assert_eq!(
            many[3].as_ref().unwrap_err().to_string(),
            "point 3: missing metric"
        );
        assert!(matches!(parse_http(b"{"), Err(OpenTsdbError::Json(_))));
        assert!(matches!(parse_http(b"3"), Err(OpenTsdbError::Json(_))));
    }
}
