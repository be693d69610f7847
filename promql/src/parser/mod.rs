//! The PromQL/MetricsQL front end: [`parse`], [`parse_with`], [`parse_series_selector`].
//!
//! | module | what |
//! |---|---|
//! | `lexer` | tokens: blanks/comments, identifiers, numbers, durations, strings (nom) |
//! | `grammar` | expressions: operators by precedence, primaries, postfix modifiers |
//! | `selector` | `name{label op "value"}` and matcher checks |
//! | `duration` | duration literals and duration expressions |
//! | `with_templates` | MetricsQL `WITH (…) expr`, expanded while parsing |
//! | [`ast`] | the tree |
//! | [`functions`] | the one function table |
//! | [`typecheck`] | expression types and operand/argument rules |
//! | [`printer`] | canonical `Display` |

pub mod ast;
mod duration;
pub mod functions;
mod grammar;
mod lexer;
pub mod printer;
mod selector;
pub mod typecheck;
mod with_templates;

use gnomon_tsdb_core::model::Matcher;

use crate::error::{ParseError, ParseErrorKind, Result};
use ast::Expr;
use grammar::Parser;
use lexer::{PErr, ws};

/// Default nesting limit: deep enough for any real query (dashboards rarely pass 20).
/// The parser grows its stack on demand, but the printer and `Drop` recurse on the plain
/// stack: on a 2 MiB thread in a debug build they handle 1000 levels
/// (`examples/depthprobe.rs`), so 200 leaves a wide margin.
pub const DEFAULT_MAX_DEPTH: usize = 200;

/// Parser settings.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ParseOptions {
    /// Accept the MetricsQL extensions (default `true`); `false` is Prometheus-strict.
    pub metricsql: bool,
    /// Deepest nesting of parentheses, calls and operators before an error.
    pub max_depth: usize,
}

impl Default for ParseOptions {
    fn default() -> Self {
        ParseOptions {
            metricsql: true,
            max_depth: DEFAULT_MAX_DEPTH,
        }
    }
}

impl ParseOptions {
    /// Prometheus 3.x syntax only (experimental features included).
    pub fn prometheus() -> Self {
        ParseOptions {
            metricsql: false,
            ..ParseOptions::default()
        }
    }
}

fn to_error(input: &str, e: nom::Err<PErr>) -> crate::error::Error {
    let p = match e {
        nom::Err::Error(p) | nom::Err::Failure(p) => p,
        nom::Err::Incomplete(_) => PErr {
            rest: 0,
            len: 0,
            kind: ParseErrorKind::Expected("more input".into()),
        },
    };
    let start = input.len() - p.rest.min(input.len());
    let end = (start + p.len).min(input.len());
    ParseError {
        input: input.to_string(),
        span: start..end,
        kind: p.kind,
    }
    .into()
}

/// Parses a query with the default options (MetricsQL extensions on).
///
/// # Errors
/// [`crate::Error::Parse`] with the span of the problem and what was expected.
pub fn parse(query: &str) -> Result<Expr> {
    parse_with(query, &ParseOptions::default())
}

/// Parses a query with explicit options.
///
/// # Errors
/// [`crate::Error::Parse`] with the span of the problem and what was expected.
pub fn parse_with(query: &str, opts: &ParseOptions) -> Result<Expr> {
    let p = Parser::new(opts);
    p.query(query)
        .map(|(_, e)| e)
        .map_err(|e| to_error(query, e))
}

/// Parses a series selector (`up{job="x"}`, `{__name__=~"a.*"}`), as used by the
/// `match[]` argument of the HTTP API and by relabel `if:` conditions; returns every
/// matcher, the metric name first as `__name__="…"`.
///
/// # Errors
/// [`crate::Error::Parse`] when the text is not exactly one selector without modifiers,
/// or a regex does not compile (span of the regex string).
pub fn parse_series_selector(s: &str) -> Result<Vec<Matcher>> {
    let opts = ParseOptions::default();
    let p = Parser::new(&opts);
    let start = ws(s);
    let r = (|| {
        let (rest, e) = p.query(start)?;
        match e {
            Expr::Vector(v) if v.offset.is_none() && v.at.is_none() && v.modifier.is_none() => {
                Ok(v.all_matchers())
            }
            _ => Err(nom::Err::Failure(PErr::span(
                start,
                start.len() - rest.len(),
                ParseErrorKind::Expected("a series selector".into()),
            ))),
        }
    })();
    r.map_err(|e| to_error(s, e))
}

#[cfg(test)]
mod tests;
