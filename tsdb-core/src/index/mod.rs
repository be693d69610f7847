//! The label index: which series carry which label pair, and which series have samples on
//! which day.
//!
//! One index covers one time partition (a month). It is made of sources:
//! - one mutable [`MemIndex`] holding the series added since the last flush;
//! - a few immutable, memory-mapped [`IndexFile`]s, written by [`write_index`] at flush
//!   time and merged by it later (optionally dropping deleted series).
//!
//! Every source holds the complete label set of each series it contains; a series may be
//! in several sources. Queries run [`select`] over all sources of a partition: matchers
//! are evaluated per source (a missing label is the empty string, as in Prometheus) and
//! the results are united, then restricted to the series with samples on the queried
//! days. The on-disk layout is described in `docs/format/index.md`.
//!
//! ```
//! use gnomon_tsdb_core::index::{self, IndexSource, MemIndex};
//! use gnomon_tsdb_core::model::{Labels, MatchOp, Matcher};
//!
//! let mut mem = MemIndex::new();
//! mem.add_series(1, &Labels::from_pairs(&[("__name__", "up"), ("job", "node")]));
//! mem.add_series(2, &Labels::from_pairs(&[("__name__", "up"), ("job", "api")]));
//! mem.add_day(20_000, 2);
//!
//! let re = Matcher::new(MatchOp::RegexMatch, "job", "no.*").unwrap();
//! let ids = index::select(&[&mem], &[Matcher::equal("__name__", "up"), re], None);
//! assert_eq!(ids.iter().collect::<Vec<_>>(), [1]);
//! let on_day = index::select(&[&mem], &[Matcher::equal("__name__", "up")], Some(20_000..=20_000));
//! assert_eq!(on_day.iter().collect::<Vec<_>>(), [2]);
//! ```

mod bitmap_codec;
mod file;
mod format;
mod mem_index;
mod select;
mod source;
mod writer;

#[cfg(test)]
mod tests;

pub use file::IndexFile;
pub use mem_index::MemIndex;
pub use select::{label_names, label_values, select};
pub use source::{ALL_VALUES, IndexSource, PostingsRef, ValueRange};
pub use writer::write_index;

/// The day number of a millisecond timestamp: days since 1970-01-01 UTC.
pub fn day_of(t_ms: i64) -> u32 {
    let day = t_ms.div_euclid(86_400_000);
    day.clamp(0, i64::from(u32::MAX)) as u32
}
