//! The read path: matchers → series ids per partition → samples from every part.

use std::collections::HashMap;
use std::sync::Arc;

use rayon::prelude::*;
use roaring::RoaringBitmap;

use super::Inner;
use super::calendar::day_of;
use super::part::Part;
use super::samples::{dedup, sort_and_resolve};
use crate::error::Result;
use crate::index;
use crate::model::{Labels, LazySeries, LazySeriesIter, Matcher, Sample, Series, TimeRange};

/// Everything a select needs, captured at once so later writes do not disturb it.
pub(crate) struct View {
    /// Per partition: the matching ids and the parts.
    pub partitions: Vec<(RoaringBitmap, Vec<Part>)>,
    /// All matching ids.
    pub ids: RoaringBitmap,
    /// Not-yet-flushed samples of the matching ids within the range.
    pub pending: HashMap<u32, Vec<(i64, f64)>>,
}

impl Inner {
    /// Clamps a query range to the retention period.
    pub(crate) fn clamp(&self, range: TimeRange) -> TimeRange {
        TimeRange::new(range.start.max(self.min_timestamp()), range.end)
    }

    /// Matching ids of every partition overlapping `range`, deleted ones removed.
    pub(crate) fn matching_ids(
        &self,
        matchers: &[Matcher],
        range: TimeRange,
    ) -> Vec<(Arc<super::Partition>, RoaringBitmap)> {
        let range = self.clamp(range);
        if range.is_empty() {
            return Vec::new();
        }
        let days = day_of(range.start)..=day_of(range.end);
        let deleted = self.deleted.read().clone();
        self.partitions_in(range)
            .into_iter()
            .filter_map(|p| {
                let mut ids = {
                    let st = p.state.read();
                    index::select(&st.sources(), matchers, Some(days.clone()))
                };
                ids -= &deleted;
                (!ids.is_empty()).then_some((p, ids))
            })
            .collect()
    }

    /// Captures the view of a select.
    pub(crate) fn view(&self, matchers: &[Matcher], range: TimeRange) -> View {
        let range = self.clamp(range);
        let _v = self.view_lock.read();
        let mut view = View {
            partitions: Vec::new(),
            ids: RoaringBitmap::new(),
            pending: HashMap::new(),
        };
        for (p, ids) in self.matching_ids(matchers, range) {
            let parts = p.state.read().parts.clone();
            view.ids |= &ids;
            view.partitions.push((ids, parts));
        }
        if view.ids.is_empty() {
            return view;
        }
        let mut take = |sid: u32, t: i64, v: f64| {
            if range.contains(t) && view.ids.contains(sid) {
                view.pending.entry(sid).or_default().push((t, v));
            }
        };
        for (_, parts) in &view.partitions {
            for p in parts {
                if let Part::Rows(r) = p
                    && range.overlaps(r.min_t, r.max_t)
                {
                    r.rows.iter().for_each(|x| take(x.sid, x.t, x.v));
                }
            }
        }
        for shard in &self.shards {
            shard.lock().iter().for_each(|x| take(x.sid, x.t, x.v));
        }
        view
    }
}

/// Series decoded together: their blocks are decoded in parallel on the rayon pool while
/// the consumer works on the previous ones. 32 series of 1440 samples hold ~0.7 MiB; the
/// first chunks are smaller so a select of a few series does not decode more than it
/// returns before the consumer sees the first one.
const PREFETCH: usize = 32;

/// Iterator over the series of a select, in label order.
pub(crate) struct SelectIter {
    pub inner: Arc<Inner>,
    pub view: View,
    pub order: std::vec::IntoIter<(Labels, u32)>,
    pub range: TimeRange,
    /// Decoded series not yet returned, in order.
    ready: std::collections::VecDeque<Result<Series>>,
    /// Size of the next chunk to decode.
    chunk: usize,
}

impl SelectIter {
    pub fn new(inner: Arc<Inner>, matchers: &[Matcher], range: TimeRange) -> SelectIter {
        let range = inner.clamp(range);
        let view = inner.view(matchers, range);
        let order = label_order(&inner, &view);
        SelectIter {
            inner,
            view,
            order: order.into_iter(),
            range,
            ready: Default::default(),
            chunk: 1,
        }
    }

