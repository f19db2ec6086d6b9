//! Plugins: building the wasmtime engine, compiling a component, checking
//! it against the `vespid:scenario` world and linking it once
//! (`InstancePre`). It does not run iterations (that is `exec`) nor
//! implement capabilities (that is `caps`).

mod engine;
mod load;

pub use engine::{EngineOptions, EpochTicker, build_engine};
pub use load::{Plugin, PluginError};
