//! `gnomon-tool`: a promtool-like command line.
//!
//! ```text
//! gnomon-tool promql fmt [--strict] QUERY     print the canonical form
//! gnomon-tool promql check [--strict] QUERY   parse and type-check, print the result type
//! gnomon-tool relabel -config FILE [-finalize] [-flavor=prometheus|victoriametrics]
//!                     [-name-validation=utf8|legacy]
//!                                             relabel JSON label sets read on stdin
//! gnomon-tool check rules [flags] FILE...     validate rule files (promtool check rules)
//! gnomon-tool test rules [flags] FILE...      run rule unit tests (promtool test rules)
//! gnomon-tool check config [-strictParse=false] FILE...
//!                                             check scrape config files
//! ```
//!
//! `QUERY` may be `-` to read it from standard input. `--strict` accepts Prometheus 3.x
//! syntax only (MetricsQL extensions are on by default). Exit status: 0 success, 1 the
//! query is invalid (the error, with a caret under the spot, goes to standard error),
//! 2 usage error. Subcommands are entries of [`COMMANDS`]; add new ones there.

use std::io::{BufRead, Read, Write};
use std::process::ExitCode;

use anyhow::{Context, bail};
use gnomon_examples::flags::{self, FlagError, FlagKind, FlagSpec};
use gnomon_promql::parser::typecheck::type_of;
use gnomon_promql::{Expr, ParseOptions, parse_with};
use gnomon_relabel::{
    NameValidation, RelabelConfigs, RelabelOptions, Relabeler, compile, finalize,
};
use gnomon_tsdb_core::model::Labels;

/// A subcommand: the words that select it, a one-line usage, and its body (given the
/// remaining arguments).
struct Command {
    words: &'static [&'static str],
    usage: &'static str,
    run: fn(&[String]) -> ExitCode,
}

const COMMANDS: &[Command] = &[
    Command {
        words: &["promql", "fmt"],
        usage: "promql fmt [--strict] QUERY|-   print the canonical form of a query",
        run: promql_fmt,
    },
    Command {
        words: &["promql", "check"],
        usage: "promql check [--strict] QUERY|-   parse and type-check a query",
        run: promql_check,
    },
    Command {
        words: &["check", "rules"],
        usage: "check rules [--lint=duplicate-rules|none] [--lint-fatal] [--ignore-unknown-fields] FILE...   validate rule files (promtool check rules)",
        run: check_rules,
    },
    Command {
        words: &["test", "rules"],
        usage: "test rules [--run=REGEX] [--ignore-unknown-fields] FILE...   run rule unit tests (promtool test rules)",
        run: test_rules,
    },
    Command {
        words: &["check", "config"],
        usage: "check config [-strictParse=false] FILE...   check scrape config files (promtool-like output)",
        run: check_config,
    },
    Command {
        words: &["relabel"],
        usage: "relabel -config FILE [flags]   relabel JSON label sets read on stdin (one per line)",
        run: relabel_command,
    },
];

fn check_rules(args: &[String]) -> ExitCode {
    gnomon_examples::rule_tool::check_rules(args, &mut std::io::stdout(), &mut std::io::stderr())
}

fn test_rules(args: &[String]) -> ExitCode {
    gnomon_examples::rule_tool::test_rules(args, &mut std::io::stdout(), &mut std::io::stderr())
}

fn usage() -> ExitCode {
    eprintln!("usage: gnomon-tool COMMAND ...\ncommands:");
    for c in COMMANDS {
        eprintln!("  {}", c.usage);
    }
    ExitCode::from(2)
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args
        .iter()
        .any(|a| a == "-h" || a == "-help" || a == "--help")
    {
        usage();
        return ExitCode::SUCCESS;
    }
    for c in COMMANDS {
        let n = c.words.len();
        if args.len() >= n && args[..n].iter().zip(c.words).all(|(a, w)| a == w) {
            return (c.run)(&args[n..]);
        }
    }
    usage()
}

