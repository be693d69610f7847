//! A rule group ready to run: its rules in order, the series each rule wrote last time
//! (to write staleness markers when they disappear), health, and Prometheus' aligned
//! evaluation times.

use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use gnomon_tsdb_core::model::{Appender, Labels, STALE_NAN, Sample};

use crate::error::{Error, Result};
use crate::rule::{EvalContext, Rule};
use crate::rulefmt;

/// The last evaluation of one rule.
#[derive(Clone, Debug, Default)]
pub struct RuleHealth {
    /// The error of the last evaluation (`None`: ok, or never evaluated).
    pub last_error: Option<String>,
    /// When it was last evaluated (ms, 0: never).
    pub last_eval: i64,
    /// How long the last evaluation took.
    pub duration: Duration,
}

impl RuleHealth {
    /// `ok`, `err` or `unknown` (never evaluated), as in the HTTP API.
    pub fn health(&self) -> &'static str {
        match (&self.last_error, self.last_eval) {
            (Some(_), _) => "err",
            (None, 0) => "unknown",
            (None, _) => "ok",
        }
    }
}

/// Settings a group inherits when its file does not set them.
#[derive(Clone, Debug)]
pub struct GroupDefaults {
    /// Evaluation interval (ms), Prometheus' `evaluation_interval` (1m).
    pub interval: i64,
    /// Query offset (ms), Prometheus' `rule_query_offset` (0).
    pub query_offset: i64,
    /// How expressions are parsed (default: Prometheus 3 syntax).
    pub promql: gnomon_promql::ParseOptions,
}

impl Default for GroupDefaults {
    fn default() -> Self {
        GroupDefaults {
            interval: 60_000,
            query_offset: 0,
            promql: gnomon_promql::ParseOptions::prometheus(),
        }
    }
}

/// A group of rules evaluated together, in order.
#[derive(Clone, Debug)]
pub struct Group {
    /// Name, unique in its file.
    pub name: String,
    /// The file it came from.
    pub file: PathBuf,
    /// Evaluation interval (ms).
    pub interval: i64,
    /// Query offset (ms).
    pub query_offset: i64,
    /// Most series/alerts per rule (0: no limit).
    pub limit: usize,
    /// The rules.
    pub rules: Vec<Rule>,
    /// Last evaluation of each rule.
    pub health: Vec<RuleHealth>,
    /// Start of the last evaluation (ms, 0: never).
    pub last_eval: i64,
    /// How long the last evaluation took.
    pub last_duration: Duration,
    prev_series: Vec<HashSet<Labels>>,
}

impl Group {
    /// Builds a group from its file form.
    ///
    /// # Errors
    /// [`Error::Parse`] when an expression does not parse (files are validated first, so
    /// this happens only with different parse options).
    pub fn new(file: &Path, g: &rulefmt::RuleGroup, d: &GroupDefaults) -> Result<Group> {
        let rules = g
            .rules
            .iter()
            .map(|r| Rule::from_file(r, &g.labels, &d.promql))
            .collect::<Result<Vec<_>>>()?;
        let n = rules.len();
        Ok(Group {
            name: g.name.clone(),
            file: file.to_path_buf(),
            interval: g.interval.filter(|i| *i > 0).unwrap_or(d.interval),
            query_offset: g.query_offset.unwrap_or(d.query_offset),
            limit: g.limit,
            rules,
            health: vec![RuleHealth::default(); n],
            last_eval: 0,
            last_duration: Duration::ZERO,
            prev_series: vec![HashSet::new(); n],
        })
    }

    /// A stable hash of (file, name): spreads groups' evaluations over the interval.
    pub fn hash(&self) -> u64 {
        // FNV-1a: stable across runs and Rust versions.
        let mut h: u64 = 0xcbf2_9ce4_8422_2325;
        let file = self.file.to_string_lossy();
        for b in self.name.bytes().chain([0xff]).chain(file.bytes()) {
            h ^= u64::from(b);
            h = h.wrapping_mul(0x0100_0000_01b3);
        }
        h
    }

