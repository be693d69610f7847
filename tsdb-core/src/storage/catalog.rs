//! The series catalog: the label sets of series ids, persisted at every flush so that the
//! write-ahead log can be truncated.
//!
//! `series/<16 hex digits>.series` files, each written atomically, read in name order:
//!
//! ```text
//! ┌───────────────┬──────────────────────────────────────────┬───────────┐
//! │ "GNMSER01"    │ records: uvarint id, uvarint len, labels │ crc32 u32 │
//! └───────────────┴──────────────────────────────────────────┴───────────┘
//! ```
//!
//! `labels` is the canonical label encoding; the crc32 (little endian) covers everything
//! before it. A damaged file keeps the records that decode before the damage.

use std::path::{Path, PathBuf};

use super::registry::Registry;
use crate::error::{Error, Result};
use crate::fs;
use crate::model::{put_uvarint, take_uvarint};

const MAGIC: &[u8; 8] = b"GNMSER01";
/// Above this many catalog files they are rewritten as one (at open, and when a flush
/// adds one too many): with a flush per second and steady series churn that is one
/// rewrite a minute, each costing one pass over the labels of all series.
const MAX_FILES: usize = 64;

/// Reads and appends catalog files.
pub(crate) struct Catalog {
    dir: PathBuf,
    /// Ids below this are in catalog files.
    persisted_below: u32,
    next_file: u64,
    /// The catalog files, oldest first.
    files: Vec<PathBuf>,
}

impl Catalog {
    /// Loads every catalog file of `dir` into `registry`.
    pub fn open(dir: &Path, registry: &Registry) -> Result<Catalog> {
        fs::create_dir_all_synced(dir)?;
        let mut files = list(dir)?;
        files.sort();
        let mut c = Catalog {
            dir: dir.to_path_buf(),
            persisted_below: 0,
            next_file: 0,
            files: Vec::new(),
        };
        for (n, path) in files {
            c.next_file = c.next_file.max(n + 1);
            let bytes = std::fs::read(&path).map_err(|e| Error::io("read", &path, e))?;
            load_file(&path, &bytes, registry);
            c.files.push(path);
        }
        c.persisted_below = registry.next_id();
        c.compact_if_needed(registry)?;
        Ok(c)
    }

    /// Rewrites every file as one when there are more than [`MAX_FILES`]. The new file is
    /// in place before the old ones go, so a crash in between only leaves duplicates,
    /// which loading tolerates.
    fn compact_if_needed(&mut self, registry: &Registry) -> Result<()> {
        if self.files.len() <= MAX_FILES {
            return Ok(());
        }
        let old = std::mem::take(&mut self.files);
        self.write_file(registry, 0, self.persisted_below)?;
        for p in &old {
            std::fs::remove_file(p).map_err(|e| Error::io("remove", p, e))?;
        }
        fs::sync_dir(&self.dir)
    }

    /// Persists the labels of ids in `[persisted_below, up_to)`.
    pub fn persist(&mut self, registry: &Registry, up_to: u32) -> Result<()> {
        if up_to > self.persisted_below {
            self.write_file(registry, self.persisted_below, up_to)?;
            self.persisted_below = up_to;
            self.compact_if_needed(registry)?;
        }
        Ok(())
    }

    fn write_file(&mut self, registry: &Registry, from: u32, to: u32) -> Result<()> {
        let mut buf = MAGIC.to_vec();
        registry.with_encoded(from..to, |id, enc| {
            put_uvarint(&mut buf, u64::from(id));
            put_uvarint(&mut buf, enc.len() as u64);
            buf.extend_from_slice(enc);
        });
        let crc = crc32fast::hash(&buf);
        buf.extend_from_slice(&crc.to_le_bytes());
        let path = self.dir.join(format!("{:016x}.series", self.next_file));
        self.next_file += 1;
        fs::write_file_atomic(&path, &buf)?;
        self.files.push(path);
        Ok(())
    }

    /// Paths of the catalog files (for snapshots).
    pub fn files(&self) -> &[PathBuf] {
        &self.files
    }
}

