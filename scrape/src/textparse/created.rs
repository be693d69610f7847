//! OpenMetrics `_created` series → start timestamps.
//!
//! In counter, histogram and summary families, `X_created` lines are not samples: their
//! value (seconds) is the start timestamp of the family's other series with the same
//! labels (`le`/`quantile` aside). The `_created` line may come before, between or after
//! the series it applies to, so the parser scans each *run* once when it enters it: a run
//! is a stretch of consecutive sample lines of one family (same name once the type's
//! suffix — `_total`, `_bucket`, `_count`, `_sum`, `_created` — is stripped). The run's
//! `_created` lines are kept in a small reusable index and looked up by an
//! order-independent hash of the label pairs, then compared exactly.

use super::Format;
use super::entry::MetricType;
use super::float::seconds_to_ms;
use super::labels::{label_set_hash, normalised_label, same_label_set};
use super::lex::{is_metric_start, line_end, scan_metric_name};
use super::sample::{RawSample, parse_sample};

const CREATED: &[u8] = b"_created";

/// The `_created` lines of the current run.
#[derive(Debug, Default)]
pub(crate) struct CreatedIndex<'a> {
    entries: Vec<CreatedEntry<'a>>,
    /// Input position where the scanned run ends (`None`: no run scanned).
    run_end: Option<usize>,
}

#[derive(Debug)]
struct CreatedEntry<'a> {
    label_text: &'a [u8],
    hash: u64,
    start_ms: i64,
}

/// True for a `X_created` series in a family type that has them.
pub(crate) fn is_created_series(name: &[u8], family: MetricType) -> bool {
    family.has_created() && name.len() > CREATED.len() && name.ends_with(CREATED)
}

/// The family name of a series name: the name minus the type's suffix.
fn family_of(name: &[u8], family: MetricType) -> &[u8] {
    let suffixes: &[&[u8]] = match family {
        MetricType::Counter => &[b"_total", CREATED],
        MetricType::Histogram => &[b"_bucket", b"_count", b"_sum", CREATED],
        MetricType::Summary => &[b"_count", b"_sum", CREATED],
        _ => &[],
    };
    suffixes
        .iter()
        .find_map(|s| name.strip_suffix(*s))
        .unwrap_or(name)
}

impl<'a> CreatedIndex<'a> {
    /// Forgets the current run (a metadata line ends it).
    pub(crate) fn reset(&mut self) {
        self.run_end = None;
        self.entries.clear();
    }

    /// The start timestamp of `sample`, which sits on the line starting at `line_start`
    /// of `input`; scans the sample's run first if it is a new one.
    pub(crate) fn start_ms(
        &mut self,
        input: &'a [u8],
        line_start: usize,
        sample: &RawSample<'a>,
        family: MetricType,
    ) -> Option<i64> {
        if self.run_end.is_none_or(|end| line_start >= end) {
            self.scan_run(input, line_start, family_of(sample.name, family), family);
        }
        if self.entries.is_empty() || is_created_series(sample.name, family) {
            return None;
        }
        let skip = normalised_label(family);
        let hash = label_set_hash(sample.label_text, skip);
        self.entries
            .iter()
            .find(|e| e.hash == hash && same_label_set(e.label_text, sample.label_text, skip))
            .map(|e| e.start_ms)
    }

    /// Collects the `_created` lines of the run of `name` starting at `pos`.
    fn scan_run(&mut self, input: &'a [u8], mut pos: usize, name: &[u8], family: MetricType) {
        self.entries.clear();
        let skip = normalised_label(family);
        while pos < input.len() {
            let next_line = (line_end(input, pos) + 1).min(input.len());
            let first = input[pos];
            let sample = if is_metric_start(first) {
                let plain = &input[pos..scan_metric_name(input, pos)];
                if family_of(plain, family) != name {
                    break;
                }
                if !plain.ends_with(CREATED) {
                    pos = next_line;
                    continue;
                }
                parse_sample(input, pos, Format::OpenMetrics)
            } else if first == b'{' {
                parse_sample(input, pos, Format::OpenMetrics)
            } else {
                break;
            };
            // A broken line ends the run; the main pass reports it.
            let Ok(sample) = sample else { break };
            if family_of(sample.name, family) != name {
                break;
            }
            if is_created_series(sample.name, family) {
                self.entries.push(CreatedEntry {
                    label_text: sample.label_text,
                    hash: label_set_hash(sample.label_text, skip),
                    start_ms: seconds_to_ms(sample.value),
                });
            }
            pos = sample.end;
        }
        self.run_end = Some(pos);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn families_strip_type_suffixes() {
        assert_eq!(family_of(b"foo_total", MetricType::Counter), b"foo");
        assert_eq!(family_of(b"foo_created", MetricType::Counter), b"foo");
        assert_eq!(family_of(b"h_bucket", MetricType::Histogram), b"h");
        assert_eq!(family_of(b"s_sum", MetricType::Summary), b"s");
        assert_eq!(family_of(b"s", MetricType::Summary), b"s");
        assert_eq!(family_of(b"g_total", MetricType::Gauge), b"g_total");
        assert!(is_created_series(b"x_created", MetricType::Counter));
        assert!(!is_created_series(b"x_created", MetricType::Gauge));
        assert!(!is_created_series(b"_created", MetricType::Counter));
    }

    #[test]
    fn run_ends_at_another_family() {
        let input = b"a_total 1\na_created 5\nb_total 2\nb_created 6\n# EOF\n";
        let mut index = CreatedIndex::default();
        let first = parse_sample(input, 0, Format::OpenMetrics).expect("valid");
        assert_eq!(
            index.start_ms(input, 0, &first, MetricType::Counter),
            Some(5000)
        );
        assert_eq!(index.run_end, Some(22));
        let b = parse_sample(input, 22, Format::OpenMetrics).expect("valid");
        assert_eq!(
            index.start_ms(input, 22, &b, MetricType::Counter),
            Some(6000)
        );
    }
}
