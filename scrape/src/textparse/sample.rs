//! Tokenizing one sample line (both formats) into slices of the input, without
//! allocating. The grammar follows Prometheus' lexers: the Prometheus text format allows
//! blanks between tokens and omitted commas between labels; OpenMetrics allows exactly
//! one space between name/labels, value, timestamp and exemplar, and no blanks inside
//! braces.

use super::Format;
use super::error::ParseErrorKind;
use super::float::{FloatError, NORMAL_NAN_BITS, parse_prom_float, seconds_to_ms};
use super::lex::{
    Fail, QuoteRules, check_utf8, is_label_start, is_metric_start, scan_label_name,
    scan_metric_name, scan_quoted, scan_while, skip_blank,
};

/// A tokenized sample line.
#[derive(Clone, Debug)]
pub(crate) struct RawSample<'a> {
    /// Series text: from the name (or `{`) to the end of the name or the closing brace.
    pub series: &'a [u8],
    /// Metric name, without quotes, still escaped when quoted.
    pub name: &'a [u8],
    pub name_quoted: bool,
    /// The bytes after `{` (label pairs and the closing brace), or empty.
    pub label_text: &'a [u8],
    pub has_le: bool,
    pub has_quantile: bool,
    pub value: f64,
    pub timestamp_ms: Option<i64>,
    pub exemplar: Option<RawExemplar<'a>>,
    /// Position after the line break (or the input length).
    pub end: usize,
}

/// A tokenized OpenMetrics exemplar.
#[derive(Clone, Debug)]
pub(crate) struct RawExemplar<'a> {
    pub label_text: &'a [u8],
    pub value: f64,
    pub timestamp_ms: Option<i64>,
}

/// Where a label list sits and what rules apply.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum LabelMode {
    Prom,
    OpenMetrics,
    Exemplar,
}

/// What a label list held besides its pairs.
#[derive(Clone, Copy, Debug, Default)]
struct LabelScan {
    /// Position after the closing brace.
    end: usize,
    /// The quoted metric name inside the braces (inner range).
    name: Option<(usize, usize)>,
    has_le: bool,
    has_quantile: bool,
}

/// Tokenizes the sample line starting at `pos`, whose first byte is a metric-name start
/// or `{`.
pub(crate) fn parse_sample<'a>(
    input: &'a [u8],
    pos: usize,
    format: Format,
) -> Result<RawSample<'a>, Fail> {
    let om = format == Format::OpenMetrics;
    let mode = if om {
        LabelMode::OpenMetrics
    } else {
        LabelMode::Prom
    };
    let mut name = None;
    let mut p = pos;
    if input.get(pos).copied().is_some_and(is_metric_start) {
        p = scan_metric_name(input, pos);
        name = Some((pos, p));
    }
    let brace = if om { p } else { skip_blank(input, p) };
    let mut scan = LabelScan::default();
    let mut label_text: &[u8] = &[];
    if input.get(brace) == Some(&b'{') {
        scan = scan_labels(input, brace, mode, name.is_some())?;
        label_text = &input[brace + 1..scan.end];
        p = scan.end;
    }
    let (name, name_quoted) = match (name, scan.name) {
        (Some(n), _) => (n, false),
        (None, Some(n)) => (n, true),
        (None, None) => return Err(Fail::new(pos, ParseErrorKind::MetricNameMissing)),
    };
    let (value, after_value) = parse_value(input, p, om)?;
    let mut sample = RawSample {
        series: &input[pos..p],
        name: &input[name.0..name.1],
        name_quoted,
        label_text,
        has_le: scan.has_le,
        has_quantile: scan.has_quantile,
        value,
        timestamp_ms: None,
        exemplar: None,
        end: after_value,
    };
    if om {
        parse_om_suffix(input, after_value, &mut sample)?;
    } else {
        parse_prom_suffix(input, after_value, &mut sample)?;
    }
    Ok(sample)
}

