//! The calling VU's identity and iterations, the run's active VUs and
//! `--env` values, host-side sleep and stopping the test.

use std::time::Duration;

use crate::bindings::vespid::scenario::vu as wit;

/// This VU's number, from 1 (0 in `setup` and `teardown`).
pub fn id() -> u32 {
    wit::id()
}

/// This VU's current iteration, from 0.
pub fn iteration() -> u32 {
    wit::iteration()
}

/// The current iteration's number within the scenario, from 0, unique
/// across all of its VUs (k6's `exec.scenario.iterationInInstance`). (Since
/// WIT 0.1.1.)
pub fn scenario_iteration() -> u32 {
    wit::scenario_iteration()
}

/// VUs taking part in the run right now, over all scenarios (k6's
/// `exec.instance.vusActive`). (Since WIT 0.1.1.)
pub fn active_vus() -> u32 {
    wit::active_vus()
}

/// The scenario's name.
pub fn scenario() -> String {
    wit::scenario()
}

/// A value given with `--env KEY=VALUE`.
pub fn env(key: &str) -> Option<String> {
    wit::env(key)
}

/// All `--env` values.
pub fn env_all() -> Vec<(String, String)> {
    wit::env_all()
}

/// Pauses this VU without holding a host thread (think time).
pub fn sleep(duration: Duration) {
    wit::sleep(duration.as_secs_f64() * 1000.0);
}

/// Stops the whole test (k6's `exec.test.abort()`): no VU starts another
/// iteration, teardown runs and the run exits with code 108 naming
/// `reason`. (Since WIT 0.1.1.)
pub fn abort_test(reason: &str) {
    wit::abort_test(reason);
}

/// Ends this VU once the current iteration returns (Locust's `StopUser`):
/// it starts no more iterations, its [`crate::Scenario::vu_end`] runs, and
/// the other VUs go on. (Since WIT 0.1.2.)
pub fn stop() {
    wit::stop();
}
