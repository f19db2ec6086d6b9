//! The command line (clap derive): k6's flag names where k6 has one, and
//! value parsers for durations and `KEY=VALUE` pairs. Parsing only; the
//! plan is built and validated in `config`.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use clap::{Args, Parser, Subcommand};

use crate::caps::LogLevel;

/// Load and integration tests whose scenarios are WebAssembly components.
#[derive(Debug, Parser)]
#[command(name = "vespid", version, about, propagate_version = true)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run a scenario plugin as virtual users and print a summary.
    Run(RunArgs),
    /// Print what a plugin declares: name, tasks, WIT world, imports.
    Inspect(InspectArgs),
    /// Serve the built-in demo target (for the demo, tests and benchmarks).
    DemoTarget(DemoTargetArgs),
}

#[derive(Debug, Args)]
pub struct RunArgs {
    /// The plugin: a WebAssembly component targeting vespid:scenario/scenario@0.1.0.
    pub plugin: PathBuf,

    /// Number of virtual users.
    #[arg(short = 'u', long, default_value_t = 1, value_parser = clap::value_parser!(u32).range(1..))]
    pub vus: u32,

    /// Run for this long (constant-vus), e.g. 30s, 1m30s. With --iterations: the maximum duration.
    #[arg(short = 'd', long, value_parser = parse_duration)]
    pub duration: Option<Duration>,

    /// Iterations per VU (per-vu-iterations); without --duration, at most 10m.
    #[arg(short = 'i', long, value_parser = clap::value_parser!(u32).range(1..))]
    pub iterations: Option<u32>,

    /// Time running iterations get to finish after the end (k6's gracefulStop).
    #[arg(long, value_parser = parse_duration, default_value = "30s")]
    pub graceful_stop: Duration,

    /// A value the plugin reads with vu::env (repeatable): KEY=VALUE.
    #[arg(short = 'e', long = "env", value_parser = parse_key_value)]
    pub env: Vec<(String, String)>,

    /// A data set the plugin reads with the data interface (repeatable):
    /// NAME=FILE, a .csv file (header row first) or JSON lines (.jsonl, .ndjson).
    #[arg(long = "data", value_name = "NAME=FILE", value_parser = parse_key_value)]
    pub data: Vec<(String, String)>,

    /// Name of the scenario, tagged on every metric (default: the plugin's name).
    #[arg(long)]
    pub scenario: Option<String>,

    /// Write the end-of-test aggregates as JSON to this file.
    #[arg(long, value_name = "FILE")]
    pub summary_export: Option<PathBuf>,

    /// Accept any TLS certificate.
    #[arg(long)]
    pub insecure_skip_tls_verify: bool,

    /// Also trust the CA certificates in this PEM file.
    #[arg(long, value_name = "FILE")]
    pub ca_file: Option<PathBuf>,

    /// Redirects followed per request unless the request says otherwise.
    #[arg(long, default_value_t = 10)]
    pub max_redirects: u32,

    /// Timeout of each HTTP request hop unless the request says otherwise.
    #[arg(long, value_parser = parse_duration, default_value = "60s")]
    pub http_timeout: Duration,

    /// User-Agent header unless the request sets one.
    #[arg(long)]
    pub user_agent: Option<String>,

    /// Lowest level of plugin log lines to print.
    #[arg(long, value_enum, default_value_t = LogLevel::Info)]
    pub log_level: LogLevel,

    /// No progress output, only the summary.
    #[arg(short, long)]
    pub quiet: bool,

    /// Do not use the compiled-plugin cache (~/.cache/vespid).
    #[arg(long)]
    pub no_compile_cache: bool,
}

#[derive(Debug, Args)]
pub struct InspectArgs {
    /// The plugin file.
    pub plugin: PathBuf,
}

#[derive(Debug, Args)]
pub struct DemoTargetArgs {
    /// Address to listen on (port 0 picks a free port).
    #[arg(long, default_value = "127.0.0.1:7878")]
    pub listen: SocketAddr,

    /// Serve HTTPS with a certificate made at start.
    #[arg(long)]
    pub tls: bool,

    /// With --tls: write the CA certificate (PEM) to this file.
    #[arg(long, value_name = "FILE", requires = "tls")]
    pub ca_out: Option<PathBuf>,
}

/// Parses durations like `30s`, `1m30s`, `250ms`, `2h`.
pub fn parse_duration(text: &str) -> Result<Duration, String> {
    humantime::parse_duration(text)
        .map_err(|err| format!("invalid duration {text:?} ({err}); use e.g. 30s, 1m30s, 250ms"))
}

/// Parses `KEY=VALUE`.
pub fn parse_key_value(text: &str) -> Result<(String, String), String> {
    match text.split_once('=') {
        Some((key, value)) if !key.is_empty() => Ok((key.to_string(), value.to_string())),
        _ => Err(format!("expected KEY=VALUE, got {text:?}")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_take_k6_spellings() {
        assert_eq!(parse_duration("30s"), Ok(Duration::from_secs(30)));
        assert_eq!(parse_duration("1m30s"), Ok(Duration::from_secs(90)));
        assert_eq!(parse_duration("250ms"), Ok(Duration::from_millis(250)));
        assert!(parse_duration("ten seconds").unwrap_err().contains("ten seconds"));
        assert!(parse_duration("-5s").is_err());
    }

    #[test]
    fn key_values_split_at_the_first_equals() {
        assert_eq!(parse_key_value("URL=http://x/?a=b"), Ok(("URL".into(), "http://x/?a=b".into())));
        assert_eq!(parse_key_value("EMPTY="), Ok(("EMPTY".into(), String::new())));
        assert!(parse_key_value("novalue").is_err());
        assert!(parse_key_value("=v").is_err());
    }

    #[test]
    fn the_cli_is_consistent() {
        use clap::CommandFactory;
        Cli::command().debug_assert();
    }
}
