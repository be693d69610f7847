//! Validation and compilation of relabel configs into a [`Relabeler`].

use std::sync::OnceLock;

use gnomon_tsdb_core::model::{Labels, LabelsBuilder};
use regex::Regex;

use crate::actions::{Action, Replacement, Scratch, Source, Target};
use crate::config::{DEFAULT_REGEX, DEFAULT_REPLACEMENT, DEFAULT_SEPARATOR, RelabelConfig};
use crate::error::{Error, Result};
use crate::graphite::{LabelTemplate, MatchTemplate};
use crate::options::{NameValidation, RelabelOptions};
use crate::regex::{Anchored, build, translate};
use crate::selector::IfSelector;
use crate::template::{Template, has_label_refs};

/// Compiled relabel rules, ready to apply to many series.
#[derive(Clone, Debug)]
pub struct Relabeler {
    rules: Vec<Rule>,
    names: NameValidation,
    stop_when_empty: bool,
}

#[derive(Clone, Debug)]
struct Rule {
    if_sel: Option<IfSelector>,
    /// `action: keep` drops the series when `if` does not match; other actions skip.
    drop_on_if_mismatch: bool,
    action: Action,
}

thread_local! {
    /// Buffers reused across series so that applying rules does not allocate per series.
    static SCRATCH: std::cell::RefCell<Scratch> = std::cell::RefCell::new(Scratch::default());
}

impl Relabeler {
    /// Applies the rules in order to `lb`. Returns `false` when a rule drops the series
    /// (`lb` is then left as the dropping rule found it).
    pub fn apply(&self, lb: &mut LabelsBuilder) -> bool {
        let mut scratch = SCRATCH.with(|s| std::mem::take(&mut *s.borrow_mut()));
        let kept = self.apply_with(lb, &mut scratch);
        SCRATCH.with(|s| *s.borrow_mut() = scratch);
        if kept {
            // A target name that expanded to "" leaves nothing behind.
            lb.del("");
        }
        kept
    }

    fn apply_with(&self, lb: &mut LabelsBuilder, scratch: &mut Scratch) -> bool {
        for rule in &self.rules {
            if let Some(sel) = &rule.if_sel
                && !sel.matches(lb)
            {
                if rule.drop_on_if_mismatch {
                    return false;
                }
                continue;
            }
            if !rule.action.apply(lb, scratch, self.names) {
                return false;
            }
            if self.stop_when_empty && lb.iter().next().is_none() {
                break;
            }
        }
        true
    }

    /// Applies the rules to a label set: `None` when the series is dropped.
    pub fn apply_labels(&self, labels: &Labels) -> Option<Labels> {
        if self.rules.is_empty() {
            return Some(labels.clone());
        }
        let mut lb = labels.builder();
        self.apply(&mut lb).then(|| lb.build())
    }

    /// Number of rules.
    pub fn len(&self) -> usize {
        self.rules.len()
    }

    /// True when there are no rules (applying them keeps every series unchanged).
    pub fn is_empty(&self) -> bool {
        self.rules.is_empty()
    }
}

/// Removes every label whose name starts with `__` except `__name__`, as VictoriaMetrics
/// does after target relabeling ("finalize").
pub fn finalize(labels: &Labels) -> Labels {
    if !labels.iter().any(|l| is_internal(&l.name)) {
        return labels.clone();
    }
    let mut lb = labels.builder();
    lb.retain(|l| !is_internal(&l.name));
    lb.build()
}

fn is_internal(name: &str) -> bool {
    name.starts_with("__") && name != "__name__"
}

/// Validates and compiles rules.
///
/// # Errors
/// [`Error::Invalid`] naming the rule and the field for a rule that is not valid for its
/// action, [`Error::Regex`] for a regex that does not compile, [`Error::If`] for an `if`
/// selector that does not parse.
pub fn compile(configs: &[RelabelConfig], opts: &RelabelOptions) -> Result<Relabeler> {
    let rules = configs
        .iter()
        .enumerate()
        .map(|(i, c)| compile_rule(i, c, opts))
        .collect::<Result<Vec<_>>>()?;
    Ok(Relabeler {
        rules,
        names: opts.name_validation,
        stop_when_empty: opts.stop_when_empty,
    })
}

/// One rule's fields with defaults applied, and its index for errors.
struct Fields<'a> {
    index: usize,
    c: &'a RelabelConfig,
    action: String,
    source_labels: &'a [String],
    target: &'a str,
    regex: &'a str,
    replacement: &'a str,
    opts: &'a RelabelOptions,
}

