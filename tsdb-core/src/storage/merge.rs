//! Merging parts: the policy that picks what to merge (a pure function) and the k-way
//! merge that writes the result.

use roaring::RoaringBitmap;

use super::part::{BlockMeta, FilePart, PartWriter};
use super::row::Row;
use super::samples::{dedup, sort_and_resolve};
use crate::error::Result;

/// A partition keeps at most this many file parts before the policy merges some: enough
/// that fresh small parts are merged in batches (less write amplification), few enough
/// that a query opens few parts.
pub(crate) const MAX_PARTS: usize = 8;

/// Most parts merged at once: bounds the merge's memory (one decoded series per input).
pub(crate) const MAX_MERGE_INPUTS: usize = 8;

/// What to merge: indices into the slice given to [`choose`].
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct Choice(pub Vec<usize>);

/// Picks the parts to merge given their row counts. `force` merges everything (at least
/// two parts). Otherwise, once there are more than [`MAX_PARTS`], the smallest parts are
/// merged (size-tiered: small fresh parts merge together long before big ones are
/// rewritten).
pub(crate) fn choose(rows: &[u64], force: bool) -> Option<Choice> {
    if rows.len() < 2 {
        return None;
    }
    let mut order: Vec<usize> = (0..rows.len()).collect();
    if force {
        return Some(Choice(order));
    }
    if rows.len() <= MAX_PARTS {
        return None;
    }
    order.sort_by_key(|&i| rows[i]);
    order.truncate(MAX_MERGE_INPUTS);
    Some(Choice(order))
}

/// Rules applied while merging.
pub(crate) struct MergeRules<'a> {
    /// Series whose samples are dropped.
    pub deleted: &'a RoaringBitmap,
    /// Samples older than this are dropped (retention).
    pub min_t: i64,
    /// Dedup interval in ms (0: off).
    pub dedup_ms: i64,
}

/// What a merge did.
#[derive(Debug, Default, Clone, Copy)]
pub(crate) struct MergeOutcome {
    pub rows_in: u64,
    pub rows_out: u64,
    pub deleted_rows: u64,
}

/// Merges `parts` and `rows` (sorted by series id then time) into `w`.
pub(crate) fn merge_into(
    w: &mut PartWriter,
    parts: &[&FilePart],
    rows: &[Row],
    rules: &MergeRules<'_>,
) -> Result<MergeOutcome> {
    let mut pos = vec![0usize; parts.len()];
    let mut r = 0usize;
    let mut out = MergeOutcome::default();
    let mut samples: Vec<(i64, f64)> = Vec::new();
    let (mut ts, mut vs) = (Vec::new(), Vec::new());
    let mut metas: Vec<(usize, BlockMeta)> = Vec::new();
    loop {
        // Smallest series id among the cursors.
        let mut sid = rows.get(r).map(|x| x.sid);
        for (i, p) in parts.iter().enumerate() {
            if pos[i] < p.block_count() {
                let s = p.meta(pos[i]).sid;
                sid = Some(sid.map_or(s, |m| m.min(s)));
            }
        }
        let Some(sid) = sid else { break };
        metas.clear();
        for (i, p) in parts.iter().enumerate() {
            while pos[i] < p.block_count() {
                let m = p.meta(pos[i]);
                if m.sid != sid {
                    break;
                }
                metas.push((i, m));
                pos[i] += 1;
            }
        }
        let r0 = r;
        while r < rows.len() && rows[r].sid == sid {
            r += 1;
        }
        let own_rows = &rows[r0..r];
        let n_in =
            metas.iter().map(|(_, m)| u64::from(m.count)).sum::<u64>() + own_rows.len() as u64;
        out.rows_in += n_in;
        if rules.deleted.contains(sid) {
            out.deleted_rows += n_in;
            continue;
        }
        // Fast path: blocks of one part, nothing to re-sort, dedup or cut: copy as they are.
        let single_source = own_rows.is_empty() && metas.iter().all(|(i, _)| *i == metas[0].0);
        if single_source && rules.dedup_ms == 0 && metas.iter().all(|(_, m)| m.min_t >= rules.min_t)
        {
            for (i, m) in &metas {
                match parts[*i].raw_block(m) {
                    Ok(raw) => {
                        w.add_raw(m, raw)?;
                        out.rows_out += u64::from(m.count);
                    }
                    Err(e) => log::warn!("merge skips a damaged block: {e}"),
                }
            }
            continue;
        }
        samples.clear();
        for (i, m) in &metas {
            ts.clear();
            vs.clear();
            match parts[*i].decode_block(m, &mut ts, &mut vs) {
                Ok(()) => samples.extend(ts.iter().copied().zip(vs.iter().copied())),
                Err(e) => log::warn!("merge skips a damaged block: {e}"),
            }
        }
        samples.extend(own_rows.iter().map(|x| (x.t, x.v)));
        sort_and_resolve(&mut samples);
        dedup(&mut samples, rules.dedup_ms);
        samples.retain(|s| s.0 >= rules.min_t);
        if samples.is_empty() {
            continue;
        }
        ts.clear();
        vs.clear();
        ts.extend(samples.iter().map(|s| s.0));
        vs.extend(samples.iter().map(|s| s.1));
        w.add_samples(sid, &ts, &vs)?;
        out.rows_out += samples.len() as u64;
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn policy() {
        assert_eq!(choose(&[5], true), None);
        assert_eq!(choose(&[5, 1], true), Some(Choice(vec![0, 1])));
        assert_eq!(choose(&[1; MAX_PARTS], false), None);
        let rows = [100, 1, 2, 3, 4, 5, 6, 7, 8];
        assert_eq!(
            choose(&rows, false),
            Some(Choice(vec![1, 2, 3, 4, 5, 6, 7, 8]))
        );
    }
}
