//! Prometheus and VictoriaMetrics relabeling: every action, compiled once, applied
//! cheaply.
//!
//! Module map:
//! - [`config`]: the YAML form of rules ([`RelabelConfig`], [`RelabelConfigs`]).
//! - `compile`: validation, defaults and the compiled [`Relabeler`]; [`finalize`].
//! - `actions`: one function per action.
//! - `regex`: Go RE2 semantics on Rust's `regex`, anchoring, literal fast paths.
//! - `template`: `$1` / `${name}` expansion and `{{label}}` references.
//! - `selector`: VictoriaMetrics `if:` series selectors.
//! - `graphite`: the `graphite` action's match and label templates.
//! - `hash`: the `hashmod` hash ([`HashMod`]); `options`: [`RelabelOptions`].
//!
//! ```
//! use gnomon_relabel::{RelabelConfigs, RelabelOptions, compile};
//! use gnomon_tsdb_core::model::Labels;
//!
//! let configs = RelabelConfigs::from_yaml(r#"
//! - source_labels: [__address__]
//!   regex: '([^:]+):\d+'
//!   target_label: host
//! - action: labeldrop
//!   regex: __address__
//! "#)?;
//! let relabeler = compile(configs.rules(), &RelabelOptions::prometheus())?;
//! let out = relabeler.apply_labels(&Labels::from_pairs(&[("__address__", "db-1:9100")]));
//! assert_eq!(out, Some(Labels::from_pairs(&[("host", "db-1")])));
//! # Ok::<(), gnomon_relabel::Error>(())
//! ```
#![deny(missing_docs)]

mod actions;
mod compile;
pub mod config;
mod error;
mod graphite;
mod hash;
mod options;
mod regex;
mod selector;
mod template;

pub use compile::{Relabeler, compile, finalize};
pub use config::{IfExpr, RegexText, RelabelConfig, RelabelConfigs};
pub use error::{Error, Result};
pub use hash::HashMod;
pub use options::{NameValidation, RelabelOptions};
