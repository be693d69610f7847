//! [`IndexFile`]: an immutable, memory-mapped index file written by
//! [`write_index`](super::write_index).

use std::fs::File;
use std::ops::{Bound, ControlFlow, Deref, Range, RangeInclusive};
use std::path::{Path, PathBuf};

use memmap2::Mmap;
use roaring::RoaringBitmap;

use super::bitmap_codec;
use super::format::{FOOTER_LEN, Footer, HEADER_LEN, Reader};
use super::source::{IndexSource, PostingsRef, ValueRange};
use crate::error::{Error, Result};

/// The bytes of a file: mapped, or read into memory (tests, fuzzing, tiny files).
enum Data {
    Mapped(Mmap),
    Heap(Vec<u8>),
}

impl Deref for Data {
    type Target = [u8];
    fn deref(&self) -> &[u8] {
        match self {
            Data::Mapped(m) => m,
            Data::Heap(v) => v,
        }
    }
}

/// Called per key-block entry with the value, its postings' byte range and the entry's
/// offset.
type EntryVisitor<'v> = dyn FnMut(&str, Range<usize>, usize) -> Result<ControlFlow<()>> + 'v;

/// One label name: its blocks in the block index.
#[derive(Debug)]
struct NameEntry {
    name: Box<str>,
    blocks: Range<usize>,
}

/// One day: its bitmap's byte range.
#[derive(Debug)]
struct DayEntry {
    day: u32,
    bitmap: Range<usize>,
}

/// An immutable index file, memory-mapped and fully validated when opened.
///
/// The name and day tables and the all-series bitmap are decoded at open; label values
/// and postings are read from the map on demand.
pub struct IndexFile {
    path: PathBuf,
    data: Data,
    /// Bitmap section of postings and days: `[HEADER_LEN + all_len, keys_off)`.
    postings: Range<usize>,
    /// Key blocks: `[keys_off, block_index_off)`.
    keys: Range<usize>,
    block_index_off: usize,
    n_blocks: usize,
    names: Vec<NameEntry>,
    days: Vec<DayEntry>,
    all: RoaringBitmap,
}

impl IndexFile {
    /// Maps and validates the index file at `path`.
    ///
    /// Validation reads the whole file once: the crc32 of the footer, then every table,
    /// key block and bitmap, so that later reads cannot fail.
    ///
    /// # Errors
    /// [`Error::Io`] when the file cannot be opened or mapped; [`Error::Corrupt`] (with
    /// the offset and the structure) when its bytes are not a valid index file: wrong
    /// magic or version, checksum mismatch, truncation, out-of-range offsets, unsorted
    /// keys, malformed bitmaps.
    pub fn open(path: impl AsRef<Path>) -> Result<IndexFile> {
        let path = path.as_ref();
        let file = File::open(path).map_err(|e| Error::io("open", path, e))?;
        let len = file
            .metadata()
            .map_err(|e| Error::io("stat", path, e))?
            .len();
        if len < (HEADER_LEN + FOOTER_LEN) as u64 {
            return Err(Error::corrupt(
                path,
                0,
                "index footer",
                format!("file of {len} bytes is too short"),
            ));
        }
        // SAFETY: index files are immutable once renamed into place (written to a
        // temporary name, then renamed) and are only deleted, never modified, while
        // mapped; an external writer truncating the file would be outside that contract.
        let map = unsafe { Mmap::map(&file) }.map_err(|e| Error::io("mmap", path, e))?;
        Self::parse(path.to_path_buf(), Data::Mapped(map))
    }

    /// Validates an index file held in memory; `path` only names it in errors.
    ///
    /// # Errors
    /// [`Error::Corrupt`] as for [`IndexFile::open`].
    pub fn from_bytes(path: impl Into<PathBuf>, bytes: Vec<u8>) -> Result<IndexFile> {
        Self::parse(path.into(), Data::Heap(bytes))
    }

    /// The file's path.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Size of the file in bytes.
    pub fn size_bytes(&self) -> u64 {
        self.data.len() as u64
    }

    /// Number of series in the file.
    pub fn len(&self) -> usize {
        self.all.len() as usize
    }

    /// True when the file holds no series.
    pub fn is_empty(&self) -> bool {
        self.all.is_empty()
    }

    fn parse(path: PathBuf, data: Data) -> Result<IndexFile> {
        let f = Footer::decode(&path, &data)?;
        let all_range = HEADER_LEN..HEADER_LEN + f.all_len as usize;
        check_bitmap(&path, &data, all_range.clone(), "all-series bitmap")?;
        let all = bitmap_codec::decode_validated(&data[all_range.clone()]);
        let footer_off = data.len() - FOOTER_LEN;
        let mut file = IndexFile {
            postings: all_range.end..f.keys_off as usize,
            keys: f.keys_off as usize..f.block_index_off as usize,
            block_index_off: f.block_index_off as usize,
            n_blocks: (f.names_off - f.block_index_off) as usize / 8,
            names: Vec::new(),
            days: Vec::new(),
            all,
            path,
            data,
        };
        file.check_block_index()?;
        file.names = file.read_names(f.names_off as usize, f.days_off as usize, file.n_blocks)?;
        file.days = file.read_days(f.days_off as usize, footer_off)?;
        for i in 0..file.names.len() {
            file.check_name_blocks(i)?;
        }
        Ok(file)
    }

