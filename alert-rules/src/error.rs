//! The crate's error type.

use std::path::PathBuf;

use crate::rulefmt::RuleFileError;
use crate::template::TemplateError;

/// Result alias of the crate.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Everything that can go wrong in `gnomon-alert-rules`.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A file could not be read.
    #[error("{}: {source}", path.display())]
    Io {
        /// The file.
        path: PathBuf,
        /// What the OS said.
        source: std::io::Error,
    },
    /// A rule file is invalid; one line per problem, each prefixed with the file name as
    /// promtool prints them.
    #[error("{}", render_file_errors(path, errors))]
    RuleFile {
        /// The file.
        path: PathBuf,
        /// Every problem found.
        errors: Vec<RuleFileError>,
    },
    /// A glob pattern is malformed.
    #[error("invalid glob pattern {pattern:?}: {detail}")]
    Glob {
        /// The pattern.
        pattern: String,
        /// What is wrong.
        detail: String,
    },
    /// A duration is not in Prometheus' form (`1h30m`).
    #[error("not a valid duration string: {0:?}")]
    InvalidDuration(String),
    /// A rule's expression did not evaluate.
    #[error("{0}")]
    Eval(#[from] gnomon_promql::engine::EvalError),
    /// A rule's expression did not parse.
    #[error("{0}")]
    Parse(#[from] gnomon_promql::Error),
    /// A template did not parse or run.
    #[error("{0}")]
    Template(#[from] TemplateError),
    /// Writing results failed.
    #[error("storage: {0}")]
    Storage(#[from] gnomon_tsdb_core::Error),
    /// A rule's expression gave a string or a range vector.
    #[error("rule result is not a vector or scalar")]
    NotVectorOrScalar,
    /// Two output series (or alerts) of a rule have the same labels.
    #[error("vector contains metrics with the same labelset after applying {0} labels")]
    DuplicateLabelset(&'static str),
    /// A rule produced more series or alerts than its group's `limit`.
    #[error("exceeded limit of {limit} with {got} {what}")]
    LimitExceeded {
        /// The group's limit.
        limit: usize,
        /// How many were produced.
        got: usize,
        /// `series` or `alerts`.
        what: &'static str,
    },
    /// A remote datasource or writer failed (its message).
    #[error("remote: {0}")]
    Remote(String),
    /// A rule unit-test file is invalid.
    #[error("{0}")]
    TestFile(String),
}

fn render_file_errors(path: &std::path::Path, errors: &[RuleFileError]) -> String {
    let lines: Vec<String> = errors
        .iter()
        .map(|e| format!("{}: {e}", path.display()))
        .collect();
    lines.join("\n")
}
