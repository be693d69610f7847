//! Integration tests of the storage engine through its public API.

use std::collections::BTreeMap;
use std::time::Duration;

use gnomon_tsdb_core::model::{
    Appender, Labels, MatchOp, Matcher, Querier, STALE_NAN, Sample, TimeRange,
};
use gnomon_tsdb_core::{Options, Storage};
use proptest::prelude::*;

/// 2024-01-01T00:00:00Z.
const T0: i64 = 1_704_067_200_000;

fn opts() -> Options {
    Options {
        retention: Duration::from_secs(100 * 365 * 86_400),
        background_merges: false,
        flush_interval: Duration::from_secs(3600),
        shards: 2,
        // Tiny shard buffers: commits exercise raw and encoded in-memory parts too.
        shard_rows: 3,
        ..Options::default()
    }
}

fn series(name: &str, instance: &str) -> Labels {
    Labels::from_pairs(&[("__name__", name), ("instance", instance), ("job", "node")])
}

fn select_all(s: &Storage, m: &[Matcher]) -> Vec<(Labels, Vec<(i64, u64)>)> {
    s.select(m, TimeRange::ALL)
        .unwrap()
        .map(|r| {
            let s = r.unwrap();
            (
                s.labels,
                s.samples.iter().map(|x| (x.t, x.v.to_bits())).collect(),
            )
        })
        .collect()
}

fn name_is(n: &str) -> Matcher {
    Matcher::equal("__name__", n)
}

#[test]
fn append_select_reopen() {
    let dir = tempfile::tempdir().unwrap();
    let a = series("up", "a");
    let b = series("up", "b");
    {
        let s = Storage::open(dir.path(), opts()).unwrap();
        let mut app = s.appender();
        for i in 0..100 {
            app.append(&a, Sample::new(T0 + i * 15_000, i as f64))
                .unwrap();
            app.append(&b, Sample::new(T0 + i * 15_000, 0.5)).unwrap();
        }
        app.append(&a, Sample::new(T0 + 100 * 15_000, STALE_NAN))
            .unwrap();
        app.commit().unwrap();
        let got = select_all(&s, &[name_is("up")]);
        assert_eq!(got.len(), 2);
        assert_eq!(got[0].0, a);
        assert_eq!(got[0].1.len(), 101);
        assert_eq!(got[0].1[100].1, STALE_NAN.to_bits());
        s.close().unwrap();
    }
    let s = Storage::open(dir.path(), opts()).unwrap();
    let got = select_all(
        &s,
        &[Matcher::new(MatchOp::RegexMatch, "instance", "a|c").unwrap()],
    );
    assert_eq!(got.len(), 1);
    assert_eq!(got[0].1.len(), 101);
    assert_eq!(got[0].1[100].1, STALE_NAN.to_bits());
    assert_eq!(
        s.label_values("instance", &[], TimeRange::ALL).unwrap(),
        vec!["a".to_string(), "b".to_string()]
    );
    assert_eq!(
        s.label_names(&[], TimeRange::ALL).unwrap(),
        vec!["__name__", "instance", "job"]
    );
    // A range inside the data selects only the samples inside it (both ends inclusive).
    let r = TimeRange::new(T0 + 15_000, T0 + 30_000);
    let got: Vec<_> = s
        .select(&[name_is("up")], r)
        .unwrap()
        .map(|x| x.unwrap())
        .collect();
    assert_eq!(got[0].samples.len(), 2);
}

#[test]
fn uncommitted_rows_are_not_visible_and_not_persisted() {
    let dir = tempfile::tempdir().unwrap();
    let s = Storage::open(dir.path(), opts()).unwrap();
    let mut app = s.appender();
    app.append(&series("x", "a"), Sample::new(T0, 1.0)).unwrap();
    assert!(select_all(&s, &[name_is("x")]).is_empty());
    drop(app);
    s.close().unwrap();
    let s = Storage::open(dir.path(), opts()).unwrap();
    assert!(select_all(&s, &[name_is("x")]).is_empty());
}

