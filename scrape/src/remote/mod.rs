//! The remote-write client: what vmagent does between collecting samples and a
//! Prometheus-compatible store.
//!
//! ```text
//! appenders ─► extra labels ─► global rules ─┬─► URL 1 rules ─► pending block ─► queue 1 ─► senders ─► POST
//!  (scrape,                                  └─► URL 2 rules ─► pending block ─► queue 2 ─► senders ─► POST
//!   push)
//! ```
//!
//! Samples arrive through [`RemoteWriter::appender`] (an [`Appender`], so scrape loops and
//! the push handlers write here exactly as they write into the storage). Each
//! destination keeps a pending `WriteRequest`; it is closed — snappy-compressed and
//! written to the destination's [`PersistentQueue`] — when it reaches
//! `max_rows_per_block` samples or `max_block_bytes`, and at least every
//! `flush_interval`. Every block goes through the on-disk queue, so what was committed
//! survives a kill of the process (and, synced every `flush_interval`, a power loss
//! loses at most that interval); `queues` senders per destination take
//! blocks in order and acknowledge them once the destination answered (see [`sender`]
//! for the retry rules). A block a sender held when the process stopped is sent again
//! by the next process: the destination may then see it twice, which a
//! VictoriaMetrics or Prometheus receiver treats as the same samples.

mod batch;
mod cache;
mod destination;
mod error;
mod options;
pub mod sender;
mod stats;
#[cfg(test)]
mod tests;

use std::path::PathBuf;
use std::sync::Arc;

use gnomon_tsdb_core::model::{Appender, Labels, Sample};
use parking_lot::Mutex;
use tokio::sync::watch;
use tokio::task::JoinHandle;

pub use batch::SampleBatch;
pub use destination::{round_digits, significant_figures};
pub use error::RemoteError;
pub use options::{RemoteWriteOptions, UrlOptions};
pub use stats::{GlobalStats, UrlStats, get};

#[cfg(feature = "http")]
pub(crate) use destination::with_extra_labels;
use destination::{BlockLimits, Destination, global_labels};
use stats::add;

use crate::client::{ClientOptions, build_client};
use crate::queue::{PersistentQueue, QueueOptions, QueueStats};
use crate::scrape::AppenderFactory;

/// Label sets each relabeling stage remembers per generation (see `cache.rs`): an agent
/// with up to twice as many active series relabels each once. A cached series costs its
/// output label set (the input is shared with the scrape loop's series cache).
pub(crate) const RELABEL_CACHE_ENTRIES: usize = 1 << 17;

/// The running client; see the [module docs](self).
pub struct RemoteWriter {
    dests: Vec<Arc<Destination>>,
    extra_labels: Vec<gnomon_tsdb_core::model::Label>,
    relabel: Option<Arc<gnomon_relabel::Relabeler>>,
    global_cache: Mutex<cache::RelabelCache>,
    global: GlobalStats,
    queues: usize,
    stop: watch::Sender<bool>,
    tasks: Mutex<Vec<JoinHandle<()>>>,
}

/// What a `/metrics` page shows of one destination.
pub struct DestinationView<'a> {
    /// `N:secret-url`, vmagent's `url` label (1-based position).
    pub label: &'a str,
    /// The URL itself (may hold credentials).
    pub url: &'a str,
    /// The queue's directory.
    pub queue_path: PathBuf,
    /// Concurrent senders.
    pub queues: usize,
    /// The destination's counters.
    pub stats: &'a UrlStats,
    /// Its queue's counters.
    pub queue: QueueStats,
}

