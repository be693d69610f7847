//! Value blocks: `encode_values` / `decode_values`.
//!
//! Schemes (first byte; bit 7 set = the rest is a zstd frame holding the body):
//! - `0` empty block (`n == 0`);
//! - `1` constant, raw: the 8 bytes of the bit pattern (little endian);
//! - `2` constant decimal: scale `k` (u8) and mantissa `m` (zig-zag varint), `v = m/10^k`;
//! - `3` decimal: scale `k`, exceptions (count, then per exception the gap to the
//!   previous one as a varint and the 8 raw bytes), then the mantissas through the
//!   integer-sequence codec ([`ints`](super::ints));
//! - `4` XOR (Gorilla) of the bit patterns ([`xor`](super::xor));
//! - `5` raw: 8 little-endian bytes per value.
//!
//! Decimal is chosen when every value but at most 1/8 of them (the exceptions: NaNs such
//! as the staleness marker, infinities, `-0.0`, values with too many digits) is exactly
//! `m / 10^k` for one scale `k` of the block; otherwise XOR, or raw when XOR is larger.

use super::compress::{decompress, maybe_compress};
use super::decimal::{MAX_SCALE, from_decimal, scale_of, to_decimal};
use super::ints::{decode_ints, encode_ints};
use super::reader::{Reader, put_ivarint, put_uvarint};
use super::timestamps::ZSTD_FLAG;
use super::xor::{decode_xor, encode_xor};
use crate::Result;

const WHAT: &str = "values";

/// Scheme byte: no samples.
pub(crate) const V_EMPTY: u8 = 0;
/// Scheme byte: one bit pattern repeated.
pub(crate) const V_CONST_RAW: u8 = 1;
/// Scheme byte: one decimal repeated.
pub(crate) const V_CONST_DECIMAL: u8 = 2;
/// Scheme byte: decimal mantissas.
pub(crate) const V_DECIMAL: u8 = 3;
/// Scheme byte: Gorilla XOR.
pub(crate) const V_XOR: u8 = 4;
/// Scheme byte: raw bit patterns.
pub(crate) const V_RAW: u8 = 5;

/// At most one value in this many may be an exception of a decimal block: each costs
/// ~9 bytes, so beyond that XOR is usually as small.
const EXCEPTION_FRACTION: usize = 8;

/// Mantissas of a block at one common scale, with the positions and bits of the values
/// that are not decimals at that scale.
struct Decimals {
    scale: u8,
    mantissas: Vec<i64>,
    exceptions: Vec<(usize, u64)>,
}

/// Converts `vs` to decimals at the smallest common scale, or `None` when more than
/// `vs.len() / EXCEPTION_FRACTION` values are not decimals.
fn to_decimals(vs: &[f64]) -> Option<Decimals> {
    let limit = vs.len() / EXCEPTION_FRACTION;
    let mut d = Decimals {
        scale: 0,
        mantissas: Vec::with_capacity(vs.len()),
        exceptions: Vec::new(),
    };
    let mut prev = 0i64;
    for (i, &v) in vs.iter().enumerate() {
        let m = match to_decimal(v, d.scale) {
            Some(m) => Some(m),
            None if v.is_finite() => match scale_of(v, d.scale + 1) {
                Some((k, m)) => {
                    rescale(vs, &mut d, k, limit)?;
                    Some(m)
                }
                None => None,
            },
            None => None,
        };
        match m {
            Some(m) => prev = m,
            None => {
                d.exceptions.push((i, v.to_bits()));
                if d.exceptions.len() > limit {
                    return None;
                }
            }
        }
        // An exception repeats the previous mantissa: a zero residual for delta coding.
        d.mantissas.push(prev);
    }
    Some(d)
}

/// Moves the mantissas found so far to the larger scale `k`. Multiplying by 10^(k-old)
/// keeps the same rational, so the decoded value is unchanged while the product stays
/// within 2^53 (both division operands exact); larger ones are re-checked and become
/// exceptions when they no longer decode to the same bits.
fn rescale(vs: &[f64], d: &mut Decimals, k: u8, limit: usize) -> Option<()> {
    let factor = 10i64.checked_pow(u32::from(k - d.scale));
    let mut exc = d.exceptions.iter().map(|e| e.0).peekable();
    let mut newly = Vec::new();
    let mut prev = 0i64;
    for (i, m) in d.mantissas.iter_mut().enumerate() {
        if exc.peek() == Some(&i) {
            exc.next();
            *m = prev;
            continue;
        }
        let scaled = factor.and_then(|f| m.checked_mul(f));
        match scaled {
            Some(x) if x.unsigned_abs() <= 1 << 53 => *m = x,
            _ => match to_decimal(vs[i], k) {
                Some(x) => *m = x,
                None => {
                    newly.push((i, vs[i].to_bits()));
                    *m = prev;
                }
            },
        }
        prev = *m;
    }
    if !newly.is_empty() {
        d.exceptions.extend(newly);
        d.exceptions.sort_unstable_by_key(|e| e.0);
        if d.exceptions.len() > limit {
            return None;
        }
    }
    d.scale = k;
    Some(())
}

