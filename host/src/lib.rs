//! Vespid, the engine: runs WebAssembly scenario plugins as virtual users.
//!
//! Data flows one way:
//!
//! ```text
//! cli ─▶ config (run file + flags → validated Plan) ─▶ exec (executors, VU tasks)
//!          │                                              │ one Store + instance per VU
//!          ▼                                              ▼
//!        plugin (compile, check world, link) ───▶ caps (http, metrics, log, vu, data)
//!                                                         │ samples, per shard
//!                                                         ▼
//!                               metrics (aggregate, thresholds) ─▶ output
//! ```
//!
//! The binary (`main.rs`) only parses arguments and maps [`Error`] to an
//! exit code; everything else lives here so tests can call it.

pub mod bindings;
pub mod bundle;
pub mod caps;
pub mod cli;
pub mod client;
mod commands;
pub mod config;
pub mod demo_target;
pub mod dev;
pub mod error;
pub mod exec;
mod limits;
pub mod metrics;
pub mod output;
pub mod plugin;
pub mod run;
pub mod scaffold;

pub use cli::Cli;
pub use commands::execute;
pub use error::{Error, ExitCode};
