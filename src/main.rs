//! The `meshcap` binary: parse the command line, run, map the outcome to an exit code
//! (0 ok, 1 failure, 2 bad input or usage).

mod cli;

use std::io::IsTerminal;
use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    let args = cli::Cli::parse();
    match cli::run(args) {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            let bad_input = err.downcast_ref::<meshcap::Error>().map_or(true, meshcap::Error::is_bad_input);
            let prefix = if std::io::stderr().is_terminal() { "\x1b[1;31merror\x1b[0m" } else { "error" };
            // One line: the context chain joined, as the brief asks.
            let message = format!("{err:#}").replace('\n', " ");
            eprintln!("{prefix}: {message}");
            ExitCode::from(if bad_input { 2 } else { 1 })
        }
    }
}
