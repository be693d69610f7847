//! Durations: literals (`1h30m`), numbers of seconds, and duration expressions
//! (`[2m*(10+5)]`, `offset (step()/10)`, `[min_of(step()+1, 1h)]`) with MetricsQL
//! placeholders (`$__interval`, `5i`).

use crate::error::ParseErrorKind as K;
use crate::parser::ast::{Duration, DurationFn, DurationOp, Number, SpecialFn};
use crate::parser::grammar::{Parser, RED_ZONE, STACK_SEGMENT};
use crate::parser::lexer::{
    PErr, PResult, cut, duration_literal, ident, unsigned_number, word, ws,
};

impl DurationOp {
    /// The operator as written.
    pub fn as_str(self) -> &'static str {
        match self {
            DurationOp::Add => "+",
            DurationOp::Sub => "-",
            DurationOp::Mul => "*",
            DurationOp::Div => "/",
            DurationOp::Mod => "%",
            DurationOp::Pow => "^",
        }
    }

    /// Binding strength (higher binds tighter).
    pub fn precedence(self) -> u8 {
        match self {
            DurationOp::Add | DurationOp::Sub => 1,
            DurationOp::Mul | DurationOp::Div | DurationOp::Mod => 2,
            DurationOp::Pow => 3,
        }
    }
}

/// `-d`, folded into literals.
pub(crate) fn negate(d: Duration) -> Duration {
    match d {
        Duration::Millis(ms) => Duration::Millis(-ms),
        Duration::Seconds(Number(v)) => Duration::Seconds(Number(-v)),
        d => Duration::Neg(Box::new(d)),
    }
}

fn duration_op(i: &str) -> Option<(&str, DurationOp)> {
    let op = match i.chars().next()? {
        '+' => DurationOp::Add,
        '-' => DurationOp::Sub,
        '*' => DurationOp::Mul,
        '/' => DurationOp::Div,
        '%' => DurationOp::Mod,
        '^' => DurationOp::Pow,
        _ => return None,
    };
    Some((&i[1..], op))
}

impl<'a> Parser<'a> {
    /// A full duration expression (inside brackets).
    pub(crate) fn duration_expr(&self, i: &'a str) -> PResult<'a, Duration> {
        self.duration_binary(i, 0)
    }

    fn duration_binary(&self, i: &'a str, min_prec: u8) -> PResult<'a, Duration> {
        stacker::maybe_grow(RED_ZONE, STACK_SEGMENT, || {
            self.duration_binary_inner(i, min_prec)
        })
    }

    fn duration_binary_inner(&self, i: &'a str, min_prec: u8) -> PResult<'a, Duration> {
        let _g = self.enter(i)?;
        let (mut i, mut lhs) = self.duration_unary(i)?;
        loop {
            let at = ws(i);
            let Some((after, op)) = duration_op(at) else {
                break;
            };
            if op.precedence() < min_prec {
                break;
            }
            let next = if op == DurationOp::Pow {
                op.precedence()
            } else {
                op.precedence() + 1
            };
            let (rest, rhs) = self.duration_binary(after, next)?;
            lhs = Duration::Binary(op, Box::new(lhs), Box::new(rhs));
            i = rest;
        }
        Ok((i, lhs))
    }

    fn duration_unary(&self, i: &'a str) -> PResult<'a, Duration> {
        let i = ws(i);
        match i.chars().next() {
            Some('-') => {
                let (r, d) = self.duration_binary(&i[1..], DurationOp::Pow.precedence())?;
                Ok((r, negate(d)))
            }
            Some('+') => self.duration_binary(&i[1..], DurationOp::Pow.precedence()),
            _ => self.duration_atom(i),
        }
    }

    /// A literal, a number, a parenthesised expression, `step()`, `range()`,
    /// `min_of(a, b)`, `max_of(a, b)`, or a MetricsQL placeholder.
    pub(crate) fn duration_atom(&self, i: &'a str) -> PResult<'a, Duration> {
        let i = ws(i);
        if let Some(r) = i.strip_prefix('(') {
            let _g = self.enter(i)?;
            let (r, d) = self.duration_expr(r)?;
            let (r, ()) = self.expect(r, ")")?;
            return Ok((r, d));
        }
        if let Some(r) = i.strip_prefix('$') {
            for (name, d) in [
                ("__rate_interval", Duration::RateInterval),
                ("__interval", Duration::Interval),
            ] {
                if let Some(r2) = word(r, name) {
                    self.need_mql(i, name.len() + 1, &format!("`${name}`"))?;
                    return Ok((r2, d));
                }
            }
            return cut(PErr::expected(i, "`$__interval` or `$__rate_interval`"));
        }
        if let Ok((r, ms)) = duration_literal(i) {
            return Ok((r, Duration::Millis(ms)));
        }
        if i.starts_with(|c: char| c.is_ascii_digit() || c == '.') {
            let (r, v) = unsigned_number(i)?;
            if let Some(r2) = word(r, "i") {
                self.need_mql(i, i.len() - r2.len(), "a step multiple (`Ni`)")?;
                return Ok((r2, Duration::Steps(Number(v))));
            }
            return Ok((r, Duration::Seconds(Number(v))));
        }
        let Ok((after, name)) = ident(i, false, false) else {
            return cut(PErr::expected(i, "duration"));
        };
        if let Some(sf) = SpecialFn::from_name(name) {
            if matches!(sf, SpecialFn::Start | SpecialFn::End) {
                return cut(PErr::span(
                    i,
                    name.len(),
                    K::Type(format!("{name}() is a timestamp, not a duration")),
                ));
            }
            let (r, ()) = self.expect(after, "(")?;
            let (r, ()) = self.expect(r, ")")?;
            return Ok((r, Duration::Special(sf)));
        }
        let f = if name.eq_ignore_ascii_case("min_of") {
            DurationFn::MinOf
        } else if name.eq_ignore_ascii_case("max_of") {
            DurationFn::MaxOf
        } else {
            return cut(PErr::expected(i, "duration"));
        };
        let (r, ()) = self.expect(after, "(")?;
        let (r, a) = self.duration_expr(r)?;
        let (r, ()) = self.expect(r, ",")?;
        let (r, b) = self.duration_expr(r)?;
        let (r, ()) = self.expect(r, ")")?;
        Ok((r, Duration::Call(f, Box::new(a), Box::new(b))))
    }
}
