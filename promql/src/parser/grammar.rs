//! The expression grammar: precedence climbing over binary operators, unary signs,
//! primaries (literals, selectors, calls, aggregations, parentheses) and their postfix
//! modifiers (`[range]`, `[range:step]`, `offset`, `@`, `anchored`, `smoothed`).

use std::cell::{Cell, RefCell};

use crate::error::ParseErrorKind as K;
use crate::parser::ParseOptions;
use crate::parser::ast::{
    AggregateExpr, AtModifier, BinModifier, BinaryExpr, BinaryOp, Call, Duration, Expr, Group,
    Grouping, MatrixSelector, Number, RangeModifier, SpecialFn, Subquery, VectorMatching,
};
use crate::parser::functions::{self, FunctionDef};
use crate::parser::lexer::{
    PErr, PResult, cut, duration_literal, ident, keyword, number_suffix, string_literal,
    unsigned_int, unsigned_number, ws,
};
use crate::parser::typecheck;
use crate::parser::with_templates::Template;

/// The grammar's state: the whole input (for spans), options, nesting depth and the WITH
/// templates in scope.
pub(crate) struct Parser<'a> {
    pub(crate) opts: &'a ParseOptions,
    depth: Cell<usize>,
    pub(crate) templates: RefCell<Vec<Template<'a>>>,
    /// Set while a WITH template body is scanned for its extent: checks are off.
    pub(crate) scanning: Cell<bool>,
    /// Set while the label-selector argument of `info` is parsed: it may match empty.
    pub(crate) relaxed_selector: Cell<bool>,
}

/// Stack left when a nested parse allocates more: one nesting level costs up to ~20 KiB
/// in debug builds (measured with `examples/depthprobe.rs`), so 128 KiB leaves room
/// for several.
pub(crate) const RED_ZONE: usize = 128 * 1024;
/// Size of each extra stack segment.
pub(crate) const STACK_SEGMENT: usize = 2 * 1024 * 1024;

/// Decrements the depth counter when a nested parse returns.
pub(crate) struct DepthGuard<'p> {
    depth: &'p Cell<usize>,
}

impl Drop for DepthGuard<'_> {
    fn drop(&mut self) {
        self.depth.set(self.depth.get() - 1);
    }
}

/// Converts a type-check message into a committed error over `len` bytes of `at`.
fn type_err<T>(at: &str, len: usize, msg: String) -> Result<T, nom::Err<PErr>> {
    cut(PErr::span(at, len, K::Type(msg)))
}

/// Bytes consumed between `from` and `to` (both suffixes of the same input).
pub(crate) fn consumed(from: &str, to: &str) -> usize {
    from.len() - to.len()
}

impl<'a> Parser<'a> {
    pub(crate) fn new(opts: &'a ParseOptions) -> Self {
        Parser {
            opts,
            depth: Cell::new(0),
            templates: RefCell::new(Vec::new()),
            scanning: Cell::new(false),
            relaxed_selector: Cell::new(false),
        }
    }

    /// True when MetricsQL extensions are on.
    pub(crate) fn mql(&self) -> bool {
        self.opts.metricsql
    }

    /// True when semantic checks run (off while scanning a WITH template body).
    pub(crate) fn checking(&self) -> bool {
        !self.scanning.get()
    }

