//! Rule unit tests (`promtool test rules`): load input series, evaluate every rule group
//! on the evaluation grid, check firing alerts and query results; failures are worded
//! as promtool words them.
//!
//! ```
//! use gnomon_alert_rules::unittest::{UnitTestOptions, run_text};
//!
//! let test = "tests:\n- input_series:\n  - series: up\n    values: 1 0\n  promql_expr_test:\n  - expr: up\n    eval_time: 1m\n    exp_samples:\n    - labels: up\n      value: 1\n";
//! let out = run_text(test, std::path::Path::new("."), &UnitTestOptions::default());
//! assert!(!out.passed());
//! assert_eq!(out.errors()[0], "    expr: \"up\", time: 1m,\n        exp: {__name__=\"up\"} 1E+00\n        got: {__name__=\"up\"} 0E+00");
//! ```

pub mod file;
pub mod report;
pub mod series;

use std::path::Path;
use std::time::Duration;

use gnomon_promql::engine::{Engine, EngineOptions};
use gnomon_tsdb_core::model::{Labels, Sample};

use crate::duration::{format_duration, parse_duration};
use crate::files::{expand_globs, parse_file};
use crate::group::{Group, GroupDefaults};
use crate::rule::{EvalContext, Rule, query_samples};
use crate::rulefmt;
use crate::shared_store::SharedStore;
use file::{Scalar, TestGroup, UnitTestFile};
use report::{AlertView, alerts_string, go_duration, samples_string};

/// How tests run.
#[derive(Clone, Debug, Default)]
pub struct UnitTestOptions {
    /// Run only test groups whose name matches one of these (all when empty).
    pub run: Vec<regex::Regex>,
    /// How rule files are read (`ignore_unknown_fields`, name validation, PromQL dialect).
    pub rules: rulefmt::ParseOptions,
}

/// The outcome of one test group.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct GroupOutcome {
    /// Its name (may be empty).
    pub name: String,
    /// Failures, promtool's texts (empty: passed).
    pub errors: Vec<String>,
}

/// The outcome of one test file.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct FileOutcome {
    /// Problems with the file itself (unreadable, invalid YAML, bad durations).
    pub file_errors: Vec<String>,
    /// Each test group that ran.
    pub groups: Vec<GroupOutcome>,
}

impl FileOutcome {
    /// True when nothing failed.
    pub fn passed(&self) -> bool {
        self.file_errors.is_empty() && self.groups.iter().all(|g| g.errors.is_empty())
    }

    /// Every failure in order.
    pub fn errors(&self) -> Vec<String> {
        self.file_errors
            .iter()
            .chain(self.groups.iter().flat_map(|g| g.errors.iter()))
            .cloned()
            .collect()
    }
}

/// Runs the unit-test file at `path`.
pub fn run_file(path: &Path, opts: &UnitTestOptions) -> FileOutcome {
    match std::fs::read_to_string(path) {
        Ok(text) => run_text(&text, path.parent().unwrap_or(Path::new("")), opts),
        Err(e) => FileOutcome {
            file_errors: vec![format!("{}: {e}", path.display())],
            groups: Vec::new(),
        },
    }
}

fn duration_of(s: &Option<Scalar>, default: i64) -> Result<i64, String> {
    match s {
        Some(Scalar(t)) if !t.is_empty() => parse_duration(t).map_err(|e| e.to_string()),
        _ => Ok(default),
    }
}

/// Runs a unit-test file's text; relative rule files resolve against `dir`.
pub fn run_text(text: &str, dir: &Path, opts: &UnitTestOptions) -> FileOutcome {
    let mut out = FileOutcome::default();
    let f: UnitTestFile = match serde_yaml_ng::from_str(text) {
        Ok(f) => f,
        Err(e) => {
            out.file_errors.push(e.to_string());
            return out;
        }
    };
    let eval_interval = match duration_of(&f.evaluation_interval, 60_000) {
        Ok(d) if d > 0 => d,
        Ok(_) => 60_000,
        Err(e) => {
            out.file_errors.push(e);
            return out;
        }
    };
    let rule_files: Vec<String> = f
        .rule_files
        .iter()
        .map(|r| {
            if Path::new(r).is_absolute() || dir.as_os_str().is_empty() {
                r.clone()
            } else {
                dir.join(r).to_string_lossy().into_owned()
            }
        })
        .collect();
    for tg in &f.tests {
        if !opts.run.is_empty() && !opts.run.iter().any(|re| re.is_match(&tg.name)) {
            continue;
        }
        let errors = match Runner::new(&f, tg, eval_interval, &rule_files, opts) {
            Ok(r) => r.run(),
            Err(e) => e,
        };
        out.groups.push(GroupOutcome {
            name: tg.name.clone(),
            errors,
        });
    }
    out
}

