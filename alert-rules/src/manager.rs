//! The rule manager: loads rule files, runs every group on its aligned schedule against a
//! storage, restores `for` state on the first evaluation, sends alerts to a notifier,
//! and reloads files keeping the state of unchanged rules.

use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use gnomon_promql::engine::{Engine, EngineOptions};
use gnomon_tsdb_core::model::{Appender, Labels, Querier};
use parking_lot::Mutex;

use crate::error::Result;
use crate::files::{expand_globs, parse_file};
use crate::group::{Group, GroupDefaults};
use crate::notifier::{AmAlert, Notifier};
use crate::restore::{RestoreOptions, restore_for_state};
use crate::rule::{EvalContext, QueryBackend, Rule};
use crate::rulefmt;
use crate::timefmt::now_ms;

/// Where rules read and write.
pub trait RuleStorage: Send + Sync {
    /// The querier rules read.
    fn querier(&self) -> &dyn Querier;
    /// A new appender for one rule's output.
    fn appender(&self) -> Box<dyn Appender + '_>;
}

impl RuleStorage for crate::shared_store::SharedStore {
    fn querier(&self) -> &dyn Querier {
        self
    }
    fn appender(&self) -> Box<dyn Appender + '_> {
        Box::new(crate::shared_store::SharedStore::appender(self))
    }
}

/// Manager settings.
#[derive(Clone, Debug)]
pub struct ManagerOptions {
    /// Labels added to alerts sent (and `$externalLabels`).
    pub external_labels: Labels,
    /// `$externalURL` and the generator URL's base.
    pub external_url: String,
    /// Least time between two sends of a firing alert (`-rule.resendDelay`, 1m).
    pub resend_delay: i64,
    /// Interval, query offset and PromQL dialect for groups that do not set them.
    pub defaults: GroupDefaults,
    /// How rule files are read.
    pub rulefmt: rulefmt::ParseOptions,
    /// `for` state restore.
    pub restore: RestoreOptions,
    /// Query engine settings.
    pub engine: EngineOptions,
}

impl Default for ManagerOptions {
    fn default() -> Self {
        ManagerOptions {
            external_labels: Labels::empty(),
            external_url: String::new(),
            resend_delay: 60_000,
            defaults: GroupDefaults::default(),
            rulefmt: rulefmt::ParseOptions::default(),
            restore: RestoreOptions::default(),
            engine: EngineOptions::default(),
        }
    }
}

/// A loaded group and whether its state was restored yet.
struct Slot {
    group: Mutex<Group>,
    restored: Mutex<bool>,
}

/// Loads and runs rule groups.
pub struct Manager {
    opts: ManagerOptions,
    engine: Engine,
    storage: Arc<dyn RuleStorage>,
    notifier: Option<Notifier>,
    backend: Option<Arc<dyn QueryBackend>>,
    groups: Mutex<Vec<Arc<Slot>>>,
    files: Mutex<Vec<String>>,
    /// Bumped by every load: group tasks of an older generation stop.
    generation: AtomicU64,
}

impl Manager {
    /// A manager with no groups.
    pub fn new(
        storage: Arc<dyn RuleStorage>,
        notifier: Option<Notifier>,
        opts: ManagerOptions,
    ) -> Arc<Manager> {
        Manager::with_backend(storage, notifier, opts, None)
    }

    /// A manager whose queries go to `backend` (a remote datasource) when given; the
    /// storage then only receives the results (and is read for state restore).
    pub fn with_backend(
        storage: Arc<dyn RuleStorage>,
        notifier: Option<Notifier>,
        opts: ManagerOptions,
        backend: Option<Arc<dyn QueryBackend>>,
    ) -> Arc<Manager> {
        Arc::new(Manager {
            engine: Engine::new(opts.engine.clone()),
            opts,
            storage,
            notifier,
            backend,
            groups: Mutex::new(Vec::new()),
            files: Mutex::new(Vec::new()),
            generation: AtomicU64::new(0),
        })
    }

