use std::sync::{Arc, Mutex};
use std::time::Duration;

use gnomon_relabel::{RelabelConfigs, RelabelOptions, compile};
use gnomon_tsdb_core::model::{Appender, Labels, Sample, is_stale_nan};

use super::append::{ScrapeWriter, SeriesCache};
use super::error::ScrapeError;
use super::options::LoopOptions;
use crate::textparse::Format;

/// Committed rows, shared by every appender a [`MemStore`] makes.
#[derive(Clone, Default)]
pub(crate) struct MemStore(pub Arc<Mutex<Vec<(Labels, Sample)>>>);

struct MemAppender {
    store: MemStore,
    pending: Vec<(Labels, Sample)>,
}

impl Appender for MemAppender {
    fn append(&mut self, labels: &Labels, sample: Sample) -> gnomon_tsdb_core::Result<()> {
        self.pending.push((labels.clone(), sample));
        Ok(())
    }
    fn commit(&mut self) -> gnomon_tsdb_core::Result<()> {
        self.store.0.lock().unwrap().append(&mut self.pending);
        Ok(())
    }
}

impl MemStore {
    pub(crate) fn appender(&self) -> Box<dyn Appender + Send> {
        Box::new(MemAppender {
            store: self.clone(),
            pending: Vec::new(),
        })
    }

    pub(crate) fn factory(&self) -> super::AppenderFactory {
        let s = self.clone();
        Arc::new(move || s.appender())
    }

    pub(crate) fn rows(&self) -> Vec<(Labels, Sample)> {
        self.0.lock().unwrap().clone()
    }

    /// Rows at timestamp `t`, as `labels-text value` strings (stale shown as `STALE`).
    pub(crate) fn at(&self, t: i64) -> Vec<String> {
        let mut v: Vec<String> = self
            .rows()
            .into_iter()
            .filter(|(_, s)| s.t == t)
            .map(|(l, s)| format!("{l} {}", show(s.v)))
            .collect();
        v.sort();
        v
    }
}

fn show(v: f64) -> String {
    if is_stale_nan(v) {
        "STALE".into()
    } else {
        v.to_string()
    }
}

fn target() -> Labels {
    Labels::from_pairs(&[("instance", "h:1"), ("job", "j")])
}

fn relabeler(yaml: &str) -> Arc<gnomon_relabel::Relabeler> {
    let c = RelabelConfigs::from_yaml(yaml).unwrap();
    Arc::new(compile(c.rules(), &RelabelOptions::prometheus()).unwrap())
}

/// Scrapes `body` at `ts` through a committed appender; returns counts or the error.
fn scrape(
    opts: &LoopOptions,
    cache: &mut SeriesCache,
    store: &MemStore,
    body: &str,
    ts: i64,
) -> Result<super::append::Counts, ScrapeError> {
    let t = target();
    let w = ScrapeWriter {
        target: &t,
        opts,
        key_prefix: 7,
    };
    let mut app = store.appender();
    let r = w.scrape(
        body.as_bytes(),
        Format::PrometheusText,
        ts,
        cache,
        &mut *app,
    );
    if r.is_ok() {
        app.commit().unwrap();
    }
    r.map_err(|(e, _)| e)
}

#[test]
fn samples_get_target_labels_and_counts() {
    let (store, mut cache) = (MemStore::default(), SeriesCache::default());
    let c = scrape(
        &LoopOptions::default(),
        &mut cache,
        &store,
        "a 1\nb{x=\"y\"} 2\n",
        1000,
    )
    .unwrap();
    assert_eq!((c.scraped, c.kept, c.added), (2, 2, 2));
    assert_eq!(
        store.at(1000),
        [
            r#"{__name__="a", instance="h:1", job="j"} 1"#,
            r#"{__name__="b", instance="h:1", job="j", x="y"} 2"#
        ]
    );
    let c = scrape(
        &LoopOptions::default(),
        &mut cache,
        &store,
        "a 3\nb{x=\"y\"} 4\n",
        2000,
    )
    .unwrap();
    assert_eq!(c.added, 0, "no new series the second time");
}

