//! The WIT `log` interface: plugin log lines, printed through `tracing`
//! with the VU id and scenario, filtered by the run's level. Each VU may
//! write a burst of [`LOG_BURST`] lines, then [`LOG_LINES_PER_SECOND`] per
//! second (a token bucket): a flooding plugin cannot starve the others or
//! the terminal, and the lines it loses are counted in the error log. A
//! line longer than [`MAX_LOG_LINE_BYTES`] is cut and marked.

use std::sync::{Arc, LazyLock};
use std::time::Instant;

use crate::bindings::log::{Host, Level};
use crate::metrics::{ErrorLog, cut};

use super::VuState;

/// Lines a VU may write at once before the rate limit applies.
pub const LOG_BURST: u32 = 200;
/// Lines a VU may write per second in the long run.
pub const LOG_LINES_PER_SECOND: u32 = 100;
/// Longest line printed, in bytes; the rest is cut.
pub const MAX_LOG_LINE_BYTES: usize = 4096;

/// The error-log line counting the lines the rate limit dropped.
static DROPPED: LazyLock<String> = LazyLock::new(|| {
    format!("plugin log lines dropped (rate limit {LOG_LINES_PER_SECOND}/s per VU after a burst of {LOG_BURST})")
});

/// Per-VU state of the `log` interface: its token bucket.
pub struct LogCtx {
    errors: Arc<ErrorLog>,
    /// Lines the VU may write now.
    tokens: f64,
    refilled: Instant,
}

impl LogCtx {
    /// A full bucket; dropped lines are counted in `errors`.
    pub fn new(errors: Arc<ErrorLog>) -> Self {
        LogCtx { errors, tokens: f64::from(LOG_BURST), refilled: Instant::now() }
    }

    /// Whether a line written at `now` may be printed (taking its token).
    fn admit(&mut self, now: Instant) -> bool {
        let refill = now.saturating_duration_since(self.refilled).as_secs_f64() * f64::from(LOG_LINES_PER_SECOND);
        self.tokens = (self.tokens + refill).min(f64::from(LOG_BURST));
        self.refilled = now;
        if self.tokens >= 1.0 {
            self.tokens -= 1.0;
            true
        } else {
            false
        }
    }
}

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
        if !self.log.admit(Instant::now()) {
            self.log.errors.report(&DROPPED);
            return Ok(());
        }
        let message = cut(&message, MAX_LOG_LINE_BYTES);
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

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    #[test]
    fn a_vu_writes_a_burst_then_at_the_rate() {
        let mut log = LogCtx::new(Arc::new(ErrorLog::default()));
        let start = log.refilled;
        let admitted = (0..LOG_BURST * 2).filter(|_| log.admit(start)).count();
        assert_eq!(admitted, LOG_BURST as usize);
        // A second refills the rate's worth of lines, never more than the burst.
        let later = start + Duration::from_secs(1);
        assert_eq!((0..LOG_BURST).filter(|_| log.admit(later)).count(), LOG_LINES_PER_SECOND as usize);
        let much_later = later + Duration::from_secs(3600);
        assert_eq!((0..LOG_BURST * 2).filter(|_| log.admit(much_later)).count(), LOG_BURST as usize);
    }

    #[test]
    fn long_lines_are_cut_on_a_character() {
        assert_eq!(cut("short", MAX_LOG_LINE_BYTES), "short");
        let long = "é".repeat(MAX_LOG_LINE_BYTES);
        let line = cut(&long, MAX_LOG_LINE_BYTES);
        assert!(line.len() <= MAX_LOG_LINE_BYTES + 40, "{}", line.len());
        assert!(line.ends_with("… (8192 bytes, cut)"), "{line}");
        assert_eq!(DROPPED.as_str(), "plugin log lines dropped (rate limit 100/s per VU after a burst of 200)");
    }
}