struct Runner<'a> {
    file: &'a UnitTestFile,
    tg: &'a TestGroup,
    eval_interval: i64,
    start: i64,
    store: SharedStore,
    groups: Vec<Group>,
    engine: Engine,
    external_labels: Labels,
    promql: gnomon_promql::ParseOptions,
}

fn load_groups(
    rule_files: &[String],
    order: &[String],
    opts: &UnitTestOptions,
    interval: i64,
) -> Result<Vec<Group>, Vec<String>> {
    let files = expand_globs(rule_files).map_err(|e| vec![e.to_string()])?;
    let defaults = GroupDefaults {
        interval,
        query_offset: 0,
        promql: opts.rules.promql.clone(),
    };
    let mut groups = Vec::new();
    for path in files {
        let parsed = parse_file(&path, &opts.rules).map_err(|e| {
            e.to_string()
                .lines()
                .map(str::to_string)
                .collect::<Vec<_>>()
        })?;
        for g in &parsed.groups {
            groups.push(Group::new(&path, g, &defaults).map_err(|e| vec![e.to_string()])?);
        }
    }
    let mut ordered = Vec::with_capacity(groups.len());
    for name in order {
        match groups.iter().position(|g| &g.name == name) {
            Some(i) => ordered.push(groups.remove(i)),
            None => {
                return Err(vec![format!(
                    "group name {name:?} in group_eval_order is not present in the rule files"
                )]);
            }
        }
    }
    ordered.extend(groups);
    Ok(ordered)
}

/// Unix seconds (integer or fractional) or RFC 3339, in ms.
fn parse_start(s: &str) -> Option<i64> {
    if let Ok(v) = s.parse::<f64>() {
        return Some((v * 1000.0).round() as i64);
    }
    let (date, rest) = s.split_once(['T', 't', ' '])?;
    let mut d = date.splitn(3, '-').map(|x| x.parse::<i64>().ok());
    let (y, mo, da) = (d.next()??, d.next()??, d.next()??);
    let tz_at = rest.find(['Z', 'z', '+', '-']).unwrap_or(rest.len());
    let (clock, tz) = rest.split_at(tz_at);
    let mut c = clock.splitn(3, ':');
    let (h, mi) = (
        c.next()?.parse::<i64>().ok()?,
        c.next()?.parse::<i64>().ok()?,
    );
    let sec: f64 = c.next().unwrap_or("0").parse().ok()?;
    let offset_min = match tz {
        "" | "Z" | "z" => 0,
        t => {
            let sign = if t.starts_with('-') { -1 } else { 1 };
            let (oh, om) = t[1..].split_once(':')?;
            sign * (oh.parse::<i64>().ok()? * 60 + om.parse::<i64>().ok()?)
        }
    };
    let days = gnomon_tsdb_core::model::civil::days_from_civil(
        y,
        u32::try_from(mo).ok()?,
        u32::try_from(da).ok()?,
    );
    let secs = days * 86400 + h * 3600 + mi * 60 - offset_min * 60;
    Some(secs * 1000 + (sec * 1000.0).round() as i64)
}

