//! A wizer snapshot of a language runtime component: the runtime started
//! once (its `wizer-initialize` export: QuickJS with the built-in modules
//! evaluated) and its memory saved as data segments, so that a VU starts
//! from there instead of redoing it. Made at first use on each machine and
//! kept in the user's cache directory, keyed by the SHA-256 of the
//! runtime's bytes; memoised per process. A snapshot is an optimisation:
//! when anything about it fails the plain runtime is used and the reason
//! is logged at debug level.

use std::path::{Path, PathBuf};
use std::sync::OnceLock;
use std::sync::atomic::{AtomicBool, Ordering};

use wasmtime::component::types::ComponentItem;
use wasmtime::component::{Component, Instance, Linker, ResourceTable, ResourceType, WasmList};
use wasmtime::{Config, Engine, OptLevel, Store};
use wasmtime_wasi::{WasiCtx, WasiCtxView, WasiView};
use wasmtime_wizer::{ComponentInstanceState, Wizer};

/// The export the runtime runs only under wizer (plugins/js/wit/runtime.wit).
const INIT_FUNC: &str = "wizer-initialize";

/// Hashed with the runtime's bytes: a snapshot made another way (another
/// wizer) is not this one, even of the same runtime.
const MADE_BY: &str = "wasmtime-wizer 48.0.8, wizer-initialize";

/// Set once the snapshot failed to compile: the rest of the process uses
/// the plain runtime.
static DISCARDED: AtomicBool = AtomicBool::new(false);

/// Why no snapshot could be used; only ever logged.
#[derive(Debug, thiserror::Error)]
pub enum SnapshotError {
    #[error("no cache directory (neither XDG_CACHE_HOME nor HOME is set)")]
    NoCacheDir,
    #[error("cannot write {path:?}: {source}")]
    Write { path: PathBuf, source: std::io::Error },
    #[error("wizer: {0}")]
    Wizer(String),
    #[error("the snapshot thread stopped")]
    Thread,
}

/// The snapshot of `runtime` (the bytes of a runtime component), from the
/// cache or made now; `None` when there is none to use (logged). Only the
/// first call of the process does the work.
pub fn of(runtime: &[u8]) -> Option<&'static [u8]> {
    if DISCARDED.load(Ordering::Relaxed) {
        return None;
    }
    static SNAPSHOT: OnceLock<Option<Vec<u8>>> = OnceLock::new();
    SNAPSHOT
        .get_or_init(|| {
            let started = std::time::Instant::now();
            match cached_or_made(runtime) {
                Ok(bytes) => {
                    tracing::debug!("runtime snapshot ready in {:?}", started.elapsed());
                    Some(bytes)
                }
                Err(err) => {
                    tracing::debug!("no runtime snapshot, every VU starts the runtime itself: {err}");
                    None
                }
            }
        })
        .as_deref()
}

/// Stops using the snapshot of `runtime` (it failed to compile) and
/// removes it from the cache, so the next process makes it again.
pub fn discard(runtime: &[u8]) {
    if !DISCARDED.swap(true, Ordering::Relaxed)
        && let Some(path) = path_of(runtime)
        && let Err(err) = std::fs::remove_file(&path)
    {
        tracing::debug!("cannot remove the snapshot {path:?}: {err}");
    }
}

/// Where the snapshot of `runtime` lives: `<cache>/vespid/snapshots/<sha256>.wasm`.
fn path_of(runtime: &[u8]) -> Option<PathBuf> {
    use sha2::Digest;
    let hash = sha2::Sha256::new().chain_update(MADE_BY).chain_update(runtime).finalize();
    let name: String = hash.iter().map(|b| format!("{b:02x}")).collect();
    Some(super::engine::cache_root()?.join("snapshots").join(format!("{name}.wasm")))
}

fn cached_or_made(runtime: &[u8]) -> Result<Vec<u8>, SnapshotError> {
    let path = path_of(runtime).ok_or(SnapshotError::NoCacheDir)?;
    if let Ok(bytes) = std::fs::read(&path) {
        return Ok(bytes);
    }
    // Its own thread: wizer's calls are synchronous and WASI may start a
    // tokio runtime of its own, which must not happen on one of ours.
    let owned = runtime.to_vec();
    let snapshot = std::thread::Builder::new()
        .name("vespid-snapshot".into())
        .spawn(move || make(&owned))
        .map_err(|_| SnapshotError::Thread)?
        .join()
        .map_err(|_| SnapshotError::Thread)??;
    write_atomically(&path, &snapshot)?;
    Ok(snapshot)
}

/// Writes through a file of this process's own and a rename, so that a
/// reader (another vespid starting at the same moment) sees all or nothing.
fn write_atomically(path: &Path, bytes: &[u8]) -> Result<(), SnapshotError> {
    let dir = path.parent().unwrap_or(Path::new("."));
    let temp = dir.join(format!(".{}.tmp", std::process::id()));
    let write = || {
        std::fs::create_dir_all(dir)?;
        std::fs::write(&temp, bytes)?;
        std::fs::rename(&temp, path)
    };
    write().map_err(|source| {
        let _ = std::fs::remove_file(&temp);
        SnapshotError::Write { path: path.to_path_buf(), source }
    })
}

