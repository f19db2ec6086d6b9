//! The clients of a running test's control API, for people and CI
//! scripts: `vespid status`, `pause`, `resume` and `scale` send one request
//! and print the run's status (as JSON with `--json`).

use std::time::Duration;

use crate::run::control::{Status, StatusPatch};

/// How long a client waits for a run to answer.
const TIMEOUT: Duration = Duration::from_secs(10);

/// Why a client command failed.
#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    #[error("no run answers at {address}: {reason} (is one running, with its control API there? see --address)")]
    Unreachable { address: String, reason: String },
    #[error("the run refused: {0}")]
    Refused(String),
    #[error("the run answered what this vespid cannot read: {0}")]
    Garbled(String),
}

/// One control API, as the client commands reach it.
pub struct Client {
    base: String,
    token: Option<String>,
    http: reqwest::Client,
}

impl Client {
    /// `address` as `host:port` (`localhost:6565` works too).
    pub fn new(address: &str, token: Option<String>) -> Result<Client, ClientError> {
        let http = reqwest::Client::builder()
            .timeout(TIMEOUT)
            .no_proxy()
            .build()
            .map_err(|err| ClientError::Unreachable { address: address.into(), reason: err.to_string() })?;
        Ok(Client { base: format!("http://{address}/v1/status"), token, http })
    }

    pub async fn status(&self) -> Result<Status, ClientError> {
        self.send(self.http.get(&self.base)).await
    }

    pub async fn patch(&self, patch: &StatusPatch) -> Result<Status, ClientError> {
        self.send(self.http.patch(&self.base).json(patch)).await
    }

    async fn send(&self, request: reqwest::RequestBuilder) -> Result<Status, ClientError> {
        let request = match &self.token {
            Some(token) => request.bearer_auth(token),
            None => request,
        };
        let unreachable = |err: reqwest::Error| ClientError::Unreachable {
            address: self.base.trim_start_matches("http://").trim_end_matches("/v1/status").to_string(),
            reason: root_cause(&err),
        };
        let response = request.send().await.map_err(unreachable)?;
        let status = response.status();
        let body = response.bytes().await.map_err(unreachable)?;
        if !status.is_success() {
            let message = serde_json::from_slice::<serde_json::Value>(&body)
                .ok()
                .and_then(|v| v["error"].as_str().map(str::to_string))
                .unwrap_or_else(|| {
                    let text = String::from_utf8_lossy(&body);
                    crate::metrics::cut(text.lines().next().unwrap_or_default(), 200).into_owned()
                });
            return Err(ClientError::Refused(format!("{message} ({status})")));
        }
        serde_json::from_slice(&body).map_err(|err| ClientError::Garbled(err.to_string()))
    }
}

/// The innermost cause ("Connection refused (os error 111)"), which says
/// more than reqwest's own "error sending request".
fn root_cause(err: &(dyn std::error::Error + 'static)) -> String {
    let mut cause = err;
    while let Some(source) = cause.source() {
        cause = source;
    }
    cause.to_string()
}

/// The status for a person: one line for the run, one per scenario.
pub fn render(status: &Status) -> String {
    let mut out = format!(
        "{}: {} VUs active of {}, test time {:.1}s\n",
        status.status, status.vus, status.vus_max, status.elapsed
    );
    for scenario in &status.scenarios {
        let scale = match scenario.vus_target {
            Some(vus) => format!("fixed at {vus} VUs"),
            None => format!("factor {}", scenario.factor),
        };
        out.push_str(&format!(
            "  * {}: {} ({scale}), {} VUs active, plugin version {}\n",
            scenario.name, scenario.executor, scenario.vus, scenario.plugin_version
        ));
    }
    out
}
