//! Conformance runner for `shared/conformance/textparse` (Prometheus' own parser test
//! tables and test data, see its README). A missing corpus is a failure, not a skip.
//!
//! Reasoned skip: `expected_type_and_unit_labels` (Prometheus' experimental option that
//! adds `__type__`/`__unit__` labels) is not implemented, so only `expected` is compared.

use std::path::{Path, PathBuf};

use gnomon_scrape::textparse::{Entry, Format, Parser};
use gnomon_tsdb_core::model::Labels;
use serde_json::{Map, Value};

/// The corpus folder: `../shared` beside the workspace (CI and the main checkout), or
/// beside the folder holding the workspace (helper worktrees), or `$GNOMON_SHARED`.
fn corpus_dir() -> PathBuf {
    let manifest = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut candidates = vec![
        PathBuf::from(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../../shared/conformance/textparse"
        )),
        manifest.join("../../../shared/conformance/textparse"),
    ];
    if let Some(shared) = std::env::var_os("GNOMON_SHARED") {
        candidates.insert(0, PathBuf::from(shared).join("conformance/textparse"));
    }
    candidates
        .iter()
        .find(|p| p.join("parse_ok.jsonl").is_file())
        .cloned()
        .unwrap_or_else(|| {
            panic!("textparse conformance corpus not found; looked in {candidates:?} (set GNOMON_SHARED to the shared/ folder)")
        })
}

fn read(name: &str) -> Vec<u8> {
    let path = corpus_dir().join(name);
    std::fs::read(&path).unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()))
}

fn records(name: &str) -> Vec<Value> {
    String::from_utf8(read(name))
        .expect("jsonl is UTF-8")
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| serde_json::from_str(l).expect("valid JSON record"))
        .collect()
}

fn format_of(record: &Value) -> Format {
    match record["format"].as_str() {
        Some("openmetrics") => Format::OpenMetrics,
        Some("prometheus-text") => Format::PrometheusText,
        other => panic!("unknown format {other:?}"),
    }
}

/// Decodes standard base64 (with or without padding).
fn base64_decode(text: &str) -> Vec<u8> {
    let sextet = |c: u8| -> u32 {
        match c {
            b'A'..=b'Z' => u32::from(c - b'A'),
            b'a'..=b'z' => u32::from(c - b'a') + 26,
            b'0'..=b'9' => u32::from(c - b'0') + 52,
            b'+' => 62,
            b'/' => 63,
            _ => panic!("bad base64 byte {c}"),
        }
    };
    let digits: Vec<u32> = text.bytes().filter(|&c| c != b'=').map(sextet).collect();
    let mut out = Vec::with_capacity(digits.len() * 3 / 4);
    for chunk in digits.chunks(4) {
        let word = chunk
            .iter()
            .enumerate()
            .fold(0u32, |acc, (i, &d)| acc | d << (18 - 6 * i));
        let bytes = word.to_be_bytes();
        out.extend_from_slice(&bytes[1..chunk.len()]);
    }
    out
}

fn input_of(record: &Value) -> Vec<u8> {
    match (&record["input"], &record["input_b64"]) {
        (Value::String(s), _) => s.as_bytes().to_vec(),
        (_, Value::String(b)) => base64_decode(b),
        _ => panic!("record without input"),
    }
}

fn float_json(v: f64) -> Value {
    if v.is_nan() {
        Value::from("NaN")
    } else if v == f64::INFINITY {
        Value::from("+Inf")
    } else if v == f64::NEG_INFINITY {
        Value::from("-Inf")
    } else {
        Value::from(v)
    }
}

fn same_float(got: f64, want: &Value) -> bool {
    match want {
        Value::String(s) => float_json(got) == *s,
        Value::Number(n) => n.as_f64() == Some(got),
        _ => false,
    }
}

fn labels_json(labels: &Labels) -> Value {
    let map: Map<String, Value> = labels
        .iter()
        .map(|l| (l.name.clone(), Value::from(l.value.as_str())))
        .collect();
    Value::Object(map)
}

