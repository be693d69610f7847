//! Gnomon's storage engine and the Prometheus data model.
//!
//! Module map:
//! - [`model`]: labels, samples, matchers, time ranges, the [`Appender`](model::Appender)
//!   and [`Querier`](model::Querier) traits every other Gnomon crate works against;
//! - [`encoding`]: compression codecs of sample blocks (timestamps and values);
//! - [`index`]: the label index of a partition: label pair -> series ids, day -> series
//!   ids, in a mutable [`MemIndex`](index::MemIndex) and memory-mapped files;
//! - [`storage`]: the engine: [`Storage`](storage::Storage) over a data directory;
//! - [`wal`]: the write-ahead log: opaque payloads appended durably, replayed on open;
//! - [`fs`]: file-system helpers: atomic file replacement, directory fsyncs, hard-link
//!   trees for snapshots, the data-directory lock;
//! - [`error`]: the crate's one [`Error`] type.

#![deny(missing_docs)]

pub mod encoding;
pub mod error;
pub mod fs;
pub mod index;
pub mod model;
pub mod storage;
pub mod wal;

pub use error::{Error, Result};
pub use storage::{Options, Storage};
