//! The host side of every WIT interface a plugin imports, one module per
//! interface (`http`, `metrics`, `log`, `vu`, `data`), and [`VuState`], the data of
//! one VU's `Store`. A capability touches only its own context; it records
//! measurements through the [`Recorder`] it was given and never reaches
//! into another capability or into the executor.

mod data;
pub mod http;
mod log;
mod metrics;
mod stderr;
mod vu;

use std::sync::Arc;

use wasmtime::component::{HasSelf, Linker, ResourceTable};
use wasmtime::{StoreLimits, StoreLimitsBuilder};
use wasmtime_wasi::{WasiCtx, WasiCtxView, WasiView};

pub use self::data::{DataCtx, DataError, DataFormat, DataSets, DataSource};
pub use self::http::{HttpCtx, HttpOptions, HttpShared};
pub use self::log::LogLevel;
pub use self::metrics::{MetricsCtx, Recorder, TagCache};
pub use self::stderr::GuestStderr;
pub use self::vu::VuCtx;
use crate::bindings::Scenario;
use crate::exec::ErrorLog;
use crate::metrics::Sink;
use crate::plugin;

/// Read-only state of one scenario of a run, shared by all its VUs.
pub struct RunShared {
    pub http: Arc<HttpShared>,
    pub sink: Arc<Sink>,
    pub errors: Arc<ErrorLog>,
    /// The run's and the scenario's env pairs (later wins), the only
    /// environment a plugin sees.
    pub env: Arc<[(String, String)]>,
    /// The scenario name, tagged on every sample.
    pub scenario: Arc<str>,
    /// The run's and the scenario's tags (`--tag`, `tags = {…}`), on every sample.
    pub tags: Arc<[(String, String)]>,
    /// Plugin log lines below this level are dropped.
    pub log_level: LogLevel,
    /// The run's data sets, loaded once; VUs read them in place.
    pub data: Arc<DataSets>,
}

/// Everything one VU's `Store` holds.
pub struct VuState {
    wasi: WasiCtx,
    table: ResourceTable,
    limits: StoreLimits,
    pub http: HttpCtx,
    pub metrics: MetricsCtx,
    pub vu: VuCtx,
    pub data: DataCtx,
    pub stderr: GuestStderr,
}

impl VuState {
    /// Fresh state for VU `vu_id` (0 is the setup/teardown instance): no
    /// connections, an empty cookie jar, no WASI grants beyond stderr.
    pub fn new(shared: &Arc<RunShared>, vu_id: u32) -> Self {
        let recorder = Recorder::new(shared, vu_id);
        let stderr = GuestStderr::default();
        let wasi = WasiCtx::builder().stderr(stderr.clone()).build();
        VuState {
            wasi,
            table: ResourceTable::new(),
            limits: StoreLimitsBuilder::new().memory_size(plugin::VU_MEMORY_MAX).build(),
            http: HttpCtx::new(shared.http.clone(), recorder.clone()),
            metrics: MetricsCtx::new(recorder, shared.errors.clone()),
            vu: VuCtx::new(vu_id, shared),
            data: DataCtx::new(vu_id, shared.data.clone()),
            stderr,
        }
    }

    /// The store's resource limiter.
    pub fn limits(&mut self) -> &mut StoreLimits {
        &mut self.limits
    }
}

impl WasiView for VuState {
    fn ctx(&mut self) -> WasiCtxView<'_> {
        WasiCtxView { ctx: &mut self.wasi, table: &mut self.table }
    }
}

/// Links WASI (granting nothing but what `VuState::new` set up) and every
/// Vespid capability.
pub fn add_to_linker(linker: &mut Linker<VuState>) -> wasmtime::Result<()> {
    wasmtime_wasi::p2::add_to_linker_async(linker)?;
    Scenario::add_to_linker::<VuState, HasSelf<VuState>>(linker, |state| state)
}