/// Compares one entry with its expectation; returns the mismatches.
fn compare(entry: &Entry<'_>, want: &Value) -> Vec<String> {
    let mut diffs = Vec::new();
    let mut check = |field: &str, got: Value| {
        let expected = want.get(field).cloned().unwrap_or(Value::Null);
        if got != expected {
            diffs.push(format!("{field}: got {got}, want {expected}"));
        }
    };
    match entry {
        Entry::Sample(s) => {
            check("kind", Value::from("series"));
            check("m", Value::from(String::from_utf8_lossy(s.series).as_ref()));
            check("labels", labels_json(&s.labels()));
            check("t", s.timestamp_ms.map_or(Value::Null, Value::from));
            check("st", s.start_timestamp_ms.map_or(Value::Null, Value::from));
            if !same_float(s.value, &want["v"]) {
                diffs.push(format!("v: got {}, want {}", s.value, want["v"]));
            }
            let empty = Vec::new();
            let want_ex = want["exemplars"].as_array().unwrap_or(&empty);
            if want_ex.len() != s.exemplars.len() {
                diffs.push(format!(
                    "exemplars: got {:?}, want {want_ex:?}",
                    s.exemplars
                ));
            }
            for (got, w) in s.exemplars.iter().zip(want_ex) {
                let ok = labels_json(&got.labels) == w["labels"]
                    && same_float(got.value, &w["value"])
                    && got.timestamp_ms.map_or(Value::Null, Value::from) == w["ts"];
                if !ok {
                    diffs.push(format!("exemplar: got {got:?}, want {w}"));
                }
            }
        }
        Entry::Help { metric, text } => {
            check("kind", Value::from("help"));
            check("m", Value::from(metric.as_ref()));
            check("help", Value::from(text.as_ref()));
        }
        Entry::Type {
            metric,
            metric_type,
        } => {
            check("kind", Value::from("type"));
            check("m", Value::from(metric.as_ref()));
            check("type", Value::from(metric_type.as_str()));
        }
        Entry::Unit { metric, unit } => {
            check("kind", Value::from("unit"));
            check("m", Value::from(metric.as_ref()));
            check("unit", Value::from(*unit));
        }
        Entry::Comment(text) => {
            check("kind", Value::from("comment"));
            check(
                "comment",
                Value::from(String::from_utf8_lossy(text).as_ref()),
            );
        }
        other => diffs.push(format!("unexpected entry kind {other:?}")),
    }
    diffs
}

/// Runs one parse_ok record; returns the failures.
fn run_ok_record(record: &Value) -> Vec<String> {
    let input = input_of(record);
    let expected = record["expected"].as_array().expect("expected list");
    let mut failures = Vec::new();
    let entries: Vec<_> = Parser::new(&input, format_of(record)).collect();
    if entries.len() != expected.len() {
        failures.push(format!(
            "{} entries, want {}",
            entries.len(),
            expected.len()
        ));
    }
    for (i, (entry, want)) in entries.iter().zip(expected).enumerate() {
        match entry {
            Ok(entry) => {
                for d in compare(entry, want) {
                    failures.push(format!("entry {i}: {d}"));
                }
            }
            Err(e) => failures.push(format!("entry {i}: error {e}, want {want}")),
        }
    }
    failures
}

#[derive(Default)]
struct Tally {
    passed: usize,
    failed: Vec<String>,
}

impl Tally {
    fn record(&mut self, name: String, failures: Vec<String>) {
        if failures.is_empty() {
            self.passed += 1;
        } else {
            self.failed
                .push(format!("{name}:\n    {}", failures.join("\n    ")));
        }
    }
}

fn run_parse_ok(tally: &mut Tally) {
    for record in records("parse_ok.jsonl") {
        let name = format!("parse_ok {}", record["source"]);
        tally.record(name, run_ok_record(&record));
    }
}

