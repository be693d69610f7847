//! Relabel configs: arbitrary text never panics the YAML loader, the compiler (both
//! flavors, both name schemes) or the application of whatever compiles to a fixed label
//! set; a kept result never holds an empty value.
#![no_main]

use gnomon_relabel::{NameValidation, RelabelConfigs, RelabelOptions, compile, finalize};
use gnomon_tsdb_core::model::Labels;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    let Ok(configs) = RelabelConfigs::from_yaml(text) else { return };
    let input = Labels::from_pairs(&[
        ("__name__", "http_requests_total"),
        ("__address__", "10.0.0.1:9100"),
        ("__meta_kubernetes_pod_label_app", "api"),
        ("job", "node"),
        ("instance", "a.b.c:80"),
        ("path", "/x;y"),
    ]);
    for mut opts in [RelabelOptions::prometheus(), RelabelOptions::victoriametrics()] {
        for names in [NameValidation::Utf8, NameValidation::Legacy] {
            opts.name_validation = names;
            let Ok(rl) = compile(configs.rules(), &opts) else { continue };
            if let Some(out) = rl.apply_labels(&input) {
                assert!(out.iter().all(|l| !l.value.is_empty() && !l.name.is_empty()));
                let _ = finalize(&out);
            }
        }
    }
});
