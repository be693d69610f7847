//! VictoriaMetrics-style command-line flags: single-dash long names (`-storageDataPath`),
//! `-flag=value`, `-flag value`, the `--flag` forms too, booleans as `-tls` or
//! `-tls=true`, and VictoriaMetrics' duration, retention and size syntaxes.
//!
//! A binary declares its flags as a table of [`FlagSpec`]s and calls [`parse`]; `-help`
//! prints [`usage`] with every flag and its default.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::time::Duration;

/// What kind of value a flag takes (checked at parse time).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FlagKind {
    /// `true`/`false`; `-flag` alone means true.
    Bool,
    /// Any text.
    String,
    /// A duration: `30s`, `1h30m`, `100ms`, `2d`, `1w`, `1y`, `0`.
    Duration,
    /// A retention: a duration, or a bare number of months (`1`, `12`).
    Retention,
    /// A byte size: `1024`, `64MB`, `1GiB`.
    Size,
    /// A floating-point number.
    Float,
    /// A list, as VictoriaMetrics' array flags: the flag may be repeated
    /// (`-rule=a.yml -rule=b.yml`) or given comma-separated values; repeats are joined
    /// with commas.
    Array,
}

impl FlagKind {
    fn type_name(self) -> &'static str {
        match self {
            FlagKind::Bool => "",
            FlagKind::String => " string",
            FlagKind::Duration => " duration",
            FlagKind::Retention => " value",
            FlagKind::Size => " size",
            FlagKind::Float => " float",
            FlagKind::Array => " array",
        }
    }
}

/// One flag: its name (without dashes), default value as text, help text and kind.
#[derive(Clone, Copy, Debug)]
pub struct FlagSpec {
    /// Name without the leading dash, e.g. `storageDataPath`.
    pub name: &'static str,
    /// Default value, as it would be written on the command line.
    pub default: &'static str,
    /// One-paragraph help.
    pub help: &'static str,
    /// Value syntax.
    pub kind: FlagKind,
}

/// Why the command line was not accepted.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum FlagError {
    /// `-help`, `-h` or `--help` was given: print the usage and exit 0.
    #[error("help requested")]
    Help,
    /// No flag has this name.
    #[error("flag provided but not defined: -{0}")]
    Unknown(String),
    /// The last argument is a non-boolean flag without a value.
    #[error("flag needs an argument: -{0}")]
    MissingValue(String),
    /// An argument does not start with a dash.
    #[error("unexpected argument {0:?}: every argument must be a flag")]
    Positional(String),
    /// The value does not fit the flag's kind.
    #[error("invalid value {value:?} for flag -{flag}: {why}")]
    Invalid {
        /// The flag.
        flag: String,
        /// The value given.
        value: String,
        /// What was expected.
        why: String,
    },
}

/// Parsed flag values: every flag of the table, set or defaulted.
#[derive(Clone, Debug)]
pub struct Flags {
    specs: &'static [FlagSpec],
    values: BTreeMap<&'static str, String>,
}

/// Parses `args` (without the program name) against `specs`.
///
/// # Errors
/// [`FlagError::Help`] for `-help`; otherwise the first argument that is unknown, lacks a
/// value, is positional, or has a value of the wrong kind.
pub fn parse(
    specs: &'static [FlagSpec],
    args: impl IntoIterator<Item = String>,
) -> Result<Flags, FlagError> {
    let mut values = BTreeMap::new();
    let mut args = args.into_iter();
    while let Some(arg) = args.next() {
        let Some(body) = arg.strip_prefix("--").or_else(|| arg.strip_prefix('-')) else {
            return Err(FlagError::Positional(arg));
        };
        let (name, inline) = match body.split_once('=') {
            Some((n, v)) => (n, Some(v.to_owned())),
            None => (body, None),
        };
        if matches!(name, "help" | "h") {
            return Err(FlagError::Help);
        }
        let spec = specs
            .iter()
            .find(|s| s.name == name)
            .ok_or_else(|| FlagError::Unknown(name.to_owned()))?;
        let value = match (inline, spec.kind) {
            (Some(v), _) => v,
            (None, FlagKind::Bool) => "true".to_owned(),
            (None, _) => args
                .next()
                .ok_or_else(|| FlagError::MissingValue(name.to_owned()))?,
        };
        check(spec, &value)?;
        match values.get_mut(spec.name) {
            Some(prev) if spec.kind == FlagKind::Array => {
                let prev: &mut String = prev;
                prev.push(',');
                prev.push_str(&value);
            }
            _ => {
                values.insert(spec.name, value);
            }
        }
    }
    for s in specs {
        values.entry(s.name).or_insert_with(|| s.default.to_owned());
    }
    Ok(Flags { specs, values })
}

