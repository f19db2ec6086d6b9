//! The host side of every WIT interface a plugin imports, one module per
//! interface (`http`, `metrics`, `log`, `vu`, `data`, `sql`, `script`), and [`VuState`], the data of
//! one VU's `Store`. A capability touches only its own context; it records
//! measurements through the `Recorder` it was given and never reaches
//! into another capability or into the executor.

mod data;
pub mod grants;
pub mod http;
mod legacy;
mod limits;
mod live;
mod log;
mod metrics;
mod script;
mod sql;
mod stderr;
mod tcp;
mod vu;

use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};

use tokio_util::sync::CancellationToken;
use wasmtime::component::{HasSelf, Linker, ResourceTable};
use wasmtime_wasi::{WasiCtx, WasiCtxView, WasiView};

pub use self::data::{DataCtx, DataError, DataFormat, DataSets, DataSource};
use self::grants::{Gate, Grants};
pub use self::http::{CookieJarScope, DnsOptions, HttpCtx, HttpDebug, HttpOptions, HttpSetupError, HttpShared};
pub use self::limits::{CpuBudgetExceeded, GuestClock, MemoryCap, MemoryCapExceeded};
pub use self::log::{LogCtx, LogLevel};
pub use self::metrics::MetricsCtx;
pub use self::script::{Script, ScriptCtx, SharedArrays};
pub use self::sql::{DEFAULT_ACQUIRE_TIMEOUT, DatasourceSpec, Datasources, OpenTransaction, SqlCtx, SqlSetupError};
pub use self::stderr::{GuestStderr, StderrMark};
pub use self::tcp::TcpCtx;
pub use self::vu::{TestAbort, VuCtx};
use crate::bindings::Scenario;
use crate::metrics::{ErrorLog, Recorder, Sink, names};

/// What every VU of a run shares: read-only state, or state with its own
/// synchronisation (the sink's shards, the error log, which is the sink's).
pub struct RunShared {
    pub http: Arc<HttpShared>,
    pub sink: Arc<Sink>,
    pub errors: Arc<ErrorLog>,
    /// The run's data sets, loaded once; VUs read them in place.
    pub data: Arc<DataSets>,
    /// The run's datasources, their pools opened once and shared.
    pub sql: Arc<Datasources>,
    /// Plugin log lines below this level are dropped.
    pub log_level: LogLevel,
    /// Largest linear memory of one VU, in bytes.
    pub memory_cap: usize,
    /// Print each check and each failed iteration's error as it happens (`vespid dev`).
    pub live: bool,
    /// Set when a plugin stops the test (k6's `exec.test.abort()`).
    pub abort: TestAbort,
    /// VUs taking part right now, over all scenarios.
    active_vus: AtomicU32,
}

/// What a run declares for its plugins to read: data sets and datasources.
#[derive(Clone, Default)]
pub struct Declared {
    pub data: Arc<DataSets>,
    pub sql: Arc<Datasources>,
}

impl RunShared {
    /// The shared state of a run with these options, data sets and
    /// datasources, and sink.
    pub fn new(
        http: HttpOptions,
        log_level: LogLevel,
        memory_cap: usize,
        declared: Declared,
        sink: Arc<Sink>,
        live: bool,
        stop: CancellationToken,
    ) -> Result<Arc<RunShared>, HttpSetupError> {
        Ok(Arc::new(RunShared {
            http: Arc::new(HttpShared::new(http)?),
            errors: sink.errors().clone(),
            sink,
            data: declared.data,
            sql: declared.sql,
            log_level,
            memory_cap,
            live,
            abort: TestAbort::new(stop),
            active_vus: AtomicU32::new(0),
        }))
    }

    /// VUs taking part right now, over all scenarios (k6's `exec.instance.vusActive`).
    pub fn active_vus(&self) -> u32 {
        self.active_vus.load(Ordering::Relaxed)
    }

