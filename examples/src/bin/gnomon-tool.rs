//! `gnomon-tool`: a promtool-like command line. Run `gnomon-tool help` for the commands.

use std::io::{BufRead, Write};
use std::process::ExitCode;

use anyhow::{Context, bail};
use gnomon_examples::flags::{self, FlagError, FlagKind, FlagSpec};
use gnomon_relabel::{
    NameValidation, RelabelConfigs, RelabelOptions, Relabeler, compile, finalize,
};
use gnomon_tsdb_core::model::Labels;

/// The subcommands: name, one-line help, entry point (receives the remaining arguments).
type Command = (
    &'static str,
    &'static str,
    fn(Vec<String>) -> anyhow::Result<ExitCode>,
);

const COMMANDS: &[Command] = &[(
    "relabel",
    "apply relabel rules to label sets read as JSON lines on stdin",
    relabel,
)];

fn main() -> ExitCode {
    let mut args = std::env::args().skip(1);
    let Some(cmd) = args.next() else {
        eprint!("{}", usage());
        return ExitCode::from(2);
    };
    if matches!(cmd.as_str(), "help" | "-help" | "--help" | "-h") {
        print!("{}", usage());
        return ExitCode::SUCCESS;
    }
    let Some((_, _, run)) = COMMANDS.iter().find(|(name, _, _)| *name == cmd) else {
        eprintln!("unknown command {cmd:?}\n\n{}", usage());
        return ExitCode::from(2);
    };
    match run(args.collect()) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("gnomon-tool {cmd}: {e:#}");
            ExitCode::FAILURE
        }
    }
}

fn usage() -> String {
    let mut s = String::from("Usage: gnomon-tool COMMAND [flags]\n\nCommands:\n");
    for (name, help, _) in COMMANDS {
        s.push_str(&format!("  {name:<12} {help}\n"));
    }
    s
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
