//! gnomon-scrape (work in progress).
#![deny(missing_docs)]
