//! The compiled actions and how each one edits a label set.
//!
//! Every `apply_*` function returns `false` when the series is dropped.

use gnomon_tsdb_core::model::{Label, LabelsBuilder};
use regex::Regex;

use crate::graphite::{LabelTemplate, MatchTemplate};
use crate::hash::HashMod;
use crate::options::NameValidation;
use crate::regex::{Anchored, Groups};
use crate::template::{Template, fill_label_refs};

/// Reusable buffers for one application of the rules.
#[derive(Default)]
pub(crate) struct Scratch {
    src: String,
    name: String,
    out: String,
    pairs: Vec<Label>,
}

/// `source_labels` joined by `separator`.
#[derive(Clone, Debug)]
pub(crate) struct Source {
    pub(crate) labels: Vec<String>,
    pub(crate) separator: String,
}

impl Source {
    /// Writes the source value into `buf` (absent labels count as `""`).
    fn write(&self, lb: &LabelsBuilder, buf: &mut String) {
        buf.clear();
        for (i, name) in self.labels.iter().enumerate() {
            if i > 0 {
                buf.push_str(&self.separator);
            }
            buf.push_str(lb.get(name).unwrap_or(""));
        }
    }
}

/// The `replacement` of `replace`.
#[derive(Clone, Debug)]
pub(crate) enum Replacement {
    /// `$` template resolved at compile time.
    Template(Template),
    /// Holds `{{label}}` references: filled per series, then expanded.
    LabelRefs(String),
}

/// The `target_label` of `replace`.
#[derive(Clone, Debug)]
pub(crate) enum Target {
    /// A plain name.
    Fixed(String),
    /// Holds `$` references.
    Template(Template),
}

/// One compiled action.
#[derive(Clone, Debug)]
pub(crate) enum Action {
    Replace {
        src: Source,
        re: Anchored,
        target: Target,
        replacement: Replacement,
    },
    ReplaceAll {
        src: Source,
        re: Regex,
        target: String,
        replacement: Template,
    },
    Keep {
        src: Source,
        re: Anchored,
    },
    Drop {
        src: Source,
        re: Anchored,
    },
    HashMod {
        src: Source,
        modulus: u64,
        target: String,
        hash: HashMod,
    },
    LabelMap {
        re: Anchored,
        replacement: Template,
    },
    LabelMapAll {
        re: Regex,
        replacement: Template,
    },
    LabelDrop {
        re: Anchored,
    },
    LabelKeep {
        re: Anchored,
    },
    Lowercase {
        src: Source,
        target: String,
    },
    Uppercase {
        src: Source,
        target: String,
    },
    KeepEqual {
        src: Source,
        target: String,
    },
    DropEqual {
        src: Source,
        target: String,
    },
    KeepIfEqual {
        labels: Vec<String>,
    },
    DropIfEqual {
        labels: Vec<String>,
    },
    KeepIfContains {
        labels: Vec<String>,
        target: String,
    },
    DropIfContains {
        labels: Vec<String>,
        target: String,
    },
    Graphite {
        template: MatchTemplate,
        labels: Vec<(String, LabelTemplate)>,
    },
}

impl Action {
    /// Applies the action; `false` = drop the series.
    pub(crate) fn apply(
        &self,
        lb: &mut LabelsBuilder,
        s: &mut Scratch,
        names: NameValidation,
    ) -> bool {
        match self {
            Action::Replace {
                src,
                re,
                target,
                replacement,
            } => replace(lb, s, names, src, re, target, replacement),
            Action::ReplaceAll {
                src,
                re,
                target,
                replacement,
            } => replace_all(lb, s, src, re, target, replacement),
            Action::Keep { src, re } => {
                src.write(lb, &mut s.src);
                re.is_match(&s.src)
            }
            Action::Drop { src, re } => {
                src.write(lb, &mut s.src);
                !re.is_match(&s.src)
            }
            Action::HashMod {
                src,
                modulus,
                target,
                hash,
            } => {
                src.write(lb, &mut s.src);
                s.out.clear();
                let v = hash.apply(&s.src, *modulus);
                std::fmt::Write::write_fmt(&mut s.out, format_args!("{v}"))
                    .expect("writing to a String");
                lb.set(target, &s.out);
                true
            }
            Action::LabelMap { re, replacement } => label_map(lb, s, re, replacement),
            Action::LabelMapAll { re, replacement } => label_map_all(lb, s, re, replacement),
            Action::LabelDrop { re } => {
                lb.retain(|l| !re.is_match(&l.name));
                true
            }
            Action::LabelKeep { re } => {
                lb.retain(|l| re.is_match(&l.name));
                true
            }
            Action::Lowercase { src, target } => {
                src.write(lb, &mut s.src);
                lb.set(target, &s.src.to_lowercase());
                true
            }
            Action::Uppercase { src, target } => {
                src.write(lb, &mut s.src);
                lb.set(target, &s.src.to_uppercase());
                true
            }
            Action::KeepEqual { src, target } => {
                src.write(lb, &mut s.src);
                lb.get(target).unwrap_or("") == s.src
            }
            Action::DropEqual { src, target } => {
                src.write(lb, &mut s.src);
                lb.get(target).unwrap_or("") != s.src
            }
            Action::KeepIfEqual { labels } => all_equal(lb, labels),
            Action::DropIfEqual { labels } => !all_equal(lb, labels),
            Action::KeepIfContains { labels, target } => all_contained(lb, labels, target),
            Action::DropIfContains { labels, target } => !all_contained(lb, labels, target),
            Action::Graphite { template, labels } => graphite(lb, s, template, labels),
        }
    }
}

