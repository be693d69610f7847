//! `#` lines: HELP, TYPE and UNIT metadata, comments, and the OpenMetrics `# EOF`.

use std::borrow::Cow;

use super::entry::{Entry, MetricType};
use super::error::ParseErrorKind;
use super::escape::{Escapes, unescape};
use super::lex::{
    Fail, QuoteRules, check_utf8, is_metric_start, line_end, scan_metric_name, scan_quoted,
    skip_blank,
};

/// Which metadata keyword a line carries.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Keyword {
    Help,
    Type,
    Unit,
}

impl Keyword {
    fn expected_name(self) -> &'static str {
        match self {
            Keyword::Help => "metric name after HELP",
            Keyword::Type => "metric name after TYPE",
            Keyword::Unit => "metric name after UNIT",
        }
    }

    fn expected_text(self) -> &'static str {
        match self {
            Keyword::Help => "space and text after HELP metric name",
            Keyword::Type => "space and type after TYPE metric name",
            Keyword::Unit => "space and unit after UNIT metric name",
        }
    }
}

/// A `#` line and the position after it.
pub(crate) struct MetaLine<'a> {
    pub entry: Entry<'a>,
    pub end: usize,
}

/// Prometheus text: the `#` line at `pos`. `# HELP`/`# TYPE` followed by a blank are
/// metadata; anything else is a comment.
pub(crate) fn parse_prom_hash_line(input: &[u8], pos: usize) -> Result<MetaLine<'_>, Fail> {
    let eol = line_end(input, pos);
    let after_hash = pos + 1;
    if matches!(input.get(after_hash), Some(b' ' | b'\t')) {
        let kw = skip_blank(input, after_hash);
        let keyword = match input.get(kw..kw + 4) {
            Some(b"HELP") => Some(Keyword::Help),
            Some(b"TYPE") => Some(Keyword::Type),
            _ => None,
        };
        if let Some(keyword) = keyword
            && matches!(input.get(kw + 4), Some(b' ' | b'\t'))
        {
            return parse_prom_meta(input, skip_blank(input, kw + 4), keyword);
        }
    }
    Ok(MetaLine {
        entry: Entry::Comment(&input[pos..eol]),
        end: (eol + 1).min(input.len()),
    })
}

fn parse_prom_meta(input: &[u8], pos: usize, keyword: Keyword) -> Result<MetaLine<'_>, Fail> {
    let rules = QuoteRules {
        newline: true,
        nul: false,
    };
    let (metric, name_end) = parse_meta_name(input, pos, keyword, rules)?;
    let eol = line_end(input, name_end);
    // The text is the rest of the line minus the one separator byte after the name.
    let raw = &input[name_end..eol];
    let text = raw.get(1..).unwrap_or_default();
    let text_pos = (name_end + 1).min(eol);
    let entry = match keyword {
        Keyword::Help => {
            check_utf8(text, text_pos, "HELP text")?;
            Entry::Help {
                metric,
                text: unescape(text, Escapes::PromHelp),
            }
        }
        _ => {
            let metric_type = MetricType::from_prom_text(text).ok_or_else(|| {
                Fail::new(text_pos, ParseErrorKind::InvalidMetricType(lossy(text)))
            })?;
            Entry::Type {
                metric,
                metric_type,
            }
        }
    };
    Ok(MetaLine {
        entry,
        end: (eol + 1).min(input.len()),
    })
}

/// The outcome of an OpenMetrics `#` line.
pub(crate) enum OmHashLine<'a> {
    Meta(MetaLine<'a>),
    /// `# EOF` ending the input as required.
    Eof,
}

/// OpenMetrics: the `#` line at `pos`: `# HELP `, `# TYPE `, `# UNIT ` or `# EOF`.
pub(crate) fn parse_om_hash_line(input: &[u8], pos: usize) -> Result<OmHashLine<'_>, Fail> {
    let rest = &input[pos..];
    let keyword = if rest.starts_with(b"# HELP ") {
        Keyword::Help
    } else if rest.starts_with(b"# TYPE ") {
        Keyword::Type
    } else if rest.starts_with(b"# UNIT ") {
        Keyword::Unit
    } else if rest.starts_with(b"# EOF") {
        let mut end = pos + 5;
        if input.get(end) == Some(&b'\n') {
            end += 1;
        }
        if end != input.len() {
            return Err(Fail::new(end, ParseErrorKind::DataAfterEof));
        }
        return Ok(OmHashLine::Eof);
    } else {
        return Err(Fail::unexpected(
            input,
            pos,
            "HELP, TYPE, UNIT or EOF after \"# \"",
        ));
    };
    let rules = QuoteRules {
        newline: true,
        nul: false,
    };
    let (metric, name_end) = parse_meta_name(input, pos + 7, keyword, rules)?;
    let eol = line_end(input, name_end);
    if input.get(name_end) != Some(&b' ') || eol == input.len() {
        return Err(Fail::unexpected(input, name_end, keyword.expected_text()));
    }
    let text_pos = name_end + 1;
    let text = &input[text_pos..eol];
    let entry = match keyword {
        Keyword::Help => {
            check_utf8(text, text_pos, "HELP text")?;
            Entry::Help {
                metric,
                text: unescape(text, Escapes::Quoted),
            }
        }
        Keyword::Type => {
            let metric_type = MetricType::from_openmetrics(text).ok_or_else(|| {
                Fail::new(text_pos, ParseErrorKind::InvalidMetricType(lossy(text)))
            })?;
            Entry::Type {
                metric,
                metric_type,
            }
        }
        Keyword::Unit => {
            let unit = std::str::from_utf8(text).map_err(|e| {
                Fail::new(
                    text_pos + e.valid_up_to(),
                    ParseErrorKind::InvalidUtf8 { what: "UNIT text" },
                )
            })?;
            if !unit.is_empty() && !is_unit_suffix(&metric, unit) {
                return Err(Fail::new(
                    text_pos,
                    ParseErrorKind::UnitNotSuffix {
                        unit: unit.to_owned(),
                        metric: metric.into_owned(),
                    },
                ));
            }
            Entry::Unit { metric, unit }
        }
    };
    Ok(OmHashLine::Meta(MetaLine {
        entry,
        end: eol + 1,
    }))
}