#[test]
fn delete_series_hides_then_purges_and_new_samples_reappear() {
    let dir = tempfile::tempdir().unwrap();
    let s = Storage::open(dir.path(), opts()).unwrap();
    let mut app = s.appender();
    for i in 0..10 {
        app.append(&series("m", "a"), Sample::new(T0 + i, 1.0))
            .unwrap();
        app.append(&series("m", "b"), Sample::new(T0 + i, 2.0))
            .unwrap();
    }
    app.commit().unwrap();
    s.force_flush().unwrap();
    assert_eq!(
        s.delete_series(&[Matcher::equal("instance", "a")]).unwrap(),
        1
    );
    let got = select_all(&s, &[name_is("m")]);
    assert_eq!(got.len(), 1);
    assert_eq!(got[0].0, series("m", "b"));
    s.force_merge("").unwrap();
    assert!(s.stats().deleted_rows_purged_total >= 10);
    let mut app = s.appender();
    app.append(&series("m", "a"), Sample::new(T0 + 100, 3.0))
        .unwrap();
    app.commit().unwrap();
    let got = select_all(&s, &[Matcher::equal("instance", "a")]);
    assert_eq!(got.len(), 1);
    assert_eq!(got[0].1, vec![(T0 + 100, 3.0f64.to_bits())]);
    s.close().unwrap();
    let s = Storage::open(dir.path(), opts()).unwrap();
    let got = select_all(&s, &[Matcher::equal("instance", "a")]);
    assert_eq!(got[0].1, vec![(T0 + 100, 3.0f64.to_bits())]);
}

#[test]
fn dedup_keeps_last_sample_per_interval() {
    let dir = tempfile::tempdir().unwrap();
    let o = Options {
        dedup_interval: Duration::from_secs(60),
        ..opts()
    };
    let s = Storage::open(dir.path(), o).unwrap();
    let mut app = s.appender();
    for i in 0..10 {
        app.append(&series("d", "a"), Sample::new(T0 + i * 15_000, i as f64))
            .unwrap();
    }
    app.commit().unwrap();
    let want = vec![
        (T0, 0f64.to_bits()),
        (T0 + 60_000, 4f64.to_bits()),
        (T0 + 120_000, 8f64.to_bits()),
        (T0 + 135_000, 9f64.to_bits()),
    ];
    assert_eq!(select_all(&s, &[name_is("d")])[0].1, want);
    s.force_merge("").unwrap();
    assert_eq!(select_all(&s, &[name_is("d")])[0].1, want);
}

#[test]
fn retention_hides_and_drops_old_data() {
    let dir = tempfile::tempdir().unwrap();
    let o = Options {
        retention: Duration::from_secs(86_400),
        ..opts()
    };
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as i64;
    let s = Storage::open(dir.path(), o).unwrap();
    let mut app = s.appender();
    app.append(&series("r", "old"), Sample::new(now - 3 * 86_400_000, 1.0))
        .unwrap();
    app.append(&series("r", "new"), Sample::new(now - 1000, 1.0))
        .unwrap();
    app.commit().unwrap();
    let got = select_all(&s, &[name_is("r")]);
    assert_eq!(got.len(), 1);
    assert_eq!(got[0].0, series("r", "new"));
    assert_eq!(s.stats().rows_too_old_total, 1);
}

#[test]
fn snapshots_are_listed_opened_and_deleted() {
    let dir = tempfile::tempdir().unwrap();
    let s = Storage::open(dir.path(), opts()).unwrap();
    let mut app = s.appender();
    app.append(&series("s", "a"), Sample::new(T0, 1.0)).unwrap();
    app.commit().unwrap();
    let name = s.create_snapshot().unwrap();
    assert_eq!(s.list_snapshots().unwrap(), vec![name.clone()]);
    // A snapshot is a data directory of its own.
    let copy = tempfile::tempdir().unwrap();
    copy_tree(&dir.path().join("snapshots").join(&name), copy.path());
    {
        let s2 = Storage::open(copy.path(), opts()).unwrap();
        assert_eq!(select_all(&s2, &[name_is("s")]).len(), 1);
    }
    s.delete_snapshot(&name).unwrap();
    assert!(s.list_snapshots().unwrap().is_empty());
    assert!(matches!(
        s.delete_snapshot(&name),
        Err(gnomon_tsdb_core::Error::SnapshotNotFound { .. })
    ));
}

fn copy_tree(src: &std::path::Path, dst: &std::path::Path) {
    std::fs::create_dir_all(dst).unwrap();
    for e in std::fs::read_dir(src).unwrap() {
        let e = e.unwrap();
        let to = dst.join(e.file_name());
        if e.file_type().unwrap().is_dir() {
            copy_tree(&e.path(), &to);
        } else {
            std::fs::copy(e.path(), to).unwrap();
        }
    }
}

