//! Prometheus scraping and push ingestion for Gnomon: exposition-format parsers, scrape
//! configs, service discovery, scrape loops, push protocols and remote write.
//!
//! Module map:
//!
//! | module | what it holds |
//! |---|---|
//! | [`client`] | `reqwest` clients and auth headers built from HTTP client settings |
//! | [`config`] | Prometheus-compatible scrape config YAML: jobs, HTTP client settings, SD configs |
//! | [`discovery`] | service discovery: static, file, HTTP, DNS and Kubernetes; the discovery manager |
//! | [`push`] | push-protocol codecs: VictoriaMetrics JSON lines, remote write, Influx, Graphite, OpenTSDB, CSV |
//! | [`queue`] | the remote-write client's disk-backed block queue: segments, acks, recovery, size bound |
//! | `http` (feature `http`) | ingest and push routers (`/api/v1/import*`, `/api/v1/write`, Influx, OpenTSDB, CSV), export, `/federate`, socket-line ingestion |
//! | [`remote`] | the remote-write client: relabeling per destination, blocks, on-disk queues, senders with retries |
//! | [`scrape`] | scrape loops: fetch, relabel, limits, report series, staleness, target status |
//! | [`target`] | scrape targets from discovered labels (Prometheus' `PopulateLabels`) |
//! | [`textparse`] | Prometheus text 0.0.4 and OpenMetrics 1.0 parsers (zero-copy, line/column errors) |
//!
//! ```
//! use gnomon_scrape::textparse::{Entry, Parser, format_from_content_type};
//!
//! let format = format_from_content_type("application/openmetrics-text; version=1.0.0");
//! let body = b"# TYPE c counter\nc_total 3 # {trace_id=\"a\"} 1\nc_created 1700000000\n# EOF\n";
//! let samples: Vec<_> = Parser::new(body, format)
//!     .filter_map(|e| match e.expect("valid") {
//!         Entry::Sample(s) => Some(s),
//!         _ => None,
//!     })
//!     .collect();
//! assert_eq!(samples.len(), 1);
//! assert_eq!(samples[0].start_timestamp_ms, Some(1_700_000_000_000));
//! assert_eq!(samples[0].exemplars[0].labels.get("trace_id"), Some("a"));
//! ```
#![deny(missing_docs)]

pub mod client;
pub mod config;
pub mod discovery;
#[cfg(feature = "http")]
pub mod http;
pub mod push;
pub mod queue;
pub mod remote;
pub mod scrape;
pub mod target;
pub mod textparse;
