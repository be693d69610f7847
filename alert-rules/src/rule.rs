//! Recording and alerting rules ready to evaluate: the expression parsed, labels merged
//! with the group's, and for alerting rules the active alerts.

use std::collections::{BTreeMap, HashMap};

use gnomon_promql::Expr;
use gnomon_promql::engine::{Engine, Value};
use gnomon_tsdb_core::model::{Labels, Querier, Sample};

use crate::alert::{Alert, AlertState, RESOLVED_RETENTION_MS};
use crate::error::{Error, Result};
use crate::rulefmt;
use crate::template::{AlertData, QuerySample, TemplateEnv, expand_alert};

/// Runs rule queries somewhere else than the local engine (a remote Prometheus-compatible
/// datasource, as vmalert does).
pub trait QueryBackend: Send + Sync {
    /// Evaluates `expr` at `t` (ms): its samples, a scalar as one sample without labels.
    ///
    /// # Errors
    /// Whatever the backend reports (its error text is kept).
    fn query(&self, expr: &Expr, t: i64) -> Result<Vec<QuerySample>>;
}

/// What a rule evaluation needs besides the rule.
#[derive(Clone, Copy)]
pub struct EvalContext<'a> {
    /// The query engine.
    pub engine: &'a Engine,
    /// Where series are read.
    pub querier: &'a dyn Querier,
    /// When set, queries go there instead of the engine.
    pub remote: Option<&'a dyn QueryBackend>,
    /// `$externalLabels` of templates.
    pub external_labels: &'a Labels,
    /// `$externalURL` of templates.
    pub external_url: &'a str,
}

/// Runs `expr` at `t` and returns its samples (a scalar is one sample without labels).
///
/// # Errors
/// Evaluation errors; a string or range-vector result.
pub fn query_samples(ctx: &EvalContext<'_>, expr: &Expr, t: i64) -> Result<Vec<QuerySample>> {
    if let Some(r) = ctx.remote {
        return r.query(expr, t);
    }
    match ctx.engine.instant(ctx.querier, expr, t)? {
        Value::Vector(v) => Ok(v
            .into_iter()
            .map(|s| QuerySample {
                labels: s.labels,
                value: s.v,
            })
            .collect()),
        Value::Scalar { v, .. } => Ok(vec![QuerySample {
            labels: Labels::empty(),
            value: v,
        }]),
        _ => Err(Error::NotVectorOrScalar),
    }
}

fn merge_labels(
    group: &BTreeMap<String, String>,
    rule: &BTreeMap<String, String>,
) -> Vec<(String, String)> {
    let mut all = group.clone();
    all.extend(rule.iter().map(|(k, v)| (k.clone(), v.clone())));
    all.into_iter().collect()
}

/// A recording rule.
#[derive(Clone, Debug)]
pub struct RecordingRule {
    /// The series name written.
    pub name: String,
    /// The expression.
    pub expr: Expr,
    /// Labels set on every output series (group labels, then rule labels).
    pub labels: Vec<(String, String)>,
}

impl RecordingRule {
    /// Evaluates at `t` (the query time, already shifted by any query offset): the
    /// samples to write.
    ///
    /// # Errors
    /// Evaluation errors, duplicate output series, more than `limit` series.
    pub fn eval(
        &self,
        ctx: &EvalContext<'_>,
        t: i64,
        limit: usize,
    ) -> Result<Vec<(Labels, Sample)>> {
        let rows = query_samples(ctx, &self.expr, t)?;
        let mut out = Vec::with_capacity(rows.len());
        let mut seen = std::collections::HashSet::new();
        for r in rows {
            let mut b = r.labels.builder();
            b.set("__name__", &self.name);
            for (k, v) in &self.labels {
                b.set(k, v);
            }
            let l = b.build();
            if !seen.insert(l.clone()) {
                return Err(Error::DuplicateLabelset("rule"));
            }
            out.push((l, Sample::new(t, r.value)));
        }
        if limit > 0 && out.len() > limit {
            return Err(Error::LimitExceeded {
                limit,
                got: out.len(),
                what: "series",
            });
        }
        Ok(out)
    }
}