/// Scans `{...}` starting at the brace; validates every pair.
fn scan_labels(
    input: &[u8],
    brace: usize,
    mode: LabelMode,
    name_set: bool,
) -> Result<LabelScan, Fail> {
    let blanks = mode == LabelMode::Prom;
    let skip = |p: usize| if blanks { skip_blank(input, p) } else { p };
    let name_rules = QuoteRules {
        newline: mode != LabelMode::Exemplar,
        nul: false,
    };
    let value_rules = QuoteRules {
        newline: mode == LabelMode::Prom,
        nul: mode != LabelMode::Exemplar,
    };
    let mut scan = LabelScan::default();
    let mut name_set = name_set;
    let mut p = skip(brace + 1);
    loop {
        let start = p;
        let (name_start, name_end, quoted) = match input.get(p) {
            Some(b'}') => {
                scan.end = p + 1;
                return Ok(scan);
            }
            Some(b'"') => {
                p = scan_quoted(input, p, name_rules)?;
                check_utf8(&input[start + 1..p - 1], start + 1, "quoted name")?;
                (start + 1, p - 1, true)
            }
            Some(&b) if is_label_start(b) => {
                p = scan_label_name(input, p);
                (start, p, false)
            }
            _ => return Err(Fail::unexpected(input, p, "label name")),
        };
        p = skip(p);
        if quoted && matches!(input.get(p), Some(b',' | b'}')) {
            if mode == LabelMode::Exemplar {
                return Err(Fail::unexpected(input, p, "equal sign"));
            }
            if name_set {
                return Err(Fail::new(start, ParseErrorKind::MetricNameTwice));
            }
            name_set = true;
            scan.name = Some((name_start, name_end));
            if input[p] == b',' {
                p = skip(p + 1);
            }
            continue;
        }
        if input.get(p) != Some(&b'=') {
            return Err(Fail::unexpected(input, p, "equal sign"));
        }
        p = skip(p + 1);
        if input.get(p) != Some(&b'"') {
            return Err(Fail::unexpected(input, p, "label value"));
        }
        let value_start = p;
        p = scan_quoted(input, p, value_rules)?;
        check_utf8(
            &input[value_start + 1..p - 1],
            value_start + 1,
            "label value",
        )?;
        match &input[name_start..name_end] {
            b"le" => scan.has_le = true,
            b"quantile" => scan.has_quantile = true,
            _ => {}
        }
        p = skip(p);
        match input.get(p) {
            Some(b',') => p = skip(p + 1),
            Some(b'}') => {}
            // The Prometheus text format lets pairs follow each other without commas.
            _ if blanks => {}
            _ => return Err(Fail::unexpected(input, p, "comma or closing brace")),
        }
    }
}

/// Parses the value after the series; returns it and the position after its token.
fn parse_value(input: &[u8], p: usize, om: bool) -> Result<(f64, usize), Fail> {
    let start = if om {
        if input.get(p) != Some(&b' ') {
            return Err(Fail::unexpected(input, p, "space and value"));
        }
        p + 1
    } else {
        skip_blank(input, p)
    };
    let end = if om {
        scan_while(input, start, |b| b != b' ' && b != b'\n' && b != 0)
    } else {
        scan_while(input, start, |b| {
            !matches!(b, b' ' | b'\t' | b'\n' | b'{' | 0)
        })
    };
    if end == start {
        return Err(Fail::unexpected(input, start, "value"));
    }
    let value = float_token(input, start, end, "value")?;
    let value = if value.is_nan() {
        f64::from_bits(NORMAL_NAN_BITS)
    } else {
        value
    };
    Ok((value, end))
}

fn float_token(input: &[u8], start: usize, end: usize, what: &'static str) -> Result<f64, Fail> {
    parse_prom_float(&input[start..end]).map_err(|e| number_fail(input, start, end, what, e))
}

