//! Scrape targets from discovered label sets, as Prometheus' `PopulateLabels` makes them.
//!
//! For each discovered target (the group's labels under the target's own), the job's
//! defaults are added when discovery did not set them (`job`, `__scheme__`,
//! `__metrics_path__`, `__scrape_interval__`, `__scrape_timeout__`, `__param_<name>`),
//! `relabel_configs` run, and then:
//! * a target dropped by relabeling, or left without `__address__`, is kept as a
//!   [`DroppedTarget`] with its discovered labels (for `/api/v1/targets?state=dropped`);
//! * `__meta_*` labels are removed and `instance` defaults to `__address__`;
//! * `__scrape_interval__` / `__scrape_timeout__` give the target's own interval and
//!   timeout; `__scheme__`, `__address__`, `__metrics_path__` and `__param_*` its URL;
//! * the target's public labels are the rest without the `__`-prefixed ones.
//!
//! As in Prometheus 3, no default port is added to an address without one.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::sync::Arc;
use std::time::Duration;

use gnomon_relabel::Relabeler;
use gnomon_tsdb_core::model::{Labels, LabelsBuilder};

/// `__address__`: the `host:port` to scrape.
pub const ADDRESS_LABEL: &str = "__address__";
/// `__scheme__`: `http` or `https`.
pub const SCHEME_LABEL: &str = "__scheme__";
/// `__metrics_path__`: the URL path.
pub const METRICS_PATH_LABEL: &str = "__metrics_path__";
/// `__scrape_interval__`: the target's scrape interval, as a duration.
pub const SCRAPE_INTERVAL_LABEL: &str = "__scrape_interval__";
/// `__scrape_timeout__`: the target's scrape timeout, as a duration.
pub const SCRAPE_TIMEOUT_LABEL: &str = "__scrape_timeout__";
/// Prefix of labels that become URL parameters.
pub const PARAM_LABEL_PREFIX: &str = "__param_";
/// Prefix of discovery metadata labels.
pub const META_LABEL_PREFIX: &str = "__meta_";

/// The settings of one scrape job that shape its targets.
#[derive(Clone, Debug)]
pub struct TargetDefaults {
    /// `job_name`: the default `job` label and the scrape pool name.
    pub job: String,
    /// `scheme`.
    pub scheme: String,
    /// `metrics_path`.
    pub metrics_path: String,
    /// `scrape_interval`.
    pub interval: Duration,
    /// `scrape_timeout`.
    pub timeout: Duration,
    /// `params`: URL parameters, each with its values in order.
    pub params: BTreeMap<String, Vec<String>>,
    /// Compiled `relabel_configs` (`None` when there are none).
    pub relabel: Option<Arc<Relabeler>>,
}

/// An active scrape target.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Target {
    /// The scrape pool (job name) it belongs to.
    pub job: String,
    /// Labels as discovered, with the job defaults, before relabeling.
    pub discovered: Labels,
    /// Labels after relabeling, `__`-prefixed ones included (except `__meta_*`).
    pub internal: Labels,
    /// Public labels: attached to every scraped series (`job`, `instance`, ...).
    pub labels: Labels,
    /// The URL scraped.
    pub url: String,
    /// Scrape interval.
    pub interval: Duration,
    /// Scrape timeout.
    pub timeout: Duration,
}

impl Target {
    /// A hash identifying the target within its job: its labels and its URL.
    pub fn hash(&self) -> u64 {
        let mut h = self.labels.hash64();
        h ^= xor_fold(self.url.as_bytes());
        h
    }
}

fn xor_fold(b: &[u8]) -> u64 {
    // FNV-1a: stable across runs, so start offsets do not move when gnomon restarts.
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for &x in b {
        h ^= u64::from(x);
        h = h.wrapping_mul(0x0000_0100_0000_01b3);
    }
    h
}

/// A discovered target that is not scraped, and why.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DroppedTarget {
    /// The scrape pool (job name).
    pub job: String,
    /// Labels as discovered, with the job defaults, before relabeling.
    pub discovered: Labels,
    /// Why it was dropped.
    pub reason: DropReason,
}

