//! Parser of Go `text/template` syntax: text, `{{ … }}` actions with `-` trim markers,
//! comments, pipelines, variables, `if`/`else if`/`range`/`with`/`define`/`template`/
//! `block`. Undefined variables and functions are parse errors, as in Go.

use std::collections::{BTreeMap, BTreeSet};

use super::TemplateError;

/// Deepest nesting of blocks and parentheses: real templates use a handful; the limit
/// keeps recursion far from the stack's end on any thread.
const MAX_NESTING: usize = 100;

/// A node of a template body.
#[derive(Clone, Debug, PartialEq)]
pub(crate) enum Node {
    Text(String),
    Action(Pipe),
    If(Pipe, Vec<Node>, Vec<Node>),
    Range(Pipe, Vec<Node>, Vec<Node>),
    With(Pipe, Vec<Node>, Vec<Node>),
    Template(String, Option<Pipe>),
}

/// `$a, $b := cmd | cmd`.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct Pipe {
    pub line: usize,
    pub decl: Vec<String>,
    pub assign: bool,
    pub cmds: Vec<Vec<Arg>>,
}

/// One operand of a command.
#[derive(Clone, Debug, PartialEq)]
pub(crate) enum Arg {
    /// `.a.b` (empty: dot).
    Field(Vec<String>),
    /// `$x.a.b`.
    Var(String, Vec<String>),
    /// A function name.
    Func(String),
    Str(String),
    Int(i64),
    Float(f64),
    Bool(bool),
    Nil,
    /// `(pipeline).a.b`.
    Sub(Box<Pipe>, Vec<String>),
}

#[derive(Clone, Debug, PartialEq)]
enum Tok {
    Field(Vec<String>),
    Var(String, Vec<String>),
    Ident(String),
    Str(String),
    Num(String),
    Pipe,
    Open,
    Close(Vec<String>),
    Declare,
    Assign,
    Comma,
}

/// Parsed templates: the main body and every `define`.
#[derive(Clone, Debug, Default)]
pub(crate) struct Parsed {
    pub main: Vec<Node>,
    pub defines: BTreeMap<String, Vec<Node>>,
}

/// Parses `text`; `vars` are variables defined before the text (Prometheus' `$labels`…),
/// `funcs` the known function names.
pub(crate) fn parse(
    name: &str,
    text: &str,
    vars: &[&str],
    funcs: &dyn Fn(&str) -> bool,
) -> Result<Parsed, TemplateError> {
    let items = split(name, text)?;
    let mut p = Parser {
        name,
        items,
        pos: 0,
        scopes: vec![
            vars.iter()
                .map(|v| v.to_string())
                .chain(["$".into()])
                .collect(),
        ],
        funcs,
        defines: BTreeMap::new(),
        depth: 0,
    };
    let (main, end) = p.list()?;
    if let Some((kw, line)) = end {
        return Err(p.err(line, format!("unexpected {{{{{kw}}}}}")));
    }
    Ok(Parsed {
        main,
        defines: p.defines,
    })
}

/// A piece of the source: text, or an action's tokens with its line.
enum Item {
    Text(String),
    Action(Vec<Tok>, usize),
}

fn split(name: &str, text: &str) -> Result<Vec<Item>, TemplateError> {
    let mut items = Vec::new();
    let mut rest = text;
    let mut line = 1;
    let mut trim_next = false;
    while !rest.is_empty() {
        let Some(open) = rest.find("{{") else {
            let t = if trim_next { rest.trim_start() } else { rest };
            items.push(Item::Text(t.to_string()));
            break;
        };
        let mut txt = &rest[..open];
        if trim_next {
            txt = txt.trim_start();
        }
        let mut inner = &rest[open + 2..];
        if inner.starts_with("- ") || inner.starts_with("-\t") || inner.starts_with("-\n") {
            txt = txt.trim_end();
            inner = &inner[1..];
        }
        if !txt.is_empty() {
            items.push(Item::Text(txt.to_string()));
        }
        line += rest[..open].matches('\n').count();
        let action_line = line;
        let trimmed = inner.trim_start();
        if trimmed.starts_with("/*") {
            let Some(end) = trimmed.find("*/") else {
                return Err(err_at(name, line, "unclosed comment".into()));
            };
            let after = trimmed[end + 2..].trim_start();
            let (close_len, trim) = if after.starts_with("-}}") {
                (3, true)
            } else if after.starts_with("}}") {
                (2, false)
            } else {
                return Err(err_at(
                    name,
                    line,
                    "comment ends before closing delimiter".into(),
                ));
            };
            let consumed = inner.len() - after.len() + close_len;
            line += inner[..consumed].matches('\n').count();
            trim_next = trim;
            rest = &inner[consumed..];
            continue;
        }
        let (toks, consumed, trim) = lex_action(name, inner, line)?;
        line += inner[..consumed].matches('\n').count();
        items.push(Item::Action(toks, action_line));
        trim_next = trim;
        rest = &inner[consumed..];
    }
    Ok(items)
}

