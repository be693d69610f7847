//! Crash durability: a writer posts small batches while the server is killed with
//! SIGKILL at a (seeded) random moment; after a restart on the same data directory every
//! acknowledged sample must be there. Several rounds on one directory, so each restart
//! also replays what the previous crashes left.

mod common;

use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use common::{Server, data_dir, request, tempdir};

const ROUNDS: u64 = 6;
const ROWS_PER_BATCH: i64 = 20;

/// xorshift64*: a tiny seeded generator so a failing round can be replayed.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

/// One batch: `ROWS_PER_BATCH` rows of series `crash_test{round,batch_mod}` at distinct
/// timestamps, value = the row's global index (so the exact sample can be checked).
fn batch_body(round: u64, batch: i64, base_ms: i64) -> String {
    let mut s = String::new();
    for r in 0..ROWS_PER_BATCH {
        let idx = batch * ROWS_PER_BATCH + r;
        s.push_str(&format!(
            "crash_test{{round=\"{round}\",part=\"{}\"}} {idx} {}\n",
            idx % 3,
            base_ms + idx
        ));
    }
    s
}

/// Every stored `(round, part, timestamp) -> value` of the crash_test series.
fn stored(srv: &Server) -> BTreeMap<(String, String, i64), f64> {
    let r = srv.get("/api/v1/export?match[]=crash_test");
    assert_eq!(r.status, 200, "{}", r.text());
    let mut out = BTreeMap::new();
    for line in r.text().lines() {
        let v: serde_json::Value = serde_json::from_str(line).unwrap();
        let round = v["metric"]["round"].as_str().unwrap().to_owned();
        let part = v["metric"]["part"].as_str().unwrap().to_owned();
        let ts = v["timestamps"].as_array().unwrap();
        let vals = v["values"].as_array().unwrap();
        for (t, val) in ts.iter().zip(vals) {
            out.insert(
                (round.clone(), part.clone(), t.as_i64().unwrap()),
                val.as_f64().unwrap(),
            );
        }
    }
    out
}

#[test]
fn kill_9_during_ingestion_loses_no_acknowledged_sample() {
    let seed: u64 = std::env::var("GNOMON_CRASH_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(0x5eed_cafe);
    let mut rng = Rng(seed | 1);
    let dir = tempdir();
    let data = data_dir(&dir);
    let base_ms = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_millis() as i64
        - 3_600_000;
    // (round, batch) of every acknowledged batch, over all rounds.
    let mut acked_all: Vec<(u64, i64)> = Vec::new();

    for round in 0..ROUNDS {
        let srv = Server::start(&data, &[]);
        let addr = srv.addr.clone();
        let stop = Arc::new(AtomicBool::new(false));
        let acked_count = Arc::new(AtomicUsize::new(0));
        let round_base = base_ms + round as i64 * 1_000_000;
        let writer = {
            let (stop, acked_count) = (stop.clone(), acked_count.clone());
            std::thread::spawn(move || {
                let mut acked = Vec::new();
                let mut batch = 0i64;
                let deadline = Instant::now() + Duration::from_secs(20);
                while !stop.load(Ordering::Relaxed) && Instant::now() < deadline {
                    let body = batch_body(round, batch, round_base);
                    match request(
                        &addr,
                        "POST",
                        "/api/v1/import/prometheus",
                        &[],
                        body.as_bytes(),
                    ) {
                        Ok(r) if r.status == 204 => {
                            acked.push(batch);
                            acked_count.fetch_add(1, Ordering::Relaxed);
                        }
                        Ok(r) => panic!("unexpected answer {}: {}", r.status, r.text()),
                        // The server died under us: this batch is not acknowledged.
                        Err(_) => break,
                    }
                    batch += 1;
                }
                acked
            })
        };
        // Kill after a random number of acknowledged batches, while the writer keeps
        // posting (so the kill lands in the middle of a request most of the time).
        let kill_after = 2 + rng.below(40) as usize;
        let deadline = Instant::now() + Duration::from_secs(20);
        while acked_count.load(Ordering::Relaxed) < kill_after && Instant::now() < deadline {
            std::thread::yield_now();
        }
        let log = srv.log_text();
        srv.kill9();
        stop.store(true, Ordering::Relaxed);
        let acked = writer.join().expect("writer thread");
        assert!(
            acked.len() >= kill_after,
            "round {round}: only {} batches acknowledged; log:\n{log}",
            acked.len()
        );
        acked_all.extend(acked.iter().map(|&b| (round, b)));

        // Restart and check every acknowledged sample of every round so far.
        let srv = Server::start(&data, &[]);
        let have = stored(&srv);
        let mut missing = Vec::new();
        for &(r, b) in &acked_all {
            let rb = base_ms + r as i64 * 1_000_000;
            for i in 0..ROWS_PER_BATCH {
                let idx = b * ROWS_PER_BATCH + i;
                let key = (r.to_string(), (idx % 3).to_string(), rb + idx);
                if have.get(&key) != Some(&(idx as f64)) {
                    missing.push(key);
                }
            }
        }
        assert!(
            missing.is_empty(),
            "seed {seed:#x} round {round}: {} acknowledged samples lost, first {:?}; log:\n{}",
            missing.len(),
            &missing[..missing.len().min(5)],
            srv.log_text()
        );
        srv.kill9();
    }
    eprintln!(
        "crash test: {ROUNDS} rounds, {} acknowledged batches ({} samples), 0 lost",
        acked_all.len(),
        acked_all.len() as i64 * ROWS_PER_BATCH
    );
}
