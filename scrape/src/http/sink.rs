//! Where every pushed series goes on its way to the batch: the request's `extra_label`
//! arguments are applied (they win over the series' own labels), then the relabeling
//! rules; a series the rules drop, or that ends up with no labels, is not stored.

use std::sync::atomic::AtomicU64;

use gnomon_relabel::Relabeler;
use gnomon_tsdb_core::Result;
use gnomon_tsdb_core::model::{Label, Labels, Sample};

use super::IngestCounters;
use super::batch::Batch;

/// Prefix of the raw series keys of remote write, so they never equal the text keys of
/// Prometheus exposition lines (which start with a name character or `{`); Influx keys
/// start with `\xffinflux:`.
pub(super) const BINARY_KEY_PREFIX: &[u8] = b"\xffrw:";

/// One request's path from parsed series to the batch.
pub(super) struct Sink<'a> {
    pub(super) batch: &'a mut Batch,
    extra: &'a [Label],
    relabel: Option<&'a Relabeler>,
    dropped: &'a AtomicU64,
}

impl<'a> Sink<'a> {
    pub(super) fn new(
        batch: &'a mut Batch,
        extra: &'a [Label],
        relabel: Option<&'a Relabeler>,
        dropped: &'a AtomicU64,
    ) -> Self {
        Sink {
            batch,
            extra,
            relabel,
            dropped,
        }
    }

    /// Whether series keep the labels they were sent with (no extra labels, no rules),
    /// so that a raw series key identifies them.
    pub(super) fn keeps_labels(&self) -> bool {
        self.extra.is_empty() && self.relabel.is_none()
    }

    /// The labels to store `labels` under; `None` when the series is dropped.
    pub(super) fn series(&self, labels: Labels) -> Option<Labels> {
        let mut labels = crate::remote::with_extra_labels(labels, self.extra);
        if let Some(r) = self.relabel {
            match r.apply_labels(&labels) {
                Some(l) => labels = l,
                None => {
                    IngestCounters::add(self.dropped, 1);
                    return None;
                }
            }
        }
        (!labels.is_empty()).then_some(labels)
    }

    /// Appends one sample of `labels` (after extra labels and relabeling).
    pub(super) fn append(&mut self, labels: Labels, sample: Sample) -> Result<()> {
        match self.series(labels) {
            Some(l) => self.batch.append(&l, sample),
            None => Ok(()),
        }
    }

    /// Appends samples of one series, using `key` as its series key when the labels are
    /// stored as sent; `labels` is called at most once.
    pub(super) fn append_series(
        &mut self,
        key: Option<&[u8]>,
        labels: &mut dyn FnMut() -> Labels,
        samples: impl Iterator<Item = Sample>,
    ) -> Result<()> {
        if let Some(key) = key.filter(|_| self.keeps_labels()) {
            let mut built: Option<Labels> = None;
            for s in samples {
                self.batch.append_keyed(
                    key,
                    &mut || built.get_or_insert_with(&mut *labels).clone(),
                    s,
                )?;
            }
            return Ok(());
        }
        let Some(l) = self.series(labels()) else {
            return Ok(());
        };
        for s in samples {
            self.batch.append(&l, s)?;
        }
        Ok(())
    }
}