fn replace(
    lb: &mut LabelsBuilder,
    s: &mut Scratch,
    names: NameValidation,
    src: &Source,
    re: &Anchored,
    target: &Target,
    replacement: &Replacement,
) -> bool {
    src.write(lb, &mut s.src);
    if let (Target::Fixed(name), Replacement::Template(t)) = (target, replacement)
        && let Some(value) = t.literal()
    {
        // No group is read: the literal fast paths of the regex decide alone.
        if re.is_match(&s.src) && names.is_valid(name) {
            lb.set(name, value);
        }
        return true;
    }
    let Some(groups) = re.captures(&s.src) else {
        return true;
    };
    let name = match target {
        Target::Fixed(n) => n.as_str(),
        Target::Template(t) => {
            s.name.clear();
            t.expand_into(&groups, &mut s.name);
            s.name.as_str()
        }
    };
    if !names.is_valid(name) {
        return true;
    }
    s.out.clear();
    match replacement {
        Replacement::Template(t) => t.expand_into(&groups, &mut s.out),
        Replacement::LabelRefs(raw) => {
            let filled = fill_label_refs(raw, |n| lb.get(n));
            Template::parse(&filled, re.regex()).expand_into(&groups, &mut s.out);
        }
    }
    lb.set(name, &s.out);
    true
}

fn replace_all(
    lb: &mut LabelsBuilder,
    s: &mut Scratch,
    src: &Source,
    re: &Regex,
    target: &str,
    replacement: &Template,
) -> bool {
    src.write(lb, &mut s.src);
    replace_matches(re, replacement, &s.src, &mut s.out);
    if s.out != s.src {
        lb.set(target, &s.out);
    }
    true
}

/// Writes `text` with every match of `re` replaced by the expanded `replacement`.
fn replace_matches(re: &Regex, replacement: &Template, text: &str, out: &mut String) {
    out.clear();
    let mut last = 0;
    for caps in re.captures_iter(text) {
        let m = caps.get(0).expect("group 0 always participates");
        out.push_str(&text[last..m.start()]);
        replacement.expand_into(&Groups::Engine(caps), out);
        last = m.end();
    }
    out.push_str(&text[last..]);
}

fn label_map(
    lb: &mut LabelsBuilder,
    s: &mut Scratch,
    re: &Anchored,
    replacement: &Template,
) -> bool {
    s.pairs.clear();
    for l in lb.iter() {
        if let Some(g) = re.captures(&l.name) {
            let mut name = String::new();
            replacement.expand_into(&g, &mut name);
            if !name.is_empty() {
                s.pairs.push(Label {
                    name,
                    value: l.value.clone(),
                });
            }
        }
    }
    for l in s.pairs.drain(..) {
        lb.set(&l.name, &l.value);
    }
    true
}

fn label_map_all(
    lb: &mut LabelsBuilder,
    s: &mut Scratch,
    re: &Regex,
    replacement: &Template,
) -> bool {
    s.pairs.clear();
    let mut changed = false;
    for l in lb.iter() {
        replace_matches(re, replacement, &l.name, &mut s.name);
        changed |= s.name != l.name;
        s.pairs.push(Label::new(s.name.as_str(), l.value.as_str()));
    }
    if changed {
        // Renamed in place, as VictoriaMetrics does: the old names disappear.
        lb.retain(|_| false);
        for l in s.pairs.drain(..) {
            lb.set(&l.name, &l.value);
        }
    }
    true
}

fn all_equal(lb: &LabelsBuilder, labels: &[String]) -> bool {
    let mut values = labels.iter().map(|n| lb.get(n).unwrap_or(""));
    let first = values.next().unwrap_or("");
    values.all(|v| v == first)
}

fn all_contained(lb: &LabelsBuilder, labels: &[String], target: &str) -> bool {
    let t = lb.get(target).unwrap_or("");
    labels.iter().all(|n| t.contains(lb.get(n).unwrap_or("")))
}

fn graphite(
    lb: &mut LabelsBuilder,
    s: &mut Scratch,
    template: &MatchTemplate,
    labels: &[(String, LabelTemplate)],
) -> bool {
    s.src.clear();
    s.src.push_str(lb.get("__name__").unwrap_or(""));
    let mut caps = Vec::new();
    if !template.matches(&s.src, &mut caps) {
        return true;
    }
    for (name, t) in labels {
        s.out.clear();
        t.expand_into(&caps, &mut s.out);
        lb.set(name, &s.out);
    }
    true
}
