//! Plugins: building the wasmtime engine, compiling a component, checking
//! it against the `vespid:scenario` world and linking it once
//! (`InstancePre`), and noticing new versions of plugin files. It does not run iterations (that is `exec`) nor
//! implement capabilities (that is `caps`).

mod engine;
mod load;
mod watch;

pub use engine::{EngineOptions, EpochTicker, build_engine};
pub use load::{Plugin, PluginError, digest};
pub use watch::{FileWatcher, SETTLE, WatchError};