    /// Counts the error that failed iteration `iteration` of VU `vu`; live,
    /// it is printed each time instead of the error log's first-time line.
    pub fn iteration_failed(&self, vu: u32, iteration: u32, message: &str) {
        if self.live {
            live::line(vu, iteration, format_args!("error: {message}"));
            self.errors.count_shown(message);
        } else {
            self.errors.report(message);
        }
    }
}

/// What the VUs of one scenario share: the run, the scenario's name, env
/// and tags, and its counts of active VUs and started iterations.
pub struct ScenarioShared {
    pub run: Arc<RunShared>,
    /// The scenario name, tagged on every sample.
    pub name: Arc<str>,
    /// The run's and the scenario's env pairs (later wins), the only
    /// environment a plugin sees.
    pub env: Arc<[(String, String)]>,
    /// The run's and the scenario's tags (`--tag`, `tags = {…}`), on every sample.
    pub tags: Arc<[(String, String)]>,
    /// What the scenario's plugin may reach.
    pub grants: Arc<Grants>,
    /// VUs taking part right now (the `vus` metric).
    active_vus: AtomicU32,
    /// Iterations started so far by all of the scenario's VUs.
    iterations_started: AtomicU32,
}

impl ScenarioShared {
    pub fn new(
        run: &Arc<RunShared>,
        name: &str,
        env: &[(String, String)],
        tags: &[(String, String)],
        grants: &Grants,
    ) -> Arc<Self> {
        Arc::new(ScenarioShared {
            run: run.clone(),
            name: name.into(),
            env: env.into(),
            tags: tags.into(),
            grants: Arc::new(grants.clone()),
            active_vus: AtomicU32::new(0),
            iterations_started: AtomicU32::new(0),
        })
    }

    /// A VU of this scenario starts taking part: inside an active stretch
    /// of a looping executor, or allocated to an arrival-rate one.
    pub fn vu_joined(&self) {
        self.active_vus.fetch_add(1, Ordering::Relaxed);
        self.run.active_vus.fetch_add(1, Ordering::Relaxed);
    }

    /// The VU counted by [`Self::vu_joined`] stops taking part.
    pub fn vu_left(&self) {
        self.active_vus.fetch_sub(1, Ordering::Relaxed);
        self.run.active_vus.fetch_sub(1, Ordering::Relaxed);
    }

    /// This scenario's VUs taking part right now.
    pub fn active_vus(&self) -> u32 {
        self.active_vus.load(Ordering::Relaxed)
    }

    /// Numbers an iteration that starts: 0, 1, 2, … across the scenario's VUs.
    pub fn next_iteration(&self) -> u32 {
        self.iterations_started.fetch_add(1, Ordering::Relaxed)
    }

    /// A scenario of its own with default capabilities and the data sets
    /// `data`, for a plugin's `describe` outside a run.
    pub fn detached(data: Arc<DataSets>) -> Result<Arc<Self>, HttpSetupError> {
        let run = RunShared::new(
            HttpOptions::default(),
            LogLevel::Info,
            // The engine's pool still bounds the instance.
            usize::MAX,
            Declared { data, sql: Arc::default() },
            Arc::new(Sink::new()),
            false,
            CancellationToken::new(),
        )?;
        Ok(ScenarioShared::new(&run, "", &[], &[], &Grants::default()))
    }

    /// The recorder of VU `vu_id` (0: the scenario itself), whose samples
    /// carry the plugin `version` they came from, if any.
    pub fn recorder(&self, vu_id: u32, version: Option<&str>) -> Recorder {
        let tags = match version {
            Some(version) => {
                let tag = (names::PLUGIN_VERSION_TAG.to_string(), version.to_string());
                self.tags.iter().cloned().chain([tag]).collect()
            }
            None => self.tags.clone(),
        };
        Recorder::new(self.run.sink.clone(), vu_id, self.name.clone(), tags)
    }
}

