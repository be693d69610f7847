//! gnomon-promql: a PromQL (Prometheus 3.x) and MetricsQL parser with an AST, a type
//! check, a canonical printer and precise errors.
//!
//! | module | what |
//! |---|---|
//! | [`parser`] | [`parse`], [`parse_with`], [`parse_series_selector`], the tree ([`parser::ast`]), the function table ([`parser::functions`]), the type check and the printer |
//! | [`engine`] | the evaluator: [`engine::Engine::instant`] / [`engine::Engine::range`] over any `Querier`, and an in-memory store |
//! | [`error`] | the crate's [`Error`]; parse errors render the query with a caret |
//!
//! ```
//! use gnomon_promql::{parse, parse_series_selector};
//!
//! let e = parse("sum by (job) (rate(http_requests_total{code=~\"5..\"}[5m]))").unwrap();
//! assert_eq!(e.to_string(), "sum by (job) (rate(http_requests_total{code=~\"5..\"}[5m]))");
//!
//! let err = parse("rate(x[5m]").unwrap_err();
//! assert!(err.to_string().contains("expected `,` or `)`"));
//!
//! let m = parse_series_selector("up{job=\"node\"}").unwrap();
//! assert_eq!(m.len(), 2);
//! ```
#![deny(missing_docs)]

pub mod engine;
pub mod error;
pub mod parser;

pub use error::{Error, ParseError, ParseErrorKind, Result};
pub use parser::ast::Expr;
pub use parser::{ParseOptions, parse, parse_series_selector, parse_with};
#[cfg(feature = "http")]
pub mod http;
