//! Tests of the whole log: round trips across rotations and reopen, torn and corrupt
//! segments, concurrency, segment removal.

use std::fs;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use proptest::prelude::*;

use super::format::SEGMENT_HEADER_LEN;
use super::segment::segment_name;
use super::*;

fn opts(segment_bytes: u64, fsync: FsyncPolicy) -> WalOptions {
    WalOptions {
        segment_bytes,
        fsync,
    }
}

/// Interval long enough that the background thread never runs during a test.
fn lazy(segment_bytes: u64) -> WalOptions {
    opts(
        segment_bytes,
        FsyncPolicy::Interval(Duration::from_secs(3600)),
    )
}

fn replay_all(wal: &Wal) -> (Vec<(u64, Vec<u8>)>, ReplayStats) {
    let mut out = Vec::new();
    let stats = wal
        .replay(|seq, payload| {
            out.push((seq, payload.to_vec()));
            Ok(())
        })
        .unwrap();
    (out, stats)
}

fn payloads(records: &[(u64, Vec<u8>)]) -> Vec<Vec<u8>> {
    records.iter().map(|(_, p)| p.clone()).collect()
}

/// Writes three records (`b"one"`, `b"two2"`, `b"three"`) into segment 1 of `dir`.
fn three_record_segment(dir: &Path) -> Vec<u8> {
    let wal = Wal::open(dir, lazy(1 << 20)).unwrap();
    for p in [&b"one"[..], b"two2", b"three"] {
        wal.append(p).unwrap();
    }
    wal.close().unwrap();
    fs::read(dir.join(segment_name(1))).unwrap()
}

#[test]
fn wal_is_send_and_sync() {
    fn check<T: Send + Sync>() {}
    check::<Wal>();
}

#[test]
fn replay_returns_records_across_rotations_and_reopen() {
    let dir = tempfile::tempdir().unwrap();
    let wal = Wal::open(dir.path(), lazy(64)).unwrap();
    assert_eq!(replay_all(&wal).1, ReplayStats::default());
    wal.append(b"a").unwrap();
    wal.append(b"b").unwrap();
    let seq = wal.rotate().unwrap();
    assert_eq!(seq, 2);
    assert_eq!(wal.rotate().unwrap(), 2, "an empty segment is not rotated");
    // 40-byte payloads: a second one would exceed 64 bytes, so each gets its own segment.
    wal.append(&[7u8; 40]).unwrap();
    wal.append(&[8u8; 40]).unwrap();
    wal.close().unwrap();

    let wal = Wal::open(dir.path(), lazy(64)).unwrap();
    let (records, stats) = replay_all(&wal);
    assert_eq!(
        records,
        vec![
            (1, b"a".to_vec()),
            (1, b"b".to_vec()),
            (2, vec![7u8; 40]),
            (3, vec![8u8; 40]),
        ]
    );
    assert_eq!(
        stats,
        ReplayStats {
            segments: 3,
            records: 4,
            bytes: 82,
            truncated_segments: 0
        }
    );
    // Appends after the replay go to a new segment and are not replayed by this handle.
    wal.append(b"c").unwrap();
    assert_eq!(replay_all(&wal).0.len(), 4);
    wal.close().unwrap();
    let wal = Wal::open(dir.path(), lazy(64)).unwrap();
    assert_eq!(replay_all(&wal).0.last(), Some(&(4, b"c".to_vec())));
}

