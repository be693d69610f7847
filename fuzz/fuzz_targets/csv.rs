//! CSV: the first line of the input is a `format` spec, the rest rows; arbitrary bytes
//! never panic the spec or row parsers, and every emitted sample names a metric column.
#![no_main]

use gnomon_scrape::push::csv::CsvSpec;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let mut lines = data.split(|&b| b == b'\n');
    let Some(spec) = lines.next() else { return };
    let Ok(spec) = std::str::from_utf8(spec) else { return };
    let Ok(spec) = CsvSpec::parse(spec) else { return };
    for row in lines {
        let _ = spec.parse_row(row, |(name, labels, _, _)| {
            assert!(spec.metrics.iter().any(|(_, m)| m == name));
            assert_eq!(labels.len(), spec.labels.len());
        });
    }
});