fn err_at(name: &str, line: usize, msg: String) -> TemplateError {
    TemplateError::Parse(format!("template: {name}:{line}: {msg}"))
}

fn ident_char(c: char) -> bool {
    c.is_alphanumeric() || c == '_'
}

/// Lexes one action; returns its tokens, the bytes consumed up to and including the
/// closing delimiter, and whether it ended with `-}}`.
fn lex_action(name: &str, s: &str, line: usize) -> Result<(Vec<Tok>, usize, bool), TemplateError> {
    let b = s.as_bytes();
    let mut i = 0;
    let mut toks = Vec::new();
    let fields = |i: &mut usize| -> Vec<String> {
        let mut out = Vec::new();
        while *i < b.len() && b[*i] == b'.' {
            let start = *i + 1;
            let mut j = start;
            while j < s.len() && s[j..].chars().next().is_some_and(ident_char) {
                j += s[j..].chars().next().map_or(1, char::len_utf8);
            }
            if j == start {
                break;
            }
            out.push(s[start..j].to_string());
            *i = j;
        }
        out
    };
    loop {
        while i < b.len() && (b[i] as char).is_ascii_whitespace() {
            if b[i..].starts_with(b" -}}")
                || b[i..].starts_with(b"\t-}}")
                || b[i..].starts_with(b"\n-}}")
            {
                return Ok((toks, i + 4, true));
            }
            i += 1;
        }
        if i >= b.len() {
            return Err(err_at(name, line, "unclosed action".into()));
        }
        if b[i..].starts_with(b"}}") {
            return Ok((toks, i + 2, false));
        }
        let c = s[i..].chars().next().unwrap_or(' ');
        match c {
            '|' => {
                toks.push(Tok::Pipe);
                i += 1;
            }
            '(' => {
                toks.push(Tok::Open);
                i += 1;
            }
            ')' => {
                i += 1;
                toks.push(Tok::Close(fields(&mut i)));
            }
            ',' => {
                toks.push(Tok::Comma);
                i += 1;
            }
            ':' if b.get(i + 1) == Some(&b'=') => {
                toks.push(Tok::Declare);
                i += 2;
            }
            '=' => {
                toks.push(Tok::Assign);
                i += 1;
            }
            '"' => {
                let (v, n) = lex_quoted(&s[i..])
                    .ok_or_else(|| err_at(name, line, "unterminated quoted string".into()))?;
                toks.push(Tok::Str(v));
                i += n;
            }
            '`' => {
                let end = s[i + 1..]
                    .find('`')
                    .ok_or_else(|| err_at(name, line, "unterminated raw quoted string".into()))?;
                toks.push(Tok::Str(s[i + 1..i + 1 + end].to_string()));
                i += end + 2;
            }
            '.' => {
                let f = fields(&mut i);
                if f.is_empty() {
                    i += 1;
                }
                toks.push(Tok::Field(f));
            }
            '$' => {
                let start = i;
                i += 1;
                while i < s.len() && s[i..].chars().next().is_some_and(ident_char) {
                    i += s[i..].chars().next().map_or(1, char::len_utf8);
                }
                let var = s[start..i].to_string();
                toks.push(Tok::Var(var, fields(&mut i)));
            }
            c if c.is_ascii_digit()
                || ((c == '-' || c == '+')
                    && b.get(i + 1)
                        .is_some_and(|d| d.is_ascii_digit() || *d == b'.')) =>
            {
                let start = i;
                i += 1;
                while i < b.len()
                    && (b[i].is_ascii_alphanumeric()
                        || b[i] == b'.'
                        || ((b[i] == b'-' || b[i] == b'+') && matches!(b[i - 1], b'e' | b'E')))
                {
                    i += 1;
                }
                toks.push(Tok::Num(s[start..i].to_string()));
            }
            c if ident_char(c) => {
                let start = i;
                while i < s.len() && s[i..].chars().next().is_some_and(ident_char) {
                    i += s[i..].chars().next().map_or(1, char::len_utf8);
                }
                toks.push(Tok::Ident(s[start..i].to_string()));
            }
            other => {
                return Err(err_at(
                    name,
                    line,
                    format!("unexpected {other:?} in command"),
                ));
            }
        }
    }
}

