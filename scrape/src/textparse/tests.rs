//! Parser-level tests: entries in order, errors with line and column, recovery.

use super::*;

fn parse(input: &str, format: Format) -> Vec<Result<Entry<'_>, ParseError>> {
    Parser::new(input.as_bytes(), format).collect()
}

fn samples(input: &str, format: Format) -> Vec<SampleEntry<'_>> {
    parse(input, format)
        .into_iter()
        .filter_map(|e| match e.expect("valid input") {
            Entry::Sample(s) => Some(s),
            _ => None,
        })
        .collect()
}

#[test]
fn prom_errors_carry_line_and_column_and_recover() {
    let input = "a 1\nb{x=\"y\" 2\n\nc 3\nd{é=\"v\"} 4\n";
    let out = parse(input, Format::PrometheusText);
    assert_eq!(out.len(), 4);
    let err = out[1].as_ref().expect_err("missing brace");
    assert_eq!((err.line, err.column), (2, 9));
    assert_eq!(err.line_text(input.as_bytes()), b"b{x=\"y\" 2");
    assert!(
        matches!(&err.kind, ParseErrorKind::Unexpected { expected: "label name", found: Found::Bytes(b) } if b == b"2"),
        "{err}"
    );
    assert!(matches!(&out[2], Ok(Entry::Sample(s)) if s.series == b"c"));
    let err = out[3].as_ref().expect_err("non-ASCII label name");
    assert_eq!((err.line, err.column), (5, 3));
    assert_eq!(
        err.to_string(),
        "line 5, column 3: expected label name, found \"é=\\\"v\\\"} \""
    );
}

#[test]
fn openmetrics_error_ends_iteration() {
    let out = parse("a 1\nb 2 3 4\nc 1\n# EOF\n", Format::OpenMetrics);
    assert_eq!(out.len(), 2);
    let err = out[1].as_ref().expect_err("extra token");
    assert_eq!((err.line, err.column), (2, 6));
}

#[test]
fn openmetrics_requires_eof() {
    let out = parse("a 1\n", Format::OpenMetrics);
    let err = out.last().expect("one entry").as_ref().expect_err("no eof");
    assert_eq!(
        (err.kind.clone(), err.line, err.column),
        (ParseErrorKind::MissingEof, 2, 1)
    );
    assert!(parse("# EOF", Format::OpenMetrics).is_empty());
    let out = parse("", Format::OpenMetrics);
    assert_eq!(
        out[0].as_ref().expect_err("empty").kind,
        ParseErrorKind::MissingEof
    );
}

#[test]
fn timestamps_per_format() {
    let s = samples("a 1 1700000000123\n", Format::PrometheusText);
    assert_eq!(s[0].timestamp_ms, Some(1_700_000_000_123));
    let s = samples("a 1 1700000000.123\n# EOF\n", Format::OpenMetrics);
    assert_eq!(s[0].timestamp_ms, Some(1_700_000_000_123));
    let s = samples("a 1 -1.5\n# EOF\n", Format::OpenMetrics);
    assert_eq!(s[0].timestamp_ms, Some(-1500));
    let out = parse("a 1 -5\n", Format::PrometheusText);
    assert!(
        out[0].is_err(),
        "negative timestamps are not Prometheus text"
    );
    let out = parse("a 1 99999999999999999999\n", Format::PrometheusText);
    assert!(matches!(
        &out[0].as_ref().expect_err("overflow").kind,
        ParseErrorKind::InvalidNumber {
            what: "timestamp",
            ..
        }
    ));
}

#[test]
fn nan_and_inf_forms() {
    let input = "a NaN\nb nan\nc +Inf\nd -inf\ne Inf\nf INF\n";
    let s = samples(input, Format::PrometheusText);
    assert!(s[0].value.is_nan() && s[1].value.is_nan());
    assert_eq!(s[0].value.to_bits(), NORMAL_NAN_BITS);
    assert_eq!(
        s[2..].iter().map(|s| s.value).collect::<Vec<_>>(),
        [
            f64::INFINITY,
            f64::NEG_INFINITY,
            f64::INFINITY,
            f64::INFINITY
        ]
    );
    let out = parse("a +NaN\n", Format::PrometheusText);
    assert!(out[0].is_err());
}

#[test]
fn escapes_in_labels_and_names() {
    let input = r#"{"my\"metric", "a b"="x\\y\n\"z\" \q"} 1"#;
    let s = samples(input, Format::PrometheusText);
    assert_eq!(s[0].metric_name(), "my\"metric");
    let labels = s[0].labels();
    assert_eq!(labels.metric_name(), Some("my\"metric"));
    assert_eq!(labels.get("a b"), Some("x\\y\n\"z\" \\q"));
}

#[test]
fn normalisation_and_key_is_raw() {
    let input =
        "# TYPE h histogram\nh_bucket{le=\"1\"} 1\nh_sum 2\n# TYPE c counter\nx{le=\"1\"} 1\n";
    let s = samples(input, Format::PrometheusText);
    assert_eq!(s[0].labels().get("le"), Some("1.0"));
    assert!(!s[0].key_is_raw());
    assert_eq!(s[0].family_type(), MetricType::Histogram);
    assert!(s[1].key_is_raw());
    assert_eq!(s[2].labels().get("le"), Some("1"));
    assert!(s[2].key_is_raw());
}

