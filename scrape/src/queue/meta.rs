//! The metadata file (`meta`: head position, acked ids beyond it, queue name) and the ack
//! journal (`acks`: one fixed-size entry per ack since the metadata was last written).

use std::collections::BTreeSet;
use std::path::Path;

use super::error::{QueueError, Result};

/// The first 4 bytes of the metadata file.
pub const META_MAGIC: [u8; 4] = *b"GNPM";
/// The metadata format version.
pub const META_VERSION: u32 = 1;
/// Ids (byte positions) are below this (2^62 bytes, 4 EiB, is never written): a larger
/// head, acked id or segment name can only be damage, and ids near `u64::MAX` would
/// overflow.
pub const MAX_POSITION: u64 = 1 << 62;
/// Bytes of one ack journal entry: `id u64 | crc32(id) u32`.
pub const ACK_ENTRY_BYTES: usize = 12;

/// What the metadata file holds.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Meta {
    /// Every block with an id below this is acked (or dropped).
    pub head: u64,
    /// Acked ids at or above `head` (acks that arrived out of order).
    pub acked: BTreeSet<u64>,
    /// The queue's human name (e.g. a redacted URL).
    pub name: String,
}

impl Meta {
    /// The file bytes: `magic | version | head u64 | n u32 | n × id u64 | name_len u32 |
    /// name | crc32 of everything before`.
    pub fn encode(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(32 + self.acked.len() * 8 + self.name.len());
        out.extend_from_slice(&META_MAGIC);
        out.extend_from_slice(&META_VERSION.to_le_bytes());
        out.extend_from_slice(&self.head.to_le_bytes());
        out.extend_from_slice(&(self.acked.len() as u32).to_le_bytes());
        for id in &self.acked {
            out.extend_from_slice(&id.to_le_bytes());
        }
        out.extend_from_slice(&(self.name.len() as u32).to_le_bytes());
        out.extend_from_slice(self.name.as_bytes());
        let crc = crc32fast::hash(&out);
        out.extend_from_slice(&crc.to_le_bytes());
        out
    }

    /// Decodes the file bytes of `path`.
    ///
    /// # Errors
    ///
    /// [`QueueError::Corrupt`] with the offset and what was expected there.
    pub fn decode(bytes: &[u8], path: &Path) -> Result<Meta> {
        let mut r = Reader {
            bytes,
            pos: 0,
            path,
        };
        if r.take(4, "4-byte magic")? != META_MAGIC {
            return Err(r.fail(0, "magic \"GNPM\""));
        }
        if r.u32("version")? != META_VERSION {
            return Err(r.fail(4, "format version 1"));
        }
        let head = r.u64("head position")?;
        if head >= MAX_POSITION {
            return Err(r.fail(8, "head position below 2^62"));
        }
        let n = r.u32("acked id count")? as usize;
        if n > r.left() / 8 {
            return Err(r.fail(r.pos - 4, "acked id count that fits the file"));
        }
        let mut acked = BTreeSet::new();
        for _ in 0..n {
            let id = r.u64("acked id")?;
            if id >= MAX_POSITION {
                return Err(r.fail(r.pos - 8, "acked id below 2^62"));
            }
            acked.insert(id);
        }
        let name_len = r.u32("name length")? as usize;
        let name = r.take(name_len, "name bytes")?;
        let name = std::str::from_utf8(name)
            .map_err(|_| r.fail(r.pos - name_len, "UTF-8 name"))?
            .to_owned();
        let body_end = r.pos;
        let crc = r.u32("crc32")?;
        if crc != crc32fast::hash(&bytes[..body_end]) {
            return Err(r.fail(body_end, "crc32 of the preceding bytes"));
        }
        if r.left() != 0 {
            return Err(r.fail(r.pos, "end of file"));
        }
        Ok(Meta { head, acked, name })
    }
}

/// A bounds-checked little-endian cursor over the metadata bytes.
struct Reader<'a> {
    bytes: &'a [u8],
    pos: usize,
    path: &'a Path,
}

impl<'a> Reader<'a> {
    fn fail(&self, offset: usize, reason: &'static str) -> QueueError {
        QueueError::Corrupt {
            path: self.path.to_path_buf(),
            offset,
            reason,
        }
    }

    fn left(&self) -> usize {
        self.bytes.len() - self.pos
    }

    fn take(&mut self, n: usize, what: &'static str) -> Result<&'a [u8]> {
        if n > self.left() {
            return Err(self.fail(self.pos, what));
        }
        let s = &self.bytes[self.pos..self.pos + n];
        self.pos += n;
        Ok(s)
    }

    fn u32(&mut self, what: &'static str) -> Result<u32> {
        let s = self.take(4, what)?;
        Ok(u32::from_le_bytes([s[0], s[1], s[2], s[3]]))
    }

    fn u64(&mut self, what: &'static str) -> Result<u64> {
        let s = self.take(8, what)?;
        let mut b = [0u8; 8];
        b.copy_from_slice(s);
        Ok(u64::from_le_bytes(b))
    }
}

/// One ack journal entry.
pub fn encode_ack(id: u64) -> [u8; ACK_ENTRY_BYTES] {
    let mut e = [0u8; ACK_ENTRY_BYTES];
    e[..8].copy_from_slice(&id.to_le_bytes());
    let crc = crc32fast::hash(&e[..8]);
    e[8..].copy_from_slice(&crc.to_le_bytes());
    e
}

/// The acked ids of a journal, in write order. Entries whose checksum does not match
/// (a torn or damaged write), ids from [`MAX_POSITION`] on, and a short tail are skipped.
pub fn decode_acks(bytes: &[u8]) -> Vec<u64> {
    bytes
        .chunks_exact(ACK_ENTRY_BYTES)
        .filter(|e| crc32fast::hash(&e[..8]).to_le_bytes() == e[8..])
        .map(|e| {
            let mut b = [0u8; 8];
            b.copy_from_slice(&e[..8]);
            u64::from_le_bytes(b)
        })
        .filter(|&id| id < MAX_POSITION)
        .collect()
}
