//! gnomon-promql (work in progress).
#![deny(missing_docs)]