/// Why a discovered target is not scraped.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum DropReason {
    /// A relabeling rule dropped it.
    #[error("dropped by relabeling")]
    Relabeled,
    /// Another member of the scraper cluster scrapes it (`-promscrape.cluster.*`).
    #[error("scraped by another cluster member")]
    OtherShard,
    /// No `__address__` after relabeling.
    #[error("no address")]
    NoAddress,
    /// `__address__` is not a `host[:port]`.
    #[error("{0:?} is not a valid hostname")]
    BadAddress(String),
    /// `__scrape_interval__` / `__scrape_timeout__` is not a valid duration, is zero, or
    /// the timeout exceeds the interval.
    #[error("{label}: {why}")]
    BadDuration {
        /// The label.
        label: &'static str,
        /// What is wrong.
        why: String,
    },
}

/// Turns one discovered target (its own labels over its group's labels) into a scrape
/// target, or says why it is dropped.
pub fn populate(
    group_labels: &BTreeMap<String, String>,
    target_labels: &BTreeMap<String, String>,
    d: &TargetDefaults,
) -> Result<Target, DroppedTarget> {
    let discovered = discovered_labels(group_labels, target_labels, d);
    let dropped = |reason| DroppedTarget {
        job: d.job.clone(),
        discovered: discovered.clone(),
        reason,
    };
    let mut lb = discovered.builder();
    if let Some(r) = &d.relabel
        && !r.apply(&mut lb)
    {
        return Err(dropped(DropReason::Relabeled));
    }
    let Some(addr) = lb.get(ADDRESS_LABEL).map(str::to_owned) else {
        return Err(dropped(DropReason::NoAddress));
    };
    if addr.contains('/') || addr.contains(char::is_whitespace) {
        return Err(dropped(DropReason::BadAddress(addr)));
    }
    let (interval, timeout) = durations(&lb).map_err(dropped)?;
    lb.retain(|l| !l.name.starts_with(META_LABEL_PREFIX));
    if lb.get("instance").is_none() {
        lb.set("instance", &addr);
    }
    let internal = lb.build();
    let url = target_url(&internal, &d.params);
    let labels = public_labels(&internal);
    Ok(Target {
        job: d.job.clone(),
        discovered,
        internal,
        labels,
        url,
        interval,
        timeout,
    })
}

/// Group labels, then the target's own, then the job defaults where neither set them.
fn discovered_labels(
    group: &BTreeMap<String, String>,
    target: &BTreeMap<String, String>,
    d: &TargetDefaults,
) -> Labels {
    let mut lb = LabelsBuilder::new();
    for (n, v) in group.iter().chain(target) {
        lb.set(n, v);
    }
    let defaults = [
        ("job", d.job.clone()),
        (SCRAPE_INTERVAL_LABEL, format_duration(d.interval)),
        (SCRAPE_TIMEOUT_LABEL, format_duration(d.timeout)),
        (METRICS_PATH_LABEL, d.metrics_path.clone()),
        (SCHEME_LABEL, d.scheme.clone()),
    ];
    for (n, v) in defaults {
        if lb.get(n).is_none() {
            lb.set(n, &v);
        }
    }
    for (name, values) in &d.params {
        let n = format!("{PARAM_LABEL_PREFIX}{name}");
        if let Some(first) = values.first()
            && lb.get(&n).is_none()
        {
            lb.set(&n, first);
        }
    }
    lb.build()
}

fn durations(lb: &LabelsBuilder) -> Result<(Duration, Duration), DropReason> {
    let get = |label: &'static str| {
        let text = lb.get(label).unwrap_or("");
        match parse_duration(text) {
            Some(d) if !d.is_zero() => Ok(d),
            Some(_) => Err(DropReason::BadDuration {
                label,
                why: "must not be zero".into(),
            }),
            None => Err(DropReason::BadDuration {
                label,
                why: format!("{text:?} is not a valid duration"),
            }),
        }
    };
    let (interval, timeout) = (get(SCRAPE_INTERVAL_LABEL)?, get(SCRAPE_TIMEOUT_LABEL)?);
    if timeout > interval {
        return Err(DropReason::BadDuration {
            label: SCRAPE_TIMEOUT_LABEL,
            why: format!(
                "timeout {} greater than interval {}",
                format_duration(timeout),
                format_duration(interval)
            ),
        });
    }
    Ok((interval, timeout))
}

