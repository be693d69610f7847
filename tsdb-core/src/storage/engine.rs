//! The engine's operations on [`Inner`]: open, commit, flush, merge, delete, stats.

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

use parking_lot::{Mutex, RwLock};
use roaring::RoaringBitmap;

use super::calendar::{day_of, month_of, parse_month_name};
use super::catalog::Catalog;
use super::merge::MergeRules;
use super::part::{Part, RowsPart};
use super::partition::{Ctx, Partition};
use super::registry::Registry;
use super::row::{Row, decode_commit, encode_commit};
use super::{Counters, Inner, Options, Stats, tombstones};
use crate::error::{Error, Result};
use crate::fs::{self, DirLock};
use crate::model::{Matcher, TimeRange};
use crate::wal::{Wal, WalOptions};

/// Bytes of memory per raw-key cache entry, for sizing the cache from the memory budget
/// (key ~100 bytes, id, two hash-table slots and allocation overhead).
const CACHE_ENTRY_BYTES: u64 = 200;

pub(crate) fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as i64)
}

impl Inner {
    /// Opens the data directory (see [`super::Storage::open`]).
    pub(crate) fn open(path: &Path, opts: Options) -> Result<Inner> {
        fs::create_dir_all_synced(path)?;
        let lock = DirLock::acquire(path)?;
        let cache_entries = (opts.memory_budget / 4 / CACHE_ENTRY_BYTES).max(16 * 1024) as usize;
        let registry = Registry::new(cache_entries);
        let catalog = Catalog::open(&path.join("series"), &registry)?;
        let deleted = tombstones::load(path)?;
        registry.forget(deleted.iter());
        let wal = Wal::open(
            &path.join("wal"),
            WalOptions {
                fsync: opts.fsync,
                ..WalOptions::default()
            },
        )?;
        let parts_root = path.join("partitions");
        fs::create_dir_all_synced(&parts_root)?;
        let retention_ms = i64::try_from(opts.retention.as_millis()).unwrap_or(i64::MAX);
        let mut partitions = BTreeMap::new();
        let mut max_file = 0;
        for e in
            std::fs::read_dir(&parts_root).map_err(|e| Error::io("read dir", &parts_root, e))?
        {
            let e = e.map_err(|e| Error::io("read dir", &parts_root, e))?;
            let Some(month) = e.file_name().to_str().and_then(parse_month_name) else {
                continue;
            };
            let (p, mf) = Partition::open(&parts_root, month)?;
            max_file = max_file.max(mf);
            partitions.insert(month, Arc::new(p));
        }
        let shards = opts.shards.max(1);
        let inner = Inner {
            path: path.to_path_buf(),
            dedup_ms: i64::try_from(opts.dedup_interval.as_millis()).unwrap_or(i64::MAX),
            retention_ms,
            opts,
            lock: Mutex::new(Some(lock)),
            wal,
            registry,
            catalog: Mutex::new(catalog),
            partitions: RwLock::new(partitions),
            shards: (0..shards).map(|_| Mutex::new(Vec::new())).collect(),
            commit_lock: RwLock::new(()),
            view_lock: RwLock::new(()),
            flush_lock: Mutex::new(()),
            file_removal: RwLock::new(()),
            deleted: RwLock::new(deleted),
            next_file: AtomicU64::new(max_file + 1),
            next_shard: AtomicUsize::new(0),
            counters: Counters::default(),
            closed: AtomicBool::new(false),
            dirty: AtomicBool::new(false),
            background: Mutex::new(None),
        };
        inner.drop_old_partitions()?;
        inner.replay_wal()?;
        Ok(inner)
    }

    fn replay_wal(&self) -> Result<()> {
        let mut rows = Vec::new();
        let stats = self.wal.replay(|seq, payload| {
            let r = decode_commit(
                payload,
                |sid, labels| self.registry.insert_known(sid, &labels.to_bytes()),
                |row| rows.push(row),
            );
            if let Err(e) = r {
                log::warn!(
                    "write-ahead log segment {seq:016x}: skipping an undecodable record: {e}"
                );
            }
            Ok(())
        })?;
        if stats.records > 0 {
            log::info!(
                "replayed {} rows from {} write-ahead log records in {} segments",
                rows.len(),
                stats.records,
                stats.segments
            );
        }
        let min_t = self.min_timestamp();
        let registry = &self.registry;
        rows.retain(|r| {
            let known = registry.labels(r.sid).is_some();
            if !known {
                log::warn!(
                    "write-ahead log row of unknown series id {}; dropped",
                    r.sid
                );
            }
            known && r.t >= min_t
        });
        self.register(&rows);
        if stats.records > 0 {
            self.dirty.store(true, Ordering::Release);
        }
        for chunk in rows.chunks(self.opts.shard_rows.max(1)) {
            for (p, raw) in self.add_rows_to_partitions(chunk.to_vec()) {
                p.encode_rows(&raw)?;
            }
        }
        Ok(())
    }

