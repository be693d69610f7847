//! One scrape body into the storage: parse, label, limit, write, mark stale.
//!
//! Nothing is appended before the whole body has parsed and passed the limits, so a
//! failed scrape stores nothing of itself (the appender has no rollback).

use std::collections::HashMap;

use gnomon_tsdb_core::model::{Appender, Labels, STALE_NAN, Sample};

use super::error::ScrapeError;
use super::options::LoopOptions;
use super::series::final_labels;
use crate::textparse::{Entry, Format, Parser};

/// First byte of every storage key written by scrape loops: never the first byte of a
/// UTF-8 series text, so scrape keys cannot clash with push-ingestion keys.
const KEY_MARK: u8 = 0xff;

/// What a loop keeps between scrapes: raw series text → final labels (so a steady-state
/// scrape neither parses labels nor relabels), and the series of the last scrape (for
/// staleness markers). Start with [`SeriesCache::default`].
#[derive(Debug, Default)]
pub struct SeriesCache {
    /// Family-type byte + raw series text → labels (`None`: dropped by relabeling).
    entries: HashMap<Box<[u8]>, CacheEntry>,
    /// Series of the last successful scrape that had no explicit timestamp, by the
    /// 64-bit hash of their labels (computed once per cache entry).
    prev: HashMap<u64, Labels>,
    /// Successful scrapes so far.
    iter: u64,
}

#[derive(Debug)]
struct CacheEntry {
    /// Labels and their hash.
    labels: Option<(Labels, u64)>,
    last_iter: u64,
}

/// Counts of one scrape, for the report series.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Counts {
    /// Samples in the body (`scrape_samples_scraped`).
    pub scraped: usize,
    /// Samples kept after metric relabeling (`scrape_samples_post_metric_relabeling`).
    pub kept: usize,
    /// Series not in the previous scrape (`scrape_series_added`).
    pub added: usize,
}

/// Writes scrape bodies of one target: the loop's write step, public for callers that
/// fetch bodies themselves (and for benchmarks).
pub struct ScrapeWriter<'a> {
    /// The target's labels, attached to every series.
    pub target: &'a Labels,
    /// Limits, relabeling, `honor_*`.
    pub opts: &'a LoopOptions,
    /// Makes the loop's raw storage keys unique: a different value for every target and
    /// every set of options (a raw key must always stand for the same labels).
    pub key_prefix: u64,
}

struct Row<'b> {
    family: u8,
    raw: &'b [u8],
    labels: Labels,
    sample: Sample,
}

#[cfg(test)]
impl SeriesCache {
    /// Series stored by the last successful scrape, without explicit timestamps.
    pub(crate) fn live_series(&self) -> usize {
        self.prev.len()
    }
}

impl ScrapeWriter<'_> {
    /// Parses `body`, appends its samples at `ts` (or their own timestamps under
    /// `honor_timestamps`) and staleness markers for the series gone since the last
    /// scrape. The caller commits.
    ///
    /// # Errors
    /// [`ScrapeError::Parse`], [`ScrapeError::SampleLimit`], [`ScrapeError::LabelLimit`]
    /// (nothing of the body is appended then), [`ScrapeError::Storage`]; with the counts
    /// so far, for the report series.
    pub fn scrape(
        &self,
        body: &[u8],
        format: Format,
        ts: i64,
        cache: &mut SeriesCache,
        app: &mut dyn Appender,
    ) -> Result<Counts, (ScrapeError, Counts)> {
        let mut counts = Counts::default();
        let mut cur = HashMap::with_capacity(cache.prev.len());
        let rows = match self.collect(body, format, ts, cache, &mut cur, &mut counts) {
            Ok(rows) => rows,
            Err(e) => return Err((e, counts)),
        };
        let mut key = Vec::with_capacity(64);
        for r in &rows {
            self.key(&mut key, r.family, r.raw);
            app.append_keyed(&key, &mut || r.labels.clone(), r.sample)
                .map_err(|e| (e.into(), counts))?;
        }
        for (_, gone) in cache.prev.iter().filter(|(h, _)| !cur.contains_key(*h)) {
            app.append(gone, Sample::new(ts, STALE_NAN))
                .map_err(|e| (e.into(), counts))?;
        }
        cache.prev = cur;
        cache.iter += 1;
        let iter = cache.iter;
        cache.entries.retain(|_, e| e.last_iter == iter);
        Ok(counts)
    }

    /// Staleness markers at `ts` for every series of the last scrape (a failed scrape, or
    /// a target that went away). The caller commits.
    ///
    /// # Errors
    /// [`ScrapeError::Storage`].
    pub fn mark_all_stale(
        &self,
        ts: i64,
        cache: &mut SeriesCache,
        app: &mut dyn Appender,
    ) -> Result<(), ScrapeError> {
        for (_, gone) in cache.prev.drain() {
            app.append(&gone, Sample::new(ts, STALE_NAN))?;
        }
        Ok(())
    }

    fn key(&self, key: &mut Vec<u8>, family: u8, raw: &[u8]) {
        key.clear();
        key.push(KEY_MARK);
        key.extend_from_slice(&self.key_prefix.to_le_bytes());
        key.push(family);
        key.extend_from_slice(raw);
    }

    /// Parses and labels every sample; checks the limits.
    fn collect<'b>(
        &self,
        body: &'b [u8],
        format: Format,
        ts: i64,
        cache: &mut SeriesCache,
        cur: &mut HashMap<u64, Labels>,
        counts: &mut Counts,
    ) -> Result<Vec<Row<'b>>, ScrapeError> {
        let next_iter = cache.iter + 1;
        let mut rows = Vec::with_capacity(cache.entries.len());
        let mut cache_key = Vec::with_capacity(64);
        for entry in Parser::new(body, format) {
            let Entry::Sample(s) = entry? else { continue };
            counts.scraped += 1;
            let family = if s.key_is_raw() {
                0
            } else {
                s.family_type() as u8 + 1
            };
            cache_key.clear();
            cache_key.push(family);
            cache_key.extend_from_slice(s.series);
            let labels = match cache.entries.get_mut(cache_key.as_slice()) {
                Some(e) => {
                    e.last_iter = next_iter;
                    e.labels.clone()
                }
                None => {
                    let labels = final_labels(&s.labels(), self.target, self.opts)?.map(|l| {
                        let h = l.hash64();
                        (l, h)
                    });
                    cache.entries.insert(
                        cache_key.as_slice().into(),
                        CacheEntry {
                            labels: labels.clone(),
                            last_iter: next_iter,
                        },
                    );
                    labels
                }
            };
            let Some((labels, hash)) = labels else {
                continue;
            };
            // Series with their own timestamps get no staleness markers, as in Prometheus.
            let (t, tracked) = match s.timestamp_ms {
                Some(t) if self.opts.honor_timestamps => (t, false),
                _ => (ts, true),
            };
            if tracked {
                if cur.insert(hash, labels.clone()).is_some() {
                    // A duplicate series in one scrape: Prometheus keeps the first.
                    continue;
                }
                if !cache.prev.contains_key(&hash) {
                    counts.added += 1;
                }
            }
            counts.kept += 1;
            rows.push(Row {
                family,
                raw: s.series,
                labels,
                sample: Sample::new(t, s.value),
            });
        }
        if self.opts.sample_limit > 0 && counts.kept > self.opts.sample_limit {
            return Err(ScrapeError::SampleLimit {
                limit: self.opts.sample_limit,
                got: counts.kept,
            });
        }
        Ok(rows)
    }
}