/// A Go interpreted string literal at the start of `s`: its value and length.
fn lex_quoted(s: &str) -> Option<(String, usize)> {
    let mut out = String::new();
    let mut chars = s.char_indices().skip(1);
    while let Some((i, c)) = chars.next() {
        match c {
            '"' => return Some((out, i + 1)),
            '\n' => return None,
            '\\' => {
                let (_, e) = chars.next()?;
                match e {
                    'n' => out.push('\n'),
                    't' => out.push('\t'),
                    'r' => out.push('\r'),
                    '\\' => out.push('\\'),
                    '"' => out.push('"'),
                    '\'' => out.push('\''),
                    'a' => out.push('\x07'),
                    'b' => out.push('\x08'),
                    'f' => out.push('\x0c'),
                    'v' => out.push('\x0b'),
                    'x' | 'u' | 'U' => {
                        let n = match e {
                            'x' => 2,
                            'u' => 4,
                            _ => 8,
                        };
                        let hex: String = (0..n)
                            .filter_map(|_| chars.next().map(|(_, c)| c))
                            .collect();
                        out.push(char::from_u32(u32::from_str_radix(&hex, 16).ok()?)?);
                    }
                    _ => return None,
                }
            }
            c => out.push(c),
        }
    }
    None
}

struct Parser<'a> {
    name: &'a str,
    items: Vec<Item>,
    pos: usize,
    scopes: Vec<BTreeSet<String>>,
    depth: usize,
    funcs: &'a dyn Fn(&str) -> bool,
    defines: BTreeMap<String, Vec<Node>>,
}

type End = Option<(String, usize)>;

