//! One target's scrape loop: a tokio task that scrapes at a fixed offset within every
//! interval and writes each scrape through a fresh appender.

use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use gnomon_tsdb_core::model::Appender;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

use super::append::{Counts, ScrapeWriter, SeriesCache};
use super::error::ScrapeError;
use super::fetch::{Fetched, fetch};
use super::health::{Health, ScrapeStatus, TargetStatus};
use super::options::LoopOptions;
use super::report::ReportSeries;
use crate::target::Target;
use crate::textparse::format_from_content_type;

/// Makes an appender for each scrape (the same shape as the ingest routers' factory).
pub type AppenderFactory = Arc<dyn Fn() -> Box<dyn Appender + Send> + Send + Sync>;

/// Everything a loop needs, shared by its task and its blocking write steps.
struct LoopCtx {
    target: Arc<Target>,
    opts: Arc<LoopOptions>,
    client: reqwest::Client,
    appenders: AppenderFactory,
    report: ReportSeries,
    key_prefix: u64,
    status: Arc<TargetStatus>,
}

/// A running scrape loop. Dropping it stops the task without staleness markers; call
/// [`ScrapeLoop::stop`] to end it properly.
pub struct ScrapeLoop {
    ctx: Arc<LoopCtx>,
    stop: Option<oneshot::Sender<()>>,
    task: Option<JoinHandle<SeriesCache>>,
}

impl ScrapeLoop {
    /// Starts scraping `target` on the current tokio runtime. `key_seed` goes into the
    /// storage keys of the loop's series; loops whose options differ must use different
    /// seeds (the manager uses a hash of the job's config).
    pub fn start(
        target: Arc<Target>,
        opts: Arc<LoopOptions>,
        client: reqwest::Client,
        appenders: AppenderFactory,
        key_seed: u64,
    ) -> ScrapeLoop {
        Self::start_with_cache(
            target,
            opts,
            client,
            appenders,
            key_seed,
            SeriesCache::default(),
        )
    }

    pub(crate) fn start_with_cache(
        target: Arc<Target>,
        opts: Arc<LoopOptions>,
        client: reqwest::Client,
        appenders: AppenderFactory,
        key_seed: u64,
        cache: SeriesCache,
    ) -> ScrapeLoop {
        let ctx = Arc::new(LoopCtx {
            report: ReportSeries::new(&target.labels),
            key_prefix: target.hash() ^ key_seed.rotate_left(17),
            target,
            opts,
            client,
            appenders,
            status: Arc::new(TargetStatus::default()),
        });
        let (tx, rx) = oneshot::channel();
        let task = tokio::spawn(run(ctx.clone(), cache, rx));
        ScrapeLoop {
            ctx,
            stop: Some(tx),
            task: Some(task),
        }
    }

    /// The target scraped.
    pub fn target(&self) -> &Arc<Target> {
        &self.ctx.target
    }

    /// The loop's status, shared (it changes after every scrape).
    pub fn status(&self) -> &Arc<TargetStatus> {
        &self.ctx.status
    }

    /// Stops the loop (an in-flight request is abandoned; a write in progress finishes)
    /// and writes staleness markers for every series of its last scrape and for its
    /// report series, as Prometheus does for a target that goes away.
    pub async fn stop(mut self) {
        let Some(mut cache) = self.halt().await else {
            return;
        };
        let ctx = self.ctx.clone();
        let r = tokio::task::spawn_blocking(move || ctx.write_end_of_run(&mut cache)).await;
        if let Ok(Err(e)) = r {
            log::warn!(
                "cannot write staleness markers for {}: {e}",
                self.ctx.target.url
            );
        }
    }

    /// Stops the loop and hands its series cache over to a successor (a reload that
    /// changed the job): no staleness markers; the successor marks what it no longer
    /// sees.
    pub(crate) async fn stop_for_handover(mut self) -> SeriesCache {
        self.halt().await.unwrap_or_default()
    }

    async fn halt(&mut self) -> Option<SeriesCache> {
        if let Some(tx) = self.stop.take() {
            let _ = tx.send(());
        }
        self.task.take()?.await.ok()
    }
}

impl Drop for ScrapeLoop {
    fn drop(&mut self) {
        if let Some(t) = &self.task {
            t.abort();
        }
    }
}

