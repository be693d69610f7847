//! Prometheus' template functions (`humanize`, `query`, `label`, …), as in Prometheus'
//! `template/template.go`.

use gnomon_tsdb_core::model::civil::civil_from_days;

use super::TemplateEnv;
use super::exec::{map_of, url_escape};
use super::gofmt::float_g;
use super::value::TValue;
use crate::duration::parse_duration;

/// Prometheus' function names.
pub(crate) const PROMETHEUS_FUNCS: &[&str] = &[
    "query",
    "first",
    "label",
    "value",
    "strvalue",
    "args",
    "reReplaceAll",
    "safeHtml",
    "match",
    "title",
    "toUpper",
    "toLower",
    "graphLink",
    "tableLink",
    "sortByLabel",
    "humanize",
    "humanize1024",
    "humanizeDuration",
    "humanizePercentage",
    "humanizeTimestamp",
    "toTime",
    "toDuration",
    "pathPrefix",
    "externalURL",
    "parseDuration",
    "stripPort",
    "stripDomain",
    "now",
];

type R = Result<TValue, String>;

fn float_arg(a: &[TValue], i: usize) -> Result<f64, String> {
    let v = a.get(i).ok_or("missing argument")?;
    v.as_f64()
        .ok_or_else(|| format!("can't convert {} to float", v.to_go_string()))
}

fn str_arg(a: &[TValue], i: usize) -> Result<String, String> {
    match a.get(i) {
        Some(TValue::Str(s)) => Ok(s.clone()),
        Some(v) => Ok(v.to_go_string()),
        None => Err("missing argument".into()),
    }
}

fn s(v: String) -> R {
    Ok(TValue::Str(v))
}

/// Calls Prometheus function `f`.
pub(crate) fn call_prometheus(f: &str, a: &[TValue], env: &TemplateEnv<'_>) -> R {
    match f {
        "query" => query(&str_arg(a, 0)?, env),
        "first" => match a.first() {
            Some(TValue::List(l)) => l
                .first()
                .cloned()
                .ok_or_else(|| "first() called on vector with no elements".into()),
            _ => Err("first() needs a query result".into()),
        },
        "label" => {
            let name = str_arg(a, 0)?;
            let labels = a
                .get(1)
                .and_then(|v| v.field("Labels"))
                .unwrap_or(TValue::Nil);
            Ok(labels.field(&name).unwrap_or(TValue::Str(String::new())))
        }
        "value" => Ok(a
            .first()
            .and_then(|v| v.field("Value"))
            .unwrap_or(TValue::Nil)),
        "strvalue" => Ok(a
            .first()
            .and_then(|v| v.field("Labels"))
            .and_then(|l| l.field("__value__"))
            .unwrap_or(TValue::Str(String::new()))),
        "args" => Ok(TValue::Map(
            a.iter()
                .enumerate()
                .map(|(i, v)| (format!("arg{i}"), v.clone()))
                .collect(),
        )),
        "reReplaceAll" => {
            let re = regex::Regex::new(&str_arg(a, 0)?).map_err(|e| e.to_string())?;
            s(re.replace_all(&str_arg(a, 2)?, str_arg(a, 1)?.as_str())
                .into_owned())
        }
        "match" => {
            let re = regex::Regex::new(&str_arg(a, 0)?).map_err(|e| e.to_string())?;
            Ok(TValue::Bool(re.is_match(&str_arg(a, 1)?)))
        }
        "safeHtml" => s(str_arg(a, 0)?),
        "title" => s(title(&str_arg(a, 0)?)),
        "toUpper" => s(str_arg(a, 0)?.to_uppercase()),
        "toLower" => s(str_arg(a, 0)?.to_lowercase()),
        "graphLink" => s(format!(
            "/graph?g0.expr={}&g0.tab=0",
            url_escape(&str_arg(a, 0)?)
        )),
        "tableLink" => s(format!(
            "/graph?g0.expr={}&g0.tab=1",
            url_escape(&str_arg(a, 0)?)
        )),
        "sortByLabel" => {
            let name = str_arg(a, 0)?;
            let mut l = match a.get(1) {
                Some(TValue::List(l)) => l.clone(),
                _ => return Err("sortByLabel needs a query result".into()),
            };
            let key = |v: &TValue| {
                v.field("Labels")
                    .and_then(|l| l.field(&name))
                    .map(|x| x.to_go_string())
                    .unwrap_or_default()
            };
            l.sort_by_key(key);
            Ok(TValue::List(l))
        }
        "humanize" => s(humanize(float_arg(a, 0)?)),
        "humanize1024" => s(humanize1024(float_arg(a, 0)?)),
        "humanizeDuration" => s(humanize_duration(float_arg(a, 0)?)),
        "humanizePercentage" => s(format!("{}%", float_g(float_arg(a, 0)? * 100.0, Some(4)))),
        "humanizeTimestamp" | "toTime" => s(humanize_timestamp(float_arg(a, 0)?)),
        "toDuration" => s(humanize_duration(float_arg(a, 0)?)),
        "pathPrefix" => s(path_of(env.external_url)),
        "externalURL" => s(env.external_url.to_string()),
        "parseDuration" => {
            let ms = parse_duration(&str_arg(a, 0)?).map_err(|e| e.to_string())?;
            Ok(TValue::Float(ms as f64 / 1000.0))
        }
        "stripPort" => s(strip_port(&str_arg(a, 0)?)),
        "stripDomain" => s(strip_domain(&str_arg(a, 0)?)),
        "now" => Ok(TValue::Float(env.now_ms as f64 / 1000.0)),
        other => Err(format!("function {other:?} not defined")),
    }
}

