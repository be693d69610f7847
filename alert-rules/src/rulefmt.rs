//! Prometheus rule files: the YAML layout (`groups:` → `rules:`), strict decoding and the
//! validation promtool's `rulefmt` does, with its error texts and `line:col` positions.
//!
//! Only the first YAML document of a file is read. Anchors, aliases and `<<:` merge keys
//! are resolved before the fields are read.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;

use serde::Deserialize;
use serde_yaml_ng::Value;

use crate::duration::parse_duration;
use crate::locate::{Locations, Pos, Seg, child, group_path, rule_path};
use crate::names::NameValidation;
use crate::template;

/// The groups of one rule file.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct RuleGroups {
    /// Groups in file order.
    pub groups: Vec<RuleGroup>,
}

/// One group: rules evaluated together, in order, at the group's interval.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct RuleGroup {
    /// Name, unique within the file.
    pub name: String,
    /// Evaluation interval in ms (`None`: the global one).
    pub interval: Option<i64>,
    /// How far back (ms) the group's queries look (`None`: the global setting).
    pub query_offset: Option<i64>,
    /// Most alerts or series one rule may produce (0: no limit).
    pub limit: usize,
    /// Labels added to every rule's output (rule labels win).
    pub labels: BTreeMap<String, String>,
    /// The rules, in evaluation order.
    pub rules: Vec<Rule>,
}

/// One recording or alerting rule as written. After validation exactly one of `record`
/// and `alert` is set.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Rule {
    /// Name of the series a recording rule writes.
    pub record: Option<String>,
    /// Name of the alert an alerting rule raises.
    pub alert: Option<String>,
    /// The PromQL expression.
    pub expr: String,
    /// How long (ms) an alert stays pending before it fires.
    pub for_: i64,
    /// How long (ms) an alert keeps firing after its condition stops being true.
    pub keep_firing_for: i64,
    /// Labels added to (or replacing those of) the output.
    pub labels: BTreeMap<String, String>,
    /// Alert annotations (templates).
    pub annotations: BTreeMap<String, String>,
}

impl Rule {
    /// The alert name if set, else the record name (promtool's "rule name").
    pub fn name(&self) -> &str {
        self.alert
            .as_deref()
            .filter(|a| !a.is_empty())
            .or(self.record.as_deref())
            .unwrap_or("")
    }
}

impl RuleGroups {
    /// Total number of rules.
    pub fn rule_count(&self) -> usize {
        self.groups.iter().map(|g| g.rules.len()).sum()
    }
}

/// How rule files are read.
#[derive(Clone, Debug)]
pub struct ParseOptions {
    /// Accept fields the format does not define (promtool `--ignore-unknown-fields`).
    pub ignore_unknown_fields: bool,
    /// Label and metric name rules (Prometheus 3 default: UTF-8).
    pub name_validation: NameValidation,
    /// Whether alert label and annotation templates must parse (vmalert's
    /// `-rule.validateTemplates`; promtool always checks them).
    pub validate_templates: bool,
    /// How expressions are parsed: Prometheus 3 syntax by default, as promtool checks
    /// them; vmalert-style MetricsQL when the MetricsQL options are given.
    pub promql: gnomon_promql::ParseOptions,
}

impl Default for ParseOptions {
    fn default() -> Self {
        ParseOptions {
            ignore_unknown_fields: false,
            name_validation: NameValidation::Utf8,
            validate_templates: true,
            promql: gnomon_promql::ParseOptions::prometheus(),
        }
    }
}

