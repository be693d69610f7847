//! One remote-write destination: its rules, its pending block and its queue.

use std::sync::Arc;

use gnomon_relabel::finalize;
use gnomon_tsdb_core::model::{Labels, Sample};
use parking_lot::Mutex;

use super::batch::SampleBatch;
use super::cache::RelabelCache;
use super::error::RemoteError;
use super::options::UrlOptions;
use super::stats::{GlobalStats, UrlStats, add};
use crate::push::remote_write::WriteRequestEncoder;
use crate::queue::PersistentQueue;

/// Limits of a pending block.
#[derive(Clone, Copy, Debug)]
pub(crate) struct BlockLimits {
    pub(crate) max_bytes: usize,
    pub(crate) max_rows: usize,
}

/// A destination's state shared by the writers and its senders.
pub(crate) struct Destination {
    pub(crate) opts: UrlOptions,
    /// `N:secret-url` (1-based), the `url` label of its metrics as vmagent shows it.
    pub(crate) label: String,
    pub(crate) stats: UrlStats,
    pub(crate) queue: Arc<PersistentQueue>,
    pub(crate) queue_path: std::path::PathBuf,
    pending: Mutex<Pending>,
    /// Message buffers of closed blocks, reused for the next ones.
    spare: Mutex<Vec<Vec<u8>>>,
    limits: BlockLimits,
}

/// Spare message buffers kept per destination (each up to a block's size).
const MAX_SPARE_BUFFERS: usize = 2;

struct Pending {
    enc: WriteRequestEncoder,
    values: Vec<Sample>,
    relabeled: RelabelCache,
}

impl Destination {
    pub(crate) fn new(
        opts: UrlOptions,
        label: String,
        queue: Arc<PersistentQueue>,
        queue_path: std::path::PathBuf,
        limits: BlockLimits,
    ) -> Destination {
        Destination {
            opts,
            label,
            stats: UrlStats::default(),
            queue,
            queue_path,
            spare: Mutex::new(Vec::new()),
            pending: Mutex::new(Pending {
                enc: WriteRequestEncoder::default(),
                values: Vec::new(),
                relabeled: RelabelCache::new(super::RELABEL_CACHE_ENTRIES),
            }),
            limits,
        }
    }

    /// Adds `batch` to the pending block (after this destination's rules and value
    /// rounding); full blocks go to the queue.
    pub(crate) fn add(&self, batch: &SampleBatch, global: &GlobalStats) -> Result<(), RemoteError> {
        let mut full = Vec::new();
        {
            let mut guard = self.pending.lock();
            let p = &mut *guard;
            for (labels, samples) in batch.iter() {
                let relabeled;
                let labels = match &self.opts.relabel {
                    Some(r) => {
                        let kept = p.relabeled.get_or_insert(labels, |l| {
                            r.apply_labels(l)
                                .map(|l| finalize(&l))
                                .filter(|l| !l.is_empty())
                        });
                        match kept {
                            Some(l) => {
                                relabeled = l;
                                &relabeled
                            }
                            None => {
                                add(&self.stats.relabel_dropped, samples.len() as u64);
                                continue;
                            }
                        }
                    }
                    None => labels,
                };
                let samples = self.round(samples, &mut p.values);
                for chunk in samples.chunks(self.limits.max_rows.max(1)) {
                    p.enc.push(labels.as_slice(), chunk);
                    add(&self.stats.rows_pushed_after_relabel, chunk.len() as u64);
                    if p.enc.samples() >= self.limits.max_rows
                        || p.enc.len() >= self.limits.max_bytes
                    {
                        let spare = self.spare.lock().pop().unwrap_or_default();
                        full.push((p.enc.samples(), p.enc.replace(spare)));
                    }
                }
            }
        }
        for (rows, msg) in full {
            self.enqueue(rows, msg, global)?;
        }
        Ok(())
    }

    /// Closes the pending block, if any, into the queue.
    pub(crate) fn flush(&self, global: &GlobalStats) -> Result<(), RemoteError> {
        let (rows, msg) = {
            let mut p = self.pending.lock();
            if p.enc.is_empty() {
                return Ok(());
            }
            let spare = self.spare.lock().pop().unwrap_or_default();
            (p.enc.samples(), p.enc.replace(spare))
        };
        self.enqueue(rows, msg, global)
    }

