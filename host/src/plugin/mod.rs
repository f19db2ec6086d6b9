//! Plugins: building the wasmtime engine, compiling a component, checking
//! it against the `vespid:scenario` world and linking it once
//! (`InstancePre`), running script files on a built-in language runtime,
//! and noticing new versions of plugin files. It does not run iterations (that is `exec`) nor
//! implement capabilities (that is `caps`).

mod engine;
mod load;
mod runtime;
mod snapshot;
mod watch;

pub use engine::{EngineOptions, EpochTicker, build_engine, cache_root};
pub use load::{Plugin, PluginError, RunnerExports, digest};
pub use runtime::Language;
pub use watch::{FileWatcher, SETTLE, WatchError};
