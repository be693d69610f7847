//! Queue tests: order, acks across reopen, torn tails, damage, size bound, rotation, and a
//! model-based property test.

use std::collections::VecDeque;
use std::path::{Path, PathBuf};

use proptest::prelude::*;

use super::segment::{RECORD_HEADER_BYTES, SEGMENT_HEADER_BYTES, encode_record, scan_segment};
use super::*;

fn opts(dir: &Path) -> QueueOptions {
    QueueOptions {
        dir: dir.join("q"),
        name: "test".into(),
        ..QueueOptions::default()
    }
}

fn small(dir: &Path, segment_bytes: u64, max_disk_bytes: u64) -> QueueOptions {
    QueueOptions {
        segment_bytes,
        max_disk_bytes,
        ..opts(dir)
    }
}

/// Block `i`'s bytes: distinct, of varying length.
fn block(i: usize) -> Vec<u8> {
    format!("block-{i}-{}", "x".repeat(i % 7)).into_bytes()
}

fn drain(q: &PersistentQueue) -> Vec<Block> {
    std::iter::from_fn(|| q.next().expect("next")).collect()
}

fn datas(blocks: &[Block]) -> Vec<Vec<u8>> {
    blocks.iter().map(|b| b.data.clone()).collect()
}

fn segment_files(q: &QueueOptions) -> Vec<PathBuf> {
    let mut out: Vec<PathBuf> = std::fs::read_dir(&q.dir)
        .expect("read dir")
        .map(|e| e.expect("entry").path())
        .filter(|p| files::parse_segment_name(p.file_name().unwrap().to_str().unwrap()).is_some())
        .collect();
    out.sort();
    out
}

#[test]
fn push_next_ack_in_push_order() {
    let dir = tempfile::tempdir().unwrap();
    let q = PersistentQueue::open(opts(dir.path())).unwrap();
    for i in 0..10 {
        q.push(&block(i)).unwrap();
    }
    let blocks = drain(&q);
    assert_eq!(datas(&blocks), (0..10).map(block).collect::<Vec<_>>());
    assert!(blocks.windows(2).all(|w| w[0].id < w[1].id));
    let s = q.stats();
    assert_eq!((s.pending_blocks, s.written_blocks), (10, 10));
    for b in &blocks {
        q.ack(b.id).unwrap();
    }
    let s = q.stats();
    assert_eq!((s.pending_blocks, s.pending_bytes), (0, 0));
    assert_eq!(
        s.written_bytes,
        (0..10).map(|i| block(i).len() as u64).sum::<u64>()
    );
}

#[test]
fn out_of_order_acks_survive_reopen() {
    let dir = tempfile::tempdir().unwrap();
    let q = PersistentQueue::open(opts(dir.path())).unwrap();
    for i in 0..8 {
        q.push(&block(i)).unwrap();
    }
    let blocks = drain(&q);
    for i in [7, 1, 4, 2] {
        q.ack(blocks[i].id).unwrap();
    }
    drop(q); // no close: the acks are only in the journal
    let q = PersistentQueue::open(opts(dir.path())).unwrap();
    let again = drain(&q);
    assert_eq!(datas(&again), [0, 3, 5, 6].map(block).to_vec());
    let ids: Vec<u64> = again.iter().map(|b| b.id).collect();
    assert_eq!(ids, [0, 3, 5, 6].map(|i| blocks[i].id).to_vec());
    q.ack(ids[2]).unwrap();
    q.close().unwrap();
    let q = PersistentQueue::open(opts(dir.path())).unwrap();
    assert_eq!(datas(&drain(&q)), [0, 3, 6].map(block).to_vec());
}

