//! Runs the relabeling conformance vectors of `shared/conformance/relabel` (see the
//! README there): Prometheus records with Prometheus options, VictoriaMetrics records
//! with VictoriaMetrics options and the finalize step.

use std::collections::BTreeMap;
use std::path::PathBuf;

use gnomon_relabel::{
    NameValidation, RelabelConfig, RelabelConfigs, RelabelOptions, compile, finalize,
};
use gnomon_tsdb_core::model::Labels;
use serde_json::Value;

fn corpus_dir() -> PathBuf {
    let local = PathBuf::from(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../shared/conformance/relabel"
    ));
    if local.is_dir() {
        return local;
    }
    let shared =
        std::env::var("GNOMON_SHARED").map(|s| PathBuf::from(s).join("conformance/relabel"));
    match shared {
        Ok(p) if p.is_dir() => p,
        _ => panic!(
            "relabel conformance corpus not found at {} nor under $GNOMON_SHARED/conformance/relabel",
            local.display()
        ),
    }
}

fn labels(v: &Value) -> Option<Labels> {
    let obj = v.as_object()?;
    let pairs: Vec<(&str, &str)> = obj
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str().unwrap_or("")))
        .collect();
    Some(Labels::from_pairs(&pairs))
}

fn show(l: &Option<Labels>) -> String {
    l.as_ref().map_or("null".into(), |l| l.to_string())
}

/// Runs one record; `Err` says what differed.
fn run(r: &Value) -> Result<(), String> {
    let source = r["source"].as_str().unwrap_or_default();
    let kind = r["kind"].as_str().unwrap_or_default();
    let mut opts = if source == "prometheus" {
        RelabelOptions::prometheus()
    } else {
        RelabelOptions::victoriametrics()
    };
    if r["name_validation_scheme"] == "legacy" {
        opts.name_validation = NameValidation::Legacy;
    }
    match (source, kind) {
        ("prometheus", "relabel" | "validate") => {
            let configs: Vec<RelabelConfig> =
                serde_json::from_value(r["config"].clone()).map_err(|e| format!("config: {e}"))?;
            let compiled = compile(&configs, &opts);
            if kind == "validate" {
                return match (compiled, r["error"].as_str()) {
                    (Ok(_), None) => Ok(()),
                    (Err(e), Some(want)) if e.to_string().contains(want) => Ok(()),
                    (Ok(_), Some(want)) => Err(format!("compiled, want error {want:?}")),
                    (Err(e), want) => Err(format!("error {e}, want {want:?}")),
                };
            }
            let rl = compiled.map_err(|e| format!("compile: {e}"))?;
            let got = rl.apply_labels(&labels(&r["input"]).unwrap_or_default());
            let want = labels(&r["output"]);
            // Without the explicitly written defaults the result must not change.
            let stripped = strip_defaults(r, &configs);
            let rl2 =
                compile(&stripped, &opts).map_err(|e| format!("compile without defaults: {e}"))?;
            let got2 = rl2.apply_labels(&labels(&r["input"]).unwrap_or_default());
            if got != want || got2 != want {
                return Err(format!(
                    "got {} / {} without defaults, want {}",
                    show(&got),
                    show(&got2),
                    show(&want)
                ));
            }
            Ok(())
        }
        ("prometheus", "roundtrip") => {
            let text = r["config_text"].as_str().unwrap_or_default();
            let parsed: RelabelConfig = if r["format"] == "json" {
                serde_json::from_str(text).map_err(|e| e.to_string())?
            } else {
                serde_yaml_ng::from_str(text).map_err(|e| e.to_string())?
            };
            let back = serde_yaml_ng::to_string(&parsed).map_err(|e| e.to_string())?;
            let again: RelabelConfig = serde_yaml_ng::from_str(&back).map_err(|e| e.to_string())?;
            if again != parsed {
                return Err(format!("{parsed:?} came back as {again:?}"));
            }
            Ok(())
        }
        ("victoriametrics", _) => run_vm(r, kind, &opts),
        _ => Err(format!("unknown source/kind {source}/{kind}")),
    }
}

