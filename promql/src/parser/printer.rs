//! The canonical printer: `Display` for [`Expr`]. It puts back exactly the parentheses
//! that precedence needs, prints numbers in their shortest exact form and strings with
//! Go escapes, so `parse(&e.to_string()) == Ok(e)` for every parsed `e`.

use std::fmt::{self, Display, Formatter, Write};

use crate::parser::ast::{
    AtModifier, BinModifier, BinaryOp, Duration, Expr, Group, Grouping, Number, VectorMatching,
    VectorSelector,
};
use crate::parser::functions;
use crate::parser::lexer::{is_label_name, is_metric_name};

/// Words that cannot be printed as bare metric names.
const RESERVED: &[&str] = &[
    "inf",
    "nan",
    "and",
    "or",
    "unless",
    "atan2",
    "bool",
    "offset",
    "by",
    "without",
    "on",
    "ignoring",
    "group_left",
    "group_right",
    "default",
    "if",
    "ifnot",
    "with",
    "limit",
    "keep_metric_names",
    "anchored",
    "smoothed",
    "fill",
    "fill_left",
    "fill_right",
];

impl Display for Number {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        let v = self.0;
        if v.is_nan() {
            f.write_str("NaN")
        } else if v.is_infinite() {
            f.write_str(if v > 0.0 { "Inf" } else { "-Inf" })
        } else if v == v.trunc() && v.abs() < 1e15 {
            if v == 0.0 && v.is_sign_negative() {
                f.write_str("-0")
            } else {
                write!(f, "{}", v as i64)
            }
        } else {
            write!(f, "{v:?}")
        }
    }
}

/// Writes `s` as a double-quoted string literal with Go escapes.
pub fn write_string(f: &mut impl Write, s: &str) -> fmt::Result {
    f.write_char('"')?;
    for c in s.chars() {
        match c {
            '"' => f.write_str("\\\"")?,
            '\\' => f.write_str("\\\\")?,
            '\n' => f.write_str("\\n")?,
            '\r' => f.write_str("\\r")?,
            '\t' => f.write_str("\\t")?,
            c if (c as u32) < 0x20 || c == '\u{7f}' => write!(f, "\\x{:02x}", c as u32)?,
            c => f.write_char(c)?,
        }
    }
    f.write_char('"')
}

/// Writes a label name bare when it is a valid identifier, else quoted.
fn write_label(f: &mut Formatter<'_>, name: &str) -> fmt::Result {
    if is_label_name(name) {
        f.write_str(name)
    } else {
        write_string(f, name)
    }
}

fn bare_metric_name(name: &str) -> bool {
    is_metric_name(name)
        && !RESERVED.iter().any(|w| w.eq_ignore_ascii_case(name))
        && !functions::lookup_ignore_case(name).is_some_and(|f| f.is_aggregate())
}

fn write_labels(f: &mut Formatter<'_>, labels: &[String]) -> fmt::Result {
    f.write_char('(')?;
    for (k, l) in labels.iter().enumerate() {
        if k > 0 {
            f.write_str(", ")?;
        }
        write_label(f, l)?;
    }
    f.write_char(')')
}

/// Writes a duration literal (`1h30m`, `-5m`, `0s`).
fn write_millis(f: &mut Formatter<'_>, ms: i64) -> fmt::Result {
    if ms == 0 {
        return f.write_str("0s");
    }
    if ms < 0 {
        f.write_char('-')?;
    }
    let mut left = ms.unsigned_abs();
    for (unit, size) in [
        ("y", 365 * 86_400_000u64),
        ("w", 7 * 86_400_000),
        ("d", 86_400_000),
        ("h", 3_600_000),
        ("m", 60_000),
        ("s", 1_000),
        ("ms", 1),
    ] {
        if left >= size {
            write!(f, "{}{unit}", left / size)?;
            left %= size;
        }
    }
    Ok(())
}

fn duration_is_atom(d: &Duration) -> bool {
    !matches!(d, Duration::Binary(..) | Duration::Neg(_))
}

fn duration_is_negative_atom(d: &Duration) -> bool {
    match d {
        Duration::Millis(ms) => *ms < 0,
        Duration::Seconds(Number(v)) => v.is_sign_negative() && !v.is_nan(),
        Duration::Neg(_) => true,
        _ => false,
    }
}

/// A duration in a bracket context (full expression syntax).
struct InBrackets<'a>(&'a Duration);

/// A duration after `offset` (sign and one atom; anything else in parentheses).
struct AfterOffset<'a>(&'a Duration);