#[test]
fn the_ack_journal_is_folded_into_the_metadata() {
    let dir = tempfile::tempdir().unwrap();
    let o = opts(dir.path());
    let q = PersistentQueue::open(o.clone()).unwrap();
    q.state.lock().compact_after = 3;
    for i in 0..12 {
        q.push(&block(i)).unwrap();
    }
    let blocks = drain(&q);
    for i in [11, 9, 1, 3, 5, 0, 7] {
        q.ack(blocks[i].id).unwrap();
    }
    // 7 acks: folded twice, one entry left in the journal.
    let journal = std::fs::read(o.dir.join(files::ACKS_FILE)).unwrap();
    assert_eq!(journal.len(), meta::ACK_ENTRY_BYTES);
    let m = std::fs::read(o.dir.join(files::META_FILE)).unwrap();
    let m = meta::Meta::decode(&m, Path::new("meta")).unwrap();
    // Written at the 6th ack (of block 0): blocks 0 and 1 are behind the head, the
    // other out-of-order acks are listed; the 7th ack (block 7) is in the journal.
    assert_eq!(m.head, blocks[2].id);
    let listed: Vec<u64> = m.acked.iter().copied().collect();
    assert_eq!(listed, [3, 5, 9, 11].map(|i| blocks[i].id).to_vec());
    assert_eq!(m.name, "test");
    drop(q);
    let q = PersistentQueue::open(o).unwrap();
    assert_eq!(datas(&drain(&q)), [2, 4, 6, 8, 10].map(block).to_vec());
}

#[test]
fn reopen_without_acks_redelivers_everything() {
    let dir = tempfile::tempdir().unwrap();
    let q = PersistentQueue::open(opts(dir.path())).unwrap();
    for i in 0..5 {
        q.push(&block(i)).unwrap();
    }
    let first = drain(&q);
    drop(q);
    let q = PersistentQueue::open(opts(dir.path())).unwrap();
    assert_eq!(drain(&q), first);
    assert_eq!(q.stats().pending_blocks, 5);
    // Pushes after a reopen get larger ids than every earlier block.
    q.push(b"after").unwrap();
    let after = q.next().unwrap().unwrap();
    assert!(after.id > first[4].id);
}

#[test]
fn a_pushed_block_is_written_before_push_returns() {
    let dir = tempfile::tempdir().unwrap();
    let o = opts(dir.path());
    let q = PersistentQueue::open(o.clone()).unwrap();
    q.push(b"in the page cache").unwrap();
    // Read the file while the queue is still open (nothing buffered in user space).
    let bytes = std::fs::read(&segment_files(&o)[0]).unwrap();
    let scan = scan_segment(&bytes).unwrap();
    assert_eq!(scan.records.len(), 1);
    assert!(bytes.ends_with(b"in the page cache"));
}

#[test]
fn torn_tail_at_every_offset_of_the_last_record_is_cut() {
    let dir = tempfile::tempdir().unwrap();
    let o = opts(dir.path());
    let q = PersistentQueue::open(o.clone()).unwrap();
    for i in 0..3 {
        q.push(&block(i)).unwrap();
    }
    q.close().unwrap();
    let path = segment_files(&o).pop().unwrap();
    let whole = std::fs::read(&path).unwrap();
    let last_len = RECORD_HEADER_BYTES + block(2).len();
    let last_start = whole.len() - last_len;
    for cut in last_start..whole.len() {
        let d = tempfile::tempdir().unwrap();
        let o = opts(d.path());
        std::fs::create_dir_all(&o.dir).unwrap();
        std::fs::write(o.dir.join(path.file_name().unwrap()), &whole[..cut]).unwrap();
        let q = PersistentQueue::open(o.clone()).unwrap();
        assert_eq!(
            datas(&drain(&q)),
            [0, 1].map(block).to_vec(),
            "cut at {cut}"
        );
        assert_eq!(q.stats().corrupt_blocks, 0, "cut at {cut}");
        // The tail was cut from the file, and new pushes come after.
        let seg = std::fs::read(o.dir.join(path.file_name().unwrap())).unwrap();
        assert_eq!(seg.len(), last_start, "cut at {cut}");
        q.push(b"new").unwrap();
        drop(q);
        let q = PersistentQueue::open(o).unwrap();
        let mut want = [0, 1].map(block).to_vec();
        want.push(b"new".to_vec());
        assert_eq!(datas(&drain(&q)), want, "cut at {cut}");
    }
}