fn query(q: &str, env: &TemplateEnv<'_>) -> R {
    let f = env.query.ok_or("query is not available here")?;
    let rows = f(q)?;
    Ok(TValue::List(
        rows.into_iter()
            .map(|r| {
                let labels = TValue::string_map(
                    r.labels.iter().map(|l| (l.name.as_str(), l.value.as_str())),
                );
                map_of(vec![("Labels", labels), ("Value", TValue::Float(r.value))])
            })
            .collect(),
    ))
}

fn scale(mut v: f64, step: f64, up: &[&'static str], down: &[&'static str]) -> String {
    if v == 0.0 || !v.is_finite() {
        return float_g(v, Some(4));
    }
    let mut prefix = "";
    if v.abs() >= 1.0 {
        for p in up {
            if v.abs() < step {
                break;
            }
            prefix = p;
            v /= step;
        }
    } else {
        for p in down {
            if v.abs() >= 1.0 {
                break;
            }
            prefix = p;
            v *= step;
        }
    }
    format!("{}{prefix}", float_g(v, Some(4)))
}

/// `humanize`: SI prefixes.
pub(crate) fn humanize(v: f64) -> String {
    scale(
        v,
        1000.0,
        &["k", "M", "G", "T", "P", "E", "Z", "Y"],
        &["m", "u", "n", "p", "f", "a", "z", "y"],
    )
}

/// `humanize1024`: binary prefixes, only upwards.
pub(crate) fn humanize1024(v: f64) -> String {
    if v.abs() <= 1.0 || !v.is_finite() {
        return float_g(v, Some(4));
    }
    scale(
        v,
        1024.0,
        &["ki", "Mi", "Gi", "Ti", "Pi", "Ei", "Zi", "Yi"],
        &[],
    )
}

/// `humanizeDuration`: seconds as `1d 2h 3m 4s`, or with sub-second prefixes.
pub(crate) fn humanize_duration(v: f64) -> String {
    if !v.is_finite() {
        return float_g(v, Some(4));
    }
    if v == 0.0 {
        return "0s".into();
    }
    if v.abs() >= 1.0 {
        let sign = if v < 0.0 { "-" } else { "" };
        let v = v.abs();
        let d = v as i64;
        let (secs, mins, hours, days) = (d % 60, (d / 60) % 60, (d / 3600) % 24, d / 86400);
        return if days != 0 {
            format!("{sign}{days}d {hours}h {mins}m {secs}s")
        } else if hours != 0 {
            format!("{sign}{hours}h {mins}m {secs}s")
        } else if mins != 0 {
            format!("{sign}{mins}m {secs}s")
        } else {
            format!("{sign}{}s", float_g(v, Some(4)))
        };
    }
    let mut v = v;
    let mut prefix = "";
    for p in ["m", "u", "n", "p", "f", "a", "z", "y"] {
        if v.abs() >= 1.0 {
            break;
        }
        prefix = p;
        v *= 1000.0;
    }
    format!("{}{prefix}s", float_g(v, Some(4)))
}

