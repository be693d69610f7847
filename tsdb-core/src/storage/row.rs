//! Rows (one sample of one series id) and the commit record the write-ahead log holds.
//!
//! Commit record layout (all integers LEB128 varints unless noted):
//!
//! ```text
//! ┌──────────┬──────────────┬─────────────────────────────────────────┐
//! │ kind = 1 │ n_series     │ n_series × (series id, len, labels)     │
//! ├──────────┴──────────────┼─────────────────────────────────────────┤
//! │ n_rows                  │ n_rows × (series id, zigzag Δt, value)  │
//! └─────────────────────────┴─────────────────────────────────────────┘
//! ```
//!
//! `labels` is the canonical label encoding; `Δt` is the difference to the previous row's
//! timestamp (the first row's to 0); `value` is the f64 bit pattern, 8 bytes little endian.

use crate::error::{Error, Result};
use crate::model::{Labels, put_uvarint, take_uvarint};

/// One sample of one series id.
#[derive(Clone, Copy, Debug, PartialEq)]
pub(crate) struct Row {
    pub sid: u32,
    pub t: i64,
    pub v: f64,
}

const KIND_COMMIT: u8 = 1;

/// Encodes a commit record: labels of the series ids not yet durable in the catalog, then
/// the rows.
pub(crate) fn encode_commit(series: &[(u32, &[u8])], rows: &[Row], out: &mut Vec<u8>) {
    out.push(KIND_COMMIT);
    put_uvarint(out, series.len() as u64);
    for (sid, labels) in series {
        put_uvarint(out, u64::from(*sid));
        put_uvarint(out, labels.len() as u64);
        out.extend_from_slice(labels);
    }
    put_uvarint(out, rows.len() as u64);
    let mut prev = 0i64;
    for r in rows {
        put_uvarint(out, u64::from(r.sid));
        put_uvarint(out, zigzag(r.t.wrapping_sub(prev)));
        out.extend_from_slice(&r.v.to_bits().to_le_bytes());
        prev = r.t;
    }
}

/// Decodes a commit record, calling `series` for every labelled series id and `row` for
/// every row, in order.
pub(crate) fn decode_commit(
    mut buf: &[u8],
    mut series: impl FnMut(u32, Labels),
    mut row: impl FnMut(Row),
) -> Result<()> {
    let bad = |detail: &str| Error::decode("commit record", detail.to_string());
    let (&kind, rest) = buf.split_first().ok_or_else(|| bad("empty"))?;
    if kind != KIND_COMMIT {
        return Err(bad("unknown record kind"));
    }
    buf = rest;
    let n = take_uvarint(&mut buf)?;
    for _ in 0..n {
        let sid = take_u32(&mut buf)?;
        let len = take_uvarint(&mut buf)? as usize;
        if len > buf.len() {
            return Err(bad("labels longer than the record"));
        }
        let (l, rest) = buf.split_at(len);
        buf = rest;
        series(sid, Labels::decode(l)?);
    }
    let n = take_uvarint(&mut buf)?;
    let mut t = 0i64;
    for _ in 0..n {
        let sid = take_u32(&mut buf)?;
        t = t.wrapping_add(unzigzag(take_uvarint(&mut buf)?));
        let Some((v, rest)) = buf.split_first_chunk::<8>() else {
            return Err(bad("truncated value"));
        };
        buf = rest;
        row(Row {
            sid,
            t,
            v: f64::from_bits(u64::from_le_bytes(*v)),
        });
    }
    if !buf.is_empty() {
        return Err(bad("trailing bytes"));
    }
    Ok(())
}

fn take_u32(buf: &mut &[u8]) -> Result<u32> {
    u32::try_from(take_uvarint(buf)?)
        .map_err(|_| Error::decode("commit record", "series id over u32"))
}

fn zigzag(v: i64) -> u64 {
    ((v << 1) ^ (v >> 63)) as u64
}

fn unzigzag(v: u64) -> i64 {
    ((v >> 1) as i64) ^ -((v & 1) as i64)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::STALE_NAN;

    /// Pins the commit record layout of `docs/format/part.md`.
    #[test]
    fn golden_commit_record() {
        let l = Labels::from_pairs(&[("__name__", "up")]).to_bytes();
        let rows = [
            Row {
                sid: 1,
                t: 1000,
                v: 1.0,
            },
            Row {
                sid: 1,
                t: 900,
                v: 2.0,
            },
        ];
        let mut buf = Vec::new();
        encode_commit(&[(1, &l)], &rows, &mut buf);
        let mut want = vec![1u8, 1, 1, l.len() as u8];
        want.extend_from_slice(&l);
        want.extend_from_slice(&[2, 1, 0xd0, 0x0f]); // 2 rows; sid 1; zigzag(1000)
        want.extend_from_slice(&1.0f64.to_bits().to_le_bytes());
        want.extend_from_slice(&[1, 0xc7, 0x01]); // sid 1; zigzag(-100)
        want.extend_from_slice(&2.0f64.to_bits().to_le_bytes());
        assert_eq!(buf, want);
    }

    #[test]
    fn commit_round_trip() {
        let l = Labels::from_pairs(&[("__name__", "up")]);
        let lb = l.to_bytes();
        let rows = [
            Row {
                sid: 7,
                t: 1000,
                v: 1.5,
            },
            Row {
                sid: 8,
                t: 900,
                v: STALE_NAN,
            },
            Row {
                sid: 7,
                t: -5,
                v: f64::NEG_INFINITY,
            },
        ];
        let mut buf = Vec::new();
        encode_commit(&[(7, &lb)], &rows, &mut buf);
        let mut got_series = Vec::new();
        let mut got_rows = Vec::new();
        decode_commit(&buf, |s, l| got_series.push((s, l)), |r| got_rows.push(r)).unwrap();
        assert_eq!(got_series, vec![(7, l)]);
        assert_eq!(got_rows.len(), 3);
        assert_eq!(got_rows[1].v.to_bits(), STALE_NAN.to_bits());
        assert_eq!(got_rows[2].t, -5);
        // Every truncation is an error, never a panic.
        for cut in 0..buf.len() {
            assert!(
                decode_commit(&buf[..cut], |_, _| {}, |_| {}).is_err(),
                "cut {cut}"
            );
        }
    }
}