/// An alerting rule and its active alerts.
#[derive(Clone, Debug)]
pub struct AlertingRule {
    /// `alertname`.
    pub name: String,
    /// The expression.
    pub expr: Expr,
    /// `for` in ms.
    pub for_: i64,
    /// `keep_firing_for` in ms.
    pub keep_firing_for: i64,
    /// Label templates (group labels, then rule labels).
    pub labels: Vec<(String, String)>,
    /// Annotation templates.
    pub annotations: Vec<(String, String)>,
    /// Active (pending, firing, recently resolved) alerts by label set.
    pub active: HashMap<Labels, Alert>,
    /// Whether `ALERTS`/`ALERTS_FOR_STATE` are written (false until the state was
    /// restored after a restart).
    pub restored: bool,
}

impl AlertingRule {
    fn expand(
        &self,
        ctx: &EvalContext<'_>,
        t: i64,
        text: &str,
        labels: &Labels,
        value: f64,
    ) -> String {
        let data = AlertData {
            labels,
            external_labels: ctx.external_labels,
            external_url: ctx.external_url,
            value,
        };
        let q = |s: &str| -> std::result::Result<Vec<QuerySample>, String> {
            let e = gnomon_promql::parse(s).map_err(|e| e.to_string())?;
            query_samples(ctx, &e, t).map_err(|e| e.to_string())
        };
        let env = TemplateEnv {
            external_url: ctx.external_url,
            now_ms: t,
            query: Some(&q),
        };
        expand_alert(&format!("__alert_{}", self.name), text, &data, &env)
            .unwrap_or_else(|e| format!("<error expanding template: {e}>"))
    }

    /// Evaluates at `t` (query time `t - query_offset`): updates the alerts and returns
    /// the `ALERTS` / `ALERTS_FOR_STATE` samples to write, stamped `t - query_offset`.
    ///
    /// # Errors
    /// Evaluation errors, duplicate alert label sets, more than `limit` alerts (which
    /// also clears the alerts, as Prometheus does).
    pub fn eval(
        &mut self,
        ctx: &EvalContext<'_>,
        t: i64,
        query_offset: i64,
        limit: usize,
    ) -> Result<Vec<(Labels, Sample)>> {
        let qt = t - query_offset;
        let rows = query_samples(ctx, &self.expr, qt)?;
        let mut fresh: HashMap<Labels, Alert> = HashMap::with_capacity(rows.len());
        for r in rows {
            let mut b = r.labels.builder();
            b.del("__name__");
            for (k, v) in &self.labels {
                let v = self.expand(ctx, qt, v, &r.labels, r.value);
                b.set(k, &v);
            }
            b.set("alertname", &self.name);
            let labels = b.build();
            let annotations = self
                .annotations
                .iter()
                .map(|(k, v)| (k.clone(), self.expand(ctx, qt, v, &r.labels, r.value)))
                .collect();
            if fresh.contains_key(&labels) {
                return Err(Error::DuplicateLabelset("alert"));
            }
            fresh.insert(
                labels.clone(),
                Alert {
                    labels,
                    annotations,
                    state: AlertState::Pending,
                    value: r.value,
                    active_at: t,
                    fired_at: 0,
                    resolved_at: 0,
                    last_sent_at: 0,
                    valid_until: 0,
                    keep_firing_since: 0,
                },
            );
        }
        let present: std::collections::HashSet<Labels> = fresh.keys().cloned().collect();
        for (k, a) in fresh {
            match self.active.get_mut(&k) {
                Some(old) if old.state != AlertState::Inactive => {
                    old.value = a.value;
                    old.annotations = a.annotations;
                }
                _ => {
                    self.active.insert(k, a);
                }
            }
        }
        let mut out = Vec::new();
        let mut active_count = 0;
        let mut keys: Vec<Labels> = self.active.keys().cloned().collect();
        keys.sort();
        for k in keys {
            let Some(a) = self.active.get_mut(&k) else {
                continue;
            };
            if !present.contains(&k) {
                let mut keep = false;
                if a.state == AlertState::Firing && self.keep_firing_for > 0 {
                    if a.keep_firing_since == 0 {
                        a.keep_firing_since = t;
                    }
                    keep = t - a.keep_firing_since < self.keep_firing_for;
                }
                let drop = a.state == AlertState::Pending
                    || (a.resolved_at != 0 && t - a.resolved_at > RESOLVED_RETENTION_MS);
                if a.state != AlertState::Inactive && !keep {
                    a.state = AlertState::Inactive;
                    a.resolved_at = t;
                }
                if drop {
                    self.active.remove(&k);
                    continue;
                }
                if !keep {
                    continue;
                }
            } else {
                a.keep_firing_since = 0;
            }
            active_count += 1;
            if a.state == AlertState::Pending && t - a.active_at >= self.for_ {
                a.state = AlertState::Firing;
                a.fired_at = t;
            }
            if self.restored {
                out.push(alerts_sample(a, qt));
                out.push(for_state_sample(a, qt));
            }
        }
        if limit > 0 && active_count > limit {
            self.active.clear();
            return Err(Error::LimitExceeded {
                limit,
                got: active_count,
                what: "alerts",
            });
        }
        Ok(out)
    }