    /// Oldest timestamp kept: now minus retention.
    pub(crate) fn min_timestamp(&self) -> i64 {
        now_ms().saturating_sub(self.retention_ms)
    }

    /// The partition of `month`, created when missing.
    pub(crate) fn partition(&self, month: i32) -> Result<Arc<Partition>> {
        if let Some(p) = self.partitions.read().get(&month) {
            return Ok(p.clone());
        }
        let mut map = self.partitions.write();
        if let Some(p) = map.get(&month) {
            return Ok(p.clone());
        }
        let (p, _) = Partition::open(&self.path.join("partitions"), month)?;
        let p = Arc::new(p);
        map.insert(month, p.clone());
        Ok(p)
    }

    /// Partitions overlapping `range`.
    pub(crate) fn partitions_in(&self, range: TimeRange) -> Vec<Arc<Partition>> {
        self.partitions
            .read()
            .values()
            .filter(|p| range.overlaps(p.range.0, p.range.1))
            .cloned()
            .collect()
    }

    fn all_partitions(&self) -> Vec<Arc<Partition>> {
        self.partitions.read().values().cloned().collect()
    }

    /// Registers the (day, series) pairs of `rows` in their partitions' indexes.
    pub(crate) fn register(&self, rows: &[Row]) {
        let mut by_month: BTreeMap<i32, Vec<(u32, u32)>> = BTreeMap::new();
        let mut last: Option<(u32, i32)> = None;
        for r in rows {
            let day = day_of(r.t);
            let month = match last {
                Some((d, m)) if d == day => m,
                _ => month_of(r.t),
            };
            last = Some((day, month));
            by_month.entry(month).or_default().push((day, r.sid));
        }
        for (month, mut pairs) in by_month {
            pairs.sort_unstable();
            pairs.dedup();
            match self.partition(month) {
                Ok(p) => p.register(&pairs, &self.registry),
                Err(e) => log::error!("cannot open partition for month {month}: {e}"),
            }
        }
    }

    /// Turns rows into raw in-memory parts of their partitions and returns them. Caller
    /// holds `view_lock` exclusively if the rows were visible elsewhere.
    fn add_rows_to_partitions(&self, rows: Vec<Row>) -> Vec<(Arc<Partition>, Arc<RowsPart>)> {
        let mut by_month: BTreeMap<i32, Vec<Row>> = BTreeMap::new();
        for r in rows {
            by_month.entry(month_of(r.t)).or_default().push(r);
        }
        let mut out = Vec::new();
        for (month, rows) in by_month {
            match self.partition(month) {
                Ok(p) => {
                    let r = p.add_rows(rows);
                    out.push((p, r));
                }
                Err(e) => log::error!(
                    "cannot open partition for month {month}: {e}; {} rows dropped",
                    rows.len()
                ),
            }
        }
        out
    }

    /// Moves the buffer of shard `i` into raw in-memory parts and returns them.
    pub(crate) fn move_shard(&self, i: usize) -> Vec<(Arc<Partition>, Arc<RowsPart>)> {
        let _v = self.view_lock.write();
        let rows = std::mem::take(&mut *self.shards[i].lock());
        if rows.is_empty() {
            return Vec::new();
        }
        self.add_rows_to_partitions(rows)
    }

    /// Moves shard `i` into in-memory parts and encodes them outside the view lock:
    /// buffered rows then cost a few bytes each instead of 24.
    fn move_and_encode_shard(&self, i: usize) {
        for (p, raw) in self.move_shard(i) {
            if let Err(e) = p.encode_rows(&raw) {
                log::error!(
                    "cannot encode an in-memory part: {e}; it stays raw until the next flush"
                );
            }
        }
    }