    /// The latest evaluation time at or before `now` (ms) on this group's grid: multiples
    /// of the interval shifted by `hash % interval`, as Prometheus aligns them.
    pub fn eval_timestamp(&self, now: i64) -> i64 {
        let interval = self.interval.max(1);
        let offset = (self.hash() % interval as u64) as i64;
        let adj = now - offset;
        adj - adj.rem_euclid(interval) + offset
    }

    /// Moves alert state and the previous evaluation's series over from `old` (same
    /// group before a reload): rules are matched by name and expression.
    pub fn copy_state_from(&mut self, old: &Group) {
        self.last_eval = old.last_eval;
        for (i, r) in self.rules.iter_mut().enumerate() {
            let Some(j) = old
                .rules
                .iter()
                .position(|o| o.name() == r.name() && o.expr() == r.expr())
            else {
                continue;
            };
            if let (Rule::Alerting(new), Rule::Alerting(prev)) = (&mut *r, &old.rules[j]) {
                new.active = prev.active.clone();
                new.restored = prev.restored;
            }
            self.prev_series[i] = old.prev_series[j].clone();
            self.health[i] = old.health[j].clone();
        }
    }

    /// Evaluates every rule at `t` (ms) in order, writing and committing each rule's
    /// output (so later rules see it) and staleness markers for series a rule no longer
    /// produces. Errors are recorded in [`Group::health`] and returned with the rule's
    /// index; the other rules still run.
    pub fn eval(
        &mut self,
        ctx: &EvalContext<'_>,
        app: &mut dyn Appender,
        t: i64,
    ) -> Vec<(usize, Error)> {
        let started = Instant::now();
        let mut errors = Vec::new();
        let qt = t - self.query_offset;
        for i in 0..self.rules.len() {
            let rule_start = Instant::now();
            let res = match &mut self.rules[i] {
                Rule::Recording(r) => r.eval(ctx, qt, self.limit),
                Rule::Alerting(a) => a.eval(ctx, t, self.query_offset, self.limit),
            };
            let res = res.and_then(|samples| self.write(i, app, samples, qt));
            let h = &mut self.health[i];
            h.last_eval = t;
            h.duration = rule_start.elapsed();
            h.last_error = res.as_ref().err().map(ToString::to_string);
            if let Err(e) = res {
                errors.push((i, e));
            }
        }
        self.last_eval = t;
        self.last_duration = started.elapsed();
        errors
    }

    fn write(
        &mut self,
        i: usize,
        app: &mut dyn Appender,
        samples: Vec<(Labels, Sample)>,
        qt: i64,
    ) -> Result<()> {
        let mut now = HashSet::with_capacity(samples.len());
        for (l, s) in samples {
            app.append(&l, s)?;
            now.insert(l);
        }
        for gone in self.prev_series[i].difference(&now) {
            app.append(gone, Sample::new(qt, STALE_NAN))?;
        }
        app.commit()?;
        self.prev_series[i] = now;
        Ok(())
    }

