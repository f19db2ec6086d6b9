//! The command line (clap derive): k6's flag names where k6 has one.
//! Parsing only; the plan is built and validated in `config`.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use clap::{Args, Parser, Subcommand};

use crate::caps::grants::HostPattern;
use crate::caps::{CookieJarScope, DnsOptions, HttpDebug, LogLevel};
use crate::config::{Overrides, parse_duration, parse_key_value, parse_size, parse_spawn_rate, parse_stage};
use crate::exec::Segment;
use crate::output::{ExportFormat, OutputSpec};
use crate::scaffold::Lang;

/// Load and integration tests whose scenarios are WebAssembly components.
#[derive(Debug, Parser)]
#[command(name = "vespid", version, about, propagate_version = true)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run a scenario plugin, or a vespid.toml run file, and print a summary.
    Run(RunArgs),
    /// Check a run file (and the flags given with it) without running it.
    Validate(RunArgs),
    /// Print what a plugin declares: name, tasks, WIT world, imports.
    Inspect(InspectArgs),
    /// Serve the built-in demo target (for the demo, tests and benchmarks).
    DemoTarget(DemoTargetArgs),
    /// Create a Rust scenario project in a new folder NAME, ready to build and run.
    New(NewArgs),
    /// Show the status of a running test (its control API).
    Status(ControlArgs),
    /// Pause a running test: no iteration starts, its clock stands still.
    Pause(ControlArgs),
    /// Resume a paused test.
    Resume(ControlArgs),
    /// Change a running test's load: a fixed VU count or a factor on its VU targets and rates.
    Scale(ScaleArgs),
    /// Run a plugin slowly while you write it: reloaded on every save (DIR: rebuilt on every source change),
    /// each request, check and error printed.
    Dev(DevArgs),
    /// Pack, inspect, verify and sign scenario bundles (.vspd).
    #[command(subcommand)]
    Bundle(BundleCommand),
}

/// `vespid bundle …`.
#[derive(Debug, Subcommand)]
pub enum BundleCommand {
    /// Pack a folder with bundle.toml, or one plugin file, into NAME-VERSION.vspd.
    Pack(PackArgs),
    /// Print a bundle's manifest, the permissions it asks for first, its parts and its signature.
    Inspect(BundleFileArgs),
    /// Check every digest of a bundle and, if signed, its signature (with --key: that this key signed it).
    Verify(BundleFileArgs),
    /// Seal a bundle with an ed25519 private key (PKCS#8 PEM), in place or into -o FILE.
    Sign(SignArgs),
    /// Make an ed25519 key pair: PREFIX.pem (private, keep it) and PREFIX.pub.pem (public, to share).
    Keygen(KeygenArgs),
    /// Push a bundle to an OCI registry: oci://host:port/team/name:tag.
    Push(PushArgs),
    /// Pull a bundle from an OCI registry by tag or digest (oci://host:port/team/name:tag or …@sha256:…).
    Pull(PullArgs),
}

#[derive(Debug, Args)]
pub struct PushArgs {
    pub bundle: PathBuf,
    pub reference: String,
}

#[derive(Debug, Args)]
pub struct PullArgs {
    pub reference: String,
    /// Where to write the bundle.
    #[arg(short = 'o', long)]
    pub output: PathBuf,
}

#[derive(Debug, Args)]
pub struct PackArgs {
    /// A folder holding bundle.toml, or a plugin file (.wasm, .js, .py).
    pub source: PathBuf,
    /// The bundle file [default: NAME-VERSION.vspd].
    #[arg(short = 'o', long)]
    pub output: Option<PathBuf>,
    /// Name and version of a bundle of one plugin file [default: its file name, 0.1.0].
    #[arg(long)]
    pub name: Option<String>,
    #[arg(long, value_name = "VERSION")]
    pub bundle_version: Option<String>,
}

#[derive(Debug, Args)]
pub struct BundleFileArgs {
    pub bundle: PathBuf,
    /// A public key (PEM) that must have signed the bundle.
    #[arg(long)]
    pub key: Option<PathBuf>,
}

#[derive(Debug, Args)]
pub struct SignArgs {
    pub bundle: PathBuf,
    /// The ed25519 private key (PKCS#8 PEM, as `openssl genpkey -algorithm ed25519` writes it).
    #[arg(long)]
    pub key: PathBuf,
    /// Write the signed bundle here instead of over the input.
    #[arg(short = 'o', long)]
    pub output: Option<PathBuf>,
}