#[test]
fn second_open_of_the_same_dir_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let _s = Storage::open(dir.path(), opts()).unwrap();
    assert!(matches!(
        Storage::open(dir.path(), opts()),
        Err(gnomon_tsdb_core::Error::Locked { .. })
    ));
}

#[test]
fn corrupt_part_is_moved_aside_and_the_rest_kept() {
    let dir = tempfile::tempdir().unwrap();
    {
        let s = Storage::open(dir.path(), opts()).unwrap();
        let mut app = s.appender();
        app.append(&series("c", "a"), Sample::new(T0, 1.0)).unwrap();
        app.commit().unwrap();
        s.force_flush().unwrap();
        let mut app = s.appender();
        app.append(&series("c", "b"), Sample::new(T0, 2.0)).unwrap();
        app.commit().unwrap();
        s.close().unwrap();
    }
    let parts_dir = dir.path().join("partitions/2024_01/parts");
    let mut parts: Vec<_> = std::fs::read_dir(&parts_dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    parts.sort();
    assert_eq!(parts.len(), 2);
    // Tear the newest part in the middle of its footer.
    let len = std::fs::metadata(&parts[1]).unwrap().len();
    let f = std::fs::OpenOptions::new()
        .write(true)
        .open(&parts[1])
        .unwrap();
    f.set_len(len - 10).unwrap();
    let s = Storage::open(dir.path(), opts()).unwrap();
    let got = select_all(&s, &[name_is("c")]);
    assert_eq!(got.len(), 1);
    assert_eq!(got[0].0, series("c", "a"));
    assert!(parts[1].with_extension("corrupt").exists());
}

#[test]
fn torn_wal_tail_keeps_earlier_commits() {
    let dir = tempfile::tempdir().unwrap();
    {
        let s = Storage::open(dir.path(), opts()).unwrap();
        for i in 0..3 {
            let mut app = s.appender();
            app.append(&series("w", "a"), Sample::new(T0 + i, i as f64))
                .unwrap();
            app.commit().unwrap();
        }
        // Simulate a crash: no close, no flush (the WAL holds the three commits).
        std::mem::forget(s);
    }
    let wal_dir = dir.path().join("wal");
    let mut segs: Vec<_> = std::fs::read_dir(&wal_dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    segs.sort();
    let last = segs.last().unwrap();
    let len = std::fs::metadata(last).unwrap().len();
    let f = std::fs::OpenOptions::new().write(true).open(last).unwrap();
    f.set_len(len - 3).unwrap();
    drop(f);
    // The forgotten storage still holds the directory lock in this process: remove it
    // the way a dead process would lose it.
    let _ = std::fs::remove_file(dir.path().join("flock.lock"));
    let s = Storage::open(dir.path(), opts()).unwrap();
    let got = select_all(&s, &[name_is("w")]);
    assert_eq!(
        got[0].1.iter().map(|x| x.0).collect::<Vec<_>>(),
        vec![T0, T0 + 1]
    );
}

/// One step of the model-based test.
#[derive(Clone, Debug)]
enum Op {
    Append { series: u8, t: i64, v: i32 },
    Commit,
    Flush,
    Merge,
    Delete { series: u8 },
    Reopen,
    Select { series: u8, from: i64, to: i64 },
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        10 => (0u8..6, 0i64..2_000, -5i32..5).prop_map(|(series, t, v)| Op::Append { series, t: t * 1000, v }),
        3 => Just(Op::Commit),
        1 => Just(Op::Flush),
        1 => Just(Op::Merge),
        1 => (0u8..6).prop_map(|series| Op::Delete { series }),
        1 => Just(Op::Reopen),
        2 => (0u8..6, 0i64..2_000, 0i64..2_000).prop_map(|(series, a, b)| Op::Select { series, from: a.min(b) * 1000, to: a.max(b) * 1000 }),
    ]
}

fn model_series(i: u8) -> Labels {
    // Two months apart for odd series, to span partitions.
    Labels::from_pairs(&[("__name__", "m"), ("i", &i.to_string())])
}

fn model_time(series: u8, t: i64) -> i64 {
    T0 + t + if series % 2 == 1 { 40 * 86_400_000 } else { 0 }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 24, .. ProptestConfig::default() })]

    /// Random sequences of append / commit / flush / merge / delete / reopen / select,
    /// checked against a BTreeMap oracle (equal timestamps: the larger value wins).
    #[test]
    fn model_based(ops in proptest::collection::vec(op(), 1..60)) {
        let dir = tempfile::tempdir().unwrap();
        let mut s = Some(Storage::open(dir.path(), opts()).unwrap());
        let mut app = s.as_ref().unwrap().appender();
        let mut pending: Vec<(u8, i64, f64)> = Vec::new();
        let mut oracle: BTreeMap<u8, BTreeMap<i64, f64>> = BTreeMap::new();
        for op in ops {
            let st = s.as_ref().unwrap();
            match op {
                Op::Append { series, t, v } => {
                    let t = model_time(series, t);
                    app.append(&model_series(series), Sample::new(t, f64::from(v))).unwrap();
                    pending.push((series, t, f64::from(v)));
                }
                Op::Commit => {
                    app.commit().unwrap();
                    for (series, t, v) in pending.drain(..) {
                        let e = oracle.entry(series).or_default().entry(t).or_insert(v);
                        if v > *e { *e = v; }
                    }
                }
                Op::Flush => st.force_flush().unwrap(),
                Op::Merge => st.force_merge("").unwrap(),
                Op::Delete { series } => {
                    // Commit first so that the oracle knows what the delete covers.
                    app.commit().unwrap();
                    for (series, t, v) in pending.drain(..) {
                        let e = oracle.entry(series).or_default().entry(t).or_insert(v);
                        if v > *e { *e = v; }
                    }
                    let n = st.delete_series(&[Matcher::equal("i", series.to_string())]).unwrap();
                    let had = oracle.remove(&series).is_some_and(|m| !m.is_empty());
                    prop_assert_eq!(n > 0, had);
                }
                Op::Reopen => {
                    drop(app);
                    pending.clear();
                    s.take().unwrap().close().unwrap();
                    s = Some(Storage::open(dir.path(), opts()).unwrap());
                    app = s.as_ref().unwrap().appender();
                }
                Op::Select { series, from, to } => {
                    let (from, to) = (model_time(series, from), model_time(series, to));
                    let got: Vec<(i64, f64)> = st
                        .select(&[Matcher::equal("i", series.to_string())], TimeRange::new(from, to))
                        .unwrap()
                        .flat_map(|x| x.unwrap().samples)
                        .map(|x| (x.t, x.v))
                        .collect();
                    let want: Vec<(i64, f64)> = oracle
                        .get(&series)
                        .map(|m| m.range(from..=to).map(|(t, v)| (*t, *v)).collect())
                        .unwrap_or_default();
                    prop_assert_eq!(got, want);
                }
            }
        }
    }
}