/// Appends the encoding of `vs` (any `f64` bit patterns) to `out`.
///
/// Every bit pattern comes back unchanged, NaN payloads (the staleness marker), `-0.0`,
/// infinities and subnormals included. The block length is not written.
pub fn encode_values(vs: &[f64], out: &mut Vec<u8>) {
    let Some(&first) = vs.first() else {
        out.push(V_EMPTY);
        return;
    };
    if vs.iter().all(|v| v.to_bits() == first.to_bits()) {
        match scale_of(first, 0) {
            Some((k, m)) => {
                out.extend_from_slice(&[V_CONST_DECIMAL, k]);
                put_ivarint(out, m);
            }
            None => {
                out.push(V_CONST_RAW);
                out.extend_from_slice(&first.to_bits().to_le_bytes());
            }
        }
        return;
    }
    let at = out.len();
    match to_decimals(vs) {
        Some(d) => {
            out.extend_from_slice(&[V_DECIMAL, d.scale]);
            put_exceptions(&d.exceptions, out);
            encode_ints(&d.mantissas, out);
        }
        None => {
            out.push(V_XOR);
            encode_xor(vs, out);
            if out.len() - at - 1 > 8 * vs.len() {
                out.truncate(at);
                out.push(V_RAW);
                vs.iter()
                    .for_each(|v| out.extend_from_slice(&v.to_bits().to_le_bytes()));
            }
        }
    }
    if let Some(z) = maybe_compress(&out[at + 1..], vs.len()) {
        let scheme = out[at];
        out.truncate(at);
        out.push(scheme | ZSTD_FLAG);
        out.extend_from_slice(&z);
    }
}

fn put_exceptions(exceptions: &[(usize, u64)], out: &mut Vec<u8>) {
    put_uvarint(out, exceptions.len() as u64);
    let mut next = 0usize;
    for &(i, bits) in exceptions {
        put_uvarint(out, (i - next) as u64);
        out.extend_from_slice(&bits.to_le_bytes());
        next = i + 1;
    }
}

/// Decodes exactly `n` values from `src` (the whole payload), appending to `out`.
///
/// # Errors
/// [`Error::Decode`](crate::Error::Decode) with `what = "values"` when `src` is not a
/// payload of exactly `n` values: truncated, trailing bytes, unknown scheme byte, scale
/// above 22, exception positions outside the block, varint overflow, or `n` inconsistent
/// with the scheme or too large for the payload. On error `out` may hold a partial block.
pub fn decode_values(src: &[u8], n: usize, out: &mut Vec<f64>) -> Result<()> {
    decode_values_window(src, n, 0..n, out)
}

/// [`decode_values`] that appends only the values at positions `window` (clamped to
/// `0..n`); the whole payload is still read and checked. Decimal blocks convert only
/// the window's mantissas (one division each), so reading a few samples of a long block,
/// as a query over a short range does, skips most of that work.
///
/// # Errors
/// As [`decode_values`].
pub fn decode_values_window(
    src: &[u8],
    n: usize,
    window: std::ops::Range<usize>,
    out: &mut Vec<f64>,
) -> Result<()> {
    let end = window.end.min(n);
    let window = window.start.min(end)..end;
    let mut r = Reader::new(src, WHAT);
    let scheme = r.u8()?;
    if (scheme == V_EMPTY) != (n == 0) {
        return Err(r.error(format_args!("scheme {scheme} cannot hold {n} samples")));
    }
    if scheme & ZSTD_FLAG != 0 && (V_DECIMAL..=V_RAW).contains(&(scheme & !ZSTD_FLAG)) {
        let body = decompress(&mut r, n.saturating_mul(10).saturating_add(64))?;
        let mut inner = Reader::new(&body, WHAT);
        decode_body(scheme & !ZSTD_FLAG, &mut inner, n, window, out)?;
        return inner.finish();
    }
    decode_body(scheme, &mut r, n, window, out)?;
    r.finish()
}

