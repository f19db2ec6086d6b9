//! The WIT `vu` interface: the VU's id and iteration, the scenario name,
//! the run-supplied env (never the host's), host-side sleep, and a test
//! aborted from inside.

use std::sync::{Arc, OnceLock};
use std::time::Duration;

use tokio_util::sync::CancellationToken;

use crate::bindings::vu::Host;

use super::{LogLevel, ScenarioShared, VuState};

/// Per-VU state of the `vu` interface.
pub struct VuCtx {
    id: u32,
    iteration: u32,
    shared: Arc<ScenarioShared>,
}

impl VuCtx {
    pub fn new(id: u32, shared: &Arc<ScenarioShared>) -> Self {
        VuCtx { id, iteration: 0, shared: shared.clone() }
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

    /// Set by the executor before each iteration.
    pub fn set_iteration(&mut self, iteration: u32) {
        self.iteration = iteration;
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
        Ok(self.vu.shared.env.iter().rev().find(|(k, _)| *k == key).map(|(_, v)| v.clone()))
    }

    fn env_all(&mut self) -> wasmtime::Result<Vec<(String, String)>> {
        Ok(self.vu.shared.env.to_vec())
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
}

/// A test stopped from inside by a plugin (k6's `exec.test.abort()`): the
/// first reason given, and the token the run watches.
#[derive(Debug, Default)]
pub struct TestAbort {
    reason: OnceLock<String>,
    pub token: CancellationToken,
}

impl TestAbort {
    pub fn abort(&self, reason: String) {
        let _ = self.reason.set(reason);
        self.token.cancel();
    }

    /// Why the test was aborted, if it was.
    pub fn reason(&self) -> Option<&str> {
        self.reason.get().map(String::as_str)
    }
}
