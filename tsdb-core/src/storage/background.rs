//! Background work: a flusher (every `flush_interval`, plus the retention check) and a
//! merger, each a thread holding only a weak reference to the storage.

use std::sync::{Arc, Weak};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use crossbeam_channel::{Receiver, RecvTimeoutError, Sender, bounded};

use super::Inner;

/// How often the merger looks for work when idle.
const MERGE_TICK: Duration = Duration::from_secs(1);
/// How often partitions past retention are looked for.
const RETENTION_TICK: Duration = Duration::from_secs(60);

/// Handles of the background threads; dropping the sender stops them.
pub(crate) struct Background {
    stop: Option<Sender<()>>,
    threads: Vec<JoinHandle<()>>,
}

impl Background {
    pub fn start(inner: &Arc<Inner>) -> Background {
        let (tx, rx) = bounded::<()>(0);
        let mut threads = Vec::new();
        let w = Arc::downgrade(inner);
        let r = rx.clone();
        let flush_every = inner.opts.flush_interval.max(Duration::from_millis(10));
        threads.push(spawn("gnomon-flusher", move || flusher(w, r, flush_every)));
        if inner.opts.background_merges {
            let w = Arc::downgrade(inner);
            threads.push(spawn("gnomon-merger", move || merger(w, rx)));
        }
        Background {
            stop: Some(tx),
            threads,
        }
    }

    /// Stops the threads and waits for them.
    pub fn stop(mut self) {
        self.stop.take();
        for t in self.threads.drain(..) {
            let _ = t.join();
        }
    }
}

fn spawn(name: &str, f: impl FnOnce() + Send + 'static) -> JoinHandle<()> {
    std::thread::Builder::new()
        .name(name.into())
        .spawn(f)
        .expect("cannot spawn a storage thread")
}

/// Waits `d`; false when asked to stop.
fn wait(rx: &Receiver<()>, d: Duration) -> bool {
    matches!(rx.recv_timeout(d), Err(RecvTimeoutError::Timeout))
}

fn flusher(w: Weak<Inner>, rx: Receiver<()>, every: Duration) {
    let mut last_retention = Instant::now();
    while wait(&rx, every) {
        let Some(inner) = w.upgrade() else { return };
        if let Err(e) = inner.flush() {
            log::error!("background flush failed: {e}");
        }
        if last_retention.elapsed() >= RETENTION_TICK {
            last_retention = Instant::now();
            if let Err(e) = inner.drop_old_partitions() {
                log::error!("removing partitions past retention failed: {e}");
            }
        }
    }
}

fn merger(w: Weak<Inner>, rx: Receiver<()>) {
    while wait(&rx, MERGE_TICK) {
        let Some(inner) = w.upgrade() else { return };
        if let Err(e) = inner.merge("", false) {
            log::error!("background merge failed: {e}");
        }
    }
}
