//! The discovery manager: one task per SD config, one `watch` channel per job.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::{mpsc, watch};
use tokio::task::JoinHandle;
use tokio::time::Instant;

use super::TargetGroup;
use super::kubernetes::KubernetesOptions;
use crate::config::Config;

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
    id: usize,
    tx: mpsc::UnboundedSender<(usize, Vec<TargetGroup>)>,
}

impl Publisher {
    /// Replaces this discoverer's groups. False when the manager is gone (the
    /// discoverer should stop).
    pub(crate) fn publish(&self, groups: Vec<TargetGroup>) -> bool {
        self.tx.send((self.id, groups)).is_ok()
    }

    #[cfg(test)]
    pub(crate) fn for_test() -> (
        Publisher,
        mpsc::UnboundedReceiver<(usize, Vec<TargetGroup>)>,
    ) {
        let (tx, rx) = mpsc::unbounded_channel();
        (Publisher { id: 0, tx }, rx)
    }
}

/// The merged groups of one job, as published.
pub type JobTargets = Arc<Vec<TargetGroup>>;

/// Runs the discoverers of every job of a config and publishes each job's groups.
///
/// Dropping the manager stops every discoverer.
#[derive(Debug)]
pub struct DiscoveryManager {
    jobs: BTreeMap<String, watch::Receiver<JobTargets>>,
    tasks: Vec<JoinHandle<()>>,
}

impl DiscoveryManager {
    /// Starts the discoverers of every job of `cfg` on the current tokio runtime.
    ///
    /// # Panics
    /// Outside a tokio runtime (as `tokio::spawn`).
    pub fn start(cfg: &Config, opts: &DiscoveryOptions) -> DiscoveryManager {
        let (tx, rx) = mpsc::unbounded_channel();
        let mut tasks = Vec::new();
        let mut senders = Vec::new();
        let mut jobs = BTreeMap::new();
        let mut provider_job = Vec::new();
        for (job_index, job) in cfg.scrape_configs.iter().enumerate() {
            let (wtx, wrx) = watch::channel(JobTargets::default());
            senders.push(wtx);
            jobs.insert(job.job_name.clone(), wrx);
            let next = |provider_job: &mut Vec<usize>| {
                provider_job.push(job_index);
                Publisher {
                    id: provider_job.len() - 1,
                    tx: tx.clone(),
                }
            };
            if !job.static_configs.is_empty() {
                let p = next(&mut provider_job);
                p.publish(super::static_groups(&job.static_configs));
            }
            for c in &job.file_sd_configs {
                let p = next(&mut provider_job);
                let every = opts
                    .file_sd_check_interval
                    .unwrap_or(c.refresh_interval.get());
                tasks.push(tokio::spawn(super::file_sd::run(c.clone(), every, p)));
            }
            for c in &job.http_sd_configs {
                let p = next(&mut provider_job);
                let every = opts
                    .http_sd_check_interval
                    .unwrap_or(c.refresh_interval.get());
                tasks.push(tokio::spawn(super::http_sd::run(
                    c.clone(),
                    every,
                    opts.http_timeout,
                    p,
                )));
            }
            for c in &job.dns_sd_configs {
                let p = next(&mut provider_job);
                let every = opts
                    .dns_sd_check_interval
                    .unwrap_or(c.refresh_interval.get());
                tasks.push(tokio::spawn(super::dns_sd::run(c.clone(), every, p)));
            }
            for c in &job.kubernetes_sd_configs {
                let p = next(&mut provider_job);
                tasks.push(tokio::spawn(super::kubernetes::run(
                    c.clone(),
                    opts.kubernetes.clone(),
                    p,
                )));
            }
        }
        drop(tx);
        tasks.push(tokio::spawn(merge_loop(
            rx,
            senders,
            provider_job,
            opts.update_interval,
        )));
        DiscoveryManager { jobs, tasks }
    }

    /// The channel of job `name`'s merged groups.
    pub fn job(&self, name: &str) -> Option<watch::Receiver<JobTargets>> {
        self.jobs.get(name).cloned()
    }

    /// Every job's channel, by job name.
    pub fn jobs(&self) -> &BTreeMap<String, watch::Receiver<JobTargets>> {
        &self.jobs
    }

    /// Stops every discoverer; the channels keep their last value.
    pub fn stop(&mut self) {
        for t in self.tasks.drain(..) {
            t.abort();
        }
    }
}

impl Drop for DiscoveryManager {
    fn drop(&mut self) {
        self.stop();
    }
}

/// Collects snapshots and publishes merged groups per job, at most once per
/// `interval` per job.
async fn merge_loop(
    mut rx: mpsc::UnboundedReceiver<(usize, Vec<TargetGroup>)>,
    senders: Vec<watch::Sender<JobTargets>>,
    provider_job: Vec<usize>,
    interval: Duration,
) {
    let mut groups: Vec<Vec<TargetGroup>> = vec![Vec::new(); provider_job.len()];
    let mut last_sent: Vec<Option<Instant>> = vec![None; senders.len()];
    let mut dirty = BTreeSet::new();
    let mut ticker = tokio::time::interval(interval.max(Duration::from_millis(1)));
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let publish = |job: usize, groups: &[Vec<TargetGroup>], last_sent: &mut [Option<Instant>]| {
        let merged: Vec<TargetGroup> = provider_job
            .iter()
            .zip(groups)
            .filter(|(j, _)| **j == job)
            .flat_map(|(_, g)| g.iter().cloned())
            .collect();
        senders[job].send_replace(Arc::new(merged));
        last_sent[job] = Some(Instant::now());
    };
    loop {
        tokio::select! {
            msg = rx.recv() => {
                let Some((provider, snapshot)) = msg else { break };
                groups[provider] = snapshot;
                let job = provider_job[provider];
                let quiet = last_sent[job].is_none_or(|t| t.elapsed() >= interval);
                if quiet {
                    publish(job, &groups, &mut last_sent);
                    dirty.remove(&job);
                } else {
                    dirty.insert(job);
                }
            }
            _ = ticker.tick() => {
                for job in std::mem::take(&mut dirty) {
                    publish(job, &groups, &mut last_sent);
                }
            }
        }
    }
    for job in dirty {
        publish(job, &groups, &mut last_sent);
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
}