#[test]
fn truncation_at_every_offset_keeps_the_records_before_the_cut() {
    let src = tempfile::tempdir().unwrap();
    let full = three_record_segment(src.path());
    let header = SEGMENT_HEADER_LEN as usize;
    // Record boundaries: header, then 8 + payload each.
    let ends = [header + 11, header + 11 + 12, header + 11 + 12 + 13];
    assert_eq!(full.len(), ends[2]);
    let all: [&[u8]; 3] = [b"one", b"two2", b"three"];

    for cut in 0..=full.len() {
        let dir = tempfile::tempdir().unwrap();
        let seg = dir.path().join(segment_name(1));
        fs::write(&seg, &full[..cut]).unwrap();
        let wal = Wal::open(dir.path(), lazy(1 << 20)).unwrap();
        let (records, stats) = replay_all(&wal);
        if cut < header {
            assert!(records.is_empty(), "cut {cut}");
            assert_eq!(stats.segments, 0, "cut {cut}");
            assert!(!seg.exists(), "cut {cut}");
            assert_eq!(
                dir.path()
                    .join(format!("{}.corrupt", segment_name(1)))
                    .exists(),
                cut > 0,
                "cut {cut}"
            );
            continue;
        }
        let kept = ends.iter().filter(|&&end| end <= cut).count();
        let expected: Vec<Vec<u8>> = all[..kept].iter().map(|p| p.to_vec()).collect();
        assert_eq!(payloads(&records), expected, "cut {cut}");
        let boundary = if kept == 0 { header } else { ends[kept - 1] };
        assert_eq!(
            stats.truncated_segments,
            u64::from(boundary != cut),
            "cut {cut}"
        );
        assert_eq!(
            fs::metadata(&seg).unwrap().len(),
            boundary as u64,
            "cut {cut}"
        );
        // The log stays usable and the truncated segment replays cleanly next time.
        wal.append(b"after").unwrap();
        wal.close().unwrap();
        let wal = Wal::open(dir.path(), lazy(1 << 20)).unwrap();
        let (records, stats) = replay_all(&wal);
        let mut expected = expected;
        expected.push(b"after".to_vec());
        assert_eq!(payloads(&records), expected, "cut {cut}, reopened");
        assert_eq!(stats.truncated_segments, 0, "cut {cut}, reopened");
    }
}

#[test]
fn flipped_byte_in_middle_record_keeps_earlier_records_and_later_segments() {
    let header = SEGMENT_HEADER_LEN as usize;
    // Offsets inside record 2 ("two2", starting after record 1's 11 bytes): its length
    // field, its crc, its payload.
    for offset in [header + 11, header + 11 + 5, header + 11 + 9] {
        let dir = tempfile::tempdir().unwrap();
        let mut bytes = three_record_segment(dir.path());
        let wal = Wal::open(dir.path(), lazy(1 << 20)).unwrap();
        replay_all(&wal);
        wal.append(b"later segment").unwrap();
        wal.close().unwrap();

        bytes[offset] ^= 0x40;
        fs::write(dir.path().join(segment_name(1)), &bytes).unwrap();
        let wal = Wal::open(dir.path(), lazy(1 << 20)).unwrap();
        let (records, stats) = replay_all(&wal);
        assert_eq!(
            records,
            vec![(1, b"one".to_vec()), (2, b"later segment".to_vec())],
            "flip at {offset}"
        );
        assert_eq!(stats.truncated_segments, 1, "flip at {offset}");
        assert_eq!(
            fs::metadata(dir.path().join(segment_name(1)))
                .unwrap()
                .len(),
            (header + 11) as u64
        );
    }
}

#[test]
fn zero_filled_tail_is_cut_off() {
    let dir = tempfile::tempdir().unwrap();
    let bytes = three_record_segment(dir.path());
    let mut padded = bytes.clone();
    padded.resize(bytes.len() + 4096, 0);
    let seg = dir.path().join(segment_name(1));
    fs::write(&seg, &padded).unwrap();
    let wal = Wal::open(dir.path(), lazy(1 << 20)).unwrap();
    let (records, stats) = replay_all(&wal);
    assert_eq!(records.len(), 3);
    assert_eq!(stats.truncated_segments, 1);
    assert_eq!(fs::read(&seg).unwrap(), bytes);
}