    fn block_start(&self, i: usize) -> Result<usize> {
        let at = self.block_index_off + 8 * i;
        let mut r = Reader::section(&self.path, &self.data, at, at + 8, "block index");
        Ok(r.u64()? as usize)
    }

    fn block_range(&self, i: usize) -> Result<Range<usize>> {
        let start = self.block_start(i)?;
        let end = if i + 1 < self.n_blocks {
            self.block_start(i + 1)?
        } else {
            self.keys.end
        };
        Ok(start..end)
    }

    fn check_block_index(&self) -> Result<()> {
        let mut prev = None;
        for i in 0..self.n_blocks {
            let off = self.block_start(i)?;
            let ok = match prev {
                None => off == self.keys.start,
                Some(p) => off > p,
            };
            if !ok || off >= self.keys.end {
                return Err(Error::corrupt(
                    &self.path,
                    (self.block_index_off + 8 * i) as u64,
                    "block index",
                    format!(
                        "block {i} at {off}: outside {:?} or not increasing",
                        self.keys
                    ),
                ));
            }
            prev = Some(off);
        }
        if self.n_blocks == 0 && !self.keys.is_empty() {
            return Err(Error::corrupt(
                &self.path,
                self.keys.start as u64,
                "key blocks",
                "key bytes without blocks",
            ));
        }
        Ok(())
    }

    fn read_names(&self, start: usize, end: usize, n_blocks: usize) -> Result<Vec<NameEntry>> {
        let mut r = Reader::section(&self.path, &self.data, start, end, "name table");
        let count = r.len_at_most(end - start, "name count")?;
        let mut names: Vec<NameEntry> = Vec::with_capacity(count);
        let mut next_block = 0usize;
        for _ in 0..count {
            let at = r.pos();
            let name = r.str()?;
            let blocks = r.len_at_most(n_blocks - next_block, "block count")?;
            if blocks == 0 || names.last().is_some_and(|p| *p.name >= *name) {
                return Err(r.error(at, format!("name {name:?} out of order or without blocks")));
            }
            names.push(NameEntry {
                name: name.into(),
                blocks: next_block..next_block + blocks,
            });
            next_block += blocks;
        }
        if next_block != n_blocks || !r.at_end() {
            return Err(r.error(
                r.pos(),
                format!("names cover {next_block} of {n_blocks} blocks"),
            ));
        }
        Ok(names)
    }

    fn read_days(&self, start: usize, end: usize) -> Result<Vec<DayEntry>> {
        let mut r = Reader::section(&self.path, &self.data, start, end, "day table");
        let count = r.len_at_most(end - start, "day count")?;
        let mut days: Vec<DayEntry> = Vec::with_capacity(count);
        for _ in 0..count {
            let at = r.pos();
            let day = r.len_at_most(u32::MAX as usize, "day")? as u32;
            let off = r.len_at_most(self.postings.end, "day bitmap offset")?;
            let len = r.len_at_most(self.postings.end - off, "day bitmap length")?;
            if off < self.postings.start || days.last().is_some_and(|p| p.day >= day) {
                return Err(r.error(
                    at,
                    format!("day {day} out of order or bitmap at {off} outside the bitmaps"),
                ));
            }
            check_bitmap(&self.path, &self.data, off..off + len, "day bitmap")?;
            days.push(DayEntry {
                day,
                bitmap: off..off + len,
            });
        }
        if !r.at_end() {
            return Err(r.error(r.pos(), "trailing bytes"));
        }
        Ok(days)
    }

    /// Validates every block of name `i`: values non-empty and strictly increasing,
    /// postings inside the bitmap section and well formed.
    fn check_name_blocks(&self, i: usize) -> Result<()> {
        let mut prev = String::new();
        for b in self.names[i].blocks.clone() {
            let _always_continues = self.decode_block(b, &mut |value, postings, at| {
                if value.is_empty() || *value <= *prev {
                    return Err(Error::corrupt(
                        &self.path,
                        at as u64,
                        "key block",
                        format!("value {value:?} empty or not after {prev:?}"),
                    ));
                }
                check_bitmap(&self.path, &self.data, postings, "postings")?;
                value.clone_into(&mut prev);
                Ok(ControlFlow::Continue(()))
            })?;
        }
        Ok(())
    }

