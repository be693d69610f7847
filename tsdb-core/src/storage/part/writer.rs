//! Writes a part file: blocks in (series id, time) order, then the block index and the
//! footer; the file appears under its final name only once complete and fsynced.

use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};

use super::file::{FOOTER_SIZE, PART_MAGIC, PART_VERSION, PartInfo};
use super::meta::BlockMeta;
use crate::encoding;
use crate::error::{Error, Result};

/// Most samples in one block. VictoriaMetrics uses 8192 too: large enough that per-block
/// overhead (44-byte meta, codec headers) is < 1 % for 15 s scrapes, small enough that a
/// query for a short window decodes little more than it needs.
pub(crate) const MAX_BLOCK_SAMPLES: usize = 8192;

/// Where a part is written.
enum Sink {
    /// A file under a temporary name, renamed into place by `finish`.
    File {
        out: BufWriter<File>,
        tmp: PathBuf,
        path: PathBuf,
    },
    /// A heap buffer (in-memory parts).
    Mem(Vec<u8>),
}

impl Sink {
    fn write_all(&mut self, b: &[u8]) -> Result<()> {
        match self {
            Sink::File { out, tmp, .. } => out
                .write_all(b)
                .map_err(|e| Error::io("write", tmp.as_path(), e)),
            Sink::Mem(v) => {
                v.extend_from_slice(b);
                Ok(())
            }
        }
    }
}

/// Builds one part, in a file or in memory.
pub(crate) struct PartWriter {
    sink: Sink,
    offset: u64,
    index: Vec<u8>,
    info: PartInfo,
    last: Option<(u32, i64)>,
    buf: Vec<u8>,
}

impl PartWriter {
    /// Starts writing the part that will be named `path`.
    pub fn create(path: &Path) -> Result<PartWriter> {
        let tmp = path.with_extension("tmp");
        let f = File::create(&tmp).map_err(|e| Error::io("create", &tmp, e))?;
        Ok(Self::new(Sink::File {
            out: BufWriter::with_capacity(1 << 20, f),
            tmp,
            path: path.to_path_buf(),
        }))
    }

    /// Starts writing a part in memory; [`PartWriter::finish_in_memory`] returns it.
    pub fn in_memory() -> PartWriter {
        Self::new(Sink::Mem(Vec::new()))
    }

    fn new(sink: Sink) -> PartWriter {
        PartWriter {
            sink,
            offset: 0,
            index: Vec::new(),
            info: PartInfo {
                min_t: i64::MAX,
                max_t: i64::MIN,
                ..PartInfo::default()
            },
            last: None,
            buf: Vec::new(),
        }
    }

    /// Adds samples of series `sid` (timestamps strictly increasing, later than anything
    /// added for `sid` before), split into blocks of at most [`MAX_BLOCK_SAMPLES`].
    pub fn add_samples(&mut self, sid: u32, ts: &[i64], vs: &[f64]) -> Result<()> {
        debug_assert_eq!(ts.len(), vs.len());
        for (tc, vc) in ts
            .chunks(MAX_BLOCK_SAMPLES)
            .zip(vs.chunks(MAX_BLOCK_SAMPLES))
        {
            self.buf.clear();
            encoding::encode_timestamps(tc, &mut self.buf);
            let ts_len = self.buf.len();
            encoding::encode_values(vc, &mut self.buf);
            let meta = BlockMeta {
                sid,
                count: tc.len() as u32,
                min_t: tc[0],
                max_t: tc[tc.len() - 1],
                offset: 0,
                ts_len: ts_len as u32,
                vs_len: (self.buf.len() - ts_len) as u32,
                crc: crc32fast::hash(&self.buf),
            };
            let raw = std::mem::take(&mut self.buf);
            self.add_raw(&meta, &raw)?;
            self.buf = raw;
        }
        Ok(())
    }

    /// Copies an already encoded block (from another part) as it is.
    pub fn add_raw(&mut self, meta: &BlockMeta, raw: &[u8]) -> Result<()> {
        if let Some((sid, max_t)) = self.last
            && (meta.sid < sid || (meta.sid == sid && meta.min_t <= max_t))
        {
            // Only a damaged input part (valid checksums, inconsistent index) gets here.
            return Err(Error::decode(
                "part",
                format!("block of series {} out of order", meta.sid),
            ));
        }
        self.sink.write_all(raw)?;
        let mut m = *meta;
        m.offset = self.offset;
        m.encode(&mut self.index);
        self.offset += raw.len() as u64;
        self.info.blocks += 1;
        self.info.rows += u64::from(m.count);
        self.info.min_t = self.info.min_t.min(m.min_t);
        self.info.max_t = self.info.max_t.max(m.max_t);
        self.last = Some((m.sid, m.max_t));
        Ok(())
    }

    fn footer(&mut self) -> Vec<u8> {
        if self.info.blocks == 0 {
            self.info.min_t = 0;
            self.info.max_t = 0;
        }
        let mut foot = Vec::with_capacity(FOOTER_SIZE);
        foot.extend_from_slice(PART_MAGIC);
        foot.extend_from_slice(&PART_VERSION.to_le_bytes());
        foot.extend_from_slice(&0u32.to_le_bytes());
        foot.extend_from_slice(&self.info.blocks.to_le_bytes());
        foot.extend_from_slice(&self.info.rows.to_le_bytes());
        foot.extend_from_slice(&self.info.min_t.to_le_bytes());
        foot.extend_from_slice(&self.info.max_t.to_le_bytes());
        foot.extend_from_slice(&self.offset.to_le_bytes());
        foot.extend_from_slice(&crc32fast::hash(&self.index).to_le_bytes());
        let crc = crc32fast::hash(&foot);
        foot.extend_from_slice(&crc.to_le_bytes());
        foot
    }