    /// Alerts in a state, sorted by labels.
    pub fn alerts(&self) -> Vec<&Alert> {
        let mut v: Vec<&Alert> = self.active.values().collect();
        v.sort_by(|a, b| a.labels.cmp(&b.labels));
        v
    }

    /// Marks the alerts due for (re)sending at `t` as sent and returns copies of them.
    /// `valid_until` is `t + 4 × max(resend_delay, interval)`, surviving two missed
    /// evaluations or sends, as in Prometheus.
    pub fn take_alerts_to_send(&mut self, t: i64, resend_delay: i64, interval: i64) -> Vec<Alert> {
        let mut out = Vec::new();
        for a in self.active.values_mut() {
            if a.needs_sending(t, resend_delay) {
                a.last_sent_at = t;
                a.valid_until = t + 4 * resend_delay.max(interval);
                out.push(a.clone());
            }
        }
        out.sort_by(|a, b| a.labels.cmp(&b.labels));
        out
    }
}

/// `ALERTS{…, alertstate="pending|firing"} 1`.
fn alerts_sample(a: &Alert, t: i64) -> (Labels, Sample) {
    let mut b = a.labels.builder();
    b.set("__name__", "ALERTS");
    b.set("alertstate", a.state.as_str());
    (b.build(), Sample::new(t, 1.0))
}

/// `ALERTS_FOR_STATE{…} <active_at in seconds>`.
fn for_state_sample(a: &Alert, t: i64) -> (Labels, Sample) {
    let mut b = a.labels.builder();
    b.set("__name__", "ALERTS_FOR_STATE");
    (b.build(), Sample::new(t, (a.active_at / 1000) as f64))
}

/// A rule of either kind.
#[derive(Clone, Debug)]
pub enum Rule {
    /// Writes series.
    Recording(RecordingRule),
    /// Raises alerts.
    Alerting(AlertingRule),
}

impl Rule {
    /// Builds a rule from its file form; `group_labels` are merged under the rule's.
    ///
    /// # Errors
    /// [`Error::Parse`] when the expression does not parse.
    pub fn from_file(
        r: &rulefmt::Rule,
        group_labels: &BTreeMap<String, String>,
        opts: &gnomon_promql::ParseOptions,
    ) -> Result<Rule> {
        let expr = gnomon_promql::parse_with(&r.expr, opts)?;
        let labels = merge_labels(group_labels, &r.labels);
        Ok(match (&r.alert, &r.record) {
            (Some(a), _) if !a.is_empty() => Rule::Alerting(AlertingRule {
                name: a.clone(),
                expr,
                for_: r.for_,
                keep_firing_for: r.keep_firing_for,
                labels,
                annotations: r
                    .annotations
                    .iter()
                    .map(|(k, v)| (k.clone(), v.clone()))
                    .collect(),
                active: HashMap::new(),
                restored: true,
            }),
            (_, record) => Rule::Recording(RecordingRule {
                name: record.clone().unwrap_or_default(),
                expr,
                labels,
            }),
        })
    }

    /// The rule's name.
    pub fn name(&self) -> &str {
        match self {
            Rule::Recording(r) => &r.name,
            Rule::Alerting(a) => &a.name,
        }
    }

    /// The rule's expression.
    pub fn expr(&self) -> &Expr {
        match self {
            Rule::Recording(r) => &r.expr,
            Rule::Alerting(a) => &a.expr,
        }
    }
}
