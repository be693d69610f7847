//! Persistent queue segments: arbitrary bytes never panic the scan, every record it
//! reports is intact and inside the bytes, and a queue opened on a directory holding the
//! bytes as its segment hands out exactly the records the scan found, in order.
#![no_main]

use gnomon_scrape::queue::segment::{
    RECORD_HEADER_BYTES, SEGMENT_HEADER_BYTES, check_record, scan_segment, segment_header,
};
use gnomon_scrape::queue::{PersistentQueue, QueueOptions};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(scan) = scan_segment(data) {
        assert!(scan.valid_end <= data.len());
        let mut end = SEGMENT_HEADER_BYTES;
        for r in &scan.records {
            assert!(r.offset >= end, "records overlap");
            assert_eq!(check_record(data, r.offset), Ok(Some(r.len)));
            end = r.offset + RECORD_HEADER_BYTES + r.len as usize;
        }
        assert_eq!(scan.valid_end, end);
    }

    // The same bytes after a valid header, as the only segment of a queue directory.
    let mut segment = segment_header().to_vec();
    segment.extend_from_slice(data);
    let scan = scan_segment(&segment).expect("valid header");
    let dir = std::env::temp_dir().join(format!("gnomon-fuzz-queue-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("fuzz dir");
    std::fs::write(dir.join("0000000000000000"), &segment).expect("write segment");
    let opts = QueueOptions {
        dir: dir.clone(),
        ..QueueOptions::default()
    };
    let q = PersistentQueue::open(opts).expect("a segment's bytes never stop open");
    for r in &scan.records {
        let block = q.next().expect("next").expect("a block per intact record");
        assert_eq!(block.id, (r.offset - SEGMENT_HEADER_BYTES) as u64);
        let at = r.offset + RECORD_HEADER_BYTES;
        assert_eq!(block.data, segment[at..at + r.len as usize]);
    }
    assert!(q.next().expect("next").is_none());
    assert_eq!(q.stats().corrupt_blocks, scan.corrupt);
    q.close().expect("close");
});