#[test]
fn a_bad_checksum_in_the_last_record_is_a_torn_tail() {
    let dir = tempfile::tempdir().unwrap();
    let o = opts(dir.path());
    let q = PersistentQueue::open(o.clone()).unwrap();
    for i in 0..3 {
        q.push(&block(i)).unwrap();
    }
    drop(q);
    let path = segment_files(&o).pop().unwrap();
    let mut bytes = std::fs::read(&path).unwrap();
    *bytes.last_mut().unwrap() ^= 0xff;
    std::fs::write(&path, &bytes).unwrap();
    let q = PersistentQueue::open(o).unwrap();
    assert_eq!(datas(&drain(&q)), [0, 1].map(block).to_vec());
    assert_eq!(q.stats().corrupt_blocks, 0);
}

/// Pushes 6 blocks, flips the byte at `offset_in_record` of record 2 (of 0..6), reopens.
fn flip_in_record_2(offset_in_record: usize) -> (Vec<Vec<u8>>, QueueStats) {
    let dir = tempfile::tempdir().unwrap();
    let o = opts(dir.path());
    let q = PersistentQueue::open(o.clone()).unwrap();
    for i in 0..6 {
        q.push(&block(i)).unwrap();
    }
    drop(q);
    let path = segment_files(&o).pop().unwrap();
    let mut bytes = std::fs::read(&path).unwrap();
    let rec2: usize = SEGMENT_HEADER_BYTES
        + (0..2)
            .map(|i| RECORD_HEADER_BYTES + block(i).len())
            .sum::<usize>();
    bytes[rec2 + offset_in_record] ^= 0x10;
    std::fs::write(&path, &bytes).unwrap();
    let q = PersistentQueue::open(o).unwrap();
    (datas(&drain(&q)), q.stats())
}

#[test]
fn a_flipped_payload_byte_in_the_middle_skips_that_record() {
    let (got, stats) = flip_in_record_2(RECORD_HEADER_BYTES + 3);
    assert_eq!(got, [0, 1, 3, 4, 5].map(block).to_vec());
    assert_eq!(stats.corrupt_blocks, 1);
}

#[test]
fn a_flipped_header_byte_in_the_middle_resyncs_at_the_next_record() {
    for at in 0..RECORD_HEADER_BYTES {
        let (got, stats) = flip_in_record_2(at);
        assert_eq!(got, [0, 1, 3, 4, 5].map(block).to_vec(), "flip at {at}");
        assert_eq!(stats.corrupt_blocks, 1, "flip at {at}");
    }
}

#[test]
fn a_damaged_block_found_when_reading_the_backlog_is_skipped() {
    let dir = tempfile::tempdir().unwrap();
    let o = opts(dir.path());
    let q = PersistentQueue::open(o.clone()).unwrap();
    // Fill the memory cache so that the following blocks are read from disk.
    let big = vec![7u8; MEMORY_CACHE_BYTES];
    q.push(&big).unwrap();
    for i in 0..3 {
        q.push(&block(i)).unwrap();
    }
    let path = segment_files(&o).pop().unwrap();
    let mut bytes = std::fs::read(&path).unwrap();
    let rec1 = SEGMENT_HEADER_BYTES
        + RECORD_HEADER_BYTES
        + big.len()
        + RECORD_HEADER_BYTES
        + block(0).len();
    bytes[rec1 + RECORD_HEADER_BYTES] ^= 1;
    std::fs::write(&path, &bytes).unwrap();
    assert_eq!(q.next().unwrap().unwrap().data, big);
    let rest = drain(&q);
    assert_eq!(datas(&rest), [0, 2].map(block).to_vec());
    assert_eq!(q.stats().corrupt_blocks, 1);
    assert_eq!(q.stats().pending_blocks, 3);
}

#[test]
fn backlog_beyond_the_memory_cache_is_read_from_disk() {
    let dir = tempfile::tempdir().unwrap();
    let q = PersistentQueue::open(small(dir.path(), 1 << 20, 0)).unwrap();
    let blocks: Vec<Vec<u8>> = (0..40u8).map(|i| vec![i; 512 << 10]).collect();
    for b in &blocks {
        q.push(b).unwrap();
    }
    assert!(q.state.lock().cached_bytes <= MEMORY_CACHE_BYTES);
    assert!(q.state.lock().unread.iter().any(|u| u.data.is_none()));
    let got = drain(&q);
    assert_eq!(datas(&got), blocks);
    assert_eq!(q.state.lock().cached_bytes, 0);
}