/// Everything one VU's `Store` holds.
pub struct VuState {
    wasi: WasiCtx,
    table: ResourceTable,
    memory: MemoryCap,
    /// The CPU the current call into the plugin has used.
    pub clock: GuestClock,
    pub http: HttpCtx,
    pub metrics: MetricsCtx,
    pub log: LogCtx,
    pub vu: VuCtx,
    pub data: DataCtx,
    pub sql: SqlCtx,
    pub tcp: TcpCtx,
    pub script: ScriptCtx,
    pub stderr: GuestStderr,
    /// The scenario's grants, for `vu.env` and `data`.
    pub gate: Gate,
}

impl VuState {
    /// Fresh state for VU `vu_id` (0 is the setup/teardown instance) of
    /// plugin `version` (running `script`, for a language runtime): no
    /// connections, an empty cookie jar, no WASI grants beyond stderr.
    pub fn new(shared: &Arc<ScenarioShared>, vu_id: u32, version: &str, script: Option<Arc<Script>>) -> Self {
        let recorder = shared.recorder(vu_id, Some(version));
        let run = &shared.run;
        let stderr = GuestStderr::default();
        let gate = Gate::new(shared.grants.clone(), recorder.clone());
        let wasi = sandboxed_wasi(stderr.clone(), gate.clone());
        VuState {
            wasi,
            table: ResourceTable::new(),
            memory: MemoryCap::new(run.memory_cap),
            clock: GuestClock::default(),
            http: HttpCtx::new(run.http.clone(), recorder.clone(), gate.clone()),
            metrics: MetricsCtx::new(recorder.clone(), run.errors.clone(), run.live),
            sql: SqlCtx::new(run.sql.clone(), recorder.clone(), gate.clone(), run.memory_cap),
            tcp: TcpCtx::new(recorder),
            log: LogCtx::new(run.errors.clone()),
            vu: VuCtx::new(vu_id, shared),
            data: DataCtx::new(vu_id, run.data.clone()),
            script: ScriptCtx::new(script),
            stderr,
            gate,
        }
    }

    /// The store's resource limiter.
    pub fn limiter(&mut self) -> &mut MemoryCap {
        &mut self.memory
    }
}

/// WASI granting nothing but `stderr` (into the log capability), each part
/// of the sandbox pinned here rather than left to wasmtime-wasi's defaults,
/// so an upgrade cannot widen it: no preopened directory, no host
/// environment or arguments, no stdin, stdout discarded, no name lookup,
/// and TCP and UDP only to the addresses `allowed-sockets` grants (each
/// refusal a denial).
fn sandboxed_wasi(stderr: GuestStderr, gate: Gate) -> WasiCtx {
    let mut wasi = WasiCtx::builder();
    let (tcp, udp) = (gate.grants().grants_sockets(false), gate.grants().grants_sockets(true));
    wasi.stdin(tokio::io::empty())
        .stdout(tokio::io::empty())
        .stderr(stderr)
        .allow_tcp(tcp)
        .allow_udp(udp)
        .allow_ip_name_lookup(false)
        .allow_blocking_current_thread(false);
    if tcp || udp {
        wasi.socket_addr_check(move |address, usage| {
            let allowed = gate.socket(address, usage);
            Box::pin(async move { allowed })
        });
    } else {
        wasi.socket_addr_check(|_, _| Box::pin(async { false }));
    }
    wasi.build()
}

impl WasiView for VuState {
    fn ctx(&mut self) -> WasiCtxView<'_> {
        WasiCtxView { ctx: &mut self.wasi, table: &mut self.table }
    }
}

/// Links WASI (granting nothing but what `VuState::new` set up) and every
/// Vespid capability, in WIT 0.2 and 0.1.
pub fn add_to_linker(linker: &mut Linker<VuState>) -> wasmtime::Result<()> {
    wasmtime_wasi::p2::add_to_linker_async(linker)?;
    tcp::add_to_linker(linker)?;
    Scenario::add_to_linker::<VuState, HasSelf<VuState>>(linker, |state| state)?;
    legacy::add_to_linker(linker)?;
    crate::bindings::script::add_to_linker::<VuState, HasSelf<VuState>>(linker, |state| state)
}
