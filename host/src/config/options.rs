//! The run-wide options beside the scenarios: HTTP, the caps on metrics,
//! and the control API, each a flag over its run-file key over its default.

use super::file::{RunFile, Source};
use super::values::{Layered, check_response_body};
use super::{ConfigError, Overrides};
use crate::caps::HttpOptions;
use crate::metrics::MetricLimits;

/// The HTTP options: each flag over its run-file key over the default.
pub(super) fn http_options(
    args: &Overrides,
    file: &RunFile,
    source: Option<&Source>,
) -> Result<HttpOptions, ConfigError> {
    let defaults = HttpOptions::default();
    let option = |key: &'static str| Layered { key, source };
    let max_response_body = option("max-response-body").size(
        args.max_response_body,
        file.max_response_body.as_deref(),
        defaults.max_response_body,
        check_response_body,
    )?;
    Ok(HttpOptions {
        timeout: option("http-timeout").duration(args.http_timeout, file.http_timeout.as_deref(), defaults.timeout)?,
        max_redirects: option("max-redirects").count(
            args.max_redirects,
            file.max_redirects,
            defaults.max_redirects,
            0,
        )?,
        insecure_skip_tls_verify: args.insecure_skip_tls_verify || file.insecure_skip_tls_verify == Some(true),
        ca_file: args.ca_file.clone(),
        user_agent: args.user_agent.clone().or_else(|| file.user_agent.clone()).unwrap_or(defaults.user_agent),
        dns: option("dns").parsed(args.dns, file.dns.as_deref(), defaults.dns)?,
        batch: option("batch").count(args.batch, file.batch, defaults.batch, 1)?,
        batch_per_host: option("batch-per-host").count(
            args.batch_per_host,
            file.batch_per_host,
            defaults.batch_per_host,
            1,
        )?,
        cookie_jar: option("cookie-jar").parsed(args.cookie_jar, file.cookie_jar.as_deref(), defaults.cookie_jar)?,
        max_response_body,
        debug: option("http-debug").parsed(args.http_debug, file.http_debug.as_deref(), defaults.debug)?,
    })
}

/// `--max-metrics` and `--max-series` over the run file's keys, over the defaults.
pub(super) fn metric_limits(
    args: &Overrides,
    file: &RunFile,
    source: Option<&Source>,
) -> Result<MetricLimits, ConfigError> {
    let defaults = MetricLimits::default();
    let option = |key: &'static str| Layered { key, source };
    Ok(MetricLimits {
        max_metrics: option("max-metrics").count(args.max_metrics, file.max_metrics, defaults.max_metrics, 1)?,
        max_series: option("max-series").count(args.max_series, file.max_series, defaults.max_series, 1)?,
    })
}

/// Where the control API of a run listens, and the token it asks for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ControlOptions {
    /// `None`: no control API.
    pub address: Option<std::net::SocketAddr>,
    /// Whether the address was asked for (`--address`): if it is taken the
    /// run fails, where the default only warns.
    pub explicit: bool,
    pub token: Option<String>,
}

/// The control API's default address, k6's.
pub const DEFAULT_CONTROL_ADDRESS: &str = "127.0.0.1:6565";

pub(super) fn control_options(args: &Overrides) -> Result<ControlOptions, ConfigError> {
    let explicit = args.address.is_some();
    let text = args.address.as_deref().unwrap_or(DEFAULT_CONTROL_ADDRESS);
    let address = match text {
        "off" | "none" | "" => None,
        _ => Some(parse_control_address(text).map_err(|message| ConfigError::Flag { flag: "address", message })?),
    };
    let token = args.api_token.clone().filter(|token| !token.is_empty());
    Ok(ControlOptions { address, explicit, token })
}

/// `host:port` with an IP address or `localhost`.
pub fn parse_control_address(text: &str) -> Result<std::net::SocketAddr, String> {
    let text = text.strip_prefix("localhost:").map_or_else(|| text.to_string(), |port| format!("127.0.0.1:{port}"));
    text.parse().map_err(|_| format!("{text:?} is not an address such as 127.0.0.1:6565 (or off)"))
}
