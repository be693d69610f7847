//! Executes a parsed template: dot, variables, pipelines and Go's builtin functions; the
//! Prometheus functions live in `funcs`.

use std::cmp::Ordering;
use std::collections::BTreeMap;

use super::funcs::call_prometheus;
use super::gofmt::sprintf;
use super::parse::{Arg, Node, Parsed, Pipe};
use super::value::TValue;
use super::{TemplateEnv, TemplateError};

/// Go's builtins.
pub(crate) const BUILTINS: &[&str] = &[
    "and", "or", "not", "len", "index", "eq", "ne", "lt", "le", "gt", "ge", "print", "println",
    "printf", "html", "js", "urlquery", "call",
];

/// Deepest `template` nesting (Go's limit is 100000; recursion this deep is a mistake).
const MAX_DEPTH: usize = 100;

pub(crate) struct Exec<'a> {
    pub name: &'a str,
    pub parsed: &'a Parsed,
    pub env: &'a TemplateEnv<'a>,
    pub vars: Vec<(String, TValue)>,
    pub out: String,
    pub depth: usize,
}

type R<T> = Result<T, TemplateError>;

impl Exec<'_> {
    fn err(&self, line: usize, msg: impl std::fmt::Display) -> TemplateError {
        TemplateError::Exec(format!(
            "template: {}:{line}: executing {:?}: {msg}",
            self.name, self.name
        ))
    }

    pub fn nodes(&mut self, nodes: &[Node], dot: &TValue) -> R<()> {
        for n in nodes {
            self.node(n, dot)?;
        }
        Ok(())
    }

    fn scoped(&mut self, nodes: &[Node], dot: &TValue) -> R<()> {
        let mark = self.vars.len();
        let r = self.nodes(nodes, dot);
        self.vars.truncate(mark);
        r
    }

    fn node(&mut self, n: &Node, dot: &TValue) -> R<()> {
        match n {
            Node::Text(t) => self.out.push_str(t),
            Node::Action(p) => {
                let v = self.pipe(p, dot)?;
                if p.decl.is_empty() {
                    self.out.push_str(&v.to_go_string());
                }
            }
            Node::If(p, then, else_) | Node::With(p, then, else_) => {
                let mark = self.vars.len();
                let v = self.pipe(p, dot)?;
                let r = if v.truthy() {
                    let d = if matches!(n, Node::With(..)) {
                        v
                    } else {
                        dot.clone()
                    };
                    self.scoped(then, &d)
                } else {
                    self.scoped(else_, dot)
                };
                self.vars.truncate(mark);
                r?;
            }
            Node::Range(p, body, else_) => {
                let mark = self.vars.len();
                let decl = p.decl.clone();
                let plain = Pipe {
                    decl: Vec::new(),
                    ..p.clone()
                };
                let v = self.pipe(&plain, dot)?;
                let items: Vec<(TValue, TValue)> = match v {
                    TValue::List(l) => l
                        .into_iter()
                        .enumerate()
                        .map(|(i, e)| (TValue::Int(i as i64), e))
                        .collect(),
                    TValue::Map(m) => m.into_iter().map(|(k, e)| (TValue::Str(k), e)).collect(),
                    TValue::Int(n) => (0..n.max(0))
                        .map(|i| (TValue::Int(i), TValue::Int(i)))
                        .collect(),
                    TValue::Nil => Vec::new(),
                    other => {
                        return Err(self.err(
                            p.line,
                            format!("range can't iterate over {}", other.to_go_string()),
                        ));
                    }
                };
                if items.is_empty() {
                    self.scoped(else_, dot)?;
                }
                for (k, e) in items {
                    match decl.as_slice() {
                        [a] => self.vars.push((a.clone(), e.clone())),
                        [a, b] => {
                            self.vars.push((a.clone(), k));
                            self.vars.push((b.clone(), e.clone()));
                        }
                        _ => {}
                    }
                    let r = self.scoped(body, &e);
                    self.vars.truncate(mark);
                    r?;
                }
            }
            Node::Template(name, p) => {
                let d = match p {
                    Some(p) => self.pipe(p, dot)?,
                    None => TValue::Nil,
                };
                let body = self
                    .parsed
                    .defines
                    .get(name)
                    .ok_or_else(|| self.err(0, format!("no such template {name:?}")))?;
                if self.depth >= MAX_DEPTH {
                    return Err(self.err(0, "exceeded maximum template depth"));
                }
                self.depth += 1;
                let saved = std::mem::replace(&mut self.vars, vec![("$".into(), d.clone())]);
                let r = self.nodes(body, &d);
                self.vars = saved;
                self.depth -= 1;
                r?;
            }
        }
        Ok(())
    }

    fn pipe(&mut self, p: &Pipe, dot: &TValue) -> R<TValue> {
        let mut v: Option<TValue> = None;
        for cmd in &p.cmds {
            v = Some(self.command(cmd, dot, v, p.line)?);
        }
        let v = v.unwrap_or(TValue::Nil);
        for d in &p.decl {
            if p.assign {
                if let Some(slot) = self.vars.iter_mut().rev().find(|(n, _)| n == d) {
                    slot.1 = v.clone();
                }
            } else {
                self.vars.push((d.clone(), v.clone()));
            }
        }
        Ok(v)
    }

    fn command(
        &mut self,
        cmd: &[Arg],
        dot: &TValue,
        piped: Option<TValue>,
        line: usize,
    ) -> R<TValue> {
        if let Arg::Func(f) = &cmd[0] {
            let mut args = Vec::with_capacity(cmd.len());
            for a in &cmd[1..] {
                args.push(self.arg(a, dot, line)?);
            }
            args.extend(piped);
            return self.call(f, args, line);
        }
        if cmd.len() > 1 || piped.is_some() {
            return Err(self.err(line, "can't give argument to non-function"));
        }
        self.arg(&cmd[0], dot, line)
    }

    fn arg(&mut self, a: &Arg, dot: &TValue, line: usize) -> R<TValue> {
        match a {
            Arg::Field(path) => self.walk(dot.clone(), path, line),
            Arg::Var(name, path) => {
                let v = self
                    .vars
                    .iter()
                    .rev()
                    .find(|(n, _)| n == name)
                    .map(|(_, v)| v.clone())
                    .ok_or_else(|| self.err(line, format!("undefined variable: {name}")))?;
                self.walk(v, path, line)
            }
            Arg::Func(f) => self.call(f, Vec::new(), line),
            Arg::Str(s) => Ok(TValue::Str(s.clone())),
            Arg::Int(i) => Ok(TValue::Int(*i)),
            Arg::Float(f) => Ok(TValue::Float(*f)),
            Arg::Bool(b) => Ok(TValue::Bool(*b)),
            Arg::Nil => Ok(TValue::Nil),
            Arg::Sub(p, path) => {
                let v = self.pipe(p, dot)?;
                self.walk(v, path, line)
            }
        }
    }

    fn walk(&self, mut v: TValue, path: &[String], line: usize) -> R<TValue> {
        for f in path {
            v = match v.field(f) {
                Some(x) => x,
                None if v == TValue::Nil => {
                    return Err(
                        self.err(line, format!("nil pointer evaluating interface {{}}.{f}"))
                    );
                }
                None => {
                    return Err(self.err(
                        line,
                        format!("can't evaluate field {f} in type {}", v.go_type()),
                    ));
                }
            };
        }
        Ok(v)
    }

    fn call(&mut self, f: &str, args: Vec<TValue>, line: usize) -> R<TValue> {
        builtin(f, &args)
            .unwrap_or_else(|| call_prometheus(f, &args, self.env))
            .map_err(|m| self.err(line, format!("error calling {f}: {m}")))
    }
}

