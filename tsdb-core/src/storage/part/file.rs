//! An immutable part: encoded blocks plus a sorted block index and a footer, in one file
//! (memory-mapped) or one buffer. Layout in `docs/format/part.md`.

use std::fs::File;
use std::path::{Path, PathBuf};

use memmap2::Mmap;

use super::meta::{BLOCK_META_SIZE, BlockMeta};
use crate::encoding;
use crate::error::{Error, Result};

/// Magic bytes at the start of a part's footer.
pub(crate) const PART_MAGIC: &[u8; 8] = b"GNMPART1";
/// Format version written in the footer.
pub(crate) const PART_VERSION: u32 = 1;
/// Size of the footer in bytes.
pub(crate) const FOOTER_SIZE: usize = 64;

/// Summary of a part, from its footer.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct PartInfo {
    pub blocks: u64,
    pub rows: u64,
    pub min_t: i64,
    pub max_t: i64,
}

/// The bytes of a part: a file's memory map, or a heap buffer (in-memory parts).
enum PartBytes {
    Mmap(Mmap),
    Heap(Vec<u8>),
}

impl std::ops::Deref for PartBytes {
    type Target = [u8];
    fn deref(&self) -> &[u8] {
        match self {
            PartBytes::Mmap(m) => m,
            PartBytes::Heap(v) => v,
        }
    }
}

/// A readable immutable part.
pub(crate) struct FilePart {
    path: PathBuf,
    bytes: PartBytes,
    index_offset: usize,
    info: PartInfo,
}

impl FilePart {
    /// Memory-maps and validates the part file at `path`.
    pub fn open(path: &Path) -> Result<FilePart> {
        let file = File::open(path).map_err(|e| Error::io("open", path, e))?;
        // SAFETY: part files are immutable once renamed into place: nothing in this
        // process or another writes to them (they are only ever replaced by new files and
        // unlinked), so the mapped bytes cannot change under us. Reads never trust their
        // content: every offset is checked against the map's length.
        let map = unsafe { Mmap::map(&file) }.map_err(|e| Error::io("mmap", path, e))?;
        Self::validate(path.to_path_buf(), PartBytes::Mmap(map))
    }

    /// A part held in memory (`name` only names it in errors).
    pub fn from_vec(name: PathBuf, bytes: Vec<u8>) -> Result<FilePart> {
        Self::validate(name, PartBytes::Heap(bytes))
    }

    fn validate(path: PathBuf, bytes: PartBytes) -> Result<FilePart> {
        let b: &[u8] = &bytes;
        let corrupt =
            |off: usize, detail: String| Error::corrupt(&path, off as u64, "part footer", detail);
        if b.len() < FOOTER_SIZE {
            return Err(corrupt(
                0,
                format!("{} bytes, shorter than the footer", b.len()),
            ));
        }
        let f = &b[b.len() - FOOTER_SIZE..];
        let foot_off = b.len() - FOOTER_SIZE;
        if &f[0..8] != PART_MAGIC {
            return Err(corrupt(foot_off, "bad magic".into()));
        }
        let crc = u32::from_le_bytes(f[60..64].try_into().expect("4 bytes"));
        if crc32fast::hash(&f[..60]) != crc {
            return Err(corrupt(foot_off, "footer checksum mismatch".into()));
        }
        let u64_at = |i: usize| u64::from_le_bytes(f[i..i + 8].try_into().expect("8 bytes"));
        let version = u32::from_le_bytes(f[8..12].try_into().expect("4 bytes"));
        if version != PART_VERSION {
            return Err(corrupt(foot_off + 8, format!("unknown version {version}")));
        }
        let info = PartInfo {
            blocks: u64_at(16),
            rows: u64_at(24),
            min_t: u64_at(32) as i64,
            max_t: u64_at(40) as i64,
        };
        let index_offset = u64_at(48);
        let index_crc = u32::from_le_bytes(f[56..60].try_into().expect("4 bytes"));
        let index_len = info
            .blocks
            .checked_mul(BLOCK_META_SIZE as u64)
            .filter(|&l| index_offset.checked_add(l) == Some(foot_off as u64))
            .ok_or_else(|| corrupt(foot_off + 16, "block count does not fit the file".into()))?;
        let index_offset = index_offset as usize;
        let index = &b[index_offset..index_offset + index_len as usize];
        if crc32fast::hash(index) != index_crc {
            return Err(Error::corrupt(
                &path,
                index_offset as u64,
                "block index",
                "checksum mismatch",
            ));
        }
        Ok(FilePart {
            path,
            bytes,
            index_offset,
            info,
        })
    }

