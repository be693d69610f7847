//! The discovery manager: one task per SD config, one `watch` channel per job.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::sync::{mpsc, watch};
use tokio::task::JoinHandle;
use tokio::time::Instant;

use super::TargetGroup;
use super::kubernetes::KubernetesOptions;
use crate::config::{Config, ScrapeConfig};

/// Settings of discovery that do not come from the config file (VictoriaMetrics'
/// `-promscrape.*` flags).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DiscoveryOptions {
    /// A job's groups are published at most once per this interval (the first update
    /// of a quiet job goes out at once). Prometheus' discovery manager uses 5s.
    pub update_interval: Duration,
    /// Overrides every `file_sd_configs` `refresh_interval`
    /// (`-promscrape.fileSDCheckInterval`, 1m in VictoriaMetrics).
    pub file_sd_check_interval: Option<Duration>,
    /// Overrides every `http_sd_configs` `refresh_interval`
    /// (`-promscrape.httpSDCheckInterval`).
    pub http_sd_check_interval: Option<Duration>,
    /// Overrides every `dns_sd_configs` `refresh_interval`
    /// (`-promscrape.dnsSDCheckInterval`).
    pub dns_sd_check_interval: Option<Duration>,
    /// Timeout of one HTTP SD request.
    pub http_timeout: Duration,
    /// Kubernetes list/watch settings.
    pub kubernetes: KubernetesOptions,
}

impl Default for DiscoveryOptions {
    fn default() -> Self {
        DiscoveryOptions {
            update_interval: Duration::from_secs(5),
            file_sd_check_interval: None,
            http_sd_check_interval: None,
            dns_sd_check_interval: None,
            http_timeout: Duration::from_secs(30),
            kubernetes: KubernetesOptions::default(),
        }
    }
}

/// Where a discoverer sends its snapshots.
#[derive(Clone, Debug)]
pub(crate) struct Publisher {
    id: u64,
    tx: mpsc::UnboundedSender<(u64, Vec<TargetGroup>)>,
}

impl Publisher {
    /// Replaces this discoverer's groups. False when the manager is gone (the
    /// discoverer should stop).
    pub(crate) fn publish(&self, groups: Vec<TargetGroup>) -> bool {
        self.tx.send((self.id, groups)).is_ok()
    }

    #[cfg(test)]
    pub(crate) fn for_test() -> (Publisher, mpsc::UnboundedReceiver<(u64, Vec<TargetGroup>)>) {
        let (tx, rx) = mpsc::unbounded_channel();
        (Publisher { id: 0, tx }, rx)
    }
}

/// The merged groups of one job, as published.
pub type JobTargets = Arc<Vec<TargetGroup>>;

/// A discoverer: its job, the identity of its config, its task.
#[derive(Debug)]
struct Provider {
    job: String,
    key: String,
    task: Option<JoinHandle<()>>,
}

/// One job's channel and publication state.
#[derive(Debug)]
struct Job {
    tx: watch::Sender<JobTargets>,
    last_sent: Option<Instant>,
    dirty: bool,
}

/// What the merge task and [`DiscoveryManager::apply`] share.
#[derive(Debug, Default)]
struct State {
    providers: BTreeMap<u64, Provider>,
    groups: BTreeMap<u64, Vec<TargetGroup>>,
    jobs: BTreeMap<String, Job>,
}

impl State {
    fn publish(&mut self, job: &str) {
        let merged: Vec<TargetGroup> = self
            .providers
            .iter()
            .filter(|(_, p)| p.job == job)
            .filter_map(|(id, _)| self.groups.get(id))
            .flat_map(|g| g.iter().cloned())
            .collect();
        if let Some(j) = self.jobs.get_mut(job) {
            j.tx.send_replace(Arc::new(merged));
            j.last_sent = Some(Instant::now());
            j.dirty = false;
        }
    }
}

