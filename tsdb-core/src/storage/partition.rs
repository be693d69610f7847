//! A partition: one month of samples — its parts, its label index and its manifest.
//!
//! Directory layout: `partitions/YYYY_MM/{manifest, parts/*.part, index/*.idx}`.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use parking_lot::{Mutex, RwLock};
use roaring::RoaringBitmap;

use super::calendar::{day_of, month_name, month_range};
use super::manifest::{MANIFEST, Manifest};
use super::merge::{MergeOutcome, MergeRules, choose, merge_into};
use super::part::{FilePart, FilePartEntry, Part, PartWriter, RowsPart};
use super::registry::Registry;
use super::row::Row;
use crate::error::{Error, Result};
use crate::fs;
use crate::index::{IndexFile, IndexSource, MemIndex, write_index};

/// Above this many index files a partition merges them into one.
const MAX_INDEX_FILES: usize = 4;

/// An immutable index file of a partition.
pub(crate) struct IndexEntry {
    pub name: String,
    pub file: IndexFile,
}

/// Mutable state of a partition, behind its lock.
pub(crate) struct PartitionState {
    pub parts: Vec<Part>,
    pub mem_index: MemIndex,
    /// Mem indexes being written to files by a flush.
    pub frozen: Vec<Arc<MemIndex>>,
    pub index_files: Vec<Arc<IndexEntry>>,
    /// Every series id in some index source of the partition.
    pub series: RoaringBitmap,
    /// Day → series ids registered for that day.
    pub days: HashMap<u32, RoaringBitmap>,
}

impl PartitionState {
    /// The index sources, for searches.
    pub fn sources(&self) -> Vec<&dyn IndexSource> {
        let mut v: Vec<&dyn IndexSource> = vec![&self.mem_index];
        v.extend(self.frozen.iter().map(|m| &**m as &dyn IndexSource));
        v.extend(self.index_files.iter().map(|e| &e.file as &dyn IndexSource));
        v
    }
}

/// What a partition needs from the storage to flush and merge.
pub(crate) struct Ctx<'a> {
    pub new_file_name: &'a (dyn Fn(&str) -> String + Sync),
    pub rules: MergeRules<'a>,
    /// Held (shared) while obsolete files are deleted, so snapshots see whole sets.
    pub file_removal: &'a RwLock<()>,
}

/// One month.
pub(crate) struct Partition {
    pub month: i32,
    pub name: String,
    pub dir: PathBuf,
    /// `[start, end]` in ms.
    pub range: (i64, i64),
    pub state: RwLock<PartitionState>,
    /// Serializes merges of this partition.
    pub merge_lock: Mutex<()>,
}

impl Partition {
    /// Opens (or creates) the partition of month `month` under `root`. Returns it and the
    /// largest file number it uses.
    pub fn open(root: &Path, month: i32) -> Result<(Partition, u64)> {
        let name = month_name(month);
        let dir = root.join(&name);
        fs::create_dir_all_synced(&dir.join("parts"))?;
        fs::create_dir_all_synced(&dir.join("index"))?;
        let manifest_path = dir.join(MANIFEST);
        let manifest = match std::fs::read(&manifest_path) {
            Ok(b) => match Manifest::decode(&manifest_path, &b) {
                Ok(m) => Some(m),
                Err(e) => {
                    log::warn!("{e}; using every valid file of the partition instead");
                    None
                }
            },
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Some(Manifest::default()),
            Err(e) => return Err(Error::io("read", manifest_path, e)),
        };
        let mut max_file = 0u64;
        let parts_dir = dir.join("parts");
        let index_dir = dir.join("index");
        let mut parts = Vec::new();
        for name in live_files(&parts_dir, ".part", manifest.as_ref().map(|m| &m.parts))? {
            max_file = max_file.max(file_number(&name));
            let path = parts_dir.join(&name);
            match FilePart::open(&path) {
                Ok(part) => parts.push(Part::File(Arc::new(FilePartEntry {
                    name,
                    part,
                    merging: AtomicBool::new(false),
                }))),
                Err(e) => quarantine(&path, &e),
            }
        }
        let mut index_files = Vec::new();
        for name in live_files(&index_dir, ".idx", manifest.as_ref().map(|m| &m.indexes))? {
            max_file = max_file.max(file_number(&name));
            let path = index_dir.join(&name);
            match IndexFile::open(&path) {
                Ok(file) => index_files.push(Arc::new(IndexEntry { name, file })),
                Err(e) => quarantine(&path, &e),
            }
        }
        let range = month_range(month);
        let mut st = PartitionState {
            parts,
            mem_index: MemIndex::new(),
            frozen: Vec::new(),
            index_files,
            series: RoaringBitmap::new(),
            days: HashMap::new(),
        };
        for e in &st.index_files {
            st.series |= e.file.all_series();
        }
        for day in day_of(range.0)..=day_of(range.1) {
            let mut ids = RoaringBitmap::new();
            for e in &st.index_files {
                ids |= e.file.series_on_days(day..=day);
            }
            if !ids.is_empty() {
                st.days.insert(day, ids);
            }
        }
        let p = Partition {
            month,
            name,
            dir,
            range,
            state: RwLock::new(st),
            merge_lock: Mutex::new(()),
        };
        if manifest.is_none() {
            p.write_manifest(&p.state.read())?;
        }
        Ok((p, max_file))
    }

