//! The manifest of a partition: the list of its live part and index files, replaced
//! atomically whenever that list changes. Files in the partition not listed are orphans
//! (left by an interrupted flush or merge) and are removed on open.
//!
//! Text format, one entry per line:
//!
//! ```text
//! gnomon-manifest 1
//! part 0000000000000007.part
//! index 0000000000000008.idx
//! crc32 1a2b3c4d
//! ```
//!
//! The last line is the crc32 of everything before it.

use std::path::Path;

use crate::error::{Error, Result};

const HEADER: &str = "gnomon-manifest 1";

/// File name of a partition's manifest.
pub(crate) const MANIFEST: &str = "manifest";

/// Live files of a partition.
#[derive(Debug, Default, PartialEq, Eq)]
pub(crate) struct Manifest {
    pub parts: Vec<String>,
    pub indexes: Vec<String>,
}

impl Manifest {
    pub fn encode(&self) -> Vec<u8> {
        let mut s = format!("{HEADER}\n");
        for p in &self.parts {
            s.push_str(&format!("part {p}\n"));
        }
        for i in &self.indexes {
            s.push_str(&format!("index {i}\n"));
        }
        let crc = crc32fast::hash(s.as_bytes());
        s.push_str(&format!("crc32 {crc:08x}\n"));
        s.into_bytes()
    }

    pub fn decode(path: &Path, b: &[u8]) -> Result<Manifest> {
        let bad = |off: usize, d: &str| Error::corrupt(path, off as u64, "manifest", d.to_string());
        let text = std::str::from_utf8(b).map_err(|e| bad(e.valid_up_to(), "not UTF-8"))?;
        let body_end = text
            .trim_end_matches('\n')
            .rfind('\n')
            .map(|i| i + 1)
            .ok_or_else(|| bad(0, "no checksum line"))?;
        let (body, last) = text.split_at(body_end);
        let crc = last
            .trim()
            .strip_prefix("crc32 ")
            .and_then(|h| u32::from_str_radix(h, 16).ok())
            .ok_or_else(|| bad(body_end, "bad checksum line"))?;
        if crc32fast::hash(body.as_bytes()) != crc {
            return Err(bad(body_end, "checksum mismatch"));
        }
        let mut lines = body.lines();
        if lines.next() != Some(HEADER) {
            return Err(bad(0, "unknown header"));
        }
        let mut m = Manifest::default();
        for line in lines {
            match line.split_once(' ') {
                Some(("part", name)) if valid_name(name) => m.parts.push(name.to_string()),
                Some(("index", name)) if valid_name(name) => m.indexes.push(name.to_string()),
                _ => return Err(bad(0, &format!("bad line {line:?}"))),
            }
        }
        Ok(m)
    }
}

fn valid_name(n: &str) -> bool {
    !n.is_empty()
        && n.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'.' || b == b'_')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_and_golden() {
        let m = Manifest {
            parts: vec!["0000000000000001.part".into()],
            indexes: vec!["0000000000000002.idx".into()],
        };
        let b = m.encode();
        let text = String::from_utf8(b.clone()).unwrap();
        assert!(text.starts_with(
            "gnomon-manifest 1\npart 0000000000000001.part\nindex 0000000000000002.idx\ncrc32 "
        ));
        assert_eq!(Manifest::decode(Path::new("m"), &b).unwrap(), m);
        for cut in 0..b.len() - 1 {
            assert!(
                Manifest::decode(Path::new("m"), &b[..cut]).is_err(),
                "cut {cut}"
            );
        }
    }
}