/// `humanizeTimestamp`: Go's `time.Time.String()` in UTC.
pub(crate) fn humanize_timestamp(v: f64) -> String {
    if !v.is_finite() {
        return float_g(v, Some(4));
    }
    // Prometheus goes through model.Time: millisecond precision.
    let ms = ((v * 1e9) as i64) / 1_000_000;
    let secs = ms.div_euclid(1000);
    let nanos = ms.rem_euclid(1000) * 1_000_000;
    let (days, sod) = (secs.div_euclid(86400), secs.rem_euclid(86400));
    let (y, m, d) = civil_from_days(days);
    let mut out = format!(
        "{y:04}-{m:02}-{d:02} {:02}:{:02}:{:02}",
        sod / 3600,
        (sod / 60) % 60,
        sod % 60
    );
    if nanos > 0 {
        let frac = format!("{nanos:09}");
        out.push('.');
        out.push_str(frac.trim_end_matches('0'));
    }
    out.push_str(" +0000 UTC");
    out
}

fn title(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut prev_sep = true;
    for c in s.chars() {
        if prev_sep {
            out.extend(c.to_uppercase());
        } else {
            out.push(c);
        }
        prev_sep = !(c.is_alphanumeric() || c == '_');
    }
    out
}

fn path_of(url: &str) -> String {
    let after_scheme = url.split_once("://").map_or(url, |(_, r)| r);
    match after_scheme.find('/') {
        Some(p) => after_scheme[p..]
            .split(['?', '#'])
            .next()
            .unwrap_or("")
            .to_string(),
        None => String::new(),
    }
}

fn strip_port(h: &str) -> String {
    if let Some(rest) = h.strip_prefix('[') {
        if let Some((host, port)) = rest.split_once("]:")
            && !port.is_empty()
        {
            return host.to_string();
        }
        return h.to_string();
    }
    match h.rsplit_once(':') {
        Some((host, _)) if !host.contains(':') => host.to_string(),
        _ => h.to_string(),
    }
}

fn strip_domain(h: &str) -> String {
    let (host, port) = match h.rsplit_once(':') {
        Some((host, port)) if !host.contains(':') => (host, Some(port)),
        _ => (h, None),
    };
    if host.parse::<std::net::IpAddr>().is_ok() {
        return h.to_string();
    }
    let short = host.split('.').next().unwrap_or(host);
    match port {
        Some(p) => format!("{short}:{p}"),
        None => short.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn humanize_family() {
        assert_eq!(humanize(1234567.0), "1.235M");
        assert_eq!(humanize(0.0012), "1.2m");
        assert_eq!(humanize(0.0), "0");
        assert_eq!(humanize1024(1048576.0), "1Mi");
        assert_eq!(humanize1024(0.5), "0.5");
        assert_eq!(humanize_duration(93784.0), "1d 2h 3m 4s");
        assert_eq!(humanize_duration(61.0), "1m 1s");
        assert_eq!(humanize_duration(1.5), "1.5s");
        assert_eq!(humanize_duration(0.0012), "1.2ms");
        assert_eq!(
            humanize_timestamp(1_435_065_584.128),
            "2015-06-23 13:19:44.128 +0000 UTC"
        );
    }

    #[test]
    fn host_helpers() {
        assert_eq!(strip_port("localhost:9090"), "localhost");
        assert_eq!(strip_port("[::1]:9090"), "::1");
        assert_eq!(strip_port("::1"), "::1");
        assert_eq!(strip_domain("foo.example.com:9090"), "foo:9090");
        assert_eq!(strip_domain("10.0.0.1:9090"), "10.0.0.1:9090");
        assert_eq!(title("aa bb-cc"), "Aa Bb-Cc");
        assert_eq!(path_of("http://h:9/prom/x?y"), "/prom/x");
    }
}