    /// Enters one nesting level; fails past [`ParseOptions::max_depth`].
    pub(crate) fn enter(&self, i: &str) -> Result<DepthGuard<'_>, nom::Err<PErr>> {
        let d = self.depth.get() + 1;
        if d > self.opts.max_depth {
            return cut(PErr::at(i, K::TooDeep(self.opts.max_depth)));
        }
        self.depth.set(d);
        Ok(DepthGuard { depth: &self.depth })
    }

    /// Fails with [`K::NotPromQL`] in strict mode.
    pub(crate) fn need_mql(&self, i: &str, len: usize, what: &str) -> Result<(), nom::Err<PErr>> {
        if self.mql() {
            Ok(())
        } else {
            cut(PErr::span(
                i,
                len,
                K::NotPromQL(format!("{what} is MetricsQL, not PromQL")),
            ))
        }
    }

    /// Consumes `tok` after blanks, or fails (committed) with "expected `tok`".
    pub(crate) fn expect(&self, i: &'a str, tok: &str) -> PResult<'a, ()> {
        let i = ws(i);
        match i.strip_prefix(tok) {
            Some(r) => Ok((r, ())),
            None => cut(PErr::expected(i, &format!("`{tok}`"))),
        }
    }

    /// A whole query: an expression and nothing after it but blanks and comments.
    pub(crate) fn query(&self, i: &'a str) -> PResult<'a, Expr> {
        let (rest, e) = self.expr(i)?;
        let rest = ws(rest);
        if !rest.is_empty() {
            return cut(PErr::at(rest, K::TrailingInput));
        }
        Ok((rest, e))
    }

    /// An expression.
    pub(crate) fn expr(&self, i: &'a str) -> PResult<'a, Expr> {
        self.binary(i, 0)
    }

    fn binop(&self, i: &'a str) -> Option<(&'a str, BinaryOp)> {
        use BinaryOp::*;
        for (tok, op) in [
            ("==", Eql),
            ("</", TrimUpper),
            (">/", TrimLower),
            ("!=", Neq),
            ("<=", Lte),
            (">=", Gte),
            ("<", Lss),
            (">", Gtr),
            ("+", Add),
            ("-", Sub),
            ("*", Mul),
            ("/", Div),
            ("%", Mod),
            ("^", Pow),
        ] {
            if let Some(r) = i.strip_prefix(tok) {
                return Some((r, op));
            }
        }
        for op in [And, Or, Unless, Atan2, Default, If, IfNot] {
            if let Some(r) = keyword(i, op.as_str()) {
                return Some((r, op));
            }
        }
        None
    }

    fn binary(&self, i: &'a str, min_prec: u8) -> PResult<'a, Expr> {
        stacker::maybe_grow(RED_ZONE, STACK_SEGMENT, || self.binary_inner(i, min_prec))
    }

    fn binary_inner(&self, i: &'a str, min_prec: u8) -> PResult<'a, Expr> {
        let _g = self.enter(i)?;
        let (mut i, mut lhs) = self.unary(i)?;
        let mut chain = 0;
        loop {
            let at = ws(i);
            let Some((after, op)) = self.binop(at) else {
                break;
            };
            if op.precedence() < min_prec {
                break;
            }
            let op_len = consumed(at, after);
            if op.is_metricsql() {
                self.need_mql(at, op_len, &format!("operator `{}`", op.as_str()))?;
            }
            chain += 1;
            if self.depth.get() + chain > self.opts.max_depth {
                return cut(PErr::at(at, K::TooDeep(self.opts.max_depth)));
            }
            let (after, modifier) = self.bin_modifier(after, op)?;
            let next = if op.is_right_assoc() {
                op.precedence()
            } else {
                op.precedence() + 1
            };
            let (rest, rhs) = self.binary(after, next)?;
            if self.checking()
                && let Err(m) = typecheck::binary(op, &lhs, &rhs, &modifier, self.mql())
            {
                return type_err(at, op_len, m);
            }
            lhs = Expr::Binary(BinaryExpr {
                op,
                lhs: Box::new(lhs),
                rhs: Box::new(rhs),
                modifier,
            });
            i = rest;
        }
        Ok((i, lhs))
    }

    /// A label list in parentheses: `(a, "b.c",)`.
    pub(crate) fn label_list(&self, i: &'a str) -> PResult<'a, Vec<String>> {
        let (mut i, ()) = self.expect(i, "(")?;
        let mut out = Vec::new();
        loop {
            let j = ws(i);
            if let Some(r) = j.strip_prefix(')') {
                return Ok((r, out));
            }
            let (r, name) = self.label_name(j)?;
            out.push(name);
            let r = ws(r);
            if let Some(r2) = r.strip_prefix(',') {
                i = r2;
            } else if r.starts_with(')') {
                i = r;
            } else {
                return cut(PErr::expected(r, "`,` or `)`"));
            }
        }
    }

    /// A label name: an identifier or a quoted string.
    pub(crate) fn label_name(&self, i: &'a str) -> PResult<'a, String> {
        if let Ok((r, s)) = string_literal(i) {
            return Ok((r, s));
        }
        match ident(i, false, self.mql()) {
            Ok((r, s)) => Ok((r, s.to_string())),
            Err(_) => cut(PErr::expected(i, "label name")),
        }
    }

    fn bin_modifier(&self, i: &'a str, op: BinaryOp) -> PResult<'a, BinModifier> {
        let mut m = BinModifier::default();
        let mut i = ws(i);
        if let Some(r) = keyword(i, "bool") {
            if !op.is_comparison() {
                return type_err(
                    i,
                    4,
                    "bool modifier can only be used on comparison operators".into(),
                );
            }
            m.return_bool = true;
            i = ws(r);
        }
        for (word, on) in [("on", true), ("ignoring", false)] {
            if let Some(r) = keyword(i, word)
                && ws(r).starts_with('(')
            {
                let (r, labels) = self.label_list(r)?;
                m.matching = Some(if on {
                    VectorMatching::On(labels)
                } else {
                    VectorMatching::Ignoring(labels)
                });
                i = ws(r);
                break;
            }
        }
        for (word, left) in [("group_left", true), ("group_right", false)] {
            if let Some(r) = keyword(i, word) {
                let (r, labels) = if ws(r).starts_with('(') {
                    self.label_list(r)?
                } else {
                    (r, Vec::new())
                };
                m.group = Some(if left {
                    Group::Left(labels)
                } else {
                    Group::Right(labels)
                });
                i = ws(r);
                break;
            }
        }
        loop {
            let mut hit = false;
            for word in ["fill", "fill_left", "fill_right"] {
                if let Some(r) = keyword(i, word)
                    && ws(r).starts_with('(')
                {
                    let (r, ()) = self.expect(r, "(")?;
                    let (r, v) = self.signed_number(ws(r))?;
                    let (r, ()) = self.expect(r, ")")?;
                    if word != "fill_right" {
                        m.fill_left = Some(v);
                    }
                    if word != "fill_left" {
                        m.fill_right = Some(v);
                    }
                    i = ws(r);
                    hit = true;
                }
            }
            if !hit {
                break;
            }
        }
        Ok((i, m))
    }

    /// `[+-]` number, `Inf` or `NaN`.
    pub(crate) fn signed_number(&self, i: &'a str) -> PResult<'a, Number> {
        let (i, sign) = match i.chars().next() {
            Some('-') => (ws(&i[1..]), -1.0),
            Some('+') => (ws(&i[1..]), 1.0),
            _ => (i, 1.0),
        };
        if let Some((r, v)) = self.number_token(i)? {
            return Ok((r, Number(sign * v)));
        }
        cut(PErr::expected(i, "number"))
    }

    /// A number token at `i` (literal with optional MetricsQL suffix, duration as seconds,
    /// `Inf`, `NaN`), or `None` when `i` does not start with one.
    fn number_token(&self, i: &'a str) -> Result<Option<(&'a str, f64)>, nom::Err<PErr>> {
        if let Some(r) = keyword(i, "inf") {
            return Ok(Some((r, f64::INFINITY)));
        }
        if let Some(r) = keyword(i, "nan") {
            return Ok(Some((r, f64::NAN)));
        }
        let starts = i.starts_with(|c: char| c.is_ascii_digit())
            || (i.starts_with('.') && i[1..].starts_with(|c: char| c.is_ascii_digit()));
        if !starts {
            return Ok(None);
        }
        if let Ok((r, ms)) = duration_literal(i) {
            return Ok(Some((r, ms as f64 / 1000.0)));
        }
        let (r, v) = unsigned_number(i)?;
        if self.mql()
            && let Ok((r2, mult)) = number_suffix(r)
        {
            return Ok(Some((r2, v * mult)));
        }
        if r.starts_with(|c: char| c.is_alphanumeric() || c == '_') {
            return cut(PErr::span(
                i,
                crate::parser::lexer::token_len(i),
                K::InvalidLiteral(format!(
                    "invalid number {:?}",
                    &i[..crate::parser::lexer::token_len(i)]
                )),
            ));
        }
        Ok(Some((r, v)))
    }

    fn unary(&self, i: &'a str) -> PResult<'a, Expr> {
        let i = ws(i);
        let neg = match i.chars().next() {
            Some('-') => true,
            Some('+') => false,
            _ => return self.postfix_primary(i),
        };
        let (rest, e) = self.binary(&i[1..], BinaryOp::Pow.precedence())?;
        if self.checking()
            && let Err(m) = typecheck::unary(&e, self.mql())
        {
            return type_err(i, 1, m);
        }
        let e = match (neg, e) {
            (false, e) => e,
            (true, Expr::Number(Number(v))) => Expr::Number(Number(-v)),
            (true, e) => Expr::Neg(Box::new(e)),
        };
        Ok((rest, e))
    }

    fn postfix_primary(&self, i: &'a str) -> PResult<'a, Expr> {
        let (mut i, mut e) = self.primary(i)?;
        loop {
            let at = ws(i);
            if at.starts_with('[') {
                let (r, ne) = self.range_suffix(at, e)?;
                e = ne;
                i = r;
            } else if let Some(r) = keyword(at, "offset") {
                let (r, d) = self.offset_duration(ws(r))?;
                let slot = match &mut e {
                    Expr::Vector(v) => &mut v.offset,
                    Expr::Matrix(m) => &mut m.selector.offset,
                    Expr::Subquery(s) => &mut s.offset,
                    _ => return type_err(at, 6, "offset modifier must be preceded by an instant vector selector or range vector selector or a subquery".into()),
                };
                if slot.is_some() {
                    return type_err(at, 6, "offset may not be set multiple times".into());
                }
                *slot = Some(d);
                i = r;
            } else if let Some(r) = at.strip_prefix('@') {
                let (r, t) = self.at_value(ws(r))?;
                let slot = match &mut e {
                    Expr::Vector(v) => &mut v.at,
                    Expr::Matrix(m) => &mut m.selector.at,
                    Expr::Subquery(s) => &mut s.at,
                    _ => return type_err(at, 1, "@ modifier must be preceded by an instant vector selector or range vector selector or a subquery".into()),
                };
                if slot.is_some() {
                    return type_err(at, 1, "@ <timestamp> may not be set multiple times".into());
                }
                *slot = Some(t);
                i = r;
            } else if let Some((r, m)) = [RangeModifier::Anchored, RangeModifier::Smoothed]
                .into_iter()
                .find_map(|m| keyword(at, m.name()).map(|r| (r, m)))
            {
                let slot = match &mut e {
                    Expr::Vector(v) => &mut v.modifier,
                    Expr::Matrix(mx) => &mut mx.selector.modifier,
                    _ => {
                        return type_err(
                            at,
                            m.name().len(),
                            format!(
                                "{} modifier must be preceded by a vector selector",
                                m.name()
                            ),
                        );
                    }
                };
                if slot.is_some() {
                    return type_err(
                        at,
                        m.name().len(),
                        format!("{} may not be set multiple times", m.name()),
                    );
                }
                *slot = Some(m);
                i = r;
            } else {
                return Ok((i, e));
            }
        }
    }

    fn at_value(&self, i: &'a str) -> PResult<'a, AtModifier> {
        for (word, m) in [("start", AtModifier::Start), ("end", AtModifier::End)] {
            if let Some(r) = keyword(i, word) {
                let (r, ()) = self.expect(r, "(")?;
                let (r, ()) = self.expect(r, ")")?;
                return Ok((r, m));
            }
        }
        let (r, n) = self.signed_number(i)?;
        if !n.0.is_finite() {
            return type_err(
                i,
                consumed(i, r),
                "timestamp out of bounds for @ modifier".into(),
            );
        }
        Ok((r, AtModifier::Time(n)))
    }

    /// `[range]` after a selector, or `[range:step]` after any expression.
    fn range_suffix(&self, i: &'a str, e: Expr) -> PResult<'a, Expr> {
        let open = i;
        let i = &i[1..];
        let (i, range) = self.duration_expr(i)?;
        let j = ws(i);
        if let Some(j) = j.strip_prefix(':') {
            let j = ws(j);
            let (j, step) = if j.starts_with(']') {
                (j, None)
            } else {
                let (j, s) = self.duration_expr(j)?;
                (j, Some(s))
            };
            let (j, ()) = self.expect(j, "]")?;
            if self.checking()
                && let Err(m) = typecheck::subquery_inner(&e, self.mql())
            {
                return type_err(open, consumed(open, j), m);
            }
            return Ok((
                j,
                Expr::Subquery(Subquery {
                    expr: Box::new(e),
                    range,
                    step,
                    offset: None,
                    at: None,
                }),
            ));
        }
        let (j, ()) = self.expect(j, "]")?;
        match e {
            Expr::Vector(v) if v.offset.is_some() || v.at.is_some() || v.modifier.is_some() => {
                type_err(
                    open,
                    consumed(open, j),
                    "no offset, @ or range modifiers allowed before range".into(),
                )
            }
            Expr::Vector(selector) => Ok((j, Expr::Matrix(MatrixSelector { selector, range }))),
            _ => type_err(
                open,
                consumed(open, j),
                "ranges only allowed for vector selectors".into(),
            ),
        }
    }

    fn primary(&self, i: &'a str) -> PResult<'a, Expr> {
        let i = ws(i);
        let Some(c) = i.chars().next() else {
            return cut(PErr::expected(i, "expression"));
        };
        if c == '(' {
            let _g = self.enter(i)?;
            let (r, e) = self.expr(&i[1..])?;
            let (r, ()) = self.expect(r, ")")?;
            return Ok((r, e));
        }
        if matches!(c, '"' | '\'' | '`') {
            let (r, s) = string_literal(i)?;
            return Ok((r, Expr::String(s)));
        }
        if c == '{' {
            let (r, v) = self.selector(i, None)?;
            return Ok((r, Expr::Vector(v)));
        }
        if c == '$' {
            return cut(PErr::expected(
                i,
                "expression (`$` placeholders are only allowed in durations)",
            ));
        }
        if let Some((r, v)) = self.number_token(i)? {
            return Ok((r, Expr::Number(Number(v))));
        }
        let Ok((after, name)) = ident(i, true, self.mql()) else {
            return cut(PErr::expected(i, "expression"));
        };
        self.identifier(i, after, name)
    }

    /// What an identifier at the start of an expression is: a template, a call, an
    /// aggregation, a special function or a metric name.
    fn identifier(&self, i: &'a str, after: &'a str, name: &'a str) -> PResult<'a, Expr> {
        let next = ws(after);
        if self.mql() && name.eq_ignore_ascii_case("with") && next.starts_with('(') {
            return self.with_expr(next);
        }
        if self.mql()
            && let Some(t) = self.find_template(name)
        {
            return self.expand_template(i, after, &t);
        }
        let paren = next.starts_with('(');
        let grouping = keyword(next, "by").is_some() || keyword(next, "without").is_some();
        if paren && let Some(sf) = SpecialFn::from_name(name) {
            let (r, ()) = self.expect(next, "(")?;
            let (r, ()) = self.expect(r, ")")?;
            return Ok((r, Expr::Special(sf)));
        }
        let func = self.lookup(name);
        match func {
            Some(f) if f.is_aggregate() && (paren || grouping) => self.aggregate(i, after, f),
            Some(f) if paren => self.call(i, next, f),
            None if paren => cut(PErr::span(
                i,
                name.len(),
                K::UnknownFunction(name.to_string()),
            )),
            _ => {
                let (r, v) = self.selector(after, Some(name.to_string()))?;
                Ok((r, Expr::Vector(v)))
            }
        }
    }

    /// Function lookup: aggregations (keywords in Prometheus) match in any case, other
    /// functions exactly in strict mode and in any case in MetricsQL mode.
    fn lookup(&self, name: &str) -> Option<&'static FunctionDef> {
        let f = functions::lookup_ignore_case(name)?;
        let case_ok = f.name == name || f.is_aggregate() || self.mql();
        (case_ok && (self.mql() || !f.metricsql)).then_some(f)
    }

    /// Comma-separated arguments in parentheses; returns each with the input at its start.
    fn args(
        &self,
        i: &'a str,
        relaxed: Option<usize>,
    ) -> PResult<'a, Vec<((&'a str, usize), Expr)>> {
        let (mut i, ()) = self.expect(i, "(")?;
        let _g = self.enter(i)?;
        let mut out = Vec::new();
        loop {
            let j = ws(i);
            if let Some(r) = j.strip_prefix(')') {
                if !out.is_empty() && !self.mql() {
                    return cut(PErr::expected(j, "expression"));
                }
                return Ok((r, out));
            }
            let relax = relaxed == Some(out.len());
            let was = self.relaxed_selector.replace(relax);
            let parsed = self.expr(j);
            self.relaxed_selector.set(was);
            let (r, e) = parsed?;
            out.push(((j, consumed(j, r)), e));
            let r = ws(r);
            if let Some(r2) = r.strip_prefix(',') {
                i = r2;
            } else if let Some(r2) = r.strip_prefix(')') {
                return Ok((r2, out));
            } else {
                return cut(PErr::expected(r, "`,` or `)`"));
            }
        }
    }

    fn call(&self, start: &'a str, i: &'a str, f: &'static FunctionDef) -> PResult<'a, Expr> {
        // The second argument of `info` selects info metrics by data labels and may
        // match the empty string (`{data=~".*"}`).
        let relaxed = (f.name == "info").then_some(1);
        let (mut r, args) = self.args(i, relaxed)?;
        if self.checking()
            && let Err((idx, kind)) = typecheck::call(f, &args, self.mql())
        {
            let (at, len) = match idx {
                Some(k) => args[k].0,
                None => (start, consumed(start, r)),
            };
            return cut(PErr::span(at, len, kind));
        }
        let mut keep = false;
        if let Some(r2) = keyword(ws(r), "keep_metric_names") {
            self.need_mql(ws(r), 17, "`keep_metric_names`")?;
            keep = true;
            r = r2;
        }
        Ok((
            r,
            Expr::Call(Call {
                func: f,
                args: args.into_iter().map(|(_, e)| e).collect(),
                keep_metric_names: keep,
            }),
        ))
    }

    fn grouping(&self, i: &'a str) -> PResult<'a, Option<Grouping>> {
        let i = ws(i);
        if let Some(r) = keyword(i, "by") {
            let (r, l) = self.label_list(r)?;
            return Ok((r, Some(Grouping::By(l))));
        }
        if let Some(r) = keyword(i, "without") {
            let (r, l) = self.label_list(r)?;
            return Ok((r, Some(Grouping::Without(l))));
        }
        Ok((i, None))
    }

    fn aggregate(&self, start: &'a str, i: &'a str, f: &'static FunctionDef) -> PResult<'a, Expr> {
        let (i, mut grouping) = self.grouping(i)?;
        let (mut r, args) = self.args(i, None)?;
        if grouping.is_none() {
            let (r2, g) = self.grouping(r)?;
            grouping = g;
            r = if grouping.is_some() { r2 } else { r };
        } else if keyword(ws(r), "by").is_some() || keyword(ws(r), "without").is_some() {
            return type_err(ws(r), 2, "aggregation grouping given twice".into());
        }
        let mut limit = None;
        let j = ws(r);
        if let Some(r2) = keyword(j, "limit") {
            self.need_mql(j, 5, "`limit` on aggregations")?;
            let (r2, n) = match unsigned_int(ws(r2)) {
                Ok(v) => v,
                Err(_) => return cut(PErr::expected(ws(r2), "integer after `limit`")),
            };
            limit = Some(n);
            r = r2;
        }
        if self.checking()
            && let Err((idx, kind)) = typecheck::aggregate(f, &args, grouping.as_ref(), self.mql())
        {
            let (at, len) = match idx {
                Some(k) => args[k].0,
                None => (start, consumed(start, r)),
            };
            return cut(PErr::span(at, len, kind));
        }
        Ok((
            r,
            Expr::Aggregate(AggregateExpr {
                func: f,
                args: args.into_iter().map(|(_, e)| e).collect(),
                grouping,
                limit,
            }),
        ))
    }

    /// The duration after `offset`: an optional sign and one atom (`5m`, `(1m+2s)`,
    /// `step()`, `min_of(..)`); operators after it belong to the enclosing expression.
    fn offset_duration(&self, i: &'a str) -> PResult<'a, Duration> {
        let (r, neg) = match i.chars().next() {
            Some('-') => (ws(&i[1..]), true),
            Some('+') => (ws(&i[1..]), false),
            _ => (i, false),
        };
        let (r, d) = self.duration_atom(r)?;
        Ok((
            r,
            if neg {
                crate::parser::duration::negate(d)
            } else {
                d
            },
        ))
    }
}
