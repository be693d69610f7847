//! What every binary's `main` does around its own work: flags → configuration (with
//! `-help` and usage errors answered the same way), then the async runtime and the exit
//! code.

use std::future::Future;
use std::process::ExitCode;

use crate::flags::{self, FlagError, FlagSpec, Flags};

/// Parses the process arguments against `specs` and builds the binary's configuration.
///
/// # Errors
/// The exit code to return at once: success after printing `-help` (headed by `title`),
/// 2 after a usage error (which names `bin` in its hint).
pub fn parse_args<C>(
    specs: &'static [FlagSpec],
    title: &str,
    bin: &str,
    build: impl FnOnce(&Flags) -> Result<C, FlagError>,
) -> Result<(Flags, C), ExitCode> {
    let parsed =
        flags::parse(specs, std::env::args().skip(1)).and_then(|f| build(&f).map(|c| (f, c)));
    match parsed {
        Ok(p) => Ok(p),
        Err(FlagError::Help) => {
            eprint!("{}", flags::usage(title, specs));
            Err(ExitCode::SUCCESS)
        }
        Err(e) => {
            eprintln!("{e}");
            eprintln!("Run `{bin} -help` for the list of flags.");
            Err(ExitCode::from(2))
        }
    }
}

/// Runs `main` on a multi-threaded tokio runtime; logs a failure and turns it into exit
/// code 1.
pub fn run_async(main: impl Future<Output = anyhow::Result<()>>) -> ExitCode {
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
    match runtime.block_on(main) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            log::error!("{e:#}");
            ExitCode::FAILURE
        }
    }
}
