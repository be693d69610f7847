//! Getting records to stable storage: the group-commit gate shared by appenders and the
//! background syncer of [`FsyncPolicy::Interval`](crate::storage::FsyncPolicy::Interval).
//!
//! Records are numbered in write order. The gate remembers up to which number the log is
//! known to be on stable storage. An appender that needs its record `n` synced either
//! finds `synced >= n`, or waits while another thread's fdatasync is in flight, or becomes
//! the leader: it fdatasyncs the active segment, which covers every record written so far
//! (older segments were synced when they were rotated out), and wakes everyone up. So
//! concurrent appenders waiting for a sync share one fdatasync.
//!
//! A failed fsync poisons the gate: the kernel may have dropped the dirty pages, so a retry
//! could report success for data that is lost. Every later append and sync fails.

use std::fs::File;
use std::io;
use std::path::PathBuf;
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::Duration;

use parking_lot::{Condvar, Mutex};

use crate::error::{Error, Result};

/// An open segment file and its path (for error messages).
#[derive(Debug)]
pub(crate) struct SegmentFile {
    pub(crate) file: File,
    pub(crate) path: PathBuf,
}

/// The group-commit gate.
#[derive(Debug, Default)]
pub(crate) struct SyncGate {
    state: Mutex<GateState>,
    changed: Condvar,
}

#[derive(Debug, Default)]
struct GateState {
    /// Every record numbered up to this is on stable storage.
    synced: u64,
    /// A leader's fdatasync is in flight.
    syncing: bool,
    /// The first sync failure; once set, the log refuses all work.
    failure: Option<Failure>,
}

#[derive(Debug, Clone)]
struct Failure {
    op: &'static str,
    path: PathBuf,
    kind: io::ErrorKind,
}

impl Failure {
    fn to_error(&self) -> Error {
        let source = io::Error::new(
            self.kind,
            "an earlier fsync of the write-ahead log failed; its durability is unknown",
        );
        Error::io(self.op, self.path.clone(), source)
    }
}

impl SyncGate {
    /// Fails when an earlier sync failed.
    pub(crate) fn check(&self) -> Result<()> {
        match &self.state.lock().failure {
            Some(failure) => Err(failure.to_error()),
            None => Ok(()),
        }
    }

    /// Number of the last record known to be on stable storage.
    #[cfg(test)]
    pub(crate) fn synced(&self) -> u64 {
        self.state.lock().synced
    }

    /// Whether an earlier sync failed.
    pub(crate) fn is_poisoned(&self) -> bool {
        self.state.lock().failure.is_some()
    }

    /// Records a sync failure and builds the error to return for it.
    pub(crate) fn poison(&self, op: &'static str, path: &std::path::Path, err: io::Error) -> Error {
        let mut state = self.state.lock();
        if state.failure.is_none() {
            state.failure = Some(Failure {
                op,
                path: path.to_path_buf(),
                kind: err.kind(),
            });
        }
        self.changed.notify_all();
        Error::io(op, path, err)
    }

    /// Notes that every record numbered up to `upto` is on stable storage (a rotation
    /// synced the segment holding them).
    pub(crate) fn mark_synced(&self, upto: u64) {
        let mut state = self.state.lock();
        if upto > state.synced {
            state.synced = upto;
            self.changed.notify_all();
        }
    }

    /// Returns once every record numbered up to `target` is on stable storage, syncing
    /// when no other thread is. `active` gives the active segment and the number of the
    /// last record written; it must not be called with the gate's lock held (it is not).
    pub(crate) fn sync_through(
        &self,
        target: u64,
        active: impl Fn() -> (Arc<SegmentFile>, u64),
    ) -> Result<()> {
        let mut state = self.state.lock();
        loop {
            if let Some(failure) = &state.failure {
                return Err(failure.to_error());
            }
            if state.synced >= target {
                return Ok(());
            }
            if state.syncing {
                self.changed.wait(&mut state);
                continue;
            }
            state.syncing = true;
            drop(state);
            let (segment, upto) = active();
            let res = segment.file.sync_data();
            state = self.state.lock();
            state.syncing = false;
            match res {
                Ok(()) => state.synced = state.synced.max(upto),
                Err(err) => {
                    drop(state);
                    return Err(self.poison("fdatasync", &segment.path, err));
                }
            }
            self.changed.notify_all();
        }
    }
}

/// The background thread of the interval policy: calls `tick` every `interval` until
/// stopped.
#[derive(Debug)]
pub(crate) struct Syncer {
    stop: Arc<(Mutex<bool>, Condvar)>,
    handle: Option<JoinHandle<()>>,
}

impl Syncer {
    /// Starts the thread.
    pub(crate) fn start(
        interval: Duration,
        tick: impl Fn() + Send + 'static,
    ) -> io::Result<Syncer> {
        let stop = Arc::new((Mutex::new(false), Condvar::new()));
        let thread_stop = Arc::clone(&stop);
        let handle = std::thread::Builder::new()
            .name("gnomon-wal-sync".into())
            .spawn(move || {
                let (stopped, cv) = &*thread_stop;
                let mut stopped = stopped.lock();
                while !*stopped {
                    let timed_out = cv.wait_for(&mut stopped, interval).timed_out();
                    if timed_out && !*stopped {
                        // Appenders never wait on this lock: ticking with it held is fine.
                        tick();
                    }
                }
            })?;
        Ok(Syncer {
            stop,
            handle: Some(handle),
        })
    }

    /// Stops the thread and waits for it.
    pub(crate) fn stop(&mut self) {
        let (stopped, cv) = &*self.stop;
        *stopped.lock() = true;
        cv.notify_all();
        if let Some(handle) = self.handle.take() {
            // A panic in the thread was already reported by the panic hook.
            let _ = handle.join();
        }
    }
}

impl Drop for Syncer {
    fn drop(&mut self) {
        self.stop();
    }
}
