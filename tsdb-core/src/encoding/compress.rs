//! Optional zstd pass over a scheme's body.
//!
//! A body of at least [`ZSTD_MIN_BODY`] bytes is compressed at [`ZSTD_LEVEL`]; the
//! compressed form is kept only when it is at most [`ZSTD_KEEP_RATIO`] of the original.
//! Frames carry neither checksum nor content size (the block is checksummed by the
//! engine, the decoder bounds the output by `n`).

use super::reader::Reader;
use crate::Result;
use std::cell::RefCell;

/// Smallest body worth a zstd attempt. Measured on the shared bench dataset (4 hosts,
/// 6 h, one block per series; see `encoding::dataset_tests`): bodies below ~64 bytes
/// never shrank by more than the frame overhead (~9 bytes), and trying costs ~2 µs.
pub(crate) const ZSTD_MIN_BODY: usize = 64;

/// Largest body ever compressed, so that the decoder can bound its output buffer
/// independently of a corrupt `n`. Engine blocks hold at most 8192 samples (bodies of at
/// most ~82 KB), far below this.
pub(crate) const ZSTD_MAX_BODY: usize = 1 << 20;

/// zstd level. Level 1 and 3 gave the same sizes within 0.3 % on the bench dataset;
/// level 1 encodes faster.
pub(crate) const ZSTD_LEVEL: i32 = 1;

/// Keep the compressed body only when `compressed * DEN <= body * NUM` (saves >= 1/8):
/// a smaller gain does not pay for the decompression on every read.
pub(crate) const ZSTD_KEEP_RATIO: (usize, usize) = (7, 8);

thread_local! {
    static COMPRESSOR: RefCell<Option<zstd::bulk::Compressor<'static>>> = const { RefCell::new(None) };
    static DECOMPRESSOR: RefCell<Option<zstd::bulk::Decompressor<'static>>> = const { RefCell::new(None) };
}

/// Compresses `body` if that pays; returns the compressed bytes.
pub(crate) fn maybe_compress(body: &[u8]) -> Option<Vec<u8>> {
    if body.len() < ZSTD_MIN_BODY || body.len() > ZSTD_MAX_BODY {
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
