//! [`write_index`]: turns index sources into one immutable index file.

use std::collections::BTreeMap;
use std::fs::{self, File};
use std::io::{BufWriter, Write};
use std::ops::ControlFlow;
use std::path::{Path, PathBuf};

use roaring::RoaringBitmap;

use super::bitmap_codec;
use super::format::{BLOCK_ENTRIES, Footer, MAGIC, VERSION, put_str, put_uvarint};
use super::source::{ALL_VALUES, IndexSource};
use crate::error::{Error, Result};

/// Writes the union of `sources` (minus the series ids in `drop`, when given: deleted
/// series purged at merge) as one index file at `path`, and returns its size in bytes.
///
/// The file is written under a temporary name in the same directory, fsynced, renamed
/// over `path`, and the directory is fsynced: when this returns `Ok`, `path` holds the
/// complete file and survives a crash; before that, `path` is untouched.
///
/// # Errors
/// [`Error::Io`] when creating, writing, syncing or renaming fails; the temporary file is
/// removed then.
pub fn write_index(
    path: &Path,
    sources: &[&dyn IndexSource],
    drop: Option<&RoaringBitmap>,
) -> Result<u64> {
    let tmp = temp_path(path);
    let result = write_file(&tmp, sources, drop).and_then(|n| {
        fs::rename(&tmp, path).map_err(|e| Error::io("rename", &tmp, e))?;
        sync_parent(path)?;
        Ok(n)
    });
    if result.is_err() {
        let _ = fs::remove_file(&tmp);
    }
    result
}

fn temp_path(path: &Path) -> PathBuf {
    let mut name = path.file_name().unwrap_or_default().to_os_string();
    name.push(".tmp");
    path.with_file_name(name)
}

fn sync_parent(path: &Path) -> Result<()> {
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    };
    File::open(dir)
        .and_then(|d| d.sync_all())
        .map_err(|e| Error::io("fsync", dir, e))
}

fn write_file(
    tmp: &Path,
    sources: &[&dyn IndexSource],
    drop: Option<&RoaringBitmap>,
) -> Result<u64> {
    let file = File::create(tmp).map_err(|e| Error::io("create", tmp, e))?;
    let mut out = Out {
        w: BufWriter::with_capacity(1 << 16, file),
        crc: crc32fast::Hasher::new(),
        pos: 0,
        path: tmp,
    };
    let body = Body::build(&mut out, sources, drop)?;
    let n = body.finish(&mut out)?;
    let file = out
        .w
        .into_inner()
        .map_err(|e| Error::io("write", tmp, e.into_error()))?;
    file.sync_all().map_err(|e| Error::io("fsync", tmp, e))?;
    Ok(n)
}

/// The output file: counts bytes and checksums them on the way.
struct Out<'a> {
    w: BufWriter<File>,
    crc: crc32fast::Hasher,
    pos: u64,
    path: &'a Path,
}

impl Out<'_> {
    fn put(&mut self, b: &[u8]) -> Result<()> {
        self.w
            .write_all(b)
            .map_err(|e| Error::io("write", self.path, e))?;
        self.crc.update(b);
        self.pos += b.len() as u64;
        Ok(())
    }
}

/// The sections written after the bitmaps, built while the bitmaps stream out.
#[derive(Default)]
struct Body {
    all_len: u64,
    keys: Vec<u8>,
    block_offsets: Vec<u64>,
    names: Vec<u8>,
    name_count: u64,
    days: Vec<u8>,
    day_count: u64,
}

impl Body {
    fn build(
        out: &mut Out<'_>,
        sources: &[&dyn IndexSource],
        drop: Option<&RoaringBitmap>,
    ) -> Result<Body> {
        let mut body = Body::default();
        let mut header = MAGIC.to_vec();
        header.extend_from_slice(&VERSION.to_le_bytes());
        out.put(&header)?;

        let mut all = RoaringBitmap::new();
        for s in sources {
            all |= s.all_series();
        }
        let mut buf = Vec::new();
        if let Some(d) = drop {
            all -= d;
        }
        body.all_len = put_bitmap(out, &mut buf, &all)?.1;

        for name in merged_names(sources) {
            let values = merged_values(sources, &name, drop);
            body.add_name(out, &mut buf, &name, values)?;
        }
        let mut days = BTreeMap::<u32, RoaringBitmap>::new();
        for s in sources {
            for d in s.days() {
                *days.entry(d).or_default() |= s.series_on_days(d..=d);
            }
        }
        for (day, mut ids) in days {
            if let Some(d) = drop {
                ids -= d;
            }
            if ids.is_empty() {
                continue;
            }
            let (off, len) = put_bitmap(out, &mut buf, &ids)?;
            put_uvarint(&mut body.days, day.into());
            put_uvarint(&mut body.days, off);
            put_uvarint(&mut body.days, len);
            body.day_count += 1;
        }
        Ok(body)
    }