    /// Decodes the next chunk of series into `ready`; false when none are left.
    fn fill(&mut self) -> bool {
        let chunk: Vec<(Labels, u32)> = self.order.by_ref().take(self.chunk).collect();
        if chunk.is_empty() {
            return false;
        }
        self.chunk = (self.chunk * 2).min(PREFETCH);
        let pending: Vec<Vec<(i64, f64)>> = chunk
            .iter()
            .map(|(_, sid)| self.view.pending.remove(sid).unwrap_or_default())
            .collect();
        let (partitions, range, dedup_ms) =
            (&self.view.partitions, self.range, self.inner.dedup_ms);
        let decode = |(sid, rows): (u32, Vec<(i64, f64)>)| {
            samples_of(partitions, range, dedup_ms, sid, rows)
        };
        let work: Vec<(u32, Vec<(i64, f64)>)> =
            chunk.iter().map(|(_, sid)| *sid).zip(pending).collect();
        let decoded: Vec<Result<Vec<Sample>>> = if work.len() > 1 {
            work.into_par_iter().map(decode).collect()
        } else {
            work.into_iter().map(decode).collect()
        };
        for ((labels, _), r) in chunk.into_iter().zip(decoded) {
            match r {
                Ok(s) if s.is_empty() => {}
                Ok(samples) => self.ready.push_back(Ok(Series { labels, samples })),
                Err(e) => self.ready.push_back(Err(e)),
            }
        }
        true
    }
}

/// The series of `view` with their labels, in label order.
fn label_order(inner: &Inner, view: &View) -> Vec<(Labels, u32)> {
    let mut order: Vec<(Labels, u32)> = view
        .ids
        .iter()
        .filter_map(|id| inner.registry.labels(id).map(|l| (l, id)))
        .collect();
    order.sort_unstable();
    order
}

/// The series of a select in label order, each read (decoded) only when the consumer
/// asks, on the consumer's thread. The view is captured now, as for [`SelectIter`].
pub(crate) fn select_lazy(inner: &Inner, matchers: &[Matcher], range: TimeRange) -> LazySeriesIter {
    let range = inner.clamp(range);
    let mut view = inner.view(matchers, range);
    let order = label_order(inner, &view);
    let partitions = Arc::new(std::mem::take(&mut view.partitions));
    let mut pending = view.pending;
    let dedup_ms = inner.dedup_ms;
    Box::new(order.into_iter().map(move |(labels, sid)| {
        let rows = pending.remove(&sid).unwrap_or_default();
        let partitions = partitions.clone();
        Ok(LazySeries::new(labels, move || {
            samples_of(&partitions, range, dedup_ms, sid, rows)
        }))
    }))
}

/// The samples of series `sid` in `range`: its not-yet-flushed `rows` plus every block of
/// the view's parts, sorted, resolved and deduplicated.
fn samples_of(
    partitions: &[(RoaringBitmap, Vec<Part>)],
    range: TimeRange,
    dedup_ms: i64,
    sid: u32,
    mut out: Vec<(i64, f64)>,
) -> Result<Vec<Sample>> {
    let (mut ts, mut vs) = (Vec::new(), Vec::new());
    for (ids, parts) in partitions {
        if !ids.contains(sid) {
            continue;
        }
        for p in parts {
            let Some(part) = p.encoded() else { continue };
            let info = part.info();
            if !range.overlaps(info.min_t, info.max_t) {
                continue;
            }
            let mut i = part.lower_bound(sid);
            while i < part.block_count() {
                let m = part.meta(i);
                if m.sid != sid || m.min_t > range.end {
                    break;
                }
                i += 1;
                if m.max_t < range.start {
                    continue;
                }
                ts.clear();
                vs.clear();
                part.decode_block_in(&m, range, &mut ts, &mut vs)?;
                append_in_range(&mut out, &ts, &vs, range);
            }
        }
    }
    sort_and_resolve(&mut out);
    dedup(&mut out, dedup_ms);
    Ok(out.into_iter().map(|(t, v)| Sample { t, v }).collect())
}

