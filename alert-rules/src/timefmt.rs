//! RFC 3339 times (UTC, millisecond precision) for Alertmanager and the HTTP API.

use gnomon_tsdb_core::model::civil::civil_from_days;

/// Formats Unix milliseconds as `2024-01-01T00:00:00.123Z` (fraction only when non-zero).
pub fn rfc3339(ms: i64) -> String {
    let secs = ms.div_euclid(1000);
    let frac = ms.rem_euclid(1000);
    let (days, sod) = (secs.div_euclid(86400), secs.rem_euclid(86400));
    let (y, m, d) = civil_from_days(days);
    let mut s = format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}",
        sod / 3600,
        (sod / 60) % 60,
        sod % 60
    );
    if frac != 0 {
        s.push_str(&format!(".{frac:03}"));
    }
    s.push('Z');
    s
}

/// Now, in Unix milliseconds.
pub fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats() {
        assert_eq!(rfc3339(0), "1970-01-01T00:00:00Z");
        assert_eq!(rfc3339(1_704_067_200_123), "2024-01-01T00:00:00.123Z");
    }
}
