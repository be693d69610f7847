//! Errors of query evaluation; their texts are Prometheus' where Prometheus has one.

/// Result alias of the evaluator.
pub type EvalResult<T> = std::result::Result<T, EvalError>;

/// Why an evaluation failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum EvalError {
    /// The "one" side of a many-to-one (or one-to-one) match has two series with the same
    /// matching labels.
    #[error(
        "found duplicate series for the match group {group} on the {side} hand-side of the operation: [{first}, {second}];many-to-many matching not allowed: matching labels must be unique on one side"
    )]
    ManyToMany {
        /// The matching labels, rendered.
        group: String,
        /// `left` or `right`.
        side: &'static str,
        /// One series, rendered.
        first: String,
        /// The other series, rendered.
        second: String,
    },
    /// Two samples of the many side produce the same output series.
    #[error("multiple matches for labels: {0}")]
    MultipleMatches(&'static str),
    /// Two series of a result vector ended up with the same label set.
    #[error("vector cannot contain metrics with the same labelset")]
    DuplicateLabelset,
    /// The query would hold more samples in memory than allowed.
    #[error("query processing would load too many samples into memory in {0}")]
    TooManySamples(&'static str),
    /// The query's intermediate state would exceed `-search.maxMemoryPerQuery`.
    #[error(
        "not enough memory for processing the query: its intermediate results need more than {limit} bytes; possible solutions are: reducing the number of matching time series; increasing `step` query arg; increasing `-search.maxMemoryPerQuery`"
    )]
    TooMuchMemory {
        /// The limit in bytes.
        limit: usize,
    },
    /// The query selects more series than allowed.
    #[error("the query selects more than {0} series")]
    TooManySeries(usize),
    /// The query ran longer than its timeout.
    #[error("query timed out in {0}")]
    Timeout(&'static str),
    /// A function produced a label name that is not valid.
    #[error("invalid label name {0:?}")]
    InvalidLabelName(String),
    /// A regex argument does not compile.
    #[error("invalid regular expression in {func}(): {detail}")]
    InvalidRegex {
        /// The function.
        func: &'static str,
        /// What the regex engine said.
        detail: String,
    },
    /// An argument value is out of its domain (`topk` with a huge k, a bad `@`).
    #[error("{0}")]
    InvalidArgument(String),
    /// The query uses something this engine does not evaluate yet.
    #[error("not supported by the evaluator yet: {0}")]
    Unsupported(String),
    /// The storage failed.
    #[error("storage: {0}")]
    Storage(#[from] gnomon_tsdb_core::Error),
}
