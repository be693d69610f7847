//! Exposition parsers on arbitrary bytes, both formats: drain the iterator, build the
//! labels of every sample and render every error. Must never panic or loop forever.
#![no_main]

use gnomon_scrape::textparse::{Entry, Format, Parser};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    for format in [Format::PrometheusText, Format::OpenMetrics] {
        // Every entry consumes at least one byte, so the count is bounded by the input.
        let mut entries = 0usize;
        for entry in Parser::new(data, format) {
            entries += 1;
            assert!(entries <= data.len() + 1, "parser does not make progress");
            match entry {
                Ok(Entry::Sample(s)) => {
                    let _ = s.labels();
                    let _ = s.metric_name();
                    // `series` is a zero-copy slice of the input.
                    let range = data.as_ptr_range();
                    assert!(range.contains(&s.series.as_ptr()) || s.series.is_empty());
                }
                Ok(_) => {}
                Err(e) => {
                    let _ = e.to_string();
                    let _ = e.line_text(data);
                }
            }
        }
    }
});