impl RemoteWriter {
    /// Opens every destination's queue (recovering what an earlier process left there)
    /// and starts its senders and the flush timer. Call inside a tokio runtime.
    ///
    /// # Errors
    /// [`RemoteError::Invalid`] without destinations or for a URL that does not parse,
    /// [`RemoteError::Client`] for TLS or proxy settings that cannot be used,
    /// [`RemoteError::Queue`] when a queue directory cannot be opened.
    pub fn start(opts: RemoteWriteOptions) -> Result<Arc<RemoteWriter>, RemoteError> {
        if opts.urls.is_empty() {
            return Err(RemoteError::Invalid(
                "at least one -remoteWrite.url is needed".into(),
            ));
        }
        let limits = BlockLimits {
            max_bytes: opts.max_block_bytes.max(1),
            max_rows: opts.max_rows_per_block.max(1),
        };
        let queues = opts.queues.max(1);
        let (stop, _) = watch::channel(false);
        let mut dests = Vec::new();
        let mut clients = Vec::new();
        for (i, u) in opts.urls.iter().enumerate() {
            let parsed = reqwest::Url::parse(&u.url)
                .map_err(|e| RemoteError::Invalid(format!("-remoteWrite.url #{}: {e}", i + 1)))?;
            if !matches!(parsed.scheme(), "http" | "https") {
                return Err(RemoteError::Invalid(format!(
                    "-remoteWrite.url #{}: scheme must be http or https",
                    i + 1
                )));
            }
            let client_opts = ClientOptions {
                timeout: Some(u.send_timeout),
                gzip: false,
                ..ClientOptions::default()
            };
            let client =
                build_client(&u.http, &client_opts).map_err(|source| RemoteError::Client {
                    url: format!("{}:secret-url", i + 1),
                    source,
                })?;
            let dir = queue_dir(&opts.tmp_data_path, i, &u.url);
            let queue = PersistentQueue::open(QueueOptions {
                dir: dir.clone(),
                max_disk_bytes: u.max_disk_bytes,
                name: format!("{}:secret-url", i + 1),
                ..QueueOptions::default()
            })?;
            let label = format!("{}:secret-url", i + 1);
            dests.push(Arc::new(Destination::new(
                u.clone(),
                label,
                Arc::new(queue),
                dir,
                limits,
            )));
            clients.push(client);
        }
        let writer = Arc::new(RemoteWriter {
            dests,
            extra_labels: opts.extra_labels.clone(),
            relabel: opts.relabel.clone(),
            global_cache: Mutex::new(cache::RelabelCache::new(RELABEL_CACHE_ENTRIES)),
            global: GlobalStats::default(),
            queues,
            stop,
            tasks: Mutex::new(Vec::new()),
        });
        let mut tasks = Vec::new();
        for (d, client) in writer.dests.iter().zip(clients) {
            for _ in 0..queues {
                tasks.push(tokio::spawn(sender::run(
                    d.clone(),
                    client.clone(),
                    writer.stop.subscribe(),
                )));
            }
        }
        tasks.push(tokio::spawn(flush_timer(
            Arc::downgrade(&writer),
            opts.flush_interval,
            writer.stop.subscribe(),
        )));
        *writer.tasks.lock() = tasks;
        Ok(writer)
    }

    /// Sends `batch` on its way: extra labels, global rules, then each destination's
    /// rules and pending block.
    ///
    /// # Errors
    /// [`RemoteError::Queue`] when a full block cannot be written to a queue (the block
    /// is lost for that destination; the others still get theirs).
    pub fn push(&self, batch: &SampleBatch) -> Result<(), RemoteError> {
        add(&self.global.rows_pushed_before_relabel, batch.len() as u64);
        let relabeled;
        let batch = if self.extra_labels.is_empty() && self.relabel.is_none() {
            batch
        } else {
            let mut out = SampleBatch::new();
            let mut cache = self.global_cache.lock();
            for (labels, samples) in batch.iter() {
                let kept = cache.get_or_insert(labels, |l| {
                    global_labels(l, &self.extra_labels, self.relabel.as_deref())
                });
                match kept {
                    Some(l) => out.push_series(l, samples),
                    None => add(&self.global.relabel_dropped, samples.len() as u64),
                }
            }
            relabeled = out;
            &relabeled
        };
        let mut first_err = None;
        for d in &self.dests {
            if let Err(e) = d.add(batch, &self.global) {
                log::error!("remote write {}: {e}", d.label);
                first_err.get_or_insert(e);
            }
        }
        first_err.map_or(Ok(()), Err)
    }

    /// Closes every pending block into its queue.
    ///
    /// # Errors
    /// The first queue that cannot be written.
    pub fn flush(&self) -> Result<(), RemoteError> {
        let mut first_err = None;
        for d in &self.dests {
            if let Err(e) = d.flush(&self.global) {
                log::error!("remote write {}: {e}", d.label);
                first_err.get_or_insert(e);
            }
        }
        first_err.map_or(Ok(()), Err)
    }

