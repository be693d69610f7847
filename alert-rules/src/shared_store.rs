//! [`SharedStore`]: an in-memory store that rules can read and write at once (the
//! promql crate's `MemStore` behind a lock), for rule unit tests and embedding.

use std::sync::RwLock;

use gnomon_promql::engine::memstore::MemStore;
use gnomon_tsdb_core::Result;
use gnomon_tsdb_core::model::{Appender, Labels, Matcher, Querier, Sample, SeriesIter, TimeRange};

/// A `MemStore` shared between a querier and appenders.
#[derive(Debug, Default)]
pub struct SharedStore {
    inner: RwLock<MemStore>,
}

impl SharedStore {
    /// An empty store.
    pub fn new() -> SharedStore {
        SharedStore::default()
    }

    /// Adds a sample directly.
    pub fn add(&self, labels: &Labels, s: Sample) {
        self.write(|m| m.add(labels, s));
    }

    /// An appender whose commit makes its samples visible.
    pub fn appender(&self) -> SharedAppender<'_> {
        SharedAppender {
            store: self,
            buf: Vec::new(),
        }
    }

    fn write<T>(&self, f: impl FnOnce(&mut MemStore) -> T) -> T {
        let mut g = self
            .inner
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        f(&mut g)
    }

    fn read<T>(&self, f: impl FnOnce(&MemStore) -> T) -> T {
        let g = self
            .inner
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        f(&g)
    }
}

impl Querier for SharedStore {
    fn select(&self, matchers: &[Matcher], range: TimeRange) -> Result<SeriesIter> {
        // Collected under the lock: the iterator must not hold it.
        let all: Vec<_> =
            self.read(|m| m.select(matchers, range).map(|it| it.collect::<Vec<_>>()))?;
        Ok(Box::new(all.into_iter()))
    }

    fn series(&self, matchers: &[Matcher], range: TimeRange) -> Result<Vec<Labels>> {
        self.read(|m| m.series(matchers, range))
    }

    fn label_names(&self, matchers: &[Matcher], range: TimeRange) -> Result<Vec<String>> {
        self.read(|m| m.label_names(matchers, range))
    }

    fn label_values(
        &self,
        name: &str,
        matchers: &[Matcher],
        range: TimeRange,
    ) -> Result<Vec<String>> {
        self.read(|m| m.label_values(name, matchers, range))
    }
}

/// Buffers samples until [`Appender::commit`].
#[derive(Debug)]
pub struct SharedAppender<'a> {
    store: &'a SharedStore,
    buf: Vec<(Labels, Sample)>,
}

impl Appender for SharedAppender<'_> {
    fn append(&mut self, labels: &Labels, sample: Sample) -> Result<()> {
        self.buf.push((labels.clone(), sample));
        Ok(())
    }

    fn commit(&mut self) -> Result<()> {
        let buf = std::mem::take(&mut self.buf);
        self.store.write(|m| {
            for (l, s) in &buf {
                m.add(l, *s);
            }
        });
        Ok(())
    }
}