/// Prometheus' start offset: scrapes of a target happen where `now % interval` equals
/// its hash modulo the interval, so targets spread over the interval and keep their slot
/// across restarts.
pub(crate) fn start_offset(hash: u64, interval: Duration, now: SystemTime) -> Duration {
    let iv = interval.as_nanos().max(1);
    let now = now
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default()
        .as_nanos();
    let base = iv - now % iv;
    let mut next = base + u128::from(hash) % iv;
    if next > iv {
        next -= iv;
    }
    Duration::from_nanos(u64::try_from(next).unwrap_or(u64::MAX))
}

async fn run(
    ctx: Arc<LoopCtx>,
    mut cache: SeriesCache,
    mut stop: oneshot::Receiver<()>,
) -> SeriesCache {
    let interval = ctx.target.interval;
    let first =
        tokio::time::Instant::now() + start_offset(ctx.target.hash(), interval, SystemTime::now());
    let mut ticker = tokio::time::interval_at(first, interval);
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
    loop {
        tokio::select! {
            _ = &mut stop => return cache,
            _ = ticker.tick() => {}
        }
        let wall = SystemTime::now();
        let started = Instant::now();
        let fetched = tokio::select! {
            _ = &mut stop => return cache,
            r = fetch(&ctx.client, &ctx.target.url, ctx.target.timeout, &ctx.opts) => r,
        };
        let took = started.elapsed();
        let ts = unix_ms(wall);
        let ctx2 = ctx.clone();
        let done = tokio::task::spawn_blocking(move || {
            let status = ctx2.write_scrape(&mut cache, fetched, ts, took);
            (cache, status)
        })
        .await;
        let Ok((c, mut status)) = done else {
            return SeriesCache::default();
        };
        cache = c;
        status.last_scrape = Some(wall);
        let before = ctx.status.get();
        status.scrapes = before.scrapes + 1;
        status.failures = before.failures + u64::from(status.health == Health::Down);
        ctx.status.set(status);
    }
}

fn unix_ms(t: SystemTime) -> i64 {
    t.duration_since(UNIX_EPOCH)
        .map(|d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
        .unwrap_or(0)
}

impl LoopCtx {
    fn writer(&self) -> ScrapeWriter<'_> {
        ScrapeWriter {
            target: &self.target.labels,
            opts: &self.opts,
            key_prefix: self.key_prefix,
        }
    }

    /// Writes one scrape's samples (or, when it failed, staleness markers for the last
    /// one) and its report; returns the new status.
    fn write_scrape(
        &self,
        cache: &mut SeriesCache,
        fetched: Result<Fetched, ScrapeError>,
        ts: i64,
        took: Duration,
    ) -> ScrapeStatus {
        let mut app = (self.appenders)();
        let outcome = match fetched {
            Ok(f) => {
                let format = format_from_content_type(&f.content_type);
                self.writer().scrape(&f.body, format, ts, cache, &mut *app)
            }
            Err(e) => Err((e, Counts::default())),
        };
        let (counts, error) = match outcome {
            Ok(c) => (c, None),
            Err((e, c)) => {
                // A fresh appender: nothing of the failed scrape is written.
                app = (self.appenders)();
                if let Err(se) = self.writer().mark_all_stale(ts, cache, &mut *app) {
                    log::warn!(
                        "cannot write staleness markers for {}: {se}",
                        self.target.url
                    );
                }
                (c, Some(e))
            }
        };
        let committed = self
            .report
            .write(&mut *app, ts, error.is_none(), took, counts)
            .and_then(|()| app.commit());
        let error = match (error, committed) {
            (Some(e), _) => Some(e.to_string()),
            (None, Err(e)) => Some(format!("storage: {e}")),
            (None, Ok(())) => None,
        };
        if let Some(e) = &error
            && !self.opts.suppress_errors
        {
            log::warn!(
                "cannot scrape {} (job {:?}): {e}",
                self.target.url,
                self.target.job
            );
        }
        ScrapeStatus {
            health: if error.is_some() {
                Health::Down
            } else {
                Health::Up
            },
            last_error: error.unwrap_or_default(),
            last_scrape: None,
            last_duration: took,
            last_samples: counts.kept,
            scrapes: 0,
            failures: 0,
        }
    }

    /// Staleness markers for everything the loop wrote last, report series included.
    fn write_end_of_run(&self, cache: &mut SeriesCache) -> Result<(), ScrapeError> {
        if self.status.get().scrapes == 0 {
            return Ok(());
        }
        let ts = unix_ms(SystemTime::now());
        let mut app = (self.appenders)();
        self.writer().mark_all_stale(ts, cache, &mut *app)?;
        self.report.write_stale(&mut *app, ts)?;
        app.commit()?;
        Ok(())
    }
}