/// A problem with one rule, worded as promtool words it.
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub enum RuleProblem {
    /// Both `record` and `alert`.
    RecordAndAlert,
    /// Neither `record` nor `alert`.
    NoRecordOrAlert,
    /// No `expr`.
    NoExpr,
    /// The expression does not parse (the promql crate's rendering, with a caret).
    BadExpr(String),
    /// `for`, `keep_firing_for` or `annotations` in a recording rule.
    FieldInRecordingRule(&'static str),
    /// The record name is not a valid metric name.
    InvalidRecordName(String),
    /// The record name contains `{…}` (a selector pasted into the name).
    BracesInRecordName(String),
    /// A rule label name is invalid or `__name__`.
    InvalidLabelName(String),
    /// An annotation name is invalid.
    InvalidAnnotationName(String),
    /// A label or annotation value is not a valid template.
    Template {
        /// `label` or `annotation`.
        what: &'static str,
        /// Its name.
        name: String,
        /// The template parser's message.
        error: String,
    },
}

impl fmt::Display for RuleProblem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RuleProblem::RecordAndAlert => {
                f.write_str("only one of 'record' and 'alert' must be set")
            }
            RuleProblem::NoRecordOrAlert => f.write_str("one of 'record' or 'alert' must be set"),
            RuleProblem::NoExpr => f.write_str("field 'expr' must be set in rule"),
            RuleProblem::BadExpr(e) => write!(f, "could not parse expression: {e}"),
            RuleProblem::FieldInRecordingRule(field) => {
                write!(f, "invalid field '{field}' in recording rule")
            }
            RuleProblem::InvalidRecordName(n) => write!(f, "invalid recording rule name: {n}"),
            RuleProblem::BracesInRecordName(n) => write!(
                f,
                "braces present in the recording rule name; should it be in expr?: {n}"
            ),
            RuleProblem::InvalidLabelName(n) => write!(f, "invalid label name: {n}"),
            RuleProblem::InvalidAnnotationName(n) => write!(f, "invalid annotation name: {n}"),
            RuleProblem::Template { what, name, error } => write!(f, "{what} {name:?}: {error}"),
        }
    }
}

/// One error of a rule file (without the file name).
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub enum RuleFileError {
    /// The text is not YAML.
    Syntax(String),
    /// Fields of the wrong shape or unknown fields: `(line, message)` pairs, printed as
    /// `yaml: unmarshal errors:` then `  line N: message`.
    Unmarshal(Vec<(usize, String)>),
    /// A group-level problem (duplicate or empty name, invalid group label).
    Group {
        /// Where the group starts.
        pos: Option<Pos>,
        /// What is wrong, promtool's wording.
        message: String,
    },
    /// A rule-level problem.
    Rule {
        /// The group's name.
        group: String,
        /// 1-based rule index in the group.
        index: usize,
        /// The rule's name (alert, else record).
        rule: String,
        /// Position(s) promtool prints before the message (`0:0` when the node is absent).
        pos: Vec<Pos>,
        /// What is wrong.
        problem: RuleProblem,
    },
}

impl fmt::Display for RuleFileError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RuleFileError::Syntax(m) => write!(f, "yaml: {m}"),
            RuleFileError::Unmarshal(list) => {
                f.write_str("yaml: unmarshal errors:")?;
                for (line, m) in list {
                    write!(f, "\n  line {line}: {m}")?;
                }
                Ok(())
            }
            RuleFileError::Group { pos, message } => {
                if let Some(p) = pos {
                    write!(f, "{}:{}: ", p.line, p.col)?;
                }
                f.write_str(message)
            }
            RuleFileError::Rule {
                group,
                index,
                rule,
                pos,
                problem,
            } => {
                for p in pos {
                    write!(f, "{}:{}: ", p.line, p.col)?;
                }
                write!(f, "group {group:?}, rule {index}, {rule:?}: {problem}")
            }
        }
    }
}

/// Parses and validates the text of a rule file.
///
/// # Errors
/// Every problem found, in promtool's order: YAML syntax, unmarshal errors (unknown
/// fields, wrong types), then group and rule validation.
pub fn parse_rules(text: &str, opts: &ParseOptions) -> Result<RuleGroups, Vec<RuleFileError>> {
    let mut value = match first_document(text) {
        Ok(v) => v,
        Err(e) => return Err(vec![RuleFileError::Syntax(e.to_string())]),
    };
    if let Err(e) = value.apply_merge() {
        return Err(vec![RuleFileError::Syntax(e.to_string())]);
    }
    let locs = Locations::scan(text);
    let mut d = Decoder {
        locs: &locs,
        opts,
        errors: Vec::new(),
    };
    let groups = d.groups(&value);
    if !d.errors.is_empty() {
        return Err(vec![RuleFileError::Unmarshal(d.errors)]);
    }
    let errors = validate(&groups, &locs, opts);
    if errors.is_empty() {
        Ok(groups)
    } else {
        Err(errors)
    }
}