    /// Reads `patterns` (paths and globs) and replaces the groups; groups with the same
    /// file and name keep their alerts. Nothing changes when a file is invalid.
    ///
    /// # Errors
    /// The first unreadable or invalid file.
    pub fn load(&self, patterns: &[String]) -> Result<usize> {
        let mut fresh = Vec::new();
        for path in expand_globs(patterns)? {
            let parsed = parse_file(&path, &self.opts.rulefmt)?;
            for g in &parsed.groups {
                fresh.push(Group::new(&path, g, &self.opts.defaults)?);
            }
        }
        let mut groups = self.groups.lock();
        let mut slots = Vec::with_capacity(fresh.len());
        for mut g in fresh {
            let old = groups
                .iter()
                .find(|s| {
                    let o = s.group.lock();
                    o.name == g.name && o.file == g.file
                })
                .cloned();
            let restored = match &old {
                Some(o) => {
                    g.copy_state_from(&o.group.lock());
                    *o.restored.lock()
                }
                None => false,
            };
            slots.push(Arc::new(Slot {
                group: Mutex::new(g),
                restored: Mutex::new(restored),
            }));
        }
        let n = slots.len();
        *groups = slots;
        *self.files.lock() = patterns.to_vec();
        self.generation.fetch_add(1, Ordering::SeqCst);
        Ok(n)
    }

    /// Reloads the files of the last [`Manager::load`] and restarts the schedules when
    /// running.
    ///
    /// # Errors
    /// As [`Manager::load`]; the old groups keep running then.
    pub fn reload(self: &Arc<Self>) -> Result<usize> {
        let files = self.files.lock().clone();
        let n = self.load(&files)?;
        if tokio::runtime::Handle::try_current().is_ok() {
            self.clone().start();
        }
        Ok(n)
    }

    /// Runs every current group on its schedule (one task each) until the next load.
    ///
    /// # Panics
    /// Outside a tokio runtime (a programming error of the caller).
    pub fn start(self: Arc<Self>) {
        let generation = self.generation.load(Ordering::SeqCst);
        for slot in self.groups.lock().iter() {
            let (m, slot) = (self.clone(), slot.clone());
            tokio::spawn(async move { m.group_loop(slot, generation).await });
        }
    }

    async fn group_loop(self: Arc<Self>, slot: Arc<Slot>, generation: u64) {
        loop {
            let (interval, next) = {
                let g = slot.group.lock();
                (g.interval, g.eval_timestamp(now_ms()) + g.interval)
            };
            let wait = u64::try_from(next - now_ms()).unwrap_or(0);
            tokio::time::sleep(Duration::from_millis(wait.min(interval as u64))).await;
            if self.generation.load(Ordering::SeqCst) != generation {
                return;
            }
            if now_ms() < next {
                continue;
            }
            let (m, s) = (self.clone(), slot.clone());
            let _ = tokio::task::spawn_blocking(move || m.eval_slot(&s, next)).await;
        }
    }

    fn eval_slot(&self, slot: &Slot, t: i64) {
        let ctx = EvalContext {
            engine: &self.engine,
            querier: self.storage.querier(),
            remote: self.backend.as_deref(),
            external_labels: &self.opts.external_labels,
            external_url: &self.opts.external_url,
        };
        let mut g = slot.group.lock();
        let first = !*slot.restored.lock();
        if first {
            for r in &mut g.rules {
                if let Rule::Alerting(a) = r {
                    a.restored = false;
                }
            }
        }
        let mut app = self.storage.appender();
        for (i, e) in g.eval(&ctx, app.as_mut(), t) {
            log::warn!(
                "rule {:?} of group {:?} ({}): {e}",
                g.rules[i].name(),
                g.name,
                g.file.display()
            );
        }
        if first {
            for r in &mut g.rules {
                if let Rule::Alerting(a) = r
                    && let Err(e) = restore_for_state(a, ctx.querier, t, &self.opts.restore)
                {
                    log::warn!("cannot restore the state of alert {:?}: {e}", a.name);
                    a.restored = true;
                }
            }
            *slot.restored.lock() = true;
        }
        self.send(&mut g, t);
    }