/// Runs the discoverers of every job of a config and publishes each job's groups.
///
/// [`DiscoveryManager::apply`] switches to a new config, keeping the discoverers (and
/// the channels) of unchanged SD configs. Dropping the manager stops every discoverer.
#[derive(Debug)]
pub struct DiscoveryManager {
    state: Arc<Mutex<State>>,
    receivers: BTreeMap<String, watch::Receiver<JobTargets>>,
    tx: mpsc::UnboundedSender<(u64, Vec<TargetGroup>)>,
    next_id: u64,
    opts: DiscoveryOptions,
    merge: JoinHandle<()>,
}

/// Each SD config of a job with its identity (kind and YAML form).
fn sd_keys(job: &ScrapeConfig) -> Vec<(String, SdConfig)> {
    fn key<T: serde::Serialize>(kind: &str, c: &T) -> String {
        format!("{kind}:{}", serde_yaml_ng::to_string(c).unwrap_or_default())
    }
    let mut out = Vec::new();
    if !job.static_configs.is_empty() {
        out.push((
            key("static", &job.static_configs),
            SdConfig::Static(job.static_configs.clone()),
        ));
    }
    out.extend(
        job.file_sd_configs
            .iter()
            .map(|c| (key("file", c), SdConfig::File(c.clone()))),
    );
    out.extend(
        job.http_sd_configs
            .iter()
            .map(|c| (key("http", c), SdConfig::Http(c.clone()))),
    );
    out.extend(
        job.dns_sd_configs
            .iter()
            .map(|c| (key("dns", c), SdConfig::Dns(c.clone()))),
    );
    out.extend(
        job.kubernetes_sd_configs
            .iter()
            .map(|c| (key("kubernetes", c), SdConfig::Kubernetes(c.clone()))),
    );
    out
}

/// One SD config of any kind.
enum SdConfig {
    Static(Vec<crate::config::StaticConfig>),
    File(crate::config::FileSdConfig),
    Http(crate::config::HttpSdConfig),
    Dns(crate::config::DnsSdConfig),
    Kubernetes(crate::config::KubernetesSdConfig),
}

impl DiscoveryManager {
    /// Starts the discoverers of every job of `cfg` on the current tokio runtime.
    ///
    /// # Panics
    /// Outside a tokio runtime (as `tokio::spawn`).
    pub fn start(cfg: &Config, opts: &DiscoveryOptions) -> DiscoveryManager {
        let (tx, rx) = mpsc::unbounded_channel();
        let state = Arc::new(Mutex::new(State::default()));
        let merge = tokio::spawn(merge_loop(rx, state.clone(), opts.update_interval));
        let mut m = DiscoveryManager {
            state,
            receivers: BTreeMap::new(),
            tx,
            next_id: 0,
            opts: opts.clone(),
            merge,
        };
        m.apply(cfg);
        m
    }

