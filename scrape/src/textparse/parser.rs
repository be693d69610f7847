//! The streaming [`Parser`]: dispatches each line to the sample or `#`-line tokenizer,
//! tracks the family type, attaches OpenMetrics start timestamps and turns byte
//! positions into line/column errors.

use super::Format;
use super::created::{CreatedIndex, is_created_series};
use super::entry::{Entry, Exemplar, MetricType, SampleEntry};
use super::error::{LineTracker, ParseError};
use super::labels::build_exemplar_labels;
use super::lex::{Fail, is_metric_start, line_end, skip_blank};
use super::meta::{OmHashLine, parse_om_hash_line, parse_prom_hash_line};
use super::sample::{RawSample, parse_sample};

/// A streaming, zero-copy parser over one exposition body.
///
/// Yields entries in input order. After an `Err`, iteration resumes at the next line for
/// the Prometheus text format (callers that want Prometheus' all-or-nothing behaviour
/// stop at the first error; the server keeps the valid lines); for OpenMetrics an `Err`
/// ends it. OpenMetrics input must end with `# EOF`; its absence is reported as
/// [`super::ParseErrorKind::MissingEof`].
///
/// ```
/// use gnomon_scrape::textparse::{Entry, Format, Parser};
///
/// let body = b"# TYPE up gauge\nup{job=\"node\"} 1 1700000000000\n";
/// let mut samples = 0;
/// for entry in Parser::new(body, Format::PrometheusText) {
///     if let Entry::Sample(s) = entry.expect("valid input") {
///         assert_eq!(s.series, b"up{job=\"node\"}");
///         assert_eq!(s.labels().get("job"), Some("node"));
///         assert_eq!(s.timestamp_ms, Some(1_700_000_000_000));
///         samples += 1;
///     }
/// }
/// assert_eq!(samples, 1);
/// ```
#[derive(Debug)]
pub struct Parser<'a> {
    input: &'a [u8],
    format: Format,
    pos: usize,
    family_type: MetricType,
    done: bool,
    lines: LineTracker,
    created: CreatedIndex<'a>,
}

impl<'a> Parser<'a> {
    /// A parser over `input` in `format`.
    pub fn new(input: &'a [u8], format: Format) -> Self {
        Parser {
            input,
            format,
            pos: 0,
            family_type: MetricType::Unknown,
            done: false,
            lines: LineTracker::default(),
            created: CreatedIndex::default(),
        }
    }

    /// The format being parsed.
    pub fn format(&self) -> Format {
        self.format
    }

    /// The next Prometheus text entry; `Ok(None)` at the end. Blank lines are skipped;
    /// a NUL byte where an entry would start ends the input, as in Prometheus.
    fn next_prom(&mut self, entry_start: &mut usize) -> Result<Option<Entry<'a>>, Fail> {
        loop {
            let p = skip_blank(self.input, self.pos);
            *entry_start = p;
            let Some(&b) = self.input.get(p) else {
                return Ok(None);
            };
            match b {
                b'\n' => self.pos = p + 1,
                0 => return Ok(None),
                b'#' => {
                    let meta = parse_prom_hash_line(self.input, p)?;
                    self.pos = meta.end;
                    if let Entry::Type { metric_type, .. } = meta.entry {
                        self.family_type = metric_type;
                    }
                    return Ok(Some(meta.entry));
                }
                b'{' => return self.sample(p).map(Some),
                b if is_metric_start(b) => return self.sample(p).map(Some),
                _ => return Err(Fail::unexpected(self.input, p, "metric name, '#' or '{'")),
            }
        }
    }

    /// The next OpenMetrics entry; `Ok(None)` after `# EOF`.
    fn next_om(&mut self) -> Result<Option<Entry<'a>>, Fail> {
        loop {
            let p = self.pos;
            let Some(&b) = self.input.get(p) else {
                return Err(Fail::new(p, super::ParseErrorKind::MissingEof));
            };
            match b {
                b'#' => match parse_om_hash_line(self.input, p)? {
                    OmHashLine::Eof => return Ok(None),
                    OmHashLine::Meta(meta) => {
                        self.pos = meta.end;
                        self.created.reset();
                        if let Entry::Type { metric_type, .. } = meta.entry {
                            self.family_type = metric_type;
                        }
                        return Ok(Some(meta.entry));
                    }
                },
                b'{' => {}
                b if is_metric_start(b) => {}
                _ => return Err(Fail::unexpected(self.input, p, "metric name, '#' or '{'")),
            }
            let raw = parse_sample(self.input, p, Format::OpenMetrics)?;
            let family = self.family_type;
            let start = if family.has_created() {
                self.created.start_ms(self.input, p, &raw, family)
            } else {
                None
            };
            self.pos = raw.end;
            if is_created_series(raw.name, family) {
                continue;
            }
            let mut entry = self.entry_from(raw);
            entry.start_timestamp_ms = start;
            return Ok(Some(Entry::Sample(entry)));
        }
    }

    fn sample(&mut self, p: usize) -> Result<Entry<'a>, Fail> {
        let raw = parse_sample(self.input, p, self.format)?;
        self.pos = raw.end;
        Ok(Entry::Sample(self.entry_from(raw)))
    }

    fn entry_from(&self, raw: RawSample<'a>) -> SampleEntry<'a> {
        let family = self.family_type;
        let normalises = (family == MetricType::Histogram && raw.has_le)
            || (family == MetricType::Summary && raw.has_quantile);
        let exemplars = match raw.exemplar {
            None => Vec::new(),
            Some(e) => vec![Exemplar {
                labels: build_exemplar_labels(e.label_text),
                value: e.value,
                timestamp_ms: e.timestamp_ms,
            }],
        };
        SampleEntry {
            series: raw.series,
            value: raw.value,
            timestamp_ms: raw.timestamp_ms,
            start_timestamp_ms: None,
            exemplars,
            name: raw.name,
            name_quoted: raw.name_quoted,
            label_text: raw.label_text,
            family_type: family,
            normalises,
        }
    }
}

impl<'a> Iterator for Parser<'a> {
    type Item = Result<Entry<'a>, ParseError>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.done {
            return None;
        }
        let mut entry_start = self.pos;
        let result = match self.format {
            Format::PrometheusText => self.next_prom(&mut entry_start),
            Format::OpenMetrics => self.next_om(),
        };
        match result {
            Ok(Some(entry)) => Some(Ok(entry)),
            Ok(None) => {
                self.done = true;
                None
            }
            Err(fail) => {
                let err = ParseError::at(self.input, &mut self.lines, fail.pos, fail.kind);
                match self.format {
                    // Resume at the line after the one where the failed entry began.
                    Format::PrometheusText => {
                        self.pos = (line_end(self.input, entry_start) + 1).min(self.input.len());
                        self.done = self.pos >= self.input.len();
                    }
                    Format::OpenMetrics => self.done = true,
                }
                Some(Err(err))
            }
        }
    }
}
