//! gnomon-promql (work in progress).
#![deny(missing_docs)]

#[cfg(feature = "http")]
pub mod http;