    fn add_name(
        &mut self,
        out: &mut Out<'_>,
        buf: &mut Vec<u8>,
        name: &str,
        values: BTreeMap<String, RoaringBitmap>,
    ) -> Result<()> {
        let mut block = BlockBuilder::default();
        let mut blocks = 0u64;
        for (value, ids) in values {
            if value.is_empty() || ids.is_empty() {
                continue;
            }
            let (off, len) = put_bitmap(out, buf, &ids)?;
            if block.count == BLOCK_ENTRIES {
                self.flush_block(&mut block);
                blocks += 1;
            }
            block.push(&value, off, len);
        }
        if block.count > 0 {
            self.flush_block(&mut block);
            blocks += 1;
        }
        if blocks > 0 {
            put_str(&mut self.names, name);
            put_uvarint(&mut self.names, blocks);
            self.name_count += 1;
        }
        Ok(())
    }

    fn flush_block(&mut self, block: &mut BlockBuilder) {
        self.block_offsets.push(self.keys.len() as u64);
        put_uvarint(&mut self.keys, block.count as u64);
        put_uvarint(&mut self.keys, block.base);
        self.keys.append(&mut block.entries);
        *block = BlockBuilder::default();
    }

    /// Writes the key blocks, block index, name and day tables and the footer.
    fn finish(self, out: &mut Out<'_>) -> Result<u64> {
        let keys_off = out.pos;
        out.put(&self.keys)?;
        let block_index_off = out.pos;
        let mut index = Vec::with_capacity(8 * self.block_offsets.len());
        for off in &self.block_offsets {
            index.extend_from_slice(&(keys_off + off).to_le_bytes());
        }
        out.put(&index)?;
        let names_off = out.pos;
        let mut names = Vec::new();
        put_uvarint(&mut names, self.name_count);
        names.extend_from_slice(&self.names);
        out.put(&names)?;
        let days_off = out.pos;
        let mut days = Vec::new();
        put_uvarint(&mut days, self.day_count);
        days.extend_from_slice(&self.days);
        out.put(&days)?;
        let footer = Footer {
            keys_off,
            block_index_off,
            names_off,
            days_off,
            all_len: self.all_len,
        };
        out.put(&footer.encode_without_crc())?;
        let crc = out.crc.clone().finalize();
        out.put(&crc.to_le_bytes())?;
        out.put(&MAGIC)?;
        Ok(out.pos)
    }
}

/// One key block being built: `count` entries whose postings start at `base`.
#[derive(Default)]
struct BlockBuilder {
    count: usize,
    base: u64,
    prev: String,
    entries: Vec<u8>,
}

impl BlockBuilder {
    fn push(&mut self, value: &str, off: u64, len: u64) {
        if self.count == 0 {
            self.base = off;
            self.prev.clear();
        }
        let shared = shared_prefix(&self.prev, value);
        put_uvarint(&mut self.entries, shared as u64);
        put_str(&mut self.entries, &value[shared..]);
        put_uvarint(&mut self.entries, len);
        value.clone_into(&mut self.prev);
        self.count += 1;
    }
}

/// Length of the longest common prefix of `a` and `b` that ends on a char boundary.
fn shared_prefix(a: &str, b: &str) -> usize {
    let mut n = a.bytes().zip(b.bytes()).take_while(|(x, y)| x == y).count();
    while !b.is_char_boundary(n) {
        n -= 1;
    }
    n
}

/// Writes `ids` as a bitmap and returns its (offset, length).
fn put_bitmap(out: &mut Out<'_>, buf: &mut Vec<u8>, ids: &RoaringBitmap) -> Result<(u64, u64)> {
    buf.clear();
    bitmap_codec::encode(ids, buf);
    let off = out.pos;
    out.put(buf)?;
    Ok((off, buf.len() as u64))
}

fn merged_names(sources: &[&dyn IndexSource]) -> Vec<String> {
    let mut names: Vec<String> = sources.iter().flat_map(|s| s.label_names()).collect();
    names.sort_unstable();
    names.dedup();
    names
}

fn merged_values(
    sources: &[&dyn IndexSource],
    name: &str,
    drop: Option<&RoaringBitmap>,
) -> BTreeMap<String, RoaringBitmap> {
    let mut values = BTreeMap::<String, RoaringBitmap>::new();
    for s in sources {
        s.for_each_value(name, ALL_VALUES, &mut |v, p| {
            match values.get_mut(v) {
                Some(ids) => p.union_into(ids),
                None => {
                    values.insert(v.to_owned(), p.to_bitmap());
                }
            }
            ControlFlow::Continue(())
        });
    }
    if let Some(d) = drop {
        for ids in values.values_mut() {
            *ids -= d;
        }
    }
    values
}
