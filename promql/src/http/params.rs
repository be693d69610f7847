//! Request parameters of the Prometheus API: URL query and form body, repeated keys
//! (`match[]`), times as Unix seconds or RFC 3339.

use gnomon_tsdb_core::model::{Matcher, TimeRange};

use super::ApiError;

/// The `key=value` pairs of a request's URL query followed by those of its
/// `application/x-www-form-urlencoded` body, percent-decoded, in order.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Params(Vec<(String, String)>);

impl Params {
    /// Parses the URL query (without `?`) and the form body (empty when none).
    pub fn parse(query: Option<&str>, form: &[u8]) -> Self {
        let mut pairs = Vec::new();
        for part in [query.unwrap_or("").as_bytes(), form] {
            for kv in part.split(|&b| b == b'&').filter(|kv| !kv.is_empty()) {
                let (k, v) = match kv.iter().position(|&b| b == b'=') {
                    Some(i) => (&kv[..i], &kv[i + 1..]),
                    None => (kv, &[][..]),
                };
                pairs.push((url_decode(k), url_decode(v)));
            }
        }
        Params(pairs)
    }

    /// The first value of `key`.
    pub fn get(&self, key: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }

    /// Every value of `key`, in order.
    pub fn all<'a>(&'a self, key: &'a str) -> impl Iterator<Item = &'a str> + 'a {
        self.0
            .iter()
            .filter(move |(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }

    /// The series selectors of every `match[]`, each parsed into its matchers.
    ///
    /// # Errors
    /// [`ApiError::bad_data`] naming the selector that does not parse.
    pub fn matchers(&self) -> Result<Vec<Vec<Matcher>>, ApiError> {
        self.all("match[]")
            .map(|s| {
                crate::parse_series_selector(s)
                    .map_err(|e| ApiError::bad_data(format!("cannot parse match[]={s:?}: {e}")))
            })
            .collect()
    }

    /// Like [`Params::matchers`], for endpoints that need at least one `match[]`.
    ///
    /// # Errors
    /// As [`Params::matchers`]; [`ApiError::bad_data`] when there is no `match[]`.
    pub fn required_matchers(&self) -> Result<Vec<Vec<Matcher>>, ApiError> {
        let m = self.matchers()?;
        if m.is_empty() {
            return Err(ApiError::bad_data("missing `match[]` arg"));
        }
        Ok(m)
    }

    /// The `[start, end]` range of the request in milliseconds; a missing bound is open
    /// (VictoriaMetrics 1.79 and Prometheus search all time when none is given).
    ///
    /// # Errors
    /// [`ApiError::bad_data`] when a bound does not parse or `end < start`.
    pub fn time_range(&self) -> Result<TimeRange, ApiError> {
        let start = self.time("start")?.unwrap_or(i64::MIN);
        let end = self.time("end")?.unwrap_or(i64::MAX);
        if end < start {
            return Err(ApiError::bad_data(format!(
                "end={end}ms must not be before start={start}ms"
            )));
        }
        Ok(TimeRange::new(start, end))
    }

    /// The time parameter `key` in milliseconds, if given and not empty.
    ///
    /// # Errors
    /// [`ApiError::bad_data`] naming the parameter when it does not parse.
    pub fn time(&self, key: &str) -> Result<Option<i64>, ApiError> {
        match self.get(key) {
            None | Some("") => Ok(None),
            Some(s) => parse_time(s).map(Some).ok_or_else(|| {
                ApiError::bad_data(format!(
                    "cannot parse {key}={s:?}: want Unix seconds or RFC 3339"
                ))
            }),
        }
    }

    /// The `limit` parameter: a positive count, `None` when absent or zero.
    ///
    /// # Errors
    /// [`ApiError::bad_data`] when it is not a non-negative integer.
    pub fn limit(&self) -> Result<Option<usize>, ApiError> {
        match self.get("limit") {
            None | Some("") => Ok(None),
            Some(s) => s
                .parse::<usize>()
                .map(|n| (n > 0).then_some(n))
                .map_err(|_| ApiError::bad_data(format!("cannot parse limit={s:?}"))),
        }
    }
}

/// Decodes `%XX` escapes and `+` (a space in form encoding); invalid UTF-8 is replaced.
fn url_decode(s: &[u8]) -> String {
    let mut out = Vec::with_capacity(s.len());
    let mut i = 0;
    while i < s.len() {
        let escaped = match s.get(i + 1..i + 3) {
            Some(&[h, l]) if s[i] == b'%' => hex(h).zip(hex(l)),
            _ => None,
        };
        match (s[i], escaped) {
            (b'%', Some((h, l))) => {
                out.push(h << 4 | l);
                i += 2;
            }
            (b'+', _) => out.push(b' '),
            (b, _) => out.push(b),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

fn hex(b: u8) -> Option<u8> {
    (b as char).to_digit(16).map(|d| d as u8)
}

/// Parses a Prometheus API time: Unix seconds with an optional fraction (`1704067200`,
/// `1704067200.5`) or RFC 3339 (`2024-01-01T00:00:00Z`, `2024-01-01T01:00:00.5+01:00`).
/// Returns milliseconds, clamped to the `i64` range (Prometheus clients send
/// `-292273086-05-16T16:47:06Z` for "min time").
pub fn parse_time(s: &str) -> Option<i64> {
    if let Ok(secs) = s.parse::<f64>() {
        if !secs.is_finite() {
            return None;
        }
        return Some((secs * 1000.0).round() as i64);
    }
    parse_rfc3339(s)
}

fn parse_rfc3339(s: &str) -> Option<i64> {
    let (neg, body) = match s.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, s),
    };
    let (date, rest) = body.split_once(['T', 't', ' '])?;
    let mut d = date.splitn(3, '-');
    let year: i128 = d.next()?.parse().ok()?;
    let year = if neg { -year } else { year };
    let month: i128 = d.next()?.parse().ok()?;
    let day: i128 = d.next()?.parse().ok()?;
    let tz_at = rest.find(['Z', 'z', '+', '-'])?;
    let (clock, tz) = rest.split_at(tz_at);
    let mut c = clock.splitn(3, ':');
    let hour: i128 = c.next()?.parse().ok()?;
    let min: i128 = c.next()?.parse().ok()?;
    let sec_field = c.next()?;
    let (sec, frac) = sec_field.split_once('.').unwrap_or((sec_field, ""));
    let sec: i128 = sec.parse().ok()?;
    let frac_ms: i128 = if frac.is_empty() {
        0
    } else {
        if !frac.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        format!("{:0<3}", &frac[..frac.len().min(3)]).parse().ok()?
    };
    if !(1..=12).contains(&month) || !(1..=31).contains(&day) || hour > 23 || min > 59 || sec > 60 {
        return None;
    }
    let offset_min: i128 = match tz {
        "Z" | "z" => 0,
        _ => {
            let sign = if tz.starts_with('-') { -1 } else { 1 };
            let (h, m) = tz[1..].split_once(':')?;
            sign * (h.parse::<i128>().ok()? * 60 + m.parse::<i128>().ok()?)
        }
    };
    let days = i128::from(gnomon_tsdb_core::model::civil::days_from_civil(
        i64::try_from(year).ok()?,
        u32::try_from(month).ok()?,
        u32::try_from(day).ok()?,
    ));
    let secs = days * 86400 + hour * 3600 + min * 60 + sec - offset_min * 60;
    let ms = secs * 1000 + frac_ms;
    Some(ms.clamp(i128::from(i64::MIN), i128::from(i64::MAX)) as i64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_parse_as_prometheus_does() {
        assert_eq!(parse_time("1704067200"), Some(1_704_067_200_000));
        assert_eq!(parse_time("1704067200.123"), Some(1_704_067_200_123));
        assert_eq!(parse_time("2024-01-01T00:00:00Z"), Some(1_704_067_200_000));
        assert_eq!(
            parse_time("2024-01-01T01:00:00.5+01:00"),
            Some(1_704_067_200_500)
        );
        assert_eq!(parse_time("1969-12-31T23:59:59Z"), Some(-1000));
        // Prometheus clients' "min time" and "max time": far past and future, no overflow.
        assert!(
            parse_time("-292273086-05-16T16:47:06Z")
                .is_some_and(|t| t < -9_200_000_000_000_000_000)
        );
        assert_eq!(parse_time("292277026596-12-04T15:30:07Z"), Some(i64::MAX));
        assert_eq!(parse_time("2024-13-01T00:00:00Z"), None);
        assert_eq!(parse_time("yesterday"), None);
        assert_eq!(parse_time("NaN"), None);
    }

    #[test]
    fn params_merge_query_and_form_and_decode() {
        let p = Params::parse(
            Some("match[]=up&start=1&x"),
            b"match%5B%5D=a%7Bb%3D%22c+d%22%7D",
        );
        assert_eq!(
            p.all("match[]").collect::<Vec<_>>(),
            vec!["up", "a{b=\"c d\"}"]
        );
        assert_eq!(p.get("start"), Some("1"));
        assert_eq!(p.get("x"), Some(""));
        assert_eq!(p.time("start").unwrap(), Some(1000));
        let e = Params::parse(Some("end=abc"), b"")
            .time_range()
            .unwrap_err();
        assert_eq!(e.error_type, "bad_data");
        assert!(e.message.contains("end=\"abc\""), "{}", e.message);
    }

    #[test]
    fn range_defaults_to_all_time_and_rejects_inverted() {
        assert_eq!(
            Params::parse(None, b"").time_range().unwrap(),
            TimeRange::ALL
        );
        assert!(
            Params::parse(Some("start=10&end=5"), b"")
                .time_range()
                .is_err()
        );
        assert_eq!(Params::parse(Some("limit=0"), b"").limit().unwrap(), None);
        assert_eq!(
            Params::parse(Some("limit=3"), b"").limit().unwrap(),
            Some(3)
        );
        assert!(Params::parse(Some("limit=-1"), b"").limit().is_err());
    }
}
