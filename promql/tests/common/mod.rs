//! Reading the shared conformance corpora: every query of `../shared/conformance`.

#![allow(dead_code)] // Each test binary uses a different part.

use std::fs;
use std::path::{Path, PathBuf};

/// One query and where it came from.
#[derive(Clone, Debug)]
pub struct Query {
    /// `file:line` or `file#id`.
    pub origin: String,
    /// The query text.
    pub text: String,
}

/// The conformance folder (`shared/conformance` beside the repository).
pub fn conformance_dir() -> PathBuf {
    let here = Path::new(env!("CARGO_MANIFEST_DIR"));
    for up in here.ancestors() {
        for cand in [
            up.join("shared/conformance"),
            up.join("../shared/conformance"),
        ] {
            if cand.join("promql").is_dir() {
                return cand;
            }
        }
    }
    panic!("shared/conformance not found above {}", here.display());
}

fn sorted_files(dir: &Path, ext: &[&str]) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        let Ok(rd) = fs::read_dir(&d) else { continue };
        for e in rd.flatten() {
            let p = e.path();
            if p.is_dir() {
                stack.push(p);
            } else if p
                .extension()
                .and_then(|x| x.to_str())
                .is_some_and(|x| ext.contains(&x))
            {
                out.push(p);
            }
        }
    }
    out.sort();
    out
}

/// The query of an `eval` command line, as the reference harness extracts it.
pub fn eval_query(line: &str) -> Option<String> {
    let mut words = line.split_whitespace();
    let cmd = words.next()?;
    if !cmd.to_ascii_lowercase().starts_with("eval") {
        return None;
    }
    let rest: Vec<&str> = words.collect();
    let skip = match *rest.first()? {
        "instant" if rest.get(1) == Some(&"at") => 3,
        "range" if rest.get(1) == Some(&"from") => 7,
        _ => return None,
    };
    // Re-find the query in the original line to keep its inner spacing.
    let mut pos = 0;
    let mut taken = 0;
    for w in std::iter::once(cmd)
        .chain(rest.iter().copied())
        .take(skip + 1)
    {
        let at = line[pos..].find(w)? + pos;
        pos = at + w.len();
        taken += 1;
    }
    let _ = taken;
    Some(line[pos..].trim().to_string())
}

/// Every eval query of `promql/*.test`.
pub fn test_file_queries() -> Vec<Query> {
    let dir = conformance_dir().join("promql");
    let mut out = Vec::new();
    for f in sorted_files(&dir, &["test"]) {
        let text = fs::read_to_string(&f).expect("read .test file");
        let name = f.file_name().unwrap().to_string_lossy().to_string();
        for (n, line) in text.lines().enumerate() {
            let t = line.trim();
            if t.starts_with('#') {
                continue;
            }
            if let Some(q) = eval_query(t) {
                out.push(Query {
                    origin: format!("promql/{name}:{}", n + 1),
                    text: q,
                });
            }
        }
    }
    out
}

/// Every query of `compliance/expanded-queries.jsonl`, with its `should_fail` flag.
pub fn compliance_queries() -> Vec<(Query, bool)> {
    let path = conformance_dir().join("compliance/expanded-queries.jsonl");
    let text = fs::read_to_string(path).expect("read expanded-queries.jsonl");
    text.lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| {
            let v: serde_json::Value = serde_json::from_str(l).expect("jsonl line");
            let q = Query {
                origin: format!("compliance#{}", v["id"]),
                text: v["query"].as_str().expect("query").to_string(),
            };
            (q, v["should_fail"].as_bool().unwrap_or(false))
        })
        .collect()
}

fn collect_exprs(v: &serde_yaml_ng::Value, origin: &str, out: &mut Vec<Query>) {
    match v {
        serde_yaml_ng::Value::Mapping(m) => {
            for (k, val) in m {
                if k.as_str() == Some("expr")
                    && let Some(s) = val.as_str()
                {
                    out.push(Query {
                        origin: origin.to_string(),
                        text: s.to_string(),
                    });
                } else {
                    collect_exprs(val, origin, out);
                }
            }
        }
        serde_yaml_ng::Value::Sequence(s) => {
            for x in s {
                collect_exprs(x, origin, out);
            }
        }
        serde_yaml_ng::Value::Tagged(t) => collect_exprs(&t.value, origin, out),
        _ => {}
    }
}

/// Every `expr:` of the YAML files under `rules/` and `configs/` (rule files and rule
/// unit tests). Returns the queries and the files that are not YAML at all.
pub fn rule_queries() -> (Vec<Query>, Vec<String>) {
    let base = conformance_dir();
    let mut out = Vec::new();
    let mut unreadable = Vec::new();
    for dir in ["rules", "configs"] {
        for f in sorted_files(&base.join(dir), &["yml", "yaml"]) {
            let rel = f.strip_prefix(&base).unwrap().display().to_string();
            let text = fs::read_to_string(&f).expect("read yaml");
            for doc in serde_yaml_ng::Deserializer::from_str(&text) {
                match serde::Deserialize::deserialize(doc) {
                    Ok(v) => collect_exprs(&v, &rel, &mut out),
                    Err(_) => {
                        unreadable.push(rel.clone());
                        break;
                    }
                }
            }
        }
    }
    (out, unreadable)
}

/// The expected parse failures of `promql/tests/parse_corpus_expected.tsv`:
/// `(mode, query, reason)` where mode is `both`, `prometheus` or `metricsql`.
pub fn expected_failures() -> Vec<(String, String, String)> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/parse_corpus_expected.tsv");
    let text = fs::read_to_string(path).expect("read parse_corpus_expected.tsv");
    text.lines()
        .filter(|l| !l.trim().is_empty() && !l.starts_with('#'))
        .map(|l| {
            let mut parts = l.splitn(3, '\t');
            let mode = parts.next().unwrap_or_default().to_string();
            let query = parts.next().unwrap_or_default().replace("\\n", "\n");
            let reason = parts.next().unwrap_or_default().to_string();
            (mode, query, reason)
        })
        .collect()
}