    /// Commits `rows` whose new series are already registered: logs them (with the labels
    /// of series not yet durable), indexes them and buffers them.
    pub(crate) fn commit(
        &self,
        rows: &mut Vec<Row>,
        shard: usize,
        payload: &mut Vec<u8>,
    ) -> Result<()> {
        if self.closed.load(Ordering::Acquire) {
            return Err(Error::Closed);
        }
        let min_t = self.min_timestamp();
        let before = rows.len();
        rows.retain(|r| r.t >= min_t);
        let too_old = before - rows.len();
        if too_old > 0 {
            self.counters
                .rows_too_old
                .fetch_add(too_old as u64, Ordering::Relaxed);
        }
        if rows.is_empty() {
            return Ok(());
        }
        let mut new_ids: Vec<u32> = rows
            .iter()
            .map(|r| r.sid)
            .filter(|&s| self.registry.needs_logging(s))
            .collect();
        new_ids.sort_unstable();
        new_ids.dedup();
        let encs: Vec<(u32, Vec<u8>)> = new_ids
            .iter()
            .filter_map(|&id| self.registry.encoded(id).map(|e| (id, e)))
            .collect();
        let refs: Vec<(u32, &[u8])> = encs.iter().map(|(i, e)| (*i, e.as_slice())).collect();
        payload.clear();
        encode_commit(&refs, rows, payload);
        let full = {
            let _c = self.commit_lock.read();
            self.wal.append(payload)?;
            self.dirty.store(true, Ordering::Release);
            self.register(rows);
            let mut s = self.shards[shard].lock();
            s.extend_from_slice(rows);
            s.len() >= self.opts.shard_rows.max(1)
        };
        if full {
            self.move_and_encode_shard(shard);
        }
        self.counters
            .rows_ingested
            .fetch_add(rows.len() as u64, Ordering::Relaxed);
        rows.clear();
        Ok(())
    }

