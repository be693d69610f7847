//! PromQL/MetricsQL parse + canonical-print round trip: any input either fails to parse
//! (without panicking) or prints to text that parses back to the same tree and prints
//! identically again. Run: `cargo fuzz run promql_roundtrip` from `fuzz/`.
#![no_main]

use gnomon_promql::{ParseOptions, parse_with};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(query) = std::str::from_utf8(data) else {
        return;
    };
    for opts in [ParseOptions::default(), ParseOptions::prometheus()] {
        let Ok(e) = parse_with(query, &opts) else {
            continue;
        };
        let printed = e.to_string();
        let again = match parse_with(&printed, &opts) {
            Ok(again) => again,
            Err(err) => panic!("{query:?} printed as {printed:?}, which does not parse: {err}"),
        };
        assert_eq!(again, e, "{query:?} printed as {printed:?}");
        assert_eq!(again.to_string(), printed, "printing is not a fixed point");
    }
});
