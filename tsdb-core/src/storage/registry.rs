//! The series registry: series id ⇄ label set, and the write path's raw-key cache.
//!
//! Ids are dense `u32`s handed out in increasing order and never reused. Label sets are
//! kept in their canonical encoding in one arena (a few bytes per label, no per-series
//! allocation); the lookup map goes from the xxh3 hash of the encoding to the id.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};

use parking_lot::{Mutex, RwLock};
use xxhash_rust::xxh3::{Xxh3Builder, xxh3_64};

use crate::model::Labels;

/// Number of independently locked shards of the raw-key cache; a power of two larger than
/// the core counts we run on keeps lock contention negligible.
const CACHE_SHARDS: usize = 16;

#[derive(Default)]
struct Table {
    /// `arena[spans[id].0 ..][.. spans[id].1]` is the encoding of series `id`.
    arena: Vec<u8>,
    spans: Vec<(u64, u32)>,
    /// Hash of the encoding → ids with that hash (almost always one).
    by_hash: HashMap<u64, Vec<u32>, Xxh3Builder>,
}

impl Table {
    fn bytes(&self, id: u32) -> Option<&[u8]> {
        let &(off, len) = self.spans.get(id as usize)?;
        if len == 0 && off == u64::MAX {
            return None;
        }
        Some(&self.arena[off as usize..off as usize + len as usize])
    }

    fn find(&self, hash: u64, enc: &[u8]) -> Option<u32> {
        self.by_hash
            .get(&hash)?
            .iter()
            .copied()
            .find(|&id| self.bytes(id) == Some(enc))
    }

    fn insert(&mut self, id: u32, hash: u64, enc: &[u8]) {
        let idx = id as usize;
        if self.spans.len() <= idx {
            self.spans.resize(idx + 1, (u64::MAX, 0));
        }
        self.spans[idx] = (self.arena.len() as u64, enc.len() as u32);
        self.arena.extend_from_slice(enc);
        self.by_hash.entry(hash).or_default().push(id);
    }
}

/// Two-generation bounded map from raw keys to series ids: lookups hit the current
/// generation, then the previous one (promoting the entry); when the current generation
/// is full it becomes the previous one and a new one starts. Memory stays bounded and the
/// working set stays cached.
struct RawCache {
    shards: Vec<Mutex<CacheShard>>,
    shard_capacity: usize,
}

#[derive(Default)]
struct CacheShard {
    cur: HashMap<Box<[u8]>, u32, Xxh3Builder>,
    prev: HashMap<Box<[u8]>, u32, Xxh3Builder>,
}

impl RawCache {
    fn new(capacity: usize) -> Self {
        RawCache {
            shards: (0..CACHE_SHARDS).map(|_| Mutex::default()).collect(),
            shard_capacity: (capacity / CACHE_SHARDS).max(1024),
        }
    }

    fn shard(&self, key: &[u8]) -> &Mutex<CacheShard> {
        &self.shards[(xxh3_64(key) as usize) % CACHE_SHARDS]
    }

    fn get(&self, key: &[u8]) -> Option<u32> {
        let mut s = self.shard(key).lock();
        if let Some(&id) = s.cur.get(key) {
            return Some(id);
        }
        let id = s.prev.remove(key)?;
        self.put_locked(&mut s, key, id);
        Some(id)
    }

    fn put(&self, key: &[u8], id: u32) {
        let mut s = self.shard(key).lock();
        self.put_locked(&mut s, key, id);
    }

    fn put_locked(&self, s: &mut CacheShard, key: &[u8], id: u32) {
        if s.cur.len() >= self.shard_capacity {
            s.prev = std::mem::take(&mut s.cur);
        }
        s.cur.insert(key.into(), id);
    }

    fn clear(&self) {
        for s in &self.shards {
            let mut s = s.lock();
            s.cur.clear();
            s.prev.clear();
        }
    }

    fn len(&self) -> usize {
        self.shards
            .iter()
            .map(|s| {
                let s = s.lock();
                s.cur.len() + s.prev.len()
            })
            .sum()
    }
}

/// Counters of the registry.
#[derive(Default)]
pub(crate) struct RegistryCounters {
    pub hits: AtomicU64,
    pub misses: AtomicU64,
    pub created: AtomicU64,
}

/// Series ids and their labels.
pub(crate) struct Registry {
    table: RwLock<Table>,
    next_id: AtomicU32,
    /// Ids below this are durable in the catalog; commits log the labels of ids at or above.
    durable_below: AtomicU32,
    cache: RawCache,
    pub counters: RegistryCounters,
}

/// Prefix of raw-cache keys made from canonical encodings, so that they never collide with
/// caller-chosen raw keys (which get [`RAW_KEY`]).
const CANONICAL_KEY: u8 = 0;
const RAW_KEY: u8 = 1;

impl Registry {
    pub fn new(cache_capacity: usize) -> Self {
        Registry {
            table: RwLock::new(Table::default()),
            next_id: AtomicU32::new(0),
            durable_below: AtomicU32::new(0),
            cache: RawCache::new(cache_capacity),
            counters: RegistryCounters::default(),
        }
    }

    /// Registers `id` with `labels` as read from the catalog or the WAL. Idempotent.
    pub fn insert_known(&self, id: u32, labels: &[u8]) {
        let mut t = self.table.write();
        if t.bytes(id).is_none() {
            t.insert(id, xxh3_64(labels), labels);
        }
        self.next_id
            .fetch_max(id.saturating_add(1), Ordering::Relaxed);
    }

