//! Samples and the Prometheus staleness marker.

/// Bit pattern of the Prometheus staleness marker: a NaN that no arithmetic produces.
///
/// Storage keeps it bit-exact; queries treat it as "the series ended here".
pub const STALE_NAN_BITS: u64 = 0x7ff0_0000_0000_0002;

/// The staleness marker as an `f64`.
pub const STALE_NAN: f64 = f64::from_bits(STALE_NAN_BITS);

/// Returns true when `v` is the staleness marker (compared by bits, not as a float).
#[inline]
pub fn is_stale_nan(v: f64) -> bool {
    v.to_bits() == STALE_NAN_BITS
}

/// One float sample: a millisecond Unix timestamp and a value.
#[derive(Clone, Copy, Debug, Default)]
pub struct Sample {
    /// Milliseconds since the Unix epoch.
    pub t: i64,
    /// The value; every bit pattern (all NaNs included) is kept as is.
    pub v: f64,
}

impl Sample {
    /// Creates a sample.
    pub fn new(t: i64, v: f64) -> Self {
        Sample { t, v }
    }
}

/// Samples compare equal when their timestamps are equal and their values are the same
/// bit pattern (so NaN == NaN and the staleness marker is distinct from other NaNs).
impl PartialEq for Sample {
    fn eq(&self, other: &Self) -> bool {
        self.t == other.t && self.v.to_bits() == other.v.to_bits()
    }
}

impl Eq for Sample {}

/// Inclusive time range in milliseconds: `start <= t <= end`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct TimeRange {
    /// First millisecond included.
    pub start: i64,
    /// Last millisecond included.
    pub end: i64,
}

impl TimeRange {
    /// Every representable timestamp.
    pub const ALL: TimeRange = TimeRange {
        start: i64::MIN,
        end: i64::MAX,
    };

    /// Creates the range `[start, end]`.
    pub fn new(start: i64, end: i64) -> Self {
        TimeRange { start, end }
    }

    /// True when `t` lies in the range.
    #[inline]
    pub fn contains(&self, t: i64) -> bool {
        self.start <= t && t <= self.end
    }

    /// True when `[min, max]` shares at least one millisecond with the range.
    #[inline]
    pub fn overlaps(&self, min: i64, max: i64) -> bool {
        min <= self.end && max >= self.start
    }

    /// True when the range holds no timestamp.
    pub fn is_empty(&self) -> bool {
        self.start > self.end
    }
}

/// One series with its samples, as returned by a select.
#[derive(Clone, Debug, PartialEq)]
pub struct Series {
    /// The series' labels, `__name__` included.
    pub labels: super::Labels,
    /// Samples in increasing time order, one per timestamp.
    pub samples: Vec<Sample>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stale_nan_is_distinct_from_other_nans() {
        assert!(is_stale_nan(STALE_NAN));
        assert!(STALE_NAN.is_nan());
        assert!(!is_stale_nan(f64::NAN));
        assert_ne!(Sample::new(1, STALE_NAN), Sample::new(1, f64::NAN));
        assert_eq!(Sample::new(1, f64::NAN), Sample::new(1, f64::NAN));
    }

    #[test]
    fn time_range_bounds_are_inclusive() {
        let r = TimeRange::new(10, 20);
        assert!(r.contains(10) && r.contains(20) && !r.contains(21));
        assert!(r.overlaps(20, 30) && r.overlaps(0, 10) && !r.overlaps(21, 30));
        assert!(TimeRange::new(2, 1).is_empty());
    }
}
