//! `gnomon-tool check rules` and `gnomon-tool test rules`: promtool's commands, with its
//! output layout and exit codes.
//!
//! ```text
//! check rules [--lint=duplicate-rules|none] [--lint-fatal] [--ignore-unknown-fields]
//!             [--legacy-names] [--metricsql] FILE...      (no FILE: standard input)
//! test rules  [--run=REGEX]... [--ignore-unknown-fields] [--metricsql] FILE...
//! ```
//!
//! Expressions are Prometheus 3 PromQL unless `--metricsql` (vmalert's dialect) is given;
//! `--legacy-names` applies Prometheus 2's label-name rules.
//!
//! Exit status: 0 success; 1 a file is invalid or a test failed; 2 usage error; 3 (check
//! with `--lint-fatal`) only lint problems were found.

use std::io::{Read, Write};
use std::path::Path;
use std::process::ExitCode;

use gnomon_alert_rules::lint::{duplicates, duplicates_message};
use gnomon_alert_rules::names::NameValidation;
use gnomon_alert_rules::rulefmt::{ParseOptions, RuleGroups, parse_rules};
use gnomon_alert_rules::unittest::{UnitTestOptions, run_file};

/// Exit status for lint problems under `--lint-fatal`.
const LINT_EXIT: u8 = 3;

/// Options shared by both commands and the files.
struct Args {
    lint: bool,
    lint_fatal: bool,
    rules: ParseOptions,
    run: Vec<regex::Regex>,
    files: Vec<String>,
}

fn parse_args(args: &[String], err: &mut dyn Write) -> Result<Args, ExitCode> {
    let mut a = Args {
        lint: true,
        lint_fatal: false,
        rules: ParseOptions::default(),
        run: Vec::new(),
        files: Vec::new(),
    };
    for arg in args {
        let flag = arg.trim_start_matches('-');
        let (name, value) = flag.split_once('=').unwrap_or((flag, ""));
        if !arg.starts_with('-') || arg == "-" {
            a.files.push(arg.clone());
            continue;
        }
        match name {
            "lint" => a.lint = value != "none",
            "lint-fatal" => a.lint_fatal = true,
            "ignore-unknown-fields" => a.rules.ignore_unknown_fields = true,
            "legacy-names" => a.rules.name_validation = NameValidation::Legacy,
            "metricsql" => a.rules.promql = gnomon_promql::ParseOptions::default(),
            "run" => match regex::Regex::new(value) {
                Ok(re) => a.run.push(re),
                Err(e) => {
                    let _ = writeln!(err, "invalid --run regex {value:?}: {e}");
                    return Err(ExitCode::from(2));
                }
            },
            _ => {
                let _ = writeln!(err, "unknown flag {arg}");
                return Err(ExitCode::from(2));
            }
        }
    }
    Ok(a)
}

/// `check rules`: for each file `Checking FILE`, then `  SUCCESS: N rules found` or
/// `  FAILED:` and the errors (on `err`), then an empty line.
pub fn check_rules(args: &[String], out: &mut dyn Write, err: &mut dyn Write) -> ExitCode {
    let a = match parse_args(args, err) {
        Ok(a) => a,
        Err(code) => return code,
    };
    let files = if a.files.is_empty() {
        vec!["-".to_string()]
    } else {
        a.files.clone()
    };
    let (mut failed, mut has_errors) = (false, false);
    for f in &files {
        let shown = if f == "-" {
            "standard input"
        } else {
            f.as_str()
        };
        let _ = writeln!(out, "Checking {shown}");
        match check_one(f, shown, &a) {
            Ok(n) => {
                let _ = writeln!(out, "  SUCCESS: {n} rules found");
            }
            Err((lines, lint_only)) => {
                failed = true;
                has_errors |= !lint_only;
                let _ = writeln!(err, "  FAILED:");
                for l in lines {
                    let _ = writeln!(err, "{l}");
                }
            }
        }
        let _ = writeln!(out);
    }
    if failed && has_errors {
        ExitCode::FAILURE
    } else if failed && a.lint_fatal {
        ExitCode::from(LINT_EXIT)
    } else {
        ExitCode::SUCCESS
    }
}

/// The rule count, or the error lines and whether they are only lint findings.
fn check_one(file: &str, shown: &str, a: &Args) -> Result<usize, (Vec<String>, bool)> {
    let text = if file == "-" {
        let mut s = String::new();
        std::io::stdin()
            .read_to_string(&mut s)
            .map(|_| s)
            .map_err(|e| (vec![format!("{shown}: {e}")], false))?
    } else {
        std::fs::read_to_string(Path::new(file))
            .map_err(|e| (vec![format!("{shown}: {e}")], false))?
    };
    let groups: RuleGroups = parse_rules(&text, &a.rules).map_err(|errs| {
        (
            errs.iter().map(|e| format!("{shown}: {e}")).collect(),
            false,
        )
    })?;
    if a.lint {
        let d = duplicates(&groups);
        if !d.is_empty() {
            return Err((vec![format!("lint error {}", duplicates_message(&d))], true));
        }
    }
    Ok(groups.rule_count())
}