    /// Id of the series with this canonical encoding, creating it when new.
    pub fn id_of_encoded(&self, enc: &[u8]) -> u32 {
        let hash = xxh3_64(enc);
        if let Some(id) = self.table.read().find(hash, enc) {
            return id;
        }
        let mut t = self.table.write();
        if let Some(id) = t.find(hash, enc) {
            return id;
        }
        let id = self.next_id.fetch_add(1, Ordering::Relaxed);
        t.insert(id, hash, enc);
        self.counters.created.fetch_add(1, Ordering::Relaxed);
        id
    }

    /// Id of `labels` through the cache keyed by their encoding.
    pub fn id_of(&self, labels: &Labels, key_buf: &mut Vec<u8>) -> u32 {
        key_buf.clear();
        key_buf.push(CANONICAL_KEY);
        labels.encode(key_buf);
        if let Some(id) = self.cache.get(key_buf) {
            self.counters.hits.fetch_add(1, Ordering::Relaxed);
            return id;
        }
        self.counters.misses.fetch_add(1, Ordering::Relaxed);
        let id = self.id_of_encoded(&key_buf[1..]);
        self.cache.put(key_buf, id);
        id
    }

    /// Id of the series behind a caller's raw key; `labels` runs on a cache miss only.
    pub fn id_of_raw(
        &self,
        key: &[u8],
        labels: &mut dyn FnMut() -> Labels,
        key_buf: &mut Vec<u8>,
    ) -> u32 {
        key_buf.clear();
        key_buf.push(RAW_KEY);
        key_buf.extend_from_slice(key);
        if let Some(id) = self.cache.get(key_buf) {
            self.counters.hits.fetch_add(1, Ordering::Relaxed);
            return id;
        }
        self.counters.misses.fetch_add(1, Ordering::Relaxed);
        let enc = labels().to_bytes();
        let id = self.id_of_encoded(&enc);
        self.cache.put(key_buf, id);
        id
    }

    /// Canonical encoding of series `id`.
    pub fn encoded(&self, id: u32) -> Option<Vec<u8>> {
        self.table.read().bytes(id).map(<[u8]>::to_vec)
    }

    /// Labels of series `id`.
    pub fn labels(&self, id: u32) -> Option<Labels> {
        let t = self.table.read();
        Labels::decode(t.bytes(id)?).ok()
    }

    /// Calls `f` with the encoding of every id in `ids` (ids without labels are skipped).
    pub fn with_encoded(&self, ids: impl Iterator<Item = u32>, mut f: impl FnMut(u32, &[u8])) {
        let t = self.table.read();
        for id in ids {
            if let Some(b) = t.bytes(id) {
                f(id, b);
            }
        }
    }

    /// Forgets the label → id mapping of deleted ids (their labels stay readable), so
    /// that new samples with the same labels get a new id; clears the raw-key cache.
    pub fn forget(&self, ids: impl Iterator<Item = u32>) {
        let mut t = self.table.write();
        for id in ids {
            let Some(enc) = t.bytes(id).map(<[u8]>::to_vec) else {
                continue;
            };
            let hash = xxh3_64(&enc);
            if let Some(v) = t.by_hash.get_mut(&hash) {
                v.retain(|&x| x != id);
                if v.is_empty() {
                    t.by_hash.remove(&hash);
                }
            }
        }
        drop(t);
        self.cache.clear();
    }

    /// First id not handed out yet.
    pub fn next_id(&self) -> u32 {
        self.next_id.load(Ordering::Relaxed)
    }

    /// Ids below `id` are durable in the catalog.
    pub fn set_durable_below(&self, id: u32) {
        self.durable_below.fetch_max(id, Ordering::Relaxed);
    }

    /// True when the labels of `id` must go into the commit record.
    pub fn needs_logging(&self, id: u32) -> bool {
        id >= self.durable_below.load(Ordering::Relaxed)
    }

    /// Number of series known.
    pub fn len(&self) -> usize {
        self.table.read().by_hash.values().map(Vec::len).sum()
    }

    /// Entries of the raw-key cache and its capacity.
    pub fn cache_size(&self) -> (usize, usize) {
        (
            self.cache.len(),
            self.cache.shard_capacity * CACHE_SHARDS * 2,
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_stable_and_raw_keys_resolve() {
        let r = Registry::new(4096);
        let mut buf = Vec::new();
        let a = Labels::from_pairs(&[("__name__", "a")]);
        let b = Labels::from_pairs(&[("__name__", "b")]);
        let ia = r.id_of(&a, &mut buf);
        let ib = r.id_of(&b, &mut buf);
        assert_ne!(ia, ib);
        assert_eq!(r.id_of(&a, &mut buf), ia);
        let mut calls = 0;
        let id = r.id_of_raw(
            b"a",
            &mut || {
                calls += 1;
                a.clone()
            },
            &mut buf,
        );
        let id2 = r.id_of_raw(
            b"a",
            &mut || {
                calls += 1;
                a.clone()
            },
            &mut buf,
        );
        assert_eq!((id, id2, calls), (ia, ia, 1));
        assert_eq!(r.labels(ib), Some(b.clone()));
        r.forget([ia].into_iter());
        let ia2 = r.id_of(&a, &mut buf);
        assert_ne!(ia2, ia);
        assert_eq!(r.labels(ia), Some(a));
    }

    #[test]
    fn cache_is_bounded() {
        let c = RawCache::new(0);
        for i in 0..100_000u32 {
            c.put(&i.to_le_bytes(), i);
        }
        assert!(c.len() <= CACHE_SHARDS * 1024 * 2);
    }
}
