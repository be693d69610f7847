//! The crate's one error type.

use std::io;
use std::path::PathBuf;

/// Result alias used throughout the crate.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Everything that can go wrong in `tsdb-core`.
///
/// Errors about files carry the path; corruption errors also carry the byte offset and
/// what was expected there.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// An operating-system call on a file or directory failed.
    #[error("cannot {op} {path}: {source}")]
    Io {
        /// What was being done (`"open"`, `"write"`, `"fsync"`, ...).
        op: &'static str,
        /// The file or directory.
        path: PathBuf,
        /// The underlying error.
        #[source]
        source: io::Error,
    },
    /// A file's bytes do not have the expected shape.
    #[error("corrupt {what} in {path} at offset {offset}: {detail}")]
    Corrupt {
        /// The damaged file.
        path: PathBuf,
        /// Byte offset of the damage.
        offset: u64,
        /// The structure that was being read (`"block header"`, `"wal record"`, ...).
        what: &'static str,
        /// What was expected and what was found.
        detail: String,
    },
    /// An in-memory byte buffer (an encoded block, a label set) could not be decoded.
    #[error("cannot decode {what}: {detail}")]
    Decode {
        /// The structure that was being decoded.
        what: &'static str,
        /// What was expected and what was found.
        detail: String,
    },
    /// A regular-expression matcher does not compile.
    #[error("invalid regex {value:?} in matcher for label {name:?}: {source}")]
    InvalidRegex {
        /// Label name of the matcher.
        name: String,
        /// The regular expression as given.
        value: String,
        /// Why it does not compile.
        #[source]
        source: Box<regex::Error>,
    },
    /// An argument given to the API is out of its domain.
    #[error("invalid {what}: {detail}")]
    InvalidArgument {
        /// Which argument.
        what: &'static str,
        /// Why it is invalid.
        detail: String,
    },
    /// Another process holds the lock of the data directory.
    #[error("data directory {path} is in use by another process")]
    Locked {
        /// The data directory.
        path: PathBuf,
    },
    /// No snapshot has this name.
    #[error("snapshot {name:?} does not exist")]
    SnapshotNotFound {
        /// The name asked for.
        name: String,
    },
    /// The storage was closed; no more reads or writes.
    #[error("storage is closed")]
    Closed,
}

impl Error {
    /// Builds an [`Error::Io`] from an operation name, a path and the OS error.
    pub fn io(op: &'static str, path: impl Into<PathBuf>, source: io::Error) -> Self {
        Error::Io {
            op,
            path: path.into(),
            source,
        }
    }

    /// Builds an [`Error::Corrupt`].
    pub fn corrupt(
        path: impl Into<PathBuf>,
        offset: u64,
        what: &'static str,
        detail: impl Into<String>,
    ) -> Self {
        Error::Corrupt {
            path: path.into(),
            offset,
            what,
            detail: detail.into(),
        }
    }

    /// Builds an [`Error::Decode`].
    pub fn decode(what: &'static str, detail: impl Into<String>) -> Self {
        Error::Decode {
            what,
            detail: detail.into(),
        }
    }
}
