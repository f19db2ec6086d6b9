//! The WIT `vu` interface: the VU's id and iterations, the scenario name,
//! the run's active VUs, the run-supplied env (never the host's), host-side
//! sleep, a test aborted from inside, and a VU the plugin ends.

use std::sync::{Arc, OnceLock};
use std::time::Duration;

use tokio_util::sync::CancellationToken;

use crate::bindings::vu::Host;

use super::{LogLevel, ScenarioShared, VuState};

/// Per-VU state of the `vu` interface.
pub struct VuCtx {
    id: u32,
    iteration: u32,
    /// The current iteration's number within the scenario, across its VUs.
    scenario_iteration: u32,
    shared: Arc<ScenarioShared>,
    /// The plugin called `stop`: the VU ends after this iteration.
    stopped: bool,
}

impl VuCtx {
    pub fn new(id: u32, shared: &Arc<ScenarioShared>) -> Self {
        VuCtx { id, iteration: 0, scenario_iteration: 0, shared: shared.clone(), stopped: false }
    }

    /// Whether the plugin ended this VU (`vu.stop`, Locust's `StopUser`).
    pub fn stopped(&self) -> bool {
        self.stopped
    }

    pub fn id(&self) -> u32 {
        self.id
    }

    pub fn scenario(&self) -> &str {
        &self.shared.name
    }

    pub fn log_level(&self) -> LogLevel {
        self.shared.run.log_level
    }

    /// This VU's iteration, counted from 0 (k6's `__ITER`).
    pub fn iteration(&self) -> u32 {
        self.iteration
    }

    /// Set by the executor before each iteration: the VU's own count and
    /// the scenario's.
    pub fn set_iteration(&mut self, iteration: u32, scenario_iteration: u32) {
        self.iteration = iteration;
        self.scenario_iteration = scenario_iteration;
    }
}

impl Host for VuState {
    fn id(&mut self) -> wasmtime::Result<u32> {
        Ok(self.vu.id)
    }

    fn iteration(&mut self) -> wasmtime::Result<u32> {
        Ok(self.vu.iteration)
    }

    fn scenario(&mut self) -> wasmtime::Result<String> {
        Ok(self.vu.scenario().to_string())
    }

    fn env(&mut self, key: String) -> wasmtime::Result<Option<String>> {
        if self.gate.env(&key).is_err() {
            return Ok(None);
        }
        Ok(self.vu.shared.env.iter().rev().find(|(k, _)| *k == key).map(|(_, v)| v.clone()))
    }

    /// The granted keys only; the others are not denials, nothing asked for them.
    fn env_all(&mut self) -> wasmtime::Result<Vec<(String, String)>> {
        Ok(self.vu.shared.env.iter().filter(|(key, _)| self.gate.env_visible(key)).cloned().collect())
    }

    fn stop(&mut self) -> wasmtime::Result<()> {
        self.vu.stopped = true;
        Ok(())
    }

    async fn sleep(&mut self, ms: f64) -> wasmtime::Result<()> {
        if ms.is_finite() && ms > 0.0 {
            self.clock.pause();
            tokio::time::sleep(Duration::from_secs_f64(ms.min(86_400_000.0) / 1000.0)).await;
            self.clock.resume();
        }
        Ok(())
    }

    fn abort_test(&mut self, reason: String) -> wasmtime::Result<()> {
        self.vu.shared.run.abort.abort(reason);
        Ok(())
    }

    fn scenario_iteration(&mut self) -> wasmtime::Result<u32> {
        Ok(self.vu.scenario_iteration)
    }

    fn active_vus(&mut self) -> wasmtime::Result<u32> {
        Ok(self.vu.shared.run.active_vus())
    }
}

/// A test stopped from inside by a plugin (k6's `exec.test.abort()`): the
/// first reason given, and the run's stop token, which it cancels as an
/// abortOnFail threshold does.
#[derive(Debug)]
pub struct TestAbort {
    reason: OnceLock<String>,
    stop: CancellationToken,
}

impl TestAbort {
    /// Aborting cancels `stop`.
    pub fn new(stop: CancellationToken) -> Self {
        TestAbort { reason: OnceLock::new(), stop }
    }

    /// Stops the run for `reason`; only the first reason counts.
    pub fn abort(&self, reason: String) {
        if self.reason.set(reason).is_ok() {
            eprintln!("{}: stopping the run", TestAbort::describe(self.reason().unwrap_or_default()));
        }
        self.stop.cancel();
    }

    /// Why the test was aborted, if it was.
    pub fn reason(&self) -> Option<&str> {
        self.reason.get().map(String::as_str)
    }

    /// The line that tells a test was aborted for `reason` (which may be empty).
    pub fn describe(reason: &str) -> String {
        match reason {
            "" => "test aborted".to_string(),
            reason => format!("test aborted: {reason}"),
        }
    }
}