impl<'a> Runner<'a> {
    fn new(
        file: &'a UnitTestFile,
        tg: &'a TestGroup,
        eval_interval: i64,
        rule_files: &[String],
        opts: &UnitTestOptions,
    ) -> Result<Runner<'a>, Vec<String>> {
        let interval = duration_of(&tg.interval, eval_interval).map_err(|e| vec![e])?;
        let start = match &tg.start_timestamp {
            Some(Scalar(s)) if !s.is_empty() => {
                parse_start(s).ok_or_else(|| vec![format!("invalid start_timestamp {s:?}")])?
            }
            _ => 0,
        };
        let store = SharedStore::new();
        for s in &tg.input_series {
            let labels = series::parse_labels(&s.series).map_err(|e| vec![e.to_string()])?;
            let values = series::parse_values(&s.values.0).map_err(|e| vec![e.to_string()])?;
            for (i, v) in values.iter().enumerate() {
                if let Some(v) = v {
                    store.add(&labels, Sample::new(start + i as i64 * interval, *v));
                }
            }
        }
        let groups = load_groups(rule_files, &file.group_eval_order, opts, interval)?;
        let engine = Engine::new(EngineOptions {
            default_subquery_step: Duration::from_millis(eval_interval as u64),
            ..EngineOptions::default()
        });
        let pairs: Vec<(&str, &str)> = tg
            .external_labels
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .collect();
        Ok(Runner {
            file,
            tg,
            eval_interval,
            start,
            store,
            groups,
            engine,
            external_labels: Labels::from_pairs(&pairs),
            promql: opts.rules.promql.clone(),
        })
    }

    fn run(mut self) -> Vec<String> {
        let parse_time = |s: &Scalar| eval_time(s).map_err(|e| e.to_string());
        let mut alert_times: Vec<i64> = Vec::new();
        let mut max_eval = 0;
        for a in &self.tg.alert_rule_test {
            match parse_time(&a.eval_time) {
                Ok(t) => {
                    alert_times.push(t);
                    max_eval = max_eval.max(t);
                }
                Err(e) => return vec![e],
            }
        }
        for e in &self.tg.promql_expr_test {
            match parse_time(&e.eval_time) {
                Ok(t) => max_eval = max_eval.max(t),
                Err(e) => return vec![e],
            }
        }
        alert_times.sort_unstable();
        alert_times.dedup();
        let mut errs = Vec::new();
        let mut curr = 0;
        let mut ts = self.start;
        while ts <= self.start + max_eval {
            let eval_errs = self.eval_all(ts);
            if !eval_errs.is_empty() {
                return eval_errs;
            }
            while curr < alert_times.len()
                && ts - self.start <= alert_times[curr]
                && alert_times[curr] < ts + self.eval_interval - self.start
            {
                errs.extend(self.check_alerts(alert_times[curr]));
                curr += 1;
            }
            ts += self.eval_interval;
        }
        errs.extend(self.check_exprs());
        errs
    }

    fn eval_all(&mut self, ts: i64) -> Vec<String> {
        let ctx = EvalContext {
            engine: &self.engine,
            querier: &self.store,
            remote: None,
            external_labels: &self.external_labels,
            external_url: &self.tg.external_url,
        };
        let mut out = Vec::new();
        for g in &mut self.groups {
            for (i, e) in g.eval(&ctx, &mut self.store.appender(), ts) {
                out.push(format!(
                    "    rule: {}, time: {}, err: {e}",
                    g.rules[i].name(),
                    go_duration(ts)
                ));
            }
        }
        out
    }

    fn check_alerts(&self, t: i64) -> Vec<String> {
        let mut errs = Vec::new();
        for case in self
            .tg
            .alert_rule_test
            .iter()
            .filter(|c| eval_time(&c.eval_time).ok() == Some(t))
        {
            let mut got: Vec<AlertView> = self
                .groups
                .iter()
                .flat_map(|g| g.rules.iter())
                .filter_map(|r| match r {
                    Rule::Alerting(a) if a.name == case.alertname => Some(a),
                    _ => None,
                })
                .flat_map(|a| a.alerts())
                .filter(|a| a.state == crate::alert::AlertState::Firing)
                .map(|a| AlertView {
                    labels: a
                        .labels
                        .iter()
                        .map(|l| (l.name.clone(), l.value.clone()))
                        .collect(),
                    annotations: a.annotations.clone(),
                })
                .collect();
            let mut exp: Vec<AlertView> = case
                .exp_alerts
                .iter()
                .map(|e| {
                    let mut labels = e.exp_labels.clone();
                    labels.insert("alertname".into(), case.alertname.clone());
                    AlertView {
                        labels,
                        annotations: e.exp_annotations.clone(),
                    }
                })
                .collect();
            got.sort();
            exp.sort();
            if got != exp {
                let name = if self.tg.name.is_empty() {
                    String::new()
                } else {
                    format!("    name: {},\n", self.tg.name)
                };
                errs.push(format!(
                    "{name}    alertname: {}, time: {}, \n        exp:{}, \n        got:{}",
                    case.alertname,
                    format_duration(t),
                    alerts_string(&exp),
                    alerts_string(&got)
                ));
            }
        }
        errs
    }

    fn check_exprs(&self) -> Vec<String> {
        let ctx = EvalContext {
            engine: &self.engine,
            querier: &self.store,
            remote: None,
            external_labels: &self.external_labels,
            external_url: &self.tg.external_url,
        };
        let mut errs = Vec::new();
        'cases: for case in &self.tg.promql_expr_test {
            let t = eval_time(&case.eval_time).unwrap_or(0);
            let when = format_duration(t);
            let got = gnomon_promql::parse_with(&case.expr, &self.promql)
                .map_err(crate::Error::from)
                .and_then(|e| query_samples(&ctx, &e, self.start + t));
            let got = match got {
                Ok(g) => g,
                Err(e) => {
                    errs.push(format!("    expr: {:?}, time: {when}, err: {e}", case.expr));
                    continue;
                }
            };
            let mut got: Vec<(Labels, f64)> =
                got.into_iter().map(|s| (s.labels, s.value)).collect();
            let mut exp = Vec::new();
            for s in &case.exp_samples {
                if !s.histogram.is_empty() {
                    errs.push(format!("    expr: {:?}, time: {when}, err: native histogram samples are not supported", case.expr));
                    continue 'cases;
                }
                match series::parse_labels(&s.labels) {
                    Ok(l) => exp.push((l, s.value)),
                    Err(e) => {
                        errs.push(format!(
                            "    expr: {:?}, time: {when}, err: labels {:?}: {e}",
                            case.expr, s.labels
                        ));
                        continue 'cases;
                    }
                }
            }
            got.sort_by(|a, b| a.0.cmp(&b.0));
            exp.sort_by(|a, b| a.0.cmp(&b.0));
            let fuzzy = self.file.fuzzy_compare;
            let same = got.len() == exp.len()
                && got
                    .iter()
                    .zip(&exp)
                    .all(|(g, e)| g.0 == e.0 && values_equal(g.1, e.1, fuzzy));
            if !same {
                errs.push(format!(
                    "    expr: {:?}, time: {when},\n        exp: {}\n        got: {}",
                    case.expr,
                    samples_string(&exp),
                    samples_string(&got)
                ));
            }
        }
        errs
    }
}

