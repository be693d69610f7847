//! Parts: the immutable units of sample storage (VictoriaMetrics' vocabulary).
//!
//! - in-memory parts ([`RowsPart`]): committed rows not yet written, kept as they came;
//! - file parts ([`FilePart`]): sorted encoded blocks, memory-mapped; "small" or "big" by
//!   size, merged in the background into fewer, larger parts.

mod file;
mod meta;
mod writer;

pub(crate) use file::FilePart;
pub(crate) use meta::BlockMeta;
pub(crate) use writer::PartWriter;

use std::sync::Arc;

use super::row::Row;

/// Rows at or above which a file part counts as "big" (stats and merge policy only):
/// about an hour of a 50k-series workload at 15 s scrapes.
pub(crate) const BIG_PART_ROWS: u64 = 10_000_000;

/// Committed rows not yet in a file part, unsorted.
pub(crate) struct RowsPart {
    pub rows: Vec<Row>,
    pub min_t: i64,
    pub max_t: i64,
    /// Set (under the partition's lock) when a flush takes the part; an encoding made
    /// meanwhile is then dropped instead of replacing it.
    pub flushing: std::sync::atomic::AtomicBool,
}

impl RowsPart {
    pub fn new(rows: Vec<Row>) -> Self {
        let min_t = rows.iter().map(|r| r.t).min().unwrap_or(0);
        let max_t = rows.iter().map(|r| r.t).max().unwrap_or(0);
        RowsPart {
            rows,
            min_t,
            max_t,
            flushing: std::sync::atomic::AtomicBool::new(false),
        }
    }
}

/// A part of a partition.
#[derive(Clone)]
pub(crate) enum Part {
    /// Raw rows in memory, not yet durable except through the WAL.
    Rows(Arc<RowsPart>),
    /// Encoded rows in memory (same layout as a file part, about 20× smaller than raw
    /// rows), not yet durable except through the WAL.
    Mem(Arc<FilePart>),
    /// On disk.
    File(Arc<FilePartEntry>),
}

/// A file part with its identity in the partition's manifest.
pub(crate) struct FilePartEntry {
    /// File name inside the partition's `parts/` directory.
    pub name: String,
    pub part: FilePart,
    /// Set while a merge holds the part as input.
    pub merging: std::sync::atomic::AtomicBool,
}

impl Part {
    /// The encoded part, for in-memory and file parts.
    pub fn encoded(&self) -> Option<&FilePart> {
        match self {
            Part::Rows(_) => None,
            Part::Mem(p) => Some(p),
            Part::File(f) => Some(&f.part),
        }
    }
}

impl FilePartEntry {
    pub fn is_big(&self) -> bool {
        self.part.info().rows >= BIG_PART_ROWS
    }
}