/// Go's builtin functions; `None` when `f` is not one.
fn builtin(f: &str, a: &[TValue]) -> Option<Result<TValue, String>> {
    let need = |n: usize| {
        if a.len() < n {
            Err(format!(
                "wrong number of args for {f}: want {n} got {}",
                a.len()
            ))
        } else {
            Ok(())
        }
    };
    let r = match f {
        "and" => need(1).map(|_| {
            a.iter()
                .find(|v| !v.truthy())
                .unwrap_or(&a[a.len() - 1])
                .clone()
        }),
        "or" => need(1).map(|_| {
            a.iter()
                .find(|v| v.truthy())
                .unwrap_or(&a[a.len() - 1])
                .clone()
        }),
        "not" => need(1).map(|_| TValue::Bool(!a[0].truthy())),
        "len" => need(1).and_then(|_| match &a[0] {
            TValue::Str(s) => Ok(TValue::Int(s.len() as i64)),
            TValue::List(l) => Ok(TValue::Int(l.len() as i64)),
            TValue::Map(m) => Ok(TValue::Int(m.len() as i64)),
            v => Err(format!("len of type {}", v.go_type())),
        }),
        "index" => need(1).and_then(|_| {
            a[1..].iter().try_fold(a[0].clone(), |v, k| match (&v, k) {
                (TValue::Map(m), k) => Ok(m
                    .get(&k.to_go_string())
                    .cloned()
                    .unwrap_or(TValue::Str(String::new()))),
                (TValue::List(l), TValue::Int(i)) => usize::try_from(*i)
                    .ok()
                    .and_then(|i| l.get(i).cloned())
                    .ok_or_else(|| format!("index out of range: {i}")),
                (v, _) => Err(format!("can't index item of type {}", v.go_type())),
            })
        }),
        "eq" => need(2).and_then(|_| {
            a[1..]
                .iter()
                .try_fold(false, |acc, b| {
                    Ok(acc || compare(&a[0], b)? == Ordering::Equal)
                })
                .map(TValue::Bool)
        }),
        "ne" | "lt" | "le" | "gt" | "ge" => need(2).and_then(|_| {
            let o = compare(&a[0], &a[1])?;
            Ok(TValue::Bool(match f {
                "ne" => o != Ordering::Equal,
                "lt" => o == Ordering::Less,
                "le" => o != Ordering::Greater,
                "gt" => o == Ordering::Greater,
                _ => o != Ordering::Less,
            }))
        }),
        "print" => Ok(TValue::Str(go_sprint(a))),
        "println" => {
            let parts: Vec<String> = a.iter().map(TValue::to_go_string).collect();
            Ok(TValue::Str(parts.join(" ") + "\n"))
        }
        "printf" => need(1).map(|_| TValue::Str(sprintf(&a[0].to_go_string(), &a[1..]))),
        "html" => Ok(TValue::Str(html_escape(&go_sprint(a)))),
        "js" => Ok(TValue::Str(
            go_sprint(a)
                .replace('\\', "\\\\")
                .replace('\'', "\\'")
                .replace('"', "\\\""),
        )),
        "urlquery" => Ok(TValue::Str(url_escape(&go_sprint(a)))),
        "call" => Err("call is not supported".into()),
        _ => return None,
    };
    Some(r)
}

