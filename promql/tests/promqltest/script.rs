//! Parsing of Prometheus' promqltest scripts (`*.test`): commands, series descriptions,
//! value sequences, durations. The format is described in
//! `shared/conformance/promql/README.md`.

use gnomon_tsdb_core::model::{Label, Labels, STALE_NAN};

/// A value slot of a sequence.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Slot {
    /// No sample.
    Empty,
    /// A float (the staleness marker included).
    Float(f64),
    /// A native histogram (not evaluated: the eval is skipped).
    Histogram,
}

/// One `eval` command.
#[derive(Clone, Debug)]
pub struct Eval {
    pub line: usize,
    pub range: Option<(i64, i64, i64)>,
    pub at: i64,
    pub expr: String,
    pub fail: Option<FailExpect>,
    pub ordered: bool,
    /// `expect warn` lines (message or regex, or any).
    pub warns: Vec<FailExpect>,
    /// `expect info` lines.
    pub infos: Vec<FailExpect>,
    pub no_warn: bool,
    pub no_info: bool,
    pub string: Option<String>,
    pub scalar: Option<f64>,
    pub range_vector: Option<(i64, i64, i64)>,
    pub results: Vec<(Labels, Vec<Slot>)>,
}

/// What an expected failure must say.
#[derive(Clone, Debug)]
pub enum FailExpect {
    Any,
    Msg(String),
    Regex(String),
}

/// A command of a script.
#[derive(Clone, Debug)]
pub enum Command {
    Clear,
    Load {
        interval: i64,
        series: Vec<(Labels, Vec<Slot>)>,
    },
    Eval(Box<Eval>),
}

/// A script error: line and message.
#[derive(Debug)]
pub struct ScriptError(pub usize, pub String);

fn err<T>(line: usize, m: impl Into<String>) -> Result<T, ScriptError> {
    Err(ScriptError(line, m.into()))
}

/// A Prometheus duration (`1h30m`, `0`, `-5m` tolerated) or plain seconds, in ms.
pub fn parse_duration(s: &str) -> Option<i64> {
    let s = s.trim();
    let (neg, body) = match s.strip_prefix('-') {
        Some(r) => (true, r),
        None => (false, s),
    };
    if body == "0" {
        return Some(0);
    }
    if let Ok(secs) = body.parse::<f64>() {
        let ms = (secs * 1000.0).round() as i64;
        return Some(if neg { -ms } else { ms });
    }
    let mut total: i64 = 0;
    let b = body.as_bytes();
    let mut i = 0;
    if b.is_empty() {
        return None;
    }
    while i < b.len() {
        let st = i;
        while i < b.len() && b[i].is_ascii_digit() {
            i += 1;
        }
        if st == i {
            return None;
        }
        let n: i64 = body[st..i].parse().ok()?;
        let us = i;
        while i < b.len() && b[i].is_ascii_alphabetic() {
            i += 1;
        }
        let mult = match &body[us..i] {
            "y" => 365 * 86_400_000,
            "w" => 7 * 86_400_000,
            "d" => 86_400_000,
            "h" => 3_600_000,
            "m" => 60_000,
            "s" => 1000,
            "ms" => 1,
            _ => return None,
        };
        total = total.checked_add(n.checked_mul(mult)?)?;
    }
    Some(if neg { -total } else { total })
}

/// A number of a value sequence: decimal with `_` separators, `Inf`, `NaN`, signed.
pub fn parse_number(s: &str) -> Option<f64> {
    let (sign, body) = match s.as_bytes().first() {
        Some(b'-') => (-1.0, &s[1..]),
        Some(b'+') => (1.0, &s[1..]),
        _ => (1.0, s),
    };
    let lower = body.to_ascii_lowercase();
    let v = match lower.as_str() {
        "inf" => f64::INFINITY,
        "nan" => return Some(f64::NAN),
        _ => {
            if let Some(hex) = lower.strip_prefix("0x") {
                i64::from_str_radix(hex, 16).ok()? as f64
            } else {
                let clean: String = body.chars().filter(|&c| c != '_').collect();
                if clean.is_empty()
                    || !clean
                        .chars()
                        .all(|c| c.is_ascii_digit() || ".eE+-".contains(c))
                {
                    return None;
                }
                clean.parse::<f64>().ok()?
            }
        }
    };
    Some(sign * v)
}