    fn ctx<'a>(
        &'a self,
        deleted: &'a RoaringBitmap,
        name: &'a (dyn Fn(&str) -> String + Sync),
    ) -> Ctx<'a> {
        Ctx {
            new_file_name: name,
            rules: MergeRules {
                deleted,
                min_t: self.min_timestamp(),
                dedup_ms: self.dedup_ms,
            },
            file_removal: &self.file_removal,
        }
    }

    fn file_namer(&self) -> impl Fn(&str) -> String + Sync + '_ {
        move |ext: &str| {
            format!(
                "{:016x}.{ext}",
                self.next_file.fetch_add(1, Ordering::Relaxed)
            )
        }
    }

    /// Writes everything committed to disk and truncates the WAL.
    pub(crate) fn flush(&self) -> Result<()> {
        let _f = self.flush_lock.lock();
        if self.closed.load(Ordering::Acquire) {
            return Err(Error::Closed);
        }
        let seq = {
            let _c = self.commit_lock.write();
            if !self.dirty.swap(false, Ordering::AcqRel) {
                return Ok(());
            }
            let seq = self.wal.rotate()?;
            for i in 0..self.shards.len() {
                self.move_shard(i);
            }
            seq
        };
        let r = self.persist_cut(seq);
        if r.is_err() {
            // Nothing is lost (the WAL still holds it); the next flush retries.
            self.dirty.store(true, Ordering::Release);
        }
        r
    }

    /// Persists everything committed before WAL segment `seq`, then drops those segments.
    fn persist_cut(&self, seq: u64) -> Result<()> {
        let up_to = self.registry.next_id();
        self.catalog.lock().persist(&self.registry, up_to)?;
        self.registry.set_durable_below(up_to);
        let deleted = self.deleted.read().clone();
        let namer = self.file_namer();
        let ctx = self.ctx(&deleted, &namer);
        for p in self.all_partitions() {
            p.flush(&ctx)?;
        }
        self.wal.remove_segments_before(seq)?;
        self.counters.flushes.fetch_add(1, Ordering::Relaxed);
        Ok(())
    }

    /// Runs merges in partitions whose name starts with `prefix`: all parts into one when
    /// `force`, else whatever the policy picks. Returns how many merges ran.
    pub(crate) fn merge(&self, prefix: &str, force: bool) -> Result<usize> {
        let deleted = self.deleted.read().clone();
        let namer = self.file_namer();
        let ctx = self.ctx(&deleted, &namer);
        let mut n = 0;
        for p in self.all_partitions() {
            if !p.name.starts_with(prefix) {
                continue;
            }
            loop {
                self.counters.active_merges.fetch_add(1, Ordering::Relaxed);
                let r = p.merge(&ctx, force);
                self.counters.active_merges.fetch_sub(1, Ordering::Relaxed);
                let Some((o, _)) = r? else { break };
                n += 1;
                let kind = if o.rows_out >= super::part::BIG_PART_ROWS {
                    &self.counters.big_merges
                } else {
                    &self.counters.small_merges
                };
                kind.fetch_add(1, Ordering::Relaxed);
                self.counters
                    .deleted_purged
                    .fetch_add(o.deleted_rows, Ordering::Relaxed);
                let dropped = o.rows_in - o.rows_out - o.deleted_rows;
                self.counters
                    .dedup_removed
                    .fetch_add(dropped, Ordering::Relaxed);
                if force {
                    break;
                }
            }
        }
        Ok(n)
    }

    /// Removes partitions entirely older than the retention period.
    pub(crate) fn drop_old_partitions(&self) -> Result<()> {
        let min_t = self.min_timestamp();
        let old: Vec<Arc<Partition>> = self
            .partitions
            .read()
            .values()
            .filter(|p| p.range.1 < min_t)
            .cloned()
            .collect();
        for p in old {
            log::info!(
                "partition {} is past the retention period; removing it",
                p.name
            );
            {
                let _v = self.view_lock.write();
                self.partitions.write().remove(&p.month);
            }
            let _g = self.file_removal.read();
            fs::remove_dir_all_synced(&p.dir)?;
        }
        Ok(())
    }

    /// Deletes the series matching `matchers`.
    pub(crate) fn delete_series(&self, matchers: &[Matcher]) -> Result<u64> {
        let mut ids = RoaringBitmap::new();
        for (_, p_ids) in self.matching_ids(matchers, TimeRange::ALL) {
            ids |= p_ids;
        }
        if ids.is_empty() {
            return Ok(0);
        }
        let mut d = self.deleted.write();
        *d |= &ids;
        tombstones::store(&self.path, &d)?;
        drop(d);
        self.registry.forget(ids.iter());
        Ok(ids.len())
    }

    /// Current counters and gauges.
    pub(crate) fn stats(&self) -> Stats {
        let c = &self.counters;
        let ld = |a: &AtomicU64| a.load(Ordering::Relaxed);
        let (cache_entries, cache_cap) = self.registry.cache_size();
        let mut s = Stats {
            rows_ingested_total: ld(&c.rows_ingested),
            rows_too_old_total: ld(&c.rows_too_old),
            pending_rows: self.shards.iter().map(|s| s.lock().len() as u64).sum(),
            new_series_total: ld(&self.registry.counters.created),
            series: self.registry.len() as u64,
            inmemory_merges_total: ld(&c.flushes),
            small_merges_total: ld(&c.small_merges),
            big_merges_total: ld(&c.big_merges),
            active_merges: ld(&c.active_merges),
            dedup_rows_removed_total: ld(&c.dedup_removed),
            deleted_rows_purged_total: ld(&c.deleted_purged),
            deleted_series: self.deleted.read().len(),
            wal_bytes: self.wal.size_bytes(),
            series_cache_hits_total: ld(&self.registry.counters.hits),
            series_cache_misses_total: ld(&self.registry.counters.misses),
            series_cache_entries: cache_entries as u64,
            series_cache_capacity: cache_cap as u64,
            selects_total: ld(&c.selects),
            snapshots: self.list_snapshots().map_or(0, |v| v.len() as u64),
            ..Stats::default()
        };
        let today = day_of(super::engine::now_ms());
        let parts = self.all_partitions();
        s.partitions = parts.len() as u64;
        let (mut min_t, mut max_t) = (i64::MAX, i64::MIN);
        for p in &parts {
            let st = p.state.read();
            if let Some(b) = st.days.get(&today) {
                s.active_series += b.len();
            }
            for part in &st.parts {
                match part {
                    Part::Rows(r) => {
                        s.inmemory_parts += 1;
                        s.inmemory_rows += r.rows.len() as u64;
                        min_t = min_t.min(r.min_t);
                        max_t = max_t.max(r.max_t);
                    }
                    Part::Mem(m) => {
                        let i = m.info();
                        s.inmemory_parts += 1;
                        s.inmemory_rows += i.rows;
                        s.inmemory_blocks += i.blocks;
                        min_t = min_t.min(i.min_t);
                        max_t = max_t.max(i.max_t);
                    }
                    Part::File(f) => {
                        let i = f.part.info();
                        let (n, rows, blocks) = if f.is_big() {
                            (&mut s.big_parts, &mut s.big_rows, &mut s.big_blocks)
                        } else {
                            (&mut s.small_parts, &mut s.small_rows, &mut s.small_blocks)
                        };
                        *n += 1;
                        *rows += i.rows;
                        *blocks += i.blocks;
                        s.data_bytes += f.part.size_bytes();
                        if i.rows > 0 {
                            min_t = min_t.min(i.min_t);
                            max_t = max_t.max(i.max_t);
                        }
                    }
                }
            }
            s.index_bytes += st
                .index_files
                .iter()
                .map(|e| e.file.size_bytes())
                .sum::<u64>();
        }
        if min_t <= max_t {
            s.min_timestamp = min_t;
            s.max_timestamp = max_t;
        }
        s
    }
}

/// Number of the shard an appender writes to (round robin).
pub(crate) fn pick_shard(inner: &Inner) -> usize {
    inner.next_shard.fetch_add(1, Ordering::Relaxed) % inner.shards.len()
}