#[test]
fn a_vanished_series_gets_a_staleness_marker() {
    let (store, mut cache) = (MemStore::default(), SeriesCache::default());
    let o = LoopOptions::default();
    scrape(&o, &mut cache, &store, "a 1\nb 2\n", 1000).unwrap();
    let c = scrape(&o, &mut cache, &store, "a 1\nc 5\n", 2000).unwrap();
    assert_eq!(c.added, 1);
    assert_eq!(
        store.at(2000),
        [
            r#"{__name__="a", instance="h:1", job="j"} 1"#,
            r#"{__name__="b", instance="h:1", job="j"} STALE"#,
            r#"{__name__="c", instance="h:1", job="j"} 5"#
        ]
    );
    // Only once: b is not marked again at the third scrape.
    scrape(&o, &mut cache, &store, "a 1\nc 5\n", 3000).unwrap();
    assert_eq!(store.at(3000).len(), 2);
}

#[test]
fn honored_timestamps_are_kept_and_never_marked_stale() {
    let (store, mut cache) = (MemStore::default(), SeriesCache::default());
    let o = LoopOptions::default();
    scrape(&o, &mut cache, &store, "a 1 500\n", 1000).unwrap();
    assert_eq!(
        store.at(500),
        [r#"{__name__="a", instance="h:1", job="j"} 1"#]
    );
    scrape(&o, &mut cache, &store, "", 2000).unwrap();
    assert!(store.at(2000).is_empty(), "{:?}", store.at(2000));
    let o = LoopOptions {
        honor_timestamps: false,
        ..LoopOptions::default()
    };
    let mut cache = SeriesCache::default();
    scrape(&o, &mut cache, &store, "z 1 500\n", 4000).unwrap();
    assert_eq!(
        store.at(4000),
        [r#"{__name__="z", instance="h:1", job="j"} 1"#]
    );
}

#[test]
fn clashing_labels_become_exported_unless_honored() {
    let store = MemStore::default();
    let body = "a{job=\"mine\",exported_job=\"x\",instance=\"i\"} 1\n";
    scrape(
        &LoopOptions::default(),
        &mut SeriesCache::default(),
        &store,
        body,
        1000,
    )
    .unwrap();
    assert_eq!(
        store.at(1000),
        [
            r#"{__name__="a", exported_exported_job="mine", exported_instance="i", exported_job="x", instance="h:1", job="j"} 1"#
        ]
    );
    let honor = LoopOptions {
        honor_labels: true,
        ..LoopOptions::default()
    };
    scrape(
        &honor,
        &mut SeriesCache::default(),
        &store,
        "a{job=\"mine\"} 1\n",
        2000,
    )
    .unwrap();
    assert_eq!(
        store.at(2000),
        [r#"{__name__="a", instance="h:1", job="mine"} 1"#]
    );
}

#[test]
fn metric_relabeling_drops_and_renames() {
    let o = LoopOptions {
        metric_relabel: Some(relabeler(
            r#"
- source_labels: [__name__]
  regex: 'go_gc_.*'
  action: drop
- source_labels: [__name__]
  regex: 'old_name'
  target_label: __name__
  replacement: new_name
"#,
        )),
        ..LoopOptions::default()
    };
    let store = MemStore::default();
    let c = scrape(
        &o,
        &mut SeriesCache::default(),
        &store,
        "go_gc_x 1\nold_name 2\nkeep 3\n",
        1000,
    )
    .unwrap();
    assert_eq!((c.scraped, c.kept), (3, 2));
    assert_eq!(
        store.at(1000),
        [
            r#"{__name__="keep", instance="h:1", job="j"} 3"#,
            r#"{__name__="new_name", instance="h:1", job="j"} 2"#
        ]
    );
}

#[test]
fn sample_limit_fails_the_whole_scrape() {
    let o = LoopOptions {
        sample_limit: 2,
        metric_relabel: Some(relabeler(
            "- action: drop\n  source_labels: [__name__]\n  regex: dropped\n",
        )),
        ..LoopOptions::default()
    };
    let store = MemStore::default();
    let mut cache = SeriesCache::default();
    // Dropped samples do not count against the limit.
    scrape(&o, &mut cache, &store, "a 1\nb 1\ndropped 1\n", 1000).unwrap();
    let e = scrape(&o, &mut cache, &store, "a 1\nb 1\nc 1\n", 2000).unwrap_err();
    assert!(
        matches!(e, ScrapeError::SampleLimit { limit: 2, got: 3 }),
        "{e}"
    );
    assert!(store.at(2000).is_empty());
}

#[test]
fn label_limits_fail_the_whole_scrape() {
    let store = MemStore::default();
    let o = LoopOptions {
        label_limit: 3,
        ..LoopOptions::default()
    };
    let e = scrape(
        &o,
        &mut SeriesCache::default(),
        &store,
        "ok 1\nbad{a=\"1\"} 1\n",
        1000,
    )
    .unwrap_err();
    assert_eq!(
        e.to_string(),
        r#"label_limit exceeded (metric: {__name__="bad", a="1", instance="h:1", job="j"}, number of labels: 4, limit: 3)"#
    );
    let o = LoopOptions {
        label_value_length_limit: 3,
        ..LoopOptions::default()
    };
    let e = scrape(
        &o,
        &mut SeriesCache::default(),
        &store,
        "a{v=\"long\"} 1\n",
        1000,
    )
    .unwrap_err();
    assert!(
        matches!(
            &e,
            ScrapeError::LabelLimit {
                what: "label_value_length_limit",
                ..
            }
        ),
        "{e}"
    );
    let o = LoopOptions {
        label_name_length_limit: 4,
        ..LoopOptions::default()
    };
    let e = scrape(
        &o,
        &mut SeriesCache::default(),
        &store,
        "a{longname=\"v\"} 1\n",
        1000,
    )
    .unwrap_err();
    assert!(
        matches!(
            &e,
            ScrapeError::LabelLimit {
                what: "label_name_length_limit",
                ..
            }
        ),
        "{e}"
    );
    assert!(store.rows().is_empty());
}

#[test]
fn a_malformed_body_stores_nothing_and_says_where() {
    let (store, mut cache) = (MemStore::default(), SeriesCache::default());
    let e = scrape(
        &LoopOptions::default(),
        &mut cache,
        &store,
        "a 1\nb{ 2\n",
        1000,
    )
    .unwrap_err();
    let ScrapeError::Parse(p) = &e else {
        panic!("want a parse error, got {e}")
    };
    assert_eq!(p.line, 2);
    assert!(e.to_string().starts_with("line 2, column "), "{e}");
    assert!(store.rows().is_empty());
}

#[test]
fn mark_all_stale_marks_the_last_scrape_once() {
    let (store, mut cache) = (MemStore::default(), SeriesCache::default());
    let o = LoopOptions::default();
    scrape(&o, &mut cache, &store, "a 1\nb 2\n", 1000).unwrap();
    let t = target();
    let w = ScrapeWriter {
        target: &t,
        opts: &o,
        key_prefix: 7,
    };
    let mut app = store.appender();
    w.mark_all_stale(2000, &mut cache, &mut *app).unwrap();
    app.commit().unwrap();
    assert_eq!(store.at(2000).len(), 2);
    assert!(store.at(2000).iter().all(|r| r.ends_with("STALE")));
    assert_eq!(cache.live_series(), 0);
    // After a failure the next good scrape counts every series as added again.
    let c = scrape(&o, &mut cache, &store, "a 1\n", 3000).unwrap();
    assert_eq!(c.added, 1);
}

#[test]
fn histogram_le_is_normalised_and_cached_per_family_type() {
    let (store, mut cache) = (MemStore::default(), SeriesCache::default());
    let o = LoopOptions::default();
    let h =
        "# TYPE h histogram\nh_bucket{le=\"1\"} 1\nh_bucket{le=\"+Inf\"} 1\nh_sum 1\nh_count 1\n";
    scrape(&o, &mut cache, &store, h, 1000).unwrap();
    assert!(
        store.at(1000).iter().any(|r| r.contains(r#"le="1.0""#)),
        "{:?}",
        store.at(1000)
    );
    let u = "h_bucket{le=\"1\"} 1\n";
    scrape(&o, &mut cache, &store, u, 2000).unwrap();
    assert!(
        store
            .at(2000)
            .iter()
            .any(|r| r.contains(r#"le="1""#) && !r.contains("STALE")),
        "{:?}",
        store.at(2000)
    );
}

#[test]
fn start_offsets_spread_and_stay_in_the_interval() {
    use std::time::{SystemTime, UNIX_EPOCH};
    let iv = Duration::from_secs(10);
    let now = UNIX_EPOCH + Duration::from_secs(1_700_000_003);
    // now % 10s = 3s; a hash of 5s lands 2s later, one of 1s 8s later.
    let s = super::scrape_loop::start_offset(5_000_000_000, iv, now);
    assert_eq!(s, Duration::from_secs(2));
    let s = super::scrape_loop::start_offset(1_000_000_000, iv, now);
    assert_eq!(s, Duration::from_secs(8));
    for h in [0u64, 1, u64::MAX, 123_456_789_012] {
        let s = super::scrape_loop::start_offset(h, iv, SystemTime::now());
        assert!(s <= iv, "{s:?}");
    }
}

mod live;
mod manager;
