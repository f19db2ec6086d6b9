//! The `vespid` binary: parse the command line, run it, map the outcome to
//! an exit code. Everything else is in the library.

use std::io::IsTerminal;
use std::panic::{AssertUnwindSafe, PanicHookInfo};

use clap::Parser;
use vespid::{Cli, ExitCode};

fn main() -> std::process::ExitCode {
    std::panic::set_hook(Box::new(report_panic));
    // A panic on this thread ends here; one in a task fails the run, which
    // still writes its outputs.
    std::panic::catch_unwind(AssertUnwindSafe(run))
        .unwrap_or_else(|_| std::process::ExitCode::from(ExitCode::RuntimeFailure as u8))
}

/// A bug is one line and exit code 1, never Rust's multi-line panic text.
fn report_panic(info: &PanicHookInfo<'_>) {
    let payload = info.payload();
    let message = payload
        .downcast_ref::<&str>()
        .copied()
        .or_else(|| payload.downcast_ref::<String>().map(String::as_str))
        .unwrap_or("a panic");
    let location = info.location().map(|l| format!(" at {}:{}", l.file(), l.line())).unwrap_or_default();
    eprintln!("error: internal error: {}{location}; please report it", message.replace('\n', " "));
}

fn run() -> std::process::ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(err) if !err.use_stderr() => {
            // --help and --version.
            let _ = err.print();
            return std::process::ExitCode::SUCCESS;
        }
        Err(err) => {
            eprintln!("{}", one_line(&err.to_string()));
            return std::process::ExitCode::from(ExitCode::BadInput as u8);
        }
    };
    // Colour codes only for a terminal, never into a file or a CI log.
    tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::try_from_env("VESPID_LOG").unwrap_or_else(|_| "info".into()))
        .with_writer(std::io::stderr)
        .with_ansi(std::io::stderr().is_terminal())
        .with_target(false)
        .without_time()
        .init();
    let runtime = match tokio::runtime::Builder::new_multi_thread().enable_all().build() {
        Ok(runtime) => runtime,
        Err(err) => {
            eprintln!("error: cannot start the async runtime: {err}");
            return std::process::ExitCode::from(ExitCode::RuntimeFailure as u8);
        }
    };
    let outcome = runtime.block_on(vespid::execute(cli));
    // Do not wait for blocking work an interrupt left behind (a compile).
    runtime.shutdown_background();
    match outcome {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(vespid::Error::Interrupted) => {
            eprintln!("interrupted");
            std::process::ExitCode::from(ExitCode::Interrupted as u8)
        }
        Err(err) => {
            eprintln!("error: {err}");
            std::process::ExitCode::from(err.exit_code() as u8)
        }
    }
}

/// clap's message without its usage and help hints, on one line.
fn one_line(message: &str) -> String {
    message
        .lines()
        .take_while(|line| !line.starts_with("Usage:") && !line.starts_with("For more information"))
        .map(str::trim)
        .filter(|line| !line.is_empty())
        .collect::<Vec<_>>()
        .join(" ")
}
