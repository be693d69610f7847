//! What the parser yields: samples, metadata and comments.

use std::borrow::Cow;

use gnomon_tsdb_core::model::Labels;

use super::escape::{Escapes, unescape};
use super::labels::build_labels;

/// A metric family type from a `# TYPE` line.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum MetricType {
    /// `counter`.
    Counter,
    /// `gauge`.
    Gauge,
    /// `histogram` (classic buckets).
    Histogram,
    /// `gaugehistogram` (OpenMetrics).
    GaugeHistogram,
    /// `summary`.
    Summary,
    /// `info` (OpenMetrics).
    Info,
    /// `stateset` (OpenMetrics).
    StateSet,
    /// `unknown` (OpenMetrics), `untyped` (Prometheus text), or no `# TYPE` seen yet.
    #[default]
    Unknown,
}

impl MetricType {
    /// The OpenMetrics spelling (`counter`, `gaugehistogram`, `stateset`, `unknown`...).
    pub fn as_str(self) -> &'static str {
        match self {
            MetricType::Counter => "counter",
            MetricType::Gauge => "gauge",
            MetricType::Histogram => "histogram",
            MetricType::GaugeHistogram => "gaugehistogram",
            MetricType::Summary => "summary",
            MetricType::Info => "info",
            MetricType::StateSet => "stateset",
            MetricType::Unknown => "unknown",
        }
    }

    /// The type named by a Prometheus text `# TYPE` line (`untyped` is [`Self::Unknown`]).
    pub(crate) fn from_prom_text(text: &[u8]) -> Option<Self> {
        Some(match text {
            b"counter" => MetricType::Counter,
            b"gauge" => MetricType::Gauge,
            b"histogram" => MetricType::Histogram,
            b"summary" => MetricType::Summary,
            b"untyped" => MetricType::Unknown,
            _ => return None,
        })
    }

    /// The type named by an OpenMetrics `# TYPE` line.
    pub(crate) fn from_openmetrics(text: &[u8]) -> Option<Self> {
        Some(match text {
            b"counter" => MetricType::Counter,
            b"gauge" => MetricType::Gauge,
            b"histogram" => MetricType::Histogram,
            b"gaugehistogram" => MetricType::GaugeHistogram,
            b"summary" => MetricType::Summary,
            b"info" => MetricType::Info,
            b"stateset" => MetricType::StateSet,
            b"unknown" => MetricType::Unknown,
            _ => return None,
        })
    }

    /// Whether OpenMetrics gives this family `_created` series (start timestamps).
    pub(crate) fn has_created(self) -> bool {
        matches!(
            self,
            MetricType::Counter | MetricType::Histogram | MetricType::Summary
        )
    }
}

/// One entry of an exposition, in input order.
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub enum Entry<'a> {
    /// A sample line.
    Sample(SampleEntry<'a>),
    /// `# HELP name text`.
    Help {
        /// The metric family name (unquoted and unescaped).
        metric: Cow<'a, str>,
        /// The help text, unescaped.
        text: Cow<'a, str>,
    },
    /// `# TYPE name type`.
    Type {
        /// The metric family name (unquoted and unescaped).
        metric: Cow<'a, str>,
        /// The declared type.
        metric_type: MetricType,
    },
    /// `# UNIT name unit` (OpenMetrics).
    Unit {
        /// The metric family name (unquoted and unescaped).
        metric: Cow<'a, str>,
        /// The unit, possibly empty.
        unit: &'a str,
    },
    /// Any other `#` line of the Prometheus text format, as written (from `#`, without
    /// the line break).
    Comment(&'a [u8]),
}

/// An exemplar attached to a sample (OpenMetrics `… # {labels} value [timestamp]`).
#[derive(Clone, Debug, PartialEq)]
pub struct Exemplar {
    /// The exemplar's labels (no `__name__`).
    pub labels: Labels,
    /// The exemplar value.
    pub value: f64,
    /// Its timestamp in milliseconds, if given.
    pub timestamp_ms: Option<i64>,
}

/// A sample line: the raw series text, value, timestamps and exemplars.
///
/// # Cache keys and normalisation
/// [`SampleEntry::series`] is the text as written and is meant as the key of a
/// series-id cache. [`SampleEntry::labels`] rewrites `le` in `histogram` families and
/// `quantile` in `summary` families (`"1"` → `"1.0"`), so the same raw text yields
/// different labels under different `# TYPE`s. [`SampleEntry::key_is_raw`] is false
/// exactly for the samples where that rewriting may apply; for those, callers must add
/// [`SampleEntry::family_type`] to the cache key (within one family type the same raw
/// text always yields the same labels).
#[derive(Clone, Debug, PartialEq)]
pub struct SampleEntry<'a> {
    /// The series text exactly as in the input before the value (e.g. `up{job="a"}`),
    /// a zero-copy slice of the input.
    pub series: &'a [u8],
    /// The value. NaNs are Prometheus' canonical NaN
    /// ([`super::NORMAL_NAN_BITS`]), never the staleness marker.
    pub value: f64,
    /// The sample timestamp in milliseconds, if given.
    pub timestamp_ms: Option<i64>,
    /// The start (created) timestamp in milliseconds, from the family's OpenMetrics
    /// `_created` series with the same labels.
    pub start_timestamp_ms: Option<i64>,
    /// Exemplars (at most one in both formats); an empty `Vec` does not allocate.
    pub exemplars: Vec<Exemplar>,
    pub(crate) name: &'a [u8],
    pub(crate) name_quoted: bool,
    pub(crate) label_text: &'a [u8],
    pub(crate) family_type: MetricType,
    pub(crate) normalises: bool,
}

impl SampleEntry<'_> {
    /// The label set incl. `__name__`: unescaped, `le`/`quantile` normalised as the type
    /// doc says. Allocates; call it on a cache miss.
    pub fn labels(&self) -> Labels {
        build_labels(&self.metric_name(), self.label_text, self.family_type)
    }

    /// The metric name, unquoted and unescaped (borrowed unless it had escapes).
    pub fn metric_name(&self) -> Cow<'_, str> {
        if self.name_quoted {
            unescape(self.name, Escapes::Quoted)
        } else {
            String::from_utf8_lossy(self.name)
        }
    }

    /// The type of the last `# TYPE` line before this sample (which decides `le` and
    /// `quantile` normalisation; [`MetricType::Unknown`] before any).
    pub fn family_type(&self) -> MetricType {
        self.family_type
    }

    /// True when [`SampleEntry::labels`] is exactly the plain parse of
    /// [`SampleEntry::series`] (no `le`/`quantile` rewriting can apply), so `series`
    /// alone is a sound cache key. When false, key on `(family_type, series)`.
    pub fn key_is_raw(&self) -> bool {
        !self.normalises
    }
}