#[test]
fn bad_header_segment_is_set_aside_and_unknown_files_left_alone() {
    let dir = tempfile::tempdir().unwrap();
    three_record_segment(dir.path());
    fs::write(dir.path().join(segment_name(2)), b"garbage!").unwrap();
    fs::write(dir.path().join("README"), b"not a segment").unwrap();
    let wal = Wal::open(dir.path(), lazy(1 << 20)).unwrap();
    let (records, stats) = replay_all(&wal);
    assert_eq!(records.len(), 3);
    assert_eq!(stats.segments, 1);
    assert!(dir.path().join("0000000000000002.corrupt").exists());
    assert_eq!(
        fs::read(dir.path().join("README")).unwrap(),
        b"not a segment"
    );
    // New segments are numbered after the one set aside.
    wal.append(b"x").unwrap();
    assert_eq!(wal.rotate().unwrap(), 4);
}

#[test]
fn callback_error_aborts_the_replay() {
    let dir = tempfile::tempdir().unwrap();
    three_record_segment(dir.path());
    let wal = Wal::open(dir.path(), lazy(1 << 20)).unwrap();
    let mut seen = 0;
    let err = wal
        .replay(|_, payload| {
            seen += 1;
            if payload == b"two2" {
                return Err(Error::decode("rows", "test"));
            }
            Ok(())
        })
        .unwrap_err();
    assert!(matches!(err, Error::Decode { what: "rows", .. }));
    assert_eq!(seen, 2);
}

#[test]
fn invalid_payloads_and_options_are_rejected() {
    let dir = tempfile::tempdir().unwrap();
    let err = Wal::open(dir.path(), lazy(0)).unwrap_err();
    assert!(matches!(
        err,
        Error::InvalidArgument {
            what: "wal segment_bytes",
            ..
        }
    ));
    let err = Wal::open(
        dir.path(),
        opts(1 << 20, FsyncPolicy::Interval(Duration::ZERO)),
    )
    .unwrap_err();
    assert!(matches!(
        err,
        Error::InvalidArgument {
            what: "wal fsync interval",
            ..
        }
    ));

    let wal = Wal::open(dir.path(), lazy(1 << 20)).unwrap();
    let err = wal.append(b"").unwrap_err();
    assert!(matches!(
        err,
        Error::InvalidArgument {
            what: "wal payload",
            ..
        }
    ));
    let err = wal.append(&vec![0u8; MAX_PAYLOAD_BYTES + 1]).unwrap_err();
    assert!(matches!(
        err,
        Error::InvalidArgument {
            what: "wal payload",
            ..
        }
    ));
}

#[test]
fn remove_segments_before_deletes_old_segments_only() {
    let dir = tempfile::tempdir().unwrap();
    let wal = Wal::open(dir.path(), opts(1 << 20, FsyncPolicy::EveryCommit)).unwrap();
    wal.append(&[1u8; 100]).unwrap();
    let second = wal.rotate().unwrap();
    wal.append(&[2u8; 100]).unwrap();
    let third = wal.rotate().unwrap();
    wal.append(&[3u8; 100]).unwrap();
    let record = 108;
    assert_eq!(wal.size_bytes(), 3 * (SEGMENT_HEADER_LEN + record));
    assert_eq!(wal.size_bytes(), crate::fs::dir_size(dir.path()));

    wal.remove_segments_before(third).unwrap();
    assert!(!dir.path().join(segment_name(1)).exists());
    assert!(!dir.path().join(segment_name(second)).exists());
    assert_eq!(wal.size_bytes(), SEGMENT_HEADER_LEN + record);
    // The active segment survives any bound.
    wal.remove_segments_before(u64::MAX).unwrap();
    assert_eq!(wal.size_bytes(), SEGMENT_HEADER_LEN + record);
    wal.close().unwrap();

    let wal = Wal::open(dir.path(), lazy(1 << 20)).unwrap();
    let (records, _) = replay_all(&wal);
    assert_eq!(records, vec![(third, vec![3u8; 100])]);
}

