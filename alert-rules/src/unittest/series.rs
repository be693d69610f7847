//! Input series of rule unit tests: a selector (`up{job="a"}`) and values in the
//! expanding notation of PromQL test files (`1+2x10`, `_`, `_x3`, `stale`, `-1-1x2`).

use gnomon_tsdb_core::model::{Labels, MatchOp, STALE_NAN};

/// Why an input series is invalid.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum SeriesError {
    /// The series selector does not parse or is not a plain label set.
    #[error("{0}")]
    Selector(String),
    /// A value item is malformed.
    #[error("bad value {item:?} in {values:?}")]
    Value {
        /// The item.
        item: String,
        /// The whole values string.
        values: String,
    },
    /// Native histogram values (`{{…}}`) are not evaluated by the engine yet.
    #[error("native histogram values are not supported: {0:?}")]
    Histogram(String),
}

/// Parses `metric{a="b"}` / `{__name__="x"}` into labels (equality matchers only).
///
/// # Errors
/// [`SeriesError::Selector`].
pub fn parse_labels(s: &str) -> Result<Labels, SeriesError> {
    if s.trim().is_empty() || s.trim() == "{}" {
        return Ok(Labels::empty());
    }
    let ms = gnomon_promql::parse_series_selector(s)
        .map_err(|e| SeriesError::Selector(e.to_string()))?;
    let mut pairs = Vec::with_capacity(ms.len());
    for m in ms {
        if m.op != MatchOp::Equal {
            return Err(SeriesError::Selector(format!(
                "only equality matchers are allowed in a series: {s}"
            )));
        }
        if !m.value.is_empty() {
            pairs.push((m.name.clone(), m.value.clone()));
        }
    }
    Ok(Labels::from_pairs(&pairs))
}

/// Most slots one values string may expand to (10M samples: far beyond any test, small
/// enough not to exhaust memory on a typo like `1x1000000000000`).
const MAX_SLOTS: usize = 10_000_000;

/// One slot of a value sequence: a value, or nothing at that step.
pub type Slot = Option<f64>;

fn number(s: &str) -> Option<f64> {
    match s {
        "Inf" | "+Inf" | "inf" | "+inf" => Some(f64::INFINITY),
        "-Inf" | "-inf" => Some(f64::NEG_INFINITY),
        "NaN" | "nan" => Some(f64::NAN),
        _ if s.starts_with("0x") || s.starts_with("0X") => {
            i64::from_str_radix(&s[2..], 16).ok().map(|v| v as f64)
        }
        _ if s.starts_with(|c: char| c.is_ascii_digit() || c == '-' || c == '+' || c == '.') => {
            s.parse().ok()
        }
        _ => None,
    }
}

/// Splits `a+b` / `a-b` at the operator that is not a sign or an exponent's sign.
fn split_step(s: &str) -> Option<(f64, f64)> {
    let b = s.as_bytes();
    for i in 1..b.len() {
        if (b[i] == b'+' || b[i] == b'-') && !matches!(b[i - 1], b'e' | b'E') {
            let a = number(&s[..i])?;
            let d = number(&s[i + 1..])?;
            return Some((a, if b[i] == b'-' { -d } else { d }));
        }
    }
    None
}

/// Expands a values string into slots, one per interval.
///
/// # Errors
/// [`SeriesError::Value`] for a malformed item, [`SeriesError::Histogram`] for `{{…}}`.
pub fn parse_values(values: &str) -> Result<Vec<Slot>, SeriesError> {
    if values.contains("{{") {
        return Err(SeriesError::Histogram(values.to_string()));
    }
    let bad = |item: &str| SeriesError::Value {
        item: item.to_string(),
        values: values.to_string(),
    };
    let mut out = Vec::new();
    for item in values.split_whitespace() {
        if item == "_" {
            out.push(None);
        } else if item == "stale" {
            out.push(Some(STALE_NAN));
        } else if let Some(k) = item.strip_prefix("_x") {
            let k: usize = k.parse().map_err(|_| bad(item))?;
            if out.len() + k > MAX_SLOTS {
                return Err(bad(item));
            }
            out.extend(std::iter::repeat_n(None, k));
        } else if let Some((head, k)) = item
            .rsplit_once('x')
            .filter(|(_, k)| k.parse::<usize>().is_ok())
        {
            let k: usize = k.parse().map_err(|_| bad(item))?;
            if out.len() + k >= MAX_SLOTS {
                return Err(bad(item));
            }
            let (mut v, d) = match split_step(head) {
                Some(p) => p,
                None => (number(head).ok_or_else(|| bad(item))?, 0.0),
            };
            // Repeated addition, as Prometheus does (not a + i*d): same rounding.
            for _ in 0..=k {
                out.push(Some(v));
                v += d;
            }
        } else {
            out.push(Some(number(item).ok_or_else(|| bad(item))?));
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn expanding_notation() {
        assert_eq!(
            parse_values("1+2x3").unwrap(),
            [Some(1.0), Some(3.0), Some(5.0), Some(7.0)]
        );
        assert_eq!(
            parse_values("0x2 _ _x2 -1-1x1").unwrap(),
            [
                Some(0.0),
                Some(0.0),
                Some(0.0),
                None,
                None,
                None,
                Some(-1.0),
                Some(-2.0)
            ]
        );
        assert_eq!(
            parse_values("1e3 Inf").unwrap(),
            [Some(1000.0), Some(f64::INFINITY)]
        );
        let s = parse_values("stale").unwrap();
        assert_eq!(s[0].map(f64::to_bits), Some(STALE_NAN.to_bits()));
        assert!(matches!(
            parse_values("1+x"),
            Err(SeriesError::Value { .. })
        ));
        assert!(matches!(
            parse_values("{{sum:1}}"),
            Err(SeriesError::Histogram(_))
        ));
    }

    #[test]
    fn series_labels() {
        assert_eq!(
            parse_labels("up{job=\"a\"}").unwrap(),
            Labels::from_pairs(&[("__name__", "up"), ("job", "a")])
        );
        assert_eq!(
            parse_labels("requests{}").unwrap(),
            Labels::from_pairs(&[("__name__", "requests")])
        );
        assert!(matches!(
            parse_labels("up{job=\"a\""),
            Err(SeriesError::Selector(_))
        ));
        assert!(matches!(
            parse_labels("up{job=~\"a\"}"),
            Err(SeriesError::Selector(_))
        ));
    }
}