/// Decodes the `n` values of a body, appending those at positions `window` (within
/// `0..n`).
fn decode_body(
    scheme: u8,
    r: &mut Reader<'_>,
    n: usize,
    window: std::ops::Range<usize>,
    out: &mut Vec<f64>,
) -> Result<()> {
    match scheme {
        V_EMPTY => {}
        V_CONST_RAW => {
            let v = f64::from_bits(r.u64_le()?);
            out.extend(std::iter::repeat_n(v, window.len()));
        }
        V_CONST_DECIMAL => {
            let k = scale(r)?;
            let v = from_decimal(r.ivarint()?, k);
            out.extend(std::iter::repeat_n(v, window.len()));
        }
        V_DECIMAL => decode_decimal(r, n, window, out)?,
        V_XOR => {
            let start = out.len();
            decode_xor(r, n, out)?;
            if out.len() != start + n {
                return Err(r.error(format_args!("{} xor values for {n}", out.len() - start)));
            }
            out.truncate(start + window.end);
            out.drain(start..start + window.start);
        }
        V_RAW => {
            let bytes = n.saturating_mul(8);
            let raw = r.bytes(bytes)?;
            let raw = raw
                .get(window.start * 8..window.end * 8)
                .unwrap_or_default();
            out.extend(raw.chunks_exact(8).map(|c| {
                f64::from_bits(u64::from_le_bytes([
                    c[0], c[1], c[2], c[3], c[4], c[5], c[6], c[7],
                ]))
            }));
        }
        s => return Err(r.error(format_args!("unknown value scheme {s:#04x}"))),
    }
    Ok(())
}

fn scale(r: &mut Reader<'_>) -> Result<u8> {
    let k = r.u8()?;
    if k > MAX_SCALE {
        return Err(r.error(format_args!("decimal scale {k} above {MAX_SCALE}")));
    }
    Ok(k)
}