/// Labels without the `__`-prefixed ones.
fn public_labels(internal: &Labels) -> Labels {
    let mut lb = internal.builder();
    lb.retain(|l| !l.name.starts_with("__"));
    lb.build()
}

/// `scheme://address/path?params`, with `__param_<name>` labels replacing the first
/// value of `params[name]`; parameters sorted by name as Go's `url.Values.Encode` does.
fn target_url(internal: &Labels, params: &BTreeMap<String, Vec<String>>) -> String {
    let mut params = params.clone();
    for l in internal {
        if let Some(name) = l.name.strip_prefix(PARAM_LABEL_PREFIX) {
            let values = params.entry(name.to_owned()).or_default();
            match values.first_mut() {
                Some(v) => v.clone_from(&l.value),
                None => values.push(l.value.clone()),
            }
        }
    }
    let get = |n| internal.get(n).unwrap_or("");
    let path = get(METRICS_PATH_LABEL);
    let slash = if path.starts_with('/') { "" } else { "/" };
    let mut url = format!(
        "{}://{}{slash}{path}",
        get(SCHEME_LABEL),
        get(ADDRESS_LABEL)
    );
    let mut sep = '?';
    for (name, values) in &params {
        for v in values {
            url.push(sep);
            query_escape(name, &mut url);
            url.push('=');
            query_escape(v, &mut url);
            sep = '&';
        }
    }
    url
}

/// Go's `url.QueryEscape`: unreserved bytes as is, space as `+`, the rest `%XX`.
fn query_escape(s: &str, out: &mut String) {
    for b in s.bytes() {
        match b {
            b'a'..=b'z' | b'A'..=b'Z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                out.push(b as char)
            }
            b' ' => out.push('+'),
            _ => {
                let _ = write!(out, "%{b:02X}");
            }
        }
    }
}

/// Parses a Prometheus duration (`15s`, `1m30s`, `500ms`, `1h`, `2d`, `1w`, `1y`).
/// `None` for anything else (a bare number included).
pub fn parse_duration(s: &str) -> Option<Duration> {
    if s == "0" {
        return Some(Duration::ZERO);
    }
    let mut rest = s.as_bytes();
    let mut total: u128 = 0;
    if rest.is_empty() {
        return None;
    }
    while !rest.is_empty() {
        let digits = rest.iter().take_while(|b| b.is_ascii_digit()).count();
        if digits == 0 {
            return None;
        }
        let n: u128 = std::str::from_utf8(&rest[..digits]).ok()?.parse().ok()?;
        rest = &rest[digits..];
        let unit_len = rest.iter().take_while(|b| b.is_ascii_alphabetic()).count();
        let ms_per: u128 = match &rest[..unit_len] {
            b"ms" => 1,
            b"s" => 1000,
            b"m" => 60_000,
            b"h" => 3_600_000,
            b"d" => 86_400_000,
            b"w" => 7 * 86_400_000,
            b"y" => 365 * 86_400_000,
            _ => return None,
        };
        rest = &rest[unit_len..];
        total = total.checked_add(n.checked_mul(ms_per)?)?;
    }
    u64::try_from(total).ok().map(Duration::from_millis)
}

/// Formats a duration as Prometheus does (`1m30s`, `500ms`, `0s`), to milliseconds.
pub fn format_duration(d: Duration) -> String {
    let mut ms = d.as_millis();
    if ms == 0 {
        return "0s".to_owned();
    }
    let mut out = String::new();
    // Years and weeks only when exact, as Prometheus' `model.Duration` prints them.
    for (unit, per, exact) in [
        ("y", 365 * 86_400_000u128, true),
        ("w", 7 * 86_400_000, true),
        ("d", 86_400_000, false),
        ("h", 3_600_000, false),
        ("m", 60_000, false),
        ("s", 1000, false),
        ("ms", 1, false),
    ] {
        if ms >= per && (!exact || ms.is_multiple_of(per)) {
            let _ = write!(out, "{}{unit}", ms / per);
            ms %= per;
        }
    }
    out
}

#[cfg(test)]
mod tests;
