//! Gorilla-style XOR coding of `f64` bit patterns, for blocks whose values are not
//! decimals (random floats, NaNs mixed in, huge magnitudes).
//!
//! Bit stream, most significant bit first: the first value's 64 bits; then per value the
//! XOR `x` with the previous one: `0` when `x == 0`; `10` + the meaningful bits when they
//! fit the previous window; else `11` + leading-zero count (6 bits) + meaningful-bit
//! count minus one (6 bits) + the meaningful bits. The last byte is zero-padded.

use super::reader::Reader;
use crate::Result;

/// Appends bits most significant first.
struct BitWriter<'a> {
    out: &'a mut Vec<u8>,
    acc: u64,
    used: u32,
}

impl BitWriter<'_> {
    /// Appends the low `n` bits of `v` (`n <= 64`).
    #[inline]
    fn put(&mut self, v: u64, n: u32) {
        if n == 0 {
            return;
        }
        let v = if n == 64 { v } else { v & ((1u64 << n) - 1) };
        let free = 64 - self.used;
        if n < free {
            self.acc |= v << (free - n);
            self.used += n;
        } else {
            let spill = n - free;
            self.acc |= v >> spill;
            self.out.extend_from_slice(&self.acc.to_be_bytes());
            self.acc = if spill == 0 { 0 } else { v << (64 - spill) };
            self.used = spill;
        }
    }

    fn finish(self) {
        let bytes = self.used.div_ceil(8) as usize;
        self.out.extend_from_slice(&self.acc.to_be_bytes()[..bytes]);
    }
}

/// Reads bits most significant first, bounds-checked.
struct BitReader<'a> {
    src: &'a [u8],
    bit: usize,
}

impl BitReader<'_> {
    #[inline]
    fn get(&mut self, n: u32, r: &Reader<'_>) -> Result<u64> {
        let end = self.bit + n as usize;
        if end > self.src.len() * 8 {
            return Err(r.error(format_args!(
                "xor stream ends inside a value (bit {} of {})",
                self.bit,
                self.src.len() * 8
            )));
        }
        if n == 0 {
            return Ok(0);
        }
        let byte = self.bit >> 3;
        let off = (self.bit & 7) as u32;
        let mut v = be_u64_padded(self.src, byte) << off;
        if off + n > 64 {
            v |= u64::from(self.src[byte + 8]) >> (8 - off);
        }
        self.bit = end;
        let v = v >> (64 - n);
        Ok(v)
    }
}

/// The 8 bytes at `at` as a big-endian `u64`, zero-padded past the end of `src`.
#[inline(always)]
fn be_u64_padded(src: &[u8], at: usize) -> u64 {
    match src.get(at..at + 8) {
        Some(w) => u64::from_be_bytes([w[0], w[1], w[2], w[3], w[4], w[5], w[6], w[7]]),
        None => {
            let mut w = [0u8; 8];
            let tail = &src[at.min(src.len())..];
            w[..tail.len()].copy_from_slice(tail);
            u64::from_be_bytes(w)
        }
    }
}

/// Appends the XOR coding of `vs` (at least one value).
pub(crate) fn encode_xor(vs: &[f64], out: &mut Vec<u8>) {
    let mut w = BitWriter {
        out,
        acc: 0,
        used: 0,
    };
    let mut prev = 0u64;
    let (mut lead, mut sig) = (u32::MAX, 0u32);
    for (i, v) in vs.iter().enumerate() {
        let bits = v.to_bits();
        if i == 0 {
            w.put(bits, 64);
            prev = bits;
            continue;
        }
        let x = bits ^ prev;
        prev = bits;
        if x == 0 {
            w.put(0, 1);
            continue;
        }
        let (lz, tz) = (x.leading_zeros(), x.trailing_zeros());
        if lead != u32::MAX && lz >= lead && tz >= 64 - lead - sig {
            w.put(0b10, 2);
            w.put(x >> (64 - lead - sig), sig);
        } else {
            (lead, sig) = (lz, 64 - lz - tz);
            w.put(0b11, 2);
            w.put(u64::from(lz), 6);
            w.put(u64::from(sig - 1), 6);
            w.put(x >> tz, sig);
        }
    }
    w.finish();
}

/// Decodes `n` values (at least one) from the rest of `r`, appending them to `out`.
///
/// # Errors
/// A stream that ends early, a window reference before any window, or trailing bytes.
pub(crate) fn decode_xor(r: &mut Reader<'_>, n: usize, out: &mut Vec<f64>) -> Result<()> {
    let src = r.rest();
    // Every value after the first takes at least one bit.
    if n.saturating_sub(1) / 8 + 8 > src.len() {
        return Err(r.error(format_args!(
            "{n} xor values cannot fit in {} bytes",
            src.len()
        )));
    }
    let mut b = BitReader { src, bit: 0 };
    let mut prev = b.get(64, r)?;
    out.reserve(n);
    out.push(f64::from_bits(prev));
    let (mut lead, mut sig) = (u32::MAX, 0u32);
    for _ in 1..n {
        if b.get(1, r)? == 1 {
            if b.get(1, r)? == 1 {
                lead = b.get(6, r)? as u32;
                sig = b.get(6, r)? as u32 + 1;
                if lead + sig > 64 {
                    return Err(r.error(format_args!(
                        "xor window of {sig} bits after {lead} leading zeros exceeds 64"
                    )));
                }
            } else if lead == u32::MAX {
                return Err(r.error("xor value reuses a window before any was set"));
            }
            prev ^= b.get(sig, r)? << (64 - lead - sig);
        }
        out.push(f64::from_bits(prev));
    }
    if b.bit.div_ceil(8) != src.len() {
        return Err(r.error(format_args!(
            "{} trailing bytes after the xor stream",
            src.len() - b.bit.div_ceil(8)
        )));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn round_trip(vs: &[f64]) -> Vec<u8> {
        let mut out = Vec::new();
        encode_xor(vs, &mut out);
        let mut back = Vec::new();
        let mut r = Reader::new(&out, "values");
        decode_xor(&mut r, vs.len(), &mut back).unwrap();
        let bits = |v: &[f64]| v.iter().map(|x| x.to_bits()).collect::<Vec<_>>();
        assert_eq!(bits(&back), bits(vs));
        out
    }

    #[test]
    fn golden_bytes() {
        // 1.0 = 0x3ff0..., repeat -> '0', then 2.0 = 0x4000...: xor 0x7ff0... -> lz 1,
        // 11 meaningful bits: '11' 000001 001010 11111111111.
        let out = round_trip(&[1.0, 1.0, 2.0]);
        assert_eq!(
            out,
            [
                0x3f,
                0xf0,
                0,
                0,
                0,
                0,
                0,
                0, // first value
                0b0110_0000,
                0b1001_0101,
                0b1111_1111,
                0b1100_0000
            ]
        );
    }

    #[test]
    fn special_values_survive() {
        round_trip(&[
            f64::NAN,
            f64::from_bits(0x7ff0_0000_0000_0002),
            -0.0,
            0.0,
            f64::INFINITY,
            f64::NEG_INFINITY,
            f64::from_bits(1),
            f64::MIN_POSITIVE,
            f64::from_bits(u64::MAX),
        ]);
    }

    #[test]
    fn window_reuse_without_window_is_an_error() {
        let src = [0u8, 0, 0, 0, 0, 0, 0, 0, 0b1000_0000];
        let err = decode_xor(&mut Reader::new(&src, "values"), 2, &mut Vec::new()).unwrap_err();
        assert_eq!(
            err.to_string(),
            "cannot decode values: at byte 9: xor value reuses a window before any was set"
        );
    }
}
