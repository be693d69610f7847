//! [`IndexSource`]: the read side shared by [`MemIndex`](super::MemIndex) and
//! [`IndexFile`](super::IndexFile).

use std::ops::{Bound, ControlFlow, RangeInclusive};

use roaring::{MultiOps, RoaringBitmap};

/// Bounds of a scan over the values of one label name, as `(from, to)`.
pub type ValueRange<'a> = (Bound<&'a str>, Bound<&'a str>);

/// The whole value space of a label name.
pub const ALL_VALUES: ValueRange<'static> = (Bound::Unbounded, Bound::Unbounded);

/// The postings (series ids) of one label pair, as held by a source: an in-memory bitmap,
/// or the serialized bitmap inside an index file, decoded on demand.
#[derive(Clone, Copy, Debug)]
pub enum PostingsRef<'a> {
    /// A bitmap in memory.
    Bitmap(&'a RoaringBitmap),
    /// A serialized bitmap, already validated when its file was opened.
    Encoded(&'a [u8]),
}

impl PostingsRef<'_> {
    /// The series ids as a bitmap.
    pub fn to_bitmap(&self) -> RoaringBitmap {
        match self {
            PostingsRef::Bitmap(b) => (*b).clone(),
            PostingsRef::Encoded(bytes) => super::bitmap_codec::decode_validated(bytes),
        }
    }

    /// Adds the series ids to `acc`.
    pub fn union_into(&self, acc: &mut RoaringBitmap) {
        match self {
            PostingsRef::Bitmap(b) => *acc |= *b,
            PostingsRef::Encoded(_) => *acc |= self.to_bitmap(),
        }
    }

    /// True when at least one of the series ids is in `ids`.
    pub fn intersects(&self, ids: &RoaringBitmap) -> bool {
        match self {
            PostingsRef::Bitmap(b) => !b.is_disjoint(ids),
            PostingsRef::Encoded(_) => !self.to_bitmap().is_disjoint(ids),
        }
    }
}

/// Read side of one index source (one [`MemIndex`](super::MemIndex) or one
/// [`IndexFile`](super::IndexFile)).
///
/// A source never fails: a file is fully validated when it is opened.
pub trait IndexSource: Send + Sync {
    /// Every series id in this source (the series whose labels it holds).
    fn all_series(&self) -> RoaringBitmap;

    /// The label names of the source, sorted.
    fn label_names(&self) -> Vec<String>;

    /// Calls `visit` with each value of `name` inside `range`, in ascending order, and its
    /// postings, until `visit` breaks. Nothing is visited when `name` is absent.
    fn for_each_value(
        &self,
        name: &str,
        range: ValueRange<'_>,
        visit: &mut dyn FnMut(&str, PostingsRef<'_>) -> ControlFlow<()>,
    );

    /// The days (see [`day_of`](super::day_of)) on which some series has samples, sorted.
    fn days(&self) -> Vec<u32>;

    /// Series with samples on any day in `days` (inclusive).
    ///
    /// Day marks may name series whose labels are held by another source of the same
    /// partition.
    fn series_on_days(&self, days: RangeInclusive<u32>) -> RoaringBitmap;

    /// Sorted values of `name` (empty when absent).
    fn label_values(&self, name: &str) -> Vec<String> {
        let mut out = Vec::new();
        self.for_each_value(name, ALL_VALUES, &mut |v, _| {
            out.push(v.to_owned());
            ControlFlow::Continue(())
        });
        out
    }

    /// The series with label `name` equal to `value` (empty for the empty value).
    fn postings(&self, name: &str, value: &str) -> RoaringBitmap {
        let mut out = RoaringBitmap::new();
        let range = (Bound::Included(value), Bound::Included(value));
        self.for_each_value(name, range, &mut |_, p| {
            out = p.to_bitmap();
            ControlFlow::Break(())
        });
        out
    }

    /// Union of the postings of the values of `name` for which `keep(value)` is true,
    /// scanning only the values in `range` (prefix scans pass bounds).
    fn postings_where(
        &self,
        name: &str,
        range: ValueRange<'_>,
        keep: &mut dyn FnMut(&str) -> bool,
    ) -> RoaringBitmap {
        let mut parts = Vec::new();
        self.for_each_value(name, range, &mut |v, p| {
            if keep(v) {
                parts.push(p.to_bitmap());
            }
            ControlFlow::Continue(())
        });
        // One multi-way union is several times faster than folding `|=` over
        // many small bitmaps (it works on bitset containers, converting once at the end).
        parts.union()
    }
}
