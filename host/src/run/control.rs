//! The control API of a running test, on k6's conventions (port 6565,
//! `GET /v1/status`, `PATCH /v1/status` with `paused` and `vus`) plus what
//! k6 lacks: a scale factor per scenario that stages and arrival rates
//! honour, and a plugin swap by path. JSON in, JSON out (docs/control.md);
//! every change is logged with its source. It only steers: the executors
//! follow the scale and the clock, the reloader swaps plugins.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;

use axum::Router;
use axum::body::Bytes;
use axum::extract::{ConnectInfo, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use serde::{Deserialize, Serialize};
use tokio_util::sync::CancellationToken;

use super::reload::{Reloaded, Reloader};
use crate::Error;
use crate::config::ControlOptions;
use crate::exec::{ExecCtx, Live, Scale, ScaleError};
use crate::output::{Action, ChangeLog};

/// What `GET /v1/status` answers.
#[derive(Debug, Serialize, Deserialize)]
pub struct Status {
    /// `running`, `paused` or `stopping` (after the last iteration started).
    pub status: String,
    pub paused: bool,
    /// VUs taking part right now.
    pub vus: u32,
    /// VUs the run holds (more after a scale-up).
    #[serde(rename = "vus-max")]
    pub vus_max: u32,
    /// Test time (paused time excluded), in seconds.
    pub elapsed: f64,
    pub scenarios: Vec<ScenarioStatus>,
}

#[derive(Debug, Serialize, Deserialize)]
pub struct ScenarioStatus {
    pub name: String,
    pub executor: String,
    /// The scale factor on its VU targets or arrival rate.
    pub factor: f64,
    /// A fixed VU count set live, if any.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub vus_target: Option<u32>,
    pub vus: u32,
    pub plugin_version: String,
}

/// A `PATCH /v1/status` body: any of these, applied in this order.
#[derive(Debug, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StatusPatch {
    /// Pause (no iteration starts, the test clock stands still) or resume.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub paused: Option<bool>,
    /// The scenario the changes below apply to (default: every scenario
    /// they can apply to; for `vus` and `plugin`, the only one).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub scenario: Option<String>,
    /// A fixed number of active VUs (looping executors).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub vus: Option<u32>,
    /// A factor on the planned VU targets or arrival rate (1: as planned).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub factor: Option<f64>,
    /// A plugin file to swap in, as hot reload does.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub plugin: Option<PathBuf>,
}

/// k6's JSON:API envelope, accepted too: `{"data":{"attributes":{…}}}`.
#[derive(Deserialize)]
struct Envelope {
    data: EnvelopeData,
}

#[derive(Deserialize)]
struct EnvelopeData {
    attributes: StatusPatch,
}

/// A scenario by name.
type Named = (String, Arc<ExecCtx>);

/// Why a request cannot be done: its HTTP status and the reason.
type Refusal = (StatusCode, String);

/// What the handlers steer.
pub struct Steering {
    pub contexts: Vec<Named>,
    /// The test clock (pause, resume, elapsed) and the VU capacity.
    pub live: Arc<Live>,
    pub reloader: Arc<Reloader>,
    pub changes: Arc<ChangeLog>,
    pub vus_max: u32,
    /// Cancelled once no more iterations start.
    pub ending: CancellationToken,
}

struct Api {
    steering: Steering,
    token: Option<String>,
}

/// A running control API; dropping it stops it.
pub struct ControlServer {
    pub address: SocketAddr,
    stop: CancellationToken,
}

impl Drop for ControlServer {
    fn drop(&mut self) {
        self.stop.cancel();
    }
}

/// The control API's socket, bound before anything starts, so a taken
/// `--address` fails the run before setup runs.
pub struct Bound {
    listener: tokio::net::TcpListener,
    token: Option<String>,
}

impl ControlServer {
    /// Binds where `options` say. A taken default port is a warning
    /// (parallel runs on one machine); a taken `--address` fails. Off
    /// loopback without a token, a random token is made and printed once.
    pub async fn bind(options: &ControlOptions) -> Result<Option<Bound>, Error> {
        let Some(address) = options.address else { return Ok(None) };
        let listener = match tokio::net::TcpListener::bind(address).await {
            Ok(listener) => listener,
            Err(err) if !options.explicit => {
                tracing::warn!("no control API this run: cannot listen on {address} ({err}); pick one with --address");
                return Ok(None);
            }
            Err(err) => return Err(Error::Runtime(format!("cannot start the control API on {address}: {err}"))),
        };
        Ok(Some(Bound { listener, token: token_for(address, options.token.as_deref())? }))
    }

