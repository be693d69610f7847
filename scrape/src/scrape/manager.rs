//! The scrape manager: one pool per job, each following its discovered targets.

use std::collections::BTreeMap;
use std::sync::{Arc, RwLock};

use tokio::sync::{Mutex, watch};
use tokio::task::JoinHandle;

use super::pool::{JobSettings, Pool, PoolView, TargetsSource};
use super::scrape_loop::AppenderFactory;

use crate::discovery::TargetGroup;

/// A job to run: its settings and the channel its discovered target groups arrive on.
pub struct ScrapeJob {
    /// `job_name`.
    pub name: String,
    /// How it scrapes.
    pub settings: Arc<JobSettings>,
    /// Its target groups, as discovery publishes them.
    pub groups: watch::Receiver<Arc<Vec<TargetGroup>>>,
}

struct Running {
    pool: Arc<Mutex<Pool>>,
    follower: JoinHandle<()>,
}

/// Keeps one loop per target of every job; see [`ScrapeManager::apply`].
pub struct ScrapeManager {
    appenders: AppenderFactory,
    jobs: Mutex<BTreeMap<String, Running>>,
    views: Arc<RwLock<BTreeMap<String, PoolView>>>,
}

impl ScrapeManager {
    /// A manager writing through appenders from `appenders`; it scrapes nothing until
    /// [`ScrapeManager::apply`].
    pub fn new(appenders: AppenderFactory) -> ScrapeManager {
        ScrapeManager {
            appenders,
            jobs: Mutex::new(BTreeMap::new()),
            views: Arc::new(RwLock::new(BTreeMap::new())),
        }
    }

    /// Runs exactly `jobs`: a job whose settings' fingerprint is unchanged keeps its
    /// loops (no gap, no second loop) and only follows its new target channel; a
    /// changed job restarts its loops (series caches handed over, so staleness is
    /// tracked across); a job no longer present stops with staleness markers.
    pub async fn apply(&self, jobs: Vec<ScrapeJob>) {
        let mut running = self.jobs.lock().await;
        let mut old = std::mem::take(&mut *running);
        for job in jobs {
            let name = job.name.clone();
            let r = match old.remove(&name) {
                Some(r) => self.update(r, job).await,
                None => self.spawn(job),
            };
            running.insert(name, r);
        }
        for (name, r) in old {
            r.follower.abort();
            let _ = r.follower.await;
            if let Ok(pool) = Arc::try_unwrap(r.pool) {
                pool.into_inner().stop().await;
            }
            self.views
                .write()
                .unwrap_or_else(|p| p.into_inner())
                .remove(&name);
        }
    }

    /// Stops every job with staleness markers.
    pub async fn stop(&self) {
        self.apply(Vec::new()).await;
    }

    /// Stops every job without staleness markers (a process shutting down: as in
    /// Prometheus, series stay live across a restart shorter than the lookback).
    pub async fn shutdown(&self) {
        let jobs = std::mem::take(&mut *self.jobs.lock().await);
        for (_, r) in jobs {
            r.follower.abort();
            let _ = r.follower.await;
            if let Ok(pool) = Arc::try_unwrap(r.pool) {
                pool.into_inner().halt().await;
            }
        }
        self.views
            .write()
            .unwrap_or_else(|p| p.into_inner())
            .clear();
    }

    async fn update(&self, r: Running, job: ScrapeJob) -> Running {
        r.follower.abort();
        let _ = r.follower.await;
        let changed = r.pool.lock().await.settings.fingerprint != job.settings.fingerprint;
        if changed {
            let groups = job.groups.borrow().clone();
            let mut p = r.pool.lock().await;
            p.reconfigure(job.settings.clone(), discovered(&groups))
                .await;
            publish(&self.views, &job.name, &p);
        }
        self.spawn_follower(job, r.pool)
    }

    fn spawn(&self, job: ScrapeJob) -> Running {
        let pool = Pool::new(job.settings.clone(), self.appenders.clone());
        self.spawn_follower(job, Arc::new(Mutex::new(pool)))
    }

    /// A task that syncs the pool with every set of groups published on the channel
    /// (the current one first).
    fn spawn_follower(&self, mut job: ScrapeJob, pool: Arc<Mutex<Pool>>) -> Running {
        let views = self.views.clone();
        let p2 = pool.clone();
        let follower = tokio::spawn(async move {
            loop {
                let groups = job.groups.borrow_and_update().clone();
                {
                    let mut p = p2.lock().await;
                    p.sync(discovered(&groups)).await;
                    publish(&views, &job.name, &p);
                }
                if job.groups.changed().await.is_err() {
                    return;
                }
            }
        });
        Running { pool, follower }
    }
}

impl TargetsSource for ScrapeManager {
    fn pools(&self) -> Vec<PoolView> {
        self.views
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .values()
            .cloned()
            .collect()
    }
}

fn publish(views: &RwLock<BTreeMap<String, PoolView>>, job: &str, p: &Pool) {
    views
        .write()
        .unwrap_or_else(|p| p.into_inner())
        .insert(job.to_owned(), p.view(job));
}

fn discovered(
    groups: &[TargetGroup],
) -> impl Iterator<Item = (&BTreeMap<String, String>, &BTreeMap<String, String>)> {
    groups
        .iter()
        .flat_map(|g| g.targets.iter().map(move |t| (&g.labels, t)))
}
