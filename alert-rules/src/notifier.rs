//! Sends alerts to Alertmanager (API v2: `POST /api/v2/alerts`, a JSON list of
//! `{labels, annotations, startsAt, endsAt, generatorURL}`) with retries, to every
//! configured Alertmanager. A bounded queue decouples rule evaluation from the network:
//! when it is full the oldest batch is dropped and counted.

use std::collections::{BTreeMap, VecDeque};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use gnomon_tsdb_core::model::Labels;
use tokio::sync::Notify;

use crate::alert::Alert;
use crate::timefmt::rfc3339;

/// One alert as Alertmanager receives it.
#[derive(Clone, Debug, PartialEq, serde::Serialize)]
pub struct AmAlert {
    /// Labels (alert labels, then external labels where the alert has none).
    pub labels: BTreeMap<String, String>,
    /// Annotations.
    pub annotations: BTreeMap<String, String>,
    /// RFC 3339 start.
    #[serde(rename = "startsAt")]
    pub starts_at: String,
    /// RFC 3339 end: the resolution time, or how long a firing alert stays valid.
    #[serde(rename = "endsAt")]
    pub ends_at: String,
    /// Link to the expression.
    #[serde(rename = "generatorURL")]
    pub generator_url: String,
}

impl AmAlert {
    /// Builds the message for `a` of the rule with expression `expr`, as Prometheus does:
    /// `startsAt` = when it fired, `endsAt` = resolution or `valid_until`.
    pub fn from_alert(
        a: &Alert,
        expr: &str,
        external_labels: &Labels,
        external_url: &str,
    ) -> AmAlert {
        let mut labels: BTreeMap<String, String> = a
            .labels
            .iter()
            .map(|l| (l.name.clone(), l.value.clone()))
            .collect();
        for l in external_labels.iter() {
            labels
                .entry(l.name.clone())
                .or_insert_with(|| l.value.clone());
        }
        let ends = if a.resolved_at != 0 {
            a.resolved_at
        } else {
            a.valid_until
        };
        AmAlert {
            labels,
            annotations: a.annotations.clone(),
            starts_at: rfc3339(if a.fired_at != 0 {
                a.fired_at
            } else {
                a.active_at
            }),
            ends_at: rfc3339(ends),
            generator_url: format!(
                "{}/graph?g0.expr={}&g0.tab=1",
                external_url.trim_end_matches('/'),
                crate::template::query_escape(expr)
            ),
        }
    }
}

/// Notifier settings.
#[derive(Clone, Debug)]
pub struct NotifierOptions {
    /// Alertmanager base URLs (`http://am:9093`); `/api/v2/alerts` is appended.
    pub urls: Vec<String>,
    /// Timeout of one POST.
    pub timeout: Duration,
    /// Attempts per batch and Alertmanager.
    pub attempts: u32,
    /// Batches kept while Alertmanager is slow (Prometheus' queue holds 10000 alerts).
    pub queue_batches: usize,
}

impl Default for NotifierOptions {
    fn default() -> Self {
        NotifierOptions {
            urls: Vec::new(),
            timeout: Duration::from_secs(10),
            attempts: 3,
            queue_batches: 1000,
        }
    }
}

/// Counters of the notifier.
#[derive(Debug, Default)]
pub struct NotifierStats {
    /// Alerts delivered (per Alertmanager).
    pub sent: AtomicU64,
    /// Alerts that could not be delivered after every attempt (per Alertmanager).
    pub errors: AtomicU64,
    /// Alerts dropped because the queue was full.
    pub dropped: AtomicU64,
}

struct Shared {
    queue: parking_lot::Mutex<VecDeque<Vec<AmAlert>>>,
    wake: Notify,
    stats: NotifierStats,
    opts: NotifierOptions,
}

/// The sending side; cheap to clone. A background task (started by [`Notifier::start`]
/// on the current tokio runtime) delivers the queue.
#[derive(Clone)]
pub struct Notifier {
    shared: Arc<Shared>,
}