#[derive(Debug, Args)]
pub struct KeygenArgs {
    /// Where to write the keys: PREFIX.pem and PREFIX.pub.pem.
    pub prefix: PathBuf,
}

/// Where a running test's control API is.
#[derive(Debug, Args)]
pub struct ControlArgs {
    /// The run's control API, host:port.
    #[arg(short = 'a', long, default_value = crate::config::DEFAULT_CONTROL_ADDRESS)]
    pub address: String,

    /// The API's token, if the run asks for one.
    #[arg(long, env = "VESPID_API_TOKEN", hide_env_values = true)]
    pub api_token: Option<String>,

    /// Print the status as JSON.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
#[command(group(clap::ArgGroup::new("change").required(true).args(["vus", "factor"])))]
pub struct ScaleArgs {
    /// Hold this many VUs (looping executors), whatever the stages say.
    #[arg(long)]
    pub vus: Option<u32>,

    /// Multiply the planned VU targets or arrival rate by this (1: as planned).
    #[arg(long)]
    pub factor: Option<f64>,

    /// The scenario to change (default: every one the change applies to).
    #[arg(long)]
    pub scenario: Option<String>,

    #[command(flatten)]
    pub control: ControlArgs,
}

#[derive(Debug, Args)]
pub struct RunArgs {
    /// A plugin (a WebAssembly component targeting vespid:scenario/scenario, 0.1.x or 0.2.0), a script, a bundle (*.vspd) or a
    /// run file (*.toml).
    pub target: PathBuf,

    /// Number of virtual users (with --stage: the VUs at the start). Also Locust's --users.
    #[arg(short = 'u', long, visible_alias = "users", value_parser = clap::value_parser!(u32).range(1..))]
    pub vus: Option<u32>,

    /// Run for this long (constant-vus), e.g. 30s, 1m30s. With --iterations: the maximum duration. Also Locust's -t/--run-time.
    #[arg(short = 'd', long, visible_alias = "run-time", visible_short_alias = 't', value_parser = parse_duration)]
    pub duration: Option<Duration>,

    /// Locust's spawn rate: users started per second up to --users, which then run until --run-time (a ramping-vus executor from 0).
    #[arg(short = 'r', long, value_parser = parse_spawn_rate)]
    pub spawn_rate: Option<f64>,

    /// Locust's --host: the base URL of a locustfile's users (LOCUST_HOST in the run's env).
    #[arg(short = 'H', long)]
    pub host: Option<String>,

    /// Accepted for Locust's command lines: vespid has no web UI.
    #[arg(long)]
    pub headless: bool,

    /// Locust's --tags: a locustfile's users run only the tasks tagged with one of these (LOCUST_TAGS in the run's env).
    #[arg(short = 'T', long, num_args = 1.., value_name = "TAG")]
    pub tags: Vec<String>,

    /// Locust's --exclude-tags: a locustfile's users skip the tasks tagged with one of these (LOCUST_EXCLUDE_TAGS).
    #[arg(short = 'E', long, num_args = 1.., value_name = "TAG")]
    pub exclude_tags: Vec<String>,

    /// Locust's --csv: write Locust's PREFIX_stats.csv, PREFIX_failures.csv and PREFIX_exceptions.csv at the end.
    #[arg(long, value_name = "PREFIX")]
    pub csv: Option<PathBuf>,

    /// A folder of pure-Python modules and packages a Python script imports (repeatable; PYTHONPATH in the run's env).
    #[arg(long, value_name = "DIR")]
    pub python_path: Vec<String>,

    /// Iterations shared by all VUs (shared-iterations, as k6); without --duration, at most 10m.
    #[arg(short = 'i', long, value_parser = clap::value_parser!(u64).range(1..))]
    pub iterations: Option<u64>,

    /// A ramping-vus stage DURATION:TARGET (repeatable), e.g. --stage 30s:100 --stage 1m:100.
    #[arg(short = 's', long, value_parser = parse_stage)]
    pub stage: Vec<(Duration, u32)>,

    /// Time running iterations get to finish after the end (k6's gracefulStop; default 30s).
    #[arg(long, value_parser = parse_duration)]
    pub graceful_stop: Option<Duration>,

    /// A value the plugin reads with vu::env (repeatable): KEY=VALUE.
    #[arg(short = 'e', long = "env", value_parser = parse_key_value)]
    pub env: Vec<(String, String)>,