impl Display for InBrackets<'_> {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        match self.0 {
            Duration::Millis(ms) => write_millis(f, *ms),
            Duration::Seconds(n) => write!(f, "{n}"),
            Duration::Special(s) => write!(f, "{}()", s.name()),
            Duration::Steps(n) => write!(f, "{n}i"),
            Duration::Interval => f.write_str("$__interval"),
            Duration::RateInterval => f.write_str("$__rate_interval"),
            Duration::Neg(d) => {
                if duration_is_atom(d) && !duration_is_negative_atom(d) {
                    write!(f, "-{}", InBrackets(d))
                } else {
                    write!(f, "-({})", InBrackets(d))
                }
            }
            Duration::Call(func, a, b) => {
                write!(f, "{}({}, {})", func.name(), InBrackets(a), InBrackets(b))
            }
            Duration::Binary(op, l, r) => {
                let p = op.precedence();
                let right = *op == crate::parser::ast::DurationOp::Pow;
                let lp = match &**l {
                    Duration::Binary(lo, ..) => {
                        lo.precedence() < p || (lo.precedence() == p && right)
                    }
                    d => right && duration_is_negative_atom(d),
                };
                let rp = match &**r {
                    Duration::Binary(ro, ..) => {
                        ro.precedence() < p || (ro.precedence() == p && !right)
                    }
                    _ => false,
                };
                paren(f, lp, &InBrackets(l))?;
                write!(f, " {} ", op.as_str())?;
                paren(f, rp, &InBrackets(r))
            }
        }
    }
}

impl Display for AfterOffset<'_> {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        match self.0 {
            Duration::Neg(d) if duration_is_atom(d) && !duration_is_negative_atom(d) => {
                write!(f, "-{}", InBrackets(d))
            }
            d if duration_is_atom(d) => write!(f, "{}", InBrackets(d)),
            d => write!(f, "({})", InBrackets(d)),
        }
    }
}

fn paren(f: &mut Formatter<'_>, on: bool, x: &dyn Display) -> fmt::Result {
    if on {
        write!(f, "({x})")
    } else {
        write!(f, "{x}")
    }
}

fn write_at(f: &mut Formatter<'_>, at: &Option<AtModifier>) -> fmt::Result {
    match at {
        None => Ok(()),
        Some(AtModifier::Time(t)) => write!(f, " @ {t}"),
        Some(AtModifier::Start) => f.write_str(" @ start()"),
        Some(AtModifier::End) => f.write_str(" @ end()"),
    }
}

fn write_offset(f: &mut Formatter<'_>, d: &Option<Duration>) -> fmt::Result {
    match d {
        None => Ok(()),
        Some(d) => write!(f, " offset {}", AfterOffset(d)),
    }
}

/// The selector without its modifiers.
fn write_selector_core(f: &mut Formatter<'_>, v: &VectorSelector) -> fmt::Result {
    let bare = v.name.as_deref().filter(|n| bare_metric_name(n));
    if let Some(n) = bare {
        f.write_str(n)?;
        if v.matchers.is_empty() {
            return Ok(());
        }
    }
    f.write_char('{')?;
    let mut first = true;
    if let (None, Some(n)) = (bare, &v.name) {
        write_string(f, n)?;
        first = false;
    }
    for m in &v.matchers {
        if !first {
            f.write_str(", ")?;
        }
        first = false;
        write_label(f, &m.name)?;
        f.write_str(m.op.as_str())?;
        write_string(f, &m.value)?;
    }
    f.write_char('}')
}

fn write_selector_modifiers(f: &mut Formatter<'_>, v: &VectorSelector) -> fmt::Result {
    write_at(f, &v.at)?;
    write_offset(f, &v.offset)?;
    if let Some(m) = v.modifier {
        write!(f, " {}", m.name())?;
    }
    Ok(())
}

/// `rhs_paren`: the right operand prints starting with `(`, which would be read as the
/// label list of a bare `group_left`, so an empty list is printed as `()` then.
fn write_modifier(f: &mut Formatter<'_>, m: &BinModifier, rhs_paren: bool) -> fmt::Result {
    if m.return_bool {
        f.write_str(" bool")?;
    }
    match &m.matching {
        Some(VectorMatching::On(l)) => {
            f.write_str(" on")?;
            write_labels(f, l)?;
        }
        Some(VectorMatching::Ignoring(l)) => {
            f.write_str(" ignoring")?;
            write_labels(f, l)?;
        }
        None => {}
    }
    let group = match &m.group {
        Some(Group::Left(l)) => Some(("group_left", l)),
        Some(Group::Right(l)) => Some(("group_right", l)),
        None => None,
    };
    if let Some((word, l)) = group {
        write!(f, " {word}")?;
        if !l.is_empty() || rhs_paren {
            write_labels(f, l)?;
        }
    }
    match (m.fill_left, m.fill_right) {
        (Some(a), Some(b)) if a == b => write!(f, " fill({a})")?,
        (l, r) => {
            if let Some(a) = l {
                write!(f, " fill_left({a})")?;
            }
            if let Some(b) = r {
                write!(f, " fill_right({b})")?;
            }
        }
    }
    Ok(())
}

