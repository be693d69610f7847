//! Graphite plaintext: arbitrary bytes never panic the parser; accepted lines have a
//! name, and timestamp trimming never panics.
#![no_main]

use gnomon_scrape::push::graphite::{parse_line, trim_timestamp};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(Some(line)) = parse_line(data) else { return };
    assert!(!line.name.is_empty());
    if let Some(t) = line.timestamp_ms {
        assert!(t >= 0);
        let _ = trim_timestamp(t, 60_000);
    }
});
