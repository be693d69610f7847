//! The manager against live test targets: sync, reload, removal.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use gnomon_tsdb_core::model::is_stale_nan;
use tokio::sync::watch;

use super::MemStore;
use super::live::TestTarget;
use crate::discovery::TargetGroup;
use crate::scrape::{Health, JobSettings, LoopOptions, ScrapeJob, ScrapeManager, TargetsSource};
use crate::target::TargetDefaults;

fn settings(job: &str, interval_ms: u64, fingerprint: u64) -> Arc<JobSettings> {
    Arc::new(JobSettings {
        defaults: TargetDefaults {
            job: job.into(),
            scheme: "http".into(),
            metrics_path: "/metrics".into(),
            interval: Duration::from_millis(interval_ms),
            timeout: Duration::from_millis(interval_ms),
            params: BTreeMap::new(),
            relabel: None,
        },
        opts: Arc::new(LoopOptions::default()),
        client: reqwest::Client::new(),
        fingerprint,
        shard: None,
    })
}

fn groups(addrs: &[&str]) -> Vec<TargetGroup> {
    vec![TargetGroup {
        source: "static/0".into(),
        targets: addrs
            .iter()
            .map(|a| BTreeMap::from([("__address__".to_owned(), (*a).to_owned())]))
            .collect(),
        labels: BTreeMap::new(),
    }]
}

fn job(
    name: &str,
    s: Arc<JobSettings>,
    g: Vec<TargetGroup>,
) -> (ScrapeJob, watch::Sender<Arc<Vec<TargetGroup>>>) {
    let (tx, rx) = watch::channel(Arc::new(g));
    (
        ScrapeJob {
            name: name.into(),
            settings: s,
            groups: rx,
        },
        tx,
    )
}

