//! Months and days of millisecond timestamps (UTC, proleptic Gregorian).

use crate::model::civil::{civil_from_days, days_from_civil};

/// Milliseconds in a day.
pub(crate) const DAY_MS: i64 = 86_400_000;

/// Day number (days since 1970-01-01) of `t`, clamped to `u32` (timestamps before 1970
/// share day 0: the day filter of the index is then only coarser, never wrong).
pub(crate) fn day_of(t: i64) -> u32 {
    t.div_euclid(DAY_MS).clamp(0, i64::from(u32::MAX)) as u32
}

/// Month number `year * 12 + (month - 1)` of `t`.
pub(crate) fn month_of(t: i64) -> i32 {
    let (y, m, _) = civil_from_days(t.div_euclid(DAY_MS));
    (y * 12 + (m as i64 - 1)) as i32
}

/// `[start, end]` in ms of month `m`.
pub(crate) fn month_range(m: i32) -> (i64, i64) {
    let (y, mo) = (i64::from(m).div_euclid(12), i64::from(m).rem_euclid(12) + 1);
    let start = days_from_civil(y, mo as u32, 1) * DAY_MS;
    let (ny, nm) = if mo == 12 { (y + 1, 1) } else { (y, mo + 1) };
    let end = days_from_civil(ny, nm as u32, 1) * DAY_MS - 1;
    (start, end)
}

/// `YYYY_MM`, VictoriaMetrics' partition name.
pub(crate) fn month_name(m: i32) -> String {
    format!("{:04}_{:02}", m.div_euclid(12), m.rem_euclid(12) + 1)
}

/// Parses a partition name back into its month number.
pub(crate) fn parse_month_name(s: &str) -> Option<i32> {
    let (y, m) = s.split_once('_')?;
    if y.len() != 4 || m.len() != 2 {
        return None;
    }
    let (y, m): (i32, i32) = (y.parse().ok()?, m.parse().ok()?);
    (1..=12).contains(&m).then_some(y * 12 + m - 1)
}

/// `YYYYMMDDhhmmss` of `t` (ms), used in snapshot names.
pub(crate) fn compact_datetime(t: i64) -> String {
    let (y, m, d) = civil_from_days(t.div_euclid(DAY_MS));
    let s = t.div_euclid(1000).rem_euclid(86_400);
    format!(
        "{y:04}{m:02}{d:02}{:02}{:02}{:02}",
        s / 3600,
        s / 60 % 60,
        s % 60
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn months() {
        let t = 1_704_067_200_000; // 2024-01-01T00:00:00Z
        let m = month_of(t);
        assert_eq!(month_name(m), "2024_01");
        assert_eq!(month_range(m), (t, 1_706_745_600_000 - 1));
        assert_eq!(month_of(t - 1), m - 1);
        assert_eq!(month_name(month_of(t - 1)), "2023_12");
        assert_eq!(parse_month_name("2024_01"), Some(m));
        assert_eq!(parse_month_name("2024_13"), None);
        assert_eq!(compact_datetime(t + 3_723_000), "20240101010203");
        assert_eq!(month_name(month_of(-1)), "1969_12");
        assert_eq!(day_of(-5), 0);
    }
}
