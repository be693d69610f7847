//! Graphite plaintext and OpenTSDB telnet lines arriving on raw TCP (or UDP) sockets:
//! the socket handling lives with the binary, this stores runs of complete lines with the
//! same relabeling, limits and counters as the HTTP endpoints.

use std::sync::Arc;

use gnomon_tsdb_core::model::{Label, Labels, METRIC_NAME, Sample};

use super::batch::{Batch, IngestReport};
use super::ingest::now_ms;
use super::sink::Sink;
use super::{AppenderFactory, IngestCounters, IngestOptions, Protocol};
use crate::push::{graphite, opentsdb};

/// A line protocol read from sockets.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum StreamProtocol {
    /// Graphite plaintext (`name;tag=value value timestamp`).
    Graphite,
    /// OpenTSDB telnet (`put metric timestamp value tag=value`).
    OpenTsdb,
}

impl StreamProtocol {
    fn counter(self) -> Protocol {
        match self {
            StreamProtocol::Graphite => Protocol::Graphite,
            StreamProtocol::OpenTsdb => Protocol::OpenTsdb,
        }
    }
}

/// Stores lines from socket connections.
#[derive(Clone)]
pub struct StreamIngest {
    appenders: AppenderFactory,
    counters: Arc<IngestCounters>,
    opts: IngestOptions,
}

impl StreamIngest {
    /// Lines will be written through appenders from `appenders`, counted in `counters`.
    pub fn new(
        appenders: AppenderFactory,
        counters: Arc<IngestCounters>,
        opts: IngestOptions,
    ) -> Self {
        StreamIngest {
            appenders,
            counters,
            opts,
        }
    }

    /// Largest line accepted (`-maxInsertRequestSize`); a connection sending a longer
    /// one should be closed.
    pub fn max_line_bytes(&self) -> usize {
        self.opts.max_body_bytes
    }

    /// Stores every line of `data` (blank lines skipped, malformed ones counted and
    /// reported), committing every `batch_rows` rows and at the end. Blocking: call it
    /// from a blocking thread.
    ///
    /// # Errors
    /// A commit failed; rows of earlier commits stay stored.
    pub fn ingest(
        &self,
        proto: StreamProtocol,
        data: &[u8],
    ) -> gnomon_tsdb_core::Result<IngestReport> {
        let mut batch = Batch::new(
            (self.appenders)(),
            self.opts.batch_rows,
            self.opts.max_reported_errors,
        );
        let now = now_ms();
        let mut sink = Sink::new(
            &mut batch,
            &[],
            self.opts.relabel.as_deref(),
            &self.counters.relabel_dropped,
        );
        let stored =
            data.split(|&b| b == b'\n')
                .enumerate()
                .try_for_each(|(i, line)| match proto {
                    StreamProtocol::Graphite => self.graphite(&mut sink, i + 1, line, now),
                    StreamProtocol::OpenTsdb => opentsdb_line(&mut sink, i + 1, line),
                });
        let committed = batch.committed();
        let rows = self.counters.rows(proto.counter());
        match stored.and_then(|()| batch.finish()) {
            Ok(report) => {
                IngestCounters::add(rows, report.rows);
                IngestCounters::add(&self.counters.bad_lines, report.bad_lines as u64);
                Ok(report)
            }
            Err(e) => {
                IngestCounters::add(rows, committed);
                Err(e)
            }
        }
    }

    fn graphite(
        &self,
        sink: &mut Sink<'_>,
        n: usize,
        line: &[u8],
        now: i64,
    ) -> gnomon_tsdb_core::Result<()> {
        match graphite::parse_line(line) {
            Ok(None) => Ok(()),
            Err(e) => {
                sink.batch.bad_line(n, e.to_string());
                Ok(())
            }
            Ok(Some(l)) => {
                let mut pairs: Vec<Label> =
                    l.tags.iter().map(|(k, v)| Label::new(*k, *v)).collect();
                pairs.push(Label::new(METRIC_NAME, l.name));
                let t = graphite::trim_timestamp(
                    l.timestamp_ms.unwrap_or(now),
                    self.opts.graphite_trim_ms,
                );
                sink.append(Labels::new(pairs), Sample::new(t, l.value))
            }
        }
    }
}

fn opentsdb_line(sink: &mut Sink<'_>, n: usize, line: &[u8]) -> gnomon_tsdb_core::Result<()> {
    match opentsdb::parse_put(line) {
        Ok(None) => Ok(()),
        Err(e) => {
            sink.batch.bad_line(n, e.to_string());
            Ok(())
        }
        Ok(Some(p)) => {
            let mut pairs: Vec<Label> = p.tags.iter().map(|(k, v)| Label::new(*k, *v)).collect();
            pairs.push(Label::new(METRIC_NAME, p.metric));
            let t = p.timestamp_ms.unwrap_or_else(now_ms);
            sink.append(Labels::new(pairs), Sample::new(t, p.value))
        }
    }
}