    /// Switches to `cfg`: discoverers whose job and SD config are unchanged keep running
    /// (their targets stay published), others are stopped or started; jobs that are
    /// gone close their channel; a job whose SD configs changed keeps its previous
    /// groups until a new discoverer reports.
    pub fn apply(&mut self, cfg: &Config) {
        let mut state = self.state.lock().unwrap_or_else(|e| e.into_inner());
        let wanted: Vec<(String, String, SdConfig)> = cfg
            .scrape_configs
            .iter()
            .flat_map(|j| {
                sd_keys(j)
                    .into_iter()
                    .map(|(k, c)| (j.job_name.clone(), k, c))
            })
            .collect();
        // Stop discoverers no longer wanted.
        let stale: Vec<u64> = state
            .providers
            .iter()
            .filter(|(_, p)| !wanted.iter().any(|(j, k, _)| *j == p.job && *k == p.key))
            .map(|(id, _)| *id)
            .collect();
        let mut touched = BTreeSet::new();
        for id in stale {
            if let Some(p) = state.providers.remove(&id) {
                if let Some(t) = p.task {
                    t.abort();
                }
                touched.insert(p.job);
            }
            state.groups.remove(&id);
        }
        // Close the channels of removed jobs, open those of new ones.
        let names: BTreeSet<&str> = cfg
            .scrape_configs
            .iter()
            .map(|j| j.job_name.as_str())
            .collect();
        state.jobs.retain(|name, _| names.contains(name.as_str()));
        self.receivers
            .retain(|name, _| names.contains(name.as_str()));
        for name in names {
            if !state.jobs.contains_key(name) {
                let (tx, rx) = watch::channel(JobTargets::default());
                state.jobs.insert(
                    name.to_owned(),
                    Job {
                        tx,
                        last_sent: None,
                        dirty: false,
                    },
                );
                self.receivers.insert(name.to_owned(), rx);
            }
        }
        // Start new discoverers.
        let mut started = BTreeSet::new();
        for (job, key, sd) in wanted {
            if state
                .providers
                .values()
                .any(|p| p.job == job && p.key == key)
            {
                continue;
            }
            let id = self.next_id;
            self.next_id += 1;
            let p = Publisher {
                id,
                tx: self.tx.clone(),
            };
            let task = self.spawn(sd, p);
            started.insert(job.clone());
            state.providers.insert(id, Provider { job, key, task });
        }
        // Jobs that only lost discoverers publish the removal.
        for job in touched.difference(&started) {
            if let Some(j) = state.jobs.get_mut(job) {
                j.dirty = true;
            }
        }
    }

    fn spawn(&self, sd: SdConfig, p: Publisher) -> Option<JoinHandle<()>> {
        let o = &self.opts;
        Some(match sd {
            SdConfig::Static(c) => {
                p.publish(super::static_groups(&c));
                return None;
            }
            SdConfig::File(c) => {
                let every = o.file_sd_check_interval.unwrap_or(c.refresh_interval.get());
                tokio::spawn(super::file_sd::run(c, every, p))
            }
            SdConfig::Http(c) => {
                let every = o.http_sd_check_interval.unwrap_or(c.refresh_interval.get());
                tokio::spawn(super::http_sd::run(c, every, o.http_timeout, p))
            }
            SdConfig::Dns(c) => {
                let every = o.dns_sd_check_interval.unwrap_or(c.refresh_interval.get());
                tokio::spawn(super::dns_sd::run(c, every, p))
            }
            SdConfig::Kubernetes(c) => {
                tokio::spawn(super::kubernetes::run(c, o.kubernetes.clone(), p))
            }
        })
    }

    /// The channel of job `name`'s merged groups. It closes when a reload removes the
    /// job.
    pub fn job(&self, name: &str) -> Option<watch::Receiver<JobTargets>> {
        self.receivers.get(name).cloned()
    }

    /// Every job's channel, by job name.
    pub fn jobs(&self) -> &BTreeMap<String, watch::Receiver<JobTargets>> {
        &self.receivers
    }

    /// Stops every discoverer; the channels keep their last value.
    pub fn stop(&mut self) {
        self.merge.abort();
        let mut state = self.state.lock().unwrap_or_else(|e| e.into_inner());
        for p in state.providers.values_mut() {
            if let Some(t) = p.task.take() {
                t.abort();
            }
        }
    }
}

impl Drop for DiscoveryManager {
    fn drop(&mut self) {
        self.stop();
    }
}

