//! Compression codecs for the sample blocks of one series.
//!
//! A block of `n` samples is stored as two payloads, one for timestamps and one for
//! values; `n` itself lives in the block header written by the engine. Every payload
//! starts with a scheme byte, so the encoder can pick, per block, whatever is smallest:
//!
//! - timestamps ([`encode_timestamps`]): constant step, or the integer-sequence codec
//!   (delta / delta-of-delta / third difference, divided by the common GCD, bit-packed
//!   or varints);
//! - values ([`encode_values`]): constants, decimals (`m / 10^k` with one scale per
//!   block, bit-exact, mantissas through the same integer codec), Gorilla XOR, raw;
//! - either may be wrapped in zstd when that saves at least 1/8 of a body of 128 bytes
//!   to 0.75 bytes per sample (see `compress.rs` for the measurement behind the bounds).
//!
//! Byte layouts are drawn in `docs/format/block-encoding.md` and pinned by golden tests.
//!
//! ```
//! use gnomon_tsdb_core::encoding::{decode_timestamps, decode_values, encode_timestamps, encode_values};
//! let ts: Vec<i64> = (0..1440).map(|i| 1_704_067_200_000 + 15_000 * i).collect();
//! let vs: Vec<f64> = (0..1440).map(|i| 1000.0 + f64::from(i) * 0.25).collect();
//! let (mut tb, mut vb) = (Vec::new(), Vec::new());
//! encode_timestamps(&ts, &mut tb);
//! encode_values(&vs, &mut vb);
//! assert!(tb.len() + vb.len() < 32);
//! let (mut ts2, mut vs2) = (Vec::new(), Vec::new());
//! decode_timestamps(&tb, ts.len(), &mut ts2)?;
//! decode_values(&vb, vs.len(), &mut vs2)?;
//! assert_eq!((ts, vs), (ts2, vs2));
//! # Ok::<(), gnomon_tsdb_core::Error>(())
//! ```

mod bitpack;
mod compress;
mod decimal;
mod ints;
mod reader;
mod timestamps;
mod values;
mod xor;

#[cfg(test)]
mod dataset_tests;
#[cfg(test)]
mod proptests;

pub use timestamps::{decode_timestamps, encode_timestamps};
pub use values::{decode_values, decode_values_window, encode_values};
