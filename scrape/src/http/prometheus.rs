//! Prometheus text (and OpenMetrics, by `Content-Type`) bodies of
//! `/api/v1/import/prometheus`.

use gnomon_tsdb_core::model::Sample;

use super::sink::Sink;
use crate::textparse::{Entry, Parser, format_from_content_type};

/// Appends every sample of `data`; lines without a timestamp get `default_ts`. Malformed
/// lines are recorded in the sink's batch and skipped.
pub(super) fn ingest(
    data: &[u8],
    content_type: &str,
    default_ts: i64,
    lines_before: usize,
    sink: &mut Sink<'_>,
) -> gnomon_tsdb_core::Result<()> {
    for entry in Parser::new(data, format_from_content_type(content_type)) {
        match entry {
            Ok(Entry::Sample(s)) => {
                let sample = Sample::new(s.timestamp_ms.unwrap_or(default_ts), s.value);
                let key = s.key_is_raw().then_some(s.series);
                sink.append_series(key, &mut || s.labels(), std::iter::once(sample))?;
            }
            Ok(_) => {}
            Err(e) => sink.batch.bad_line(
                lines_before + e.line,
                format!("column {}: {}", e.column, e.kind),
            ),
        }
    }
    Ok(())
}