/// Splits `N+D` / `N-D` at the operator that is not a sign or part of an exponent.
fn split_step(s: &str) -> Option<(&str, f64, f64)> {
    let b = s.as_bytes();
    for i in 1..b.len() {
        if (b[i] == b'+' || b[i] == b'-') && !matches!(b[i - 1], b'e' | b'E') {
            let sign = if b[i] == b'+' { 1.0 } else { -1.0 };
            return Some((&s[..i], sign, parse_number(&s[i + 1..])?));
        }
    }
    None
}

/// Expands a value sequence (`0+10x10 _ stale 1x3`).
pub fn parse_values(s: &str, line: usize) -> Result<Vec<Slot>, ScriptError> {
    let mut out = Vec::new();
    let mut rest = s.trim();
    while !rest.is_empty() {
        if rest.starts_with("{{") {
            let Some(end) = rest.find("}}") else {
                return err(line, "unterminated histogram");
            };
            let mut tail = &rest[end + 2..];
            // `{{A}}+{{B}}xK` or `{{A}}xK`
            let mut count = 1;
            if let Some(t) = tail.strip_prefix('+').or_else(|| tail.strip_prefix('-'))
                && let Some(e2) = t.find("}}")
            {
                tail = &t[e2 + 2..];
            }
            if let Some(t) = tail.strip_prefix('x') {
                let n: String = t.chars().take_while(|c| c.is_ascii_digit()).collect();
                count = n.parse::<usize>().unwrap_or(0) + 1;
                tail = &t[n.len()..];
            }
            out.extend(std::iter::repeat_n(Slot::Histogram, count));
            rest = tail.trim_start();
            continue;
        }
        let (item, tail) = rest.split_once(char::is_whitespace).unwrap_or((rest, ""));
        rest = tail.trim_start();
        if item == "_" {
            out.push(Slot::Empty);
            continue;
        }
        if let Some(k) = item.strip_prefix("_x") {
            let k: usize = k
                .parse()
                .map_err(|_| ScriptError(line, format!("bad item {item}")))?;
            out.extend(std::iter::repeat_n(Slot::Empty, k));
            continue;
        }
        if item == "stale" {
            out.push(Slot::Float(STALE_NAN));
            continue;
        }
        if let Some(x) = item.rfind('x') {
            let (head, k) = (&item[..x], &item[x + 1..]);
            if let Ok(k) = k.parse::<usize>() {
                let (n, d) = match split_step(head) {
                    Some((n, sign, d)) => (parse_number(n), sign * d),
                    None => (parse_number(head), 0.0),
                };
                let Some(n) = n else {
                    return err(line, format!("bad item {item}"));
                };
                for i in 0..=k {
                    out.push(Slot::Float(n + d * i as f64));
                }
                continue;
            }
        }
        match parse_number(item) {
            Some(v) => out.push(Slot::Float(v)),
            None => return err(line, format!("bad value {item:?}")),
        }
    }
    Ok(out)
}

/// Reads a quoted string starting at `s[0]` (`"` or `'` with Go escapes, or backquotes);
/// returns it and the bytes consumed.
fn quoted(s: &str) -> Option<(String, usize)> {
    let q = s.chars().next()?;
    let mut out = String::new();
    let mut it = s.char_indices().skip(1);
    while let Some((i, c)) = it.next() {
        if c == q {
            return Some((out, i + 1));
        }
        if c == '\\' && q != '`' {
            let (_, e) = it.next()?;
            out.push(match e {
                'n' => '\n',
                't' => '\t',
                'r' => '\r',
                '\\' => '\\',
                '"' => '"',
                '\'' => '\'',
                other => other,
            });
        } else {
            out.push(c);
        }
    }
    None
}

