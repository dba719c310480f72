//! The `meshcap` binary: parse the command line, run, map the outcome to an exit code
//! (0 ok, 1 failure, 2 bad input or usage).

mod cli;
mod interrupt;

use std::io::IsTerminal;
use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    interrupt::clean_up_on_signals();
    let args = match cli::Cli::try_parse() {
        Ok(args) => args,
        Err(e) if e.use_stderr() => {
            // Usage errors on one line, like every other error; `--help` shows the usage.
            let text = e.render().to_string();
            let mut lines = text.lines().filter(|l| !l.trim().is_empty());
            let mut first = lines.next().unwrap_or("error: bad usage").trim_start_matches("error:").to_string();
            // "the following required arguments were not provided:" lists them on the next
            // lines: keep them on this one.
            if first.ends_with(':') {
                let listed: Vec<&str> =
                    lines.take_while(|l| l.starts_with("  ") && !l.starts_with("Usage")).map(str::trim).collect();
                first = format!("{} {}", first, listed.join(", "));
            }
            let prefix = if std::io::stderr().is_terminal() { "\x1b[1;31merror\x1b[0m" } else { "error" };
            eprintln!("{prefix}:{} (see --help)", printable(&first));
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
            let message = printable(&format!("{err:#}").replace('\n', " "));
            eprintln!("{prefix}: {message}");
            ExitCode::from(if bad_input { 2 } else { 1 })
        }
    }
}

/// The message with control characters escaped (`\u{1b}`), so a value echoed from an input
/// (an ANSI escape in a proxy name, a carriage return) cannot repaint the terminal or split
/// the one line every error is; a message longer than [`MAX_MESSAGE`] characters (a 70 MB cell
/// echoed whole) keeps its start and its end, where the file and line are named.
fn printable(message: &str) -> String {
    let chars: Vec<char> = message.chars().collect();
    let escape = |cs: &[char]| -> String {
        cs.iter().map(|c| if c.is_control() { c.escape_default().to_string() } else { c.to_string() }).collect()
    };
    if chars.len() <= MAX_MESSAGE {
        return escape(&chars);
    }
    let keep = MAX_MESSAGE / 2;
    format!(
        "{}…({} characters left out)…{}",
        escape(&chars[..keep]),
        chars.len() - 2 * keep,
        escape(&chars[chars.len() - keep..])
    )
}

/// The longest error message printed whole, in characters.
const MAX_MESSAGE: usize = 2000;
