//! One alert instance of an alerting rule and its state.

use std::collections::BTreeMap;

use gnomon_tsdb_core::model::Labels;

/// How long a resolved alert is kept so that its resolution is sent (Prometheus: 15m).
pub const RESOLVED_RETENTION_MS: i64 = 15 * 60_000;

/// Where an alert is in its life.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum AlertState {
    /// Resolved (kept for notification) or never active.
    Inactive,
    /// Active for less than the rule's `for`.
    Pending,
    /// Active for at least `for`.
    Firing,
}

impl AlertState {
    /// `inactive`, `pending` or `firing`, as in `ALERTS{alertstate=…}` and the API.
    pub fn as_str(self) -> &'static str {
        match self {
            AlertState::Inactive => "inactive",
            AlertState::Pending => "pending",
            AlertState::Firing => "firing",
        }
    }
}

/// One alert: the labels that identify it, its expanded annotations and its times (ms).
#[derive(Clone, Debug, PartialEq)]
pub struct Alert {
    /// Sample labels without `__name__`, plus the rule's labels and `alertname`.
    pub labels: Labels,
    /// Expanded annotations.
    pub annotations: BTreeMap<String, String>,
    /// State.
    pub state: AlertState,
    /// The value of the sample that made it active (latest evaluation).
    pub value: f64,
    /// When it became active.
    pub active_at: i64,
    /// When it started firing (0: never).
    pub fired_at: i64,
    /// When it was resolved (0: not resolved).
    pub resolved_at: i64,
    /// When it was last sent to Alertmanager (0: never).
    pub last_sent_at: i64,
    /// The `endsAt` sent while it fires: Alertmanager resolves it by itself after this.
    pub valid_until: i64,
    /// Since when it has been kept firing by `keep_firing_for` (0: not kept).
    pub keep_firing_since: i64,
}

impl Alert {
    /// Whether it should be (re)sent at `t`: firing or newly resolved, and not sent within
    /// `resend_delay`.
    pub fn needs_sending(&self, t: i64, resend_delay: i64) -> bool {
        if self.state == AlertState::Pending {
            return false;
        }
        if self.resolved_at > self.last_sent_at {
            return true;
        }
        self.last_sent_at + resend_delay < t
    }
}