    /// Registers `(day, series id)` pairs (sorted, unique) in the index. Cheap when all
    /// are known already (one shared lock).
    pub fn register(&self, pairs: &[(u32, u32)], registry: &Registry) {
        let new: Vec<(u32, u32)> = {
            let st = self.state.read();
            pairs
                .iter()
                .copied()
                .filter(|(d, s)| !st.days.get(d).is_some_and(|b| b.contains(*s)))
                .collect()
        };
        if new.is_empty() {
            return;
        }
        let mut st = self.state.write();
        let st = &mut *st;
        for (day, sid) in new {
            if !st.days.entry(day).or_default().insert(sid) {
                continue;
            }
            if st.series.insert(sid) {
                match registry.labels(sid) {
                    Some(l) => st.mem_index.add_series(sid, &l),
                    None => log::warn!("series id {sid} has no labels; not indexed"),
                }
            }
            st.mem_index.add_day(day, sid);
        }
    }

    /// Adds raw rows as an in-memory part and returns it.
    pub fn add_rows(&self, rows: Vec<Row>) -> Arc<RowsPart> {
        let r = Arc::new(RowsPart::new(rows));
        self.state.write().parts.push(Part::Rows(r.clone()));
        r
    }

    /// Encodes a raw in-memory part and swaps the encoding in for it (unless a flush took
    /// it meanwhile). Readers see the same samples before and after the swap.
    pub fn encode_rows(&self, raw: &Arc<RowsPart>) -> Result<()> {
        let mut rows = raw.rows.clone();
        rows.sort_unstable_by(|a, b| a.sid.cmp(&b.sid).then(a.t.cmp(&b.t)));
        let mut w = PartWriter::in_memory();
        let keep_all = MergeRules {
            deleted: &RoaringBitmap::new(),
            min_t: i64::MIN,
            dedup_ms: 0,
        };
        merge_into(&mut w, &[], &rows, &keep_all)?;
        drop(rows);
        let part = Arc::new(FilePart::from_vec(
            self.dir.join("in-memory"),
            w.finish_in_memory(),
        )?);
        let mut st = self.state.write();
        if raw.flushing.load(Ordering::Relaxed) {
            return Ok(());
        }
        if let Some(slot) = st
            .parts
            .iter_mut()
            .find(|p| matches!(p, Part::Rows(r) if Arc::ptr_eq(r, raw)))
        {
            *slot = Part::Mem(part);
        }
        Ok(())
    }

    /// Writes the manifest for `st`.
    pub fn write_manifest(&self, st: &PartitionState) -> Result<()> {
        let m = Manifest {
            parts: st
                .parts
                .iter()
                .filter_map(|p| match p {
                    Part::File(f) => Some(f.name.clone()),
                    Part::Rows(_) | Part::Mem(_) => None,
                })
                .collect(),
            indexes: st.index_files.iter().map(|e| e.name.clone()).collect(),
        };
        fs::write_file_atomic(&self.dir.join(MANIFEST), &m.encode())
    }

