//! The pieces of Gnomon's example binaries: VictoriaMetrics-style flags, a logger in
//! VictoriaMetrics' line format, TLS, basic auth, the admin and `/metrics` endpoints and
//! the HTTP accept loop. The `gnomon` binary (`src/bin/gnomon.rs`) wires them to the
//! storage engine and the routers of `gnomon-scrape` and `gnomon-promql`.
//!
//! Module map:
//! - [`agent`], [`agent_config`]: `gnomon-agent` (vmagent-compatible collection with remote write);
//! - [`cli`]: the shared `main` steps: flags to configuration, runtime, exit code;
//! - [`flags`]: flag table, parser, `-help` text, VictoriaMetrics value syntaxes;
//! - [`config`]: the server's flags and the configuration built from them;
//! - [`logger`]: `log` facade backend;
//! - [`tls`]: rustls server configuration from PEM files;
//! - [`auth`]: basic-auth middleware;
//! - [`admin`]: delete_series, snapshots, force flush/merge, health;
//! - [`metrics`]: `/metrics` rendering and request counting;
//! - [`listeners`]: push settings, Graphite and OpenTSDB socket listeners;
//! - [`search`]: the `-search.*` flags as query limits and the result cache;
//! - [`serve`]: accept loop with graceful shutdown;
//! - [`scraping`]: `-promscrape.config`, reloads and the targets pages;
//! - [`alert_remote`]: `gnomon-alert`, rules against a remote datasource;
//! - [`rules`]: recording/alerting rules in the server (flags, manager, API, reload);
//! - [`rule_tool`]: `gnomon-tool check rules` / `test rules`;
//! - [`server`]: the whole server assembled, for the binary and for embedding;
//! - [`ui`]: the embedded web UI at `/vmui/`.

#![deny(missing_docs)]

pub mod admin;
pub mod agent;
pub mod agent_config;
pub mod alert_remote;
pub mod auth;
pub mod cli;
pub mod config;
pub mod flags;
pub mod listeners;
pub mod logger;
pub mod metrics;
pub mod rule_tool;
pub mod rules;
pub mod scraping;
pub mod search;
pub mod serve;
pub mod server;
pub mod tls;
pub mod ui;
