//! gnomon-promql: a PromQL (Prometheus 3.x) and MetricsQL parser with an AST, a type
//! check, a canonical printer and precise errors.
//!
//! | module | what |
//! |---|---|
//! | [`parser`] | [`parse`], [`parse_with`], [`parse_series_selector`], the tree ([`parser::ast`]), the function table ([`parser::functions`]), the type check and the printer |
//! | [`engine`] | the evaluator: [`engine::Engine::instant`] / [`engine::Engine::range`] over any `Querier` (selectors stream in bounded batches), and an in-memory store |
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
//!
//! Evaluating a range query over the tsdb-core storage engine:
//!
//! ```
//! use gnomon_promql::engine::{Engine, Value};
//! use gnomon_tsdb_core::model::{Appender, Labels, Sample};
//! use gnomon_tsdb_core::{Options, Storage};
//!
//! let dir = tempfile::tempdir().unwrap();
//! let storage = Storage::open(dir.path(), Options::default()).unwrap();
//! let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap();
//! let now = now.as_millis() as i64 / 60_000 * 60_000; // ms, on the minute
//! let mut app = storage.appender();
//! let up = Labels::from_pairs(&[("__name__", "requests_total"), ("job", "api")]);
//! for i in 0..=40 {
//!     app.append(&up, Sample::new(now - 600_000 + i * 15_000, (i * 150) as f64)).unwrap();
//! }
//! app.commit().unwrap();
//!
//! let expr = gnomon_promql::parse("sum by (job) (rate(requests_total[1m]))").unwrap();
//! let Value::Matrix(m) = Engine::default().range(&storage, &expr, now - 300_000, now, 60_000).unwrap()
//! else { panic!() };
//! assert_eq!(m[0].labels.get("job"), Some("api"));
//! assert!(m[0].samples.iter().all(|p| (p.v - 10.0).abs() < 1e-9)); // 150 per 15 s
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