#[test]
fn the_disk_budget_drops_the_oldest_segments_and_counts_them() {
    let dir = tempfile::tempdir().unwrap();
    // 4 KiB budget, segments of 1 KiB; 100-byte blocks (112 with the header).
    let o = small(dir.path(), 1 << 20, 4096);
    assert_eq!(o.effective_segment_bytes(), 1024);
    let q = PersistentQueue::open(o.clone()).unwrap();
    let payload = |i: usize| vec![i as u8; 100];
    for i in 0..200 {
        q.push(&payload(i)).unwrap();
        let disk: u64 = segment_files(&o)
            .iter()
            .map(|p| p.metadata().unwrap().len())
            .sum();
        assert!(disk <= 4096, "{disk} bytes on disk after push {i}");
    }
    let s = q.stats();
    assert_eq!(s.written_blocks, 200);
    assert!(s.dropped_blocks > 100, "{s:?}");
    assert_eq!(s.dropped_bytes, s.dropped_blocks * 100);
    assert_eq!(s.pending_blocks + s.dropped_blocks, 200);
    let rest = drain(&q);
    assert_eq!(rest.len() as u64, s.pending_blocks);
    // What is left is the newest blocks, in order.
    let first = 200 - rest.len();
    assert_eq!(datas(&rest), (first..200).map(payload).collect::<Vec<_>>());
}

#[test]
fn dropping_blocks_that_are_handed_out_makes_their_ack_a_no_op() {
    let dir = tempfile::tempdir().unwrap();
    let q = PersistentQueue::open(small(dir.path(), 1 << 20, 2048)).unwrap();
    q.push(&[1; 100]).unwrap();
    let held = q.next().unwrap().unwrap();
    for _ in 0..40 {
        q.push(&[2; 100]).unwrap();
    }
    assert!(q.stats().dropped_blocks >= 1);
    q.ack(held.id).unwrap();
    let s = q.stats();
    assert_eq!(s.pending_blocks + s.dropped_blocks, 41, "{s:?}");
}

#[test]
fn a_block_larger_than_the_budget_is_dropped_and_counted() {
    let dir = tempfile::tempdir().unwrap();
    let q = PersistentQueue::open(small(dir.path(), 0, 1000)).unwrap();
    q.push(b"small").unwrap();
    q.push(&vec![0u8; 1000]).unwrap();
    let s = q.stats();
    assert_eq!((s.dropped_blocks, s.dropped_bytes), (1, 1000));
    assert_eq!((s.written_blocks, s.pending_blocks), (1, 1));
    assert_eq!(datas(&drain(&q)), vec![b"small".to_vec()]);
}

#[test]
fn a_block_over_the_record_limit_is_an_error_when_unbounded() {
    let dir = tempfile::tempdir().unwrap();
    let q = PersistentQueue::open(opts(dir.path())).unwrap();
    let huge = vec![0u8; MAX_BLOCK_BYTES + 1];
    let err = q.push(&huge).unwrap_err();
    assert!(
        matches!(err, QueueError::BlockTooLarge { len, max } if len == MAX_BLOCK_BYTES + 1 && max == MAX_BLOCK_BYTES),
        "{err}"
    );
}

#[test]
fn segments_roll_over_and_fully_acked_ones_are_deleted() {
    let dir = tempfile::tempdir().unwrap();
    let o = small(dir.path(), 256, 0);
    let q = PersistentQueue::open(o.clone()).unwrap();
    for i in 0..30 {
        q.push(&[i; 50]).unwrap();
    }
    let files = segment_files(&o);
    assert!(files.len() >= 7, "{files:?}");
    for p in &files {
        assert!(p.metadata().unwrap().len() <= 256);
    }
    // Rotated segments wait for the next sync to be fsynced.
    assert_eq!(q.state.lock().unsynced.len(), files.len() - 1);
    let blocks = drain(&q);
    // Acking everything but the last block deletes every segment but the last one, and
    // no handle of a deleted segment is kept for the sync.
    for b in &blocks[..29] {
        q.ack(b.id).unwrap();
    }
    assert_eq!(segment_files(&o), files[files.len() - 1..].to_vec());
    assert!(q.state.lock().unsynced.is_empty());
    q.push(&[0; 200]).unwrap(); // rotates
    assert_eq!(q.state.lock().unsynced.len(), 1);
    q.sync().unwrap();
    assert!(q.state.lock().unsynced.is_empty());
    let extra = q.next().unwrap().unwrap();
    q.ack(extra.id).unwrap();
    q.ack(blocks[29].id).unwrap();
    q.close().unwrap();
    // Reopen: the last segment is fully acked, so only the new active one is left.
    let q = PersistentQueue::open(o.clone()).unwrap();
    assert!(q.next().unwrap().is_none());
    let left = segment_files(&o);
    assert_eq!(left.len(), 1);
    assert_eq!(
        left[0].metadata().unwrap().len(),
        SEGMENT_HEADER_BYTES as u64
    );
}