    /// Compresses `msg` into the queue; its buffer goes back to the spares.
    fn enqueue(&self, rows: usize, msg: Vec<u8>, global: &GlobalStats) -> Result<(), RemoteError> {
        let block = snap::raw::Encoder::new()
            .compress_vec(&msg)
            .map_err(|e| RemoteError::Compress(e.to_string()));
        {
            let mut spare = self.spare.lock();
            if spare.len() < MAX_SPARE_BUFFERS {
                spare.push(msg);
            }
        }
        let block = block?;
        add(&global.blocks, 1);
        add(&global.block_rows, rows as u64);
        add(&global.block_bytes, block.len() as u64);
        self.queue.push(&block)?;
        Ok(())
    }

    /// `samples` with their values rounded as configured (into `buf`), or themselves.
    fn round<'a>(&self, samples: &'a [Sample], buf: &'a mut Vec<Sample>) -> &'a [Sample] {
        if self.opts.round_digits.is_none() && self.opts.significant_figures.is_none() {
            return samples;
        }
        buf.clear();
        buf.extend(samples.iter().map(|s| {
            let mut v = s.v;
            if let Some(d) = self.opts.round_digits {
                v = round_digits(v, d);
            }
            if let Some(n) = self.opts.significant_figures {
                v = significant_figures(v, n);
            }
            Sample::new(s.t, v)
        }));
        buf
    }
}

/// `v` rounded to `digits` decimal digits after the point (negative: before it); 100 or
/// more leaves it as it is, as in vmagent. Staleness markers and infinities pass.
pub fn round_digits(v: f64, digits: i32) -> f64 {
    if !v.is_finite() || digits >= 100 {
        return v;
    }
    let p = 10f64.powi(digits);
    let r = (v * p).round() / p;
    if r.is_finite() { r } else { v }
}

/// `v` with `n` significant figures; 0 keeps every figure. Staleness markers and
/// infinities pass.
pub fn significant_figures(v: f64, n: u32) -> f64 {
    if n == 0 || !v.is_finite() || v == 0.0 {
        return v;
    }
    let e = v.abs().log10().floor() as i32;
    let shift = i32::try_from(n)
        .unwrap_or(i32::MAX)
        .saturating_sub(1)
        .saturating_sub(e);
    let p = 10f64.powi(shift);
    let r = (v * p).round() / p;
    if r.is_finite() { r } else { v }
}

/// `labels` with `extra` set on it, each replacing a label of the same name (the
/// `extra_label` query argument, `-remoteWrite.label`).
pub(crate) fn with_extra_labels(
    labels: Labels,
    extra: &[gnomon_tsdb_core::model::Label],
) -> Labels {
    if extra.is_empty() {
        return labels;
    }
    let mut b = labels.builder();
    for x in extra {
        b.set(&x.name, &x.value);
    }
    b.build()
}

/// Labels after the process-wide stage: extra labels set (replacing same-named ones),
/// then the global rules; `None` when dropped.
pub(crate) fn global_labels(
    labels: &Labels,
    extra: &[gnomon_tsdb_core::model::Label],
    relabel: Option<&gnomon_relabel::Relabeler>,
) -> Option<Labels> {
    let mut l = with_extra_labels(labels.clone(), extra);
    if let Some(r) = relabel {
        l = finalize(&r.apply_labels(&l)?);
    }
    (!l.is_empty()).then_some(l)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rounding_as_vmagent_documents() {
        assert_eq!(round_digits(1.236, 2), 1.24);
        assert_eq!(round_digits(126.78, -1), 130.0);
        assert_eq!(round_digits(126.78, 100), 126.78);
        assert!(round_digits(f64::NAN, 2).is_nan());
        assert_eq!(significant_figures(123_456.0, 3), 123_000.0);
        assert_eq!(significant_figures(0.012_345, 2), 0.012);
        assert_eq!(significant_figures(-987.6, 1), -1000.0);
        assert_eq!(significant_figures(5.5, 0), 5.5);
        assert_eq!(significant_figures(0.0, 3), 0.0);
        let stale = gnomon_tsdb_core::model::STALE_NAN;
        assert_eq!(significant_figures(stale, 2).to_bits(), stale.to_bits());
    }
}
