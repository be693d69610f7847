//! Prometheus text (and OpenMetrics, by `Content-Type`) bodies of
//! `/api/v1/import/prometheus`.

use gnomon_tsdb_core::model::{Label, Sample};

use super::batch::Batch;
use super::ingest::append_series;
use crate::textparse::{Entry, Parser, format_from_content_type};

/// Appends every sample of `data`; lines without a timestamp get `default_ts`. Malformed
/// lines are recorded in `batch` and skipped.
pub(super) fn ingest(
    data: &[u8],
    content_type: &str,
    extra: &[Label],
    default_ts: i64,
    batch: &mut Batch,
) -> gnomon_tsdb_core::Result<()> {
    for entry in Parser::new(data, format_from_content_type(content_type)) {
        match entry {
            Ok(Entry::Sample(s)) => {
                let sample = Sample::new(s.timestamp_ms.unwrap_or(default_ts), s.value);
                if s.key_is_raw() {
                    append_series(batch, s.series, extra, &mut || s.labels(), sample)?;
                } else {
                    let labels = super::ingest::with_extra(s.labels(), extra);
                    batch.append(&labels, sample)?;
                }
            }
            Ok(_) => {}
            Err(e) => batch.bad_line(e.line, e.to_string()),
        }
    }
    Ok(())
}
