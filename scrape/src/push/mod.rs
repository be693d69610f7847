//! Push-protocol codecs: the byte formats clients send samples in (and, for
//! VictoriaMetrics' JSON lines, the format `/api/v1/export` writes).
//!
//! | module | protocol |
//! |---|---|
//! | [`vmjson`] | VictoriaMetrics JSON lines (`/api/v1/import`, `/api/v1/export`) |
//! | [`remote_write`] | Prometheus remote write 1.0 (snappy + protobuf) |
//! | [`influx`] | InfluxDB line protocol |
//! | [`graphite`] | Graphite plaintext, with tags |
//! | [`opentsdb`] | OpenTSDB telnet `put` lines and HTTP `/api/put` JSON |
//! | [`csv`] | CSV with VictoriaMetrics' `format=` column spec |
//!
//! Every parser is pure and never panics: arbitrary bytes give a typed error.

pub mod csv;
pub mod graphite;
pub mod influx;
pub mod opentsdb;
pub mod remote_write;
pub mod vmjson;