    /// Writes the in-memory parts and the mem index to files. Returns the rows written.
    pub fn flush(&self, ctx: &Ctx<'_>) -> Result<u64> {
        let (rows_parts, frozen) = {
            let mut st = self.state.write();
            let rows: Vec<Part> = st
                .parts
                .iter()
                .filter(|p| !matches!(p, Part::File(_)))
                .cloned()
                .collect();
            for p in &rows {
                if let Part::Rows(r) = p {
                    r.flushing.store(true, Ordering::Relaxed);
                }
            }
            let frozen = if st.mem_index.is_empty() {
                None
            } else {
                let m = Arc::new(std::mem::replace(&mut st.mem_index, MemIndex::new()));
                st.frozen.push(m.clone());
                Some(m)
            };
            (rows, frozen)
        };
        let mut new_part = None;
        let mut written = 0;
        if !rows_parts.is_empty() {
            let mut rows: Vec<Row> = Vec::new();
            let mut encoded: Vec<&FilePart> = Vec::new();
            for p in &rows_parts {
                match p {
                    Part::Rows(r) => rows.extend_from_slice(&r.rows),
                    Part::Mem(m) => encoded.push(m),
                    Part::File(_) => {}
                }
            }
            rows.sort_unstable_by(|a, b| a.sid.cmp(&b.sid).then(a.t.cmp(&b.t)));
            let name = (ctx.new_file_name)("part");
            let path = self.dir.join("parts").join(&name);
            let mut w = PartWriter::create(&path)?;
            let outcome = merge_into(&mut w, &encoded, &rows, &ctx.rules)?;
            w.finish()?;
            written = outcome.rows_out;
            new_part = Some(Part::File(Arc::new(FilePartEntry {
                name,
                part: FilePart::open(&path)?,
                merging: AtomicBool::new(false),
            })));
        }
        let mut new_index = None;
        if let Some(m) = &frozen {
            let name = (ctx.new_file_name)("idx");
            let path = self.dir.join("index").join(&name);
            write_index(&path, &[&**m as &dyn IndexSource], None)?;
            new_index = Some(Arc::new(IndexEntry {
                name,
                file: IndexFile::open(&path)?,
            }));
        }
        let mut st = self.state.write();
        st.parts.retain(|p| match p {
            Part::Rows(r) => !rows_parts
                .iter()
                .any(|x| matches!(x, Part::Rows(y) if Arc::ptr_eq(y, r))),
            Part::Mem(m) => !rows_parts
                .iter()
                .any(|x| matches!(x, Part::Mem(y) if Arc::ptr_eq(y, m))),
            Part::File(_) => true,
        });
        st.parts.extend(new_part);
        if let Some(m) = &frozen {
            st.frozen.retain(|x| !Arc::ptr_eq(x, m));
        }
        st.index_files.extend(new_index);
        self.write_manifest(&st)?;
        Ok(written)
    }

    /// Runs one merge if the policy (or `force`) asks for one. Returns what it merged.
    pub fn merge(&self, ctx: &Ctx<'_>, force: bool) -> Result<Option<(MergeOutcome, usize)>> {
        let _m = if force {
            self.merge_lock.lock()
        } else {
            match self.merge_lock.try_lock() {
                Some(g) => g,
                None => return Ok(None),
            }
        };
        self.merge_indexes(ctx, force)?;
        let inputs: Vec<Arc<FilePartEntry>> = {
            let st = self.state.read();
            let files: Vec<Arc<FilePartEntry>> = st
                .parts
                .iter()
                .filter_map(|p| match p {
                    Part::File(f) if !f.merging.load(Ordering::Relaxed) => Some(f.clone()),
                    _ => None,
                })
                .collect();
            let rows: Vec<u64> = files.iter().map(|f| f.part.info().rows).collect();
            let purge = force
                && files.len() == 1
                && (ctx.rules.dedup_ms > 0
                    || files[0].part.info().min_t < ctx.rules.min_t
                    || !ctx.rules.deleted.is_empty());
            let chosen = match choose(&rows, force) {
                Some(c) => c.0,
                None if purge => vec![0],
                None => return Ok(None),
            };
            chosen.into_iter().map(|i| files[i].clone()).collect()
        };
        for f in &inputs {
            f.merging.store(true, Ordering::Relaxed);
        }
        let result = self.merge_parts(ctx, &inputs);
        for f in &inputs {
            f.merging.store(false, Ordering::Relaxed);
        }
        result.map(|o| Some((o, inputs.len())))
    }

    fn merge_parts(&self, ctx: &Ctx<'_>, inputs: &[Arc<FilePartEntry>]) -> Result<MergeOutcome> {
        let name = (ctx.new_file_name)("part");
        let path = self.dir.join("parts").join(&name);
        let mut w = PartWriter::create(&path)?;
        let parts: Vec<&FilePart> = inputs.iter().map(|f| &f.part).collect();
        let outcome = merge_into(&mut w, &parts, &[], &ctx.rules)?;
        let info = w.finish()?;
        let output = if info.rows > 0 {
            Some(Part::File(Arc::new(FilePartEntry {
                name,
                part: FilePart::open(&path)?,
                merging: AtomicBool::new(false),
            })))
        } else {
            std::fs::remove_file(&path).map_err(|e| Error::io("remove", &path, e))?;
            None
        };
        {
            let mut st = self.state.write();
            st.parts.retain(|p| match p {
                Part::File(f) => !inputs.iter().any(|x| Arc::ptr_eq(x, f)),
                Part::Rows(_) | Part::Mem(_) => true,
            });
            st.parts.extend(output);
            self.write_manifest(&st)?;
        }
        let _g = ctx.file_removal.read();
        for f in inputs {
            let p = self.dir.join("parts").join(&f.name);
            if let Err(e) = std::fs::remove_file(&p) {
                log::warn!("cannot remove merged part {}: {e}", p.display());
            }
        }
        Ok(outcome)
    }

