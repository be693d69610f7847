//! Durations as written in scrape configs: Prometheus syntax (`30s`, `1m30s`, `1d`, `2w`,
//! `1y`, `500ms`, `0`) plus VictoriaMetrics' relaxations (fractions such as `1.5m`, and a
//! bare number meaning seconds).

use std::fmt;
use std::time::Duration;

use serde::de::{self, Deserializer, Visitor};
use serde::{Deserialize, Serialize, Serializer};

/// Why a duration does not parse.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum DurationError {
    /// The text is empty.
    #[error("empty duration string")]
    Empty,
    /// The text is not a sequence of `<number><unit>` terms.
    #[error("not a valid duration string: {0:?}")]
    Invalid(String),
    /// Units must go from the largest to the smallest, each at most once (`1m1h` is not).
    #[error("duration units out of order or repeated: {0:?}")]
    UnitOrder(String),
    /// The value does not fit in 64-bit milliseconds.
    #[error("duration out of range: {0:?}")]
    Overflow(String),
}

/// Units, largest first, with their length in milliseconds.
const UNITS: [(&str, f64); 7] = [
    ("y", 365.0 * 86_400_000.0),
    ("w", 7.0 * 86_400_000.0),
    ("d", 86_400_000.0),
    ("h", 3_600_000.0),
    ("m", 60_000.0),
    ("s", 1_000.0),
    ("ms", 1.0),
];

/// Parses a Prometheus-style duration.
///
/// # Errors
/// [`DurationError`] saying what is wrong with `text`.
pub fn parse_duration(text: &str) -> Result<Duration, DurationError> {
    let s = text.trim();
    if s.is_empty() {
        return Err(DurationError::Empty);
    }
    if let Ok(secs) = s.parse::<f64>() {
        return from_ms(secs * 1000.0, text);
    }
    let bytes = s.as_bytes();
    let mut pos = 0;
    let mut next_unit = 0;
    let mut total = 0.0;
    while pos < bytes.len() {
        let start = pos;
        while pos < bytes.len() && (bytes[pos].is_ascii_digit() || bytes[pos] == b'.') {
            pos += 1;
        }
        let number: f64 = s[start..pos]
            .parse()
            .map_err(|_| DurationError::Invalid(text.to_owned()))?;
        let unit_start = pos;
        while pos < bytes.len() && bytes[pos].is_ascii_alphabetic() {
            pos += 1;
        }
        let unit = &s[unit_start..pos];
        let idx = UNITS
            .iter()
            .position(|(u, _)| *u == unit)
            .ok_or_else(|| DurationError::Invalid(text.to_owned()))?;
        if idx < next_unit {
            return Err(DurationError::UnitOrder(text.to_owned()));
        }
        next_unit = idx + 1;
        total += number * UNITS[idx].1;
    }
    from_ms(total, text)
}

fn from_ms(ms: f64, text: &str) -> Result<Duration, DurationError> {
    if !ms.is_finite() || ms < 0.0 {
        return Err(DurationError::Invalid(text.to_owned()));
    }
    if ms > i64::MAX as f64 {
        return Err(DurationError::Overflow(text.to_owned()));
    }
    Ok(Duration::from_millis(ms.round() as u64))
}

/// Formats a duration the way Prometheus prints one (`1m30s`, `0s`).
pub fn format_duration(d: Duration) -> String {
    let mut ms = d.as_millis();
    if ms == 0 {
        return "0s".to_owned();
    }
    let mut out = String::new();
    for (unit, len) in UNITS {
        let len = len as u128;
        if ms >= len {
            out.push_str(&format!("{}{unit}", ms / len));
            ms %= len;
        }
    }
    out
}

/// A [`Duration`] that (de)serializes in Prometheus syntax. Zero means "not set" where a
/// field inherits a default, as in Prometheus.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct PromDuration(pub Duration);

impl PromDuration {
    /// The duration.
    pub fn get(self) -> Duration {
        self.0
    }

    /// True when zero (unset).
    pub fn is_zero(self) -> bool {
        self.0.is_zero()
    }
}

impl From<Duration> for PromDuration {
    fn from(d: Duration) -> Self {
        PromDuration(d)
    }
}

impl fmt::Display for PromDuration {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&format_duration(self.0))
    }
}

impl Serialize for PromDuration {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&format_duration(self.0))
    }
}

impl<'de> Deserialize<'de> for PromDuration {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl Visitor<'_> for V {
            type Value = PromDuration;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a duration such as 30s or 1m30s")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<PromDuration, E> {
                parse_duration(v).map(PromDuration).map_err(E::custom)
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<PromDuration, E> {
                Ok(PromDuration(Duration::from_secs(v)))
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<PromDuration, E> {
                u64::try_from(v)
                    .map(|v| PromDuration(Duration::from_secs(v)))
                    .map_err(|_| E::custom("a duration cannot be negative"))
            }
            fn visit_f64<E: de::Error>(self, v: f64) -> Result<PromDuration, E> {
                from_ms(v * 1000.0, &v.to_string())
                    .map(PromDuration)
                    .map_err(E::custom)
            }
        }
        d.deserialize_any(V)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn ms(text: &str) -> u128 {
        parse_duration(text).unwrap().as_millis()
    }

    #[test]
    fn prometheus_forms() {
        assert_eq!(ms("30s"), 30_000);
        assert_eq!(ms("1m30s"), 90_000);
        assert_eq!(ms("1d"), 86_400_000);
        assert_eq!(ms("2w"), 14 * 86_400_000);
        assert_eq!(ms("1y"), 365 * 86_400_000);
        assert_eq!(ms("1h2m3s4ms"), 3_723_004);
        assert_eq!(ms("0"), 0);
        assert_eq!(ms("0s"), 0);
    }

    #[test]
    fn victoriametrics_relaxations() {
        assert_eq!(ms("1.5m"), 90_000);
        assert_eq!(ms("15"), 15_000);
        assert_eq!(ms("0.5"), 500);
    }

    #[test]
    fn rejects() {
        assert_eq!(parse_duration(""), Err(DurationError::Empty));
        assert_eq!(
            parse_duration("5x"),
            Err(DurationError::Invalid("5x".into()))
        );
        assert_eq!(parse_duration("s"), Err(DurationError::Invalid("s".into())));
        assert_eq!(
            parse_duration("-1s"),
            Err(DurationError::Invalid("-1s".into()))
        );
        assert_eq!(
            parse_duration("1s1m"),
            Err(DurationError::UnitOrder("1s1m".into()))
        );
        assert_eq!(
            parse_duration("1s1s"),
            Err(DurationError::UnitOrder("1s1s".into()))
        );
        assert!(matches!(
            parse_duration("99999999999999999999y"),
            Err(DurationError::Overflow(_))
        ));
    }

    #[test]
    fn yaml_values() {
        let d: PromDuration = serde_yaml_ng::from_str("45").unwrap();
        assert_eq!(d.get(), Duration::from_secs(45));
        let d: PromDuration = serde_yaml_ng::from_str("'1m'").unwrap();
        assert_eq!(d.get(), Duration::from_secs(60));
        let e = serde_yaml_ng::from_str::<PromDuration>("[1]").unwrap_err();
        assert!(e.to_string().contains("a duration"), "{e}");
    }

    proptest! {
        #[test]
        fn format_parse_round_trip(ms in 0u64..1u64 << 50) {
            let d = Duration::from_millis(ms);
            prop_assert_eq!(parse_duration(&format_duration(d)), Ok(d));
        }

        #[test]
        fn arbitrary_text_never_panics(s in ".{0,24}") {
            let _ = parse_duration(&s);
        }
    }
}