    fn send(&self, g: &mut Group, t: i64) {
        let Some(n) = &self.notifier else {
            return;
        };
        let interval = g.interval;
        let mut batch = Vec::new();
        for r in &mut g.rules {
            if let Rule::Alerting(a) = r {
                let expr = a.expr.to_string();
                for alert in a.take_alerts_to_send(t, self.opts.resend_delay, interval) {
                    batch.push(AmAlert::from_alert(
                        &alert,
                        &expr,
                        &self.opts.external_labels,
                        &self.opts.external_url,
                    ));
                }
            }
        }
        n.send(batch);
    }

    /// Evaluates every group once at `t` (ms), outside the schedule (tests, one-shot
    /// tools).
    pub fn eval_all_at(&self, t: i64) {
        let slots: Vec<Arc<Slot>> = self.groups.lock().clone();
        for s in slots {
            self.eval_slot(&s, t);
        }
    }

    /// Runs `f` over a snapshot of the groups (for the HTTP API).
    pub fn with_groups<T>(&self, f: impl FnOnce(&[&Group]) -> T) -> T {
        let slots: Vec<Arc<Slot>> = self.groups.lock().clone();
        let guards: Vec<_> = slots.iter().map(|s| s.group.lock()).collect();
        let refs: Vec<&Group> = guards.iter().map(|g| &**g).collect();
        f(&refs)
    }

    /// The files of the last load.
    pub fn files(&self) -> Vec<PathBuf> {
        self.files.lock().iter().map(PathBuf::from).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::alert::AlertState;
    use crate::shared_store::SharedStore;
    use gnomon_tsdb_core::model::Sample;

    #[test]
    fn load_eval_reload_keeps_state() {
        let dir = tempfile::tempdir().unwrap();
        let f = dir.path().join("r.yml");
        std::fs::write(
            &f,
            "groups:\n- name: g\n  rules:\n  - alert: Down\n    expr: up == 0\n    for: 20m\n",
        )
        .unwrap();
        let store = Arc::new(SharedStore::new());
        let up = Labels::from_pairs(&[("__name__", "up")]);
        for i in 0..40 {
            store.add(&up, Sample::new(i * 60_000, 0.0));
        }
        let m = Manager::new(store.clone(), None, ManagerOptions::default());
        assert_eq!(m.load(&[f.to_string_lossy().into_owned()]).unwrap(), 1);
        m.eval_all_at(0);
        m.eval_all_at(60_000);
        let state = |m: &Manager| {
            m.with_groups(|g| g[0].alerting_rules().next().unwrap().alerts()[0].clone())
        };
        assert_eq!(state(&m).state, AlertState::Pending);
        assert_eq!(state(&m).active_at, 0);
        // A reload with an unchanged rule keeps the alert.
        assert_eq!(
            m.load(
                &m.files()
                    .iter()
                    .map(|p| p.to_string_lossy().into_owned())
                    .collect::<Vec<_>>()
            )
            .unwrap(),
            1
        );
        assert_eq!(state(&m).active_at, 0);
        // A new manager on the same storage (a restart 5 minutes later) restores the
        // activation time shifted by the downtime.
        let m2 = Manager::new(store, None, ManagerOptions::default());
        m2.load(&[f.to_string_lossy().into_owned()]).unwrap();
        m2.eval_all_at(360_000);
        let a = state(&m2);
        assert_eq!(a.state, AlertState::Pending);
        assert_eq!(a.active_at, 300_000, "active at 0, down from 60s to 360s");
        // An invalid file leaves the groups alone.
        std::fs::write(&f, "groups: [").unwrap();
        assert!(m.load(&[f.to_string_lossy().into_owned()]).is_err());
        m.with_groups(|g| assert_eq!(g.len(), 1));
    }
}