fn concurrent_appenders_lose_nothing(fsync: FsyncPolicy) {
    const THREADS: u32 = 4;
    const PER_THREAD: u32 = 150;
    let dir = tempfile::tempdir().unwrap();
    // Small segments: rotations happen while other threads append and sync.
    let wal = Arc::new(Wal::open(dir.path(), opts(2048, fsync)).unwrap());
    let handles: Vec<_> = (0..THREADS)
        .map(|t| {
            let wal = Arc::clone(&wal);
            std::thread::spawn(move || {
                for i in 0..PER_THREAD {
                    let mut payload = vec![0u8; 8 + (i as usize % 50)];
                    payload[..4].copy_from_slice(&t.to_le_bytes());
                    payload[4..8].copy_from_slice(&i.to_le_bytes());
                    wal.append(&payload).unwrap();
                }
            })
        })
        .collect();
    for h in handles {
        h.join().unwrap();
    }
    Arc::into_inner(wal).unwrap().close().unwrap();

    let wal = Wal::open(dir.path(), lazy(2048)).unwrap();
    let (records, stats) = replay_all(&wal);
    assert!(stats.segments > 1, "no rotation happened");
    let mut next = [0u32; THREADS as usize];
    for (_, p) in &records {
        let t = u32::from_le_bytes(p[..4].try_into().unwrap()) as usize;
        let i = u32::from_le_bytes(p[4..8].try_into().unwrap());
        assert_eq!(i, next[t], "thread {t} out of order");
        assert_eq!(p.len(), 8 + (i as usize % 50));
        next[t] += 1;
    }
    assert_eq!(next, [PER_THREAD; THREADS as usize]);
}

#[test]
fn concurrent_appenders_lose_nothing_with_every_commit() {
    concurrent_appenders_lose_nothing(FsyncPolicy::EveryCommit);
}

#[test]
fn concurrent_appenders_lose_nothing_with_interval() {
    concurrent_appenders_lose_nothing(FsyncPolicy::Interval(Duration::from_millis(1)));
}

#[test]
fn drop_without_close_keeps_records() {
    let dir = tempfile::tempdir().unwrap();
    {
        let wal = Wal::open(
            dir.path(),
            opts(1 << 20, FsyncPolicy::Interval(Duration::from_millis(5))),
        )
        .unwrap();
        wal.append(b"kept").unwrap();
        std::thread::sleep(Duration::from_millis(20));
    }
    let wal = Wal::open(dir.path(), lazy(1 << 20)).unwrap();
    assert_eq!(payloads(&replay_all(&wal).0), vec![b"kept".to_vec()]);
}

#[test]
fn interval_policy_syncs_in_the_background_and_every_commit_before_returning() {
    let dir = tempfile::tempdir().unwrap();
    let wal = Wal::open(
        dir.path(),
        opts(1 << 20, FsyncPolicy::Interval(Duration::from_millis(5))),
    )
    .unwrap();
    wal.append(b"one").unwrap();
    wal.append(b"two").unwrap();
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    while wal.inner.gate.synced() < 2 {
        assert!(std::time::Instant::now() < deadline, "no background sync");
        std::thread::sleep(Duration::from_millis(5));
    }
    wal.close().unwrap();

    let wal = Wal::open(dir.path(), opts(1 << 20, FsyncPolicy::EveryCommit)).unwrap();
    wal.append(b"three").unwrap();
    assert_eq!(wal.inner.gate.synced(), 1);
}

#[test]
fn segments_removed_before_replay_are_skipped() {
    let dir = tempfile::tempdir().unwrap();
    three_record_segment(dir.path());
    let wal = Wal::open(dir.path(), lazy(1 << 20)).unwrap();
    assert_eq!(wal.size_bytes(), 44 + SEGMENT_HEADER_LEN);
    wal.remove_segments_before(2).unwrap();
    let (records, stats) = replay_all(&wal);
    assert!(records.is_empty());
    assert_eq!(stats, ReplayStats::default());
    assert_eq!(wal.size_bytes(), SEGMENT_HEADER_LEN);
}

/// Set in the child process of [`kill_9_loses_no_acknowledged_append`]: the WAL directory.
const CHILD_DIR_ENV: &str = "GNOMON_WAL_KILL9_CHILD_DIR";

