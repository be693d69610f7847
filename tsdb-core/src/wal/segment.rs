//! Segment files: names (`<16 hex digits seq>`), creation, and the scan of a WAL
//! directory that finds the segments and sets damaged headers aside.

use std::collections::BTreeMap;
use std::fs::{self, File, OpenOptions};
use std::io::{self, Read, Write};
use std::path::{Path, PathBuf};

use super::format::{self, SEGMENT_HEADER_LEN};
use crate::error::{Error, Result};
use crate::fs::sync_dir;

/// Suffix given to a segment whose header is damaged, so it is kept for inspection but
/// never read again.
pub(crate) const CORRUPT_SUFFIX: &str = ".corrupt";

/// File name of segment `seq`.
pub(crate) fn segment_name(seq: u64) -> String {
    format!("{seq:016x}")
}

/// The sequence number of a segment file name, `None` for any other name.
pub(crate) fn parse_segment_name(name: &str) -> Option<u64> {
    let is_hex = name.len() == 16 && name.bytes().all(|b| b.is_ascii_hexdigit());
    if !is_hex {
        return None;
    }
    u64::from_str_radix(name, 16).ok()
}

/// The segments found in a WAL directory.
#[derive(Debug, Default)]
pub(crate) struct Scan {
    /// Readable segments: seq → size in bytes.
    pub(crate) segments: BTreeMap<u64, u64>,
    /// The highest seq seen, counting segments set aside: new segments go after it.
    pub(crate) max_seq: Option<u64>,
}

/// Lists the segments of `dir`, checking each header. A segment with a damaged header is
/// renamed `<name>.corrupt` (an empty one, left by a crash right after its creation, is
/// removed) with a warning. Other files are left alone.
pub(crate) fn scan_dir(dir: &Path) -> Result<Scan> {
    let mut scan = Scan::default();
    let entries = fs::read_dir(dir).map_err(|e| Error::io("list directory", dir, e))?;
    let mut changed = false;
    for entry in entries {
        let entry = entry.map_err(|e| Error::io("list directory", dir, e))?;
        let name = entry.file_name();
        let name = name.to_string_lossy();
        let seq = parse_segment_name(&name).or_else(|| {
            name.strip_suffix(CORRUPT_SUFFIX)
                .and_then(parse_segment_name)
        });
        let Some(seq) = seq else { continue };
        scan.max_seq = scan.max_seq.max(Some(seq));
        if name.ends_with(CORRUPT_SUFFIX) || !entry.file_type().is_ok_and(|t| t.is_file()) {
            continue;
        }
        let path = entry.path();
        match read_header(&path)? {
            (len, Ok(())) => {
                scan.segments.insert(seq, len);
            }
            (0, Err(_)) => {
                log::warn!("WAL: removing empty segment {}", path.display());
                fs::remove_file(&path).map_err(|e| Error::io("remove", &path, e))?;
                changed = true;
            }
            (_, Err(bad)) => {
                set_aside(&path, &bad)?;
                changed = true;
            }
        }
    }
    if changed {
        sync_dir(dir)?;
    }
    Ok(scan)
}

/// The size of the segment at `path` and whether its header is acceptable.
fn read_header(path: &Path) -> Result<(u64, Result<(), format::BadHeader>)> {
    let file = File::open(path).map_err(|e| Error::io("open", path, e))?;
    let len = file
        .metadata()
        .map_err(|e| Error::io("stat", path, e))?
        .len();
    let mut header = Vec::with_capacity(SEGMENT_HEADER_LEN as usize);
    file.take(SEGMENT_HEADER_LEN)
        .read_to_end(&mut header)
        .map_err(|e| Error::io("read", path, e))?;
    Ok((len, format::check_segment_header(&header)))
}

/// Renames a segment with a damaged header to `<name>.corrupt`.
fn set_aside(path: &Path, bad: &format::BadHeader) -> Result<()> {
    let mut aside = path.as_os_str().to_owned();
    aside.push(CORRUPT_SUFFIX);
    let aside = PathBuf::from(aside);
    log::warn!(
        "WAL: segment {} has a bad header ({bad}); renamed to {}",
        path.display(),
        aside.display()
    );
    fs::rename(path, &aside).map_err(|e| Error::io("rename corrupt segment", path, e))
}

/// Creates segment `seq` in `dir` holding only its header, durably (file and directory
/// fsynced). Returns the open file and its path.
pub(crate) fn create_segment(dir: &Path, seq: u64) -> Result<(File, PathBuf)> {
    let path = dir.join(segment_name(seq));
    let mut file = OpenOptions::new()
        .read(true)
        .write(true)
        .create_new(true)
        .open(&path)
        .map_err(|e| Error::io("create segment", &path, e))?;
    file.write_all(&format::segment_header())
        .map_err(|e| Error::io("write", &path, e))?;
    file.sync_all().map_err(|e| Error::io("fsync", &path, e))?;
    sync_dir(dir)?;
    Ok((file, path))
}

/// Removes segment file `path`; a missing file is not an error.
pub(crate) fn remove_segment(path: &Path) -> Result<()> {
    match fs::remove_file(path) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(Error::io("remove segment", path, e)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip_and_others_are_ignored() {
        assert_eq!(segment_name(0x2a), "000000000000002a");
        assert_eq!(parse_segment_name("000000000000002a"), Some(0x2a));
        assert_eq!(parse_segment_name("ffffffffffffffff"), Some(u64::MAX));
        assert_eq!(parse_segment_name("000000000000002a.tmp"), None);
        assert_eq!(parse_segment_name("+00000000000002a"), None);
        assert_eq!(parse_segment_name("flock.lock"), None);
    }

    #[test]
    fn scan_sets_aside_bad_headers_and_ignores_other_files() {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        let (_, good) = create_segment(d, 3).unwrap();
        fs::write(d.join(segment_name(5)), b"NOPE\x01\0\0\0records").unwrap();
        fs::write(d.join(segment_name(6)), b"").unwrap();
        fs::write(d.join("notes.txt"), b"keep me").unwrap();
        fs::write(d.join(format!("{}.corrupt", segment_name(9))), b"old").unwrap();

        let scan = scan_dir(d).unwrap();
        assert_eq!(scan.segments, BTreeMap::from([(3, SEGMENT_HEADER_LEN)]));
        assert_eq!(scan.max_seq, Some(9));
        assert!(good.exists());
        assert_eq!(
            fs::read(d.join("0000000000000005.corrupt")).unwrap(),
            b"NOPE\x01\0\0\0records"
        );
        assert!(!d.join(segment_name(5)).exists());
        assert!(!d.join(segment_name(6)).exists());
        assert_eq!(fs::read(d.join("notes.txt")).unwrap(), b"keep me");
    }
}