fn check(spec: &FlagSpec, value: &str) -> Result<(), FlagError> {
    let invalid = |why: &str| FlagError::Invalid {
        flag: spec.name.to_owned(),
        value: value.to_owned(),
        why: why.to_owned(),
    };
    match spec.kind {
        FlagKind::String | FlagKind::Array => Ok(()),
        FlagKind::Bool => parse_bool(value)
            .map(drop)
            .ok_or_else(|| invalid("want true or false")),
        FlagKind::Duration => parse_duration(value).map(drop).map_err(|w| invalid(&w)),
        FlagKind::Retention => parse_retention(value).map(drop).map_err(|w| invalid(&w)),
        FlagKind::Size => parse_size(value).map(drop).map_err(|w| invalid(&w)),
        FlagKind::Float => value
            .parse::<f64>()
            .ok()
            .filter(|f| f.is_finite())
            .map(drop)
            .ok_or_else(|| invalid("want a number")),
    }
}

impl Flags {
    /// The value of `name` as text (set or default).
    ///
    /// # Panics
    /// When `name` is not in the table: a bug in the binary, not a user error.
    pub fn str(&self, name: &str) -> &str {
        match self.values.get(name) {
            Some(v) => v,
            None => panic!("BUG: flag -{name} is not declared"),
        }
    }

    /// A boolean flag (validated at parse time).
    pub fn bool(&self, name: &str) -> bool {
        parse_bool(self.str(name)).unwrap_or(false)
    }

    /// A duration flag (validated at parse time).
    pub fn duration(&self, name: &str) -> Duration {
        parse_duration(self.str(name)).unwrap_or_default()
    }

    /// A retention flag (validated at parse time).
    pub fn retention(&self, name: &str) -> Duration {
        parse_retention(self.str(name)).unwrap_or_default()
    }

    /// A size flag in bytes (validated at parse time).
    pub fn size(&self, name: &str) -> u64 {
        parse_size(self.str(name)).unwrap_or_default()
    }

    /// A float flag (validated at parse time).
    pub fn float(&self, name: &str) -> f64 {
        self.str(name).parse().unwrap_or_default()
    }

    /// Whether the table declares `name` (binaries sharing a config reader differ).
    pub fn is_declared(&self, name: &str) -> bool {
        self.values.contains_key(name)
    }

    /// An array flag's items: one per comma-separated value, empty items kept (they
    /// stand for "the default" at their position, as in VictoriaMetrics' per-URL
    /// flags); no items when the flag is empty.
    pub fn array(&self, name: &str) -> Vec<&str> {
        let v = self.str(name);
        if v.is_empty() {
            Vec::new()
        } else {
            v.split(',').collect()
        }
    }

    /// The table the values were parsed against.
    pub fn specs(&self) -> &'static [FlagSpec] {
        self.specs
    }
}

/// The `-help` text: a title, then for each flag (sorted by name) its name, value kind,
/// help text and default, in the layout of Go's `flag` package that VictoriaMetrics uses.
pub fn usage(title: &str, specs: &[FlagSpec]) -> String {
    let mut sorted: Vec<&FlagSpec> = specs.iter().collect();
    sorted.sort_by_key(|s| s.name);
    let mut out = format!("{title}\n\n");
    for s in sorted {
        let _ = writeln!(out, "  -{}{}", s.name, s.kind.type_name());
        let default = match (s.kind, s.default) {
            (FlagKind::Bool, "false") | (_, "") => String::new(),
            (FlagKind::String, d) => format!(" (default {d:?})"),
            (_, d) => format!(" (default {d})"),
        };
        let _ = writeln!(out, "    \t{}{}", s.help, default);
    }
    out
}

/// Go's boolean syntax: `1`, `t`, `true`, `0`, `f`, `false` (and their capitalizations).
pub fn parse_bool(v: &str) -> Option<bool> {
    match v {
        "1" | "t" | "T" | "true" | "TRUE" | "True" => Some(true),
        "0" | "f" | "F" | "false" | "FALSE" | "False" => Some(false),
        _ => None,
    }
}