    /// The alerting rules of the group.
    pub fn alerting_rules(&self) -> impl Iterator<Item = &crate::rule::AlertingRule> {
        self.rules.iter().filter_map(|r| match r {
            Rule::Alerting(a) => Some(a),
            Rule::Recording(_) => None,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::alert::AlertState;
    use crate::rulefmt::{ParseOptions, parse_rules};
    use crate::shared_store::SharedStore;
    use gnomon_promql::engine::Engine;
    use gnomon_tsdb_core::model::{Querier, TimeRange};

    fn group(text: &str) -> Group {
        let g = parse_rules(text, &ParseOptions::default()).unwrap();
        Group::new(Path::new("f.yml"), &g.groups[0], &GroupDefaults::default()).unwrap()
    }

    fn step(g: &mut Group, store: &SharedStore, t: i64) -> Vec<(usize, Error)> {
        let engine = Engine::default();
        let ctx = EvalContext {
            engine: &engine,
            querier: store,
            remote: None,
            external_labels: &Labels::empty(),
            external_url: "",
        };
        g.eval(&ctx, &mut store.appender(), t)
    }

    #[test]
    fn alert_goes_pending_firing_resolved() {
        let mut g = group(
            "groups:\n- name: g\n  labels: {team: a}\n  rules:\n  - alert: Hot\n    expr: temp > 10\n    for: 2m\n    keep_firing_for: 1m\n    labels: {severity: '{{ if gt $value 20.0 }}page{{ else }}warn{{ end }}'}\n    annotations: {s: 'at {{ $value }}'}\n",
        );
        let store = SharedStore::new();
        let temp = Labels::from_pairs(&[("__name__", "temp"), ("room", "r1")]);
        for (i, v) in [5.0, 15.0, 15.0, 15.0, 5.0, 5.0, 5.0].iter().enumerate() {
            store.add(&temp, Sample::new(i as i64 * 60_000, *v));
        }
        let state = |g: &Group| {
            g.alerting_rules()
                .next()
                .unwrap()
                .alerts()
                .first()
                .map(|a| a.state)
        };
        assert!(step(&mut g, &store, 0).is_empty());
        assert_eq!(state(&g), None);
        step(&mut g, &store, 60_000);
        assert_eq!(state(&g), Some(AlertState::Pending));
        step(&mut g, &store, 120_000);
        assert_eq!(state(&g), Some(AlertState::Pending));
        step(&mut g, &store, 180_000);
        assert_eq!(state(&g), Some(AlertState::Firing));
        let a = g.alerting_rules().next().unwrap().alerts()[0].clone();
        assert_eq!(
            a.labels,
            Labels::from_pairs(&[
                ("alertname", "Hot"),
                ("room", "r1"),
                ("severity", "warn"),
                ("team", "a")
            ])
        );
        assert_eq!(a.annotations["s"], "at 15");
        assert_eq!(a.active_at, 60_000);
        // keep_firing_for 1m: still firing one minute after the condition went away.
        step(&mut g, &store, 240_000);
        assert_eq!(state(&g), Some(AlertState::Firing));
        step(&mut g, &store, 300_000);
        assert_eq!(state(&g), Some(AlertState::Inactive));
        let alerts = store
            .series(
                &[gnomon_tsdb_core::model::Matcher::new(
                    gnomon_tsdb_core::model::MatchOp::Equal,
                    "__name__",
                    "ALERTS",
                )
                .unwrap()],
                TimeRange::new(0, 400_000),
            )
            .unwrap();
        assert_eq!(alerts.len(), 2, "pending and firing series");
    }

    #[test]
    fn recording_rules_chain_and_go_stale() {
        let mut g = group(
            "groups:\n- name: g\n  rules:\n  - record: a\n    expr: x * 2\n  - record: b\n    expr: a + 1\n",
        );
        let store = SharedStore::new();
        let x = Labels::from_pairs(&[("__name__", "x")]);
        store.add(&x, Sample::new(0, 1.0));
        assert!(step(&mut g, &store, 0).is_empty());
        let engine = Engine::default();
        let b = engine
            .instant(&store, &gnomon_promql::parse("b").unwrap(), 0)
            .unwrap();
        assert!(format!("{b:?}").contains("v: 3.0"), "{b:?}");
        store.add(&x, Sample::new(60_000, STALE_NAN));
        step(&mut g, &store, 60_000);
        let a = engine
            .instant(&store, &gnomon_promql::parse("a").unwrap(), 60_000)
            .unwrap();
        assert_eq!(a, gnomon_promql::engine::Value::Vector(vec![]));
    }

    #[test]
    fn limit_and_errors_are_reported() {
        let mut g = group("groups:\n- name: g\n  limit: 1\n  rules:\n  - record: a\n    expr: x\n");
        let store = SharedStore::new();
        for i in 0..2 {
            store.add(
                &Labels::from_pairs(&[("__name__", "x"), ("i", &i.to_string())]),
                Sample::new(0, 1.0),
            );
        }
        let errs = step(&mut g, &store, 0);
        assert_eq!(errs[0].1.to_string(), "exceeded limit of 1 with 2 series");
        assert_eq!(g.health[0].health(), "err");
    }

    #[test]
    fn aligned_eval_times() {
        let g = group("groups:\n- name: g\n  interval: 10s\n  rules: []\n");
        let t = g.eval_timestamp(1_000_000_123);
        assert!(t <= 1_000_000_123 && 1_000_000_123 - t < 10_000);
        assert_eq!(g.eval_timestamp(t + 10_000), t + 10_000);
        assert_eq!((t - g.eval_timestamp(t + 25_000)).abs(), 20_000);
    }
}
