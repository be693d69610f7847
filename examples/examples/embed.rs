//! Embedding Gnomon: open the storage engine in a temp dir, append samples, and evaluate
//! a PromQL range query over them.
//!
//! `cargo run -p gnomon-examples --example embed`

use gnomon_promql::engine::{Engine, EngineOptions, Value};
use gnomon_tsdb_core::model::{Appender, Labels, Sample};
use gnomon_tsdb_core::{Options, Storage};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let dir = tempfile::tempdir()?;
    let storage = Storage::open(dir.path(), Options::default())?;

    // Ten minutes of a counter growing by 10/s, one sample every 15 s.
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH)?;
    let now = i64::try_from(now.as_millis())? / 60_000 * 60_000;
    let up = Labels::from_pairs(&[("__name__", "requests_total"), ("job", "api")]);
    let mut app = storage.appender();
    for i in 0..=40 {
        let t = now - 600_000 + i * 15_000;
        app.append(&up, Sample::new(t, (i * 150) as f64))?;
    }
    app.commit()?;

    let engine = Engine::new(EngineOptions::default());
    let expr = gnomon_promql::parse("sum by (job) (rate(requests_total[1m]))")?;
    let Value::Matrix(series) = engine.range(&storage, &expr, now - 300_000, now, 60_000)? else {
        unreachable!("a range query gives a matrix");
    };
    for s in &series {
        println!("{}", s.labels);
        for p in &s.samples {
            println!("  {} {}", p.t / 1000, p.v);
        }
    }
    assert!(series[0].samples.iter().all(|p| (p.v - 10.0).abs() < 1e-9));
    storage.close()?;
    Ok(())
}
