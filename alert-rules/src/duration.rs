//! Prometheus durations (`model.Duration`): `1y2w3d4h5m6s7ms`, each unit at most once and
//! in that order, or a lone `0`. Values are milliseconds.

use crate::error::{Error, Result};

/// Units in the order they must appear, with their length in milliseconds.
const UNITS: [(&str, i64); 7] = [
    ("y", 365 * 24 * 3_600_000),
    ("w", 7 * 24 * 3_600_000),
    ("d", 24 * 3_600_000),
    ("h", 3_600_000),
    ("m", 60_000),
    ("s", 1_000),
    ("ms", 1),
];

/// Parses a Prometheus duration into milliseconds.
///
/// # Errors
/// [`Error::InvalidDuration`] when the text is empty, has an unknown unit, repeats a unit,
/// puts units out of order or overflows.
pub fn parse_duration(s: &str) -> Result<i64> {
    let bad = || Error::InvalidDuration(s.to_string());
    if s == "0" {
        return Ok(0);
    }
    if s.is_empty() {
        return Err(bad());
    }
    let mut rest = s;
    let mut next_unit = 0;
    let mut total: i64 = 0;
    while !rest.is_empty() {
        let digits = rest.bytes().take_while(u8::is_ascii_digit).count();
        if digits == 0 {
            return Err(bad());
        }
        let n: i64 = rest[..digits].parse().map_err(|_| bad())?;
        rest = &rest[digits..];
        // `ms` before `m`: the longest unit name that matches.
        let found = UNITS
            .iter()
            .enumerate()
            .skip(next_unit)
            .filter(|(_, (u, _))| rest.starts_with(u))
            .max_by_key(|(_, (u, _))| u.len());
        let Some((i, (u, ms))) = found else {
            return Err(bad());
        };
        next_unit = i + 1;
        rest = &rest[u.len()..];
        total = n
            .checked_mul(*ms)
            .and_then(|v| total.checked_add(v))
            .ok_or_else(bad)?;
    }
    Ok(total)
}

/// Formats milliseconds as Prometheus does (`1d`, `1h30m`, `1s500ms`, `0s`).
pub fn format_duration(ms: i64) -> String {
    if ms == 0 {
        return "0s".to_string();
    }
    let mut out = String::new();
    let mut rest = ms.unsigned_abs();
    if ms < 0 {
        out.push('-');
    }
    for (u, len) in UNITS {
        let len = len as u64;
        let n = rest / len;
        if n > 0 {
            out.push_str(&format!("{n}{u}"));
            rest -= n * len;
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn parses_units_in_order() {
        assert_eq!(parse_duration("0").unwrap(), 0);
        assert_eq!(parse_duration("5m").unwrap(), 300_000);
        assert_eq!(parse_duration("1h30m").unwrap(), 5_400_000);
        assert_eq!(parse_duration("1s500ms").unwrap(), 1_500);
        assert_eq!(parse_duration("100d").unwrap(), 8_640_000_000);
        assert_eq!(parse_duration("1y").unwrap(), 31_536_000_000);
    }

    #[test]
    fn rejects_bad_forms() {
        for s in ["", "5", "m", "5x", "1m1h", "1m1m", "-1m", "1.5m"] {
            assert!(
                matches!(parse_duration(s), Err(Error::InvalidDuration(ref t)) if t == s),
                "{s}"
            );
        }
    }

    #[test]
    fn formats_like_prometheus() {
        assert_eq!(format_duration(0), "0s");
        assert_eq!(format_duration(86_400_000), "1d");
        assert_eq!(format_duration(5_400_000), "1h30m");
        assert_eq!(format_duration(1_500), "1s500ms");
    }

    proptest! {
        #[test]
        fn round_trip(ms in 0i64..1_000_000_000_000) {
            prop_assert_eq!(parse_duration(&format_duration(ms)).unwrap(), ms);
        }
    }
}
