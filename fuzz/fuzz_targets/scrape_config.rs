//! Scrape configs: arbitrary bytes never panic the loader (strict and lenient), and a
//! config that loads has every job's intervals set and timeout ≤ interval.
#![no_main]

use gnomon_scrape::config::{Config, ConfigOptions};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    for strict in [true, false] {
        let opts = ConfigOptions {
            strict,
            // The environment is not part of the input.
            expand_env: false,
            ..ConfigOptions::default()
        };
        if let Ok(cfg) = Config::from_yaml(text, &opts) {
            for job in &cfg.scrape_configs {
                assert!(!job.scrape_interval.is_zero());
                assert!(job.scrape_timeout <= job.scrape_interval);
            }
        }
    }
});