#[test]
fn concurrent_pushers_and_senders_see_every_block_once() {
    let dir = tempfile::tempdir().unwrap();
    // Small segments and no memory cache: disk reads, rotations and deletions all happen
    // while the threads run.
    let q = PersistentQueue::open(small(dir.path(), 4096, 0)).unwrap();
    q.state.lock().cache_limit = 0;
    let (producers, per_producer) = (2u8, 400u16);
    let delivered = std::sync::Mutex::new(Vec::new());
    std::thread::scope(|s| {
        for p in 0..producers {
            let q = &q;
            s.spawn(move || {
                for i in 0..per_producer {
                    let mut data = vec![p; 64];
                    data.extend_from_slice(&i.to_le_bytes());
                    q.push(&data).unwrap();
                }
            });
        }
        for _ in 0..3 {
            let (q, delivered) = (&q, &delivered);
            s.spawn(move || {
                let total = usize::from(producers) * usize::from(per_producer);
                while delivered.lock().unwrap().len() < total {
                    match q.next().unwrap() {
                        Some(b) => {
                            q.ack(b.id).unwrap();
                            delivered.lock().unwrap().push(b);
                        }
                        None => std::thread::yield_now(),
                    }
                }
            });
        }
    });
    let mut got = delivered.into_inner().unwrap();
    got.sort_by_key(|b| b.id);
    assert!(
        got.windows(2).all(|w| w[0].id < w[1].id),
        "a block came out twice"
    );
    for p in 0..producers {
        // Each producer's blocks, in id order, are its pushes in order.
        let seq: Vec<u16> = got
            .iter()
            .filter(|b| b.data[0] == p)
            .map(|b| u16::from_le_bytes([b.data[64], b.data[65]]))
            .collect();
        assert_eq!(seq, (0..per_producer).collect::<Vec<_>>());
    }
    assert_eq!(q.stats().pending_blocks, 0);
    drop(q);
    let q = PersistentQueue::open(small(dir.path(), 4096, 0)).unwrap();
    assert!(q.next().unwrap().is_none());
}

#[test]
fn closed_queue_refuses_push_next_and_ack() {
    let dir = tempfile::tempdir().unwrap();
    let q = PersistentQueue::open(opts(dir.path())).unwrap();
    q.push(b"a").unwrap();
    let b = q.next().unwrap().unwrap();
    q.close().unwrap();
    q.close().unwrap();
    assert!(matches!(q.push(b"b"), Err(QueueError::Closed)));
    assert!(matches!(q.next(), Err(QueueError::Closed)));
    assert!(matches!(q.ack(b.id), Err(QueueError::Closed)));
    // The lock is released by close: the directory opens while `q` is still alive, and
    // the block whose ack came too late is handed out again.
    let again = PersistentQueue::open(opts(dir.path())).unwrap();
    assert_eq!(again.next().unwrap(), Some(b));
}

#[test]
fn a_directory_is_open_in_one_queue_at_a_time() {
    let dir = tempfile::tempdir().unwrap();
    let q = PersistentQueue::open(opts(dir.path())).unwrap();
    let err = PersistentQueue::open(opts(dir.path())).unwrap_err();
    let lock = opts(dir.path()).dir.join(files::LOCK_FILE);
    assert!(
        matches!(&err, QueueError::Locked { path } if *path == lock),
        "{err}"
    );
    drop(q);
    let q = PersistentQueue::open(opts(dir.path())).unwrap();
    q.close().unwrap();
    PersistentQueue::open(opts(dir.path())).unwrap();
}

