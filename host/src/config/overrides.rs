//! What the command line says about a run, as plain values (no clap type),
//! for the plan to layer over the run file.

use std::path::PathBuf;
use std::time::Duration;

use crate::caps::grants::HostPattern;
use crate::caps::{CookieJarScope, DnsOptions, HttpDebug, LogLevel};
use crate::exec::Segment;
use crate::output::{ExportFormat, OutputSpec};

/// What the command line says about a run, layered over the run file (if
/// the target is one). Plain values: building a plan needs no clap type.
#[derive(Debug, Clone, Default)]
pub struct Overrides {
    /// A plugin, or a run file (`*.toml`).
    pub target: PathBuf,
    pub vus: Option<u32>,
    pub duration: Option<Duration>,
    pub iterations: Option<u64>,
    /// ramping-vus stages as (duration, target VUs).
    pub stages: Vec<(Duration, u32)>,
    /// Locust's spawn rate, users per second.
    pub spawn_rate: Option<f64>,
    pub graceful_stop: Option<Duration>,
    pub env: Vec<(String, String)>,
    pub tags: Vec<(String, String)>,
    /// Data sets as (name, file).
    pub data: Vec<(String, String)>,
    /// SQL datasources as (name, URL).
    pub datasources: Vec<(String, String)>,
    /// HTTP origins every scenario may reach (`--allow-host`).
    pub allow_hosts: Vec<HostPattern>,
    /// Grant a bundle what it asks for (`--grant-requested`).
    pub grant_requested: bool,
    /// Public keys one of which must have signed a bundle.
    pub require_signed_by: Vec<PathBuf>,
    /// The scenario name of a plugin run.
    pub scenario: Option<String>,
    pub segment: Option<Segment>,
    pub summary_export: Option<PathBuf>,
    pub summary_export_format: Option<ExportFormat>,
    pub outputs: Vec<OutputSpec>,
    pub insecure_skip_tls_verify: bool,
    pub ca_file: Option<PathBuf>,
    pub max_redirects: Option<u32>,
    pub http_timeout: Option<Duration>,
    pub user_agent: Option<String>,
    pub dns: Option<DnsOptions>,
    pub batch: Option<u32>,
    pub batch_per_host: Option<u32>,
    pub cookie_jar: Option<CookieJarScope>,
    /// In bytes.
    pub max_response_body: Option<u64>,
    /// Print every request and response (`--http-debug[=full]`).
    pub http_debug: Option<HttpDebug>,
    pub iteration_cpu_limit: Option<Duration>,
    pub setup_timeout: Option<Duration>,
    pub teardown_timeout: Option<Duration>,
    /// In bytes.
    pub vu_memory_limit: Option<u64>,
    pub log_level: Option<LogLevel>,
    pub quiet: bool,
    pub no_compile_cache: bool,
    /// Reload plugins when their files change.
    pub watch: bool,
    /// The most VUs live control may scale the run to.
    pub max_vus: Option<u32>,
    /// Where the control API listens: `host:port`, or `off`.
    pub address: Option<String>,
    /// The control API's token (required off loopback).
    pub api_token: Option<String>,
    /// Distinct custom metric names per run.
    pub max_metrics: Option<u32>,
    /// Distinct series (metric × tag set) per run.
    pub max_series: Option<u32>,
}
