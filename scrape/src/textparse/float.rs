//! Number syntax shared by both formats: Go-compatible float parsing (what Prometheus'
//! `strconv.ParseFloat` accepts) and Go's shortest `%g` layout used to normalise `le` and
//! `quantile` label values.

/// Prometheus' canonical NaN (`value.NormalNaN`): every parsed NaN sample value is
/// stored with this bit pattern, so it never collides with the staleness marker.
pub const NORMAL_NAN_BITS: u64 = 0x7ff8_0000_0000_0001;

/// Why a number was rejected.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum FloatError {
    /// Not a number in Go's decimal syntax (or not UTF-8).
    Syntax,
    /// Hex floats (`p`/`P` exponents) and `_` digit separators: Go would accept them,
    /// Prometheus rejects them before calling Go.
    Unsupported,
    /// Finite syntax whose magnitude overflows `f64` (Go reports `ErrRange`).
    Range,
}

/// Parses a sample value, exemplar value or OpenMetrics timestamp the way Prometheus'
/// `parseFloat` does: Go's decimal syntax, `Inf`/`Infinity`/`NaN` in any case (signs only
/// on infinities), no hex floats, no `_`, overflow is an error.
pub(crate) fn parse_prom_float(text: &[u8]) -> Result<f64, FloatError> {
    if text.iter().any(|&b| matches!(b, b'p' | b'P' | b'_')) {
        return Err(FloatError::Unsupported);
    }
    parse_go_float(text)
}

/// Go's `strconv.ParseFloat(s, 64)` restricted to decimal syntax.
pub(crate) fn parse_go_float(text: &[u8]) -> Result<f64, FloatError> {
    let s = std::str::from_utf8(text).map_err(|_| FloatError::Syntax)?;
    let unsigned = s.strip_prefix(['+', '-']);
    if let Some(rest) = unsigned
        && rest.eq_ignore_ascii_case("nan")
    {
        // Rust accepts a signed NaN, Go does not.
        return Err(FloatError::Syntax);
    }
    let v: f64 = s.parse().map_err(|_| FloatError::Syntax)?;
    if v.is_infinite() && !is_infinity_word(unsigned.unwrap_or(s)) {
        return Err(FloatError::Range);
    }
    Ok(v)
}

fn is_infinity_word(s: &str) -> bool {
    s.eq_ignore_ascii_case("inf") || s.eq_ignore_ascii_case("infinity")
}

/// Converts seconds (OpenMetrics timestamps) to milliseconds as Prometheus does:
/// multiply by 1000 and truncate toward zero (saturating at the `i64` range).
pub(crate) fn seconds_to_ms(seconds: f64) -> i64 {
    (seconds * 1000.0) as i64
}

/// Formats `v` as Prometheus' `formatOpenMetricsFloat`: Go's shortest `%g`, with `.0`
/// appended when the text has neither `.` nor `e` (`1` → `1.0`, `1e6` → `1e+06`,
/// `+Inf`, `-Inf`, `NaN`).
pub fn format_openmetrics_float(v: f64) -> String {
    if v.is_nan() {
        return "NaN".to_owned();
    }
    if v.is_infinite() {
        return if v > 0.0 { "+Inf" } else { "-Inf" }.to_owned();
    }
    if v == 0.0 {
        return "0.0".to_owned();
    }
    let mut out = format_go_g(v);
    if !out.contains(['.', 'e']) {
        out.push_str(".0");
    }
    out
}

/// Go's `strconv.FormatFloat(v, 'g', -1, 64)` for finite non-zero `v`.
fn format_go_g(v: f64) -> String {
    // Rust's `{:e}` prints the shortest round-tripping digits, as Go's shortest mode does:
    // "d.ddde<exp>"; take the digits and the exponent from it.
    let sci = format!("{:e}", v.abs());
    let (mantissa, exp) = sci.split_once('e').unwrap_or((sci.as_str(), "0"));
    let exp: i32 = exp.parse().unwrap_or(0);
    let digits: Vec<u8> = mantissa.bytes().filter(u8::is_ascii_digit).collect();
    let mut out = String::with_capacity(digits.len() + 8);
    if v < 0.0 {
        out.push('-');
    }
    // Go: %e when the exponent is < -4 or >= 6 (6 is Go's fixed choice for the shortest
    // precision, ftoa.go "use precision 6 for this decision").
    if !(-4..6).contains(&exp) {
        push_go_exp(&mut out, &digits, exp);
    } else {
        push_go_fixed(&mut out, &digits, exp);
    }
    out
}