/// Length of each duration unit in milliseconds (a year is 365 days, a month 31, as
/// VictoriaMetrics counts them).
fn unit_ms(unit: &str) -> Option<f64> {
    Some(match unit {
        "ms" => 1.0,
        "s" => 1e3,
        "m" => 60e3,
        "h" => 3_600e3,
        "d" => 86_400e3,
        "w" => 7.0 * 86_400e3,
        "y" => 365.0 * 86_400e3,
        _ => return None,
    })
}

/// Parses `1h30m`, `1.5s`, `100ms`, `30d`, `1w`, `100y` or `0`.
///
/// # Errors
/// A message saying what is wrong.
pub fn parse_duration(s: &str) -> Result<Duration, String> {
    if s == "0" {
        return Ok(Duration::ZERO);
    }
    let mut rest = s;
    let mut total_ms = 0.0;
    if rest.is_empty() {
        return Err("empty duration".into());
    }
    while !rest.is_empty() {
        let num_len = rest
            .find(|c: char| !(c.is_ascii_digit() || c == '.'))
            .unwrap_or(rest.len());
        let (num, tail) = rest.split_at(num_len);
        let unit_len = tail
            .find(|c: char| c.is_ascii_digit() || c == '.')
            .unwrap_or(tail.len());
        let (unit, tail) = tail.split_at(unit_len);
        let n: f64 = num
            .parse()
            .map_err(|_| format!("want a number before {unit:?}"))?;
        let ms = unit_ms(unit)
            .ok_or_else(|| format!("unknown unit {unit:?}; want ms, s, m, h, d, w or y"))?;
        total_ms += n * ms;
        rest = tail;
    }
    if !total_ms.is_finite() || total_ms > 1e15 {
        return Err("duration too large".into());
    }
    Ok(Duration::from_millis(total_ms.round() as u64))
}

/// Parses `-retentionPeriod`: a bare number counts months of 31 days (`1` = one month),
/// otherwise a duration (`30d`, `100y`, `12h`); at least one day, as VictoriaMetrics
/// requires.
///
/// # Errors
/// A message saying what is wrong.
pub fn parse_retention(s: &str) -> Result<Duration, String> {
    let d = match s.parse::<f64>() {
        Ok(months) if months.is_finite() && months >= 0.0 => {
            Duration::from_secs_f64(months * 31.0 * 86_400.0)
        }
        _ => parse_duration(s)?,
    };
    if d < Duration::from_secs(86_400) {
        return Err("retention must be at least one day (1d)".into());
    }
    Ok(d)
}

/// Parses a byte size: `1024`, `64KB`, `64MB`, `1GB`, `1KiB`, `64MiB`, `1GiB`, `1TiB`.
///
/// # Errors
/// A message saying what is wrong.
pub fn parse_size(s: &str) -> Result<u64, String> {
    let split = s
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(s.len());
    let (num, unit) = s.split_at(split);
    let n: f64 = num.parse().map_err(|_| "want a number".to_owned())?;
    let mult: f64 = match unit {
        "" | "B" => 1.0,
        "KB" => 1e3,
        "MB" => 1e6,
        "GB" => 1e9,
        "TB" => 1e12,
        "KiB" => 1024.0,
        "MiB" => 1024.0 * 1024.0,
        "GiB" => 1024.0 * 1024.0 * 1024.0,
        "TiB" => 1024.0 * 1024.0 * 1024.0 * 1024.0,
        u => {
            return Err(format!(
                "unknown suffix {u:?}; want KB, MB, GB, KiB, MiB or GiB"
            ));
        }
    };
    let v = n * mult;
    if !v.is_finite() || v > 1.8e19 {
        return Err("size too large".into());
    }
    Ok(v.round() as u64)
}

#[cfg(test)]
mod tests {
    use super::*;