fn number_fail(input: &[u8], start: usize, end: usize, what: &'static str, e: FloatError) -> Fail {
    let reason = match e {
        FloatError::Syntax => "invalid syntax",
        FloatError::Unsupported => "unsupported character in float",
        FloatError::Range => "value out of range",
    };
    Fail::new(
        start,
        ParseErrorKind::InvalidNumber {
            what,
            text: String::from_utf8_lossy(&input[start..end]).into_owned(),
            reason,
        },
    )
}

/// Prometheus text: `[blanks] [integer ms timestamp] [blanks] (\n | end)`.
fn parse_prom_suffix(input: &[u8], p: usize, sample: &mut RawSample<'_>) -> Result<(), Fail> {
    let mut p = skip_blank(input, p);
    if input.get(p).is_some_and(u8::is_ascii_digit) {
        let end = scan_while(input, p, |b| b.is_ascii_digit());
        let text = std::str::from_utf8(&input[p..end]).unwrap_or_default();
        let ts = text
            .parse::<i64>()
            .map_err(|_| number_fail(input, p, end, "timestamp", FloatError::Range))?;
        sample.timestamp_ms = Some(ts);
        p = skip_blank(input, end);
        return finish_line(input, p, sample, "line break after timestamp");
    }
    finish_line(input, p, sample, "timestamp or line break")
}

fn finish_line(
    input: &[u8],
    p: usize,
    sample: &mut RawSample<'_>,
    expected: &'static str,
) -> Result<(), Fail> {
    match input.get(p) {
        None => sample.end = p,
        Some(b'\n') => sample.end = p + 1,
        Some(_) => return Err(Fail::unexpected(input, p, expected)),
    }
    Ok(())
}

/// OpenMetrics: `[ timestamp] [ # {labels} value [ timestamp]] \n`.
fn parse_om_suffix<'a>(input: &'a [u8], p: usize, sample: &mut RawSample<'a>) -> Result<(), Fail> {
    let mut p = p;
    if input.get(p) == Some(&b' ') && !input[p..].starts_with(b" # {") {
        let (ts, end) = om_timestamp(input, p + 1, "timestamp")?;
        sample.timestamp_ms = Some(ts);
        p = end;
    }
    if input[p..].starts_with(b" # {") {
        let (exemplar, end) = parse_exemplar(input, p + 3)?;
        sample.exemplar = Some(exemplar);
        p = end;
    }
    om_line_end(input, p, sample)
}

fn om_line_end(input: &[u8], p: usize, sample: &mut RawSample<'_>) -> Result<(), Fail> {
    match input.get(p) {
        None => Err(Fail::new(p, ParseErrorKind::MissingEof)),
        Some(b'\n') => {
            sample.end = p + 1;
            Ok(())
        }
        Some(_) => Err(Fail::unexpected(input, p, "line break")),
    }
}

/// A float-seconds timestamp token at `start`, converted to ms; NaN and infinities are
/// rejected.
fn om_timestamp(input: &[u8], start: usize, what: &'static str) -> Result<(i64, usize), Fail> {
    let end = scan_while(input, start, |b| b != b' ' && b != b'\n');
    if end == start {
        return Err(Fail::unexpected(input, start, what));
    }
    let seconds = float_token(input, start, end, what)?;
    if !seconds.is_finite() {
        return Err(Fail::new(
            start,
            ParseErrorKind::NonFiniteTimestamp {
                what,
                value: seconds,
            },
        ));
    }
    Ok((seconds_to_ms(seconds), end))
}