impl Fields<'_> {
    fn err(&self, field: &'static str, msg: impl Into<String>) -> Error {
        Error::invalid(self.index, field, msg)
    }

    fn source(&self) -> Source {
        Source {
            labels: self.source_labels.to_vec(),
            separator: self
                .c
                .separator
                .clone()
                .unwrap_or_else(|| DEFAULT_SEPARATOR.to_owned()),
        }
    }

    fn anchored(&self) -> Result<Anchored> {
        Anchored::new(self.regex).map_err(|e| self.regex_err(e))
    }

    fn unanchored(&self) -> Result<Regex> {
        build(&translate(self.regex)).map_err(|e| self.regex_err(e))
    }

    fn regex_err(&self, e: regex::Error) -> Error {
        Error::Regex {
            index: self.index,
            pattern: self.regex.to_owned(),
            source: Box::new(e),
        }
    }

    fn need_target(&self) -> Result<String> {
        if self.target.is_empty() {
            return Err(self.err(
                "target_label",
                format!(
                    "relabel configuration for {} action requires 'target_label' value",
                    self.action
                ),
            ));
        }
        Ok(self.target.to_owned())
    }

    /// A target that must be a valid label name as written.
    fn need_valid_target(&self) -> Result<String> {
        let t = self.need_target()?;
        if !self.opts.name_validation.is_valid(&t) {
            return Err(self.err(
                "target_label",
                format!("{t:?} is invalid 'target_label' for {} action", self.action),
            ));
        }
        Ok(t)
    }

    fn need_source_labels(&self, min: usize) -> Result<()> {
        if self.source_labels.len() < min {
            return Err(self.err(
                "source_labels",
                format!(
                    "{} action needs at least {min} 'source_labels'",
                    self.action
                ),
            ));
        }
        Ok(())
    }

    /// `source_labels` required in the VictoriaMetrics mode (and no `if` to stand in).
    fn vm_source_labels(&self, if_stands_in: bool) -> Result<()> {
        if self.opts.require_source_labels && !(if_stands_in && self.c.if_expr.is_some()) {
            self.need_source_labels(1)?;
        }
        Ok(())
    }

    fn forbid(&self, field: &'static str, present: bool) -> Result<()> {
        if present {
            return Err(self.err(
                field,
                format!("'{field}' is not allowed for {} action", self.action),
            ));
        }
        Ok(())
    }

    fn forbid_regex(&self) -> Result<()> {
        self.forbid("regex", self.c.regex.is_some())
    }

    /// Prometheus: fields an action does not read must keep their defaults.
    fn default_only(&self, field: &'static str, is_default: bool) -> Result<()> {
        if !is_default {
            return Err(self.err(field, format!("{} action requires only 'source_labels' and `target_label`, and no other fields", self.action)));
        }
        Ok(())
    }
}

fn compile_rule(index: usize, c: &RelabelConfig, opts: &RelabelOptions) -> Result<Rule> {
    let f = Fields {
        index,
        c,
        action: c
            .action
            .as_deref()
            .unwrap_or("replace")
            .to_ascii_lowercase(),
        source_labels: c.source_labels.as_deref().unwrap_or(&[]),
        target: c.target_label.as_deref().unwrap_or(""),
        regex: c.regex.as_ref().map_or(DEFAULT_REGEX, |r| r.as_str()),
        replacement: c.replacement.as_deref().unwrap_or(DEFAULT_REPLACEMENT),
        opts,
    };
    if f.action != "graphite" {
        f.forbid("match", c.match_template.is_some())?;
        f.forbid("labels", c.labels.is_some())?;
    }
    let if_sel = match &c.if_expr {
        Some(e) => Some(IfSelector::parse(index, e.selectors())?),
        None => None,
    };
    let action = compile_action(&f)?;
    Ok(Rule {
        if_sel,
        drop_on_if_mismatch: f.action == "keep",
        action,
    })
}