impl Parser<'_> {
    fn err(&self, line: usize, msg: String) -> TemplateError {
        err_at(self.name, line, msg)
    }

    /// Nodes up to an `{{end}}`/`{{else …}}` (returned with its line) or the end.
    fn list(&mut self) -> Result<(Vec<Node>, End), TemplateError> {
        let mut out = Vec::new();
        while self.pos < self.items.len() {
            let i = self.pos;
            self.pos += 1;
            let (toks, line) = match &self.items[i] {
                Item::Text(t) => {
                    out.push(Node::Text(t.clone()));
                    continue;
                }
                Item::Action(t, l) => (t.clone(), *l),
            };
            match toks.first() {
                None => return Err(self.err(line, "missing value for command".into())),
                Some(Tok::Ident(kw)) if kw == "end" => {
                    return Ok((out, Some(("end".into(), line))));
                }
                Some(Tok::Ident(kw)) if kw == "else" => {
                    // Keep the rest (`else if …`) for the caller.
                    self.items[i] = Item::Action(toks[1..].to_vec(), line);
                    self.pos = i;
                    return Ok((out, Some(("else".into(), line))));
                }
                Some(Tok::Ident(kw)) if matches!(kw.as_str(), "if" | "range" | "with") => {
                    let kw = kw.clone();
                    out.push(self.control(&kw, &toks[1..], line)?);
                }
                Some(Tok::Ident(kw)) if kw == "define" || kw == "block" => {
                    let name = match toks.get(1) {
                        Some(Tok::Str(n)) => n.clone(),
                        _ => return Err(self.err(line, format!("missing name in {kw}"))),
                    };
                    let pipe = if kw == "block" {
                        Some(self.pipe(&toks[2..], line, false)?)
                    } else {
                        None
                    };
                    self.scopes.push(["$".to_string()].into_iter().collect());
                    self.enter(line)?;
                    let listed = self.list();
                    self.depth -= 1;
                    let (body, end) = listed?;
                    self.scopes.pop();
                    self.expect_end(end, kw, line)?;
                    self.defines.insert(name.clone(), body);
                    if kw == "block" {
                        out.push(Node::Template(name, pipe));
                    }
                }
                Some(Tok::Ident(kw)) if kw == "template" => {
                    let name = match toks.get(1) {
                        Some(Tok::Str(n)) => n.clone(),
                        _ => return Err(self.err(line, "missing name in template".into())),
                    };
                    let pipe = if toks.len() > 2 {
                        Some(self.pipe(&toks[2..], line, false)?)
                    } else {
                        None
                    };
                    out.push(Node::Template(name, pipe));
                }
                Some(Tok::Ident(kw)) if matches!(kw.as_str(), "break" | "continue") => {
                    return Err(self.err(line, format!("{{{{{kw}}}}} is not supported")));
                }
                _ => out.push(Node::Action(self.pipe(&toks, line, true)?)),
            }
        }
        Ok((out, None))
    }

    fn expect_end(&self, end: End, kw: &str, line: usize) -> Result<(), TemplateError> {
        match end {
            Some((e, _)) if e == "end" => Ok(()),
            Some((e, l)) => Err(self.err(l, format!("unexpected {{{{{e}}}}} in {kw}"))),
            None => Err(self.err(line, format!("unexpected EOF in {kw}"))),
        }
    }

    fn control(&mut self, kw: &str, toks: &[Tok], line: usize) -> Result<Node, TemplateError> {
        self.enter(line)?;
        let r = self.control_inner(kw, toks, line);
        self.depth -= 1;
        r
    }

    /// Counts one level of nesting; deeper than [`MAX_NESTING`] is an error, so that
    /// hostile input cannot exhaust the stack.
    fn enter(&mut self, line: usize) -> Result<(), TemplateError> {
        if self.depth >= MAX_NESTING {
            return Err(self.err(line, format!("nesting deeper than {MAX_NESTING} levels")));
        }
        self.depth += 1;
        Ok(())
    }

    fn control_inner(
        &mut self,
        kw: &str,
        toks: &[Tok],
        line: usize,
    ) -> Result<Node, TemplateError> {
        self.scopes.push(BTreeSet::new());
        let pipe = self.pipe(toks, line, kw == "range")?;
        let (body, end) = self.list()?;
        self.scopes.pop();
        let mut else_ = Vec::new();
        match end {
            Some((e, eline)) if e == "else" => {
                // `{{else if …}}` / `{{else with …}}`: a nested control ending at our end.
                let chained = match &self.items[self.pos] {
                    Item::Action(t, _) => match t.first() {
                        Some(Tok::Ident(k)) if (k == "if" || k == "with") && k == kw => {
                            Some(t.clone())
                        }
                        _ => None,
                    },
                    Item::Text(_) => None,
                };
                if let Some(t) = chained {
                    self.pos += 1;
                    else_.push(self.control(kw, &t[1..], eline)?);
                } else {
                    if !matches!(&self.items[self.pos], Item::Action(t, _) if t.is_empty()) {
                        return Err(self.err(eline, "unexpected tokens after else".into()));
                    }
                    self.pos += 1;
                    self.scopes.push(BTreeSet::new());
                    let (e, end2) = self.list()?;
                    self.scopes.pop();
                    self.expect_end(end2, kw, line)?;
                    else_ = e;
                }
            }
            other => self.expect_end(other, kw, line)?,
        }
        let node = match kw {
            "if" => Node::If(pipe, body, else_),
            "range" => Node::Range(pipe, body, else_),
            _ => Node::With(pipe, body, else_),
        };
        Ok(node)
    }

    fn declared(&self, v: &str) -> bool {
        self.scopes.iter().any(|s| s.contains(v))
    }

    fn pipe(&mut self, toks: &[Tok], line: usize, allow_two: bool) -> Result<Pipe, TemplateError> {
        let mut decl = Vec::new();
        let mut assign = false;
        let mut rest = toks;
        // `$x :=`, `$x =`, or (range) `$i, $e :=`.
        let decl_len = match toks {
            [Tok::Var(a, f), Tok::Declare | Tok::Assign, ..] if f.is_empty() => {
                decl.push(a.clone());
                assign = toks[1] == Tok::Assign;
                2
            }
            [
                Tok::Var(a, f1),
                Tok::Comma,
                Tok::Var(b, f2),
                Tok::Declare | Tok::Assign,
                ..,
            ] if allow_two && f1.is_empty() && f2.is_empty() => {
                decl.push(a.clone());
                decl.push(b.clone());
                assign = toks[3] == Tok::Assign;
                4
            }
            _ => 0,
        };
        rest = &rest[decl_len..];
        if assign {
            for d in &decl {
                if !self.declared(d) {
                    return Err(self.err(line, format!("undefined variable {d:?}")));
                }
            }
        }
        let mut cmds = Vec::new();
        let mut i = 0;
        while i < rest.len() {
            let (cmd, n) = self.command(&rest[i..], line)?;
            cmds.push(cmd);
            i += n;
            match rest.get(i) {
                Some(Tok::Pipe) => {
                    i += 1;
                    if i == rest.len() {
                        return Err(self.err(line, "missing command after |".into()));
                    }
                }
                None => {}
                Some(t) => return Err(self.err(line, format!("unexpected {t:?} in operand"))),
            }
        }
        if cmds.is_empty() {
            return Err(self.err(line, "missing value for command".into()));
        }
        if !assign && let Some(scope) = self.scopes.last_mut() {
            scope.extend(decl.iter().cloned());
        }
        Ok(Pipe {
            line,
            decl,
            assign,
            cmds,
        })
    }

    /// One command (operands up to `|`, `)` or the end); returns it and tokens used.
    fn command(&mut self, toks: &[Tok], line: usize) -> Result<(Vec<Arg>, usize), TemplateError> {
        let mut args = Vec::new();
        let mut i = 0;
        while i < toks.len() {
            let arg = match &toks[i] {
                Tok::Pipe | Tok::Close(_) => break,
                Tok::Field(f) => Arg::Field(f.clone()),
                Tok::Var(v, f) => {
                    if !self.declared(v) {
                        return Err(self.err(line, format!("undefined variable {v:?}")));
                    }
                    Arg::Var(v.clone(), f.clone())
                }
                Tok::Str(s) => Arg::Str(s.clone()),
                Tok::Num(n) => parse_number(n)
                    .ok_or_else(|| self.err(line, format!("bad number syntax: {n:?}")))?,
                Tok::Ident(id) => match id.as_str() {
                    "true" => Arg::Bool(true),
                    "false" => Arg::Bool(false),
                    "nil" => Arg::Nil,
                    f if (self.funcs)(f) => Arg::Func(f.to_string()),
                    f => return Err(self.err(line, format!("function {f:?} not defined"))),
                },
                Tok::Open => {
                    let depth_end = matching_close(&toks[i..])
                        .ok_or_else(|| self.err(line, "unclosed left paren".into()))?;
                    let inner = &toks[i + 1..i + depth_end];
                    let fields = match &toks[i + depth_end] {
                        Tok::Close(f) => f.clone(),
                        _ => Vec::new(),
                    };
                    self.enter(line)?;
                    let p = self.pipe(inner, line, false);
                    self.depth -= 1;
                    let p = p?;
                    i += depth_end;
                    Arg::Sub(Box::new(p), fields)
                }
                t => return Err(self.err(line, format!("unexpected {t:?} in operand"))),
            };
            args.push(arg);
            i += 1;
        }
        if args.is_empty() {
            return Err(self.err(line, "missing value for command".into()));
        }
        Ok((args, i))
    }
}

