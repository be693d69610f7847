//! Gnomon's storage engine and the Prometheus data model.
//!
//! Module map:
//! - [`model`]: labels, samples, matchers, time ranges, the [`Appender`](model::Appender)
//!   and [`Querier`](model::Querier) traits every other Gnomon crate works against;
//! - [`encoding`]: compression codecs of sample blocks (timestamps and values);
//! - [`storage`]: the engine: [`Storage`](storage::Storage) over a data directory;
//! - [`error`]: the crate's one [`Error`] type.

#![deny(missing_docs)]

pub mod encoding;
pub mod error;
pub mod model;
pub mod storage;

pub use error::{Error, Result};
pub use storage::{Options, Storage};
