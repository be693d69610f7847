//! The hash of the `hashmod` action.

use md5::{Digest, Md5};

/// Which hash `hashmod` uses: the two anchors differ, and a user sharding alongside
/// existing Prometheus servers or vmagents needs the same one.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum HashMod {
    /// Prometheus: MD5 of the source value, bytes 8..16 of the digest as a big-endian u64.
    #[default]
    Md5,
    /// VictoriaMetrics: XXH64 (seed 0) of the source value.
    Xxhash,
}

impl HashMod {
    /// `hash(value) % modulus`; `modulus` is never 0 after validation (0 gives 0).
    pub fn apply(self, value: &str, modulus: u64) -> u64 {
        let h = match self {
            HashMod::Md5 => {
                let digest = Md5::digest(value.as_bytes());
                let mut tail = [0u8; 8];
                tail.copy_from_slice(&digest[8..16]);
                u64::from_be_bytes(tail)
            }
            HashMod::Xxhash => xxhash_rust::xxh64::xxh64(value.as_bytes(), 0),
        };
        h.checked_rem(modulus).unwrap_or(0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn md5_tail_matches_prometheus() {
        // md5("foo") = acbd18db4cc2f85c edef654fccc4a4d8: the second half is the hash.
        let digest = Md5::digest(b"foo");
        assert_eq!(
            digest[..8],
            [0xac, 0xbd, 0x18, 0xdb, 0x4c, 0xc2, 0xf8, 0x5c]
        );
        assert_eq!(HashMod::Md5.apply("foo", u64::MAX), 0xedef654fccc4a4d8);
        assert_eq!(HashMod::Md5.apply("foo", 1000), 0xedef654fccc4a4d8 % 1000);
    }

    #[test]
    fn xxhash_is_xxh64_seed_0() {
        // XXH64 of the empty input with seed 0 (the reference value of the xxHash spec).
        assert_eq!(HashMod::Xxhash.apply("", u64::MAX), 0xef46db3751d8e999);
        assert_eq!(HashMod::Xxhash.apply("x", 0), 0);
    }
}