impl Notifier {
    /// Starts the delivery task.
    ///
    /// # Panics
    /// Outside a tokio runtime (a programming error of the caller).
    pub fn start(opts: NotifierOptions) -> Notifier {
        let shared = Arc::new(Shared {
            queue: parking_lot::Mutex::new(VecDeque::new()),
            wake: Notify::new(),
            stats: NotifierStats::default(),
            opts,
        });
        let worker = shared.clone();
        tokio::spawn(async move { deliver(worker).await });
        Notifier { shared }
    }

    /// Queues a batch (nothing happens for an empty one or without URLs).
    pub fn send(&self, alerts: Vec<AmAlert>) {
        if alerts.is_empty() || self.shared.opts.urls.is_empty() {
            return;
        }
        let mut q = self.shared.queue.lock();
        if q.len() >= self.shared.opts.queue_batches.max(1)
            && let Some(old) = q.pop_front()
        {
            self.shared
                .stats
                .dropped
                .fetch_add(old.len() as u64, Ordering::Relaxed);
        }
        q.push_back(alerts);
        drop(q);
        self.shared.wake.notify_one();
    }

    /// The counters.
    pub fn stats(&self) -> &NotifierStats {
        &self.shared.stats
    }
}

async fn deliver(s: Arc<Shared>) {
    let client = match reqwest::Client::builder().timeout(s.opts.timeout).build() {
        Ok(c) => c,
        Err(e) => {
            log::error!("cannot build the Alertmanager HTTP client: {e}");
            return;
        }
    };
    loop {
        let batch = s.queue.lock().pop_front();
        let Some(batch) = batch else {
            s.wake.notified().await;
            continue;
        };
        let body = match serde_json::to_vec(&batch) {
            Ok(b) => b,
            Err(e) => {
                log::error!("cannot encode alerts: {e}");
                continue;
            }
        };
        for url in &s.opts.urls {
            let target = format!("{}/api/v2/alerts", url.trim_end_matches('/'));
            if post_with_retries(&client, &target, &body, s.opts.attempts).await {
                s.stats
                    .sent
                    .fetch_add(batch.len() as u64, Ordering::Relaxed);
            } else {
                s.stats
                    .errors
                    .fetch_add(batch.len() as u64, Ordering::Relaxed);
            }
        }
    }
}

/// Backoff between attempts: 100ms, 200ms, 400ms… (short: the next evaluation resends
/// firing alerts anyway).
const FIRST_BACKOFF: Duration = Duration::from_millis(100);

async fn post_with_retries(
    client: &reqwest::Client,
    url: &str,
    body: &[u8],
    attempts: u32,
) -> bool {
    let mut backoff = FIRST_BACKOFF;
    for attempt in 1..=attempts.max(1) {
        let r = client
            .post(url)
            .header("Content-Type", "application/json")
            .body(body.to_vec())
            .send()
            .await;
        match r {
            Ok(resp) if resp.status().is_success() => return true,
            Ok(resp) => log::warn!(
                "alertmanager {url}: attempt {attempt}: HTTP {}",
                resp.status()
            ),
            Err(e) => log::warn!("alertmanager {url}: attempt {attempt}: {e}"),
        }
        tokio::time::sleep(backoff).await;
        backoff *= 2;
    }
    false
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::alert::AlertState;

    #[test]
    fn alertmanager_json() {
        let a = Alert {
            labels: Labels::from_pairs(&[("alertname", "A"), ("dc", "x")]),
            annotations: [("s".to_string(), "hi".to_string())].into(),
            state: AlertState::Firing,
            value: 1.0,
            active_at: 1_000,
            fired_at: 2_000,
            resolved_at: 0,
            last_sent_at: 2_000,
            valid_until: 242_000,
            keep_firing_since: 0,
        };
        let ext = Labels::from_pairs(&[("dc", "ignored"), ("region", "eu")]);
        let m = AmAlert::from_alert(&a, "up == 0", &ext, "http://h:8428/");
        let json = serde_json::to_string(&m).unwrap();
        assert_eq!(
            json,
            r#"{"labels":{"alertname":"A","dc":"x","region":"eu"},"annotations":{"s":"hi"},"startsAt":"1970-01-01T00:00:02Z","endsAt":"1970-01-01T00:04:02Z","generatorURL":"http://h:8428/graph?g0.expr=up+%3D%3D+0&g0.tab=1"}"#
        );
    }
}
