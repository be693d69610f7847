//! Restoring `for` state after a restart from the `ALERTS_FOR_STATE` series, as
//! Prometheus does: an alert that was pending keeps its original activation time,
//! shifted by the downtime, with a grace period so it does not fire the moment the
//! server is back.

use gnomon_tsdb_core::model::{MatchOp, Matcher, Querier, TimeRange, is_stale_nan};

use crate::alert::AlertState;
use crate::error::Result;
use crate::rule::AlertingRule;

/// Restore settings (Prometheus' `rules.alert.*` flags).
#[derive(Clone, Copy, Debug)]
pub struct RestoreOptions {
    /// How far back `ALERTS_FOR_STATE` is searched (`outage-tolerance`, 1h).
    pub outage_tolerance: i64,
    /// Least time an alert stays pending after a restore (`for-grace-period`, 10m).
    pub for_grace_period: i64,
}

impl Default for RestoreOptions {
    fn default() -> Self {
        RestoreOptions {
            outage_tolerance: 3_600_000,
            for_grace_period: 600_000,
        }
    }
}

/// Restores the activation times of `rule`'s pending alerts at `t` (ms), then marks the
/// rule restored (its `ALERTS` series are written from now on). Rules whose `for` is
/// shorter than the grace period are only marked.
///
/// # Errors
/// Storage errors of the querier.
pub fn restore_for_state(
    rule: &mut AlertingRule,
    q: &dyn Querier,
    t: i64,
    o: &RestoreOptions,
) -> Result<()> {
    if rule.for_ < o.for_grace_period {
        rule.restored = true;
        return Ok(());
    }
    for a in rule.active.values_mut() {
        if a.state != AlertState::Pending {
            continue;
        }
        let mut matchers = vec![Matcher::new(
            MatchOp::Equal,
            "__name__",
            "ALERTS_FOR_STATE",
        )?];
        for l in a.labels.iter() {
            matchers.push(Matcher::new(
                MatchOp::Equal,
                l.name.clone(),
                l.value.clone(),
            )?);
        }
        let mut last: Option<(i64, f64)> = None;
        for s in q.select(&matchers, TimeRange::new(t - o.outage_tolerance, t - 1))? {
            let s = s?;
            if s.labels.len() != a.labels.len() + 1 {
                continue;
            }
            if let Some(x) = s.samples.iter().rev().find(|x| !is_stale_nan(x.v)) {
                last = Some((x.t, x.v));
            }
        }
        let Some((down_at, active_secs)) = last else {
            continue;
        };
        let mut active_at = (active_secs * 1000.0) as i64;
        let downtime = t - down_at;
        let remaining = rule.for_ - (down_at - active_at);
        if remaining <= 0 {
            // It would have fired already: fires at the next evaluation.
        } else if remaining < o.for_grace_period {
            active_at = t - rule.for_ + o.for_grace_period;
        } else {
            active_at += downtime;
        }
        a.active_at = active_at;
    }
    rule.restored = true;
    Ok(())
}