/// Concurrent appenders, flushes, merges and selects: every committed sample is found,
/// exactly once, while rows move between buffers, in-memory parts and files.
#[test]
fn concurrent_writes_flushes_and_selects_lose_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let o = Options {
        shard_rows: 64,
        ..opts()
    };
    let s = Storage::open(dir.path(), o).unwrap();
    let writers: Vec<_> = (0..3)
        .map(|w| {
            let s = s.clone();
            std::thread::spawn(move || {
                let mut app = s.appender();
                for i in 0..2_000i64 {
                    let l = series("c", &format!("w{w}-{}", i % 7));
                    app.append(&l, Sample::new(T0 + i * 1000, i as f64))
                        .unwrap();
                    if i % 50 == 49 {
                        app.commit().unwrap();
                    }
                }
                app.commit().unwrap();
            })
        })
        .collect();
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let churn = {
        let (s, stop) = (s.clone(), stop.clone());
        std::thread::spawn(move || {
            while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                s.force_flush().unwrap();
                s.force_merge("").unwrap();
                let n: usize = s
                    .select(&[name_is("c")], TimeRange::ALL)
                    .unwrap()
                    .map(|x| x.unwrap().samples.len())
                    .sum();
                assert!(n <= 6_000);
            }
        })
    };
    for w in writers {
        w.join().unwrap();
    }
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    churn.join().unwrap();
    let count = |s: &Storage| -> usize {
        s.select(&[name_is("c")], TimeRange::ALL)
            .unwrap()
            .map(|x| x.unwrap().samples.len())
            .sum()
    };
    assert_eq!(count(&s), 6_000);
    s.close().unwrap();
    let s = Storage::open(dir.path(), opts()).unwrap();
    assert_eq!(count(&s), 6_000);
}