fn push_go_exp(out: &mut String, digits: &[u8], exp: i32) {
    out.push(char::from(digits.first().copied().unwrap_or(b'0')));
    if digits.len() > 1 {
        out.push('.');
        digits[1..].iter().for_each(|&d| out.push(char::from(d)));
    }
    out.push('e');
    out.push(if exp < 0 { '-' } else { '+' });
    let e = exp.unsigned_abs();
    if e < 10 {
        out.push('0');
    }
    out.push_str(&e.to_string());
}

fn push_go_fixed(out: &mut String, digits: &[u8], exp: i32) {
    // Position of the decimal point relative to the first digit.
    let point = exp + 1;
    let digit_at = |i: i32| -> char {
        usize::try_from(i)
            .ok()
            .and_then(|i| digits.get(i))
            .map_or('0', |&d| char::from(d))
    };
    if point <= 0 {
        out.push('0');
    } else {
        (0..point).for_each(|i| out.push(digit_at(i)));
    }
    let fraction = digits.len() as i32 - point;
    if fraction > 0 {
        out.push('.');
        (point..point + fraction).for_each(|i| out.push(digit_at(i)));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn go_float_syntax() {
        assert_eq!(parse_prom_float(b"1"), Ok(1.0));
        assert_eq!(parse_prom_float(b"-1.5e3"), Ok(-1500.0));
        assert_eq!(parse_prom_float(b".5"), Ok(0.5));
        assert_eq!(parse_prom_float(b"+Inf"), Ok(f64::INFINITY));
        assert_eq!(parse_prom_float(b"-inf"), Ok(f64::NEG_INFINITY));
        assert_eq!(parse_prom_float(b"Infinity"), Ok(f64::INFINITY));
        assert!(parse_prom_float(b"NaN").is_ok_and(f64::is_nan));
        assert!(parse_prom_float(b"nan").is_ok_and(f64::is_nan));
        assert_eq!(parse_prom_float(b"+NaN"), Err(FloatError::Syntax));
        assert_eq!(parse_prom_float(b"true"), Err(FloatError::Syntax));
        assert_eq!(parse_prom_float(b""), Err(FloatError::Syntax));
        assert_eq!(parse_prom_float(b"1_0"), Err(FloatError::Unsupported));
        assert_eq!(parse_prom_float(b"0x1p-3"), Err(FloatError::Unsupported));
        assert_eq!(parse_prom_float(b"0x10"), Err(FloatError::Syntax));
        assert_eq!(parse_prom_float(b"1e400"), Err(FloatError::Range));
        assert_eq!(parse_prom_float(b"1e-400"), Ok(0.0));
        assert_eq!(parse_prom_float(b"1\t2"), Err(FloatError::Syntax));
    }

    #[test]
    fn openmetrics_float_layout_matches_go() {
        let cases = [
            (0.0, "0.0"),
            (-0.0, "0.0"),
            (1.0, "1.0"),
            (-1.0, "-1.0"),
            (2.0, "2.0"),
            (0.25, "0.25"),
            (10.0, "10.0"),
            (100000.0, "100000.0"),
            (999999.0, "999999.0"),
            (1e6, "1e+06"),
            (1234567.0, "1.234567e+06"),
            (608863452348.1149, "6.088634523481149e+11"),
            (0.0001, "0.0001"),
            (0.00001, "1e-05"),
            (1.5e-7, "1.5e-07"),
            (1e100, "1e+100"),
            (-2.5e-10, "-2.5e-10"),
            (0.005, "0.005"),
            (123.456, "123.456"),
            (f64::INFINITY, "+Inf"),
            (f64::NEG_INFINITY, "-Inf"),
            (f64::NAN, "NaN"),
        ];
        for (v, want) in cases {
            assert_eq!(format_openmetrics_float(v), want, "value {v:e}");
        }
    }

    #[test]
    fn seconds_truncate_like_go() {
        assert_eq!(seconds_to_ms(123.123), 123_123);
        assert_eq!(seconds_to_ms(1520872607.123), 1_520_872_607_123);
        assert_eq!(seconds_to_ms(-1.5), -1500);
    }

    proptest::proptest! {
        #[test]
        fn openmetrics_float_round_trips(bits in proptest::prelude::any::<u64>()) {
            let v = f64::from_bits(bits);
            let text = format_openmetrics_float(v);
            let back = parse_go_float(text.as_bytes()).expect("formatted float parses");
            if v.is_nan() {
                proptest::prop_assert!(back.is_nan());
            } else {
                proptest::prop_assert_eq!(back, if v == 0.0 { 0.0 } else { v });
            }
        }
    }
}
