//! VictoriaMetrics JSON lines: arbitrary bytes never panic the parser, and whatever it
//! accepts is written back and re-read to the same series and samples (bit for bit).
#![no_main]

use gnomon_scrape::push::vmjson::{parse_line, write_line};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(line) = parse_line(data) else { return };
    let mut out = Vec::new();
    write_line(&mut out, &line.labels, &line.samples);
    let back = parse_line(&out[..out.len() - 1]).expect("written line must parse");
    assert_eq!(back.labels, line.labels);
    assert_eq!(back.samples.len(), line.samples.len());
    for (a, b) in back.samples.iter().zip(&line.samples) {
        assert_eq!(a.t, b.t);
        // NaN payloads other than the staleness marker are not representable in the format.
        assert!(a.v.to_bits() == b.v.to_bits() || (a.v.is_nan() && b.v.is_nan()));
    }
});
