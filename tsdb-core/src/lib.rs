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

//!
//! ```
//! use gnomon_tsdb_core::model::{Appender, Labels, Matcher, Querier, Sample, TimeRange};
//! use gnomon_tsdb_core::{Options, Storage};
//!
//! # let dir = tempfile::tempdir()?;
//! let storage = Storage::open(dir.path(), Options::default())?;
//! let up = Labels::from_pairs(&[("__name__", "up"), ("job", "api")]);
//! let now = std::time::SystemTime::now()
//!     .duration_since(std::time::UNIX_EPOCH)?
//!     .as_millis() as i64; // older than the retention period (default 31 days) is dropped
//! let mut app = storage.appender();
//! app.append(&up, Sample::new(now, 1.0))?;
//! app.commit()?; // in the write-ahead log: survives a crash of the process from here on
//!
//! let found: Vec<_> = storage
//!     .select(&[Matcher::equal("job", "api")], TimeRange::new(now - 60_000, now))?
//!     .collect::<Result<_, _>>()?;
//! assert_eq!(found[0].labels, up);
//! assert_eq!(found[0].samples, vec![Sample::new(now, 1.0)]);
//! storage.close()?; // flushes everything to disk parts
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

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