    /// Serves the API on `bound` until dropped.
    pub fn serve(bound: Bound, steering: Steering) -> ControlServer {
        let address = bound.listener.local_addr().unwrap_or_else(|_| SocketAddr::from(([127, 0, 0, 1], 0)));
        let api = Arc::new(Api { steering, token: bound.token });
        let app = Router::new().route("/v1/status", get(get_status).patch(patch_status)).with_state(api);
        let stop = CancellationToken::new();
        let stopped = stop.clone();
        let listener = bound.listener;
        tokio::spawn(async move {
            let service = app.into_make_service_with_connect_info::<SocketAddr>();
            let _ = axum::serve(listener, service).with_graceful_shutdown(stopped.cancelled_owned()).await;
        });
        ControlServer { address, stop }
    }
}

/// The token the API asks for: the one given, else off loopback a random
/// one, printed once (anyone who can reach the port could steer the run).
fn token_for(address: SocketAddr, given: Option<&str>) -> Result<Option<String>, Error> {
    match given {
        Some(token) => Ok(Some(token.to_string())),
        None if !address.ip().is_loopback() => {
            let token = random_token()?;
            eprintln!("control API on {address}: send `Authorization: Bearer {token}` with each request");
            Ok(Some(token))
        }
        None => Ok(None),
    }
}

/// 32 hex digits from the OS's random source.
fn random_token() -> Result<String, Error> {
    use std::io::Read;
    let mut bytes = [0u8; 16];
    std::fs::File::open("/dev/urandom")
        .and_then(|mut random| random.read_exact(&mut bytes))
        .map_err(|err| Error::Runtime(format!("cannot make a control API token: {err}")))?;
    Ok(bytes.iter().map(|b| format!("{b:02x}")).collect())
}

fn error(status: StatusCode, message: impl Into<String>) -> Response {
    (status, axum::Json(serde_json::json!({ "error": message.into() }))).into_response()
}

impl Api {
    /// `None` when the request may go on.
    fn refuse(&self, headers: &HeaderMap) -> Option<Response> {
        let token = self.token.as_deref()?;
        let given = headers.get(header::AUTHORIZATION).and_then(|v| v.to_str().ok());
        match given.and_then(|v| v.strip_prefix("Bearer ")) {
            Some(given) if given == token => None,
            _ => {
                Some(error(StatusCode::UNAUTHORIZED, "this control API needs its token: Authorization: Bearer <token>"))
            }
        }
    }

    fn status(&self) -> Status {
        let steering = &self.steering;
        let paused = steering.live.clock.is_paused();
        let scenarios: Vec<ScenarioStatus> = steering
            .contexts
            .iter()
            .map(|(name, ctx)| {
                let scale = ctx.scale();
                ScenarioStatus {
                    name: name.clone(),
                    executor: ctx.executor.name().to_string(),
                    factor: scale.factor,
                    vus_target: scale.vus,
                    vus: ctx.factory.shared.active_vus(),
                    plugin_version: ctx.code().plugin.version.to_string(),
                }
            })
            .collect();
        let status = match (steering.ending.is_cancelled(), paused) {
            (true, _) => "stopping",
            (false, true) => "paused",
            (false, false) => "running",
        };
        let extra: u32 = steering.contexts.iter().map(|(_, ctx)| ctx.extra_vus()).sum();
        Status {
            status: status.to_string(),
            paused,
            vus: scenarios.iter().map(|s| s.vus).sum(),
            vus_max: steering.vus_max + extra,
            elapsed: steering.live.clock.now().as_secs_f64(),
            scenarios,
        }
    }

