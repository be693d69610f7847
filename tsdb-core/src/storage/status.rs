//! Cardinality figures for `/api/v1/status/tsdb`: series counts per metric name, per
//! label name and per label pair, value counts per label name, computed from the index
//! postings (bitmap cardinalities), never from samples.

use std::collections::BTreeMap;
use std::ops::ControlFlow;

use roaring::RoaringBitmap;

use super::Storage;
use super::calendar::day_of;
use crate::error::Result;
use crate::index::{self, ALL_VALUES};
use crate::model::{Matcher, TimeRange};

/// What to count.
#[derive(Clone, Debug, Default)]
pub struct StatusRequest {
    /// Only series matching all of these (none: every series).
    pub matchers: Vec<Matcher>,
    /// Only series with samples on this day (days since the Unix epoch, UTC); `None`
    /// counts every series of every partition.
    pub day: Option<u32>,
    /// Length of every top list (at least 1).
    pub top_n: usize,
    /// A label name whose values are counted in
    /// [`TsdbStatus::series_count_by_focus_label_value`].
    pub focus_label: Option<String>,
}

/// One `(name, count)` entry of a top list.
pub type Entry = (String, u64);

/// The figures, top lists sorted by count (largest first), then by name.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct TsdbStatus {
    /// Series counted.
    pub total_series: u64,
    /// Distinct `name=value` pairs over those series.
    pub total_label_value_pairs: u64,
    /// Series per `__name__` value.
    pub series_count_by_metric_name: Vec<Entry>,
    /// Series carrying each label name.
    pub series_count_by_label_name: Vec<Entry>,
    /// Series per value of the focus label (empty without one).
    pub series_count_by_focus_label_value: Vec<Entry>,
    /// Series per `name=value` pair.
    pub series_count_by_label_value_pair: Vec<Entry>,
    /// Distinct values per label name.
    pub label_value_count_by_label_name: Vec<Entry>,
    /// Bytes of the distinct values per label name (Prometheus' `memoryInBytesByLabelName`).
    pub memory_in_bytes_by_label_name: Vec<Entry>,
}

/// Per label name: the series carrying it, and per value its series.
type Pairs = BTreeMap<String, BTreeMap<String, RoaringBitmap>>;

impl Storage {
    /// Counts series and label pairs for `req`, from the index alone.
    ///
    /// # Errors
    /// None today (the index is validated at open); the `Result` leaves room for storages
    /// that read index files lazily.
    pub fn tsdb_status(&self, req: &StatusRequest) -> Result<TsdbStatus> {
        let inner = &self.inner;
        let range = match req.day {
            Some(d) => {
                let start = i64::from(d) * 86_400_000;
                TimeRange::new(start, start + 86_399_999)
            }
            None => TimeRange::new(i64::MIN, i64::MAX),
        };
        let days = req.day.map(|d| d..=d);
        let deleted = inner.deleted.read().clone();
        let mut all = RoaringBitmap::new();
        let mut pairs: Pairs = BTreeMap::new();
        for p in inner.partitions_in(range) {
            let st = p.state.read();
            let sources = st.sources();
            let mut ids = if req.matchers.is_empty() && days.is_none() {
                st.series.clone()
            } else {
                index::select(&sources, &req.matchers, days.clone())
            };
            ids -= &deleted;
            if ids.is_empty() {
                continue;
            }
            for s in &sources {
                if s.all_series().is_disjoint(&ids) {
                    continue;
                }
                for name in s.label_names() {
                    let values = pairs.entry(name.clone()).or_default();
                    s.for_each_value(&name, ALL_VALUES, &mut |v, postings| {
                        let mut hit = postings.to_bitmap();
                        hit &= &ids;
                        if !hit.is_empty() {
                            *values.entry(v.to_owned()).or_default() |= hit;
                        }
                        ControlFlow::Continue(())
                    });
                }
            }
            all |= ids;
        }
        Ok(summarize(&pairs, all.len(), req))
    }
}

/// The largest `n` entries, by count then name.
fn top(mut entries: Vec<Entry>, n: usize) -> Vec<Entry> {
    entries.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
    entries.truncate(n.max(1));
    entries
}

