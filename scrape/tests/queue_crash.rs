//! `kill -9` of a process pushing to and acking from a persistent queue: every block
//! whose push returned is there after reopening, exactly once and in order, and no acked
//! block comes back.
//!
//! The test runs its own executable again as the child (`GNOMON_QUEUE_CRASH_DIR` set),
//! which pushes and acks forever, printing `pushed I` / `acked I` after each call
//! returned; the parent kills it with SIGKILL once enough pushes were reported.

use std::collections::BTreeSet;
use std::io::{BufRead, BufReader, Write};
use std::path::Path;
use std::process::{Command, Stdio};

use gnomon_scrape::queue::{Block, PersistentQueue, QueueOptions};

const DIR_VAR: &str = "GNOMON_QUEUE_CRASH_DIR";
const START_VAR: &str = "GNOMON_QUEUE_CRASH_START";
const TEST_NAME: &str = "kill_9_loses_no_pushed_block_and_revives_no_acked_one";

fn options(dir: &Path) -> QueueOptions {
    QueueOptions {
        dir: dir.to_path_buf(),
        segment_bytes: 256 << 10, // rotations and deletions happen during the run
        name: "crash".into(),
        ..QueueOptions::default()
    }
}

/// Block `i`: its index, then 200..5200 bytes derived from it.
fn payload(i: u64) -> Vec<u8> {
    let filler = 200 + (i * 7919) % 5000;
    let mut out = i.to_le_bytes().to_vec();
    out.extend((0..filler).map(|k| (i.wrapping_mul(31) ^ k) as u8));
    out
}

fn index_of(block: &Block) -> u64 {
    let i = u64::from_le_bytes(block.data[..8].try_into().expect("8 bytes"));
    assert_eq!(
        block.data,
        payload(i),
        "block {} has damaged bytes",
        block.id
    );
    i
}

/// The child: recovers, then pushes blocks from `start` on, handing them out and acking
/// some of them out of order, until it is killed.
fn child(dir: &Path, start: u64) -> ! {
    let q = PersistentQueue::open(options(dir)).expect("child open");
    let mut out = std::io::stdout().lock();
    let mut held: Vec<Block> = Vec::new();
    for i in start.. {
        q.push(&payload(i)).expect("push");
        writeln!(out, "pushed {i}")
            .and_then(|_| out.flush())
            .expect("stdout");
        if let Some(b) = q.next().expect("next") {
            held.push(b);
        }
        // Ack the middle of the held blocks (out of order), and now and then the oldest.
        let pick = match (held.len(), i % 5) {
            (4.., _) => Some(2),
            (1.., 0) => Some(0),
            _ => None,
        };
        if let Some(k) = pick {
            let b = held.remove(k);
            // Announced first: an ack may return without its "acked" line being printed.
            writeln!(out, "acking {}", index_of(&b))
                .and_then(|_| out.flush())
                .expect("stdout");
            q.ack(b.id).expect("ack");
            writeln!(out, "acked {}", index_of(&b))
                .and_then(|_| out.flush())
                .expect("stdout");
        }
    }
    unreachable!("the child pushes until it is killed")
}

/// What one child reported before it died.
#[derive(Default)]
struct Report {
    pushed: BTreeSet<u64>,
    acked: BTreeSet<u64>,
    /// Announced acks: acked or not, depending on when the child died.
    acking: BTreeSet<u64>,
}

/// Runs a child from `start` until it reported `pushes` pushes, kills it with SIGKILL,
/// and returns every line it managed to write.
fn run_child(dir: &Path, start: u64, pushes: usize) -> Report {
    let mut child = Command::new(std::env::current_exe().expect("test executable"))
        .args([TEST_NAME, "--exact", "--nocapture", "--test-threads=1"])
        .env(DIR_VAR, dir)
        .env(START_VAR, start.to_string())
        .stdout(Stdio::piped())
        .spawn()
        .expect("spawn the child");
    let lines = BufReader::new(child.stdout.take().expect("stdout")).lines();
    let mut report = Report::default();
    let mut killed = false;
    for line in lines {
        let line = line.expect("child stdout");
        if let Some(i) = line.strip_prefix("pushed ") {
            report.pushed.insert(i.parse().expect("index"));
        } else if let Some(i) = line.strip_prefix("acked ") {
            report.acked.insert(i.parse().expect("index"));
        } else if let Some(i) = line.strip_prefix("acking ") {
            report.acking.insert(i.parse().expect("index"));
        }
        if !killed && report.pushed.len() >= pushes {
            child.kill().expect("SIGKILL the child");
            killed = true; // keep reading what it wrote before it died
        }
    }
    let status = child.wait().expect("wait");
    assert!(killed, "the child ended by itself: {status}");
    report
}

#[test]
fn kill_9_loses_no_pushed_block_and_revives_no_acked_one() {
    if let Ok(dir) = std::env::var(DIR_VAR) {
        let start = std::env::var(START_VAR)
            .expect("start")
            .parse()
            .expect("start index");
        child(Path::new(&dir), start);
    }
    let tmp = tempfile::tempdir().expect("tempdir");
    let dir = tmp.path().join("queue");
    // Two children on the same directory: the second recovers what the first left,
    // acks some recovered blocks, pushes more, and is killed too.
    let first = run_child(&dir, 0, 2500);
    let second = run_child(&dir, 1_000_000, 1800);
    let pushed: BTreeSet<u64> = first.pushed.union(&second.pushed).copied().collect();
    let acked: BTreeSet<u64> = first.acked.union(&second.acked).copied().collect();
    let acking: BTreeSet<u64> = first.acking.union(&second.acking).copied().collect();
    assert!(acked.len() > 500, "only {} acks reported", acked.len());
    // A push may have returned without its line being printed: the one after the last
    // printed push of each child may be there too. Likewise an announced ack ("acking")
    // may or may not have happened; every "acked" one did.
    let maybe = [
        first.pushed.last().map_or(0, |i| i + 1),
        second.pushed.last().map_or(1_000_000, |i| i + 1),
    ];

    let q = PersistentQueue::open(options(&dir)).expect("reopen after kill -9");
    let mut got = Vec::new();
    while let Some(b) = q.next().expect("next") {
        got.push(index_of(&b));
    }
    assert!(
        got.windows(2).all(|w| w[0] < w[1]),
        "out of order or duplicated: {got:?}"
    );
    let got: BTreeSet<u64> = got.into_iter().collect();
    let revived: Vec<_> = got.intersection(&acked).take(20).collect();
    assert!(revived.is_empty(), "acked blocks came back: {revived:?}");
    let lost: Vec<_> = pushed
        .difference(&acking)
        .filter(|i| !got.contains(i))
        .take(20)
        .collect();
    assert!(lost.is_empty(), "pushed blocks lost: {lost:?}");
    let unexpected: Vec<_> = got
        .difference(&pushed)
        .filter(|i| !maybe.contains(i))
        .collect();
    assert!(unexpected.is_empty(), "blocks never pushed: {unexpected:?}");
    assert_eq!(q.stats().corrupt_blocks, 0);
}
