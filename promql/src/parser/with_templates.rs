//! MetricsQL `WITH (name = expr, f(a, b) = expr, …) expr`: templates are expanded while
//! parsing, so the tree never contains them.
//!
//! A template keeps the text of its body (a slice of the query, so errors inside it point
//! into the query). Each use re-parses that text with the template's parameters bound to
//! the argument expressions, in the scope where the template was defined.

use crate::error::ParseErrorKind as K;
use crate::parser::ast::{Expr, VectorSelector};
use crate::parser::grammar::{Parser, consumed};
use crate::parser::lexer::{PErr, PResult, cut, ident, ws};

/// What a name in scope stands for.
#[derive(Clone, Debug)]
pub(crate) enum Body<'a> {
    /// Text to re-parse on each use.
    Text(&'a str),
    /// An already parsed expression (a bound parameter).
    Value(Expr),
}

/// One template in scope.
#[derive(Clone, Debug)]
pub(crate) struct Template<'a> {
    /// Its name.
    pub(crate) name: &'a str,
    /// Parameter names (empty for `name = expr`).
    pub(crate) params: Vec<&'a str>,
    /// The body.
    pub(crate) body: Body<'a>,
    /// How many templates were in scope where it was defined (its lexical scope).
    pub(crate) scope: usize,
}

impl<'a> Parser<'a> {
    /// The innermost template called `name`.
    pub(crate) fn find_template(&self, name: &str) -> Option<Template<'a>> {
        self.templates
            .borrow()
            .iter()
            .rev()
            .find(|t| t.name == name)
            .cloned()
    }

    /// `WITH (defs) expr`; `i` is at `(`.
    pub(crate) fn with_expr(&self, i: &'a str) -> PResult<'a, Expr> {
        let _g = self.enter(i)?;
        let base = self.templates.borrow().len();
        let r = self.with_defs(&i[1..]);
        let result = match r {
            Ok(rest) => self.expr(rest),
            Err(e) => Err(e),
        };
        self.templates.borrow_mut().truncate(base);
        result
    }

    fn with_defs(&self, mut i: &'a str) -> Result<&'a str, nom::Err<PErr>> {
        loop {
            let j = ws(i);
            if let Some(r) = j.strip_prefix(')') {
                return Ok(r);
            }
            let Ok((r, name)) = ident(j, true, true) else {
                return cut(PErr::expected(j, "template name"));
            };
            let mut params = Vec::new();
            let mut r = ws(r);
            if let Some(mut p) = r.strip_prefix('(') {
                loop {
                    let q = ws(p);
                    if let Some(q) = q.strip_prefix(')') {
                        r = ws(q);
                        break;
                    }
                    let Ok((q, param)) = ident(q, false, true) else {
                        return cut(PErr::expected(q, "parameter name"));
                    };
                    params.push(param);
                    let q = ws(q);
                    p = q.strip_prefix(',').unwrap_or(q);
                    if !q.starts_with(',') && !q.starts_with(')') {
                        return cut(PErr::expected(q, "`,` or `)`"));
                    }
                }
            }
            let (r, ()) = self.expect(r, "=")?;
            let body_start = ws(r);
            let end = self.scan_body(body_start, &params)?;
            let body = &body_start[..consumed(body_start, end)];
            let scope = self.templates.borrow().len();
            self.templates.borrow_mut().push(Template {
                name,
                params,
                body: Body::Text(body),
                scope,
            });
            let e = ws(end);
            if let Some(r2) = e.strip_prefix(',') {
                i = r2;
            } else if e.starts_with(')') {
                i = e;
            } else {
                return cut(PErr::expected(e, "`,` or `)`"));
            }
        }
    }

    /// Finds where a template body ends by parsing it with checks off and its parameters
    /// bound to placeholders.
    fn scan_body(&self, i: &'a str, params: &[&'a str]) -> Result<&'a str, nom::Err<PErr>> {
        let was = self.scanning.replace(true);
        let base = self.templates.borrow().len();
        for p in params {
            self.templates.borrow_mut().push(Template {
                name: p,
                params: Vec::new(),
                body: Body::Value(Expr::Vector(VectorSelector::named(*p))),
                scope: base,
            });
        }
        let r = self.expr(i);
        self.templates.borrow_mut().truncate(base);
        self.scanning.set(was);
        r.map(|(rest, _)| rest)
    }

    /// Expands a use of `t`; `start` is at the name, `after` just after it.
    pub(crate) fn expand_template(
        &self,
        start: &'a str,
        after: &'a str,
        t: &Template<'a>,
    ) -> PResult<'a, Expr> {
        let _g = self.enter(start)?;
        let (rest, args) = if t.params.is_empty() {
            (after, Vec::new())
        } else {
            let (r, ()) = self.expect(after, "(")?;
            let mut args = Vec::new();
            let mut r = r;
            loop {
                let j = ws(r);
                if let Some(r2) = j.strip_prefix(')') {
                    r = r2;
                    break;
                }
                let (r2, e) = self.expr(j)?;
                args.push(e);
                let r2 = ws(r2);
                r = r2.strip_prefix(',').unwrap_or(r2);
                if !r2.starts_with(',') && !r2.starts_with(')') {
                    return cut(PErr::expected(r2, "`,` or `)`"));
                }
            }
            if args.len() != t.params.len() {
                return cut(PErr::span(
                    start,
                    consumed(start, r),
                    K::Template(format!(
                        "template {:?} takes {} argument(s), {} given",
                        t.name,
                        t.params.len(),
                        args.len()
                    )),
                ));
            }
            (r, args)
        };
        let e = match &t.body {
            Body::Value(e) => e.clone(),
            Body::Text(text) => {
                let saved: Vec<Template<'a>> = self.templates.borrow().clone();
                {
                    let mut ts = self.templates.borrow_mut();
                    ts.truncate(t.scope);
                    let scope = ts.len();
                    for (p, a) in t.params.iter().zip(args) {
                        ts.push(Template {
                            name: p,
                            params: Vec::new(),
                            body: Body::Value(a),
                            scope,
                        });
                    }
                }
                let r = self.query_text(text);
                *self.templates.borrow_mut() = saved;
                r?
            }
        };
        // `tmpl{extra="filter"}` adds matchers to a selector template.
        if let Expr::Vector(mut v) = e {
            if let Some(body) = ws(rest).strip_prefix('{') {
                let r = self.matchers(body, &mut v)?.0;
                return Ok((r, Expr::Vector(v)));
            }
            return Ok((rest, Expr::Vector(v)));
        }
        Ok((rest, e))
    }

    /// Parses a template body completely.
    fn query_text(&self, text: &'a str) -> Result<Expr, nom::Err<PErr>> {
        let (rest, e) = self.expr(text)?;
        let rest = ws(rest);
        if !rest.is_empty() {
            return cut(PErr::at(rest, K::TrailingInput));
        }
        Ok(e)
    }
}