/// Collects snapshots and publishes merged groups per job, at most once per
/// `interval` per job (a quiet job's first update goes out at once).
async fn merge_loop(
    mut rx: mpsc::UnboundedReceiver<(u64, Vec<TargetGroup>)>,
    state: Arc<Mutex<State>>,
    interval: Duration,
) {
    let mut ticker = tokio::time::interval(interval.max(Duration::from_millis(1)));
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            msg = rx.recv() => {
                let Some((id, snapshot)) = msg else { break };
                let mut st = state.lock().unwrap_or_else(|e| e.into_inner());
                // Late snapshots of stopped discoverers are dropped.
                let Some(job) = st.providers.get(&id).map(|p| p.job.clone()) else { continue };
                st.groups.insert(id, snapshot);
                let quiet = st.jobs.get(&job).is_some_and(|j| j.last_sent.is_none_or(|t| t.elapsed() >= interval));
                if quiet {
                    st.publish(&job);
                } else if let Some(j) = st.jobs.get_mut(&job) {
                    j.dirty = true;
                }
            }
            _ = ticker.tick() => {
                let mut st = state.lock().unwrap_or_else(|e| e.into_inner());
                let dirty: Vec<String> = st.jobs.iter().filter(|(_, j)| j.dirty).map(|(n, _)| n.clone()).collect();
                for job in dirty {
                    st.publish(&job);
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::ConfigOptions;

    #[tokio::test]
    async fn static_targets_are_published_per_job() {
        let cfg = Config::from_yaml(
            "scrape_configs:\n- job_name: a\n  static_configs: [{targets: ['h:1', 'h:2']}, {targets: ['h:3'], labels: {x: y}}]\n- job_name: empty\n",
            &ConfigOptions::default(),
        )
        .unwrap();
        let m = DiscoveryManager::start(&cfg, &DiscoveryOptions::default());
        let mut a = m.job("a").unwrap();
        let groups = a.wait_for(|g| !g.is_empty()).await.unwrap().clone();
        assert_eq!(groups.len(), 2);
        assert_eq!(groups[1].labels["x"], "y");
        assert_eq!(groups[0].targets.len(), 2);
        assert!(m.job("empty").unwrap().borrow().is_empty());
        assert!(m.job("nope").is_none());
        assert_eq!(m.jobs().len(), 2);
    }

    #[tokio::test]
    async fn apply_keeps_unchanged_jobs_and_replaces_changed_ones() {
        let opts = ConfigOptions::default();
        let load = |t: &str| Config::from_yaml(t, &opts).unwrap();
        let dopts = DiscoveryOptions {
            update_interval: Duration::from_millis(10),
            ..DiscoveryOptions::default()
        };
        let mut m = DiscoveryManager::start(
            &load(
                "scrape_configs:\n- job_name: keep\n  static_configs: [{targets: ['k:1']}]\n- job_name: change\n  static_configs: [{targets: ['c:1']}]\n- job_name: gone\n  static_configs: [{targets: ['g:1']}]\n",
            ),
            &dopts,
        );
        let mut keep = m.job("keep").unwrap();
        let mut change = m.job("change").unwrap();
        let mut gone = m.job("gone").unwrap();
        keep.wait_for(|g| !g.is_empty()).await.unwrap();
        change.wait_for(|g| !g.is_empty()).await.unwrap();
        gone.wait_for(|g| !g.is_empty()).await.unwrap();
        keep.mark_unchanged();
        m.apply(&load("scrape_configs:\n- job_name: keep\n  static_configs: [{targets: ['k:1']}]\n- job_name: change\n  static_configs: [{targets: ['c:2']}]\n- job_name: new\n  static_configs: [{targets: ['n:1']}]\n"));
        let addr = |g: &JobTargets| g[0].targets[0]["__address__"].clone();
        let got = change
            .wait_for(|g| !g.is_empty() && addr(g) == "c:2")
            .await
            .unwrap()
            .clone();
        assert_eq!(got.len(), 1, "the old static group is gone");
        // The removed job's channel closes; the unchanged job is not republished.
        assert!(
            tokio::time::timeout(Duration::from_secs(5), gone.changed())
                .await
                .unwrap()
                .is_err()
        );
        assert!(!keep.has_changed().unwrap());
        assert!(m.job("gone").is_none());
        let mut new = m.job("new").unwrap();
        assert_eq!(addr(&new.wait_for(|g| !g.is_empty()).await.unwrap()), "n:1");
    }
}