/// Runs twice: as the parent it starts this test binary again (filtered to this test) as
/// a child that appends numbered records and prints each acknowledged number, kills it
/// with SIGKILL mid-stream, and checks the replay holds every acknowledged record.
#[test]
fn kill_9_loses_no_acknowledged_append() {
    use std::io::{BufRead, BufReader, Write};
    use std::process::{Command, Stdio};

    if let Some(dir) = std::env::var_os(CHILD_DIR_ENV) {
        let wal = Wal::open(Path::new(&dir), lazy(64 << 10)).unwrap();
        let mut out = std::io::stdout().lock();
        // Bounded so an orphaned child ends by itself.
        for i in 0u64..2_000_000 {
            wal.append(&i.to_le_bytes()).unwrap();
            writeln!(out, "acked {i}").unwrap();
            out.flush().unwrap();
        }
        return;
    }

    let dir = tempfile::tempdir().unwrap();
    let mut child = Command::new(std::env::current_exe().unwrap())
        .args([
            "--exact",
            "wal::tests::kill_9_loses_no_acknowledged_append",
            "--nocapture",
            "--test-threads=1",
        ])
        .env(CHILD_DIR_ENV, dir.path())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut last_acked = None;
    for line in BufReader::new(child.stdout.take().unwrap()).lines() {
        let line = line.unwrap();
        if let Some(n) = line.strip_prefix("acked ") {
            let n: u64 = n.parse().unwrap();
            last_acked = Some(n);
            if n >= 20_000 {
                break;
            }
        }
    }
    child.kill().unwrap(); // SIGKILL
    child.wait().unwrap();
    let last_acked = last_acked.expect("child acknowledged nothing");

    let wal = Wal::open(dir.path(), lazy(64 << 10)).unwrap();
    let (records, stats) = replay_all(&wal);
    assert!(stats.segments > 1);
    assert!(records.len() as u64 > last_acked);
    for (i, (_, p)) in records.iter().enumerate() {
        assert_eq!(p.as_slice(), (i as u64).to_le_bytes(), "record {i}");
    }
}

#[derive(Debug, Clone)]
enum Op {
    Append(Vec<u8>),
    Rotate,
    Reopen,
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        6 => proptest::collection::vec(any::<u8>(), 1..80).prop_map(Op::Append),
        1 => Just(Op::Rotate),
        1 => Just(Op::Reopen),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(24))]

    /// Whatever the sequence of appends, rotations and reopens, a replay after reopen
    /// returns exactly the payloads appended, in order, with non-decreasing segment seqs.
    #[test]
    fn replay_equals_appended(
        segment_bytes in 16u64..400,
        ops in proptest::collection::vec(op(), 1..40),
    ) {
        let dir = tempfile::tempdir().unwrap();
        let mut appended: Vec<Vec<u8>> = Vec::new();
        let mut wal = Wal::open(dir.path(), lazy(segment_bytes)).unwrap();
        replay_all(&wal);
        for op in ops {
            match op {
                Op::Append(p) => {
                    wal.append(&p).unwrap();
                    appended.push(p);
                }
                Op::Rotate => {
                    wal.rotate().unwrap();
                }
                Op::Reopen => {
                    wal.close().unwrap();
                    wal = Wal::open(dir.path(), lazy(segment_bytes)).unwrap();
                    let (records, stats) = replay_all(&wal);
                    prop_assert_eq!(payloads(&records), appended.clone());
                    prop_assert_eq!(stats.truncated_segments, 0);
                    prop_assert!(records.windows(2).all(|w| w[0].0 <= w[1].0));
                }
            }
        }
        prop_assert_eq!(wal.size_bytes(), crate::fs::dir_size(dir.path()));
        wal.close().unwrap();
        let wal = Wal::open(dir.path(), lazy(segment_bytes)).unwrap();
        let (records, _) = replay_all(&wal);
        prop_assert_eq!(payloads(&records), appended);
    }
}
