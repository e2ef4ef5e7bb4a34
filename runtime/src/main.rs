//! The `berth` binary: parse the command line, run the command, turn failures into one log line
//! and a non-zero exit code.

use std::process::ExitCode;

use anyhow::Context;
use berth::cli::{Cli, Command};
use berth::logging;
use clap::Parser;

fn main() -> ExitCode {
    let cli = Cli::parse();
    match run(cli) {
        Ok(code) => ExitCode::from(code.clamp(0, 255) as u8),
        Err(err) => {
            // berth's own errors already carry their cause in one line.
            let message = match err.downcast_ref::<berth::error::Error>() {
                Some(e) => e.to_string(),
                None => format!("{err:#}"),
            };
            logging::log(logging::Level::Error, &message);
            if logging::has_log_file() {
                eprintln!("berth: {message}");
            }
            ExitCode::FAILURE
        }
    }
}

fn run(cli: Cli) -> anyhow::Result<i32> {
    logging::init(cli.log.as_deref(), cli.log_format, cli.debug)
        .with_context(|| format!("open log file {:?}", cli.log))?;
    if matches!(
        cli.command,
        Command::Create(_) | Command::Run(_) | Command::Exec(_)
    ) {
        berth::exe_guard::ensure_protected_exe()?;
    }
    Ok(berth::lifecycle::dispatch(cli)?)
}
