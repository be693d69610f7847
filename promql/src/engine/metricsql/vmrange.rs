//! VictoriaMetrics' log-scale histogram buckets (`vmrange="1.000e+00...1.136e+00"`): 18
//! buckets per decade from 1e-9 to 1e18, plus one below, one above and one for zero.

/// Smallest decade exponent with its own buckets.
const E10_MIN: i32 = -9;
/// Largest decade exponent.
const E10_MAX: i32 = 18;
/// Buckets per decade (VM's `bucketsPerDecimal`).
const PER_DECADE: i32 = 18;

/// Go's `%.3e`: a mantissa with three decimals and a signed two-digit exponent.
pub(crate) fn go_exp3(v: f64) -> String {
    let s = format!("{v:.3e}");
    match s.split_once('e') {
        Some((m, e)) => {
            let (sign, digits) = match e.strip_prefix('-') {
                Some(d) => ('-', d),
                None => ('+', e),
            };
            format!("{m}e{sign}{digits:0>2}")
        }
        None => s,
    }
}

/// The bucket boundaries of the regular buckets, computed the way VM does (repeated
/// multiplication), so that the printed bounds match.
fn bounds() -> &'static [String] {
    static B: std::sync::OnceLock<Vec<String>> = std::sync::OnceLock::new();
    B.get_or_init(|| {
        let mult = 10f64.powf(1.0 / PER_DECADE as f64);
        let mut v = 10f64.powi(E10_MIN);
        let n = ((E10_MAX - E10_MIN) * PER_DECADE) as usize;
        let mut out = Vec::with_capacity(n + 1);
        out.push(go_exp3(v));
        for _ in 0..n {
            v *= mult;
            out.push(go_exp3(v));
        }
        out
    })
}

/// The `vmrange` label of the bucket holding `v`; `None` for negative values and NaN.
pub(crate) fn vmrange(v: f64) -> Option<String> {
    if v.is_nan() || v < 0.0 {
        return None;
    }
    if v == 0.0 {
        return Some("0...0".into());
    }
    let b = bounds();
    let lower = 10f64.powi(E10_MIN);
    if v <= lower {
        return Some(format!("0...{}", b[0]));
    }
    if v > 10f64.powi(E10_MAX) {
        return Some(format!("{}...+Inf", b[b.len() - 1]));
    }
    let x = (v.log10() - E10_MIN as f64) * PER_DECADE as f64;
    let mut idx = x as usize;
    if x == idx as f64 && idx > 0 {
        idx -= 1;
    }
    let idx = idx.min(b.len() - 2);
    Some(format!("{}...{}", b[idx], b[idx + 1]))
}

/// The upper bound of a `vmrange` value (`"a...b"` → b).
pub(crate) fn upper(range: &str) -> Option<f64> {
    let (_, hi) = range.split_once("...")?;
    if hi == "+Inf" {
        return Some(f64::INFINITY);
    }
    hi.parse().ok()
}

/// The lower bound of a `vmrange` value.
pub(crate) fn lower(range: &str) -> Option<f64> {
    range.split_once("...")?.0.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_like_go() {
        assert_eq!(go_exp3(1.0), "1.000e+00");
        assert_eq!(go_exp3(1.1364636663857248), "1.136e+00");
        assert_eq!(go_exp3(1e-9), "1.000e-09");
        assert_eq!(go_exp3(123456.0), "1.235e+05");
    }

    #[test]
    fn buckets() {
        assert_eq!(vmrange(1.0).as_deref(), Some("8.799e-01...1.000e+00"));
        assert_eq!(vmrange(1.05).as_deref(), Some("1.000e+00...1.136e+00"));
        assert_eq!(vmrange(0.0).as_deref(), Some("0...0"));
        assert_eq!(vmrange(-1.0), None);
        assert_eq!(upper("1.000e+00...1.136e+00"), Some(1.136));
        assert_eq!(lower("1.000e+00...1.136e+00"), Some(1.0));
    }
}
