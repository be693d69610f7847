//! Remote write: arbitrary bytes (as a decompressed message, and as a snappy block) never
//! panic the reader; whatever it accepts iterates to the counts it checked, and what the
//! writer encodes from the decoded series reads back to the same labels and samples.
#![no_main]

use gnomon_scrape::push::remote_write::{WriteRequest, decompress, encode};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = decompress(data, 1 << 20);
    let Ok(req) = WriteRequest::parse(data) else { return };
    let mut decoded = Vec::new();
    for ts in &req.series {
        let (labels, samples) = ts.counts();
        assert_eq!(ts.labels().count(), labels);
        let s: Vec<_> = ts.samples().collect();
        assert_eq!(s.len(), samples);
        decoded.push((ts.to_labels(), s));
    }
    let again = encode(&decoded);
    let back = WriteRequest::parse(&again).expect("encoded request must parse");
    assert_eq!(back.series.len(), decoded.len());
    for (b, (labels, samples)) in back.series.iter().zip(&decoded) {
        assert_eq!(&b.to_labels(), labels);
        let s: Vec<_> = b.samples().map(|s| (s.t, s.v.to_bits())).collect();
        let want: Vec<_> = samples.iter().map(|s| (s.t, s.v.to_bits())).collect();
        assert_eq!(s, want);
    }
});