    /// A tag on every metric sample (repeatable): KEY=VALUE.
    #[arg(long, value_parser = parse_key_value)]
    pub tag: Vec<(String, String)>,

    /// A data set the plugin reads with the data interface (repeatable):
    /// NAME=FILE, a .csv file (header row first) or JSON lines (.jsonl, .ndjson).
    #[arg(long = "data", value_name = "NAME=FILE", value_parser = parse_key_value)]
    pub data: Vec<(String, String)>,

    /// A SQL datasource the plugin may use by name (repeatable): NAME=URL, postgres://… or sqlite:PATH.
    #[arg(long = "datasource", value_name = "NAME=URL", value_parser = parse_key_value)]
    pub datasources: Vec<(String, String)>,

    /// A bundle's permissions as it asks for them, granted after they are shown.
    #[arg(long)]
    pub grant_requested: bool,

    /// Run a bundle only if this public key (PEM) signed it (repeatable: any of them).
    #[arg(long = "require-signed-by", value_name = "KEY")]
    pub require_signed_by: Vec<PathBuf>,

    /// An HTTP origin every scenario may reach (repeatable): scheme://host:port, *.domain, * or a range such as
    /// 127.0.0.0/8. Once any is granted, HTTP goes nowhere else.
    #[arg(long = "allow-host", value_name = "PATTERN", value_parser = HostPattern::parse)]
    pub allow_hosts: Vec<HostPattern>,

    /// Name of the scenario of a plugin run, tagged on every metric (default: the plugin's name).
    #[arg(long)]
    pub scenario: Option<String>,

    /// Run only this share of the test, i/n (k6's execution segments), e.g. 2/4.
    #[arg(long, value_parser = clap::value_parser!(Segment))]
    pub segment: Option<Segment>,

    /// Write the end-of-test aggregates as JSON to this file.
    #[arg(long, value_name = "FILE")]
    pub summary_export: Option<PathBuf>,

    /// Layout of the summary export: vespid (default) or k6 (k6's --summary-export layout).
    #[arg(long, value_name = "FORMAT", value_parser = str::parse::<ExportFormat>)]
    pub summary_export_format: Option<ExportFormat>,

    /// Stream every metric point to a file (repeatable): json=FILE (k6's JSON lines), csv=FILE.
    #[arg(short = 'o', long = "out", value_name = "KIND=FILE", value_parser = OutputSpec::parse)]
    pub outputs: Vec<OutputSpec>,

    /// Accept any TLS certificate.
    #[arg(long)]
    pub insecure_skip_tls_verify: bool,

    /// Also trust the CA certificates in this PEM file.
    #[arg(long, value_name = "FILE")]
    pub ca_file: Option<PathBuf>,

    /// Redirects followed per request unless the request says otherwise (default 10).
    #[arg(long)]
    pub max_redirects: Option<u32>,

    /// Timeout of each HTTP request hop unless the request says otherwise (default 60s).
    #[arg(long, value_parser = parse_duration)]
    pub http_timeout: Option<Duration>,

    /// User-Agent header unless the request sets one.
    #[arg(long)]
    pub user_agent: Option<String>,

    /// Name resolution, k6's form (default select=random,ttl=5m,policy=preferIPv4), e.g. "select=first,ttl=1m,policy=any".
    #[arg(long, value_parser = str::parse::<DnsOptions>)]
    pub dns: Option<DnsOptions>,

    /// Requests of one http batch in flight at once (default 20).
    #[arg(long, value_parser = clap::value_parser!(u32).range(1..))]
    pub batch: Option<u32>,

    /// Requests of one http batch in flight at once per origin, and idle connections a VU keeps per origin (default 6).
    #[arg(long, value_parser = clap::value_parser!(u32).range(1..))]
    pub batch_per_host: Option<u32>,

    /// How long a VU's cookies live: per-vu (default) or per-iteration (k6's default: emptied before each iteration).
    #[arg(long, value_parser = str::parse::<CookieJarScope>)]
    pub cookie_jar: Option<CookieJarScope>,

    /// Largest response body a request copies into the plugin (default 32MiB); a larger one fails the request.
    #[arg(long, value_name = "SIZE", value_parser = parse_size)]
    pub max_response_body: Option<u64>,