#[test]
fn created_series_become_start_timestamps() {
    let input = "# TYPE h histogram\nh_bucket{a=\"1\",le=\"+Inf\"} 3\nh_created{a=\"1\"} 10\nh_count{a=\"1\"} 3\nh_count{a=\"2\"} 3\n# TYPE g gauge\ng_created 4\n# EOF\n";
    let s = samples(input, Format::OpenMetrics);
    let got: Vec<_> = s.iter().map(|s| (s.series, s.start_timestamp_ms)).collect();
    assert_eq!(
        got,
        [
            (&b"h_bucket{a=\"1\",le=\"+Inf\"}"[..], Some(10_000)),
            (&b"h_count{a=\"1\"}"[..], Some(10_000)),
            (&b"h_count{a=\"2\"}"[..], None),
            (&b"g_created"[..], None),
        ]
    );
}

#[test]
fn prom_nul_at_line_start_ends_input() {
    let s = samples("a 1\n\0garbage", Format::PrometheusText);
    assert_eq!(s.len(), 1);
}

#[test]
fn content_types() {
    assert_eq!(
        format_from_content_type("application/openmetrics-text; version=1.0.0; charset=utf-8"),
        Format::OpenMetrics
    );
    assert_eq!(
        format_from_content_type("text/plain; version=0.0.4"),
        Format::PrometheusText
    );
    assert_eq!(format_from_content_type(""), Format::PrometheusText);
}

proptest::proptest! {
    #[test]
    fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..200)) {
        for format in [Format::PrometheusText, Format::OpenMetrics] {
            for e in Parser::new(&bytes, format).take(1000) {
                if let Ok(Entry::Sample(s)) = e {
                    let _ = s.labels();
                }
            }
        }
    }

    #[test]
    fn label_values_round_trip(value in "[ -~\\n\\u{e9}\\u{20ac}]{0,20}") {
        let escaped = value.replace('\\', "\\\\").replace('"', "\\\"").replace('\n', "\\n");
        let input = format!("m{{l=\"{escaped}\"}} 1\n");
        let s = samples(&input, Format::PrometheusText);
        let labels = s[0].labels();
        let want = if value.is_empty() { None } else { Some(value.as_str()) };
        proptest::prop_assert_eq!(labels.get("l"), want);
        proptest::prop_assert!(s[0].series.starts_with(b"m{l="), "series {:?}", s[0].series);
    }
}

/// Seed exposition for mutation testing: every construct of both formats.
const SEED: &str = "# HELP m_total A \\\"counter\\\"\\n.\n# TYPE m_total counter\n# UNIT m_seconds seconds\nm_total{a=\"b\",le=\"1\"} 1 1.5 # {t=\"x\"} 2 3\nm_created{a=\"b\"} 10\n{\"q.n\",\"l x\"=\"v\\\\\"} +Inf\n# TYPE h histogram\nh_bucket{le=\"0.5\"} NaN 17\n# EOF\n";

proptest::proptest! {
    #[test]
    fn mutated_expositions_never_panic(
        edits in proptest::collection::vec((0usize..400, proptest::prelude::any::<u8>(), 0u8..3), 1..8)
    ) {
        let mut bytes = SEED.as_bytes().to_vec();
        for (at, byte, op) in edits {
            let at = at % (bytes.len() + 1);
            match op {
                0 => bytes.insert(at, byte),
                1 if at < bytes.len() => { bytes.remove(at); }
                _ if at < bytes.len() => bytes[at] = byte,
                _ => {}
            }
        }
        for format in [Format::PrometheusText, Format::OpenMetrics] {
            let mut entries = 0;
            for e in Parser::new(&bytes, format) {
                entries += 1;
                proptest::prop_assert!(entries <= bytes.len() + 1);
                match e {
                    Ok(Entry::Sample(s)) => { let _ = s.labels(); }
                    Ok(_) => {}
                    Err(err) => {
                        proptest::prop_assert!(err.offset <= bytes.len());
                        let _ = err.line_text(&bytes);
                    }
                }
            }
        }
    }
}

#[test]
fn seed_is_valid_openmetrics() {
    let s = samples(SEED, Format::OpenMetrics);
    let got: Vec<_> = s
        .iter()
        .map(|s| {
            (
                s.metric_name().into_owned(),
                s.timestamp_ms,
                s.exemplars.len(),
            )
        })
        .collect();
    assert_eq!(
        got,
        [
            ("m_total".to_owned(), Some(1500), 1),
            ("q.n".to_owned(), None, 0),
            ("h_bucket".to_owned(), Some(17000), 0),
        ]
    );
    assert_eq!(s[1].labels().get("l x"), Some("v\\"));
    assert_eq!(s[0].exemplars[0].timestamp_ms, Some(3000));
    assert_eq!(s[2].labels().get("le"), Some("0.5"));
    assert!(s[2].value.is_nan());
}