/// An `eval_time` (absent: 0).
fn eval_time(s: &Scalar) -> crate::Result<i64> {
    if s.0.is_empty() {
        Ok(0)
    } else {
        parse_duration(&s.0)
    }
}

/// Exact equality (NaN never equal), or within one ULP when `fuzzy`.
fn values_equal(a: f64, b: f64, fuzzy: bool) -> bool {
    if a == b {
        return true;
    }
    if !fuzzy || !a.is_finite() || !b.is_finite() || a.signum() != b.signum() {
        return false;
    }
    a.to_bits().abs_diff(b.to_bits()) <= 1
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn start_timestamps() {
        assert_eq!(parse_start("1609459200"), Some(1_609_459_200_000));
        assert_eq!(parse_start("2024-01-01T00:00:00Z"), Some(1_704_067_200_000));
        assert_eq!(
            parse_start("2024-01-01T01:00:00+01:00"),
            Some(1_704_067_200_000)
        );
        assert_eq!(parse_start("yesterday"), None);
    }

    #[test]
    fn values_keep_their_yaml_text() {
        // `0x10` is "0, ten more times", not the hex number 16.
        let t = "tests:\n- input_series:\n  - series: up\n    values: 0x10\n  promql_expr_test:\n  - expr: count_over_time(up[20m])\n    eval_time: 10m\n    exp_samples:\n    - value: 11\n";
        let out = run_text(t, Path::new(""), &UnitTestOptions::default());
        assert!(out.passed(), "{:?}", out.errors());
    }

    #[test]
    fn ulp_compare() {
        assert!(values_equal(3.0, 3.0000000000000004, true));
        assert!(!values_equal(3.0, 3.0000000000000004, false));
        assert!(!values_equal(3.0, 3.0000000000000013, true));
        assert!(!values_equal(f64::NAN, f64::NAN, true));
    }

    #[test]
    fn alerts_and_recording_rules_in_one_file() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(
            dir.path().join("r.yml"),
            "groups:\n- name: g\n  rules:\n  - record: double\n    expr: x * 2\n  - alert: Big\n    expr: double > 5\n    for: 1m\n    annotations: {d: '{{ $value }}'}\n",
        )
        .unwrap();
        let test = "rule_files: [r.yml]\ntests:\n- input_series:\n  - series: x{i=\"1\"}\n    values: 1 3 3 3\n  alert_rule_test:\n  - eval_time: 1m\n    alertname: Big\n    exp_alerts: []\n  - eval_time: 2m\n    alertname: Big\n    exp_alerts:\n    - exp_labels: {i: '1'}\n      exp_annotations: {d: '6'}\n  promql_expr_test:\n  - expr: double\n    eval_time: 3m\n    exp_samples:\n    - labels: 'double{i=\"1\"}'\n      value: 6\n";
        let out = run_text(test, dir.path(), &UnitTestOptions::default());
        assert!(out.passed(), "{:?}", out.errors());
        let wrong = test.replace("d: '6'", "d: '7'");
        let out = run_text(&wrong, dir.path(), &UnitTestOptions::default());
        assert_eq!(out.errors().len(), 1);
        assert!(
            out.errors()[0].starts_with("    alertname: Big, time: 2m, \n        exp:["),
            "{:?}",
            out.errors()
        );
    }
}
