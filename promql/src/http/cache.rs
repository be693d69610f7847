//! The result cache of range queries, after VictoriaMetrics' rollup result cache: a
//! dashboard refreshing `query_range` every few seconds asks again for a range it mostly
//! asked before, so the cache keeps the per-step results of the part of the range that
//! has *settled* (older than now − [`CacheOptions::timestamp_offset`], 5 m by default)
//! and only the newer tail is evaluated again.
//!
//! An entry is keyed by the canonical query text, the step and the start's phase
//! (`start mod step`), so only requests on the same grid share it; it holds the result
//! from its own start to its last settled step. A request that starts inside an entry
//! takes the steps it covers from the entry and evaluates the rest. Queries whose result
//! at a step depends on the request's range (`start()`, `end()`, `range()`, `@ start()`,
//! `@ end()`) are never cached, nor results that raised warnings or infos.
//!
//! Invalidation: [`ResultCache::reset`] drops every entry and makes evaluations that
//! started before it not store their results; the server calls it after series are
//! deleted. Samples ingested later with timestamps older than the offset are *not*
//! noticed (VictoriaMetrics resets its cache on such samples unless
//! `-search.disableAutoCacheReset`): backfill with `-search.disableCache`, ask with
//! `nocache=1`, or call `/internal/resetRollupResultCache`.
//!
//! The cache is bounded by [`CacheOptions::max_bytes`]; the least recently used entries
//! go first. Hit and miss counts are kept per cache ([`ResultCache::stats`]) and summed
//! over the process for `/metrics` ([`metrics`]).

use std::collections::HashMap;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use gnomon_tsdb_core::model::{Labels, Sample};

use crate::engine::RangeSeries;

/// Settings of a [`ResultCache`].
#[derive(Clone, Debug)]
pub struct CacheOptions {
    /// Most bytes of cached results (samples and labels, estimated).
    pub max_bytes: usize,
    /// Results newer than now minus this are never cached (VictoriaMetrics'
    /// `-search.cacheTimestampOffset`, 5 m): data for them may still arrive.
    pub timestamp_offset: Duration,
}

impl Default for CacheOptions {
    fn default() -> Self {
        CacheOptions {
            max_bytes: 64 << 20,
            timestamp_offset: Duration::from_secs(300),
        }
    }
}

/// Counts of one cache's lookups.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct CacheStats {
    /// Requests answered entirely from the cache.
    pub full_hits: u64,
    /// Requests that took a prefix from the cache and evaluated the rest.
    pub partial_hits: u64,
    /// Requests evaluated entirely.
    pub misses: u64,
    /// Steps handed to the engine by cacheable requests (hits and misses).
    pub evaluated_steps: u64,
    /// Entries held now.
    pub entries: u64,
    /// Estimated bytes held now.
    pub bytes: u64,
}

/// The grid a result lives on.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
struct Key {
    query: String,
    step: i64,
    phase: i64,
}

struct Entry {
    /// First and last step time held.
    start: i64,
    end: i64,
    series: Vec<RangeSeries>,
    bytes: usize,
    used: u64,
}

#[derive(Default)]
struct State {
    entries: HashMap<Key, Entry>,
    bytes: usize,
    tick: u64,
    generation: u64,
    stats: CacheStats,
}

/// A bounded cache of settled range-query results; see the module docs.
pub struct ResultCache {
    opts: CacheOptions,
    state: Mutex<State>,
}

/// What a lookup found: the cached steps of the request, and where evaluation resumes.
pub(crate) struct Lookup {
    /// The cached series restricted to the request (empty on a miss).
    pub series: Vec<RangeSeries>,
    /// First step time still to evaluate (`start` on a miss; past `end` on a full hit).
    pub next: i64,
    /// The cache's generation when the lookup was made (see [`ResultCache::put`]).
    pub generation: u64,
}

/// Process-wide totals for `/metrics`.
static FULL_HITS: AtomicU64 = AtomicU64::new(0);
static PARTIAL_HITS: AtomicU64 = AtomicU64::new(0);
static MISSES: AtomicU64 = AtomicU64::new(0);
static BYTES: AtomicU64 = AtomicU64::new(0);
static ENTRIES: AtomicU64 = AtomicU64::new(0);

