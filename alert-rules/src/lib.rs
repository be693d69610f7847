//! gnomon-alert-rules: Prometheus recording and alerting rules.
//!
//! | module | what |
//! |---|---|
//! | [`rulefmt`] | rule files: YAML layout, strict decoding, promtool's validation and error texts |
//! | [`files`] | reading several files and globs |
//! | [`lint`] | promtool's duplicate-rule lint |
//! | [`rule`] | recording and alerting rules: evaluation, the alert state machine, `ALERTS` series |
//! | [`alert`] | one alert and its state |
//! | [`group`] | a group: ordered evaluation, staleness markers, health, aligned evaluation times |
//! | [`shared_store`] | an in-memory store rules read and write (unit tests, embedding) |
//! | [`template`] | Go `text/template` with Prometheus' functions, for labels and annotations |
//! | [`unittest`] | rule unit tests (`promtool test rules`) |
//! | [`manager`] | loads files, runs groups on their schedule, restores state, reloads |
//! | [`restore`] | `for` state restored from `ALERTS_FOR_STATE` after a restart |
//! | [`notifier`] | Alertmanager API v2 client with a bounded queue and retries |
//! | [`timefmt`] | RFC 3339 times |
//! | `http` (feature `http`) | `/api/v1/rules` and `/api/v1/alerts` handlers |
//! | [`duration`] | Prometheus durations (`1h30m`) |
//! | [`names`] | label and metric name validity (UTF-8 or legacy) |
//! | [`error`] | the crate's [`Error`] |
//!
//! ```
//! use gnomon_alert_rules::rulefmt::{ParseOptions, parse_rules};
//!
//! let text = "groups:\n- name: g\n  rules:\n  - alert: Down\n    expr: up == 0\n    for: 5m\n";
//! let groups = parse_rules(text, &ParseOptions::default()).unwrap();
//! assert_eq!(groups.groups[0].rules[0].for_, 300_000);
//!
//! let bad = "groups:\n- name: g\n  rules:\n  - record: x\n";
//! let errs = parse_rules(bad, &ParseOptions::default()).unwrap_err();
//! assert_eq!(errs[0].to_string(), "0:0: group \"g\", rule 1, \"x\": field 'expr' must be set in rule");
//! ```
#![deny(missing_docs)]

pub mod alert;
pub mod duration;
pub mod error;
pub mod files;
pub mod group;
#[cfg(feature = "http")]
pub mod http;
pub mod lint;
mod locate;
pub mod manager;
pub mod names;
pub mod notifier;
pub mod restore;
pub mod rule;
pub mod rulefmt;
pub mod shared_store;
pub mod template;
pub mod timefmt;
pub mod unittest;

pub use error::{Error, Result};
pub use locate::Pos;
