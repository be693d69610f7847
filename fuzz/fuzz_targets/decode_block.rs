//! Decodes arbitrary bytes as timestamp and value payloads with an arbitrary `n`
//! (capped at 2^16); whatever decodes must re-encode and decode back to the same
//! samples, bit for bit.

#![no_main]

use gnomon_tsdb_core::encoding::{
    decode_timestamps, decode_values, encode_timestamps, encode_values,
};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Some((head, payload)) = data.split_first_chunk::<2>() else {
        return;
    };
    let n = usize::from(u16::from_le_bytes(*head));

    let mut ts = Vec::new();
    if decode_timestamps(payload, n, &mut ts).is_ok() {
        assert_eq!(ts.len(), n);
        let mut enc = Vec::new();
        encode_timestamps(&ts, &mut enc);
        let mut back = Vec::new();
        decode_timestamps(&enc, n, &mut back).expect("re-encoded timestamps decode");
        assert_eq!(back, ts);
    }

    let mut vs = Vec::new();
    if decode_values(payload, n, &mut vs).is_ok() {
        assert_eq!(vs.len(), n);
        let mut enc = Vec::new();
        encode_values(&vs, &mut enc);
        let mut back = Vec::new();
        decode_values(&enc, n, &mut back).expect("re-encoded values decode");
        let bits = |v: &[f64]| v.iter().map(|x| x.to_bits()).collect::<Vec<_>>();
        assert_eq!(bits(&back), bits(&vs));
    }
});