async fn wait_for(what: &str, mut cond: impl FnMut() -> bool) {
    for _ in 0..500 {
        if cond() {
            return;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    panic!("timed out waiting for {what}");
}

fn up_count(m: &ScrapeManager) -> usize {
    m.pools()
        .iter()
        .flat_map(|p| &p.active)
        .filter(|a| a.status.get().health == Health::Up)
        .count()
}

fn stale_of(store: &MemStore, instance: &str, name: &str) -> bool {
    store.rows().iter().any(|(l, s)| {
        l.get("instance") == Some(instance) && l.metric_name() == Some(name) && is_stale_nan(s.v)
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn follows_discovery_and_stops_vanished_targets_with_staleness() {
    let (_a, addr_a) = TestTarget::serve("m 1\n").await;
    let (_b, addr_b) = TestTarget::serve("m 2\n").await;
    let store = MemStore::default();
    let m = ScrapeManager::new(store.factory());
    let (j, tx) = job("j", settings("j", 100, 1), groups(&[&addr_a, &addr_b]));
    m.apply(vec![j]).await;
    wait_for("both up", || up_count(&m) == 2).await;
    tx.send(Arc::new(groups(&[&addr_a]))).unwrap();
    wait_for("b stale", || stale_of(&store, &addr_b, "m")).await;
    assert!(stale_of(&store, &addr_b, "up"), "report series stale too");
    assert_eq!(m.pools()[0].active.len(), 1);
    assert!(!stale_of(&store, &addr_a, "m"));
    m.stop().await;
    assert!(stale_of(&store, &addr_a, "m"));
    assert!(m.pools().is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reload_keeps_unchanged_loops_and_restarts_changed_jobs() {
    let (ta, addr_a) = TestTarget::serve("m 1\n").await;
    let (tb, addr_b) = TestTarget::serve("m 2\n").await;
    let store = MemStore::default();
    let m = ScrapeManager::new(store.factory());
    let (ja, _txa) = job("a", settings("a", 200, 1), groups(&[&addr_a]));
    let (jb, _txb) = job("b", settings("b", 200, 1), groups(&[&addr_b]));
    m.apply(vec![ja, jb]).await;
    wait_for("both up", || up_count(&m) == 2).await;
    let status_a = m.pools()[0].active[0].status.clone();

    // Same settings for a (new channel, same groups), b changed.
    let started = tokio::time::Instant::now();
    let before_a = ta.scrapes.load(Ordering::SeqCst);
    let (ja, _txa) = job("a", settings("a", 200, 1), groups(&[&addr_a]));
    let (jb, _txb) = job("b", settings("b", 200, 2), groups(&[&addr_b]));
    m.apply(vec![ja, jb]).await;
    let pools = m.pools();
    assert!(
        Arc::ptr_eq(&pools[0].active[0].status, &status_a),
        "job a kept its loop"
    );
    tokio::time::sleep(Duration::from_millis(1000)).await;
    let n = ta.scrapes.load(Ordering::SeqCst) - before_a;
    let elapsed = started.elapsed().as_millis() as u64;
    // One scrape per 200 ms: no double loop (would be ~2x), no gap.
    assert!(
        n >= elapsed / 200 - 1 && n <= elapsed / 200 + 1,
        "{n} scrapes of a in {elapsed} ms"
    );
    assert!(tb.scrapes.load(Ordering::SeqCst) > 0);
    assert!(
        !stale_of(&store, &addr_b, "m"),
        "a restarted job hands over, no staleness"
    );

    // b removed: its series go stale; a untouched.
    let (ja, _txa) = job("a", settings("a", 200, 1), groups(&[&addr_a]));
    m.apply(vec![ja]).await;
    assert!(stale_of(&store, &addr_b, "m"));
    assert!(!stale_of(&store, &addr_a, "m"));
    assert_eq!(m.pools().len(), 1);
    m.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shutdown_stops_without_staleness_markers() {
    let (ta, addr_a) = TestTarget::serve("m 1\n").await;
    let store = MemStore::default();
    let m = ScrapeManager::new(store.factory());
    let (j, _tx) = job("j", settings("j", 100, 1), groups(&[&addr_a]));
    m.apply(vec![j]).await;
    wait_for("up", || up_count(&m) == 1).await;
    m.shutdown().await;
    assert!(m.pools().is_empty());
    assert!(!store.rows().iter().any(|(_, s)| is_stale_nan(s.v)));
    let n = ta.scrapes.load(Ordering::SeqCst);
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(
        ta.scrapes.load(Ordering::SeqCst),
        n,
        "no scrape after shutdown"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cluster_members_split_the_targets_between_them() {
    use crate::scrape::Shard;
    use crate::target::DropReason;
    let addrs: Vec<String> = (0..12).map(|i| format!("10.0.0.{i}:9100")).collect();
    let addrs: Vec<&str> = addrs.iter().map(String::as_str).collect();
    let mut scraped: Vec<String> = Vec::new();
    for member in 0..3 {
        let store = MemStore::default();
        let m = ScrapeManager::new(store.factory());
        let mut s = (*settings("j", 60_000, 1)).clone();
        s.shard = Some(Shard {
            members: 3,
            member,
            replication: 1,
        });
        let (j, _tx) = job("j", Arc::new(s), groups(&addrs));
        m.apply(vec![j]).await;
        wait_for("the targets synced", || {
            m.pools()
                .first()
                .is_some_and(|p| p.active.len() + p.dropped.len() == 12)
        })
        .await;
        let pool = &m.pools()[0];
        assert!(
            pool.dropped
                .iter()
                .all(|d| d.reason == DropReason::OtherShard)
        );
        scraped.extend(pool.active.iter().map(|a| a.target.url.clone()));
        m.shutdown().await;
    }
    scraped.sort();
    let mut want: Vec<String> = addrs
        .iter()
        .map(|a| format!("http://{a}/metrics"))
        .collect();
    want.sort();
    assert_eq!(scraped, want, "each target scraped by exactly one member");
}