    /// Footer summary.
    pub fn info(&self) -> PartInfo {
        self.info
    }

    /// Total size in bytes.
    pub fn size_bytes(&self) -> u64 {
        self.bytes[..].len() as u64
    }

    /// Number of blocks.
    pub fn block_count(&self) -> usize {
        self.info.blocks as usize
    }

    /// The `i`-th block's metadata (blocks sorted by series id, then time).
    pub fn meta(&self, i: usize) -> BlockMeta {
        let off = self.index_offset + i * BLOCK_META_SIZE;
        BlockMeta::decode(&self.bytes[off..off + BLOCK_META_SIZE])
            .expect("BUG: block index validated at open")
    }

    /// Index of the first block whose series id is `>= sid`.
    pub fn lower_bound(&self, sid: u32) -> usize {
        let (mut lo, mut hi) = (0usize, self.block_count());
        while lo < hi {
            let mid = (lo + hi) / 2;
            if self.meta(mid).sid < sid {
                lo = mid + 1;
            } else {
                hi = mid;
            }
        }
        lo
    }

    /// Raw payload bytes of a block (timestamps then values), checked against the crc.
    pub fn raw_block(&self, m: &BlockMeta) -> Result<&[u8]> {
        let data = &self.bytes[..self.index_offset];
        let end = usize::try_from(m.end()).unwrap_or(usize::MAX);
        let Some(raw) = data.get(m.offset as usize..end) else {
            return Err(Error::corrupt(
                &self.path,
                m.offset,
                "block",
                "payload past the data section",
            ));
        };
        if crc32fast::hash(raw) != m.crc {
            return Err(Error::corrupt(
                &self.path,
                m.offset,
                "block",
                format!("checksum mismatch (series {})", m.sid),
            ));
        }
        Ok(raw)
    }

    /// Decodes the samples of a block with a time in `range`, appending them to `ts` /
    /// `vs`, or, when the block's timestamps are not in order
    /// (never written so, but not trusted), all of its samples. Only the values of the
    /// samples in range are converted (see [`encoding::decode_values_window`]).
    ///
    /// # Errors
    /// As [`FilePart::decode_block`].
    pub fn decode_block_in(
        &self,
        m: &BlockMeta,
        range: crate::model::TimeRange,
        ts: &mut Vec<i64>,
        vs: &mut Vec<f64>,
    ) -> Result<()> {
        let raw = self.raw_block(m)?;
        let (t_raw, v_raw) = raw.split_at(m.ts_len as usize);
        let n = m.count as usize;
        let wrap = |e: Error| Error::corrupt(&self.path, m.offset, "block", e.to_string());
        let base = ts.len();
        encoding::decode_timestamps(t_raw, n, ts).map_err(wrap)?;
        let new = &ts[base..];
        let window = if new.len() == n && new.is_sorted() {
            new.partition_point(|&t| t < range.start)..new.partition_point(|&t| t <= range.end)
        } else {
            0..n
        };
        ts.truncate(base + window.end);
        ts.drain(base..base + window.start.min(ts.len() - base));
        encoding::decode_values_window(v_raw, n, window, vs).map_err(wrap)?;
        Ok(())
    }

    /// Decodes a block, appending its samples to `ts` / `vs`.
    pub fn decode_block(&self, m: &BlockMeta, ts: &mut Vec<i64>, vs: &mut Vec<f64>) -> Result<()> {
        let raw = self.raw_block(m)?;
        let (t_raw, v_raw) = raw.split_at(m.ts_len as usize);
        let n = m.count as usize;
        let wrap = |e: Error| Error::corrupt(&self.path, m.offset, "block", e.to_string());
        encoding::decode_timestamps(t_raw, n, ts).map_err(wrap)?;
        encoding::decode_values(v_raw, n, vs).map_err(wrap)?;
        Ok(())
    }
}
