//! Part files and WAL commit records: arbitrary bytes never panic the decoders.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = gnomon_tsdb_core::storage::inspect::verify_part(data.to_vec());
    let _ = gnomon_tsdb_core::storage::inspect::decode_commit_record(data);
});