fn list(dir: &Path) -> Result<Vec<(u64, PathBuf)>> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir).map_err(|e| Error::io("read dir", dir, e))? {
        let e = e.map_err(|e| Error::io("read dir", dir, e))?;
        let name = e.file_name();
        let Some(stem) = name.to_str().and_then(|n| n.strip_suffix(".series")) else {
            continue;
        };
        if let Ok(n) = u64::from_str_radix(stem, 16) {
            out.push((n, e.path()));
        }
    }
    Ok(out)
}

fn load_file(path: &Path, bytes: &[u8], registry: &Registry) {
    if bytes.len() < MAGIC.len() + 4 || &bytes[..MAGIC.len()] != MAGIC {
        log::warn!("{}: not a series catalog file; ignored", path.display());
        return;
    }
    let (body, crc) = bytes.split_at(bytes.len() - 4);
    let crc_ok = crc32fast::hash(body) == u32::from_le_bytes(crc.try_into().expect("4 bytes"));
    let (mut rest, limit) = if crc_ok {
        (&body[MAGIC.len()..], body.len())
    } else {
        // Damaged: keep every record that still decodes.
        (&bytes[MAGIC.len()..], bytes.len())
    };
    let mut n = 0u64;
    while !rest.is_empty() {
        let off = limit - rest.len();
        let rec = (|| -> Result<(u32, &[u8])> {
            let id = u32::try_from(take_uvarint(&mut rest)?)
                .map_err(|_| Error::decode("series record", "id over u32"))?;
            let len = take_uvarint(&mut rest)? as usize;
            if len > rest.len() {
                return Err(Error::decode("series record", "labels past the end"));
            }
            let (l, r) = rest.split_at(len);
            rest = r;
            crate::model::Labels::decode(l)?;
            Ok((id, l))
        })();
        match rec {
            Ok((id, l)) => {
                registry.insert_known(id, l);
                n += 1;
            }
            Err(e) => {
                log::warn!(
                    "{}: damaged series catalog at offset {off}: {e}; kept {n} records before it",
                    path.display()
                );
                return;
            }
        }
    }
    if !crc_ok {
        log::warn!("{}: checksum mismatch; kept {n} records", path.display());
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::Labels;

    /// Pins the catalog file layout of `docs/format/part.md` and checks that a damaged
    /// file keeps the records before the damage.
    #[test]
    fn golden_file_and_damage() {
        let dir = tempfile::tempdir().unwrap();
        let reg = Registry::new(1024);
        let a = Labels::from_pairs(&[("__name__", "a")]);
        let b = Labels::from_pairs(&[("__name__", "b")]);
        let mut c = Catalog::open(dir.path(), &reg).unwrap();
        let mut key = Vec::new();
        assert_eq!(reg.id_of(&a, &mut key), 0);
        assert_eq!(reg.id_of(&b, &mut key), 1);
        c.persist(&reg, 2).unwrap();
        let path = dir.path().join("0000000000000000.series");
        let bytes = std::fs::read(&path).unwrap();
        let mut want = b"GNMSER01".to_vec();
        for (id, l) in [(0u8, &a), (1, &b)] {
            let enc = l.to_bytes();
            want.extend_from_slice(&[id, enc.len() as u8]);
            want.extend_from_slice(&enc);
        }
        let crc = crc32fast::hash(&want);
        want.extend_from_slice(&crc.to_le_bytes());
        assert_eq!(bytes, want);

        // Past MAX_FILES files they are rewritten as one holding every series.
        for i in 0..MAX_FILES as u32 {
            let l = Labels::from_pairs(&[("__name__", format!("m{i}"))]);
            let id = reg.id_of(&l, &mut key);
            c.persist(&reg, id + 1).unwrap();
        }
        assert_eq!(c.files().len(), 1);
        assert_eq!(list(dir.path()).unwrap().len(), 1);
        let reg3 = Registry::new(1024);
        Catalog::open(dir.path(), &reg3).unwrap();
        assert_eq!(reg3.next_id(), reg.next_id());
        std::fs::remove_file(&c.files()[0]).unwrap();
        std::fs::write(&path, &bytes).unwrap();

        // Cut inside the second record: the first survives.
        std::fs::write(&path, &bytes[..bytes.len() - 8]).unwrap();
        let reg2 = Registry::new(1024);
        Catalog::open(dir.path(), &reg2).unwrap();
        assert_eq!(reg2.labels(0), Some(a));
        assert_eq!(reg2.labels(1), None);
    }
}
