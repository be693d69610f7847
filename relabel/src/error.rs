//! The crate's one error type.

/// Everything that can go wrong while loading or compiling relabel rules.
///
/// Applying compiled rules never fails.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The YAML text is not a list of relabel configs (syntax, unknown field, wrong type).
    /// Display includes the line and column serde_yaml_ng reports.
    #[error("cannot parse relabel configs: {0}")]
    Yaml(#[from] serde_yaml_ng::Error),
    /// A rule is not valid: a required field is missing, a field is not allowed for the
    /// action, or a value is out of range.
    #[error("relabel rule {index}: {field}: {message}")]
    Invalid {
        /// Position of the rule in its list (0-based).
        index: usize,
        /// The YAML field at fault (`target_label`, `action`…).
        field: &'static str,
        /// What is wrong with it.
        message: String,
    },
    /// A `regex` does not compile.
    #[error("relabel rule {index}: regex: cannot compile {pattern:?}: {source}")]
    Regex {
        /// Position of the rule in its list (0-based).
        index: usize,
        /// The regex as written.
        pattern: String,
        /// What the regex engine said.
        #[source]
        source: Box<regex::Error>,
    },
    /// An `if` series selector does not parse.
    #[error("relabel rule {index}: if: cannot parse {expr:?}: {source}")]
    If {
        /// Position of the rule in its list (0-based).
        index: usize,
        /// The selector as written.
        expr: String,
        /// What the selector parser said.
        #[source]
        source: Box<gnomon_promql::Error>,
    },
}

impl Error {
    /// Builds an [`Error::Invalid`].
    pub(crate) fn invalid(index: usize, field: &'static str, message: impl Into<String>) -> Self {
        Error::Invalid {
            index,
            field,
            message: message.into(),
        }
    }

    /// The index of the rule at fault, when the error is about one rule.
    pub fn rule_index(&self) -> Option<usize> {
        match self {
            Error::Yaml(_) => None,
            Error::Invalid { index, .. } | Error::Regex { index, .. } | Error::If { index, .. } => {
                Some(*index)
            }
        }
    }
}

/// Result alias of this crate.
pub type Result<T> = std::result::Result<T, Error>;
