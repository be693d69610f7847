//! Query results: [`Value`] and its parts.

use gnomon_tsdb_core::model::{Labels, Sample};

use super::annotations::Annotation;

/// One element of an instant vector: a series' labels and its value at the query time.
#[derive(Clone, Debug, PartialEq)]
pub struct InstantSample {
    /// The series' labels.
    pub labels: Labels,
    /// Evaluation time in milliseconds.
    pub t: i64,
    /// The value.
    pub v: f64,
}

/// One series of a range vector (matrix): labels and points in time order.
#[derive(Clone, Debug, PartialEq)]
pub struct RangeSeries {
    /// The series' labels.
    pub labels: Labels,
    /// Points in increasing time order.
    pub samples: Vec<Sample>,
}

/// The result of a query. Only float samples exist for now: native histograms are not
/// evaluated yet.
#[derive(Clone, Debug, PartialEq)]
pub enum Value {
    /// A float at a time (ms).
    Scalar {
        /// Evaluation time in milliseconds.
        t: i64,
        /// The value.
        v: f64,
    },
    /// An instant vector.
    Vector(Vec<InstantSample>),
    /// A range vector: the result of every range query, and of an instant query of a
    /// range-vector expression (`x[5m]`). Range-query results are sorted by labels.
    Matrix(Vec<RangeSeries>),
    /// A string literal at a time (ms).
    String {
        /// Evaluation time in milliseconds.
        t: i64,
        /// The string.
        v: String,
    },
}

/// A result with the warnings and infos raised while computing it.
#[derive(Clone, Debug, PartialEq)]
pub struct Evaluation {
    /// The result.
    pub value: Value,
    /// Warnings and infos, without duplicates, in the order raised.
    pub annotations: Vec<Annotation>,
}
