//! Vector selectors: `name{label op "value", …}`, quoted metric names, matcher checks.

use gnomon_tsdb_core::model::{METRIC_NAME, MatchOp, Matcher};

use crate::error::ParseErrorKind as K;
use crate::parser::ast::{Expr, VectorSelector};
use crate::parser::grammar::{Parser, consumed};
use crate::parser::lexer::{PErr, PResult, cut, ident, string_literal, ws};

fn match_op(i: &str) -> Option<(&str, MatchOp)> {
    for (tok, op) in [
        ("=~", MatchOp::RegexMatch),
        ("!~", MatchOp::RegexNoMatch),
        ("!=", MatchOp::NotEqual),
        ("=", MatchOp::Equal),
    ] {
        if let Some(r) = i.strip_prefix(tok) {
            return Some((r, op));
        }
    }
    None
}

impl<'a> Parser<'a> {
    /// A selector; `i` is just after the metric name (if any) or at `{`.
    pub(crate) fn selector(&self, i: &'a str, name: Option<String>) -> PResult<'a, VectorSelector> {
        let start = i;
        let mut sel = VectorSelector {
            name,
            matchers: Vec::new(),
            offset: None,
            at: None,
            modifier: None,
        };
        let j = ws(i);
        let rest = if let Some(body) = j.strip_prefix('{') {
            self.matchers(body, &mut sel)?.0
        } else {
            i
        };
        if self.checking() {
            if sel.name.is_some() && sel.matchers.iter().any(|m| m.name == METRIC_NAME) {
                return cut(PErr::span(
                    start,
                    consumed(start, rest),
                    K::InvalidSelector("metric name must not be set twice".into()),
                ));
            }
            if sel.name.is_none()
                && !self.relaxed_selector.get()
                && sel.matchers.iter().all(Matcher::matches_empty)
            {
                return cut(PErr::span(
                    start,
                    consumed(start, rest),
                    K::InvalidSelector(
                        "vector selector must contain at least one non-empty matcher".into(),
                    ),
                ));
            }
        }
        Ok((rest, sel))
    }

    /// The matchers after `{`, up to and including `}`.
    pub(crate) fn matchers(&self, mut i: &'a str, sel: &mut VectorSelector) -> PResult<'a, ()> {
        loop {
            let j = ws(i);
            if let Some(r) = j.strip_prefix('}') {
                return Ok((r, ()));
            }
            let quoted = string_literal(j).ok();
            let is_quoted = quoted.is_some();
            let (r, label) = match quoted {
                Some((r, s)) => (r, s),
                None => match ident(j, false, self.mql()) {
                    Ok((r, s)) => (r, s.to_string()),
                    Err(_) => return cut(PErr::expected(j, "label matcher")),
                },
            };
            let r = ws(r);
            match match_op(r) {
                Some((r2, op)) => {
                    let v_at = ws(r2);
                    let (r3, value) = match string_literal(v_at) {
                        Ok(v) => v,
                        Err(nom::Err::Error(_)) => {
                            return cut(PErr::expected(v_at, "string literal"));
                        }
                        Err(e) => return Err(e),
                    };
                    let m = Matcher::new(op, label, value).map_err(|e| {
                        nom::Err::Failure(PErr::span(
                            v_at,
                            consumed(v_at, r3),
                            K::InvalidRegex(e.to_string()),
                        ))
                    })?;
                    sel.matchers.push(m);
                    i = r3;
                }
                None if is_quoted => {
                    if sel.name.is_some() {
                        return cut(PErr::span(
                            j,
                            consumed(j, r),
                            K::InvalidSelector("metric name must not be set twice".into()),
                        ));
                    }
                    sel.name = Some(label);
                    i = r;
                }
                None if self.mql() => {
                    // A WITH template holding label filters: `foo{common, job="x"}`.
                    let Some(t) = self.find_template(&label) else {
                        return cut(PErr::expected(r, "matcher operator"));
                    };
                    let (_, e) = self.expand_template(j, &j[label.len()..], &t)?;
                    match e {
                        Expr::Vector(v) if v.name.is_none() => sel.matchers.extend(v.matchers),
                        _ => {
                            return cut(PErr::span(
                                j,
                                label.len(),
                                K::Template(format!("template {label:?} is not a label filter")),
                            ));
                        }
                    }
                    i = r;
                }
                None => return cut(PErr::expected(r, "matcher operator")),
            }
            let r = ws(i);
            if let Some(r2) = r.strip_prefix(',') {
                i = r2;
            } else if r.starts_with('}') {
                i = r;
            } else {
                return cut(PErr::expected(r, "`,` or `}`"));
            }
        }
    }
}
