//! Samples on their way to the remote-write client, grouped by series.

use gnomon_tsdb_core::model::{Labels, Sample};

/// Series and their samples, in arrival order; consecutive samples of one label set
/// share a series entry (one remote-write `TimeSeries`).
#[derive(Clone, Debug, Default)]
pub struct SampleBatch {
    series: Vec<(Labels, usize, usize)>,
    samples: Vec<Sample>,
}

impl SampleBatch {
    /// An empty batch.
    pub fn new() -> SampleBatch {
        SampleBatch::default()
    }

    /// Adds one sample; it joins the last series when the labels are the same.
    pub fn push(&mut self, labels: &Labels, sample: Sample) {
        let at = self.samples.len();
        self.samples.push(sample);
        match self.series.last_mut() {
            Some((l, _, end)) if *end == at && l == labels => *end += 1,
            _ => self.series.push((labels.clone(), at, at + 1)),
        }
    }

    /// Adds samples of one series.
    pub fn push_series(&mut self, labels: Labels, samples: &[Sample]) {
        if samples.is_empty() {
            return;
        }
        let at = self.samples.len();
        self.samples.extend_from_slice(samples);
        self.series.push((labels, at, at + samples.len()));
    }

    /// Number of samples.
    pub fn len(&self) -> usize {
        self.samples.len()
    }

    /// Whether there is no sample.
    pub fn is_empty(&self) -> bool {
        self.samples.is_empty()
    }

    /// Forgets everything, keeping the buffers.
    pub fn clear(&mut self) {
        self.series.clear();
        self.samples.clear();
    }

    /// The series with their samples.
    pub fn iter(&self) -> impl Iterator<Item = (&Labels, &[Sample])> {
        self.series
            .iter()
            .map(|(l, start, end)| (l, &self.samples[*start..*end]))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn consecutive_samples_of_one_series_group() {
        let a = Labels::from_pairs(&[("__name__", "a")]);
        let b = Labels::from_pairs(&[("__name__", "b")]);
        let mut batch = SampleBatch::new();
        batch.push(&a, Sample::new(1, 1.0));
        batch.push(&a, Sample::new(2, 2.0));
        batch.push(&b, Sample::new(1, 3.0));
        batch.push(&a, Sample::new(3, 4.0));
        batch.push_series(b.clone(), &[]);
        let got: Vec<(String, Vec<i64>)> = batch
            .iter()
            .map(|(l, s)| (l.to_string(), s.iter().map(|s| s.t).collect()))
            .collect();
        assert_eq!(
            got,
            vec![
                (r#"{__name__="a"}"#.to_owned(), vec![1, 2]),
                (r#"{__name__="b"}"#.to_owned(), vec![1]),
                (r#"{__name__="a"}"#.to_owned(), vec![3]),
            ]
        );
        assert_eq!(batch.len(), 4);
        batch.clear();
        assert!(batch.is_empty());
    }
}
