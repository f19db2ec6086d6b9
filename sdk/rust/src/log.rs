//! Log lines through the host's `log` interface, which prefixes the VU and
//! scenario and applies the run's log level.

use crate::bindings::vespid::scenario::log as wit;

pub use wit::Level;

/// Writes `message` at `level`.
pub fn write(level: Level, message: &str) {
    wit::write(level, message);
}

/// Writes at debug level.
pub fn debug(message: &str) {
    write(Level::Debug, message);
}

/// Writes at info level.
pub fn info(message: &str) {
    write(Level::Info, message);
}

/// Writes at warn level.
pub fn warn(message: &str) {
    write(Level::Warn, message);
}

/// Writes at error level.
pub fn error(message: &str) {
    write(Level::Error, message);
}
