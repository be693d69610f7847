//! Block metadata: the fixed-size entries of a part's block index.

use crate::error::{Error, Result};

/// Size in bytes of one encoded [`BlockMeta`].
pub(crate) const BLOCK_META_SIZE: usize = 44;

/// Where a block is and what it holds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct BlockMeta {
    /// Series id.
    pub sid: u32,
    /// Number of samples.
    pub count: u32,
    /// Smallest timestamp.
    pub min_t: i64,
    /// Largest timestamp.
    pub max_t: i64,
    /// Offset of the timestamps payload in the part's data section.
    pub offset: u64,
    /// Bytes of the timestamps payload.
    pub ts_len: u32,
    /// Bytes of the values payload (right after the timestamps).
    pub vs_len: u32,
    /// crc32 of the timestamps and values payloads.
    pub crc: u32,
}

impl BlockMeta {
    /// Appends the 44-byte little-endian encoding.
    pub fn encode(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(&self.sid.to_le_bytes());
        out.extend_from_slice(&self.count.to_le_bytes());
        out.extend_from_slice(&self.min_t.to_le_bytes());
        out.extend_from_slice(&self.max_t.to_le_bytes());
        out.extend_from_slice(&self.offset.to_le_bytes());
        out.extend_from_slice(&self.ts_len.to_le_bytes());
        out.extend_from_slice(&self.vs_len.to_le_bytes());
        out.extend_from_slice(&self.crc.to_le_bytes());
    }

    /// Decodes one entry; `b` must hold exactly [`BLOCK_META_SIZE`] bytes.
    pub fn decode(b: &[u8]) -> Result<BlockMeta> {
        let b: &[u8; BLOCK_META_SIZE] = b
            .try_into()
            .map_err(|_| Error::decode("block meta", "wrong size"))?;
        let u32_at = |i: usize| u32::from_le_bytes([b[i], b[i + 1], b[i + 2], b[i + 3]]);
        let u64_at = |i: usize| {
            let mut a = [0u8; 8];
            a.copy_from_slice(&b[i..i + 8]);
            u64::from_le_bytes(a)
        };
        Ok(BlockMeta {
            sid: u32_at(0),
            count: u32_at(4),
            min_t: u64_at(8) as i64,
            max_t: u64_at(16) as i64,
            offset: u64_at(24),
            ts_len: u32_at(32),
            vs_len: u32_at(36),
            crc: u32_at(40),
        })
    }

    /// End of the block's payloads in the data section.
    pub fn end(&self) -> u64 {
        self.offset + u64::from(self.ts_len) + u64::from(self.vs_len)
    }
}
