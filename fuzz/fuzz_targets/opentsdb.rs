//! OpenTSDB: arbitrary bytes never panic the telnet `put` parser nor the HTTP JSON one.
#![no_main]

use gnomon_scrape::push::opentsdb::{parse_http, parse_put};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(Some(p)) = parse_put(data) {
        assert!(!p.metric.is_empty());
    }
    if let Ok(points) = parse_http(data) {
        for p in points.into_iter().flatten() {
            assert!(!p.metric.is_empty());
        }
    }
});