    /// An appender writing here: it collects samples and pushes them on commit.
    pub fn appender(self: &Arc<Self>) -> RemoteAppender {
        RemoteAppender {
            writer: self.clone(),
            batch: SampleBatch::new(),
        }
    }

    /// A factory of [`RemoteWriter::appender`]s, for scrape loops and push handlers.
    pub fn appender_factory(self: &Arc<Self>) -> AppenderFactory {
        let w = self.clone();
        Arc::new(move || Box::new(w.appender()) as Box<dyn Appender + Send>)
    }

    /// The client's own counters.
    pub fn global_stats(&self) -> &GlobalStats {
        &self.global
    }

    /// Each destination's settings and counters, in `-remoteWrite.url` order.
    pub fn destinations(&self) -> Vec<DestinationView<'_>> {
        self.dests
            .iter()
            .map(|d| DestinationView {
                label: &d.label,
                url: &d.opts.url,
                queue_path: d.queue_path.clone(),
                queues: self.queues,
                stats: &d.stats,
                queue: d.queue.stats(),
            })
            .collect()
    }

    /// Stops: closes the pending blocks into the queues, stops the senders (a block
    /// being sent stays queued) and closes the queues, synced to disk.
    ///
    /// # Errors
    /// The first queue that cannot be written or synced.
    pub async fn stop(&self) -> Result<(), RemoteError> {
        let flushed = self.flush();
        self.stop.send_replace(true);
        let tasks = std::mem::take(&mut *self.tasks.lock());
        for t in tasks {
            let _ = t.await;
        }
        let mut result = flushed;
        for d in &self.dests {
            if let Err(e) = d.queue.close() {
                log::error!("remote write {}: cannot close the queue: {e}", d.label);
                if result.is_ok() {
                    result = Err(e.into());
                }
            }
        }
        result
    }
}

/// `<tmp>/persistent-queue/<n>_<XXH64 of the URL, 16 upper-case hex digits>`, n 1-based
/// as vmagent names them.
fn queue_dir(tmp: &std::path::Path, index: usize, url: &str) -> PathBuf {
    let h = xxhash_rust::xxh64::xxh64(url.as_bytes(), 0);
    tmp.join("persistent-queue")
        .join(format!("{}_{h:016X}", index + 1))
}

async fn flush_timer(
    writer: std::sync::Weak<RemoteWriter>,
    every: std::time::Duration,
    mut stop: watch::Receiver<bool>,
) {
    let every = every.max(std::time::Duration::from_millis(10));
    let mut tick = tokio::time::interval_at(tokio::time::Instant::now() + every, every);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            _ = tick.tick() => {}
            r = stop.changed() => if r.is_err() || *stop.borrow() { return },
        }
        let Some(w) = writer.upgrade() else { return };
        let _ = w.flush();
        // Pushes reach the files with a write (safe from a kill); an fsync per interval
        // bounds what a power loss can take.
        let queues: Vec<_> = w
            .dests
            .iter()
            .map(|d| (d.label.clone(), d.queue.clone()))
            .collect();
        drop(w);
        let synced = tokio::task::spawn_blocking(move || {
            for (label, q) in queues {
                if let Err(e) = q.sync() {
                    log::error!("remote write {label}: cannot sync the queue: {e}");
                }
            }
        });
        let _ = synced.await;
    }
}

/// Collects samples and hands them to the [`RemoteWriter`] on [`Appender::commit`].
pub struct RemoteAppender {
    writer: Arc<RemoteWriter>,
    batch: SampleBatch,
}

impl Appender for RemoteAppender {
    fn append(&mut self, labels: &Labels, sample: Sample) -> gnomon_tsdb_core::Result<()> {
        self.batch.push(labels, sample);
        Ok(())
    }

    fn commit(&mut self) -> gnomon_tsdb_core::Result<()> {
        let pushed = self.writer.push(&self.batch);
        self.batch.clear();
        pushed.map_err(|e| gnomon_tsdb_core::Error::Io {
            op: "queue",
            path: PathBuf::from("remote write"),
            source: std::io::Error::other(e),
        })
    }
}