/// `test rules`: for each file `Unit Testing:  FILE`, then `  SUCCESS` or `  FAILED:` and
/// the failures (on `err`), then an empty line.
pub fn test_rules(args: &[String], out: &mut dyn Write, err: &mut dyn Write) -> ExitCode {
    let a = match parse_args(args, err) {
        Ok(a) => a,
        Err(code) => return code,
    };
    if a.files.is_empty() {
        let _ = writeln!(err, "test rules needs at least one test file");
        return ExitCode::from(2);
    }
    let opts = UnitTestOptions {
        run: a.run,
        rules: a.rules,
    };
    let mut failed = false;
    for f in &a.files {
        let _ = writeln!(out, "Unit Testing:  {f}");
        let outcome = run_file(Path::new(f), &opts);
        if outcome.passed() {
            let _ = writeln!(out, "  SUCCESS");
        } else {
            failed = true;
            let _ = writeln!(err, "  FAILED:");
            for e in outcome.errors() {
                let _ = writeln!(err, "{e}");
            }
        }
        let _ = writeln!(out);
    }
    if failed {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(
        f: fn(&[String], &mut dyn Write, &mut dyn Write) -> ExitCode,
        args: &[&str],
    ) -> (ExitCode, String, String) {
        let args: Vec<String> = args.iter().map(|s| s.to_string()).collect();
        let (mut o, mut e) = (Vec::new(), Vec::new());
        let code = f(&args, &mut o, &mut e);
        (
            code,
            String::from_utf8(o).unwrap(),
            String::from_utf8(e).unwrap(),
        )
    }

    #[test]
    fn check_output_and_exit_codes() {
        let dir = tempfile::tempdir().unwrap();
        let good = dir.path().join("good.yml");
        std::fs::write(&good, "groups:\n- name: g\n  rules:\n  - record: a\n    expr: 1\n  - record: a\n    expr: 2\n").unwrap();
        let bad = dir.path().join("bad.yml");
        std::fs::write(&bad, "groups:\n- name: g\n  rules:\n  - record: a\n").unwrap();
        let g = good.to_str().unwrap();
        let b = bad.to_str().unwrap();
        let (code, out, err) = run(check_rules, &["--lint=none", g]);
        assert_eq!(code, ExitCode::SUCCESS);
        assert_eq!(out, format!("Checking {g}\n  SUCCESS: 2 rules found\n\n"));
        assert!(err.is_empty());
        let (code, _, err) = run(check_rules, &[g]);
        assert_eq!(code, ExitCode::SUCCESS);
        assert!(
            err.starts_with("  FAILED:\nlint error 1 duplicate rule(s) found.\nMetric: a\n"),
            "{err}"
        );
        let (code, _, _) = run(check_rules, &["--lint-fatal", g]);
        assert_eq!(code, ExitCode::from(LINT_EXIT));
        let (code, _, err) = run(check_rules, &[g, b]);
        assert_eq!(code, ExitCode::FAILURE);
        assert!(
            err.contains(&format!(
                "{b}: 0:0: group \"g\", rule 1, \"a\": field 'expr' must be set in rule"
            )),
            "{err}"
        );
        assert_eq!(run(check_rules, &["--bogus"]).0, ExitCode::from(2));
    }

    #[test]
    fn test_output_and_exit_codes() {
        let dir = tempfile::tempdir().unwrap();
        let t = dir.path().join("t.yml");
        std::fs::write(&t, "tests:\n- name: ok\n  input_series:\n  - series: up\n    values: 1\n  promql_expr_test:\n  - expr: up\n    eval_time: 0\n    exp_samples:\n    - labels: up\n      value: 1\n- name: bad\n  promql_expr_test:\n  - expr: up\n    eval_time: 0\n    exp_samples:\n    - labels: up\n      value: 1\n").unwrap();
        let p = t.to_str().unwrap();
        let (code, out, err) = run(test_rules, &[p]);
        assert_eq!(code, ExitCode::FAILURE);
        assert_eq!(out, format!("Unit Testing:  {p}\n\n"));
        assert_eq!(
            err,
            "  FAILED:\n    expr: \"up\", time: 0s,\n        exp: {__name__=\"up\"} 1E+00\n        got: nil\n"
        );
        let (code, out, _) = run(test_rules, &["--run=^ok$", p]);
        assert_eq!(code, ExitCode::SUCCESS);
        assert_eq!(out, format!("Unit Testing:  {p}\n  SUCCESS\n\n"));
    }
}