/// `{labels} value [timestamp]` with the brace at `brace`.
fn parse_exemplar(input: &[u8], brace: usize) -> Result<(RawExemplar<'_>, usize), Fail> {
    let scan = scan_labels(input, brace, LabelMode::Exemplar, false)?;
    let p = scan.end;
    if input.get(p) != Some(&b' ') {
        return Err(Fail::unexpected(input, p, "space and exemplar value"));
    }
    let end = scan_while(input, p + 1, |b| b != b' ' && b != b'\n');
    if end == p + 1 {
        return Err(Fail::unexpected(input, end, "exemplar value"));
    }
    let value = float_token(input, p + 1, end, "exemplar value")?;
    let mut exemplar = RawExemplar {
        label_text: &input[brace + 1..scan.end],
        value,
        timestamp_ms: None,
    };
    let mut p = end;
    if input.get(p) == Some(&b' ') {
        let (ts, end) = om_timestamp(input, p + 1, "exemplar timestamp")?;
        exemplar.timestamp_ms = Some(ts);
        p = end;
    }
    Ok((exemplar, p))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn prom(s: &str) -> Result<RawSample<'_>, Fail> {
        parse_sample(s.as_bytes(), 0, Format::PrometheusText)
    }

    fn om(s: &str) -> Result<RawSample<'_>, Fail> {
        parse_sample(s.as_bytes(), 0, Format::OpenMetrics)
    }

    #[test]
    fn prom_series_text_and_timestamp() {
        let s = prom("go_goroutines 33  \t123123\nnext").expect("valid");
        assert_eq!(s.series, b"go_goroutines");
        assert_eq!((s.value, s.timestamp_ms, s.end), (33.0, Some(123123), 26));
        let s = prom("m { a = \"b\" c=\"d\", } 1").expect("valid");
        assert_eq!(s.series, b"m { a = \"b\" c=\"d\", }");
        assert_eq!(s.label_text, b" a = \"b\" c=\"d\", }");
        assert_eq!(s.end, 22);
    }

    #[test]
    fn quoted_metric_name() {
        let s = prom(r#"{"a.b",x="y"} 1"#).expect("valid");
        assert_eq!((s.name, s.name_quoted), (&b"a.b"[..], true));
        let e = prom(r#"a{"b"} 1"#).expect_err("two names");
        assert_eq!((e.pos, e.kind), (2, ParseErrorKind::MetricNameTwice));
        let e = prom(r#"{a="ok"} 1"#).expect_err("no name");
        assert_eq!((e.pos, e.kind), (0, ParseErrorKind::MetricNameMissing));
    }

    #[test]
    fn om_layout_is_strict() {
        assert_eq!(om("a\t1\n").expect_err("tab").pos, 1);
        assert_eq!(om("a 1 2 \n").expect_err("trailing space").pos, 5);
        assert_eq!(om("a{b=\"c\" } 1\n").expect_err("blank in braces").pos, 7);
        assert_eq!(
            om("a 1").expect_err("no eof").kind,
            ParseErrorKind::MissingEof
        );
        let s = om("a 1 1.5 # {x=\"y\"} 2 3.25\n").expect("valid");
        assert_eq!(s.timestamp_ms, Some(1500));
        let ex = s.exemplar.expect("exemplar");
        assert_eq!(
            (ex.label_text, ex.value, ex.timestamp_ms),
            (&b"x=\"y\"}"[..], 2.0, Some(3250))
        );
    }

    #[test]
    fn errors_point_at_the_offending_byte() {
        let e = prom("a{b='c'} 1").expect_err("single quote");
        assert_eq!(e.pos, 4);
        assert!(matches!(
            e.kind,
            ParseErrorKind::Unexpected {
                expected: "label value",
                ..
            }
        ));
        let e = prom("a 0 1_2").expect_err("underscore in timestamp");
        assert_eq!(e.pos, 5);
        let e = prom("foo 0x1p-3").expect_err("hex");
        assert!(matches!(
            e.kind,
            ParseErrorKind::InvalidNumber {
                reason: "unsupported character in float",
                ..
            }
        ));
        let e = om("a 1 NaN\n").expect_err("nan ts");
        assert!(matches!(e.kind, ParseErrorKind::NonFiniteTimestamp { .. }));
    }

    #[test]
    fn nan_values_are_canonical() {
        let s = prom("a nan").expect("valid");
        assert_eq!(s.value.to_bits(), NORMAL_NAN_BITS);
    }
}