fn summarize(pairs: &Pairs, total_series: u64, req: &StatusRequest) -> TsdbStatus {
    let mut by_name = Vec::new();
    let mut by_label = Vec::new();
    let mut by_focus = Vec::new();
    let mut by_pair = Vec::new();
    let mut value_counts = Vec::new();
    let mut bytes = Vec::new();
    let mut total_pairs = 0u64;
    for (name, values) in pairs {
        if values.is_empty() {
            continue;
        }
        let mut carrying = RoaringBitmap::new();
        let mut value_bytes = 0u64;
        for (value, ids) in values {
            carrying |= ids;
            value_bytes += value.len() as u64;
            by_pair.push((format!("{name}={value}"), ids.len()));
            if name == "__name__" {
                by_name.push((value.clone(), ids.len()));
            }
            if req.focus_label.as_deref() == Some(name.as_str()) {
                by_focus.push((value.clone(), ids.len()));
            }
        }
        total_pairs += values.len() as u64;
        by_label.push((name.clone(), carrying.len()));
        value_counts.push((name.clone(), values.len() as u64));
        bytes.push((name.clone(), value_bytes));
    }
    TsdbStatus {
        total_series,
        total_label_value_pairs: total_pairs,
        series_count_by_metric_name: top(by_name, req.top_n),
        series_count_by_label_name: top(by_label, req.top_n),
        series_count_by_focus_label_value: top(by_focus, req.top_n),
        series_count_by_label_value_pair: top(by_pair, req.top_n),
        label_value_count_by_label_name: top(value_counts, req.top_n),
        memory_in_bytes_by_label_name: top(bytes, req.top_n),
    }
}

/// The day (days since the Unix epoch, UTC) of a millisecond timestamp, for
/// [`StatusRequest::day`].
pub fn day_of_ms(t_ms: i64) -> u32 {
    day_of(t_ms)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{Appender, Labels, MatchOp, Sample};
    use crate::storage::Options;

    fn labels(pairs: &[(&str, &str)]) -> Labels {
        Labels::from_pairs(pairs)
    }

    fn storage_with_demo(dir: &std::path::Path) -> Storage {
        let st = Storage::open(dir, Options::default()).unwrap();
        let mut app = st.appender();
        let day = 86_400_000i64;
        let now = super::super::engine::now_ms();
        let today = now - now % day;
        let rows = [
            (
                &[("__name__", "up"), ("job", "a"), ("instance", "x")][..],
                today,
            ),
            (
                &[("__name__", "up"), ("job", "a"), ("instance", "y")][..],
                today,
            ),
            (
                &[("__name__", "up"), ("job", "b"), ("instance", "x")][..],
                today - 2 * day,
            ),
            (&[("__name__", "cpu"), ("job", "a")][..], today),
        ];
        for (l, t) in rows {
            app.append(
                &labels(l),
                Sample {
                    t: t + 1000,
                    v: 1.0,
                },
            )
            .unwrap();
        }
        app.commit().unwrap();
        st
    }

    #[test]
    fn counts_series_names_and_pairs() {
        let dir = tempfile::tempdir().unwrap();
        let st = storage_with_demo(dir.path());
        let s = st
            .tsdb_status(&StatusRequest {
                top_n: 10,
                focus_label: Some("instance".into()),
                ..StatusRequest::default()
            })
            .unwrap();
        assert_eq!(s.total_series, 4);
        assert_eq!(
            s.series_count_by_metric_name,
            vec![("up".into(), 3), ("cpu".into(), 1)]
        );
        assert_eq!(
            s.series_count_by_label_name,
            vec![
                ("__name__".into(), 4),
                ("job".into(), 4),
                ("instance".into(), 3)
            ]
        );
        assert_eq!(s.series_count_by_focus_label_value[0], ("x".into(), 2));
        // Ties are broken by name.
        assert_eq!(
            s.series_count_by_label_value_pair[..2],
            [("__name__=up".into(), 3), ("job=a".into(), 3)]
        );
        // __name__: up, cpu; job: a, b; instance: x, y.
        assert_eq!(s.total_label_value_pairs, 6);
        assert_eq!(
            s.memory_in_bytes_by_label_name[0],
            ("__name__".into(), "up".len() as u64 + "cpu".len() as u64)
        );
    }

    #[test]
    fn day_matchers_and_top_n_restrict() {
        let dir = tempfile::tempdir().unwrap();
        let st = storage_with_demo(dir.path());
        let today = day_of_ms(super::super::engine::now_ms());
        let s = st
            .tsdb_status(&StatusRequest {
                day: Some(today),
                matchers: vec![Matcher::new(MatchOp::Equal, "__name__", "up").unwrap()],
                top_n: 1,
                focus_label: None,
            })
            .unwrap();
        assert_eq!(s.total_series, 2);
        assert_eq!(s.series_count_by_metric_name, vec![("up".into(), 2)]);
        assert_eq!(s.series_count_by_label_name.len(), 1);
        assert!(s.series_count_by_focus_label_value.is_empty());
        let none = st
            .tsdb_status(&StatusRequest {
                day: Some(today + 400),
                top_n: 5,
                ..StatusRequest::default()
            })
            .unwrap();
        assert_eq!(none, TsdbStatus::default());
    }
}
