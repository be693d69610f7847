//! Snapshots: hard links of the immutable files under `snapshots/<name>/`, laid out like
//! a data directory (copy one to `-storageDataPath` to restore it).

use std::path::PathBuf;
use std::time::{SystemTime, UNIX_EPOCH};

use super::Inner;
use super::calendar::compact_datetime;
use super::engine::now_ms;
use crate::error::{Error, Result};
use crate::fs;

const DIR: &str = "snapshots";

impl Inner {
    fn snapshots_dir(&self) -> PathBuf {
        self.path.join(DIR)
    }

    /// Flushes, then links every live file into a new snapshot; returns its name.
    pub(crate) fn create_snapshot(&self) -> Result<String> {
        self.flush()?;
        let nanos = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos() as u64);
        let name = format!("{}-{nanos:016X}", compact_datetime(now_ms()));
        let dst = self.snapshots_dir().join(&name);
        let tmp = self.snapshots_dir().join(format!("{name}.tmp"));
        fs::create_dir_all_synced(&tmp)?;
        {
            let _g = self.file_removal.write();
            for p in self.partitions.read().values() {
                let st = p.state.read();
                let pdst = tmp.join("partitions").join(&p.name);
                for rel in p.live_files_locked(&st) {
                    link(&p.dir.join(&rel), &pdst.join(&rel))?;
                }
            }
            for f in self.catalog.lock().files() {
                let name = f.file_name().map(PathBuf::from).unwrap_or_default();
                link(f, &tmp.join("series").join(name))?;
            }
            let deleted = self.path.join(super::tombstones::FILE);
            if deleted.exists() {
                link(&deleted, &tmp.join(super::tombstones::FILE))?;
            }
        }
        std::fs::rename(&tmp, &dst).map_err(|e| Error::io("rename", &tmp, e))?;
        fs::sync_dir(&self.snapshots_dir())?;
        log::info!("created snapshot {name}");
        Ok(name)
    }

    /// Snapshot names, oldest first.
    pub(crate) fn list_snapshots(&self) -> Result<Vec<String>> {
        let dir = self.snapshots_dir();
        let rd = match std::fs::read_dir(&dir) {
            Ok(rd) => rd,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
            Err(e) => return Err(Error::io("read dir", dir, e)),
        };
        let mut names = Vec::new();
        for e in rd {
            let e = e.map_err(|e| Error::io("read dir", &dir, e))?;
            if let Ok(n) = e.file_name().into_string()
                && valid_name(&n)
            {
                names.push(n);
            }
        }
        names.sort();
        Ok(names)
    }

    /// Deletes the snapshot `name`.
    pub(crate) fn delete_snapshot(&self, name: &str) -> Result<()> {
        if !valid_name(name) || !self.list_snapshots()?.iter().any(|n| n == name) {
            return Err(Error::SnapshotNotFound {
                name: name.to_string(),
            });
        }
        fs::remove_dir_all_synced(&self.snapshots_dir().join(name))
    }
}

/// `YYYYMMDDhhmmss-HEX`: guards against path tricks in names that come from HTTP.
fn valid_name(n: &str) -> bool {
    let Some((date, hex)) = n.split_once('-') else {
        return false;
    };
    date.len() == 14
        && date.bytes().all(|b| b.is_ascii_digit())
        && !hex.is_empty()
        && hex.bytes().all(|b| b.is_ascii_hexdigit())
}

fn link(src: &std::path::Path, dst: &std::path::Path) -> Result<()> {
    if let Some(parent) = dst.parent() {
        std::fs::create_dir_all(parent).map_err(|e| Error::io("create dir", parent, e))?;
    }
    std::fs::hard_link(src, dst).map_err(|e| Error::io("hard link", dst, e))
}

#[cfg(test)]
mod tests {
    #[test]
    fn snapshot_names_are_checked() {
        assert!(super::valid_name("20240101000000-17A2B3C4D5E6F708"));
        assert!(!super::valid_name("../x"));
        assert!(!super::valid_name("20240101000000-../../etc"));
    }
}