    const SPECS: &[FlagSpec] = &[
        FlagSpec {
            name: "path",
            default: "data",
            help: "Where.",
            kind: FlagKind::String,
        },
        FlagSpec {
            name: "tls",
            default: "false",
            help: "TLS.",
            kind: FlagKind::Bool,
        },
        FlagSpec {
            name: "retentionPeriod",
            default: "1",
            help: "Keep.",
            kind: FlagKind::Retention,
        },
        FlagSpec {
            name: "dedup",
            default: "0s",
            help: "Dedup.",
            kind: FlagKind::Duration,
        },
        FlagSpec {
            name: "pct",
            default: "60",
            help: "Pct.",
            kind: FlagKind::Float,
        },
        FlagSpec {
            name: "max",
            default: "32MB",
            help: "Max.",
            kind: FlagKind::Size,
        },
        FlagSpec {
            name: "rule",
            default: "",
            help: "Rules.",
            kind: FlagKind::Array,
        },
    ];

    #[test]
    fn array_flags_repeat_and_a_plain_flag_keeps_the_last_value() {
        let f = p(&[
            "-rule=a.yml",
            "--rule",
            "b/*.yml,c.yml",
            "-path=x",
            "-path=y",
        ])
        .unwrap();
        assert_eq!(f.str("rule"), "a.yml,b/*.yml,c.yml");
        assert_eq!(f.str("path"), "y");
        assert_eq!(p(&[]).unwrap().str("rule"), "");
    }

    fn p(args: &[&str]) -> Result<Flags, FlagError> {
        parse(SPECS, args.iter().map(|s| s.to_string()))
    }

    #[test]
    fn every_form_is_accepted() {
        let f = p(&[
            "-path=x",
            "--dedup",
            "1m30s",
            "-tls",
            "--pct=12.5",
            "-max",
            "1GiB",
        ])
        .unwrap();
        assert_eq!(f.str("path"), "x");
        assert_eq!(f.duration("dedup"), Duration::from_secs(90));
        assert!(f.bool("tls"));
        assert_eq!(f.float("pct"), 12.5);
        assert_eq!(f.size("max"), 1 << 30);
        assert_eq!(
            f.retention("retentionPeriod"),
            Duration::from_secs(31 * 86_400)
        );
        assert!(!p(&["-tls=false"]).unwrap().bool("tls"));
    }

    #[test]
    fn errors_name_the_flag() {
        assert_eq!(
            p(&["-nope=1"]).unwrap_err(),
            FlagError::Unknown("nope".into())
        );
        assert_eq!(
            p(&["-path"]).unwrap_err(),
            FlagError::MissingValue("path".into())
        );
        assert_eq!(p(&["x"]).unwrap_err(), FlagError::Positional("x".into()));
        assert_eq!(p(&["--help"]).unwrap_err(), FlagError::Help);
        assert!(
            matches!(p(&["-tls=maybe"]).unwrap_err(), FlagError::Invalid { flag, .. } if flag == "tls")
        );
        assert!(
            matches!(p(&["-dedup=5x"]).unwrap_err(), FlagError::Invalid { why, .. } if why.contains("\"x\""))
        );
        assert!(
            matches!(p(&["-retentionPeriod=2h"]).unwrap_err(), FlagError::Invalid { why, .. } if why.contains("one day"))
        );
    }

    #[test]
    fn vm_value_syntaxes() {
        assert_eq!(
            parse_retention("30d").unwrap(),
            Duration::from_secs(30 * 86_400)
        );
        assert_eq!(
            parse_retention("100y").unwrap(),
            Duration::from_secs(36_500 * 86_400)
        );
        assert_eq!(
            parse_retention("12").unwrap(),
            Duration::from_secs(372 * 86_400)
        );
        assert_eq!(parse_duration("100ms").unwrap(), Duration::from_millis(100));
        assert_eq!(parse_duration("1.5h").unwrap(), Duration::from_secs(5400));
        assert_eq!(parse_duration("0").unwrap(), Duration::ZERO);
        assert!(parse_duration("").is_err());
        assert!(parse_duration("h").is_err());
        assert_eq!(parse_size("64MB").unwrap(), 64_000_000);
        assert!(parse_size("1XB").is_err());
    }

    #[test]
    fn usage_lists_every_flag_with_default() {
        let u = usage("gnomon", SPECS);
        assert!(
            u.contains("  -path string\n    \tWhere. (default \"data\")\n"),
            "{u}"
        );
        assert!(u.contains("  -tls\n    \tTLS.\n"), "{u}");
        assert!(
            u.contains("  -retentionPeriod value\n    \tKeep. (default 1)\n"),
            "{u}"
        );
        assert_eq!(u.matches("\n  -").count(), SPECS.len());
    }
}
