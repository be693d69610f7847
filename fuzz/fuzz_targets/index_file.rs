//! Opens arbitrary bytes as an index file and, when they validate, runs queries on it.
//!
//! The first byte chooses whether the footer checksum is recomputed over the rest, so
//! that mutations get past the crc32 and reach the structural checks.

#![no_main]

use gnomon_tsdb_core::index::{self, IndexFile, IndexSource};
use gnomon_tsdb_core::model::{MatchOp, Matcher};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Some((&mode, rest)) = data.split_first() else {
        return;
    };
    let mut bytes = rest.to_vec();
    let n = bytes.len();
    if mode & 1 == 1 && n >= 8 {
        let crc = crc32fast::hash(&bytes[..n - 8]);
        bytes[n - 8..n - 4].copy_from_slice(&crc.to_le_bytes());
    }
    let Ok(file) = IndexFile::from_bytes("fuzz.idx", bytes) else {
        return;
    };
    let src: [&dyn IndexSource; 1] = [&file];
    let all = file.all_series();
    for name in file.label_names() {
        let values = file.label_values(&name);
        for v in values.iter().take(8) {
            let _ = file.postings(&name, v);
            let prefix: String = v.chars().take(2).collect();
            let matchers = [
                Matcher::new(MatchOp::RegexMatch, name.as_str(), format!("{prefix}.*")),
                Matcher::new(MatchOp::NotEqual, name.as_str(), v.as_str()),
                Matcher::new(MatchOp::RegexNoMatch, name.as_str(), "a|.+b"),
            ];
            for m in matchers.into_iter().flatten() {
                let _ = index::select(&src, &[m], Some(0..=u32::MAX));
            }
        }
        let _ = index::label_values(&src, &name, &all);
    }
    let _ = index::label_names(&src, &all);
    for d in file.days() {
        let _ = file.series_on_days(d..=d.saturating_add(1));
    }
});