/// Parses a series description at the start of `s`; returns its labels and the rest.
pub fn parse_series(s: &str, line: usize) -> Result<(Labels, &str), ScriptError> {
    let s = s.trim_start();
    let name_end = s
        .find(|c: char| c == '{' || c.is_whitespace())
        .unwrap_or(s.len());
    let mut pairs: Vec<Label> = Vec::new();
    if name_end > 0 {
        pairs.push(Label::new("__name__", &s[..name_end]));
    }
    let mut rest = &s[name_end..];
    if let Some(body) = rest.strip_prefix('{') {
        let mut b = body;
        loop {
            b = b.trim_start_matches([' ', ',', '\t']);
            if let Some(r) = b.strip_prefix('}') {
                rest = r;
                break;
            }
            let (name, after) = if b.starts_with('"') || b.starts_with('\'') {
                let Some((n, used)) = quoted(b) else {
                    return err(line, "bad quoted name");
                };
                (n, &b[used..])
            } else {
                let e = b
                    .find(|c: char| !(c.is_alphanumeric() || c == '_' || c == ':' || c == '.'))
                    .unwrap_or(b.len());
                if e == 0 {
                    return err(line, format!("bad series {s:?}"));
                }
                (b[..e].to_string(), &b[e..])
            };
            let after = after.trim_start();
            if let Some(v) = after.strip_prefix('=') {
                let v = v.trim_start();
                let Some((val, used)) = quoted(v) else {
                    return err(line, "bad label value");
                };
                pairs.push(Label::new(name, val));
                b = &v[used..];
            } else {
                // A quoted metric name inside the braces.
                pairs.push(Label::new("__name__", name));
                b = after;
            }
        }
    }
    Ok((Labels::new(pairs), rest))
}

fn lines_of(text: &str) -> Vec<String> {
    text.split('\n')
        .map(|l| {
            let t = l.trim();
            if t.starts_with('#') {
                String::new()
            } else {
                t.to_string()
            }
        })
        .collect()
}

fn parse_fail_expect(rest: &str) -> FailExpect {
    let r = rest.trim();
    if let Some(m) = r.strip_prefix("msg:") {
        FailExpect::Msg(m.trim().to_string())
    } else if let Some(m) = r.strip_prefix("regex:") {
        FailExpect::Regex(m.trim().to_string())
    } else {
        FailExpect::Any
    }
}

fn range_spec(s: &str, line: usize) -> Result<((i64, i64, i64), &str), ScriptError> {
    // `from A to B step C rest`
    let w: Vec<&str> = s.splitn(7, char::is_whitespace).collect();
    if w.len() < 6 || w[0] != "from" || w[2] != "to" || w[4] != "step" {
        return err(line, format!("bad range {s:?}"));
    }
    let d =
        |x: &str| parse_duration(x).ok_or_else(|| ScriptError(line, format!("bad duration {x}")));
    Ok((
        (d(w[1])?, d(w[3])?, d(w[5])?),
        w.get(6).copied().unwrap_or(""),
    ))
}

