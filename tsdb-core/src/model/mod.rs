//! The Prometheus data model: labels, samples, matchers, time ranges, and the
//! [`Appender`] / [`Querier`] traits that the query engine, scrapers and rule evaluators
//! use instead of the storage engine itself.

pub mod civil;
mod labels;
mod matcher;
mod sample;
mod traits;

pub use labels::{Label, Labels, LabelsBuilder, METRIC_NAME};
pub(crate) use labels::{put_uvarint, take_uvarint};
pub use matcher::{MatchOp, Matcher, RegexShape, regex_shape};
pub use sample::{STALE_NAN, STALE_NAN_BITS, Sample, Series, TimeRange, is_stale_nan};
pub use traits::{Appender, LazySeries, LazySeriesIter, Querier, SeriesIter};