fn first_document(text: &str) -> Result<Value, serde_yaml_ng::Error> {
    match serde_yaml_ng::Deserializer::from_str(text).next() {
        Some(doc) => Value::deserialize(doc),
        None => Ok(Value::Null),
    }
}

struct Decoder<'a> {
    locs: &'a Locations,
    opts: &'a ParseOptions,
    errors: Vec<(usize, String)>,
}

const GROUPS_FIELDS: &[&str] = &["groups"];
const GROUP_FIELDS: &[&str] = &[
    "name",
    "interval",
    "query_offset",
    "limit",
    "labels",
    "rules",
];
const RULE_FIELDS: &[&str] = &[
    "record",
    "alert",
    "expr",
    "for",
    "keep_firing_for",
    "labels",
    "annotations",
];

impl Decoder<'_> {
    fn line(&self, path: &[Seg]) -> usize {
        self.locs
            .value(path)
            .or_else(|| self.locs.mapping(path))
            .map_or(0, |p| p.line)
    }

    fn fail(&mut self, path: &[Seg], msg: String) {
        let line = self.line(path);
        self.errors.push((line, msg));
    }

    /// The entries of a mapping; unknown keys become errors naming the Go type.
    fn fields<'v>(
        &mut self,
        v: &'v Value,
        path: &[Seg],
        known: &[&str],
        go_type: &str,
    ) -> Vec<(String, &'v Value)> {
        let Value::Mapping(m) = v else {
            if !v.is_null() {
                let kind = yaml_kind(v);
                self.fail(path, format!("cannot unmarshal {kind} into {go_type}"));
            }
            return Vec::new();
        };
        let mut out = Vec::new();
        for (k, val) in m {
            let key = scalar_string(k).unwrap_or_default();
            if !known.contains(&key.as_str()) {
                if !self.opts.ignore_unknown_fields {
                    let line = self.locs.key_line(path, &key).unwrap_or(0);
                    self.errors
                        .push((line, format!("field {key} not found in type {go_type}")));
                }
                continue;
            }
            out.push((key, val));
        }
        out
    }

    fn groups(&mut self, v: &Value) -> RuleGroups {
        let mut out = RuleGroups::default();
        for (k, val) in self.fields(v, &[], GROUPS_FIELDS, "rulefmt.RuleGroups") {
            if k == "groups" {
                for (i, g) in self.seq(val, &[Seg::Key(k.clone())]).iter().enumerate() {
                    out.groups.push(self.group(g, i));
                }
            }
        }
        out
    }

    fn seq<'v>(&mut self, v: &'v Value, path: &[Seg]) -> Vec<&'v Value> {
        match v {
            Value::Sequence(s) => s.iter().collect(),
            Value::Null => Vec::new(),
            other => {
                let kind = yaml_kind(other);
                self.fail(path, format!("cannot unmarshal {kind} into a list"));
                Vec::new()
            }
        }
    }

    fn string(&mut self, v: &Value, path: &[Seg]) -> String {
        // Numbers and booleans keep their text as written (`1.10`, `0x10`), as Go's
        // decoder keeps it for string fields.
        if matches!(v, Value::Number(_) | Value::Bool(_))
            && let Some(raw) = self.locs.raw(path)
        {
            return raw.to_string();
        }
        match scalar_string(v) {
            Some(s) => s,
            None => {
                let kind = yaml_kind(v);
                self.fail(path, format!("cannot unmarshal {kind} into string"));
                String::new()
            }
        }
    }

    fn duration(&mut self, v: &Value, path: &[Seg]) -> i64 {
        let s = self.string(v, path);
        if s.is_empty() {
            return 0;
        }
        parse_duration(&s).unwrap_or_else(|_| {
            self.fail(path, format!("not a valid duration string: {s:?}"));
            0
        })
    }

    fn map(&mut self, v: &Value, path: &[Seg]) -> BTreeMap<String, String> {
        let mut out = BTreeMap::new();
        match v {
            Value::Mapping(m) => {
                for (k, val) in m {
                    let key = self.string(k, path);
                    let p = child(path.to_vec(), &key);
                    let val = self.string(val, &p);
                    out.insert(key, val);
                }
            }
            Value::Null => {}
            other => {
                let kind = yaml_kind(other);
                self.fail(
                    path,
                    format!("cannot unmarshal {kind} into map[string]string"),
                );
            }
        }
        out
    }

    fn group(&mut self, v: &Value, gi: usize) -> RuleGroup {
        let path = group_path(gi);
        let mut g = RuleGroup::default();
        for (k, val) in self.fields(v, &path, GROUP_FIELDS, "rulefmt.RuleGroup") {
            let p = child(path.clone(), &k);
            match k.as_str() {
                "name" => g.name = self.string(val, &p),
                "interval" => g.interval = Some(self.duration(val, &p)),
                "query_offset" => g.query_offset = Some(self.duration(val, &p)),
                "limit" => match val.as_u64() {
                    Some(n) => g.limit = usize::try_from(n).unwrap_or(usize::MAX),
                    None if val.is_null() => {}
                    None => {
                        let kind = yaml_kind(val);
                        self.fail(&p, format!("cannot unmarshal {kind} into int"));
                    }
                },
                "labels" => g.labels = self.map(val, &p),
                _ => {
                    for (ri, r) in self.seq(val, &p).iter().enumerate() {
                        g.rules.push(self.rule(r, gi, ri));
                    }
                }
            }
        }
        g
    }

    fn rule(&mut self, v: &Value, gi: usize, ri: usize) -> Rule {
        let path = rule_path(gi, ri);
        let mut r = Rule::default();
        for (k, val) in self.fields(v, &path, RULE_FIELDS, "rulefmt.RuleNode") {
            let p = child(path.clone(), &k);
            match k.as_str() {
                "record" => r.record = Some(self.string(val, &p)),
                "alert" => r.alert = Some(self.string(val, &p)),
                "expr" => r.expr = self.string(val, &p),
                "for" => r.for_ = self.duration(val, &p),
                "keep_firing_for" => r.keep_firing_for = self.duration(val, &p),
                "labels" => r.labels = self.map(val, &p),
                _ => r.annotations = self.map(val, &p),
            }
        }
        r
    }
}