fn parse_eval(block: &[(usize, &str)]) -> Result<Eval, ScriptError> {
    let (line, head) = block[0];
    let (cmd, rest) = head.split_once(char::is_whitespace).unwrap_or((head, ""));
    let rest = rest.trim();
    let mut ev = Eval {
        line,
        range: None,
        at: 0,
        expr: String::new(),
        fail: None,
        ordered: false,
        warns: Vec::new(),
        infos: Vec::new(),
        no_warn: false,
        no_info: false,
        string: None,
        scalar: None,
        range_vector: None,
        results: Vec::new(),
    };
    match cmd.to_ascii_lowercase().as_str() {
        "eval" => {}
        "eval_fail" => ev.fail = Some(FailExpect::Any),
        "eval_ordered" => ev.ordered = true,
        "eval_warn" => ev.warns.push(FailExpect::Any),
        "eval_info" => ev.infos.push(FailExpect::Any),
        other => return err(line, format!("unknown command {other}")),
    }
    if let Some(r) = rest.strip_prefix("instant") {
        let r = r.trim_start();
        let Some(r) = r.strip_prefix("at") else {
            return err(line, "instant eval without `at`");
        };
        let r = r.trim_start();
        let (t, e) = r.split_once(char::is_whitespace).unwrap_or((r, ""));
        ev.at = parse_duration(t).ok_or_else(|| ScriptError(line, format!("bad time {t}")))?;
        ev.expr = e.trim().to_string();
    } else if let Some(r) = rest.strip_prefix("range") {
        let (spec, e) = range_spec(r.trim_start(), line)?;
        ev.range = Some(spec);
        ev.expr = e.trim().to_string();
    } else {
        return err(line, format!("bad eval {head:?}"));
    }
    for &(l, text) in &block[1..] {
        if let Some(r) = text.strip_prefix("expect ") {
            let r = r.trim();
            let (kind, tail) = r.split_once(char::is_whitespace).unwrap_or((r, ""));
            match kind {
                "fail" => ev.fail = Some(parse_fail_expect(tail)),
                "ordered" => ev.ordered = true,
                "warn" => ev.warns.push(parse_fail_expect(tail)),
                "info" => ev.infos.push(parse_fail_expect(tail)),
                "no_warn" => ev.no_warn = true,
                "no_info" => ev.no_info = true,
                "string" => {
                    let t = tail.trim();
                    ev.string = Some(quoted(t).map(|x| x.0).unwrap_or_default());
                }
                "range" => {
                    let spec = tail.trim().strip_prefix("vector").unwrap_or("").trim();
                    ev.range_vector = Some(range_spec(spec, l)?.0);
                }
                _ => return err(l, format!("bad expect {text:?}")),
            }
            continue;
        }
        if let Some(m) = text.strip_prefix("expected_fail_message") {
            ev.fail = Some(FailExpect::Msg(m.trim().to_string()));
            continue;
        }
        if let Some(m) = text.strip_prefix("expected_fail_regexp") {
            ev.fail = Some(FailExpect::Regex(m.trim().to_string()));
            continue;
        }
        if !text.contains(char::is_whitespace)
            && !text.contains('{')
            && let Some(v) = parse_number(text)
        {
            ev.scalar = Some(v);
            continue;
        }
        let (labels, vals) = parse_series(text, l)?;
        ev.results.push((labels, parse_values(vals, l)?));
    }
    Ok(ev)
}

/// Parses a whole script.
pub fn parse_script(text: &str) -> Result<Vec<Command>, ScriptError> {
    let lines = lines_of(text);
    let mut cmds = Vec::new();
    let mut i = 0;
    while i < lines.len() {
        if lines[i].is_empty() {
            i += 1;
            continue;
        }
        let mut block: Vec<(usize, &str)> = Vec::new();
        while i < lines.len() && !lines[i].is_empty() {
            block.push((i + 1, lines[i].as_str()));
            i += 1;
        }
        // `clear` is a one-line command: a command may follow it without a blank line.
        while block
            .first()
            .is_some_and(|(_, h)| h.eq_ignore_ascii_case("clear"))
        {
            cmds.push(Command::Clear);
            block.remove(0);
        }
        let Some(&(line, head)) = block.first() else {
            continue;
        };
        let word = head
            .split_whitespace()
            .next()
            .unwrap_or("")
            .to_ascii_lowercase();
        if word.starts_with("load") {
            let iv = head.split_whitespace().nth(1).unwrap_or("");
            let interval = parse_duration(iv)
                .ok_or_else(|| ScriptError(line, format!("bad interval {iv}")))?;
            let mut series = Vec::new();
            for &(l, text) in &block[1..] {
                let (labels, vals) = parse_series(text, l)?;
                let st_name = labels
                    .iter()
                    .any(|x| x.name == "__name__" && x.value.ends_with("@st"));
                if st_name || vals.starts_with("@st") {
                    continue; // start timestamps: not used by this engine
                }
                series.push((labels, parse_values(vals, l)?));
            }
            cmds.push(Command::Load { interval, series });
        } else if word.starts_with("eval") {
            cmds.push(Command::Eval(Box::new(parse_eval(&block)?)));
        } else {
            return err(line, format!("unknown command {head:?}"));
        }
    }
    Ok(cmds)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_expand() {
        let v = parse_values("-2+4x3 _x2 stale 1e3 1_000", 1).unwrap();
        assert_eq!(
            &v[..4],
            &[
                Slot::Float(-2.0),
                Slot::Float(2.0),
                Slot::Float(6.0),
                Slot::Float(10.0)
            ]
        );
        assert_eq!(v[4], Slot::Empty);
        assert_eq!(v[8], Slot::Float(1000.0));
        assert_eq!(parse_duration("1h30m"), Some(5_400_000));
    }
}