/// Parses `[--strict] QUERY|-` and the query itself.
fn parse_query_args(args: &[String]) -> Result<Expr, ExitCode> {
    let mut opts = ParseOptions::default();
    let mut query = None;
    for a in args {
        match a.as_str() {
            "--strict" | "-strict" => opts = ParseOptions::prometheus(),
            "-" => {
                let mut s = String::new();
                if let Err(e) = std::io::stdin().read_to_string(&mut s) {
                    eprintln!("cannot read the query from standard input: {e}");
                    return Err(ExitCode::from(2));
                }
                query = Some(s);
            }
            q if query.is_none() => query = Some(q.to_string()),
            _ => return Err(usage()),
        }
    }
    let Some(q) = query else {
        return Err(usage());
    };
    parse_with(q.trim_end_matches('\n'), &opts).map_err(|e| {
        eprintln!("{e}");
        ExitCode::FAILURE
    })
}

fn promql_fmt(args: &[String]) -> ExitCode {
    match parse_query_args(args) {
        Ok(e) => {
            println!("{e}");
            ExitCode::SUCCESS
        }
        Err(code) => code,
    }
}

fn promql_check(args: &[String]) -> ExitCode {
    match parse_query_args(args) {
        Ok(e) => {
            println!("ok: {}", type_of(&e).name());
            ExitCode::SUCCESS
        }
        Err(code) => code,
    }
}

/// `check config FILE...`: loads each scrape config file (with its
/// `scrape_config_files`), printing `Checking FILE` and `  SUCCESS: N scrape configs
/// found`, or `  FAILED: ERROR` (with the line and column of YAML errors). Exit status 1
/// when any file fails, 2 for usage errors.
fn check_config(args: &[String]) -> ExitCode {
    let mut opts = gnomon_scrape::config::ConfigOptions::default();
    let mut files = Vec::new();
    for a in args {
        match a.trim_start_matches('-') {
            "strictParse=false" | "promscrape.config.strictParse=false" => opts.strict = false,
            "strictParse=true" | "strictParse" | "promscrape.config.strictParse=true" => {
                opts.strict = true
            }
            _ if a.starts_with('-') && a.len() > 1 => return usage(),
            _ => files.push(a.clone()),
        }
    }
    if files.is_empty() {
        return usage();
    }
    let mut failed = false;
    for f in &files {
        println!("Checking {f}");
        match gnomon_scrape::config::Config::load(std::path::Path::new(f), &opts) {
            Ok(cfg) => println!(
                "  SUCCESS: {} scrape configs found",
                cfg.scrape_configs.len()
            ),
            Err(e) => {
                failed = true;
                eprintln!("  FAILED: {e}");
            }
        }
        println!();
    }
    if failed {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    }
}

/// `relabel` errors end with exit status 1 and the message (with its context).
fn relabel_command(args: &[String]) -> ExitCode {
    match relabel(args.to_vec()) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("gnomon-tool relabel: {e:#}");
            ExitCode::FAILURE
        }
    }
}

const RELABEL_FLAGS: &[FlagSpec] = &[
    FlagSpec {
        name: "config",
        default: "",
        help: "Path to a YAML file with a list of relabel rules (relabel_configs)",
        kind: FlagKind::String,
    },
    FlagSpec {
        name: "finalize",
        default: "false",
        help: "Remove labels starting with __ (except __name__) after relabeling, as VictoriaMetrics does for targets",
        kind: FlagKind::Bool,
    },
    FlagSpec {
        name: "flavor",
        default: "prometheus",
        help: "Whose behaviour to follow where they differ (hashmod's hash, required source_labels): prometheus or victoriametrics",
        kind: FlagKind::String,
    },
    FlagSpec {
        name: "name-validation",
        default: "utf8",
        help: "Label name validation scheme: utf8 or legacy",
        kind: FlagKind::String,
    },
];

