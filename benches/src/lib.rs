//! Benchmarks live in `benches/`; this library holds what several of them share.

use std::path::{Path, PathBuf};

/// The shared folder: beside the workspace (main checkout, CI), beside the folder that
/// holds it (helper worktrees), or `$GNOMON_SHARED`; the first that has both the
/// conformance corpora and the bench inputs.
///
/// # Panics
/// When none is found: a benchmark cannot run without its input.
pub fn shared_dir() -> PathBuf {
    let manifest = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut candidates = vec![
        manifest.join("../../shared"),
        manifest.join("../../../shared"),
    ];
    if let Some(dir) = std::env::var_os("GNOMON_SHARED") {
        candidates.insert(0, PathBuf::from(dir));
    }
    candidates
        .into_iter()
        .find(|p| p.join("bench").is_dir() && p.join("conformance/textparse").is_dir())
        .expect("shared/ folder not found (set GNOMON_SHARED)")
}

/// `shared/bench/node_exporter_template.prom`: one node_exporter scrape.
///
/// # Panics
/// When the file cannot be read.
pub fn node_exporter_scrape() -> Vec<u8> {
    std::fs::read(shared_dir().join("bench/node_exporter_template.prom")).expect("bench input")
}
