//! [`MemStore`]: a small in-memory [`Querier`] + [`Appender`] for tests, examples and
//! embedding without a data directory.

use std::collections::{BTreeMap, BTreeSet};

use gnomon_tsdb_core::Result;
use gnomon_tsdb_core::model::{
    Appender, Labels, Matcher, Querier, Sample, Series, SeriesIter, TimeRange,
};

/// Series kept in a sorted map; samples sorted by time, one per timestamp.
#[derive(Clone, Debug, Default)]
pub struct MemStore {
    series: BTreeMap<Labels, Vec<Sample>>,
}

impl MemStore {
    /// An empty store.
    pub fn new() -> MemStore {
        MemStore::default()
    }

    /// Adds a sample; a sample at an existing timestamp replaces it.
    pub fn add(&mut self, labels: &Labels, s: Sample) {
        let v = self.series.entry(labels.clone()).or_default();
        match v.binary_search_by_key(&s.t, |x| x.t) {
            Ok(i) => v[i] = s,
            Err(i) => v.insert(i, s),
        }
    }

    /// Drops every series.
    pub fn clear(&mut self) {
        self.series.clear();
    }

    /// Number of series.
    pub fn len(&self) -> usize {
        self.series.len()
    }

    /// True when the store holds no series.
    pub fn is_empty(&self) -> bool {
        self.series.is_empty()
    }

    fn matching<'a>(
        &'a self,
        matchers: &'a [Matcher],
        range: TimeRange,
    ) -> impl Iterator<Item = (&'a Labels, &'a [Sample])> + 'a {
        self.series.iter().filter_map(move |(l, s)| {
            if !matchers
                .iter()
                .all(|m| m.matches(l.get(&m.name).unwrap_or("")))
            {
                return None;
            }
            let lo = s.partition_point(|x| x.t < range.start);
            let hi = s.partition_point(|x| x.t <= range.end);
            (lo < hi).then(|| (l, &s[lo..hi]))
        })
    }
}

impl Querier for MemStore {
    fn select(&self, matchers: &[Matcher], range: TimeRange) -> Result<SeriesIter> {
        let out: Vec<Result<Series>> = self
            .matching(matchers, range)
            .map(|(l, s)| {
                Ok(Series {
                    labels: l.clone(),
                    samples: s.to_vec(),
                })
            })
            .collect();
        Ok(Box::new(out.into_iter()))
    }

    fn series(&self, matchers: &[Matcher], range: TimeRange) -> Result<Vec<Labels>> {
        Ok(self
            .matching(matchers, range)
            .map(|(l, _)| l.clone())
            .collect())
    }

    fn label_names(&self, matchers: &[Matcher], range: TimeRange) -> Result<Vec<String>> {
        let names: BTreeSet<String> = self
            .matching(matchers, range)
            .flat_map(|(l, _)| l.iter().map(|x| x.name.clone()).collect::<Vec<_>>())
            .collect();
        Ok(names.into_iter().collect())
    }

    fn label_values(
        &self,
        name: &str,
        matchers: &[Matcher],
        range: TimeRange,
    ) -> Result<Vec<String>> {
        let vals: BTreeSet<String> = self
            .matching(matchers, range)
            .filter_map(|(l, _)| l.get(name).map(str::to_string))
            .collect();
        Ok(vals.into_iter().collect())
    }
}

impl Appender for MemStore {
    fn append(&mut self, labels: &Labels, sample: Sample) -> Result<()> {
        self.add(labels, sample);
        Ok(())
    }

    fn commit(&mut self) -> Result<()> {
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn select_filters_by_matchers_and_range() {
        let mut m = MemStore::new();
        let a = Labels::from_pairs(&[("__name__", "a"), ("x", "1")]);
        let b = Labels::from_pairs(&[("__name__", "b")]);
        for t in 0..5 {
            m.add(&a, Sample::new(t * 10, t as f64));
            m.add(&b, Sample::new(t * 10, 0.0));
        }
        m.add(&a, Sample::new(20, 9.0));
        let got: Vec<Series> = m
            .select(&[Matcher::equal("x", "1")], TimeRange::new(15, 30))
            .unwrap()
            .collect::<Result<_>>()
            .unwrap();
        assert_eq!(got.len(), 1);
        assert_eq!(
            got[0].samples,
            vec![Sample::new(20, 9.0), Sample::new(30, 3.0)]
        );
        assert_eq!(
            m.label_values("__name__", &[], TimeRange::ALL).unwrap(),
            vec!["a", "b"]
        );
    }
}