    /// Print every request and response to stderr (k6's): --http-debug for headers, --http-debug=full for bodies too,
    /// --http-debug=summary for one line each.
    #[arg(long, value_name = "full", num_args = 0..=1, require_equals = true, default_missing_value = "headers", value_parser = str::parse::<HttpDebug>)]
    pub http_debug: Option<HttpDebug>,

    /// CPU time the plugin's own code may use per iteration and per init (host waits excluded; default 10s).
    #[arg(long, value_parser = parse_duration)]
    pub iteration_cpu_limit: Option<Duration>,

    /// Time setup() may take (k6's setupTimeout; default 60s).
    #[arg(long, value_parser = parse_duration)]
    pub setup_timeout: Option<Duration>,

    /// Time teardown() may take (k6's teardownTimeout; default 60s).
    #[arg(long, value_parser = parse_duration)]
    pub teardown_timeout: Option<Duration>,

    /// Largest memory of one VU, e.g. 64MiB (default), 256MiB.
    #[arg(long, value_name = "SIZE", value_parser = parse_size)]
    pub vu_memory_limit: Option<u64>,

    /// Lowest level of plugin log lines to print: trace, debug, info (default), warn, error.
    #[arg(long, value_parser = str::parse::<LogLevel>)]
    pub log_level: Option<LogLevel>,

    /// No progress output, only the summary.
    #[arg(short, long)]
    pub quiet: bool,

    /// Do not use the compiled-plugin cache (~/.cache/vespid/wasmtime).
    #[arg(long)]
    pub no_compile_cache: bool,

    /// Reload a plugin when its file changes: each VU moves to the new version at its next iteration.
    #[arg(short, long)]
    pub watch: bool,

    /// The most VUs live control (`vespid scale`) may scale the run to (default: the plan's peak).
    #[arg(long, value_parser = clap::value_parser!(u32).range(1..))]
    pub max_vus: Option<u32>,

    /// Where the control API listens (default 127.0.0.1:6565; `off` for none). Off loopback it asks for a token.
    #[arg(short = 'a', long)]
    pub address: Option<String>,

    /// The control API's token (default off loopback: a random one, printed once).
    #[arg(long, env = "VESPID_API_TOKEN", hide_env_values = true)]
    pub api_token: Option<String>,

    /// Most distinct custom metric names per run (default 1000); samples of further names are dropped and counted.
    #[arg(long, value_parser = clap::value_parser!(u32).range(1..))]
    pub max_metrics: Option<u32>,

    /// Most distinct series, metric × tag set, per run (default 10000); see docs/metrics.md.
    #[arg(long, value_parser = clap::value_parser!(u32).range(1..))]
    pub max_series: Option<u32>,
}

impl RunArgs {
    /// The flags a Python script reads from the run's env, under Locust's
    /// (and Python's) own environment variable names.
    fn locust_env(&self) -> impl Iterator<Item = (String, String)> {
        let host = self.host.iter().map(|host| ("LOCUST_HOST".to_string(), host.clone()));
        let lists = [("LOCUST_TAGS", &self.tags, ","), ("LOCUST_EXCLUDE_TAGS", &self.exclude_tags, ",")];
        let lists = lists.into_iter().chain([("PYTHONPATH", &self.python_path, ":")]);
        let lists = lists.filter(|(_, values, _)| !values.is_empty());
        host.chain(lists.map(|(key, values, separator)| (key.to_string(), values.join(separator))))
    }