/// The result caches' counters as `(name, value)` pairs in VictoriaMetrics' names:
/// `vm_rollup_result_cache_full_hits_total`, `…_partial_hits_total`, `…_miss_total`,
/// and `vm_cache_entries` / `vm_cache_size_bytes` / `vm_cache_requests_total` /
/// `vm_cache_misses_total` with `type="promql/rollupResult"`. Sums over every cache of
/// the process.
pub fn metrics() -> Vec<(String, u64)> {
    let (full, partial, miss) = (
        FULL_HITS.load(Ordering::Relaxed),
        PARTIAL_HITS.load(Ordering::Relaxed),
        MISSES.load(Ordering::Relaxed),
    );
    let t = r#"{type="promql/rollupResult"}"#;
    vec![
        ("vm_rollup_result_cache_full_hits_total".into(), full),
        ("vm_rollup_result_cache_partial_hits_total".into(), partial),
        ("vm_rollup_result_cache_miss_total".into(), miss),
        (
            format!("vm_cache_entries{t}"),
            ENTRIES.load(Ordering::Relaxed),
        ),
        (
            format!("vm_cache_size_bytes{t}"),
            BYTES.load(Ordering::Relaxed),
        ),
        (format!("vm_cache_requests_total{t}"), full + partial + miss),
        (format!("vm_cache_misses_total{t}"), miss),
    ]
}

/// True when the result of `query` at a step does not depend on the request's range, so
/// a step computed by one request is valid for another. Conservative: any mention of
/// the range functions or modifiers (even inside a string) disables caching.
pub(crate) fn cacheable(query: &str) -> bool {
    !["start()", "end()", "range()"]
        .iter()
        .any(|f| query.contains(f))
}

fn series_bytes(s: &RangeSeries) -> usize {
    s.samples.len() * std::mem::size_of::<Sample>()
        + s.labels
            .iter()
            .map(|l| l.name.len() + l.value.len() + 48)
            .sum::<usize>()
        + 64
}

/// The samples of `series` with `lo <= t <= hi`, series without any dropped.
fn restrict(series: &[RangeSeries], lo: i64, hi: i64) -> Vec<RangeSeries> {
    series
        .iter()
        .filter_map(|s| {
            let a = s.samples.partition_point(|x| x.t < lo);
            let b = s.samples.partition_point(|x| x.t <= hi);
            (a < b).then(|| RangeSeries {
                labels: s.labels.clone(),
                samples: s.samples[a..b].to_vec(),
            })
        })
        .collect()
}

/// `head` followed by `tail` (every tail time after every head time), by labels.
pub(crate) fn merge(head: Vec<RangeSeries>, tail: Vec<RangeSeries>) -> Vec<RangeSeries> {
    if head.is_empty() {
        return tail;
    }
    let mut by: HashMap<Labels, usize> = HashMap::with_capacity(head.len());
    let mut out = head;
    for (i, s) in out.iter().enumerate() {
        by.insert(s.labels.clone(), i);
    }
    for s in tail {
        match by.get(&s.labels) {
            Some(&i) => out[i].samples.extend(s.samples),
            None => out.push(s),
        }
    }
    out.sort_by(|a, b| a.labels.cmp(&b.labels));
    out
}

impl ResultCache {
    /// An empty cache.
    pub fn new(opts: CacheOptions) -> ResultCache {
        ResultCache {
            opts,
            state: Mutex::new(State::default()),
        }
    }

