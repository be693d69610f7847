//! Texts of unit-test failures, worded and laid out as promtool prints them.

use std::collections::BTreeMap;

use gnomon_tsdb_core::model::Labels;

/// Prometheus' `Labels.String()`: `{a="1", b="2"}`.
pub fn labels_string(l: &Labels) -> String {
    let parts: Vec<String> = l
        .iter()
        .map(|x| format!("{}={:?}", x.name, x.value))
        .collect();
    format!("{{{}}}", parts.join(", "))
}

/// A string map the same way.
pub fn map_string(m: &BTreeMap<String, String>) -> String {
    let parts: Vec<String> = m.iter().map(|(k, v)| format!("{k}={v:?}")).collect();
    format!("{{{}}}", parts.join(", "))
}

/// `strconv.FormatFloat(v, 'E', -1, 64)`: `1E+00`, `1.5E+01`.
pub fn float_e(v: f64) -> String {
    if v.is_nan() {
        return "NaN".into();
    }
    if v.is_infinite() {
        return if v > 0.0 {
            "+Inf".into()
        } else {
            "-Inf".into()
        };
    }
    let s = format!("{v:E}");
    let (m, x) = s.split_once('E').unwrap_or((&s, "0"));
    let n: i32 = x.parse().unwrap_or(0);
    format!("{m}E{}{:02}", if n < 0 { '-' } else { '+' }, n.abs())
}

/// Go's `time.Duration.String()` of milliseconds: `0s`, `1m0s`, `1h2m3.5s`, `500ms`.
pub fn go_duration(ms: i64) -> String {
    if ms == 0 {
        return "0s".into();
    }
    let neg = if ms < 0 { "-" } else { "" };
    let ms = ms.unsigned_abs();
    if ms < 1000 {
        return format!("{neg}{ms}ms");
    }
    let (h, m, s, frac) = (
        ms / 3_600_000,
        (ms / 60_000) % 60,
        (ms / 1000) % 60,
        ms % 1000,
    );
    let secs = if frac == 0 {
        format!("{s}s")
    } else {
        format!("{s}.{}s", format!("{frac:03}").trim_end_matches('0'))
    };
    if h > 0 {
        format!("{neg}{h}h{m}m{secs}")
    } else if m > 0 {
        format!("{neg}{m}m{secs}")
    } else {
        format!("{neg}{secs}")
    }
}

/// One alert of a comparison: labels and annotations.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct AlertView {
    /// Labels, `alertname` included.
    pub labels: BTreeMap<String, String>,
    /// Annotations.
    pub annotations: BTreeMap<String, String>,
}

fn indent_lines(s: &str, indent: &str) -> String {
    let lines: Vec<&str> = s.split('\n').collect();
    let mut out = String::new();
    for (i, l) in lines.iter().enumerate() {
        if i > 0 {
            out.push_str(indent);
        }
        out.push_str(l);
        if i != lines.len() - 1 {
            out.push('\n');
        }
    }
    out
}

fn alert_string(a: &AlertView) -> String {
    format!(
        "Labels:{}\nAnnotations:{}",
        map_string(&a.labels),
        map_string(&a.annotations)
    )
}

/// promtool's list of alerts, indented for the `exp:`/`got:` lines.
pub fn alerts_string(list: &[AlertView]) -> String {
    if list.is_empty() {
        return "[]".into();
    }
    let mut s = format!(
        "[\n0:{}",
        indent_lines(&format!("\n{}", alert_string(&list[0])), "  ")
    );
    for (i, a) in list[1..].iter().enumerate() {
        s.push_str(&format!(
            ",\n{}:{}",
            i + 1,
            indent_lines(&format!("\n{}", alert_string(a)), "  ")
        ));
    }
    s.push_str("\n]");
    indent_lines(&s, "            ")
}

/// Samples as promtool lists them: `{a="b"} 1E+00, …`.
pub fn samples_string(list: &[(Labels, f64)]) -> String {
    if list.is_empty() {
        return "nil".into();
    }
    let parts: Vec<String> = list
        .iter()
        .map(|(l, v)| format!("{} {}", labels_string(l), float_e(*v)))
        .collect();
    parts.join(", ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn go_texts() {
        assert_eq!(float_e(1.0), "1E+00");
        assert_eq!(float_e(15.0), "1.5E+01");
        assert_eq!(float_e(0.001), "1E-03");
        assert_eq!(go_duration(0), "0s");
        assert_eq!(go_duration(60_000), "1m0s");
        assert_eq!(go_duration(3_723_500), "1h2m3.5s");
        assert_eq!(go_duration(500), "500ms");
        assert_eq!(
            labels_string(&Labels::from_pairs(&[("__name__", "t"), ("a", "x")])),
            "{__name__=\"t\", a=\"x\"}"
        );
        let a = AlertView {
            labels: [("alertname".to_string(), "Test".to_string())].into(),
            annotations: BTreeMap::new(),
        };
        assert_eq!(
            alerts_string(&[a]),
            "[\n            0:\n              Labels:{alertname=\"Test\"}\n              Annotations:{}\n            ]"
        );
    }
}