    /// The flags as plain values for `config`.
    pub fn overrides(&self) -> Overrides {
        Overrides {
            target: self.target.clone(),
            vus: self.vus,
            duration: self.duration,
            iterations: self.iterations,
            stages: self.stage.clone(),
            spawn_rate: self.spawn_rate,
            graceful_stop: self.graceful_stop,
            // Before the --env pairs: a LOCUST_HOST given with -e wins, as later pairs do.
            env: self.locust_env().chain(self.env.clone()).collect(),
            tags: self.tag.clone(),
            data: self.data.clone(),
            datasources: self.datasources.clone(),
            allow_hosts: self.allow_hosts.clone(),
            grant_requested: self.grant_requested,
            require_signed_by: self.require_signed_by.clone(),
            scenario: self.scenario.clone(),
            segment: self.segment,
            summary_export: self.summary_export.clone(),
            summary_export_format: self.summary_export_format,
            outputs: self.outputs.iter().cloned().chain(self.csv.clone().map(OutputSpec::LocustCsv)).collect(),
            insecure_skip_tls_verify: self.insecure_skip_tls_verify,
            ca_file: self.ca_file.clone(),
            max_redirects: self.max_redirects,
            http_timeout: self.http_timeout,
            user_agent: self.user_agent.clone(),
            dns: self.dns,
            batch: self.batch,
            batch_per_host: self.batch_per_host,
            cookie_jar: self.cookie_jar,
            max_response_body: self.max_response_body,
            http_debug: self.http_debug,
            iteration_cpu_limit: self.iteration_cpu_limit,
            setup_timeout: self.setup_timeout,
            teardown_timeout: self.teardown_timeout,
            vu_memory_limit: self.vu_memory_limit,
            log_level: self.log_level,
            quiet: self.quiet,
            no_compile_cache: self.no_compile_cache,
            watch: self.watch,
            max_vus: self.max_vus,
            address: self.address.clone(),
            api_token: self.api_token.clone(),
            max_metrics: self.max_metrics,
            max_series: self.max_series,
        }
    }
}

/// A count given as u64, as a usize (the largest on a 32-bit host).

#[derive(Debug, Args)]
pub struct DevArgs {
    /// A plugin, or its source folder (built with --build, rebuilt on every change).
    pub target: PathBuf,

    /// Number of virtual users.
    #[arg(short = 'u', long, default_value_t = 1, value_parser = clap::value_parser!(u32).range(1..))]
    pub vus: u32,

    /// Each VU starts an iteration this often (constant pacing).
    #[arg(long, default_value = "1s", value_parser = parse_duration)]
    pub pace: Duration,

    /// Stop after this long.
    #[arg(short = 'd', long, default_value = "1h", value_parser = parse_duration)]
    pub duration: Duration,

    /// A value the plugin reads with vu::env (repeatable): KEY=VALUE.
    #[arg(short = 'e', long = "env", value_parser = parse_key_value)]
    pub env: Vec<(String, String)>,

    /// The command that builds the folder, run with sh in it (default for a Cargo project:
    /// cargo build --target wasm32-wasip2 --release).
    #[arg(long, value_name = "COMMAND")]
    pub build: Option<String>,

    /// The plugin the build writes (default for a Cargo project: target/wasm32-wasip2/release/CRATE.wasm in it).
    #[arg(long, value_name = "PATH")]
    pub plugin: Option<PathBuf>,

    /// Write the end-of-run aggregates as JSON to this file.
    #[arg(long, value_name = "FILE")]
    pub summary_export: Option<PathBuf>,
}

#[derive(Debug, Args)]
pub struct InspectArgs {
    /// The plugin file, or a script (.js) whose options to resolve.
    pub plugin: PathBuf,

    /// A value a script reads as __ENV while it loads (repeatable): KEY=VALUE.
    #[arg(short = 'e', long = "env", value_parser = parse_key_value)]
    pub env: Vec<(String, String)>,
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

    /// Store `POST /orders` in this SQLite database (sqlite:PATH, created if missing), for tests that check it.
    #[arg(long, value_name = "URL")]
    pub database: Option<String>,
}

#[derive(Debug, Args)]
pub struct NewArgs {
    /// Name of the project: its folder and its crate (letters, digits, - and _).
    pub name: String,

    /// Folder to create the project in.
    #[arg(long, value_name = "PATH", default_value = ".")]
    pub dir: PathBuf,

    /// The vespid-sdk crate to depend on (default: sdk/rust of the sources this vespid was built from).
    #[arg(long, value_name = "PATH")]
    pub sdk_path: Option<PathBuf>,

    /// The project's language: a Rust crate, a k6-style script.js, or a locustfile.py.
    #[arg(long, value_enum, default_value = "rust")]
    pub lang: Lang,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn out_values_go_through_the_output_parser() {
        let run = |out: &str| Cli::try_parse_from(["vespid", "run", "p.wasm", "--out", out, "-o", "csv=b.csv"]);
        match run("json=a.json").expect("valid").command {
            Command::Run(args) => {
                assert_eq!(args.outputs, [OutputSpec::Json("a.json".into()), OutputSpec::Csv("b.csv".into())])
            }
            other => panic!("parsed {other:?}"),
        }
        for bad in ["xml=foo", "json", "csv="] {
            let err = run(bad).unwrap_err().to_string();
            assert!(err.contains(bad), "{bad}: {err}");
        }
    }

    #[test]
    fn the_cli_is_consistent() {
        use clap::CommandFactory;
        Cli::command().debug_assert();
    }
}
