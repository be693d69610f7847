//! One request's writes: appends committed every `batch_rows` rows and at the end, plus
//! the record of malformed lines.

use gnomon_tsdb_core::Result;
use gnomon_tsdb_core::model::{Appender, Labels, Sample};

/// A malformed input line and why it was rejected.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LineError {
    /// 1-based line number in the (decompressed) body.
    pub line: usize,
    /// What is wrong with it.
    pub message: String,
}

/// What one ingest request did.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct IngestReport {
    /// Rows committed.
    pub rows: u64,
    /// Number of malformed lines (all of them, not only those in `errors`).
    pub bad_lines: usize,
    /// The first malformed lines, in input order.
    pub errors: Vec<LineError>,
}

impl IngestReport {
    /// The text of a `400 Bad Request` answer: a summary line, then one line per reported
    /// error (`line N: why`).
    pub fn error_text(&self) -> String {
        let mut s = format!(
            "{} malformed line(s) skipped; {} row(s) from valid lines were stored\n",
            self.bad_lines, self.rows
        );
        for e in &self.errors {
            s.push_str(&format!("line {}: {}\n", e.line, e.message));
        }
        if self.bad_lines > self.errors.len() {
            s.push_str(&format!(
                "... and {} more\n",
                self.bad_lines - self.errors.len()
            ));
        }
        s
    }
}

/// Appends rows through one appender, committing every `limit` rows.
pub(super) struct Batch {
    app: Box<dyn Appender + Send>,
    pending: usize,
    limit: usize,
    max_errors: usize,
    report: IngestReport,
}

impl Batch {
    pub(super) fn new(app: Box<dyn Appender + Send>, limit: usize, max_errors: usize) -> Self {
        Batch {
            app,
            pending: 0,
            limit: limit.max(1),
            max_errors,
            report: IngestReport::default(),
        }
    }

    pub(super) fn append(&mut self, labels: &Labels, sample: Sample) -> Result<()> {
        self.app.append(labels, sample)?;
        self.appended()
    }

    pub(super) fn append_keyed(
        &mut self,
        key: &[u8],
        labels: &mut dyn FnMut() -> Labels,
        sample: Sample,
    ) -> Result<()> {
        self.app.append_keyed(key, labels, sample)?;
        self.appended()
    }

    fn appended(&mut self) -> Result<()> {
        self.pending += 1;
        if self.pending >= self.limit {
            self.commit()?;
        }
        Ok(())
    }

    fn commit(&mut self) -> Result<()> {
        self.app.commit()?;
        self.report.rows += self.pending as u64;
        self.pending = 0;
        Ok(())
    }

    pub(super) fn bad_line(&mut self, line: usize, message: String) {
        self.report.bad_lines += 1;
        if self.report.errors.len() < self.max_errors {
            self.report.errors.push(LineError { line, message });
        }
    }

    /// Commits what is pending and returns the report.
    ///
    /// # Errors
    /// The commit's error; rows of earlier commits stay stored.
    pub(super) fn finish(mut self) -> Result<IngestReport> {
        if self.pending > 0 {
            self.commit()?;
        }
        Ok(self.report)
    }

    /// Rows committed so far.
    pub(super) fn committed(&self) -> u64 {
        self.report.rows
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Records commits: how many rows each one carried.
    #[derive(Default)]
    struct Recorder {
        pending: usize,
        commits: std::sync::Arc<std::sync::Mutex<Vec<usize>>>,
    }

    impl Appender for Recorder {
        fn append(&mut self, _: &Labels, _: Sample) -> Result<()> {
            self.pending += 1;
            Ok(())
        }
        fn commit(&mut self) -> Result<()> {
            self.commits.lock().unwrap().push(self.pending);
            self.pending = 0;
            Ok(())
        }
    }

    #[test]
    fn commits_every_limit_rows_and_at_the_end() {
        let rec = Recorder::default();
        let commits = rec.commits.clone();
        let mut b = Batch::new(Box::new(rec), 3, 1);
        let l = Labels::from_pairs(&[("__name__", "x")]);
        for t in 0..7 {
            b.append(&l, Sample::new(t, 1.0)).unwrap();
        }
        b.bad_line(2, "a".into());
        b.bad_line(5, "b".into());
        assert_eq!(b.committed(), 6);
        let r = b.finish().unwrap();
        assert_eq!(*commits.lock().unwrap(), vec![3, 3, 1]);
        assert_eq!(r.rows, 7);
        assert_eq!(r.bad_lines, 2);
        assert_eq!(
            r.error_text(),
            "2 malformed line(s) skipped; 7 row(s) from valid lines were stored\nline 2: a\n... and 1 more\n"
        );
    }
}
