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
use crate::model::{Labels, Matcher, Sample, Series, TimeRange};

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
        let mut order: Vec<(Labels, u32)> = view
            .ids
            .iter()
            .filter_map(|id| inner.registry.labels(id).map(|l| (l, id)))
            .collect();
        order.sort_unstable();
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
                part.decode_block(&m, &mut ts, &mut vs)?;
                out.extend(
                    ts.iter()
                        .zip(vs.iter())
                        .filter(|(t, _)| range.contains(**t))
                        .map(|(t, v)| (*t, *v)),
                );
            }
        }
    }
    sort_and_resolve(&mut out);
    dedup(&mut out, dedup_ms);
    Ok(out.into_iter().map(|(t, v)| Sample { t, v }).collect())
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
