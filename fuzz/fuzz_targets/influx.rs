//! InfluxDB line protocol: arbitrary bytes never panic the parser, and an accepted line
//! names its series without panicking for every naming option.
#![no_main]

use gnomon_scrape::push::influx::{InfluxNaming, Precision, parse_line};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(Some(line)) = parse_line(data) else { return };
    assert!(!line.measurement.is_empty());
    assert!(line.fields.len() <= line.fields_written);
    let naming = InfluxNaming {
        skip_single_field: true,
        ..InfluxNaming::default()
    };
    for (field, _) in &line.fields {
        let _ = line.metric_name(field, &naming);
    }
    if let Some(ts) = line.timestamp {
        for p in ["ns", "u", "ms", "s", "m", "h"] {
            let _ = Precision::parse(p).expect("known precision").to_ms(ts);
        }
    }
});
