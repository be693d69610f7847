//! `gnomon-agent`: a vmagent-compatible collector. It scrapes Prometheus targets and
//! accepts pushed samples, then remote-writes them to one or more Prometheus-compatible
//! stores through on-disk queues. Run `gnomon-agent -help` for the flags.

use std::process::ExitCode;

use gnomon_examples::agent_config::{AgentConfig, agent_flags};
use gnomon_examples::{agent, cli, logger};

fn main() -> ExitCode {
    let title = "gnomon-agent collects metrics (scrape, push) and sends them to remote storage; compatible with vmagent.\n\nUsage: gnomon-agent [flags]";
    let (f, cfg) = match cli::parse_args(
        agent_flags(),
        title,
        "gnomon-agent",
        AgentConfig::from_flags,
    ) {
        Ok(p) => p,
        Err(code) => return code,
    };
    if f.bool("version") {
        println!("gnomon-agent-v{}", env!("CARGO_PKG_VERSION"));
        return ExitCode::SUCCESS;
    }
    logger::init(cfg.log_level);
    log::info!("starting gnomon-agent-v{}", env!("CARGO_PKG_VERSION"));
    cli::run_async(agent::run(cfg))
}
