//! Parser tests: accepted forms, canonical output and errors with their spans.

use super::*;
use crate::error::Error;

fn fmt(q: &str) -> String {
    match parse(q) {
        Ok(e) => e.to_string(),
        Err(e) => panic!("{q}: {e}"),
    }
}

fn err(q: &str) -> ParseError {
    match parse(q) {
        Ok(e) => panic!("{q} parsed as {e}"),
        Err(Error::Parse(p)) => *p,
    }
}

fn err_strict(q: &str) -> ParseError {
    match parse_with(q, &ParseOptions::prometheus()) {
        Ok(e) => panic!("{q} parsed as {e}"),
        Err(Error::Parse(p)) => *p,
    }
}

#[test]
fn canonical_forms() {
    for (q, want) in [
        ("foo", "foo"),
        ("foo{}", "foo"),
        ("{__name__=\"foo\"}", "{__name__=\"foo\"}"),
        ("{\"foo.bar\", a='b'}", "{\"foo.bar\", a=\"b\"}"),
        ("sum(x) by (a)", "sum by (a) (x)"),
        ("sum without(a,b,)(x)", "sum without (a, b) (x)"),
        ("1 + 2 * 3", "1 + 2 * 3"),
        ("(1 + 2) * 3", "(1 + 2) * 3"),
        ("2 ^ 3 ^ 2", "2 ^ 3 ^ 2"),
        ("(2 ^ 3) ^ 2", "(2 ^ 3) ^ 2"),
        ("-1 ^ 2", "-(1 ^ 2)"),
        ("(-1) ^ 2", "(-1) ^ 2"),
        ("a - (b - c)", "a - (b - c)"),
        ("x offset -5m", "x offset -5m"),
        ("x[5m] @ 100 offset 1h", "x[5m] @ 100 offset 1h"),
        ("rate(x[5m])[30m:1m]", "rate(x[5m])[30m:1m]"),
        ("(x offset 1m)[10m:]", "(x offset 1m)[10m:]"),
        (
            "a > bool on(x) group_left(y) b",
            "a > bool on(x) group_left(y) b",
        ),
        ("a + group_left() b", "a + group_left b"),
        ("a + fill_left(1) fill_right(1) b", "a + fill(1) b"),
        ("x[1h/2]", "x[1h / 2]"),
        ("x offset (2 * 2)", "x offset (2 * 2)"),
        ("x offset -2 ^ 2", "x offset -2 ^ 2"),
        ("x[step()+1ms]", "x[step() + 1ms]"),
        ("0x10 + 1_000 + .5 + 1e3", "16 + 1000 + 0.5 + 1000"),
        ("-Inf", "-Inf"),
        ("predict_linear(x[5m], 1h)", "predict_linear(x[5m], 3600)"),
        ("rate(x)", "rate(x)"),
        ("1Ki", "1024"),
        ("x[$__interval]", "x[$__interval]"),
        ("x[5i]", "x[5i]"),
        ("sum(x) limit 5", "sum(x) limit 5"),
        (
            "rate(x[5m]) keep_metric_names",
            "rate(x[5m]) keep_metric_names",
        ),
        ("a default 0", "a default 0"),
        ("a if b", "a if b"),
        ("foo # a comment\n + bar", "foo + bar"),
        ("metric @ 100 smoothed", "metric @ 100 smoothed"),
        ("x @ start()", "x @ start()"),
        ("\"a\\u00e9\\x41\"", "\"aéA\""),
        ("{\"inf\"}", "{\"inf\"}"),
        (
            "info(x, {__name__=~\".+_info\"})",
            "info(x, {__name__=~\".+_info\"})",
        ),
    ] {
        assert_eq!(fmt(q), want, "{q}");
    }
}

#[test]
fn with_templates_expand() {
    assert_eq!(
        fmt("WITH (x = foo{a=\"b\"}) rate(x[5m])"),
        "rate(foo{a=\"b\"}[5m])"
    );
    assert_eq!(fmt("with (f(a, b) = a + b * 2) f(x, 1)"), "x + 1 * 2");
    assert_eq!(
        fmt("WITH (lf = {job=\"api\"}) foo{lf, x=\"y\"}"),
        "foo{job=\"api\", x=\"y\"}"
    );
    assert_eq!(fmt("WITH (a = 1, b = a + 1) WITH (a = 5) b"), "1 + 1");
    let e = err("WITH (f(a) = a) f(1, 2)");
    assert!(matches!(e.kind, ParseErrorKind::Template(_)));
    // A template only sees the ones defined before it, so it cannot recurse.
    let e = err("WITH (f(a) = f(a)) f(1)");
    assert_eq!(
        (e.kind, e.span),
        (ParseErrorKind::UnknownFunction("f".into()), 13..14)
    );
}

