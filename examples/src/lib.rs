//! The pieces of Gnomon's example binaries: VictoriaMetrics-style flags, a logger in
//! VictoriaMetrics' line format, TLS, basic auth, the admin and `/metrics` endpoints and
//! the HTTP accept loop. The `gnomon` binary (`src/bin/gnomon.rs`) wires them to the
//! storage engine and the routers of `gnomon-scrape` and `gnomon-promql`.
//!
//! Module map:
//! - [`flags`]: flag table, parser, `-help` text, VictoriaMetrics value syntaxes;
//! - [`config`]: the server's flags and the configuration built from them;
//! - [`logger`]: `log` facade backend;
//! - [`tls`]: rustls server configuration from PEM files;
//! - [`auth`]: basic-auth middleware;
//! - [`admin`]: delete_series, snapshots, force flush/merge, health;
//! - [`metrics`]: `/metrics` rendering and request counting;
//! - [`serve`]: accept loop with graceful shutdown;
//! - [`scraping`]: `-promscrape.config`, reloads and the targets pages;
//! - [`server`]: the whole server assembled, for the binary and for embedding.

#![deny(missing_docs)]

pub mod admin;
pub mod auth;
pub mod config;
pub mod flags;
pub mod logger;
pub mod metrics;
pub mod scraping;
pub mod serve;
pub mod server;
pub mod tls;
