//! The traits producers and consumers of samples meet at.

use super::{Labels, Matcher, Sample, Series, TimeRange};
use crate::error::Result;

/// Writes samples. Nothing is visible to readers, nor durable, before [`Appender::commit`].
pub trait Appender {
    /// Adds one sample of the series `labels`.
    ///
    /// # Errors
    /// Implementation-specific; the storage engine never fails here (errors surface at
    /// commit).
    fn append(&mut self, labels: &Labels, sample: Sample) -> Result<()>;

    /// Adds one sample of a series identified by a caller-chosen raw key (for example the
    /// series text of an exposition line, `up{job="a"}`): the same key must always stand
    /// for the same label set. `labels` is called only when the key is not already known,
    /// so steady-state ingestion neither parses nor sorts labels.
    ///
    /// # Errors
    /// As [`Appender::append`].
    fn append_keyed(
        &mut self,
        key: &[u8],
        labels: &mut dyn FnMut() -> Labels,
        sample: Sample,
    ) -> Result<()> {
        let _ = key;
        let l = labels();
        self.append(&l, sample)
    }

    /// Makes everything appended so far visible and durable as the implementation's
    /// durability contract says, then starts a new batch.
    ///
    /// # Errors
    /// When the batch cannot be persisted; nothing of it is then acknowledged.
    fn commit(&mut self) -> Result<()>;
}

/// Iterator over the series of a select, each with its samples in time order.
pub type SeriesIter = Box<dyn Iterator<Item = Result<Series>> + Send>;

/// Iterator over the series of a [`Querier::select_lazy`].
pub type LazySeriesIter = Box<dyn Iterator<Item = Result<LazySeries>> + Send>;

/// A series of [`Querier::select_lazy`]: its labels now, its samples when
/// [`LazySeries::read`] is called, on whatever thread calls it (a consumer that reads
/// many series in parallel then decodes each where it also uses it).
pub struct LazySeries {
    /// The series' labels, `__name__` included.
    pub labels: Labels,
    read: Box<dyn FnOnce() -> Result<Vec<Sample>> + Send>,
}

impl LazySeries {
    /// A series whose samples `read` returns: in increasing time order, one per
    /// timestamp, and possibly none (the consumer then skips the series).
    pub fn new(
        labels: Labels,
        read: impl FnOnce() -> Result<Vec<Sample>> + Send + 'static,
    ) -> LazySeries {
        LazySeries {
            labels,
            read: Box::new(read),
        }
    }

    /// A series already read.
    pub fn ready(series: Series) -> LazySeries {
        let samples = series.samples;
        LazySeries::new(series.labels, move || Ok(samples))
    }

    /// Reads the samples.
    ///
    /// # Errors
    /// I/O or corruption errors of the underlying store.
    pub fn read(self) -> Result<Series> {
        let samples = (self.read)()?;
        Ok(Series {
            labels: self.labels,
            samples,
        })
    }
}

impl std::fmt::Debug for LazySeries {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LazySeries")
            .field("labels", &self.labels)
            .finish_non_exhaustive()
    }
}

/// Reads series. Every method sees the samples committed before it was called.
///
/// Matchers of one call are ANDed; a series matches when every matcher accepts its value
/// of the label (the empty string for a missing label).
pub trait Querier: Send + Sync {
    /// Series matching `matchers` that have samples in `range`, with those samples.
    /// Series come in label order.
    ///
    /// # Errors
    /// I/O or corruption errors of the underlying store.
    fn select(&self, matchers: &[Matcher], range: TimeRange) -> Result<SeriesIter>;

    /// [`Querier::select`] with each series' samples read only by [`LazySeries::read`];
    /// a series may then turn out to have no samples in `range` (skip it). The default
    /// reads every series in [`Querier::select`] and hands it over already read.
    ///
    /// # Errors
    /// As [`Querier::select`] (reading a series fails the same way).
    fn select_lazy(&self, matchers: &[Matcher], range: TimeRange) -> Result<LazySeriesIter> {
        Ok(Box::new(
            self.select(matchers, range)?
                .map(|r| r.map(LazySeries::ready)),
        ))
    }

    /// Label sets of the series matching `matchers` with samples in `range`, sorted.
    ///
    /// # Errors
    /// As [`Querier::select`].
    fn series(&self, matchers: &[Matcher], range: TimeRange) -> Result<Vec<Labels>>;

    /// Sorted label names of the series matching `matchers` (all series when empty) with
    /// samples in `range`.
    ///
    /// # Errors
    /// As [`Querier::select`].
    fn label_names(&self, matchers: &[Matcher], range: TimeRange) -> Result<Vec<String>>;

    /// Sorted values of label `name` over the series matching `matchers` (all series when
    /// empty) with samples in `range`.
    ///
    /// # Errors
    /// As [`Querier::select`].
    fn label_values(
        &self,
        name: &str,
        matchers: &[Matcher],
        range: TimeRange,
    ) -> Result<Vec<String>>;
}
