//! Deleted series ids, persisted in `deleted.bin`: a portable roaring bitmap followed by
//! its crc32 (little endian), replaced atomically.

use std::path::{Path, PathBuf};

use roaring::RoaringBitmap;

use crate::error::{Error, Result};
use crate::fs;

/// File name of the tombstones inside the data directory.
pub(crate) const FILE: &str = "deleted.bin";

/// Loads the tombstones; a missing file is an empty set, a damaged one is logged and
/// treated as empty (deleted series may then reappear; nothing is lost).
pub(crate) fn load(dir: &Path) -> Result<RoaringBitmap> {
    let path = dir.join(FILE);
    let bytes = match std::fs::read(&path) {
        Ok(b) => b,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(RoaringBitmap::new()),
        Err(e) => return Err(Error::io("read", path, e)),
    };
    match decode(&bytes) {
        Some(b) => Ok(b),
        None => {
            log::warn!("{}: damaged tombstones ignored", path.display());
            Ok(RoaringBitmap::new())
        }
    }
}

fn decode(bytes: &[u8]) -> Option<RoaringBitmap> {
    let (body, crc) = bytes.split_last_chunk::<4>()?;
    (crc32fast::hash(body) == u32::from_le_bytes(*crc))
        .then(|| RoaringBitmap::deserialize_from(body).ok())
        .flatten()
}

/// Persists `set` atomically.
pub(crate) fn store(dir: &Path, set: &RoaringBitmap) -> Result<PathBuf> {
    let mut buf = Vec::with_capacity(set.serialized_size() + 4);
    set.serialize_into(&mut buf)
        .expect("BUG: writing to a Vec cannot fail");
    let crc = crc32fast::hash(&buf);
    buf.extend_from_slice(&crc.to_le_bytes());
    let path = dir.join(FILE);
    fs::write_file_atomic(&path, &buf)?;
    Ok(path)
}
