//! The WIT `log` interface: plugin log lines, printed through `tracing`
//! with the VU id and scenario, filtered by the run's level.

use crate::bindings::log::{Host, Level};

use super::VuState;

/// The lowest plugin log level a run prints.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum LogLevel {
    Trace,
    Debug,
    Info,
    Warn,
    Error,
}

impl LogLevel {
    /// The levels' names, lowest first.
    pub const NAMES: [&str; 5] = ["trace", "debug", "info", "warn", "error"];
}

impl std::str::FromStr for LogLevel {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, String> {
        Ok(match text {
            "trace" => LogLevel::Trace,
            "debug" => LogLevel::Debug,
            "info" => LogLevel::Info,
            "warn" => LogLevel::Warn,
            "error" => LogLevel::Error,
            other => return Err(format!("unknown log level {other:?}; use one of {}", LogLevel::NAMES.join(", "))),
        })
    }
}

impl From<Level> for LogLevel {
    fn from(level: Level) -> Self {
        match level {
            Level::Trace => LogLevel::Trace,
            Level::Debug => LogLevel::Debug,
            Level::Info => LogLevel::Info,
            Level::Warn => LogLevel::Warn,
            Level::Error => LogLevel::Error,
        }
    }
}

impl Host for VuState {
    fn write(&mut self, level: Level, message: String) -> wasmtime::Result<()> {
        let level = LogLevel::from(level);
        if level < self.vu.log_level() {
            return Ok(());
        }
        let (vu, scenario) = (self.vu.id(), self.vu.scenario());
        match level {
            LogLevel::Trace | LogLevel::Debug | LogLevel::Info => {
                tracing::info!(target: "plugin", vu, scenario, "{message}")
            }
            LogLevel::Warn => tracing::warn!(target: "plugin", vu, scenario, "{message}"),
            LogLevel::Error => tracing::error!(target: "plugin", vu, scenario, "{message}"),
        }
        Ok(())
    }
}