fn compile_action(f: &Fields<'_>) -> Result<Action> {
    let c = f.c;
    Ok(match f.action.as_str() {
        "replace" => replace(f)?,
        "replace_all" => {
            f.need_source_labels(1)?;
            let re = f.unanchored()?;
            let replacement = Template::parse(f.replacement, &re);
            Action::ReplaceAll {
                src: f.source(),
                target: f.need_target()?,
                re,
                replacement,
            }
        }
        "keep" | "drop" => {
            f.vm_source_labels(true)?;
            let (src, re) = (f.source(), f.anchored()?);
            if f.action == "keep" {
                Action::Keep { src, re }
            } else {
                Action::Drop { src, re }
            }
        }
        "keep_metrics" | "drop_metrics" => {
            f.forbid("source_labels", !f.source_labels.is_empty())?;
            if c.regex.is_none() && c.if_expr.is_none() {
                return Err(f.err("regex", format!("{} action requires 'regex'", f.action)));
            }
            let src = Source {
                labels: vec!["__name__".to_owned()],
                separator: String::new(),
            };
            let re = f.anchored()?;
            if f.action == "keep_metrics" {
                Action::Keep { src, re }
            } else {
                Action::Drop { src, re }
            }
        }
        "hashmod" => {
            let modulus = c.modulus.unwrap_or(0);
            if modulus == 0 {
                return Err(f.err(
                    "modulus",
                    "relabel configuration for hashmod requires non-zero modulus",
                ));
            }
            f.vm_source_labels(false)?;
            Action::HashMod {
                src: f.source(),
                modulus,
                target: f.need_valid_target()?,
                hash: f.opts.hashmod,
            }
        }
        "lowercase" | "uppercase" => {
            let target = f.need_valid_target()?;
            if f.replacement != DEFAULT_REPLACEMENT {
                return Err(f.err(
                    "replacement",
                    format!("'replacement' can not be set for {} action", f.action),
                ));
            }
            f.vm_source_labels(false)?;
            let src = f.source();
            if f.action == "lowercase" {
                Action::Lowercase { src, target }
            } else {
                Action::Uppercase { src, target }
            }
        }
        "keepequal" | "dropequal" => {
            f.vm_source_labels(false)?;
            let target = f.need_valid_target()?;
            f.forbid_regex()?;
            f.default_only("modulus", c.modulus.unwrap_or(0) == 0)?;
            f.default_only(
                "separator",
                c.separator.as_deref().unwrap_or(DEFAULT_SEPARATOR) == DEFAULT_SEPARATOR,
            )?;
            f.default_only("replacement", f.replacement == DEFAULT_REPLACEMENT)?;
            let src = f.source();
            if f.action == "keepequal" {
                Action::KeepEqual { src, target }
            } else {
                Action::DropEqual { src, target }
            }
        }
        "keep_if_equal" | "drop_if_equal" => {
            f.need_source_labels(2)?;
            f.forbid("target_label", !f.target.is_empty())?;
            f.forbid_regex()?;
            let labels = f.source_labels.to_vec();
            if f.action == "keep_if_equal" {
                Action::KeepIfEqual { labels }
            } else {
                Action::DropIfEqual { labels }
            }
        }
        "keep_if_contains" | "drop_if_contains" => {
            f.need_source_labels(1)?;
            let target = f.need_target()?;
            f.forbid_regex()?;
            let labels = f.source_labels.to_vec();
            if f.action == "keep_if_contains" {
                Action::KeepIfContains { labels, target }
            } else {
                Action::DropIfContains { labels, target }
            }
        }
        "labelmap" => {
            if !valid_template_name(f.replacement, f.opts.name_validation) {
                return Err(f.err(
                    "replacement",
                    format!(
                        "{:?} is invalid 'replacement' for labelmap action",
                        f.replacement
                    ),
                ));
            }
            let re = f.anchored()?;
            let replacement = Template::parse(f.replacement, re.regex());
            Action::LabelMap { re, replacement }
        }
        "labelmap_all" => {
            let re = f.unanchored()?;
            let replacement = Template::parse(f.replacement, &re);
            Action::LabelMapAll { re, replacement }
        }
        "labeldrop" | "labelkeep" => {
            f.default_only(
                "source_labels",
                c.source_labels.as_ref().is_none_or(Vec::is_empty),
            )?;
            f.default_only("target_label", f.target.is_empty())?;
            f.default_only("modulus", c.modulus.unwrap_or(0) == 0)?;
            f.default_only(
                "separator",
                c.separator.as_deref().unwrap_or(DEFAULT_SEPARATOR) == DEFAULT_SEPARATOR,
            )?;
            f.default_only("replacement", f.replacement == DEFAULT_REPLACEMENT)?;
            let re = f.anchored()?;
            if f.action == "labeldrop" {
                Action::LabelDrop { re }
            } else {
                Action::LabelKeep { re }
            }
        }
        "graphite" => graphite(f)?,
        other => return Err(f.err("action", format!("unknown relabel action {other:?}"))),
    })
}

fn replace(f: &Fields<'_>) -> Result<Action> {
    let target = f.need_target()?;
    if !valid_template_name(&target, f.opts.name_validation) {
        return Err(f.err(
            "target_label",
            format!("{target:?} is invalid 'target_label' for replace action"),
        ));
    }
    let re = f.anchored()?;
    let target = if target.contains('$') {
        Target::Template(Template::parse(&target, re.regex()))
    } else {
        Target::Fixed(target)
    };
    let replacement = if has_label_refs(f.replacement) {
        Replacement::LabelRefs(f.replacement.to_owned())
    } else {
        Replacement::Template(Template::parse(f.replacement, re.regex()))
    };
    Ok(Action::Replace {
        src: f.source(),
        re,
        target,
        replacement,
    })
}

