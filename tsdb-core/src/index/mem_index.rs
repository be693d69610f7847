//! [`MemIndex`]: the mutable index of the series added since the last flush.

use std::collections::BTreeMap;
use std::ops::{Bound, ControlFlow, RangeInclusive};

use roaring::{MultiOps, RoaringBitmap};

use super::source::{IndexSource, PostingsRef, ValueRange};
use crate::model::Labels;

/// Estimated heap cost of one map entry beyond its string bytes, added up from type
/// sizes on 64-bit targets: key `String` (24) + value (24: a `BTreeMap` or a
/// `RoaringBitmap`) + B-tree node slack (~1/3 of 11-slot nodes, ~16) + the first
/// container's allocation (~32). An estimate for budgeting, not a measurement.
const ENTRY_OVERHEAD: usize = 96;

/// Estimated bytes per id stored in a bitmap (array containers hold 2 bytes per id).
const BYTES_PER_ID: usize = 2;

/// A mutable in-memory index: label pair -> series ids, day -> series ids.
///
/// Wrap it in a lock to share it; readers use it through [`IndexSource`].
#[derive(Debug, Default, Clone)]
pub struct MemIndex {
    postings: BTreeMap<String, BTreeMap<String, RoaringBitmap>>,
    all: RoaringBitmap,
    days: BTreeMap<u32, RoaringBitmap>,
    memory: usize,
}

impl MemIndex {
    /// An empty index.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds series `id` with labels `labels`. Adding an id that is already present does
    /// nothing (an id always stands for the same labels).
    pub fn add_series(&mut self, id: u32, labels: &Labels) {
        if !self.all.insert(id) {
            return;
        }
        for l in labels {
            let values = match self.postings.get_mut(l.name.as_str()) {
                Some(v) => v,
                None => {
                    self.memory += ENTRY_OVERHEAD + l.name.len();
                    self.postings.entry(l.name.clone()).or_default()
                }
            };
            let ids = match values.get_mut(l.value.as_str()) {
                Some(ids) => ids,
                None => {
                    self.memory += ENTRY_OVERHEAD + l.value.len();
                    values.entry(l.value.clone()).or_default()
                }
            };
            if ids.insert(id) {
                self.memory += BYTES_PER_ID;
            }
        }
    }

    /// Marks series `id` as having samples on `day` (see [`day_of`](super::day_of)). The
    /// id's labels may live in another source of the partition.
    pub fn add_day(&mut self, day: u32, id: u32) {
        let ids = self.days.entry(day).or_insert_with(|| {
            self.memory += ENTRY_OVERHEAD;
            RoaringBitmap::new()
        });
        if ids.insert(id) {
            self.memory += BYTES_PER_ID;
        }
    }

    /// Number of series.
    pub fn len(&self) -> usize {
        self.all.len() as usize
    }

    /// True when no series was added.
    pub fn is_empty(&self) -> bool {
        self.all.is_empty()
    }

    /// Estimated heap bytes held (strings, map entries, bitmap contents).
    pub fn memory_bytes(&self) -> usize {
        self.memory + BYTES_PER_ID * self.all.len() as usize
    }
}

impl IndexSource for MemIndex {
    fn all_series(&self) -> RoaringBitmap {
        self.all.clone()
    }

    fn label_names(&self) -> Vec<String> {
        self.postings.keys().cloned().collect()
    }

    fn for_each_value(
        &self,
        name: &str,
        range: ValueRange<'_>,
        visit: &mut dyn FnMut(&str, PostingsRef<'_>) -> ControlFlow<()>,
    ) {
        let Some(values) = self.postings.get(name) else {
            return;
        };
        if !valid_range(range) {
            return;
        }
        for (v, ids) in values.range::<str, _>(range) {
            if visit(v, PostingsRef::Bitmap(ids)).is_break() {
                return;
            }
        }
    }

    fn days(&self) -> Vec<u32> {
        self.days.keys().copied().collect()
    }

    fn series_on_days(&self, days: RangeInclusive<u32>) -> RoaringBitmap {
        let mut out = RoaringBitmap::new();
        for (_, ids) in self.days.range(days) {
            out |= ids;
        }
        out
    }

    fn postings_where(
        &self,
        name: &str,
        range: ValueRange<'_>,
        keep: &mut dyn FnMut(&str) -> bool,
    ) -> RoaringBitmap {
        let Some(values) = self.postings.get(name) else {
            return RoaringBitmap::new();
        };
        if !valid_range(range) {
            return RoaringBitmap::new();
        }
        values
            .range::<str, _>(range)
            .filter(|(v, _)| keep(v))
            .map(|(_, ids)| ids)
            .union()
    }

    fn postings(&self, name: &str, value: &str) -> RoaringBitmap {
        self.postings
            .get(name)
            .and_then(|values| values.get(value))
            .cloned()
            .unwrap_or_default()
    }
}

/// `BTreeMap::range` panics on an inverted or empty-exclusive range; such a range
/// holds no value.
fn valid_range((lo, hi): ValueRange<'_>) -> bool {
    match (lo, hi) {
        (Bound::Included(a), Bound::Included(b)) => a <= b,
        (Bound::Included(a) | Bound::Excluded(a), Bound::Excluded(b))
        | (Bound::Excluded(a), Bound::Included(b)) => a < b,
        _ => true,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::index::source::ALL_VALUES;

    fn labels(pairs: &[(&str, &str)]) -> Labels {
        Labels::from_pairs(pairs)
    }

    #[test]
    fn add_series_is_idempotent_and_counts() {
        let mut m = MemIndex::new();
        assert!(m.is_empty());
        m.add_series(7, &labels(&[("__name__", "up"), ("job", "a")]));
        let bytes = m.memory_bytes();
        m.add_series(7, &labels(&[("__name__", "up"), ("job", "a")]));
        assert_eq!(m.len(), 1);
        assert_eq!(m.memory_bytes(), bytes);
        m.add_series(8, &labels(&[("__name__", "up"), ("job", "b")]));
        assert_eq!(m.len(), 2);
        assert!(m.memory_bytes() > bytes);
        assert_eq!(m.label_names(), ["__name__", "job"]);
        assert_eq!(m.label_values("job"), ["a", "b"]);
        assert!(m.label_values("nope").is_empty());
        assert_eq!(m.postings("job", "b").iter().collect::<Vec<_>>(), [8]);
        assert!(m.postings("job", "c").is_empty());
    }

    #[test]
    fn ranges_and_days() {
        let mut m = MemIndex::new();
        for (id, v) in ["aa", "ab", "b", "ba"].iter().enumerate() {
            m.add_series(id as u32, &labels(&[("x", v)]));
            m.add_day(100 + id as u32, id as u32);
        }
        let got = m.postings_where(
            "x",
            (Bound::Included("ab"), Bound::Excluded("ba")),
            &mut |_| true,
        );
        assert_eq!(got.iter().collect::<Vec<_>>(), [1, 2]);
        // Inverted ranges hold nothing rather than panicking.
        let got = m.postings_where(
            "x",
            (Bound::Included("b"), Bound::Excluded("a")),
            &mut |_| true,
        );
        assert!(got.is_empty());
        let got = m.postings_where("x", ALL_VALUES, &mut |v| v.starts_with('a'));
        assert_eq!(got.iter().collect::<Vec<_>>(), [0, 1]);
        assert_eq!(m.days(), [100, 101, 102, 103]);
        assert_eq!(
            m.series_on_days(101..=102).iter().collect::<Vec<_>>(),
            [1, 2]
        );
        assert!(m.series_on_days(5..=99).is_empty());
    }
}