    /// The cache's settings.
    pub fn options(&self) -> &CacheOptions {
        &self.opts
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        // A panic while holding the lock leaves consistent data behind: every update is
        // a few plain assignments.
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Drops every entry; evaluations looked up before this call will not store.
    pub fn reset(&self) {
        let mut st = self.lock();
        BYTES.fetch_sub(st.bytes as u64, Ordering::Relaxed);
        ENTRIES.fetch_sub(st.entries.len() as u64, Ordering::Relaxed);
        st.entries.clear();
        st.bytes = 0;
        st.generation += 1;
    }

    /// This cache's counts.
    pub fn stats(&self) -> CacheStats {
        let st = self.lock();
        CacheStats {
            entries: st.entries.len() as u64,
            bytes: st.bytes as u64,
            ..st.stats
        }
    }

    fn key(query: &str, start: i64, step: i64) -> Key {
        Key {
            query: query.to_string(),
            step,
            phase: start.rem_euclid(step),
        }
    }

    /// The cached steps of the range query `query` over `start..=end` every `step` ms.
    pub(crate) fn get(&self, query: &str, start: i64, end: i64, step: i64) -> Lookup {
        let key = Self::key(query, start, step);
        let mut st = self.lock();
        st.tick += 1;
        let tick = st.tick;
        let generation = st.generation;
        let found = st.entries.get_mut(&key).and_then(|e| {
            (e.start <= start && start <= e.end).then(|| {
                e.used = tick;
                (restrict(&e.series, start, end), e.end)
            })
        });
        let (series, next) = match found {
            Some((series, covered)) if covered >= end => {
                st.stats.full_hits += 1;
                FULL_HITS.fetch_add(1, Ordering::Relaxed);
                (series, end + step)
            }
            Some((series, covered)) => {
                st.stats.partial_hits += 1;
                PARTIAL_HITS.fetch_add(1, Ordering::Relaxed);
                (series, covered + step)
            }
            None => {
                st.stats.misses += 1;
                MISSES.fetch_add(1, Ordering::Relaxed);
                (Vec::new(), start)
            }
        };
        if next <= end {
            st.stats.evaluated_steps += ((end - next) / step + 1) as u64;
        }
        Lookup {
            series,
            next,
            generation,
        }
    }

    /// Stores the settled part of `series`, the full result of `query` over
    /// `start..=end` every `step` ms, as of `now` (ms). Nothing is stored when the cache
    /// was [reset](ResultCache::reset) since the lookup of `generation`, when no step has
    /// settled, or when the result alone exceeds the cache's size.
    #[allow(clippy::too_many_arguments)] // the grid, the data, and the clock
    pub(crate) fn put(
        &self,
        query: &str,
        (start, end, step): (i64, i64, i64),
        series: &[RangeSeries],
        now: i64,
        generation: u64,
    ) {
        let offset = i64::try_from(self.opts.timestamp_offset.as_millis()).unwrap_or(i64::MAX);
        let settled = now.saturating_sub(offset).min(end);
        if settled < start {
            return;
        }
        let last = start + (settled - start) / step * step;
        let kept = restrict(series, start, last);
        let bytes: usize = kept.iter().map(series_bytes).sum::<usize>() + query.len();
        if bytes > self.opts.max_bytes {
            return;
        }
        let key = Self::key(query, start, step);
        let mut st = self.lock();
        if st.generation != generation {
            return;
        }
        if let Some(old) = st.entries.get(&key)
            && old.start <= start
            && old.end >= last
        {
            return;
        }
        if let Some(old) = st.entries.remove(&key) {
            st.bytes -= old.bytes;
            BYTES.fetch_sub(old.bytes as u64, Ordering::Relaxed);
            ENTRIES.fetch_sub(1, Ordering::Relaxed);
        }
        while st.bytes + bytes > self.opts.max_bytes {
            let Some(victim) = st
                .entries
                .iter()
                .min_by_key(|(_, e)| e.used)
                .map(|(k, _)| k.clone())
            else {
                break;
            };
            if let Some(e) = st.entries.remove(&victim) {
                st.bytes -= e.bytes;
                BYTES.fetch_sub(e.bytes as u64, Ordering::Relaxed);
                ENTRIES.fetch_sub(1, Ordering::Relaxed);
            }
        }
        st.tick += 1;
        let used = st.tick;
        st.bytes += bytes;
        BYTES.fetch_add(bytes as u64, Ordering::Relaxed);
        ENTRIES.fetch_add(1, Ordering::Relaxed);
        st.entries.insert(
            key,
            Entry {
                start,
                end: last,
                series: kept,
                bytes,
                used,
            },
        );
    }
}

impl std::fmt::Debug for ResultCache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ResultCache")
            .field("opts", &self.opts)
            .field("stats", &self.stats())
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn series(name: &str, ts: &[i64]) -> RangeSeries {
        RangeSeries {
            labels: Labels::from_pairs(&[("__name__", name)]),
            samples: ts.iter().map(|&t| Sample::new(t, t as f64)).collect(),
        }
    }

    const MIN: i64 = 60_000;