/// `metric` ends with `_` + `unit`.
fn is_unit_suffix(metric: &str, unit: &str) -> bool {
    metric
        .strip_suffix(unit)
        .is_some_and(|head| head.ends_with('_'))
}

/// The metric name of a metadata line at `pos`: plain or quoted.
fn parse_meta_name(
    input: &[u8],
    pos: usize,
    keyword: Keyword,
    rules: QuoteRules,
) -> Result<(Cow<'_, str>, usize), Fail> {
    match input.get(pos) {
        Some(b'"') => {
            let end = scan_quoted(input, pos, rules)?;
            let inner = &input[pos + 1..end - 1];
            check_utf8(inner, pos + 1, "quoted name")?;
            Ok((unescape(inner, Escapes::Quoted), end))
        }
        Some(&b) if is_metric_start(b) => {
            let end = scan_metric_name(input, pos);
            Ok((String::from_utf8_lossy(&input[pos..end]), end))
        }
        _ => Err(Fail::unexpected(input, pos, keyword.expected_name())),
    }
}

fn lossy(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn prom_entry(s: &str) -> Result<Entry<'_>, Fail> {
        parse_prom_hash_line(s.as_bytes(), 0).map(|m| m.entry)
    }

    fn om_entry(s: &str) -> Result<Entry<'_>, Fail> {
        match parse_om_hash_line(s.as_bytes(), 0)? {
            OmHashLine::Meta(m) => Ok(m.entry),
            OmHashLine::Eof => Ok(Entry::Comment(b"EOF")),
        }
    }

    #[test]
    fn prom_comments_and_metadata() {
        assert_eq!(
            prom_entry("# Hrandom x\n"),
            Ok(Entry::Comment(b"# Hrandom x"))
        );
        assert_eq!(prom_entry("#"), Ok(Entry::Comment(b"#")));
        assert_eq!(prom_entry("#HELP a b"), Ok(Entry::Comment(b"#HELP a b")));
        assert_eq!(
            prom_entry("# \tTYPE m summary\n"),
            Ok(Entry::Type {
                metric: "m".into(),
                metric_type: MetricType::Summary
            })
        );
        assert_eq!(
            prom_entry("# HELP m a\\nb\\\\c\\\"\n"),
            Ok(Entry::Help {
                metric: "m".into(),
                text: "a\nb\\c\\\"".into()
            })
        );
        assert_eq!(
            prom_entry("# HELP m"),
            Ok(Entry::Help {
                metric: "m".into(),
                text: "".into()
            })
        );
        let e = prom_entry("# TYPE m gaugehistogram").expect_err("not a prom type");
        assert_eq!(
            (e.pos, e.kind),
            (
                9,
                ParseErrorKind::InvalidMetricType("gaugehistogram".into())
            )
        );
        assert_eq!(prom_entry("# HELP #").expect_err("no name").pos, 7);
    }

    #[test]
    fn om_metadata_rules() {
        assert_eq!(
            om_entry("# UNIT m_seconds seconds\n"),
            Ok(Entry::Unit {
                metric: "m_seconds".into(),
                unit: "seconds"
            })
        );
        let e = om_entry("# UNIT metricsuffix suffix\n").expect_err("no underscore");
        assert!(matches!(e.kind, ParseErrorKind::UnitNotSuffix { .. }));
        assert_eq!(om_entry("# HELP m\n").expect_err("no text").pos, 8);
        assert_eq!(
            om_entry("# TYPE c  counter\n").expect_err("two spaces").pos,
            9
        );
        assert_eq!(
            om_entry("#  TYPE c counter\n").expect_err("two spaces").pos,
            0
        );
        assert_eq!(om_entry("# EOF\n"), Ok(Entry::Comment(b"EOF")));
        assert_eq!(
            om_entry("# EOF\n\n").expect_err("blank after").kind,
            ParseErrorKind::DataAfterEof
        );
        assert_eq!(
            om_entry("# EOFa 1").expect_err("glued").kind,
            ParseErrorKind::DataAfterEof
        );
    }
}
