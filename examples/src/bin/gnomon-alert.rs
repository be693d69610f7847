//! `gnomon-alert`: vmalert-like rule evaluation against a remote datasource. Run
//! `gnomon-alert -help` for the flags.

use std::process::ExitCode;

use gnomon_examples::alert_remote::{ALERT_FLAGS, AlertConfig, run};
use gnomon_examples::{cli, logger};

fn main() -> ExitCode {
    let title = "gnomon-alert evaluates Prometheus rule files against a remote datasource.\n\nUsage: gnomon-alert -datasource.url=URL -rule=FILES [flags]";
    let (f, cfg) =
        match cli::parse_args(ALERT_FLAGS, title, "gnomon-alert", AlertConfig::from_flags) {
            Ok(p) => p,
            Err(code) => return code,
        };
    logger::init(logger::parse_level(f.str("loggerLevel")).unwrap_or(log::LevelFilter::Info));
    cli::run_async(run(cfg))
}