    /// Decodes key block `b`, calling `visit(value, postings, entry offset)` per entry.
    /// A fully visited block must be consumed exactly.
    fn decode_block(&self, b: usize, visit: &mut EntryVisitor<'_>) -> Result<ControlFlow<()>> {
        let range = self.block_range(b)?;
        let mut r = Reader::section(&self.path, &self.data, range.start, range.end, "key block");
        let count = r.len_at_most(range.len(), "entry count")?;
        let mut off = r.len_at_most(self.postings.end, "postings base")?;
        if count == 0 || off < self.postings.start {
            return Err(r.error(range.start, format!("{count} entries, postings base {off}")));
        }
        let mut value = String::new();
        for k in 0..count {
            let at = r.pos();
            let shared = r.len_at_most(value.len(), "shared prefix")?;
            if (k == 0 && shared != 0) || !value.is_char_boundary(shared) {
                return Err(r.error(at, format!("shared prefix {shared} of {value:?}")));
            }
            value.truncate(shared);
            value.push_str(r.str()?);
            let len = r.len_at_most(self.postings.end - off, "postings length")?;
            if visit(&value, off..off + len, at)?.is_break() {
                return Ok(ControlFlow::Break(()));
            }
            off += len;
        }
        if !r.at_end() {
            return Err(r.error(r.pos(), "trailing bytes after the last entry"));
        }
        Ok(ControlFlow::Continue(()))
    }

    /// The first value of block `b` (stored whole), borrowed from the file.
    fn first_value(&self, b: usize) -> Result<&str> {
        let range = self.block_range(b)?;
        let mut r = Reader::section(&self.path, &self.data, range.start, range.end, "key block");
        r.uvarint()?;
        r.uvarint()?;
        let at = r.pos();
        if r.uvarint()? != 0 {
            return Err(r.error(at, "first entry shares a prefix"));
        }
        r.str()
    }

    /// The block of `blocks` where values `>= x` may start.
    fn seek_block(&self, blocks: Range<usize>, x: &str) -> Result<usize> {
        let (mut lo, mut hi) = (blocks.start, blocks.end);
        while lo < hi {
            let mid = lo + (hi - lo) / 2;
            if self.first_value(mid)? <= x {
                lo = mid + 1;
            } else {
                hi = mid;
            }
        }
        Ok(lo.saturating_sub(1).max(blocks.start))
    }

    fn scan(
        &self,
        name: &str,
        (lo, hi): ValueRange<'_>,
        visit: &mut dyn FnMut(&str, PostingsRef<'_>) -> ControlFlow<()>,
    ) -> Result<()> {
        let Ok(i) = self.names.binary_search_by(|n| (*n.name).cmp(name)) else {
            return Ok(());
        };
        let blocks = self.names[i].blocks.clone();
        let start = match lo {
            Bound::Included(x) | Bound::Excluded(x) => self.seek_block(blocks.clone(), x)?,
            Bound::Unbounded => blocks.start,
        };
        for b in start..blocks.end {
            let flow = self.decode_block(b, &mut |v, postings, _| {
                let below = match lo {
                    Bound::Included(x) => v < x,
                    Bound::Excluded(x) => v <= x,
                    Bound::Unbounded => false,
                };
                let above = match hi {
                    Bound::Included(x) => v > x,
                    Bound::Excluded(x) => v >= x,
                    Bound::Unbounded => false,
                };
                Ok(if below {
                    ControlFlow::Continue(())
                } else if above {
                    ControlFlow::Break(())
                } else {
                    visit(v, PostingsRef::Encoded(&self.data[postings]))
                })
            })?;
            if flow.is_break() {
                break;
            }
        }
        Ok(())
    }
}

impl std::fmt::Debug for IndexFile {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("IndexFile")
            .field("path", &self.path)
            .field("bytes", &self.data.len())
            .field("series", &self.all.len())
            .field("names", &self.names.len())
            .field("days", &self.days.len())
            .finish()
    }
}

fn check_bitmap(path: &Path, data: &[u8], range: Range<usize>, what: &'static str) -> Result<()> {
    let bytes = data.get(range.clone()).ok_or_else(|| {
        Error::corrupt(
            path,
            range.start as u64,
            what,
            format!("bytes {range:?} outside the file"),
        )
    })?;
    bitmap_codec::validate(bytes)
        .map_err(|b| Error::corrupt(path, (range.start + b.offset) as u64, what, b.detail))
}

impl IndexSource for IndexFile {
    fn all_series(&self) -> RoaringBitmap {
        self.all.clone()
    }

    fn label_names(&self) -> Vec<String> {
        self.names.iter().map(|n| n.name.to_string()).collect()
    }

    fn for_each_value(
        &self,
        name: &str,
        range: ValueRange<'_>,
        visit: &mut dyn FnMut(&str, PostingsRef<'_>) -> ControlFlow<()>,
    ) {
        if let Err(e) = self.scan(name, range, visit) {
            log::warn!("index file changed after validation: {e}");
        }
    }

    fn days(&self) -> Vec<u32> {
        self.days.iter().map(|d| d.day).collect()
    }

    fn series_on_days(&self, days: RangeInclusive<u32>) -> RoaringBitmap {
        let from = self.days.partition_point(|d| d.day < *days.start());
        let mut out = RoaringBitmap::new();
        for d in self.days[from..]
            .iter()
            .take_while(|d| d.day <= *days.end())
        {
            out |= bitmap_codec::decode_validated(&self.data[d.bitmap.clone()]);
        }
        out
    }
}
