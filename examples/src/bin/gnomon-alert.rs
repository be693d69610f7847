//! `gnomon-alert`: vmalert-like rule evaluation against a remote datasource. Run
//! `gnomon-alert -help` for the flags.

use std::process::ExitCode;

use gnomon_examples::alert_remote::{ALERT_FLAGS, AlertConfig, run};
use gnomon_examples::flags::{self, FlagError};
use gnomon_examples::logger;

fn main() -> ExitCode {
    let title = "gnomon-alert evaluates Prometheus rule files against a remote datasource.\n\nUsage: gnomon-alert -datasource.url=URL -rule=FILES [flags]";
    let parsed = flags::parse(ALERT_FLAGS, std::env::args().skip(1))
        .and_then(|f| AlertConfig::from_flags(&f).map(|c| (f, c)));
    let (f, cfg) = match parsed {
        Ok(p) => p,
        Err(FlagError::Help) => {
            eprint!("{}", flags::usage(title, ALERT_FLAGS));
            return ExitCode::SUCCESS;
        }
        Err(e) => {
            eprintln!("{e}");
            eprintln!("Run `gnomon-alert -help` for the list of flags.");
            return ExitCode::from(2);
        }
    };
    let level = match f.str("loggerLevel").to_ascii_uppercase().as_str() {
        "WARN" => log::LevelFilter::Warn,
        "ERROR" => log::LevelFilter::Error,
        _ => log::LevelFilter::Info,
    };
    logger::init(level);
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(r) => r,
        Err(e) => {
            log::error!("cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(run(cfg)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            log::error!("{e:#}");
            ExitCode::FAILURE
        }
    }
}
