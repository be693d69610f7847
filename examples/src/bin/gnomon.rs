//! `gnomon`: a VictoriaMetrics-compatible single server. Run `gnomon -help` for the flags.

use std::process::ExitCode;

use gnomon_examples::config::{SERVER_FLAGS, ServerConfig};
use gnomon_examples::flags::{self, FlagError};
use gnomon_examples::{logger, server};

fn main() -> ExitCode {
    let title = "gnomon is a time series database compatible with VictoriaMetrics' single-node API.\n\nUsage: gnomon [flags]";
    let parsed = flags::parse(SERVER_FLAGS, std::env::args().skip(1))
        .and_then(|f| ServerConfig::from_flags(&f).map(|c| (f, c)));
    let (f, cfg) = match parsed {
        Ok(p) => p,
        Err(FlagError::Help) => {
            eprint!("{}", flags::usage(title, SERVER_FLAGS));
            return ExitCode::SUCCESS;
        }
        Err(e) => {
            eprintln!("{e}");
            eprintln!("Run `gnomon -help` for the list of flags.");
            return ExitCode::from(2);
        }
    };
    if f.bool("version") {
        println!("gnomon-v{}", env!("CARGO_PKG_VERSION"));
        return ExitCode::SUCCESS;
    }
    logger::init(cfg.log_level);
    log::info!("starting gnomon-v{}", env!("CARGO_PKG_VERSION"));
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
    match runtime.block_on(server::run(cfg)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            log::error!("{e:#}");
            ExitCode::FAILURE
        }
    }
}
