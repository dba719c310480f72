//! The `meshcap` binary: parse the command line, run, map the outcome to an exit code
//! (0 ok, 1 failure, 2 bad input or usage).

mod cli;

use std::io::IsTerminal;
use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    let args = match cli::Cli::try_parse() {
        Ok(args) => args,
        Err(e) if e.use_stderr() => {
            // Usage errors on one line, like every other error; `--help` shows the usage.
            let text = e.render().to_string();
            let first = text.lines().find(|l| !l.trim().is_empty()).unwrap_or("error: bad usage");
            let prefix = if std::io::stderr().is_terminal() { "\x1b[1;31merror\x1b[0m" } else { "error" };
            eprintln!("{prefix}:{} (see --help)", first.trim_start_matches("error:"));
            return ExitCode::from(2);
        }
        Err(e) => {
            // --help and --version.
            let _ = e.print();
            return ExitCode::SUCCESS;
        }
    };
    match cli::run(args) {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            // Library errors know whether the input caused them; a bare I/O error (stdout closed,
            // disk full) is the environment's fault.
            let bad_input = match err.downcast_ref::<meshcap::Error>() {
                Some(e) => e.is_bad_input(),
                None => err.downcast_ref::<std::io::Error>().is_none(),
            };
            let prefix = if std::io::stderr().is_terminal() { "\x1b[1;31merror\x1b[0m" } else { "error" };
            // One line: the context chain joined, as the brief asks.
            let message = format!("{err:#}").replace('\n', " ");
            eprintln!("{prefix}: {message}");
            ExitCode::from(if bad_input { 2 } else { 1 })
        }
    }
}
