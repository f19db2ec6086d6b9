//! One VU's wasm instance: a `Store` holding the VU's capabilities and the
//! plugin's component instance, the calls into its `runner` export, and
//! what a failed call means ([`VuError`]). When a VU runs its calls is the
//! runner's business.

use std::fmt;
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use wasmtime::component::TypedFunc;
use wasmtime::{Engine, Store, Trap, UpdateDeadline};

use crate::bindings::ScriptRuntime;
use crate::bindings::runner::Info;
use crate::caps::grants::Grants;
use crate::caps::{CpuBudgetExceeded, DataSets, MemoryCapExceeded, ScenarioShared, SharedArrays, StderrMark, VuState};
use crate::plugin::{Plugin, RunnerExports};

/// How long `describe` may take: it only returns a constant.
const DESCRIBE_TIMEOUT: Duration = Duration::from_secs(10);

/// What one call into a plugin may take.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CallLimits {
    /// The plugin's own CPU time per `init` and per `run` (host calls that
    /// wait excluded); past it the call traps and the VU is replaced.
    pub iteration_cpu: Duration,
    /// Wall-clock time `setup` may take (k6's setupTimeout).
    pub setup_timeout: Duration,
    /// Wall-clock time `teardown` may take (k6's teardownTimeout).
    pub teardown_timeout: Duration,
}

impl Default for CallLimits {
    fn default() -> Self {
        CallLimits {
            iteration_cpu: Duration::from_secs(10),
            setup_timeout: Duration::from_secs(60),
            teardown_timeout: Duration::from_secs(60),
        }
    }
}

/// Builds VU instances for one scenario, of whichever plugin version it runs.
pub struct VuFactory {
    pub engine: Engine,
    pub shared: Arc<ScenarioShared>,
    pub limits: CallLimits,
}

/// A live instance of the plugin.
pub struct Instance {
    store: Store<VuState>,
    runner: Runner,
    /// The language runtime's own exports, when the plugin runs a script.
    runtime: Option<ScriptRuntime>,
    /// `lifecycle.vu-end`, when the plugin exports it.
    vu_end: Option<VuEnd>,
    limits: CallLimits,
    /// The plugin version it is an instance of.
    version: Arc<str>,
}

/// The type of `lifecycle.vu-end`.
type VuEnd = TypedFunc<(), (Result<(), String>,)>;

/// The `runner` export's functions, checked against their types once per
/// instance (the same in every WIT version).
struct Runner {
    describe: TypedFunc<(), (Info,)>,
    setup: TypedFunc<(), (Result<String, String>,)>,
    init: TypedFunc<(String,), (Result<(), String>,)>,
    run: TypedFunc<(String,), (Result<(), String>,)>,
    teardown: TypedFunc<(String,), (Result<(), String>,)>,
}

impl Runner {
    fn new(
        store: &mut Store<VuState>,
        instance: &wasmtime::component::Instance,
        exports: &RunnerExports,
    ) -> wasmtime::Result<Runner> {
        Ok(Runner {
            describe: instance.get_typed_func(&mut *store, exports.describe)?,
            setup: instance.get_typed_func(&mut *store, exports.setup)?,
            init: instance.get_typed_func(&mut *store, exports.init)?,
            run: instance.get_typed_func(&mut *store, exports.run)?,
            teardown: instance.get_typed_func(&mut *store, exports.teardown)?,
        })
    }
}

/// The `runner` export a call went to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Call {
    Describe,
    Setup,
    Init,
    Run,
    Teardown,
    /// `lifecycle.vu-end`.
    VuEnd,
    /// A script runtime's `options`.
    Options,
    /// A script runtime's `handle-summary`.
    HandleSummary,
    /// A script runtime's `outline`.
    Outline,
    /// A script runtime's `shape-tick`.
    ShapeTick,
}

