//! Putting the samples of one series in order: duplicates and deduplication.
//!
//! Rules (order-independent, so parts may be merged in any order):
//! - two samples with the same timestamp: the one with the larger value wins (IEEE total
//!   order, so the outcome does not depend on which part held which);
//! - with a dedup interval `I > 0`: one sample per interval `(k·I − I, k·I]`, the one with
//!   the largest timestamp, as VictoriaMetrics' `-dedup.minScrapeInterval` does.

/// Sorts `(t, v)` pairs by time and resolves equal timestamps.
pub(crate) fn sort_and_resolve(s: &mut Vec<(i64, f64)>) {
    if s.windows(2).all(|w| w[0].0 < w[1].0) {
        return;
    }
    s.sort_by(|a, b| a.0.cmp(&b.0).then(a.1.total_cmp(&b.1)));
    // After the sort the largest value of each timestamp is the last of its run.
    let mut out = 0;
    for i in 0..s.len() {
        if i + 1 < s.len() && s[i + 1].0 == s[i].0 {
            continue;
        }
        s[out] = s[i];
        out += 1;
    }
    s.truncate(out);
}

/// Bucket of `t` for interval `i`: ceil(t / i).
fn bucket(t: i64, i: i64) -> i64 {
    -((-t).div_euclid(i))
}

/// Keeps the last sample of each dedup interval; `s` must be sorted and resolved.
pub(crate) fn dedup(s: &mut Vec<(i64, f64)>, interval_ms: i64) {
    if interval_ms <= 0 || s.len() < 2 {
        return;
    }
    let mut out = 0;
    for i in 0..s.len() {
        if i + 1 < s.len() && bucket(s[i + 1].0, interval_ms) == bucket(s[i].0, interval_ms) {
            continue;
        }
        s[out] = s[i];
        out += 1;
    }
    s.truncate(out);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn equal_timestamps_keep_the_larger_value() {
        let mut s = vec![(2, 1.0), (1, 5.0), (2, 3.0), (2, -1.0)];
        sort_and_resolve(&mut s);
        assert_eq!(s, vec![(1, 5.0), (2, 3.0)]);
    }

    #[test]
    fn dedup_keeps_the_last_sample_per_interval() {
        let mut s = vec![
            (0, 0.0),
            (1, 1.0),
            (10, 2.0),
            (11, 3.0),
            (19, 4.0),
            (25, 5.0),
        ];
        dedup(&mut s, 10);
        // Intervals (-10,0], (0,10], (10,20], (20,30].
        assert_eq!(s, vec![(0, 0.0), (10, 2.0), (19, 4.0), (25, 5.0)]);
    }
}
