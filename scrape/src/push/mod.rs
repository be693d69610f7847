//! Push-protocol codecs: the byte formats clients send samples in (and, for
//! VictoriaMetrics' JSON lines, the format `/api/v1/export` writes).

pub mod vmjson;