    #[test]
    fn settled_prefix_is_reused_and_only_the_tail_is_evaluated() {
        let c = ResultCache::new(CacheOptions::default());
        let l = c.get("up", 0, 10 * MIN, MIN);
        assert_eq!((l.next, l.series.len()), (0, 0));
        let all: Vec<i64> = (0..=10).map(|i| i * MIN).collect();
        // Now is 12 min: steps up to 7 min have settled (5 min offset).
        c.put(
            "up",
            (0, 10 * MIN, MIN),
            &[series("a", &all)],
            12 * MIN,
            l.generation,
        );
        let l = c.get("up", 2 * MIN, 11 * MIN, MIN);
        assert_eq!(l.next, 8 * MIN);
        let ts: Vec<i64> = l.series[0].samples.iter().map(|s| s.t).collect();
        assert_eq!(ts, (2..=7).map(|i| i * MIN).collect::<Vec<_>>());
        let s = c.stats();
        assert_eq!((s.misses, s.partial_hits, s.full_hits), (1, 1, 0));
        assert_eq!(s.evaluated_steps, 11 + 4);
        // Entirely inside the settled part: a full hit.
        let l = c.get("up", 0, 5 * MIN, MIN);
        assert_eq!(l.next, 6 * MIN);
        assert_eq!(c.stats().full_hits, 1);
    }

    #[test]
    fn other_grids_queries_and_earlier_starts_miss() {
        let c = ResultCache::new(CacheOptions::default());
        let l = c.get("up", 0, 10 * MIN, MIN);
        c.put(
            "up",
            (0, 10 * MIN, MIN),
            &[series("a", &[0, MIN])],
            100 * MIN,
            l.generation,
        );
        assert_eq!(c.get("up", 30_000, 10 * MIN, MIN).next, 30_000);
        assert_eq!(c.get("up", 0, 10 * MIN, 2 * MIN).next, 0);
        assert_eq!(c.get("down", 0, 10 * MIN, MIN).next, 0);
        assert_eq!(c.get("up", -MIN, 10 * MIN, MIN).next, -MIN);
        assert_eq!(c.get("up", 0, 10 * MIN, MIN).next, 11 * MIN);
    }

    #[test]
    fn reset_drops_entries_and_blocks_stores_of_earlier_lookups() {
        let c = ResultCache::new(CacheOptions::default());
        let l = c.get("up", 0, MIN, MIN);
        c.reset();
        c.put(
            "up",
            (0, MIN, MIN),
            &[series("a", &[0, MIN])],
            100 * MIN,
            l.generation,
        );
        assert_eq!(c.stats().entries, 0);
        let l = c.get("up", 0, MIN, MIN);
        c.put(
            "up",
            (0, MIN, MIN),
            &[series("a", &[0, MIN])],
            100 * MIN,
            l.generation,
        );
        assert_eq!(c.stats().entries, 1);
        c.reset();
        assert_eq!((c.stats().entries, c.stats().bytes), (0, 0));
        assert_eq!(c.get("up", 0, MIN, MIN).next, 0);
    }

    #[test]
    fn size_bound_evicts_the_least_recently_used() {
        let one = series_bytes(&series("a", &[0, MIN])) + 2;
        let c = ResultCache::new(CacheOptions {
            max_bytes: 2 * one,
            ..CacheOptions::default()
        });
        for q in ["q1", "q2", "q3"] {
            let l = c.get(q, 0, MIN, MIN);
            c.put(
                q,
                (0, MIN, MIN),
                &[series("a", &[0, MIN])],
                100 * MIN,
                l.generation,
            );
            if q == "q2" {
                c.get("q1", 0, MIN, MIN); // q1 is now more recent than q2
            }
        }
        assert_eq!(c.stats().entries, 2);
        assert!(c.stats().bytes as usize <= 2 * one);
        assert_eq!(c.get("q2", 0, MIN, MIN).next, 0, "q2 was evicted");
        assert_eq!(c.get("q1", 0, MIN, MIN).next, 2 * MIN);
        assert_eq!(c.get("q3", 0, MIN, MIN).next, 2 * MIN);
    }

    #[test]
    fn merge_appends_tails_and_keeps_label_order() {
        let head = vec![series("a", &[0]), series("c", &[0])];
        let tail = vec![series("b", &[MIN]), series("c", &[MIN])];
        let m = merge(head, tail);
        let names: Vec<&str> = m
            .iter()
            .map(|s| s.labels.get("__name__").unwrap())
            .collect();
        assert_eq!(names, ["a", "b", "c"]);
        assert_eq!(m[2].samples.len(), 2);
    }

    #[test]
    fn range_dependent_queries_are_not_cacheable() {
        assert!(cacheable("rate(x[5m])"));
        for q in ["x @ start()", "x @ end()", "range()", "time() - start()"] {
            assert!(!cacheable(q), "{q}");
        }
    }
}
