//! One VU's wasm instance: a `Store` holding the VU's capabilities and the
//! plugin's component instance, the calls into its `runner` export, and
//! what a failed call means ([`VuError`]). When a VU runs its calls is the
//! runner's business.

use std::fmt;
use std::sync::Arc;

use wasmtime::{Engine, Store};

use crate::bindings::Scenario;
use crate::bindings::runner::Info;
use crate::caps::{ScenarioShared, VuState};
use crate::plugin::Plugin;

/// Builds VU instances of one plugin for one scenario.
pub struct VuFactory {
    pub engine: Engine,
    pub plugin: Arc<Plugin>,
    pub shared: Arc<ScenarioShared>,
}

/// A live instance of the plugin.
pub struct Instance {
    store: Store<VuState>,
    scenario: Scenario,
}

/// The `runner` export a call went to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Call {
    Describe,
    Setup,
    Init,
    Run,
    Teardown,
}

impl fmt::Display for Call {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Call::Describe => "describe",
            Call::Setup => "setup",
            Call::Init => "init",
            Call::Run => "run",
            Call::Teardown => "teardown",
        })
    }
}

/// Why a call into a plugin failed.
#[derive(Debug, thiserror::Error)]
pub enum VuError {
    /// No instance could be made (the pool is full, a start function trapped…).
    #[error("cannot start a VU: {0}")]
    Instantiate(String),
    /// The guest trapped; the instance is unusable and must be replaced.
    #[error("{call} trapped: {message}")]
    Trap { call: Call, message: String },
    /// The guest returned an error; the instance is fine.
    #[error("{}", guest_message(*.call, .message))]
    Guest { call: Call, message: String },
}

/// An iteration's own error is shown as the guest wrote it; another call's
/// error says which call failed.
fn guest_message(call: Call, message: &str) -> String {
    match call {
        Call::Run => message.to_string(),
        _ => format!("{call} failed: {message}"),
    }
}

impl VuError {
    /// Whether the instance must be replaced before it is used again.
    pub fn poisons_instance(&self) -> bool {
        !matches!(self, VuError::Guest { .. })
    }
}

impl VuFactory {
    /// A fresh Store and instance for VU `id` (0: the setup instance).
    pub async fn instantiate(&self, id: u32) -> Result<Instance, VuError> {
        let mut store = Store::new(&self.engine, VuState::new(&self.shared, id));
        store.limiter(|state| state.limits());
        // Give the tokio worker back every epoch tick, so a busy guest
        // cannot starve other VUs and a stop can cancel it.
        store.epoch_deadline_async_yield_and_update(1);
        let scenario = self
            .plugin
            .pre
            .instantiate_async(&mut store)
            .await
            .map_err(|err| VuError::Instantiate(format!("{err:#}")))?;
        Ok(Instance { store, scenario })
    }
}

impl Instance {
    pub async fn describe(&mut self) -> Result<Info, VuError> {
        let runner = self.scenario.vespid_scenario_runner();
        let outcome = runner.call_describe(&mut self.store).await;
        outcome.map_err(|err| self.trap(Call::Describe, &err))
    }

    pub async fn setup(&mut self) -> Result<String, VuError> {
        let runner = self.scenario.vespid_scenario_runner();
        let outcome = runner.call_setup(&mut self.store).await;
        self.settle(Call::Setup, outcome)
    }

    pub async fn init(&mut self, setup_data: &str) -> Result<(), VuError> {
        let runner = self.scenario.vespid_scenario_runner();
        let outcome = runner.call_init(&mut self.store, setup_data).await;
        self.settle(Call::Init, outcome)
    }

    pub async fn teardown(&mut self, setup_data: &str) -> Result<(), VuError> {
        let runner = self.scenario.vespid_scenario_runner();
        let outcome = runner.call_teardown(&mut self.store, setup_data).await;
        self.settle(Call::Teardown, outcome)
    }

    /// Runs one iteration of `task`.
    pub async fn run(&mut self, task: &str) -> Result<(), VuError> {
        let runner = self.scenario.vespid_scenario_runner();
        let outcome = runner.call_run(&mut self.store, task).await;
        self.settle(Call::Run, outcome)
    }

    /// The VU's state, for the runner to update between calls.
    pub fn state(&mut self) -> &mut VuState {
        self.store.data_mut()
    }

    /// A call's outcome: its value, the guest's own error, or a trap.
    fn settle<T>(&self, call: Call, outcome: wasmtime::Result<Result<T, String>>) -> Result<T, VuError> {
        match outcome {
            Ok(Ok(value)) => Ok(value),
            Ok(Err(message)) => Err(VuError::Guest { call, message }),
            Err(err) => Err(self.trap(call, &err)),
        }
    }

    /// A trap as one line: the guest's last panic message if it printed
    /// one, else the trap's kind.
    fn trap(&self, call: Call, err: &wasmtime::Error) -> VuError {
        let message = match (self.store.data().stderr.last_message(), err.downcast_ref::<wasmtime::Trap>()) {
            (Some(message), _) => message,
            (None, Some(trap)) => trap.to_string(),
            (None, None) => format!("{err:#}").lines().next().unwrap_or_default().to_string(),
        };
        VuError::Trap { call, message }
    }
}

/// What a plugin says about itself, asked on a throwaway instance with
/// default capabilities (`describe` must not call imports).
pub async fn describe(engine: &Engine, plugin: &Arc<Plugin>) -> Result<Info, VuError> {
    let shared = ScenarioShared::detached().map_err(|err| VuError::Instantiate(err.to_string()))?;
    let factory = VuFactory { engine: engine.clone(), plugin: plugin.clone(), shared };
    factory.instantiate(0).await?.describe().await
}
