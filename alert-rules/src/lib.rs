//! gnomon-alert-rules (work in progress).
#![deny(missing_docs)]