fn run_parse_errors(tally: &mut Tally) {
    for record in records("parse_errors.jsonl") {
        let input = input_of(&record);
        let want_ok = record["ok"].as_bool().expect("ok flag");
        let first_error = Parser::new(&input, format_of(&record)).find_map(Result::err);
        let name = format!(
            "parse_errors {} line {} {:?}",
            record["source"],
            record["line"],
            String::from_utf8_lossy(&input)
        );
        let failures = match (want_ok, &first_error) {
            (true, Some(e)) => vec![format!("rejected: {e}")],
            (false, None) => vec![format!("accepted; Prometheus says {}", record["error"])],
            _ => Vec::new(),
        };
        tally.record(name, failures);
    }
}

/// Samples and `# TYPE` families of a verbatim file.
fn run_verbatim(tally: &mut Tally, file: &str, format: Format) {
    let input = read(file);
    let text = String::from_utf8_lossy(&input);
    let sample_lines = text.lines().filter(|l| !l.starts_with('#')).count();
    let created_lines = text
        .lines()
        .filter(|l| !l.starts_with('#'))
        .filter(|l| {
            l.split(['{', ' '])
                .next()
                .is_some_and(|n| n.ends_with("_created"))
        })
        .count();
    let type_lines = text.lines().filter(|l| l.starts_with("# TYPE ")).count();
    let mut failures = Vec::new();
    let (mut samples, mut types, mut exemplars, mut with_start) = (0, 0, 0, 0);
    for entry in Parser::new(&input, format) {
        match entry {
            Ok(Entry::Sample(s)) => {
                samples += 1;
                exemplars += s.exemplars.len();
                with_start += usize::from(s.start_timestamp_ms.is_some());
                if s.labels().metric_name() != Some(s.metric_name().as_ref()) {
                    failures.push(format!("labels() lost the name of {:?}", s.series));
                }
            }
            Ok(Entry::Type { .. }) => types += 1,
            Ok(_) => {}
            Err(e) => failures.push(format!("error {e}")),
        }
    }
    // OpenMetrics `_created` lines become start timestamps instead of samples.
    let want_samples = match format {
        Format::OpenMetrics => sample_lines - created_lines,
        Format::PrometheusText => sample_lines,
    };
    if samples != want_samples {
        failures.push(format!("{samples} samples, want {want_samples}"));
    }
    if types != type_lines {
        failures.push(format!("{types} TYPE entries, want {type_lines}"));
    }
    if file == "alltypes.5mfs.om.txt" && (exemplars != 6 || with_start == 0) {
        failures.push(format!(
            "{exemplars} exemplars (want 6), {with_start} samples with a start timestamp"
        ));
    }
    tally.record(format!("verbatim {file}"), failures);
}

#[test]
fn textparse_conformance() {
    let mut tally = Tally::default();
    run_parse_ok(&mut tally);
    run_parse_errors(&mut tally);
    for (file, format) in [
        ("alltypes.237mfs.prom.txt", Format::PrometheusText),
        ("alltypes.237mfs.nometa.prom.txt", Format::PrometheusText),
        ("promtool-metrics-test.prom.txt", Format::PrometheusText),
        ("alltypes.5mfs.om.txt", Format::OpenMetrics),
        ("1histogram.om.txt", Format::OpenMetrics),
    ] {
        run_verbatim(&mut tally, file, format);
    }
    for f in &tally.failed {
        println!("FAIL {f}");
    }
    println!(
        "textparse: {} passed, {} failed",
        tally.passed,
        tally.failed.len()
    );
    assert!(
        tally.failed.is_empty(),
        "{} conformance cases failed",
        tally.failed.len()
    );
}

#[test]
fn base64_decoder() {
    assert_eq!(base64_decode("YXtiPSL/In0gMQo="), b"a{b=\"\xff\"} 1\n");
    assert_eq!(base64_decode("YQ=="), b"a");
    assert_eq!(base64_decode("YWI="), b"ab");
}