/// Runs `runtime`'s `wizer-initialize` under wizer and returns the
/// component with the resulting state.
fn make(runtime: &[u8]) -> Result<Vec<u8>, SnapshotError> {
    let wizer_err = |err: wasmtime::Error| SnapshotError::Wizer(format!("{err:#}"));
    let mut wizer = Wizer::new();
    wizer.init_func(INIT_FUNC);
    // Wizer cannot remove an export from a component; the runtime ignores it afterwards.
    wizer.keep_init_func(true);
    let (context, instrumented) = wizer.instrument_component(runtime).map_err(wizer_err)?;

    // Runs once: compile fast rather than well.
    let mut config = Config::new();
    config.wasm_component_model(true);
    config.cranelift_opt_level(OptLevel::None);
    let engine = Engine::new(&config).map_err(wizer_err)?;
    let component = Component::new(&engine, &instrumented).map_err(wizer_err)?;
    let mut store = Store::new(&engine, Wasi { ctx: WasiCtx::builder().build(), table: ResourceTable::new() });
    let instance =
        linker(&engine, &component).and_then(|l| l.instantiate(&mut store, &component)).map_err(wizer_err)?;
    let init = instance.get_typed_func::<(), ()>(&mut store, INIT_FUNC).map_err(wizer_err)?;
    init.call(&mut store, ()).map_err(wizer_err)?;

    let mut state = Snapshotted { store, instance, failure: None };
    // Every call below is synchronous, so the future is ready at once.
    let snapshot = futures_util::FutureExt::now_or_never(wizer.snapshot_component(&context, &mut state))
        .ok_or_else(|| SnapshotError::Wizer("the snapshot did not finish at once".into()))?
        .map_err(wizer_err)?;
    match state.failure {
        Some(failure) => Err(SnapshotError::Wizer(failure)),
        None => Ok(snapshot),
    }
}

/// WASI as a VU has it (clocks and random are what QuickJS reads while it
/// starts); every `vespid:*` import fails: the runtime may not call the
/// host before it has a VU.
fn linker(engine: &Engine, component: &Component) -> wasmtime::Result<Linker<Wasi>> {
    let mut linker = Linker::new(engine);
    wasmtime_wasi::p2::add_to_linker_sync(&mut linker)?;
    for (name, item) in component.component_type().imports(engine) {
        let ComponentItem::ComponentInstance(interface) = item.ty else { continue };
        if !name.starts_with("vespid:") {
            continue;
        }
        let mut instance = linker.instance(name)?;
        for (export, ty) in interface.exports(engine) {
            // A resource (sql's transaction) is declared, never made: its
            // constructor and methods fail like any function.
            if let ComponentItem::Resource(_) = ty.ty {
                instance.resource(export, ResourceType::host::<SnapshotResource>(), |_, _| Ok(()))?;
                continue;
            }
            let message = format!("{name}#{export} called while the runtime is snapshotted");
            instance.func_new(export, move |_, _, _, _| Err(wasmtime::format_err!("{message}")))?;
        }
    }
    Ok(linker)
}

/// The type of the resources a snapshot's linker declares.
struct SnapshotResource;

struct Wasi {
    ctx: WasiCtx,
    table: ResourceTable,
}

impl WasiView for Wasi {
    fn ctx(&mut self) -> WasiCtxView<'_> {
        WasiCtxView { ctx: &mut self.ctx, table: &mut self.table }
    }
}

/// The initialised instance, read by wizer through the accessors its
/// instrumentation added. Wizer's interface has no errors: the first one is
/// kept here and voids the snapshot.
struct Snapshotted {
    store: Store<Wasi>,
    instance: Instance,
    failure: Option<String>,
}

impl Snapshotted {
    fn call<R: wasmtime::component::Lift + 'static>(
        &mut self,
        interface: &str,
        func: &str,
        use_result: impl FnOnce(&Store<Wasi>, R),
    ) {
        let result = (|| {
            let (_, exported) = self.instance.get_export(&mut self.store, None, interface)?;
            let (_, index) = self.instance.get_export(&mut self.store, Some(&exported), func)?;
            let typed = self.instance.get_typed_func::<(), (R,)>(&mut self.store, index).ok()?;
            typed.call(&mut self.store, ()).ok()
        })();
        match result {
            Some((value,)) => use_result(&self.store, value),
            None => {
                self.failure.get_or_insert_with(|| format!("reading {interface}#{func} failed"));
            }
        }
    }

    fn value<R: wasmtime::component::Lift + Default + 'static>(&mut self, interface: &str, func: &str) -> R {
        let mut out = R::default();
        self.call(interface, func, |_, value: R| out = value);
        out
    }
}

impl ComponentInstanceState for Snapshotted {
    async fn call_func_ret_list_u8(&mut self, instance: &str, func: &str, contents: impl FnOnce(&[u8]) + Send) {
        self.call(instance, func, |store, list: WasmList<u8>| contents(list.as_le_slice(store)));
    }

    async fn call_func_ret_s32(&mut self, instance: &str, func: &str) -> i32 {
        self.value(instance, func)
    }

    async fn call_func_ret_s64(&mut self, instance: &str, func: &str) -> i64 {
        self.value(instance, func)
    }

    async fn call_func_ret_f32(&mut self, instance: &str, func: &str) -> u32 {
        self.value::<f32>(instance, func).to_bits()
    }

    async fn call_func_ret_f64(&mut self, instance: &str, func: &str) -> u64 {
        self.value::<f64>(instance, func).to_bits()
    }
}
