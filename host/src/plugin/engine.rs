//! The only home of wasmtime's `Config`: async, epoch interruption, the
//! pooling allocator sized from the run's VU count, small stacks and the
//! compilation cache.

use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use wasmtime::{Cache, CacheConfig, Config, Engine, InstanceAllocationStrategy, PoolingAllocationConfig};

use super::PluginError;

/// How often the epoch advances: the granularity of guest yields and
/// CPU deadlines. A guest that computes gives its worker back this often,
/// so a CPU-bound plugin delays other VUs by at most a tick at a time:
/// beside 66 hostile VUs a steady scenario kept 0.49 of its rate with 10 ms
/// and 0.88 with 2 ms (`cargo xtask bench --sandbox-only`, BENCHMARKS.md);
/// 1 ms gained nothing more.
pub const EPOCH_TICK: Duration = Duration::from_millis(2);

/// What the engine must be sized for.
#[derive(Debug, Clone, Copy)]
pub struct EngineOptions {
    /// Component instances alive at once (VUs plus the setup instance).
    pub max_instances: u32,
    /// Use the compilation cache in the user's cache directory.
    pub cache: bool,
    /// Largest linear memory of one instance, in bytes: its pooling slot.
    pub memory: usize,
    /// The run has a script, whose runtime component (a snapshot with
    /// its heap in data segments) wants copy-on-write memory images.
    pub runtime: bool,
}

/// Core instances, tables and memories a component instance may need. Rust
/// and C guests use 3–6 core instances; interpreters (JS, Python) up to 16.
const CORE_INSTANCES_PER_COMPONENT: u32 = 16;
const MEMORIES_PER_COMPONENT: u32 = 2;

/// Builds the engine for one run.
pub fn build_engine(options: EngineOptions) -> Result<Engine, PluginError> {
    let mut config = Config::new();
    config.wasm_component_model(true);
    config.epoch_interruption(true);
    // Host calls (HTTP with TLS) run on the fiber stack above the guest's.
    config.async_stack_size(1 << 20);
    config.max_wasm_stack(512 << 10);
    // Whole wasm pages; the store's limiter traps at the exact cap first.
    let memory = options.memory.next_multiple_of(64 << 10);
    // Without these, each pooled memory slot reserves 4 GiB of address space.
    config.memory_reservation(memory as u64);
    config.memory_guard_size(0);
    config.memory_reservation_for_growth(0);
    // Copy data segments instead of mapping a copy-on-write image per
    // instance: measured here with 10,000 VUs of a Rust guest, start time
    // halves (fewer mmap calls contending for the process's memory-map
    // lock), memory maps drop from 6 to 4 per VU and resident memory stays
    // the same. A language runtime's snapshot holds ~1 MB of data (the
    // started interpreter) that each VU mostly only reads: mapped, those
    // pages are shared; copied, each VU would own them all.
    config.memory_init_cow(options.runtime);

    let n = options.max_instances.max(1);
    let mut pool = PoolingAllocationConfig::default();
    pool.total_component_instances(n)
        .total_core_instances(n.saturating_mul(CORE_INSTANCES_PER_COMPONENT))
        .total_memories(n.saturating_mul(MEMORIES_PER_COMPONENT))
        .total_tables(n.saturating_mul(CORE_INSTANCES_PER_COMPONENT))
        .total_stacks(n)
        .max_memories_per_component(MEMORIES_PER_COMPONENT)
        .max_memory_size(memory);
    config.allocation_strategy(InstanceAllocationStrategy::Pooling(pool));

    if options.cache
        && let Some(dir) = cache_dir()
    {
        let mut cache_config = CacheConfig::new();
        cache_config.with_directory(dir);
        match Cache::new(cache_config) {
            Ok(cache) => {
                config.cache(Some(cache));
            }
            Err(err) => tracing::debug!("compilation cache disabled: {err}"),
        }
    }
    Engine::new(&config).map_err(|err| PluginError::Engine(format!("{err:#}")))
}

fn cache_dir() -> Option<PathBuf> {
    Some(cache_root()?.join("wasmtime"))
}

/// vespid's directory in the user's cache directory (`~/.cache/vespid`):
/// the compilation cache, the runtime snapshots and unpacked bundles.
pub fn cache_root() -> Option<PathBuf> {
    let base = std::env::var_os("XDG_CACHE_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|home| PathBuf::from(home).join(".cache")))?;
    Some(base.join("vespid"))
}

/// A thread that advances the engine's epoch every [`EPOCH_TICK`] until dropped.
pub struct EpochTicker {
    stop: Arc<AtomicBool>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl EpochTicker {
    pub fn start(engine: &Engine) -> Self {
        let stop = Arc::new(AtomicBool::new(false));
        let (engine, flag) = (engine.clone(), stop.clone());
        let thread = std::thread::Builder::new()
            .name("vespid-epoch".into())
            .spawn(move || {
                while !flag.load(Ordering::Relaxed) {
                    std::thread::sleep(EPOCH_TICK);
                    engine.increment_epoch();
                }
            })
            .ok();
        EpochTicker { stop, thread }
    }
}

impl Drop for EpochTicker {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}
