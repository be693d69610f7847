//! Errors of the remote-write client.

use crate::client::ClientError;
use crate::queue::QueueError;

/// Why the client cannot start or cannot queue data.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum RemoteError {
    /// A destination's queue cannot be opened or written.
    #[error("remote write queue: {0}")]
    Queue(#[from] QueueError),
    /// A destination's HTTP client cannot be built.
    #[error("remote write client for {url}: {source}")]
    Client {
        /// The destination (as configured; may hold secrets, so do not log it as is).
        url: String,
        /// Why.
        #[source]
        source: ClientError,
    },
    /// A destination URL or header is not valid.
    #[error("invalid -remoteWrite setting: {0}")]
    Invalid(String),
    /// Snappy refused a block (larger than it can compress).
    #[error("cannot compress block: {0}")]
    Compress(String),
}
