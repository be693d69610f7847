//! A deterministic, seeded generator of PromLabs-demo-like samples (the metric names and
//! label sets the compliance queries expect), written as OpenMetrics text for
//! `promtool tsdb create-blocks-from openmetrics`.
//!
//! Every series of one instance shares the scrape timestamp, as a real scrape writes it.
//! Timestamps are `base + k·5 s + jitter` with a per-instance jitter of a few hundred
//! milliseconds, so no sample ever falls on a whole second: query windows (whole seconds,
//! steps of 10 s) never start exactly on a sample, and Prometheus 2.42's left-closed
//! windows and Prometheus 3's left-open windows select the same samples.

use std::fmt::Write as _;

/// 2026-01-31T23:00:00Z: the data crosses midnight and a month boundary, which the date
/// functions notice.
pub const BASE_MS: i64 = 1_769_900_400_000;
/// Scrape interval.
pub const STEP_MS: i64 = 5_000;
/// 95 minutes of scrapes.
pub const SCRAPES: i64 = 95 * 12;
/// The three demo instances.
pub const INSTANCES: [&str; 3] = [
    "demo.promlabs.com:10000",
    "demo.promlabs.com:10001",
    "demo.promlabs.com:10002",
];

/// splitmix64: small, seeded, good enough for test data.
struct Rng(u64);

impl Rng {
    fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in [0, 1).
    fn unit(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }

    /// Uniform integer in [lo, hi].
    fn range(&mut self, lo: i64, hi: i64) -> i64 {
        lo + (self.next_u64() % (hi - lo + 1) as u64) as i64
    }
}

/// One series: its labels (name first) and samples.
pub struct Series {
    /// `__name__` and the other labels, as pairs.
    pub labels: Vec<(String, String)>,
    /// (ms, value), ascending.
    pub samples: Vec<(i64, f64)>,
}

fn series(name: &str, instance: &str, extra: &[(&str, &str)]) -> Series {
    let mut labels = vec![
        ("__name__".to_owned(), name.to_owned()),
        ("instance".to_owned(), instance.to_owned()),
        ("job".to_owned(), "demo".to_owned()),
    ];
    labels.extend(
        extra
            .iter()
            .map(|(n, v)| ((*n).to_owned(), (*v).to_owned())),
    );
    Series {
        labels,
        samples: Vec::new(),
    }
}

const MEMORY_TYPES: [&str; 4] = ["buffers", "cached", "free", "used"];
const CPU_MODES: [&str; 3] = ["idle", "system", "user"];
const API: [(&str, &str, &str); 4] = [
    ("GET", "/api/foo", "200"),
    ("POST", "/api/foo", "200"),
    ("GET", "/api/bar", "200"),
    ("GET", "/api/bar", "500"),
];
const BUCKETS: [(&str, f64); 10] = [
    ("0.0001", 0.0001),
    ("0.0005", 0.0005),
    ("0.001", 0.001),
    ("0.005", 0.005),
    ("0.01", 0.01),
    ("0.05", 0.05),
    ("0.1", 0.1),
    ("0.5", 0.5),
    ("1", 1.0),
    ("+Inf", f64::INFINITY),
];