impl fmt::Display for Call {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Call::Describe => "describe",
            Call::Setup => "setup",
            Call::Init => "init",
            Call::Run => "run",
            Call::Teardown => "teardown",
            Call::VuEnd => "vu-end",
            Call::Options => "loading the script",
            Call::HandleSummary => "handleSummary",
            Call::Outline => "loading the script",
            Call::ShapeTick => "the load shape's tick",
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
    /// The call took longer than allowed (by run option `option`, if one
    /// sets it); the instance was abandoned.
    #[error("{call} did not finish within {}{}", humantime::format_duration(*.after), option.map(|o| format!(" ({o})")).unwrap_or_default())]
    Timeout { call: Call, after: Duration, option: Option<&'static str> },
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

/// A call's result: it finished (with the guest's value, its error, or a
/// trap) or its wall-clock limit passed.
type Outcome<T> = Result<wasmtime::Result<Result<T, String>>, tokio::time::error::Elapsed>;

impl VuFactory {
    /// A fresh Store and instance of `plugin` for VU `id` (0: the setup instance).
    pub async fn instantiate(&self, plugin: &Plugin, id: u32) -> Result<Instance, VuError> {
        let mut store =
            Store::new(&self.engine, VuState::new(&self.shared, id, &plugin.version, plugin.script.clone()));
        store.limiter(|state| state.limiter());
        // At every epoch tick: trap if the call spent its CPU, else give
        // the tokio worker back, so a busy guest cannot starve other VUs
        // and a stop can cancel it.
        store.epoch_deadline_callback(|mut store| match store.data_mut().clock.tick() {
            Ok(resume) => Ok(UpdateDeadline::YieldCustom(1, resume)),
            Err(exceeded) => Err(wasmtime::Error::new(exceeded)),
        });
        store.set_epoch_deadline(1);
        let instantiate_error = |err: wasmtime::Error| VuError::Instantiate(one_line(&err));
        let instance = plugin.pre.instantiate_async(&mut store).await.map_err(instantiate_error)?;
        let runner = Runner::new(&mut store, &instance, &plugin.runner).map_err(instantiate_error)?;
        let runtime = match &plugin.script {
            None => None,
            Some(_) => Some(ScriptRuntime::new(&mut store, &instance).map_err(instantiate_error)?),
        };
        let vu_end = match &plugin.vu_end {
            None => None,
            Some(index) => Some(instance.get_typed_func(&mut store, index).map_err(instantiate_error)?),
        };
        Ok(Instance { store, runner, runtime, vu_end, limits: self.limits, version: plugin.version.clone() })
    }
}

impl Instance {
    pub async fn describe(&mut self) -> Result<Info, VuError> {
        let mark = self.begin(Duration::MAX, "");
        let call = self.runner.describe.call_async(&mut self.store, ());
        let outcome = tokio::time::timeout(DESCRIBE_TIMEOUT, call).await;
        self.settle(Call::Describe, mark, outcome.map(|result| result.map(|(info,)| Ok(info))))
    }

    pub async fn setup(&mut self) -> Result<String, VuError> {
        let limit = self.limits.setup_timeout;
        let mark = self.begin(Duration::MAX, "");
        let call = self.runner.setup.call_async(&mut self.store, ());
        let outcome = tokio::time::timeout(limit, returned(call)).await;
        // A transaction setup (or init, teardown) left open is rolled back
        // and counted now, not when the instance goes.
        self.state().sql.end_iteration();
        self.settle(Call::Setup, mark, outcome)
    }

    pub async fn init(&mut self, setup_data: &str) -> Result<(), VuError> {
        let mark = self.begin(self.limits.iteration_cpu, "iteration-cpu-limit");
        let call = self.runner.init.call_async(&mut self.store, (setup_data.to_string(),));
        let outcome = unlimited(returned(call)).await;
        self.state().sql.end_iteration();
        self.settle(Call::Init, mark, outcome)
    }

    /// Runs one iteration of `task`.
    pub async fn run(&mut self, task: &str) -> Result<(), VuError> {
        let mark = self.begin(self.limits.iteration_cpu, "iteration-cpu-limit");
        let call = self.runner.run.call_async(&mut self.store, (task.to_string(),));
        let outcome = unlimited(returned(call)).await;
        self.settle(Call::Run, mark, outcome)
    }

    /// The plugin's `lifecycle.vu-end`, when it has one: the VU ends.
    pub async fn vu_end(&mut self) -> Result<(), VuError> {
        let Some(vu_end) = self.vu_end else { return Ok(()) };
        let mark = self.begin(self.limits.iteration_cpu, "iteration-cpu-limit");
        let outcome = unlimited(returned(vu_end.call_async(&mut self.store, ()))).await;
        self.settle(Call::VuEnd, mark, outcome)
    }

    pub async fn teardown(&mut self, setup_data: &str) -> Result<(), VuError> {
        let limit = self.limits.teardown_timeout;
        let mark = self.begin(Duration::MAX, "");
        let call = self.runner.teardown.call_async(&mut self.store, (setup_data.to_string(),));
        let outcome = tokio::time::timeout(limit, returned(call)).await;
        self.state().sql.end_iteration();
        self.settle(Call::Teardown, mark, outcome)
    }

    /// A script runtime's script loaded for its options (k6's `options`), as JSON.
    pub async fn options(&mut self) -> Result<String, VuError> {
        let mark = self.begin(Duration::MAX, "");
        let runtime = self.script_runner(Call::Options)?;
        let outcome = tokio::time::timeout(self.limits.setup_timeout, runtime.call_options(&mut self.store)).await;
        self.settle(Call::Options, mark, outcome)
    }

    /// A script's own end-of-test report (k6's `handleSummary`) given the
    /// summary as JSON: (destination, content) pairs; `None` when the
    /// plugin runs no script or the script has no such function.
    pub async fn handle_summary(&mut self, summary: &str) -> Result<Option<Vec<(String, String)>>, VuError> {
        if self.runtime.is_none() {
            return Ok(None);
        }
        let mark = self.begin(Duration::MAX, "");
        let runtime = self.script_runner(Call::HandleSummary)?;
        let call = runtime.call_handle_summary(&mut self.store, summary);
        let outcome = tokio::time::timeout(self.limits.teardown_timeout, call).await;
        self.settle(Call::HandleSummary, mark, outcome)
    }

    /// What a script holds beyond its tasks, as lines for `vespid inspect`.
    pub async fn outline(&mut self) -> Result<String, VuError> {
        let mark = self.begin(Duration::MAX, "");
        let runtime = self.script_runner(Call::Outline)?;
        let outcome = tokio::time::timeout(self.limits.setup_timeout, runtime.call_outline(&mut self.store)).await;
        self.settle(Call::Outline, mark, outcome)
    }

    /// A script's load shape `run_time` seconds into the test: the users
    /// it wants and their spawn rate, or none to end the test.
    pub async fn shape_tick(&mut self, run_time: Duration) -> Result<Option<(u32, f64)>, VuError> {
        let mark = self.begin(self.limits.iteration_cpu, "iteration-cpu-limit");
        let runtime = self.script_runner(Call::ShapeTick)?;
        let outcome = unlimited(runtime.call_shape_tick(&mut self.store, run_time.as_secs_f64())).await;
        self.settle(Call::ShapeTick, mark, outcome)
    }

    fn script_runner(&self, call: Call) -> Result<crate::bindings::script_runner::Guest, VuError> {
        match &self.runtime {
            Some(runtime) => Ok(runtime.vespid_scenario_script_runner().clone()),
            None => Err(VuError::Guest { call, message: "the plugin runs no script".into() }),
        }
    }

    /// The plugin version it is an instance of.
    pub fn version(&self) -> &str {
        &self.version
    }

    /// The VU's state, for the runner to update between calls.
    pub fn state(&mut self) -> &mut VuState {
        self.store.data_mut()
    }

    /// Starts a call with `cpu` of CPU budget (set by run option `option`;
    /// calls with a wall-clock limit have no other):
    /// its clock, its first epoch deadline one tick away, and the point in
    /// stderr from which its messages count.
    fn begin(&mut self, cpu: Duration, option: &'static str) -> StderrMark {
        self.store.set_epoch_deadline(1);
        let state = self.store.data_mut();
        state.clock.start(cpu, option);
        state.stderr.mark()
    }

    /// A call's outcome: its value, the guest's own error, a trap, or the
    /// wall-clock limit (named by the run option that sets it).
    fn settle<T>(&self, call: Call, mark: StderrMark, outcome: Outcome<T>) -> Result<T, VuError> {
        match outcome {
            Ok(Ok(Ok(value))) => Ok(value),
            Ok(Ok(Err(message))) => Err(VuError::Guest { call, message }),
            Ok(Err(err)) => Err(VuError::Trap { call, message: self.trap_message(&err, mark) }),
            Err(_) => {
                let (after, option) = match call {
                    Call::Setup | Call::Options | Call::Outline => (self.limits.setup_timeout, Some("setup-timeout")),
                    Call::Teardown | Call::HandleSummary => (self.limits.teardown_timeout, Some("teardown-timeout")),
                    _ => (DESCRIBE_TIMEOUT, None),
                };
                Err(VuError::Timeout { call, after, option })
            }
        }
    }

    /// A trap as one line naming its cause: the CPU budget or the memory
    /// cap, a stack overflow, the panic message the guest printed during
    /// this call, else the trap's own kind.
    fn trap_message(&self, err: &wasmtime::Error, mark: StderrMark) -> String {
        if let Some(exceeded) = err.downcast_ref::<CpuBudgetExceeded>() {
            return exceeded.to_string();
        }
        if let Some(exceeded) = err.downcast_ref::<MemoryCapExceeded>() {
            return exceeded.to_string();
        }
        let trap = err.downcast_ref::<Trap>();
        if trap == Some(&Trap::StackOverflow) || (trap == Some(&Trap::MemoryOutOfBounds) && in_recursion(err)) {
            return "stack overflow".to_string();
        }
        if let Some(message) = self.store.data().stderr.message_since(mark) {
            return message;
        }
        match trap {
            Some(trap) => trap.to_string(),
            None => one_line(err),
        }
    }
}

/// Whether the trap happened deep in a recursion: the innermost function
/// is on the stack many times. Languages that keep their stack in linear
/// memory (Rust, C) overflow it by writing below address 0, which wasm
/// reports as an out-of-bounds access rather than a stack overflow.
fn in_recursion(err: &wasmtime::Error) -> bool {
    const REPEATS: usize = 8;
    let Some(backtrace) = err.downcast_ref::<wasmtime::WasmBacktrace>() else {
        return false;
    };
    let frames = backtrace.frames();
    frames.first().is_some_and(|innermost| {
        let recursive = |frame: &&wasmtime::FrameInfo| frame.func_index() == innermost.func_index();
        frames.iter().take(64).filter(recursive).count() >= REPEATS
    })
}

/// A typed call's one result, unwrapped from its tuple.
async fn returned<T>(call: impl Future<Output = wasmtime::Result<(T,)>>) -> wasmtime::Result<T> {
    call.await.map(|(result,)| result)
}

/// A call with no wall-clock limit (its CPU budget still applies).
async fn unlimited<T>(call: impl Future<Output = T>) -> Result<T, tokio::time::error::Elapsed> {
    Ok(call.await)
}

/// wasmtime errors carry a cause chain over several lines; keep the first.
fn one_line(err: &wasmtime::Error) -> String {
    // A wasm backtrace is context around the cause, and many lines long.
    let text = match err.downcast_ref::<wasmtime::WasmBacktrace>() {
        Some(_) => err.root_cause().to_string(),
        None => format!("{err:#}"),
    };
    text.lines().next().unwrap_or_default().to_string()
}

/// A throwaway instance of `plugin`, outside any run, that sees `env` and
/// the data sets `data`: for the questions asked before (or instead of) a run.
async fn throwaway(
    engine: &Engine,
    plugin: &Plugin,
    env: &[(String, String)],
    data: Arc<DataSets>,
) -> Result<Instance, VuError> {
    let shared = ScenarioShared::detached(data).map_err(|err| VuError::Instantiate(err.to_string()))?;
    // Asking a plugin about itself needs no HTTP and no database, and must
    // not reach them before the run's grants apply.
    let nothing = Grants { hosts: Some(Vec::new()), datasources: Some(Default::default()), ..Grants::default() };
    let shared = ScenarioShared::new(&shared.run, "", env, &[], &nothing);
    let factory = VuFactory { engine: engine.clone(), shared, limits: CallLimits::default() };
    factory.instantiate(plugin, 0).await
}

/// What a script says about how it is run: its options as JSON, and the
/// shared arrays it built while loading (k6's `SharedArray`), asked on a
/// throwaway instance that sees the run's `env`.
pub async fn script_options(
    engine: &Engine,
    plugin: &Plugin,
    env: &[(String, String)],
) -> Result<(String, SharedArrays), VuError> {
    let mut instance = throwaway(engine, plugin, env, Arc::default()).await?;
    // `share` hands the host a whole SharedArray in one call: as much as
    // the instance's memory holds, past wasmtime's default of 128 MiB.
    instance.store.set_hostcall_fuel(usize::MAX);
    let arrays = SharedArrays::default();
    instance.state().script.collect_shares(arrays.clone());
    let options = instance.options().await?;
    Ok((options, arrays))
}

/// What a script holds beyond its tasks (`outline`), asked on a throwaway
/// instance that sees `env`.
pub async fn outline(engine: &Engine, plugin: &Plugin, env: &[(String, String)]) -> Result<String, VuError> {
    throwaway(engine, plugin, env, Arc::default()).await?.outline().await
}

/// What a plugin says about itself, asked on a throwaway instance with
/// default capabilities (`describe` must not call imports). A script's
/// runtime evaluates the script to answer, so it sees `env` (the
/// scenario's) and the run's data sets `data`: an init context that needs
/// `__ENV`, or a SharedArray the options pass built, must not fail here
/// (nor build the array again under a VU's memory cap).
pub async fn describe(
    engine: &Engine,
    plugin: &Plugin,
    env: &[(String, String)],
    data: Arc<DataSets>,
) -> Result<Info, VuError> {
    throwaway(engine, plugin, env, data).await?.describe().await
}
