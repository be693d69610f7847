//! Optional zstd pass over a scheme's body.
//!
//! zstd is tried on a body of at least [`ZSTD_MIN_BODY`] bytes and at most
//! [`ZSTD_MAX_TRY_PER_SAMPLE`] bytes per sample, at [`ZSTD_LEVEL`]; the compressed form is
//! kept only when it is at most [`ZSTD_KEEP_RATIO`] of the original. Frames carry
//! neither checksum nor content size (the engine checksums blocks, the decoder bounds
//! the output by `n`).
//!
//! How the bounds were chosen (`encoding::dataset_tests`, bench dataset of 4 hosts x 6 h,
//! 2048 series of 1440 samples, 0.536 B/sample without zstd): with the 1/8 rule, trying
//! every body of 16+ bytes saves 0.0048 B/sample; 128+ bytes still 0.0048 (bodies below
//! never shrink by more than the ~9-byte frame overhead); bodies above 1024 bytes
//! (~0.7 B/sample: bit-packed noise) save only 0.0004 B/sample but are most of the zstd
//! time, which cost 20-30 % of encode throughput. What zstd still finds in between are
//! repeated residual patterns (quantile gauges that step back and forth).

use super::reader::Reader;
use crate::Result;
use std::cell::RefCell;

/// Smallest body worth a zstd attempt (see the module docs for the measurement).
pub(crate) const ZSTD_MIN_BODY: usize = 128;

/// Largest body worth a zstd attempt, in bytes per sample as `(num, den)`: 3/4.
pub(crate) const ZSTD_MAX_TRY_PER_SAMPLE: (usize, usize) = (3, 4);

/// Largest body ever compressed, so that the decoder can bound its output buffer
/// independently of a corrupt `n`. Engine blocks hold at most 8192 samples (bodies of at
/// most ~82 KB), far below this.
pub(crate) const ZSTD_MAX_BODY: usize = 1 << 20;

/// zstd level. Levels 1 and 3 saved the same within 3 % on the bench dataset (level 1
/// slightly more); level 1 encodes faster.
pub(crate) const ZSTD_LEVEL: i32 = 1;

/// Keep the compressed body only when `compressed * DEN <= body * NUM` (saves >= 1/8):
/// a smaller gain does not pay for the decompression on every read.
pub(crate) const ZSTD_KEEP_RATIO: (usize, usize) = (7, 8);

thread_local! {
    static COMPRESSOR: RefCell<Option<zstd::bulk::Compressor<'static>>> = const { RefCell::new(None) };
    static DECOMPRESSOR: RefCell<Option<zstd::bulk::Decompressor<'static>>> = const { RefCell::new(None) };
}

/// Compresses the `body` of a block of `n` samples if that pays; returns the
/// compressed bytes.
pub(crate) fn maybe_compress(body: &[u8], n: usize) -> Option<Vec<u8>> {
    let (num, den) = ZSTD_MAX_TRY_PER_SAMPLE;
    if body.len() < ZSTD_MIN_BODY || body.len() > ZSTD_MAX_BODY || body.len() * den > n * num {
        return None;
    }
    COMPRESSOR.with(|c| {
        let mut c = c.borrow_mut();
        if c.is_none() {
            let mut z = zstd::bulk::Compressor::new(ZSTD_LEVEL).ok()?;
            z.set_parameter(zstd::zstd_safe::CParameter::ContentSizeFlag(false))
                .ok()?;
            z.set_parameter(zstd::zstd_safe::CParameter::ChecksumFlag(false))
                .ok()?;
            *c = Some(z);
        }
        let z = c.as_mut()?;
        let mut dst = Vec::with_capacity(body.len());
        z.compress_to_buffer(body, &mut dst).ok()?;
        let (num, den) = ZSTD_KEEP_RATIO;
        (dst.len() * den <= body.len() * num).then_some(dst)
    })
}

/// Decompresses the rest of `r` into a body of at most `cap` (and [`ZSTD_MAX_BODY`]) bytes.
///
/// # Errors
/// A corrupt frame, or one that decompresses to more than `cap` bytes.
pub(crate) fn decompress(r: &mut Reader<'_>, cap: usize) -> Result<Vec<u8>> {
    let cap = cap.min(ZSTD_MAX_BODY);
    let src = r.rest();
    DECOMPRESSOR.with(|d| {
        let mut d = d.borrow_mut();
        if d.is_none() {
            let z = zstd::bulk::Decompressor::new()
                .map_err(|e| r.error(format_args!("cannot start zstd: {e}")))?;
            *d = Some(z);
        }
        let z = d.as_mut().ok_or_else(|| r.error("zstd unavailable"))?;
        let mut dst = Vec::with_capacity(cap);
        z.decompress_to_buffer(src, &mut dst)
            .map_err(|e| r.error(format_args!("bad zstd frame (limit {cap} bytes): {e}")))?;
        Ok(dst)
    })
}

/// zstd size of `body` at `level` with the frame settings of [`maybe_compress`].
#[cfg(test)]
pub(crate) fn zstd_len(body: &[u8], level: i32) -> usize {
    let mut z = zstd::bulk::Compressor::new(level).unwrap();
    z.set_parameter(zstd::zstd_safe::CParameter::ContentSizeFlag(false))
        .unwrap();
    z.set_parameter(zstd::zstd_safe::CParameter::ChecksumFlag(false))
        .unwrap();
    z.compress(body).unwrap().len()
}