#[test]
fn acking_an_id_never_handed_out_is_an_error() {
    let dir = tempfile::tempdir().unwrap();
    let q = PersistentQueue::open(opts(dir.path())).unwrap();
    q.push(b"a").unwrap();
    q.push(b"b").unwrap();
    let a = q.next().unwrap().unwrap();
    let err = q.ack(a.id + 1000).unwrap_err();
    assert!(
        matches!(err, QueueError::UnknownBlock { id } if id == a.id + 1000),
        "{err}"
    );
    q.ack(a.id).unwrap();
    q.ack(a.id).unwrap(); // twice: nothing happens
}

#[tokio::test]
async fn push_and_close_notify_waiters() {
    let dir = tempfile::tempdir().unwrap();
    let q = std::sync::Arc::new(PersistentQueue::open(opts(dir.path())).unwrap());
    let notify = q.notify();
    let waiter = {
        let q = q.clone();
        tokio::spawn(async move {
            let notify = q.notify();
            loop {
                let notified = notify.notified();
                tokio::pin!(notified);
                notified.as_mut().enable();
                if let Some(b) = q.next().unwrap() {
                    return b.data;
                }
                notified.await;
            }
        })
    };
    tokio::task::yield_now().await;
    q.push(b"wake").unwrap();
    assert_eq!(waiter.await.unwrap(), b"wake");
    let closed = notify.notified();
    tokio::pin!(closed);
    closed.as_mut().enable();
    q.close().unwrap();
    closed.await;
}

#[test]
fn damaged_metadata_is_an_error_naming_the_offset() {
    let dir = tempfile::tempdir().unwrap();
    let o = opts(dir.path());
    PersistentQueue::open(o.clone()).unwrap().close().unwrap();
    let path = o.dir.join(files::META_FILE);
    let mut bytes = std::fs::read(&path).unwrap();
    bytes[9] ^= 1; // inside the head position
    std::fs::write(&path, &bytes).unwrap();
    let err = PersistentQueue::open(o.clone()).unwrap_err();
    let end = bytes.len() - 4;
    assert!(
        matches!(&err, QueueError::Corrupt { path: p, offset, .. } if *p == path && *offset == end),
        "{err}"
    );
    std::fs::write(&path, b"GNPM").unwrap();
    let err = PersistentQueue::open(o).unwrap_err();
    assert!(
        matches!(
            err,
            QueueError::Corrupt {
                offset: 4,
                reason: "version",
                ..
            }
        ),
        "{err}"
    );
}

#[test]
fn foreign_and_damaged_files_in_the_directory_do_not_stop_open() {
    let dir = tempfile::tempdir().unwrap();
    let o = opts(dir.path());
    let q = PersistentQueue::open(o.clone()).unwrap();
    q.push(b"kept").unwrap();
    q.close().unwrap();
    std::fs::write(o.dir.join("README"), b"not a segment").unwrap();
    std::fs::write(o.dir.join("ffffffffffffff00"), b"GNPQ\x02\0\0\0").unwrap(); // bad version
    std::fs::write(o.dir.join("ffffffffffffff80"), b"GNP").unwrap(); // short: removed
    let q = PersistentQueue::open(o.clone()).unwrap();
    assert_eq!(datas(&drain(&q)), vec![b"kept".to_vec()]);
    assert_eq!(q.stats().corrupt_blocks, 1);
    assert!(o.dir.join("ffffffffffffff00.corrupt").exists());
    assert!(!o.dir.join("ffffffffffffff80").exists());
    assert!(o.dir.join("README").exists());
}

/// Pins the record and segment layout drawn in docs/format/persistent-queue.md.
#[test]
fn golden_bytes_of_a_segment() {
    let mut seg = segment::segment_header().to_vec();
    encode_record(b"a", &mut seg);
    encode_record(b"hello", &mut seg);
    let hex: Vec<String> = seg.iter().map(|b| format!("{b:02x}")).collect();
    assert_eq!(
        hex.join(" "),
        "47 4e 50 51 01 00 00 00 \
         01 00 00 00 43 be b7 e8 0b a9 bc ea 61 \
         05 00 00 00 86 a6 10 36 f0 9e 7d bd 68 65 6c 6c 6f"
    );
}