fn graphite(f: &Fields<'_>) -> Result<Action> {
    let c = f.c;
    let Some(m) = &c.match_template else {
        return Err(f.err("match", "graphite action requires 'match'"));
    };
    let Some(labels) = c.labels.as_ref().filter(|l| !l.is_empty()) else {
        return Err(f.err("labels", "graphite action requires 'labels'"));
    };
    f.forbid("source_labels", c.source_labels.is_some())?;
    f.forbid("target_label", c.target_label.is_some())?;
    f.forbid("replacement", c.replacement.is_some())?;
    f.forbid_regex()?;
    Ok(Action::Graphite {
        template: MatchTemplate::parse(m),
        labels: labels
            .iter()
            .map(|(k, v)| (k.clone(), LabelTemplate::parse(v)))
            .collect(),
    })
}

/// A label name that may hold `$` references: under `legacy` it must be a valid name or
/// match `^(?:(?:[a-zA-Z_]|\$(?:\{\w+\}|\w+))+\w*)+$` (as Prometheus checks); under
/// `utf8` anything non-empty.
fn valid_template_name(name: &str, scheme: NameValidation) -> bool {
    static LEGACY: OnceLock<Option<Regex>> = OnceLock::new();
    match scheme {
        NameValidation::Utf8 => !name.is_empty(),
        NameValidation::Legacy => {
            let re = LEGACY.get_or_init(|| {
                build(&translate(r"^(?:(?:[a-zA-Z_]|\$(?:\{\w+\}|\w+))+\w*)+$")).ok()
            });
            re.as_ref().is_some_and(|re| re.is_match(name))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::RelabelConfigs;

    fn run(yaml: &str, opts: &RelabelOptions, input: &[(&str, &str)]) -> Option<Labels> {
        let c = RelabelConfigs::from_yaml(yaml).unwrap();
        compile(c.rules(), opts)
            .unwrap()
            .apply_labels(&Labels::from_pairs(input))
    }

    #[test]
    fn an_emptied_set_stops_only_in_victoriametrics_mode() {
        let rules = "- action: labeldrop\n  regex: .*\n- target_label: a\n  replacement: b\n";
        let prom = run(rules, &RelabelOptions::prometheus(), &[("x", "1")]);
        assert_eq!(prom, Some(Labels::from_pairs(&[("a", "b")])));
        let vm = run(rules, &RelabelOptions::victoriametrics(), &[("x", "1")]);
        assert_eq!(vm, Some(Labels::empty()));
    }

    #[test]
    fn keep_with_a_non_matching_if_drops_other_actions_skip() {
        let opts = RelabelOptions::victoriametrics();
        let keep = "- action: keep\n  if: 'up'\n";
        assert_eq!(run(keep, &opts, &[("__name__", "down")]), None);
        let drop = "- action: drop\n  if: 'up'\n";
        assert!(run(drop, &opts, &[("__name__", "down")]).is_some());
        assert_eq!(run(drop, &opts, &[("__name__", "up")]), None);
    }

    #[test]
    fn validation_errors_name_rule_and_field() {
        let cases = [
            ("- action: replace\n", 0, "target_label"),
            (
                "- target_label: a\n- action: hashmod\n  target_label: b\n",
                1,
                "modulus",
            ),
            ("- action: nope\n", 0, "action"),
            (
                "- action: keep_if_equal\n  source_labels: [a]\n",
                0,
                "source_labels",
            ),
            (
                "- action: keepequal\n  source_labels: [a]\n  target_label: b\n  regex: x\n",
                0,
                "regex",
            ),
            (
                "- action: uppercase\n  source_labels: [a]\n  target_label: a\n  match: x\n",
                0,
                "match",
            ),
            ("- action: graphite\n  match: a.*\n", 0, "labels"),
        ];
        for (yaml, want_index, want_field) in cases {
            let c = RelabelConfigs::from_yaml(yaml).unwrap();
            match compile(c.rules(), &RelabelOptions::victoriametrics()) {
                Err(Error::Invalid { index, field, .. }) => {
                    assert_eq!((index, field), (want_index, want_field), "{yaml}")
                }
                other => panic!("{yaml}: {other:?}"),
            }
        }
        let c = RelabelConfigs::from_yaml(
            "- target_label: a\n- source_labels: [a]\n  regex: '('\n  target_label: b\n",
        )
        .unwrap();
        assert!(matches!(
            compile(c.rules(), &RelabelOptions::default()),
            Err(Error::Regex { index: 1, .. })
        ));
    }

    #[test]
    fn finalize_removes_internal_labels_but_the_name() {
        let l = Labels::from_pairs(&[("__name__", "up"), ("__address__", "x"), ("job", "j")]);
        assert_eq!(
            finalize(&l),
            Labels::from_pairs(&[("__name__", "up"), ("job", "j")])
        );
    }
}