/// `gnomon-tool relabel -config FILE`: one JSON object per stdin line in, one line out:
/// the relabeled object, or `null` when the series is dropped.
fn relabel(args: Vec<String>) -> anyhow::Result<ExitCode> {
    let f = match flags::parse(RELABEL_FLAGS, args) {
        Ok(f) => f,
        Err(FlagError::Help) => {
            print!(
                "{}",
                flags::usage(
                    "Usage: gnomon-tool relabel -config FILE [flags]",
                    RELABEL_FLAGS
                )
            );
            return Ok(ExitCode::SUCCESS);
        }
        Err(e) => bail!(e),
    };
    let mut opts = match f.str("flavor") {
        "prometheus" => RelabelOptions::prometheus(),
        "victoriametrics" => RelabelOptions::victoriametrics(),
        other => bail!("-flavor must be prometheus or victoriametrics, not {other:?}"),
    };
    opts.name_validation = match f.str("name-validation") {
        "utf8" => NameValidation::Utf8,
        "legacy" => NameValidation::Legacy,
        other => bail!("-name-validation must be utf8 or legacy, not {other:?}"),
    };
    let path = f.str("config");
    if path.is_empty() {
        bail!("-config is required");
    }
    let text = std::fs::read_to_string(path).with_context(|| format!("cannot read {path}"))?;
    let configs = RelabelConfigs::from_yaml(&text).with_context(|| path.to_owned())?;
    let relabeler = compile(configs.rules(), &opts).with_context(|| path.to_owned())?;
    relabel_lines(&relabeler, f.bool("finalize"))?;
    Ok(ExitCode::SUCCESS)
}

fn relabel_lines(relabeler: &Relabeler, fin: bool) -> anyhow::Result<()> {
    let stdin = std::io::stdin().lock();
    let mut out = std::io::BufWriter::new(std::io::stdout().lock());
    for (n, line) in stdin.lines().enumerate() {
        let line = line.context("reading stdin")?;
        if line.trim().is_empty() {
            continue;
        }
        let obj: serde_json::Map<String, serde_json::Value> = serde_json::from_str(&line)
            .with_context(|| format!("line {}: not a JSON object", n + 1))?;
        let mut pairs = Vec::with_capacity(obj.len());
        for (k, v) in &obj {
            let Some(v) = v.as_str() else {
                bail!("line {}: the value of {k:?} is not a string", n + 1);
            };
            pairs.push((k.as_str(), v));
        }
        let result = relabeler
            .apply_labels(&Labels::from_pairs(&pairs))
            .map(|l| if fin { finalize(&l) } else { l });
        let json = match result {
            None => serde_json::Value::Null,
            Some(l) => serde_json::Value::Object(
                l.iter()
                    .map(|l| (l.name.clone(), serde_json::Value::String(l.value.clone())))
                    .collect(),
            ),
        };
        writeln!(out, "{json}")?;
    }
    out.flush()?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(a: &[&str]) -> Vec<String> {
        a.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn commands_are_distinct() {
        for (k, a) in COMMANDS.iter().enumerate() {
            for b in &COMMANDS[k + 1..] {
                assert_ne!(a.words, b.words);
            }
        }
    }

    #[test]
    fn query_arguments() {
        let e = parse_query_args(&args(&["sum(x) by (a)"])).unwrap();
        assert_eq!(e.to_string(), "sum by (a) (x)");
        assert_eq!(
            parse_query_args(&args(&["rate(x)", "--strict"])).unwrap_err(),
            ExitCode::FAILURE
        );
        assert_eq!(parse_query_args(&args(&[])).unwrap_err(), ExitCode::from(2));
        assert_eq!(promql_fmt(&args(&["a +"])), ExitCode::FAILURE);
        assert_eq!(promql_check(&args(&["1 + 1"])), ExitCode::SUCCESS);
    }
}