/// A scalar as Go's YAML decoder turns it into a string.
fn scalar_string(v: &Value) -> Option<String> {
    match v {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        Value::Null => Some(String::new()),
        Value::Tagged(t) => scalar_string(&t.value),
        Value::Sequence(_) | Value::Mapping(_) => None,
    }
}

fn yaml_kind(v: &Value) -> &'static str {
    match v {
        Value::Sequence(_) => "!!seq",
        Value::Mapping(_) => "!!map",
        Value::String(_) => "!!str",
        Value::Number(n) if n.is_f64() => "!!float",
        Value::Number(_) => "!!int",
        Value::Bool(_) => "!!bool",
        Value::Null => "!!null",
        Value::Tagged(_) => "!!tagged",
    }
}

fn validate(groups: &RuleGroups, locs: &Locations, opts: &ParseOptions) -> Vec<RuleFileError> {
    let mut errs = Vec::new();
    let mut seen = BTreeSet::new();
    for (gi, g) in groups.groups.iter().enumerate() {
        let gpos = locs.mapping(&group_path(gi)).unwrap_or_default();
        if g.name.is_empty() {
            errs.push(RuleFileError::Group {
                pos: Some(gpos),
                message: "Groupname must not be empty".into(),
            });
        }
        if !seen.insert(g.name.as_str()) {
            errs.push(RuleFileError::Group {
                pos: Some(gpos),
                message: format!("groupname: {:?} is repeated in the same file", g.name),
            });
        }
        for k in g.labels.keys() {
            if !opts.name_validation.is_valid_label_name(k) || k == "__name__" {
                errs.push(RuleFileError::Group {
                    pos: None,
                    message: format!("invalid label name: {k}"),
                });
            }
        }
        for (ri, r) in g.rules.iter().enumerate() {
            for (pos, problem) in validate_rule(r, &rule_path(gi, ri), locs, opts) {
                errs.push(RuleFileError::Rule {
                    group: g.name.clone(),
                    index: ri + 1,
                    rule: r.name().to_string(),
                    pos,
                    problem,
                });
            }
        }
    }
    errs
}