    /// Applies a patch; the first change that cannot be made ends it with
    /// its reason (earlier ones stay made, and logged).
    async fn apply(&self, patch: StatusPatch, source: &str) -> Result<(), Refusal> {
        let steering = &self.steering;
        if steering.ending.is_cancelled() {
            return Err((StatusCode::CONFLICT, "the run is ending: no more changes".into()));
        }
        let bad = |message: String| (StatusCode::BAD_REQUEST, message);
        if let Some(paused) = patch.paused {
            let clock = &steering.live.clock;
            let changed = if paused { clock.pause() } else { clock.resume() };
            if changed {
                let (action, detail) = match paused {
                    true => (Action::Pause, "no iteration starts; the test clock stands still".to_string()),
                    false => (Action::Resume, format!("after {:.1}s paused in all", clock.paused_for().as_secs_f64())),
                };
                steering.changes.record(action, source, None, detail);
            }
        }
        if patch.vus.is_some() || patch.factor.is_some() {
            if patch.vus.is_some() && patch.factor.is_some() {
                return Err(bad("give vus or factor, not both".into()));
            }
            let targets = self.targets(patch.scenario.as_deref(), patch.vus.is_some())?;
            for (name, ctx) in targets {
                let scale = match patch.vus {
                    Some(vus) => Scale { factor: ctx.scale().factor, vus: Some(vus) },
                    None => Scale { factor: patch.factor.unwrap_or(1.0), vus: None },
                };
                ctx.rescale(scale).map_err(|err| {
                    let status = match err {
                        ScaleError::Capacity { .. } => StatusCode::CONFLICT,
                        _ => StatusCode::BAD_REQUEST,
                    };
                    (status, format!("scenario {name}: {err}"))
                })?;
                let detail = match scale.vus {
                    Some(vus) => format!("{vus} VUs"),
                    None => format!("factor {}", scale.factor),
                };
                steering.changes.record(Action::Scale, source, Some(name), detail);
            }
        }
        if let Some(plugin) = &patch.plugin {
            match steering.reloader.reload(plugin, patch.scenario.as_deref(), source).await {
                Ok(Reloaded::Swapped(_) | Reloaded::Unchanged) => {}
                Err(reason) => return Err((StatusCode::UNPROCESSABLE_ENTITY, reason)),
            }
        }
        Ok(())
    }

    /// The scenarios a scale change applies to: the named one, else every
    /// one that can be scaled (for a VU count: the only looping one).
    fn targets(&self, scenario: Option<&str>, vus: bool) -> Result<Vec<&Named>, Refusal> {
        let all = &self.steering.contexts;
        let names = || all.iter().map(|(n, _)| n.as_str()).collect::<Vec<_>>().join(", ");
        if let Some(name) = scenario {
            let found: Vec<_> = all.iter().filter(|(n, _)| n == name).collect();
            if found.is_empty() {
                return Err((StatusCode::NOT_FOUND, format!("no scenario named {name:?}; the run has {}", names())));
            }
            return Ok(found);
        }
        let scalable: Vec<_> =
            all.iter().filter(|(_, ctx)| if vus { ctx.executor.vu_ramp().is_some() } else { ctx.scalable() }).collect();
        match scalable.len() {
            0 => {
                Err((StatusCode::BAD_REQUEST, format!("no scenario of this run can be scaled that way ({})", names())))
            }
            1 => Ok(scalable),
            _ if !vus => Ok(scalable),
            _ => Err((StatusCode::BAD_REQUEST, format!("several scenarios loop VUs: name one ({})", names()))),
        }
    }
}

async fn get_status(State(api): State<Arc<Api>>, headers: HeaderMap) -> Response {
    if let Some(refused) = api.refuse(&headers) {
        return refused;
    }
    axum::Json(api.status()).into_response()
}

async fn patch_status(
    State(api): State<Arc<Api>>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    if let Some(refused) = api.refuse(&headers) {
        return refused;
    }
    let patch = match serde_json::from_slice::<StatusPatch>(&body) {
        Ok(patch) => patch,
        Err(err) => match serde_json::from_slice::<Envelope>(&body) {
            Ok(envelope) => envelope.data.attributes,
            Err(_) => return error(StatusCode::BAD_REQUEST, format!("not a status patch: {err}")),
        },
    };
    match api.apply(patch, &format!("api {peer}")).await {
        Ok(()) => axum::Json(api.status()).into_response(),
        Err((status, message)) => error(status, message),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn off_loopback_a_token_is_always_asked_for() {
        let loopback: SocketAddr = "127.0.0.1:6565".parse().unwrap();
        let anywhere: SocketAddr = "0.0.0.0:6565".parse().unwrap();
        assert_eq!(token_for(loopback, None).unwrap(), None);
        assert_eq!(token_for(loopback, Some("s3cret")).unwrap().as_deref(), Some("s3cret"));
        let made = token_for(anywhere, None).unwrap().expect("a token off loopback");
        assert_eq!(made.len(), 32);
        assert_ne!(Some(made), token_for(anywhere, None).unwrap(), "a fresh token each run");
    }

    #[test]
    fn patches_come_plain_or_in_k6s_envelope() {
        let plain: StatusPatch = serde_json::from_str(r#"{"paused":true,"scenario":"a","factor":1.5}"#).unwrap();
        assert_eq!((plain.paused, plain.factor), (Some(true), Some(1.5)));
        let k6: Envelope = serde_json::from_str(r#"{"data":{"attributes":{"vus":7}}}"#).unwrap();
        assert_eq!(k6.data.attributes.vus, Some(7));
        assert!(serde_json::from_str::<StatusPatch>(r#"{"pause":true}"#).is_err(), "unknown fields are refused");
    }
}
