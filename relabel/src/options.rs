//! Options where Prometheus and VictoriaMetrics behave differently.

pub use crate::hash::HashMod;

/// Which label names are valid as relabeling targets (Prometheus 3's
/// `metric_name_validation_scheme`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum NameValidation {
    /// Any non-empty UTF-8 string (Prometheus 3 default).
    #[default]
    Utf8,
    /// `[a-zA-Z_][a-zA-Z0-9_]*` (Prometheus 2).
    Legacy,
}

impl NameValidation {
    /// True when `name` is a valid label name under this scheme.
    pub fn is_valid(self, name: &str) -> bool {
        match self {
            NameValidation::Utf8 => !name.is_empty(),
            NameValidation::Legacy => is_legacy_name(name),
        }
    }
}

/// `[a-zA-Z_][a-zA-Z0-9_]*`
pub(crate) fn is_legacy_name(name: &str) -> bool {
    let mut b = name.bytes();
    b.next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == b'_')
        && b.all(|c| c.is_ascii_alphanumeric() || c == b'_')
}

/// How rules are validated and applied where the two reference implementations differ.
///
/// [`RelabelOptions::prometheus`] and [`RelabelOptions::victoriametrics`] give each
/// one's behaviour; [`Default`] is Prometheus'.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct RelabelOptions {
    /// The hash of `hashmod`.
    pub hashmod: HashMod,
    /// Validation of target label names.
    pub name_validation: NameValidation,
    /// Reject rules whose action reads `source_labels` (`keep`, `drop`, `hashmod`,
    /// `lowercase`, `uppercase`, `keepequal`, `dropequal`) when none are given, as
    /// VictoriaMetrics does; Prometheus accepts them and reads an empty source value.
    pub require_source_labels: bool,
    /// Stop processing (keeping the empty set) as soon as a rule leaves no labels, as
    /// VictoriaMetrics does; Prometheus runs the remaining rules, which may add labels.
    pub stop_when_empty: bool,
}

impl RelabelOptions {
    /// Prometheus 3: MD5 `hashmod`, UTF-8 names, lenient `source_labels`.
    pub fn prometheus() -> Self {
        RelabelOptions::default()
    }

    /// VictoriaMetrics / vmagent: XXH64 `hashmod`, strict `source_labels`.
    pub fn victoriametrics() -> Self {
        RelabelOptions {
            hashmod: HashMod::Xxhash,
            name_validation: NameValidation::Utf8,
            require_source_labels: true,
            stop_when_empty: true,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn name_schemes() {
        assert!(NameValidation::Utf8.is_valid("a-b.c"));
        assert!(!NameValidation::Utf8.is_valid(""));
        assert!(NameValidation::Legacy.is_valid("_a1"));
        assert!(!NameValidation::Legacy.is_valid("1a"));
        assert!(!NameValidation::Legacy.is_valid("a-b"));
    }
}
