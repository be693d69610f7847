//! Property tests of the public codecs: bit-exact round trips for arbitrary and
//! realistic blocks, and decoders that never panic on arbitrary bytes.

use super::*;
use crate::model::STALE_NAN;
use proptest::prelude::*;

fn assert_values_round_trip(vs: &[f64]) -> std::result::Result<(), TestCaseError> {
    let mut out = Vec::new();
    encode_values(vs, &mut out);
    let mut back = Vec::new();
    decode_values(&out, vs.len(), &mut back).map_err(|e| TestCaseError::fail(e.to_string()))?;
    let bits = |v: &[f64]| v.iter().map(|x| x.to_bits()).collect::<Vec<_>>();
    prop_assert_eq!(bits(&back), bits(vs));
    Ok(())
}

/// Values that real metrics take: counters, gauges with 1-3 decimals, constants with
/// occasional staleness markers, random floats.
fn realistic_values() -> impl Strategy<Value = Vec<f64>> {
    let counter = (
        0u64..1 << 40,
        proptest::collection::vec(0u64..100_000, 1..1500),
        0u32..4,
    )
        .prop_map(|(start, incs, decimals)| {
            let p = 10f64.powi(decimals as i32);
            let mut m = start;
            incs.iter()
                .map(|i| {
                    m += i;
                    m as f64 / p
                })
                .collect()
        });
    let gauge = (proptest::collection::vec(-500i64..500, 1..1500), 1u32..4).prop_map(
        |(steps, decimals)| {
            let p = 10f64.powi(decimals as i32);
            let mut m = 0i64;
            steps
                .iter()
                .map(|s| {
                    m += s;
                    m as f64 / p
                })
                .collect()
        },
    );
    let constant = (any::<f64>(), 1usize..1500, any::<bool>()).prop_map(|(v, n, stale)| {
        let mut vs = vec![v; n];
        if stale {
            vs[n - 1] = STALE_NAN;
        }
        vs
    });
    let random = proptest::collection::vec(any::<f64>(), 1..500);
    let unit = proptest::collection::vec(0f64..1.0, 1..500);
    prop_oneof![counter, gauge, constant, random, unit]
}

proptest! {
    #[test]
    fn values_of_any_bit_pattern_round_trip(raw in proptest::collection::vec(any::<u64>(), 0..400)) {
        let vs: Vec<f64> = raw.into_iter().map(f64::from_bits).collect();
        assert_values_round_trip(&vs)?;
    }

    #[test]
    fn realistic_values_round_trip(vs in realistic_values()) {
        assert_values_round_trip(&vs)?;
    }

    #[test]
    fn decimals_with_sprinkled_specials_round_trip(
        mantissas in proptest::collection::vec(-100_000i64..100_000, 1..800),
        scale in 0i32..6,
        specials in proptest::collection::vec((any::<prop::sample::Index>(), any::<u64>()), 0..20),
    ) {
        let p = 10f64.powi(scale);
        let mut vs: Vec<f64> = mantissas.iter().map(|&m| m as f64 / p).collect();
        for (at, bits) in specials {
            let i = at.index(vs.len());
            vs[i] = f64::from_bits(bits);
        }
        assert_values_round_trip(&vs)?;
    }

    #[test]
    fn a_window_of_a_block_is_that_slice_of_the_whole(
        vs in prop_oneof![
            realistic_values(),
            proptest::collection::vec(any::<u64>(), 1..300)
                .prop_map(|r| r.into_iter().map(f64::from_bits).collect()),
        ],
        a in any::<prop::sample::Index>(),
        b in any::<prop::sample::Index>(),
    ) {
        let mut enc = Vec::new();
        encode_values(&vs, &mut enc);
        let (lo, hi) = {
            let (x, y) = (a.index(vs.len() + 1), b.index(vs.len() + 1));
            (x.min(y), x.max(y))
        };
        let mut got = vec![1.5];
        decode_values_window(&enc, vs.len(), lo..hi, &mut got)
            .map_err(|e| TestCaseError::fail(e.to_string()))?;
        let bits = |v: &[f64]| v.iter().map(|x| x.to_bits()).collect::<Vec<_>>();
        let mut want = vec![1.5];
        want.extend_from_slice(&vs[lo..hi]);
        prop_assert_eq!(bits(&got), bits(&want));
        // Out-of-bounds windows are clamped, never a panic.
        let mut clamped = Vec::new();
        decode_values_window(&enc, vs.len(), hi..vs.len() + 7, &mut clamped)
            .map_err(|e| TestCaseError::fail(e.to_string()))?;
        prop_assert_eq!(bits(&clamped), bits(&vs[hi..]));
    }

    #[test]
    fn value_decoder_never_panics(src in proptest::collection::vec(any::<u8>(), 0..96), n in 0usize..5000) {
        let mut out = Vec::new();
        if decode_values(&src, n, &mut out).is_ok() {
            prop_assert_eq!(out.len(), n);
        }
    }

    #[test]
    fn value_decoder_never_panics_on_mutated_payloads(
        vs in realistic_values(),
        flips in proptest::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 1..4),
        cut in any::<prop::sample::Index>(),
    ) {
        let mut out = Vec::new();
        encode_values(&vs, &mut out);
        for (at, x) in flips {
            let i = at.index(out.len());
            out[i] ^= x;
        }
        out.truncate(cut.index(out.len() + 1));
        let mut back = Vec::new();
        if decode_values(&out, vs.len(), &mut back).is_ok() {
            prop_assert_eq!(back.len(), vs.len());
        }
        let mut part = Vec::new();
        let half = vs.len() / 2;
        if decode_values_window(&out, vs.len(), half..vs.len(), &mut part).is_ok() {
            prop_assert_eq!(part.len(), vs.len() - half);
        }
    }

    #[test]
    fn timestamp_decoder_never_panics_on_mutated_payloads(
        deltas in proptest::collection::vec(0i64..100_000, 1..1500),
        flips in proptest::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 1..4),
    ) {
        let mut t = 1_700_000_000_000i64;
        let ts: Vec<i64> = deltas.iter().map(|d| { t += d; t }).collect();
        let mut out = Vec::new();
        encode_timestamps(&ts, &mut out);
        for (at, x) in flips {
            let i = at.index(out.len());
            out[i] ^= x;
        }
        let mut back = Vec::new();
        if decode_timestamps(&out, ts.len(), &mut back).is_ok() {
            prop_assert_eq!(back.len(), ts.len());
        }
    }
}
