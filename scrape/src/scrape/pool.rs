//! A scrape pool: the loops of one job, synced to its discovered targets.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use super::health::TargetStatus;
use super::options::LoopOptions;
use super::scrape_loop::{AppenderFactory, ScrapeLoop};
use crate::target::{DropReason, DroppedTarget, Target, TargetDefaults, populate};

/// Everything that decides how one job scrapes. Two jobs with equal fingerprints scrape
/// the same way; a reload that changes the fingerprint restarts the job's loops.
#[derive(Clone, Debug)]
pub struct JobSettings {
    /// Target defaults and `relabel_configs`.
    pub defaults: TargetDefaults,
    /// Loop settings and `metric_relabel_configs`.
    pub opts: Arc<LoopOptions>,
    /// The HTTP client (TLS, proxy, redirects) of the job.
    pub client: reqwest::Client,
    /// A hash of the job's configuration.
    pub fingerprint: u64,
    /// This member's share of the targets; all when `None`.
    pub shard: Option<super::Shard>,
}

/// One active target of a pool with its shared status.
#[derive(Clone, Debug)]
pub struct ActiveTarget {
    /// The target.
    pub target: Arc<Target>,
    /// Its loop's status.
    pub status: Arc<TargetStatus>,
}

/// What the targets API shows of one job.
#[derive(Clone, Debug)]
pub struct PoolView {
    /// The job name.
    pub job: String,
    /// Scraped targets, in label order.
    pub active: Vec<ActiveTarget>,
    /// Discovered targets that are not scraped.
    pub dropped: Vec<DroppedTarget>,
}

/// Anything that can list scrape pools for the targets API (the
/// [`ScrapeManager`](super::ScrapeManager), or a test double).
pub trait TargetsSource: Send + Sync {
    /// Every pool, sorted by job name.
    fn pools(&self) -> Vec<PoolView>;
}

/// The loops of one job.
pub(crate) struct Pool {
    pub settings: Arc<JobSettings>,
    loops: HashMap<u64, ScrapeLoop>,
    dropped: Vec<DroppedTarget>,
    appenders: AppenderFactory,
}

/// Labels of one discovered target: its group's and its own.
pub(crate) type Discovered<'a> = (&'a BTreeMap<String, String>, &'a BTreeMap<String, String>);

impl Pool {
    pub(crate) fn new(settings: Arc<JobSettings>, appenders: AppenderFactory) -> Pool {
        Pool {
            settings,
            loops: HashMap::new(),
            dropped: Vec::new(),
            appenders,
        }
    }

    /// Turns discovered labels into targets, starts loops for new targets and stops
    /// (with staleness markers) the loops of targets that are gone.
    pub(crate) async fn sync<'a>(&mut self, discovered: impl IntoIterator<Item = Discovered<'a>>) {
        let (targets, dropped) = self.targets(discovered);
        self.dropped = dropped;
        let mut gone: Vec<u64> = self.loops.keys().copied().collect();
        gone.retain(|h| !targets.contains_key(h));
        for h in gone {
            if let Some(l) = self.loops.remove(&h) {
                l.stop().await;
            }
        }
        for (h, t) in targets {
            if !self.loops.contains_key(&h) {
                let l = self.start(t, Default::default());
                self.loops.insert(h, l);
            }
        }
    }

    /// Moves to new settings: every loop restarts under them. A target that stays
    /// hands its series cache to its new loop (no duplicate loop, staleness tracked
    /// across); one that the new settings no longer produce is stopped with staleness
    /// markers.
    pub(crate) async fn reconfigure<'a>(
        &mut self,
        settings: Arc<JobSettings>,
        discovered: impl IntoIterator<Item = Discovered<'a>>,
    ) {
        self.settings = settings;
        let (targets, dropped) = self.targets(discovered);
        self.dropped = dropped;
        let old = std::mem::take(&mut self.loops);
        let mut kept = HashMap::new();
        for (h, l) in old {
            if targets.contains_key(&h) {
                kept.insert(h, l.stop_for_handover().await);
            } else {
                l.stop().await;
            }
        }
        for (h, t) in targets {
            let cache = kept.remove(&h).unwrap_or_default();
            let l = self.start(t, cache);
            self.loops.insert(h, l);
        }
    }

    /// Stops every loop without staleness markers (process shutdown: as in Prometheus,
    /// series stay live across a restart shorter than the lookback).
    pub(crate) async fn halt(self) {
        for (_, l) in self.loops {
            l.stop_for_handover().await;
        }
    }

    /// Stops every loop with staleness markers.
    pub(crate) async fn stop(self) {
        for (_, l) in self.loops {
            l.stop().await;
        }
    }

    pub(crate) fn active(&self) -> Vec<ActiveTarget> {
        let mut v: Vec<ActiveTarget> = self
            .loops
            .values()
            .map(|l| ActiveTarget {
                target: l.target().clone(),
                status: l.status().clone(),
            })
            .collect();
        v.sort_by(|a, b| a.target.labels.cmp(&b.target.labels));
        v
    }

    pub(crate) fn view(&self, job: &str) -> PoolView {
        PoolView {
            job: job.to_owned(),
            active: self.active(),
            dropped: self.dropped.clone(),
        }
    }

    fn start(&self, t: Arc<Target>, cache: super::append::SeriesCache) -> ScrapeLoop {
        ScrapeLoop::start_with_cache(
            t,
            self.settings.opts.clone(),
            self.settings.client.clone(),
            self.appenders.clone(),
            self.settings.fingerprint,
            cache,
        )
    }

    fn targets<'a>(
        &self,
        discovered: impl IntoIterator<Item = Discovered<'a>>,
    ) -> (BTreeMap<u64, Arc<Target>>, Vec<DroppedTarget>) {
        let mut targets = BTreeMap::new();
        let mut dropped = Vec::new();
        for (group, own) in discovered {
            match populate(group, own, &self.settings.defaults) {
                Ok(t) if self.settings.shard.is_some_and(|s| !s.owns(&t)) => {
                    dropped.push(DroppedTarget {
                        job: t.job,
                        discovered: t.discovered,
                        reason: DropReason::OtherShard,
                    });
                }
                Ok(t) => {
                    targets.entry(t.hash()).or_insert_with(|| Arc::new(t));
                }
                Err(d) => dropped.push(d),
            }
        }
        (targets, dropped)
    }
}