/// Generates every series for `seed`.
pub fn generate(seed: u64) -> Vec<Series> {
    let mut rng = Rng(seed);
    let mut out = Vec::new();
    for (i, inst) in INSTANCES.iter().enumerate() {
        let fi = i as f64;
        let jitter_base = 137 + 211 * i as i64;
        // The process restarts once (counters reset) on instance 1, at scrape 500.
        let restart_at = if i == 1 { Some(500) } else { None };
        let mut mem: Vec<Series> = MEMORY_TYPES
            .iter()
            .map(|t| series("demo_memory_usage_bytes", inst, &[("type", t)]))
            .collect();
        let mut cpus = series("demo_num_cpus", inst, &[]);
        let mut cpu: Vec<Series> = CPU_MODES
            .iter()
            .map(|m| series("demo_cpu_usage_seconds_total", inst, &[("mode", m)]))
            .collect();
        let mut disk = series("demo_disk_usage_bytes", inst, &[]);
        let mut batch = series("demo_batch_last_success_timestamp_seconds", inst, &[]);
        let mut intermittent = series("demo_intermittent_metric", inst, &[]);
        let mut buckets: Vec<Vec<Series>> = API
            .iter()
            .map(|(m, p, s)| {
                BUCKETS
                    .iter()
                    .map(|(le, _)| {
                        series(
                            "demo_api_request_duration_seconds_bucket",
                            inst,
                            &[("method", m), ("path", p), ("status", s), ("le", le)],
                        )
                    })
                    .collect()
            })
            .collect();
        let mut sums: Vec<Series> = API
            .iter()
            .map(|(m, p, s)| {
                series(
                    "demo_api_request_duration_seconds_sum",
                    inst,
                    &[("method", m), ("path", p), ("status", s)],
                )
            })
            .collect();
        let mut counts: Vec<Series> = API
            .iter()
            .map(|(m, p, s)| {
                series(
                    "demo_api_request_duration_seconds_count",
                    inst,
                    &[("method", m), ("path", p), ("status", s)],
                )
            })
            .collect();

        let mut cpu_total = [1000.0 * (fi + 1.0), 50.0 + fi, 120.0 + 3.0 * fi];
        let mut disk_bytes = 4.0e9 + 1.0e8 * fi;
        let mut last_success = (BASE_MS / 1000 - 300) as f64;
        let mut bucket_counts = vec![[0.0f64; 10]; API.len()];
        let mut sum_latency = vec![0.0f64; API.len()];
        let mut count_reqs = vec![0.0f64; API.len()];
        for k in 0..SCRAPES {
            let t = BASE_MS + k * STEP_MS + jitter_base + rng.range(-40, 40);
            let secs = (t - BASE_MS) as f64 / 1000.0;
            if restart_at == Some(k) {
                cpu_total = [0.0; 3];
                bucket_counts = vec![[0.0; 10]; API.len()];
                sum_latency = vec![0.0; API.len()];
                count_reqs = vec![0.0; API.len()];
            }
            for (j, s) in mem.iter_mut().enumerate() {
                let base = [3.0e8, 1.2e9, 2.5e9, 4.0e9][j] * (1.0 + 0.1 * fi);
                let wave = (secs / (300.0 + 60.0 * j as f64) + fi).sin() * 2.0e8;
                let noise = (rng.unit() - 0.5) * 4.0e6;
                s.samples.push((t, (base + wave + noise).round()));
            }
            cpus.samples.push((t, [4.0, 8.0, 2.0][i]));
            for (j, s) in cpu.iter_mut().enumerate() {
                let speed = [3.2, 0.4, 1.1][j] * (1.0 + fi * 0.3);
                cpu_total[j] += speed * 5.0 * (0.8 + 0.4 * rng.unit());
                s.samples
                    .push((t, (cpu_total[j] * 1000.0).round() / 1000.0));
            }
            // Disk grows, and a cleanup halves it every 40 minutes (shifted by instance).
            disk_bytes += 2.0e5 * (1.0 + rng.unit()) + 1.0e5 * fi;
            if (k + 160 * i as i64) % 480 == 479 {
                disk_bytes /= 2.0;
            }
            disk.samples.push((t, disk_bytes.round()));
            // A batch job succeeds about every 4 minutes, failing now and then.
            if k % 48 == (7 * i as i64) % 48 && rng.unit() < 0.8 {
                last_success = (t / 1000) as f64;
            }
            batch.samples.push((t, last_success));
            // Present [0, 13) min, absent [13, 20) (longer than the lookback), present
            // [20, 23), absent [23, 25) (shorter), with a period of 25 minutes.
            let minute = (k * STEP_MS / 60_000) % 25;
            if minute < 13 || (20..23).contains(&minute) {
                let v = (fi + 1.0) * 10.0 + (k % 7) as f64;
                intermittent.samples.push((t, v));
            }
            for (a, _) in API.iter().enumerate() {
                let n = rng.range(0, 6 + 2 * a as i64);
                for _ in 0..n {
                    let lat = -(1.0 - rng.unit()).ln() * [0.002, 0.01, 0.03, 0.2][a];
                    sum_latency[a] += lat;
                    count_reqs[a] += 1.0;
                    for (b, (_, le)) in BUCKETS.iter().enumerate() {
                        if lat <= *le {
                            bucket_counts[a][b] += 1.0;
                        }
                    }
                }
                for (b, s) in buckets[a].iter_mut().enumerate() {
                    s.samples.push((t, bucket_counts[a][b]));
                }
                sums[a]
                    .samples
                    .push((t, (sum_latency[a] * 1e6).round() / 1e6));
                counts[a].samples.push((t, count_reqs[a]));
            }
        }
        out.extend(mem);
        out.push(cpus);
        out.extend(cpu);
        out.push(disk);
        out.push(batch);
        out.push(intermittent);
        for b in buckets {
            out.extend(b);
        }
        out.extend(sums);
        out.extend(counts);
    }
    // OpenMetrics wants every family's samples together.
    out.sort_by(|a, b| a.labels[0].1.cmp(&b.labels[0].1));
    out
}

/// The series as OpenMetrics text (no metadata: every family is `unknown`), ending with
/// `# EOF`. Timestamps are seconds with three decimals plus half a millisecond, so that a
/// parser truncating `seconds·1000` still lands on the intended millisecond.
pub fn openmetrics(all: &[Series]) -> String {
    let mut s = String::new();
    for ser in all {
        let mut head = ser.labels[0].1.clone();
        head.push('{');
        for (n, (name, value)) in ser.labels[1..].iter().enumerate() {
            if n > 0 {
                head.push(',');
            }
            let _ = write!(head, "{name}=\"{value}\"");
        }
        head.push('}');
        for (t, v) in &ser.samples {
            let _ = writeln!(s, "{head} {v} {}.{:03}5", t / 1000, t % 1000);
        }
    }
    s.push_str("# EOF\n");
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn deterministic_and_off_the_second() {
        let a = generate(7);
        let b = generate(7);
        assert_eq!(a.len(), b.len());
        for (x, y) in a.iter().zip(&b) {
            assert_eq!(x.samples, y.samples);
            assert!(x.samples.iter().all(|(t, _)| t % 1000 != 0));
        }
    }
}