fn validate_rule(
    r: &Rule,
    path: &[Seg],
    locs: &Locations,
    opts: &ParseOptions,
) -> Vec<(Vec<Pos>, RuleProblem)> {
    let at = |key: &str| locs.value(&child(path.to_vec(), key)).unwrap_or_default();
    let record = r.record.as_deref().unwrap_or("");
    let alert = r.alert.as_deref().unwrap_or("");
    let mut out = Vec::new();
    if !record.is_empty() && !alert.is_empty() {
        out.push((vec![at("record"), at("alert")], RuleProblem::RecordAndAlert));
    }
    if record.is_empty() && alert.is_empty() {
        out.push((vec![at("record")], RuleProblem::NoRecordOrAlert));
    }
    if r.expr.is_empty() {
        out.push((vec![at("expr")], RuleProblem::NoExpr));
    } else if let Err(e) = gnomon_promql::parse_with(&r.expr, &opts.promql) {
        out.push((vec![at("expr")], RuleProblem::BadExpr(e.to_string())));
    }
    if !record.is_empty() {
        let checks = [
            (!r.annotations.is_empty(), "annotations"),
            (r.for_ != 0, "for"),
            (r.keep_firing_for != 0, "keep_firing_for"),
        ];
        for (bad, field) in checks {
            if bad {
                out.push((vec![at("record")], RuleProblem::FieldInRecordingRule(field)));
            }
        }
        if !opts.name_validation.is_valid_metric_name(record) {
            out.push((
                vec![at("record")],
                RuleProblem::InvalidRecordName(record.to_string()),
            ));
        }
        if record.contains('{') && record.contains('}') {
            out.push((
                vec![at("record")],
                RuleProblem::BracesInRecordName(record.to_string()),
            ));
        }
    }
    for k in r.labels.keys() {
        if !opts.name_validation.is_valid_label_name(k) || k == "__name__" {
            out.push((vec![], RuleProblem::InvalidLabelName(k.clone())));
        }
    }
    for k in r.annotations.keys() {
        if !opts.name_validation.is_valid_label_name(k) {
            out.push((vec![], RuleProblem::InvalidAnnotationName(k.clone())));
        }
    }
    if !alert.is_empty() && opts.validate_templates {
        let name = format!("__alert_{alert}");
        let all = r
            .labels
            .iter()
            .map(|kv| ("label", kv))
            .chain(r.annotations.iter().map(|kv| ("annotation", kv)));
        for (what, (k, v)) in all {
            if let Err(e) = template::Template::parse_alert(&name, v) {
                out.push((
                    vec![],
                    RuleProblem::Template {
                        what,
                        name: k.clone(),
                        error: e.to_string(),
                    },
                ));
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn errors(text: &str) -> Vec<String> {
        parse_rules(text, &ParseOptions::default())
            .unwrap_err()
            .iter()
            .map(ToString::to_string)
            .collect()
    }

    #[test]
    fn reads_groups_and_rules() {
        let g = parse_rules(
            "groups:\n- name: a\n  interval: 30s\n  query_offset: 1m\n  limit: 5\n  labels: {team: x}\n  rules:\n  - alert: A\n    expr: up == 0\n    for: 5m\n    keep_firing_for: 1m\n    labels: {severity: page}\n    annotations: {summary: '{{ $labels.job }} down'}\n  - record: r\n    expr: sum(up)\n",
            &ParseOptions::default(),
        )
        .unwrap();
        let grp = &g.groups[0];
        assert_eq!(grp.interval, Some(30_000));
        assert_eq!(grp.query_offset, Some(60_000));
        assert_eq!(grp.limit, 5);
        assert_eq!(grp.labels["team"], "x");
        assert_eq!(grp.rules[0].for_, 300_000);
        assert_eq!(grp.rules[0].keep_firing_for, 60_000);
        assert_eq!(grp.rules[1].record.as_deref(), Some("r"));
        assert_eq!(g.rule_count(), 2);
    }

    #[test]
    fn positions_and_wording() {
        assert_eq!(
            errors(
                "groups:\n  - name: yolo\n    rules:\n      - record: Hi\n        alert: Hello\n        expr: 1\n"
            ),
            [
                "4:17: 5:16: group \"yolo\", rule 1, \"Hello\": only one of 'record' and 'alert' must be set"
            ]
        );
        assert_eq!(
            errors("groups:\n  - name: yolo\n  - name: yolo\n"),
            ["3:5: groupname: \"yolo\" is repeated in the same file"]
        );
        assert_eq!(
            errors(
                "groups:\n- name: g\n  rules:\n  - record: x\n    expr: 1\n    annotation: {}\n"
            ),
            [
                "yaml: unmarshal errors:\n  line 6: field annotation not found in type rulefmt.RuleNode"
            ]
        );
        let e = errors("groups:\n- name: g\n  rules:\n  - record: x\n    expr: rate(x\n");
        assert!(
            e[0].starts_with(
                "5:11: group \"g\", rule 1, \"x\": could not parse expression: parse error at 1:7"
            ),
            "{e:?}"
        );
    }

    #[test]
    fn template_errors_name_the_annotation() {
        assert_eq!(
            errors(
                "groups:\n- name: g\n  rules:\n  - alert: A\n    expr: 1\n    annotations:\n      s: '{{ $label.foo }}'\n"
            ),
            [
                "group \"g\", rule 1, \"A\": annotation \"s\": template: __alert_A:1: undefined variable \"$label\""
            ]
        );
    }

    #[test]
    fn scalars_keep_their_text() {
        let g = parse_rules(
            "groups:\n- name: g\n  rules:\n  - record: r\n    expr: 0x10 # hex\n    labels:\n      version: 1.10\n      on: true\n",
            &ParseOptions::default(),
        )
        .unwrap();
        let r = &g.groups[0].rules[0];
        assert_eq!(r.expr, "0x10");
        assert_eq!(r.labels["version"], "1.10");
        assert_eq!(r.labels["on"], "true");
    }

    proptest::proptest! {
        #[test]
        fn arbitrary_text_never_panics(s in "\\PC{0,200}", t in "[-a-z: {}\\[\\]\n#|>&*<'\"]{0,200}") {
            let _ = parse_rules(&s, &ParseOptions::default());
            let _ = parse_rules(&t, &ParseOptions::default());
        }
    }

    #[test]
    fn template_validation_can_be_off() {
        let text = "groups:\n- name: g\n  rules:\n  - alert: A\n    expr: 1\n    annotations:\n      s: '{{ $nope }}'\n";
        let opts = ParseOptions {
            validate_templates: false,
            ..ParseOptions::default()
        };
        assert!(parse_rules(text, &opts).is_ok());
        assert!(parse_rules(text, &ParseOptions::default()).is_err());
    }

    #[test]
    fn unknown_fields_can_be_ignored() {
        let opts = ParseOptions {
            ignore_unknown_fields: true,
            ..ParseOptions::default()
        };
        let g = parse_rules("groups:\n- name: g\n  owner: me\n  rules: []\n", &opts).unwrap();
        assert_eq!(g.groups[0].name, "g");
    }

    #[test]
    fn only_the_first_document() {
        let g = parse_rules(
            "groups:\n- name: g\n  rules: []\n---\ngroups: 5\n",
            &ParseOptions::default(),
        )
        .unwrap();
        assert_eq!(g.groups.len(), 1);
    }
}