    /// Writes the block index and footer, fsyncs, renames into place and fsyncs the
    /// directory. Returns the part's summary.
    pub fn finish(mut self) -> Result<PartInfo> {
        let foot = self.footer();
        let index = std::mem::take(&mut self.index);
        self.sink.write_all(&index)?;
        self.sink.write_all(&foot)?;
        let Sink::File { out, tmp, path } = self.sink else {
            panic!("BUG: finish called on an in-memory part writer");
        };
        let io = |op, e| Error::io(op, &tmp, e);
        let f = out.into_inner().map_err(|e| io("write", e.into_error()))?;
        f.sync_all().map_err(|e| io("fsync", e))?;
        drop(f);
        std::fs::rename(&tmp, &path).map_err(|e| io("rename", e))?;
        if let Some(dir) = path.parent() {
            crate::fs::sync_dir(dir)?;
        }
        Ok(self.info)
    }

    /// Completes an in-memory part and returns its bytes.
    pub fn finish_in_memory(mut self) -> Vec<u8> {
        let foot = self.footer();
        let index = std::mem::take(&mut self.index);
        let Sink::Mem(mut v) = self.sink else {
            panic!("BUG: finish_in_memory called on a file part writer");
        };
        v.extend_from_slice(&index);
        v.extend_from_slice(&foot);
        v
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::storage::part::FilePart;

    /// Pins the layout of `docs/format/part.md`: payloads, 44-byte index entries, footer.
    #[test]
    fn golden_part_layout() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("0000000000000001.part");
        let mut w = PartWriter::create(&path).unwrap();
        w.add_samples(3, &[1000, 2000], &[1.5, 2.5]).unwrap();
        w.add_samples(9, &[1500], &[-1.0]).unwrap();
        let info = w.finish().unwrap();
        assert_eq!(
            (info.blocks, info.rows, info.min_t, info.max_t),
            (2, 3, 1000, 2000)
        );

        let mut want = Vec::new();
        let mut metas = Vec::new();
        for (sid, ts, vs) in [
            (3u32, &[1000i64, 2000][..], &[1.5f64, 2.5][..]),
            (9, &[1500], &[-1.0]),
        ] {
            let offset = want.len() as u64;
            let mut p = Vec::new();
            encoding::encode_timestamps(ts, &mut p);
            let ts_len = p.len() as u32;
            encoding::encode_values(vs, &mut p);
            want.extend_from_slice(&p);
            metas.extend_from_slice(&sid.to_le_bytes());
            metas.extend_from_slice(&(ts.len() as u32).to_le_bytes());
            metas.extend_from_slice(&ts[0].to_le_bytes());
            metas.extend_from_slice(&ts[ts.len() - 1].to_le_bytes());
            metas.extend_from_slice(&offset.to_le_bytes());
            metas.extend_from_slice(&ts_len.to_le_bytes());
            metas.extend_from_slice(&(p.len() as u32 - ts_len).to_le_bytes());
            metas.extend_from_slice(&crc32fast::hash(&p).to_le_bytes());
        }
        let index_offset = want.len() as u64;
        want.extend_from_slice(&metas);
        let mut foot = b"GNMPART1".to_vec();
        foot.extend_from_slice(&1u32.to_le_bytes());
        foot.extend_from_slice(&0u32.to_le_bytes());
        foot.extend_from_slice(&2u64.to_le_bytes());
        foot.extend_from_slice(&3u64.to_le_bytes());
        foot.extend_from_slice(&1000i64.to_le_bytes());
        foot.extend_from_slice(&2000i64.to_le_bytes());
        foot.extend_from_slice(&index_offset.to_le_bytes());
        foot.extend_from_slice(&crc32fast::hash(&metas).to_le_bytes());
        let crc = crc32fast::hash(&foot);
        foot.extend_from_slice(&crc.to_le_bytes());
        want.extend_from_slice(&foot);
        assert_eq!(std::fs::read(&path).unwrap(), want);

        let part = FilePart::open(&path).unwrap();
        assert_eq!(part.lower_bound(4), 1);
        let (mut ts, mut vs) = (Vec::new(), Vec::new());
        part.decode_block(&part.meta(0), &mut ts, &mut vs).unwrap();
        assert_eq!((ts, vs), (vec![1000, 2000], vec![1.5, 2.5]));
    }

    /// A part truncated anywhere, or with any byte of its index or footer flipped, is
    /// refused at open; a flipped payload byte fails the block's checksum.
    #[test]
    fn damaged_parts_are_refused_not_panicked_on() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("p.part");
        let mut w = PartWriter::create(&path).unwrap();
        w.add_samples(1, &[1, 2, 3], &[1.0, 2.0, 3.0]).unwrap();
        w.finish().unwrap();
        let good = std::fs::read(&path).unwrap();
        let bad = dir.path().join("bad.part");
        for cut in 0..good.len() {
            std::fs::write(&bad, &good[..cut]).unwrap();
            assert!(FilePart::open(&bad).is_err(), "cut {cut}");
        }
        for i in 0..good.len() {
            let mut b = good.clone();
            b[i] ^= 0x40;
            std::fs::write(&bad, &b).unwrap();
            match FilePart::open(&bad) {
                Err(_) => {}
                Ok(p) => {
                    let (mut ts, mut vs) = (Vec::new(), Vec::new());
                    assert!(
                        p.decode_block(&p.meta(0), &mut ts, &mut vs).is_err(),
                        "byte {i}"
                    );
                }
            }
        }
    }
}