/// An operation of the model-based test.
#[derive(Debug, Clone)]
enum Op {
    Push(usize),
    Next,
    /// Ack the handed-out block at this index (modulo their count).
    Ack(usize),
    Reopen {
        close: bool,
    },
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        4 => (0usize..300).prop_map(Op::Push),
        3 => Just(Op::Next),
        3 => any::<usize>().prop_map(Op::Ack),
        1 => any::<bool>().prop_map(|close| Op::Reopen { close }),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    /// Against a model (unread blocks in order, handed-out blocks): the same blocks come
    /// out, in order, none lost, none duplicated, across reopens with or without close.
    #[test]
    fn queue_matches_a_vecdeque_model(ops in proptest::collection::vec(op(), 1..120)) {
        let dir = tempfile::tempdir().unwrap();
        let o = small(dir.path(), 1500, 0);
        let mut q = PersistentQueue::open(o.clone()).unwrap();
        let mut unread: VecDeque<Vec<u8>> = VecDeque::new();
        let mut held: Vec<Block> = Vec::new();
        let mut n = 0usize;
        for op in ops {
            match op {
                Op::Push(len) => {
                    let data: Vec<u8> = (0..len).map(|i| (n + i) as u8).chain(n.to_le_bytes()).collect();
                    n += 1;
                    q.push(&data).unwrap();
                    unread.push_back(data);
                }
                Op::Next => {
                    let got = q.next().unwrap();
                    prop_assert_eq!(got.as_ref().map(|b| &b.data), unread.front());
                    if let Some(b) = got {
                        prop_assert!(held.iter().all(|h| h.id != b.id));
                        unread.pop_front();
                        held.push(b);
                    }
                }
                Op::Ack(i) if !held.is_empty() => {
                    let b = held.remove(i % held.len());
                    q.ack(b.id).unwrap();
                }
                Op::Ack(_) => {}
                Op::Reopen { close } => {
                    if close {
                        q.close().unwrap();
                    }
                    drop(q);
                    q = PersistentQueue::open(o.clone()).unwrap();
                    // Handed-out blocks come out again, before the unread ones, in order.
                    held.sort_by_key(|b| b.id);
                    for b in held.drain(..).rev() {
                        unread.push_front(b.data);
                    }
                }
            }
            let s = q.stats();
            prop_assert_eq!(s.pending_blocks as usize, unread.len() + held.len());
        }
        let rest = drain(&q);
        prop_assert_eq!(datas(&rest), Vec::from(unread));
        prop_assert_eq!(q.stats().corrupt_blocks, 0);
    }

    /// Metadata round-trips; arbitrary bytes decode or give `Corrupt`, never panic.
    #[test]
    fn metadata_round_trips_and_arbitrary_bytes_never_panic(
        head in 0u64..1 << 40,
        acked in proptest::collection::btree_set(0u64..1 << 40, 0..20),
        name in ".{0,20}",
        noise in proptest::collection::vec(any::<u8>(), 0..100),
    ) {
        let m = meta::Meta { head, acked, name };
        let path = Path::new("meta");
        prop_assert_eq!(meta::Meta::decode(&m.encode(), path).unwrap(), m);
        if let Err(e) = meta::Meta::decode(&noise, path) {
            let ok = matches!(e, QueueError::Corrupt { offset, .. } if offset <= noise.len());
            prop_assert!(ok, "{}", e);
        }
    }

    /// Arbitrary bytes after a valid header scan without panicking, and every record the
    /// scan reports is intact and inside the bytes.
    #[test]
    fn scanning_arbitrary_bytes_never_panics(tail in proptest::collection::vec(any::<u8>(), 0..400)) {
        let mut bytes = segment::segment_header().to_vec();
        encode_record(b"first", &mut bytes);
        bytes.extend_from_slice(&tail);
        let scan = scan_segment(&bytes).unwrap();
        prop_assert!(scan.valid_end <= bytes.len());
        prop_assert_eq!(scan.records[0], segment::RecordSpan { offset: 8, len: 5 });
        for r in &scan.records {
            prop_assert_eq!(segment::check_record(&bytes, r.offset), Ok(Some(r.len)));
        }
    }
}