/// Index of the `)` closing the `(` at index 0.
fn matching_close(toks: &[Tok]) -> Option<usize> {
    let mut depth = 0usize;
    for (i, t) in toks.iter().enumerate() {
        match t {
            Tok::Open => depth += 1,
            Tok::Close(_) => {
                depth -= 1;
                if depth == 0 {
                    return Some(i);
                }
            }
            _ => {}
        }
    }
    None
}

fn parse_number(n: &str) -> Option<Arg> {
    let clean = n.replace('_', "");
    let (neg, digits) = match clean.strip_prefix('-') {
        Some(d) => (true, d),
        None => (false, clean.strip_prefix('+').unwrap_or(&clean)),
    };
    let int = if let Some(h) = digits
        .strip_prefix("0x")
        .or_else(|| digits.strip_prefix("0X"))
    {
        i64::from_str_radix(h, 16).ok()
    } else {
        digits.parse::<i64>().ok()
    };
    match int {
        Some(v) => Some(Arg::Int(if neg { -v } else { v })),
        None => clean.parse::<f64>().ok().map(Arg::Float),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(text: &str) -> Result<Parsed, TemplateError> {
        parse("t", text, &["$labels"], &|f| {
            f == "printf" || f == "humanize"
        })
    }

    #[test]
    fn actions_and_trim() {
        let t = p("a {{- .x -}} b{{/* c */}}").unwrap();
        assert_eq!(
            t.main,
            vec![
                Node::Text("a".into()),
                Node::Action(Pipe {
                    line: 1,
                    decl: vec![],
                    assign: false,
                    cmds: vec![vec![Arg::Field(vec!["x".into()])]],
                }),
                Node::Text("b".into()),
            ]
        );
    }

    #[test]
    fn undefined_names_are_errors() {
        assert_eq!(
            p("x\n{{ $label.foo }}").unwrap_err().to_string(),
            "template: t:2: undefined variable \"$label\""
        );
        assert_eq!(
            p("{{ nope 1 }}").unwrap_err().to_string(),
            "template: t:1: function \"nope\" not defined"
        );
        assert!(
            p("{{ if 1 }}x")
                .unwrap_err()
                .to_string()
                .contains("unexpected EOF")
        );
        assert!(p("{{ $x := 1 }}{{ $x }}").is_ok());
        assert!(p("{{ if 1 }}{{ $y := 1 }}{{ end }}{{ $y }}").is_err());
    }

    #[test]
    fn deep_nesting_is_an_error() {
        let deep = format!("{{{{ {}1{} }}}}", "(".repeat(5000), ")".repeat(5000));
        assert!(
            p(&deep)
                .unwrap_err()
                .to_string()
                .contains("nesting deeper than 100")
        );
        let defines = "{{ define \"x\" }}".repeat(5000);
        assert!(
            p(&defines)
                .unwrap_err()
                .to_string()
                .contains("nesting deeper than 100")
        );
        let ifs = "{{ if 1 }}".repeat(5000);
        assert!(
            p(&ifs)
                .unwrap_err()
                .to_string()
                .contains("nesting deeper than 100")
        );
    }

    proptest::proptest! {
        #[test]
        fn arbitrary_text_never_panics(s in "\\PC{0,64}", t in "[{}()|$.a-z \"-]{0,64}") {
            let _ = p(&s);
            let _ = p(&format!("{{{{{t}}}}}"));
        }
    }

    #[test]
    fn control_structures() {
        let t = p("{{ if .a }}1{{ else if .b }}2{{ else }}3{{ end }}{{ range $i, $v := .l }}{{ $v }}{{ end }}{{ define \"x\" }}d{{ end }}{{ template \"x\" . }}").unwrap();
        assert_eq!(t.main.len(), 3);
        assert!(matches!(&t.main[0], Node::If(_, _, e) if matches!(&e[0], Node::If(..))));
        assert!(t.defines.contains_key("x"));
        assert!(p("{{ (printf \"%d\" 1).x | humanize }}").is_ok());
    }
}