fn strip_defaults(r: &Value, configs: &[RelabelConfig]) -> Vec<RelabelConfig> {
    let mut out = configs.to_vec();
    if let Some(per_rule) = r["defaulted_fields"].as_array() {
        for (c, fields) in out.iter_mut().zip(per_rule) {
            for f in fields.as_array().into_iter().flatten() {
                match f.as_str().unwrap_or_default() {
                    "separator" => c.separator = None,
                    "regex" => c.regex = None,
                    "replacement" => c.replacement = None,
                    "action" => c.action = None,
                    "modulus" => c.modulus = None,
                    "target_label" => c.target_label = None,
                    "source_labels" => c.source_labels = None,
                    _ => {}
                }
            }
        }
    }
    out
}

fn run_vm(r: &Value, kind: &str, opts: &RelabelOptions) -> Result<(), String> {
    let text = r["config_yaml"].as_str().unwrap_or_default();
    if kind == "roundtrip" {
        let yaml = if r["subject"] == "regex" {
            format!("- regex: {}\n", indent(text))
        } else {
            text.to_owned()
        };
        let parsed = RelabelConfigs::from_yaml(&yaml).map_err(|e| e.to_string())?;
        if let Some(want) = r["regex_effective"].as_str() {
            let got = parsed
                .rules()
                .first()
                .and_then(|c| c.regex.as_ref())
                .map_or("", |x| x.as_str());
            if got != want {
                return Err(format!("regex {got:?}, want {want:?}"));
            }
        }
        let expected = if r["subject"] == "regex" {
            format!(
                "- regex: {}\n",
                indent(r["expected_yaml"].as_str().unwrap_or_default())
            )
        } else {
            r["expected_yaml"].as_str().unwrap_or_default().to_owned()
        };
        let want = RelabelConfigs::from_yaml(&expected).map_err(|e| format!("expected: {e}"))?;
        let back = RelabelConfigs::from_yaml(
            &serde_yaml_ng::to_string(&parsed).map_err(|e| e.to_string())?,
        )
        .map_err(|e| e.to_string())?;
        if want != parsed || back != parsed {
            return Err(format!(
                "parsed {parsed:?}, expected {want:?}, re-read {back:?}"
            ));
        }
        return Ok(());
    }
    let compiled = RelabelConfigs::from_yaml(text).and_then(|c| compile(c.rules(), opts));
    match kind {
        "config_error" => match compiled {
            Err(_) => Ok(()),
            Ok(_) => Err("compiled, want an error".into()),
        },
        "parse" => {
            let rl = compiled.map_err(|e| e.to_string())?;
            if let Some(n) = r["expected_rules"].as_u64()
                && rl.len() as u64 != n
            {
                return Err(format!("{} rules, want {n}", rl.len()));
            }
            Ok(())
        }
        "relabel" => {
            let rl = compiled.map_err(|e| format!("compile: {e}"))?;
            let input = labels(&r["input"]).unwrap_or_default();
            let mut got = rl.apply_labels(&input);
            if r["is_finalize"] == true {
                got = got.map(|l| finalize(&l));
            }
            let want = labels(&r["output"]);
            if got != want {
                return Err(format!("got {}, want {}", show(&got), show(&want)));
            }
            Ok(())
        }
        _ => Err(format!("unknown kind {kind}")),
    }
}

fn indent(text: &str) -> String {
    let text = text.trim_end();
    if text.contains('\n') || text.starts_with("- ") {
        format!(
            "\n{}",
            text.lines()
                .map(|l| format!("  {l}"))
                .collect::<Vec<_>>()
                .join("\n")
        )
    } else {
        text.to_owned()
    }
}

#[test]
fn relabel_conformance() {
    let dir = corpus_dir();
    let mut passed = 0;
    let mut failed = BTreeMap::new();
    for file in ["prometheus.jsonl", "victoriametrics.jsonl"] {
        let text = std::fs::read_to_string(dir.join(file)).expect("read corpus file");
        for line in text.lines().filter(|l| !l.trim().is_empty()) {
            let r: Value = serde_json::from_str(line).expect("corpus line is JSON");
            let name = format!("{file}:{}", r["name"].as_str().unwrap_or("?"));
            match run(&r) {
                Ok(()) => passed += 1,
                Err(e) => {
                    failed.insert(name, e);
                }
            }
        }
    }
    for (name, e) in &failed {
        eprintln!("FAIL {name}: {e}");
    }
    println!("relabel: {passed} passed, {} failed", failed.len());
    assert!(
        failed.is_empty(),
        "relabel: {passed} passed, {} failed",
        failed.len()
    );
}
