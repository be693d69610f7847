//! Checking stored bytes without opening a storage: every block of a part, a WAL commit
//! record. Used by fuzz targets and by tools that verify a data directory.

use super::part::FilePart;
use super::row::decode_commit;
use crate::error::{Error, Result};
use crate::model::Labels;

/// What a valid part holds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PartSummary {
    /// Number of blocks.
    pub blocks: u64,
    /// Number of samples.
    pub rows: u64,
    /// Smallest timestamp (0 for an empty part).
    pub min_t: i64,
    /// Largest timestamp (0 for an empty part).
    pub max_t: i64,
}

/// Validates the bytes of a part file (`docs/format/part.md`): footer, block index, and
/// every block's checksum, decoding and ordering.
///
/// # Errors
/// [`Error::Corrupt`] or [`Error::Decode`] describing the first problem found.
pub fn verify_part(bytes: Vec<u8>) -> Result<PartSummary> {
    let part = FilePart::from_vec("part".into(), bytes)?;
    let (mut ts, mut vs) = (Vec::new(), Vec::new());
    let mut last: Option<(u32, i64)> = None;
    let mut rows = 0u64;
    for i in 0..part.block_count() {
        let m = part.meta(i);
        if let Some((sid, max_t)) = last
            && (m.sid < sid || (m.sid == sid && m.min_t <= max_t))
        {
            return Err(Error::decode("part", format!("block {i} out of order")));
        }
        ts.clear();
        vs.clear();
        part.decode_block(&m, &mut ts, &mut vs)?;
        if ts.first() != Some(&m.min_t) || ts.last() != Some(&m.max_t) {
            return Err(Error::decode(
                "part",
                format!("block {i}: time range does not match its samples"),
            ));
        }
        rows += u64::from(m.count);
        last = Some((m.sid, m.max_t));
    }
    let info = part.info();
    if rows != info.rows {
        return Err(Error::decode("part", "row count does not match the footer"));
    }
    Ok(PartSummary {
        blocks: info.blocks,
        rows,
        min_t: info.min_t,
        max_t: info.max_t,
    })
}

/// A decoded write-ahead-log commit record.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct CommitRecord {
    /// Series ids whose labels the record carries.
    pub series: Vec<(u32, Labels)>,
    /// Rows: series id, timestamp (ms), value.
    pub rows: Vec<(u32, i64, f64)>,
}

/// Decodes a write-ahead-log commit record.
///
/// # Errors
/// [`Error::Decode`] for malformed bytes.
pub fn decode_commit_record(bytes: &[u8]) -> Result<CommitRecord> {
    let mut rec = CommitRecord::default();
    decode_commit(
        bytes,
        |s, l| rec.series.push((s, l)),
        |r| rec.rows.push((r.sid, r.t, r.v)),
    )?;
    Ok(rec)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::storage::part::PartWriter;
    use proptest::prelude::*;

    fn sample_part() -> Vec<u8> {
        let mut w = PartWriter::in_memory();
        w.add_samples(1, &[10, 20, 30], &[1.0, 2.0, 3.5]).unwrap();
        w.add_samples(4, &[15], &[f64::NAN]).unwrap();
        w.finish_in_memory()
    }

    #[test]
    fn valid_part_verifies() {
        let s = verify_part(sample_part()).unwrap();
        assert_eq!((s.blocks, s.rows, s.min_t, s.max_t), (2, 4, 10, 30));
    }

    proptest! {
        #[test]
        fn damaged_parts_never_panic(flips in proptest::collection::vec((any::<usize>(), any::<u8>()), 1..4), cut in any::<usize>()) {
            let mut b = sample_part();
            for (i, x) in flips {
                let n = b.len();
                b[i % n] ^= x;
            }
            let n = b.len();
            b.truncate(cut % (n + 1));
            let _ = verify_part(b);
        }

        #[test]
        fn arbitrary_commit_records_never_panic(b in proptest::collection::vec(any::<u8>(), 0..256)) {
            let _ = decode_commit_record(&b);
        }
    }
}