fn decode_decimal(
    r: &mut Reader<'_>,
    n: usize,
    window: std::ops::Range<usize>,
    out: &mut Vec<f64>,
) -> Result<()> {
    let k = scale(r)?;
    let count = r.uvarint()?;
    if count > (n as u64) || count.saturating_mul(9) > r.remaining() as u64 {
        return Err(r.error(format_args!(
            "{count} exceptions in a block of {n} values with {} bytes left",
            r.remaining()
        )));
    }
    let mut exceptions = Vec::with_capacity(count as usize);
    let mut next = 0u64;
    for _ in 0..count {
        let at = next.saturating_add(r.uvarint()?);
        if at >= n as u64 {
            return Err(r.error(format_args!(
                "exception at position {at} outside a block of {n} values"
            )));
        }
        exceptions.push((at as usize, r.u64_le()?));
        next = at + 1;
    }
    let mut m = Vec::new();
    decode_ints(r, n, &mut m)?;
    let start = out.len();
    let Some(sel) = m.get(window.clone()) else {
        return Err(r.error(format_args!("{} mantissas for {n} values", m.len())));
    };
    out.extend(sel.iter().map(|&m| from_decimal(m, k)));
    for (at, bits) in exceptions {
        if window.contains(&at) {
            out[start + at - window.start] = f64::from_bits(bits);
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Error;
    use crate::model::STALE_NAN;

    fn bits(v: &[f64]) -> Vec<u64> {
        v.iter().map(|x| x.to_bits()).collect()
    }

    fn round_trip(vs: &[f64]) -> Vec<u8> {
        let mut out = Vec::new();
        encode_values(vs, &mut out);
        let mut back = vec![7.0];
        decode_values(&out, vs.len(), &mut back).unwrap();
        assert_eq!(bits(&back[1..]), bits(vs));
        out
    }

    #[test]
    fn golden_constants() {
        assert_eq!(round_trip(&[]), [V_EMPTY]);
        assert_eq!(round_trip(&[20.75; 100]), [V_CONST_DECIMAL, 2, 0xb6, 0x20]);
        assert_eq!(round_trip(&[0.0; 3]), [V_CONST_DECIMAL, 0, 0]);
        let mut stale = vec![V_CONST_RAW];
        stale.extend_from_slice(&0x7ff0_0000_0000_0002u64.to_le_bytes());
        assert_eq!(round_trip(&[STALE_NAN; 5]), stale);
    }

    #[test]
    fn golden_decimal_gauge_with_stale_marker() {
        let vs = [0.11, 0.13, 0.12, 0.12, 0.14, 0.11, 0.12, STALE_NAN];
        // Scale 2; one exception (8 values allow 8/8 = 1) at gap 7 with its bits;
        // mantissas 11 13 12 12 14 11 12 12 (the exception repeats its predecessor):
        // plain, min 11 (zig-zag 22 = 0x16), width 2, offsets 0 2 1 1 3 0 1 1.
        let mut want = vec![V_DECIMAL, 2, 1, 7];
        want.extend_from_slice(&0x7ff0_0000_0000_0002u64.to_le_bytes());
        want.extend_from_slice(&[0x00, 0x16, 0x02, 0b01_01_10_00, 0b01_01_00_11]);
        assert_eq!(round_trip(&vs), want);
    }

    #[test]
    fn golden_xor_and_raw() {
        // Short decimals need at most 17 digits, so these are still decimal blocks.
        assert_eq!(round_trip(&[0.1 + 0.2, 1.0 / 3.0])[0], V_DECIMAL);
        // Magnitudes outside 2^63 / 10^-22 are not: XOR, then raw when XOR is larger.
        let vs = [1e300, f64::from_bits(1e300f64.to_bits() ^ 1)];
        let mut want = vec![V_XOR];
        want.extend_from_slice(&1e300f64.to_bits().to_be_bytes());
        // xor 1: '11', 63 leading zeros (111111), 1 meaningful bit (000000), '1'.
        want.extend_from_slice(&[0b1111_1111, 0b0000_0010]);
        assert_eq!(round_trip(&vs), want);
        // Full-width XORs cost 78 and 66 bits: 26 bytes > 3 * 8 raw.
        let vs = [
            0x0123_4567_89ab_cdef_u64,
            0xfedc_ba98_7654_3210,
            0x0f1e_2d3c_4b5a_6978,
        ]
        .map(f64::from_bits);
        assert_eq!(round_trip(&vs)[0], V_RAW);
        let vs = [f64::NAN, f64::INFINITY, -0.0];
        let out = round_trip(&vs);
        assert_eq!(out[0], V_XOR, "xor still below 8 bytes a value");
    }

    #[test]
    fn byte_counter_uses_gcd() {
        let mut x = 1_682_438_745_951.0f64;
        let vs: Vec<f64> = (0..1440u64)
            .map(|i| {
                x += (4096 * (1 + (i * 7919) % 13)) as f64;
                x
            })
            .collect();
        let out = round_trip(&vs);
        // delta, gcd 4096, 13 distinct residuals -> 4 bits a sample.
        assert!(out.len() < 1440 / 2 + 20, "{} bytes", out.len());
    }

    #[test]
    fn special_values_round_trip() {
        let specials = [
            STALE_NAN,
            f64::NAN,
            -f64::NAN,
            f64::from_bits(0x7ff8_dead_beef_0001),
            -0.0,
            0.0,
            f64::INFINITY,
            f64::NEG_INFINITY,
            f64::from_bits(1),
            f64::MIN_POSITIVE,
            f64::MAX,
            f64::MIN,
            f64::EPSILON,
        ];
        round_trip(&specials);
        let mut mixed: Vec<f64> = (0..200).map(|i| f64::from(i) * 0.25).collect();
        for (i, s) in specials.iter().enumerate() {
            mixed[i * 15] = *s;
        }
        round_trip(&mixed);
    }

    #[test]
    fn errors_name_what_went_wrong() {
        let err = decode_values(&[V_CONST_DECIMAL, 23, 0], 1, &mut Vec::new()).unwrap_err();
        assert!(matches!(err, Error::Decode { what: "values", .. }));
        assert_eq!(
            err.to_string(),
            "cannot decode values: at byte 2: decimal scale 23 above 22"
        );
        let err = decode_values(&[V_RAW, 0, 0, 0], 1, &mut Vec::new()).unwrap_err();
        assert_eq!(
            err.to_string(),
            "cannot decode values: at byte 1: unexpected end of payload, wanted 8 bytes, 3 left"
        );
        let err = decode_values(
            &[V_DECIMAL, 0, 1, 5, 0, 0, 0, 0, 0, 0, 0, 0],
            3,
            &mut Vec::new(),
        )
        .unwrap_err();
        assert_eq!(
            err.to_string(),
            "cannot decode values: at byte 4: exception at position 5 outside a block of 3 values"
        );
        let err = decode_values(&[0x7f], 1, &mut Vec::new()).unwrap_err();
        assert_eq!(
            err.to_string(),
            "cannot decode values: at byte 1: unknown value scheme 0x7f"
        );
        let err = decode_values(&[V_CONST_DECIMAL, 0, 0, 0], 1, &mut Vec::new()).unwrap_err();
        assert_eq!(
            err.to_string(),
            "cannot decode values: at byte 3: 1 trailing bytes after the last sample"
        );
    }
}
