//! `gnomon-tool`: a promtool-like command line.
//!
//! ```text
//! gnomon-tool promql fmt [--strict] QUERY     print the canonical form
//! gnomon-tool promql check [--strict] QUERY   parse and type-check, print the result type
//! ```
//!
//! `QUERY` may be `-` to read it from standard input. `--strict` accepts Prometheus 3.x
//! syntax only (MetricsQL extensions are on by default). Exit status: 0 success, 1 the
//! query is invalid (the error, with a caret under the spot, goes to standard error),
//! 2 usage error. Subcommands are entries of [`COMMANDS`]; add new ones there.

use std::io::Read;
use std::process::ExitCode;

use gnomon_promql::parser::typecheck::type_of;
use gnomon_promql::{Expr, ParseOptions, parse_with};

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
];

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
