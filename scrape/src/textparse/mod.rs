//! Exposition-format parsers: Prometheus text 0.0.4 and OpenMetrics 1.0.
//!
//! [`Parser`] walks a scrape or push body and yields [`Entry`] values that borrow from
//! it: a sample's [`SampleEntry::series`] is the raw series text (the key of the
//! storage's series-id cache), and the allocating [`SampleEntry::labels`] is only
//! needed on a cache miss. Accept/reject decisions follow Prometheus' parsers
//! (`model/textparse`), and errors carry line and column.
//!
//! | file | holds |
//! |---|---|
//! | `parser.rs` | [`Parser`], the iterator, family-type tracking, error recovery |
//! | `sample.rs` | tokenizing one sample line (series, labels, value, timestamp, exemplar) |
//! | `meta.rs` | `#` lines: HELP, TYPE, UNIT, comments, `# EOF` |
//! | `created.rs` | OpenMetrics `_created` series → start timestamps |
//! | `labels.rs` | building [`Labels`](gnomon_tsdb_core::model::Labels), `le`/`quantile` normalisation |
//! | `entry.rs` | [`Entry`], [`SampleEntry`], [`Exemplar`], [`MetricType`] |
//! | `float.rs` | Go-compatible float parsing and `%g` formatting |
//! | `escape.rs`, `lex.rs` | escapes and byte-scanning primitives |
//! | `error.rs` | [`ParseError`] with line/column |
//!
//! Behaviour worth knowing:
//! * Prometheus text timestamps are integer milliseconds; OpenMetrics timestamps are
//!   float seconds, reported in milliseconds (truncated, as Prometheus does).
//! * `le` in `histogram` families and `quantile` in `summary` families are normalised
//!   in [`SampleEntry::labels`] (`"1"` → `"1.0"`); see [`SampleEntry::key_is_raw`].
//! * OpenMetrics `X_created` lines of counters, histograms and summaries are not yielded;
//!   they become [`SampleEntry::start_timestamp_ms`] of the family's matching series.
//! * Quoted UTF-8 metric and label names (`{"my.metric", "label name"="v"}`) are
//!   accepted in both formats; label values must be UTF-8 and may contain NUL bytes.
//! * Values accept Go's syntax: `NaN`, `Inf`, `+Inf`, `-Inf` in any case; hex floats
//!   and `_` separators are rejected; NaN values get Prometheus' canonical NaN bits
//!   ([`NORMAL_NAN_BITS`]), distinct from the staleness marker.
//!
//! Known differences from Prometheus, all on inputs no exporter produces: an `le` or
//! `quantile` written as a hex float or with `_` separators is left as written (Go
//! would normalise it), and quoted names with invalid UTF-8 are rejected at parse time
//! (Prometheus rejects them later, in the scrape loop).

mod created;
mod entry;
mod error;
mod escape;
mod float;
mod labels;
mod lex;
mod meta;
mod parser;
mod sample;

pub use entry::{Entry, Exemplar, MetricType, SampleEntry};
pub use error::{Found, ParseError, ParseErrorKind};
pub use float::{NORMAL_NAN_BITS, format_openmetrics_float};
pub use parser::Parser;

/// An exposition format.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Format {
    /// The Prometheus text format 0.0.4 (`text/plain; version=0.0.4`).
    PrometheusText,
    /// OpenMetrics 1.0 text (`application/openmetrics-text`).
    OpenMetrics,
}

/// Picks the format from a Content-Type header value (OpenMetrics for
/// `application/openmetrics-text`, else Prometheus text).
pub fn format_from_content_type(ct: &str) -> Format {
    let media_type = ct.split(';').next().unwrap_or_default().trim();
    if media_type.eq_ignore_ascii_case("application/openmetrics-text") {
        Format::OpenMetrics
    } else {
        Format::PrometheusText
    }
}

#[cfg(test)]
mod tests;