#[test]
fn errors_have_spans() {
    let e = err("sum(rate(x[5m])");
    assert_eq!(e.kind, ParseErrorKind::Expected("`,` or `)`".into()));
    assert_eq!(e.span, 15..15);
    let e = err("foo{a=~\"(\"}");
    assert!(matches!(e.kind, ParseErrorKind::InvalidRegex(_)));
    assert_eq!(e.span, 7..10);
    let e = err("nosuchfunc(x)");
    assert_eq!(e.kind, ParseErrorKind::UnknownFunction("nosuchfunc".into()));
    assert_eq!(e.span, 0..10);
    let e = err("rate(x)+ ");
    assert_eq!(e.kind, ParseErrorKind::Expected("expression".into()));
    assert_eq!(e.span, 9..9);
    let e = err("{}");
    assert!(matches!(e.kind, ParseErrorKind::InvalidSelector(_)));
    let e = err("{a=~\".*\"}");
    assert!(matches!(e.kind, ParseErrorKind::InvalidSelector(_)));
    let e = err("foo bar");
    assert_eq!((e.kind, e.span), (ParseErrorKind::TrailingInput, 4..7));
    let e = err_strict("abs(1)");
    assert!(matches!(e.kind, ParseErrorKind::Type(_)), "{e}");
    assert_eq!(e.span, 4..5);
    let e = err_strict("rate(x)");
    assert!(matches!(e.kind, ParseErrorKind::Type(_)), "{e}");
    let e = err_strict("1 > 2");
    assert!(matches!(e.kind, ParseErrorKind::Type(_)));
    let e = err_strict("sum(x) limit 3");
    assert!(matches!(e.kind, ParseErrorKind::NotPromQL(_)));
    let e = err_strict("median(x)");
    assert_eq!(e.kind, ParseErrorKind::UnknownFunction("median".into()));
    let e = err("x + on(a) group_left(a) y");
    assert!(matches!(e.kind, ParseErrorKind::Type(_)));
    let e = err("\"abc");
    assert!(matches!(e.kind, ParseErrorKind::InvalidLiteral(_)));
    let e = err("x offset 5m offset 1m");
    assert_eq!(e.span, 12..18);
    let e = err("round(x, 1, 2)");
    assert!(matches!(e.kind, ParseErrorKind::ArgCount { got: 3, .. }));
}

#[test]
fn deep_nesting_is_an_error() {
    let deep = format!("{}1{}", "(".repeat(100_000), ")".repeat(100_000));
    assert_eq!(err(&deep).kind, ParseErrorKind::TooDeep(DEFAULT_MAX_DEPTH));
    let chain = vec!["1"; 100_000].join(" + ");
    assert_eq!(err(&chain).kind, ParseErrorKind::TooDeep(DEFAULT_MAX_DEPTH));
    let unary = format!("{}1", "-".repeat(100_000));
    assert_eq!(err(&unary).kind, ParseErrorKind::TooDeep(DEFAULT_MAX_DEPTH));
    let calls = format!("{}x{}", "abs(".repeat(50_000), ")".repeat(50_000));
    assert_eq!(err(&calls).kind, ParseErrorKind::TooDeep(DEFAULT_MAX_DEPTH));
    // Just under the limit still parses and prints.
    let ok = format!("{}1{}", "(".repeat(60), ")".repeat(60));
    assert_eq!(fmt(&ok), "1");
}

#[test]
fn series_selectors() {
    let m = parse_series_selector("up{job=\"a\", i=~\"x|y\"}").unwrap();
    assert_eq!(
        m.iter().map(ToString::to_string).collect::<Vec<_>>(),
        ["__name__=\"up\"", "job=\"a\"", "i=~\"x|y\""]
    );
    assert_eq!(parse_series_selector("{\"a.b\"}").unwrap()[0].value, "a.b");
    let Err(Error::Parse(e)) = parse_series_selector("rate(x[5m])") else {
        panic!("accepted a call");
    };
    assert_eq!(e.span, 0..11);
    let Err(Error::Parse(e)) = parse_series_selector("x{a=~\"[\"}") else {
        panic!("accepted a bad regex");
    };
    assert!(matches!(e.kind, ParseErrorKind::InvalidRegex(_)));
    assert!(parse_series_selector("x offset 5m").is_err());
}