fn is_negative_number(e: &Expr) -> bool {
    matches!(e, Expr::Number(Number(v)) if v.is_sign_negative() && !v.is_nan())
}

fn write_args(f: &mut Formatter<'_>, args: &[Expr]) -> fmt::Result {
    f.write_char('(')?;
    for (k, a) in args.iter().enumerate() {
        if k > 0 {
            f.write_str(", ")?;
        }
        write!(f, "{a}")?;
    }
    f.write_char(')')
}

impl Display for Expr {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        match self {
            Expr::Number(n) => write!(f, "{n}"),
            Expr::String(s) => write_string(f, s),
            Expr::Special(s) => write!(f, "{}()", s.name()),
            Expr::Vector(v) => {
                write_selector_core(f, v)?;
                write_selector_modifiers(f, v)
            }
            Expr::Matrix(m) => {
                write_selector_core(f, &m.selector)?;
                write!(f, "[{}]", InBrackets(&m.range))?;
                write_selector_modifiers(f, &m.selector)
            }
            Expr::Subquery(s) => {
                let bare = match &*s.expr {
                    Expr::Vector(v) => v.offset.is_none() && v.at.is_none() && v.modifier.is_none(),
                    Expr::Call(_) | Expr::Aggregate(_) | Expr::Special(_) => true,
                    _ => false,
                };
                paren(f, !bare, &*s.expr)?;
                write!(f, "[{}:", InBrackets(&s.range))?;
                if let Some(step) = &s.step {
                    write!(f, "{}", InBrackets(step))?;
                }
                f.write_char(']')?;
                write_at(f, &s.at)?;
                write_offset(f, &s.offset)
            }
            Expr::Neg(e) => {
                let wrap = matches!(&**e, Expr::Binary(_)) || is_negative_number(e);
                f.write_char('-')?;
                paren(f, wrap, &**e)
            }
            Expr::Binary(b) => {
                let p = b.op.precedence();
                let right = b.op.is_right_assoc();
                let lp = match &*b.lhs {
                    Expr::Binary(l) => l.op.precedence() < p || (l.op.precedence() == p && right),
                    l => {
                        b.op == BinaryOp::Pow
                            && (matches!(l, Expr::Neg(_)) || is_negative_number(l))
                    }
                };
                let rp = match &*b.rhs {
                    Expr::Binary(r) => r.op.precedence() < p || (r.op.precedence() == p && !right),
                    _ => false,
                };
                paren(f, lp, &*b.lhs)?;
                write!(f, " {}", b.op.as_str())?;
                let rhs = if rp {
                    format!("({})", b.rhs)
                } else {
                    b.rhs.to_string()
                };
                write_modifier(f, &b.modifier, rhs.starts_with('('))?;
                f.write_char(' ')?;
                f.write_str(&rhs)
            }
            Expr::Aggregate(a) => {
                f.write_str(a.func.name)?;
                match &a.grouping {
                    Some(Grouping::By(l)) => {
                        f.write_str(" by ")?;
                        write_labels(f, l)?;
                        f.write_char(' ')?;
                    }
                    Some(Grouping::Without(l)) => {
                        f.write_str(" without ")?;
                        write_labels(f, l)?;
                        f.write_char(' ')?;
                    }
                    None => {}
                }
                write_args(f, &a.args)?;
                if let Some(n) = a.limit {
                    write!(f, " limit {n}")?;
                }
                Ok(())
            }
            Expr::Call(c) => {
                f.write_str(c.func.name)?;
                write_args(f, &c.args)?;
                if c.keep_metric_names {
                    f.write_str(" keep_metric_names")?;
                }
                Ok(())
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_print_exactly() {
        for (v, s) in [
            (1.0, "1"),
            (-2.5, "-2.5"),
            (1e300, "1e300"),
            (1e-7, "1e-7"),
            (f64::INFINITY, "Inf"),
            (f64::NAN, "NaN"),
            (-0.0, "-0"),
        ] {
            assert_eq!(Number(v).to_string(), s);
        }
    }

    #[test]
    fn strings_are_go_quoted() {
        let mut s = String::new();
        write_string(&mut s, "a\"b\\c\nd\u{1}é").unwrap();
        assert_eq!(s, r#""a\"b\\c\nd\x01é""#);
    }
}