    fn merge_indexes(&self, ctx: &Ctx<'_>, force: bool) -> Result<()> {
        let inputs: Vec<Arc<IndexEntry>> = {
            let st = self.state.read();
            let purge = force && !ctx.rules.deleted.is_empty() && !st.index_files.is_empty();
            if st.index_files.len() <= MAX_INDEX_FILES
                && !(force && st.index_files.len() > 1)
                && !purge
            {
                return Ok(());
            }
            st.index_files.clone()
        };
        let name = (ctx.new_file_name)("idx");
        let path = self.dir.join("index").join(&name);
        let sources: Vec<&dyn IndexSource> =
            inputs.iter().map(|e| &e.file as &dyn IndexSource).collect();
        write_index(&path, &sources, Some(ctx.rules.deleted))?;
        let merged = Arc::new(IndexEntry {
            name,
            file: IndexFile::open(&path)?,
        });
        {
            let mut st = self.state.write();
            st.index_files
                .retain(|e| !inputs.iter().any(|x| Arc::ptr_eq(x, e)));
            st.index_files.insert(0, merged);
            self.write_manifest(&st)?;
        }
        let _g = ctx.file_removal.read();
        for e in &inputs {
            let p = self.dir.join("index").join(&e.name);
            if let Err(err) = std::fs::remove_file(&p) {
                log::warn!("cannot remove merged index {}: {err}", p.display());
            }
        }
        Ok(())
    }

    /// Live files (relative to the partition dir) and the manifest, for snapshots; the
    /// caller holds the state lock so that the set cannot change while it links them.
    pub fn live_files_locked(&self, st: &PartitionState) -> Vec<PathBuf> {
        let mut v: Vec<PathBuf> = st
            .parts
            .iter()
            .filter_map(|p| match p {
                Part::File(f) => Some(Path::new("parts").join(&f.name)),
                Part::Rows(_) | Part::Mem(_) => None,
            })
            .collect();
        v.extend(
            st.index_files
                .iter()
                .map(|e| Path::new("index").join(&e.name)),
        );
        v.push(PathBuf::from(MANIFEST));
        v
    }
}

/// File number encoded in a `<16 hex digits>.<ext>` name.
fn file_number(name: &str) -> u64 {
    name.split('.')
        .next()
        .and_then(|s| u64::from_str_radix(s, 16).ok())
        .unwrap_or(0)
}

/// The files of `dir` to open: those the manifest lists (when there is one), after
/// removing temp files and orphans; every `*.ext` file when the manifest is unusable.
fn live_files(dir: &Path, ext: &str, listed: Option<&Vec<String>>) -> Result<Vec<String>> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir).map_err(|e| Error::io("read dir", dir, e))? {
        let e = e.map_err(|e| Error::io("read dir", dir, e))?;
        let Ok(name) = e.file_name().into_string() else {
            continue;
        };
        let wanted = name.ends_with(ext) && listed.is_none_or(|l| l.contains(&name));
        if wanted {
            out.push(name);
        } else if name.ends_with(".tmp") || name.ends_with(ext) {
            log::info!("removing orphan {}", e.path().display());
            std::fs::remove_file(e.path()).map_err(|err| Error::io("remove", e.path(), err))?;
        }
    }
    if let Some(l) = listed {
        for n in l {
            if !out.contains(n) {
                log::warn!(
                    "{}: listed in the manifest but missing",
                    dir.join(n).display()
                );
            }
        }
    }
    out.sort();
    Ok(out)
}

/// Moves a damaged file aside so that the storage opens without it.
fn quarantine(path: &Path, e: &Error) {
    let aside = path.with_extension("corrupt");
    log::warn!(
        "{e}; moving {} aside to {}",
        path.display(),
        aside.display()
    );
    if let Err(err) = std::fs::rename(path, &aside) {
        log::warn!("cannot move {} aside: {err}", path.display());
    }
}