/// Appends the pairs of `ts` / `vs` whose time is in `range`. A block wholly inside the
/// range (the usual case) is copied without a per-sample test; the room is reserved up
/// front, so a series' samples are not moved again as its blocks arrive.
fn append_in_range(out: &mut Vec<(i64, f64)>, ts: &[i64], vs: &[f64], range: TimeRange) {
    out.reserve(ts.len());
    // A branch-free fold (vectorised), not `all`, which stops early but is scalar.
    let inside = ts
        .iter()
        .fold(true, |ok, &t| ok & (t >= range.start) & (t <= range.end));
    if inside {
        out.extend(ts.iter().zip(vs).map(|(&t, &v)| (t, v)));
    } else {
        out.extend(
            ts.iter()
                .zip(vs)
                .filter(|(t, _)| range.contains(**t))
                .map(|(&t, &v)| (t, v)),
        );
    }
}

impl Iterator for SelectIter {
    type Item = Result<Series>;

    fn next(&mut self) -> Option<Self::Item> {
        loop {
            if let Some(r) = self.ready.pop_front() {
                return Some(r);
            }
            if !self.fill() {
                return None;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn append_in_range_copies_whole_blocks_and_filters_partial_ones() {
        let (ts, vs) = ([10i64, 20, 30], [1.0, 2.0, 3.0]);
        let mut out = vec![(5, 0.5)];
        append_in_range(&mut out, &ts, &vs, TimeRange::new(10, 30));
        assert_eq!(out, [(5, 0.5), (10, 1.0), (20, 2.0), (30, 3.0)]);
        let mut out = Vec::new();
        append_in_range(&mut out, &ts, &vs, TimeRange::new(11, 30));
        assert_eq!(out, [(20, 2.0), (30, 3.0)]);
        let mut out = Vec::new();
        append_in_range(&mut out, &ts, &vs, TimeRange::new(0, 29));
        assert_eq!(out, [(10, 1.0), (20, 2.0)]);
        // Unsorted input (never written, but not trusted): still filtered per sample.
        let mut out = Vec::new();
        append_in_range(&mut out, &[30, 5, 20], &vs, TimeRange::new(10, 30));
        assert_eq!(out, [(30, 1.0), (20, 3.0)]);
    }

    #[test]
    fn lazy_select_reads_what_select_returns() {
        use crate::model::{Appender, Querier};
        use crate::storage::{Options, Storage};
        let dir = tempfile::tempdir().unwrap();
        let opts = Options {
            retention: std::time::Duration::from_secs(100 * 365 * 86_400),
            ..Options::default()
        };
        let st = Storage::open(dir.path(), opts).unwrap();
        let mut app = st.appender();
        let t0 = 1_704_067_200_000i64;
        for h in 0..5 {
            let l = Labels::from_pairs(&[("__name__", "m"), ("h", &h.to_string())]);
            for i in 0..100 {
                app.append(&l, Sample::new(t0 + h * 1_000_000 + i * 15_000, i as f64))
                    .unwrap();
            }
        }
        app.commit().unwrap();
        st.force_flush().unwrap();
        // Unflushed rows on top of the flushed blocks, one of them replacing a sample.
        let l0 = Labels::from_pairs(&[("__name__", "m"), ("h", "0")]);
        app.append(&l0, Sample::new(t0 + 100 * 15_000, 7.0))
            .unwrap();
        app.append(&l0, Sample::new(t0, 9.0)).unwrap();
        app.commit().unwrap();
        let m = [Matcher::equal("__name__", "m")];
        // Series 4 starts after this range (its day is selected, its samples are not).
        for range in [TimeRange::ALL, TimeRange::new(t0, t0 + 3_500_000)] {
            let want: Vec<Series> = st.select(&m, range).unwrap().map(|r| r.unwrap()).collect();
            let got: Vec<Series> = st
                .select_lazy(&m, range)
                .unwrap()
                .map(|r| r.unwrap().read().unwrap())
                .filter(|s| !s.samples.is_empty())
                .collect();
            assert_eq!(got, want);
        }
        let all: Vec<Series> = st
            .select(&m, TimeRange::ALL)
            .unwrap()
            .map(|r| r.unwrap())
            .collect();
        assert_eq!(all.len(), 5);
        assert_eq!(all[0].samples.len(), 101);
        assert_eq!(all[0].samples[0], Sample::new(t0, 9.0));
        let short: Vec<Series> = st
            .select(&m, TimeRange::new(t0, t0 + 3_500_000))
            .unwrap()
            .map(|r| r.unwrap())
            .collect();
        assert_eq!(short.len(), 4);
    }
}