/// `fmt.Sprint`: spaces between operands when neither is a string.
fn go_sprint(a: &[TValue]) -> String {
    let mut out = String::new();
    for (i, v) in a.iter().enumerate() {
        if i > 0 && !matches!(v, TValue::Str(_)) && !matches!(a[i - 1], TValue::Str(_)) {
            out.push(' ');
        }
        out.push_str(&v.to_go_string());
    }
    out
}

fn compare(a: &TValue, b: &TValue) -> Result<Ordering, String> {
    match (a, b) {
        (TValue::Str(x), TValue::Str(y)) => Ok(x.cmp(y)),
        (TValue::Bool(x), TValue::Bool(y)) => Ok(x.cmp(y)),
        (TValue::Int(x), TValue::Int(y)) => Ok(x.cmp(y)),
        (TValue::Int(_) | TValue::Float(_), TValue::Int(_) | TValue::Float(_)) => {
            let (x, y) = (
                a.as_f64().unwrap_or(f64::NAN),
                b.as_f64().unwrap_or(f64::NAN),
            );
            // NaN compares unequal to everything: report it as "greater" so `eq` is false.
            Ok(x.partial_cmp(&y).unwrap_or(Ordering::Greater))
        }
        (TValue::Nil, TValue::Nil) => Ok(Ordering::Equal),
        _ => Err("incompatible types for comparison".into()),
    }
}

fn html_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '&' => out.push_str("&amp;"),
            '"' => out.push_str("&#34;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// `url.QueryEscape`.
pub(crate) fn url_escape(s: &str) -> String {
    let mut out = String::new();
    for b in s.bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                out.push(b as char)
            }
            b' ' => out.push('+'),
            b => out.push_str(&format!("%{b:02X}")),
        }
    }
    out
}

/// Starting variables of an execution: `$` and the given ones.
pub(crate) fn start_vars(dot: &TValue, predefined: &[(&str, &str)]) -> Vec<(String, TValue)> {
    let mut vars = vec![("$".to_string(), dot.clone())];
    for (var, field) in predefined {
        let v = dot.field(field).unwrap_or(TValue::Nil);
        vars.push((var.to_string(), v));
    }
    vars
}

/// Shorthand for building a map value.
pub(crate) fn map_of(entries: Vec<(&str, TValue)>) -> TValue {
    TValue::Map(
        entries
            .into_iter()
            .map(|(k, v)| (k.to_string(), v))
            .collect::<BTreeMap<_, _>>(),
    )
}
