//! What changed while a run went, so a result always says what load and
//! which code produced it: each plugin version a scenario ran (from when,
//! brought in by whom), versions rejected, pauses, resumes and scale
//! changes, with their time and source. Reload and live control write it;
//! the progress line, the summary, the export and `--out json` read it.

use std::sync::{Mutex, MutexGuard, OnceLock};
use std::time::{Duration, Instant, SystemTime};

use serde::Serialize;

use crate::metrics::{Aggregate, TagSet, names};

/// What a change did.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Action {
    /// A new plugin version was swapped in.
    Reload,
    /// A new plugin version was refused; the old one kept running.
    ReloadRejected,
    Pause,
    Resume,
    Scale,
    /// Said once: the run file changed, and is not applied while running.
    RunFileChanged,
}

impl Action {
    fn as_str(self) -> &'static str {
        match self {
            Action::Reload => "reload",
            Action::ReloadRejected => "reload rejected",
            Action::Pause => "pause",
            Action::Resume => "resume",
            Action::Scale => "scale",
            Action::RunFileChanged => "run file changed",
        }
    }
}

/// One change made during the run.
#[derive(Debug, Clone, Serialize)]
pub struct Change {
    /// Since the test clock started (zero before it).
    #[serde(serialize_with = "seconds")]
    pub at: Duration,
    #[serde(skip)]
    pub wall: SystemTime,
    pub action: Action,
    /// Who made it: `watch` (a file changed), `api <peer address>`.
    pub source: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub scenario: Option<String>,
    /// What exactly, in one line.
    pub detail: String,
}

impl Change {
    /// `+12.3s reload (watch) scenario hello: …`
    pub fn line(&self) -> String {
        let scenario = self.scenario.as_ref().map(|s| format!(" scenario {s}:")).unwrap_or_default();
        format!("+{:.1}s {} ({}){scenario} {}", self.at.as_secs_f64(), self.action.as_str(), self.source, self.detail)
    }
}

/// A plugin version one scenario ran.
#[derive(Debug, Clone, Serialize)]
pub struct VersionRun {
    pub scenario: String,
    /// The plugin file it came from.
    pub plugin: String,
    pub version: String,
    /// When VUs started moving to it (zero: from the start).
    #[serde(serialize_with = "seconds")]
    pub since: Duration,
    /// `start`, `watch`, `api <peer>`.
    pub source: String,
    /// Iterations that ran on it, filled in at the end from the aggregate.
    pub iterations: u64,
}

impl VersionRun {
    /// Fills in the iterations the aggregate counted for this scenario and version.
    pub fn count_iterations(&mut self, aggregate: &Aggregate) {
        let ours = |tags: &TagSet| {
            tags.get("scenario") == Some(&self.scenario) && tags.get(names::PLUGIN_VERSION_TAG) == Some(&self.version)
        };
        self.iterations = aggregate.summary(names::ITERATIONS, ours).map_or(0, |summary| summary.count());
    }
}

fn seconds<S: serde::Serializer>(duration: &Duration, serializer: S) -> Result<S::Ok, S::Error> {
    serializer.serialize_f64((duration.as_secs_f64() * 1000.0).round() / 1000.0)
}

/// The run's changes and versions, in the order they happened.
#[derive(Default)]
pub struct ChangeLog {
    clock: OnceLock<Instant>,
    changes: Mutex<Vec<Change>>,
    versions: Mutex<Vec<VersionRun>>,
}

impl ChangeLog {
    /// Times are counted from `clock`, the test clock's start.
    pub fn start_clock(&self, clock: Instant) {
        let _ = self.clock.set(clock);
    }

    fn now(&self) -> Duration {
        self.clock.get().map_or(Duration::ZERO, Instant::elapsed)
    }

    pub fn record(&self, action: Action, source: &str, scenario: Option<&str>, detail: String) {
        let change = Change {
            at: self.now(),
            wall: SystemTime::now(),
            action,
            source: source.to_string(),
            scenario: scenario.map(str::to_string),
            detail,
        };
        lock(&self.changes).push(change);
    }

    /// Scenario `scenario` runs `version` of `plugin` from now on. A version
    /// that comes back (a reverted edit) keeps its first entry, whose
    /// iterations count all of its own (the changes log has each swap).
    pub fn version(&self, scenario: &str, plugin: &str, version: &str, source: &str) {
        let mut versions = lock(&self.versions);
        if versions.iter().any(|v| v.scenario == scenario && v.version == version) {
            return;
        }
        let run = VersionRun {
            scenario: scenario.to_string(),
            plugin: plugin.to_string(),
            version: version.to_string(),
            since: self.now(),
            source: source.to_string(),
            iterations: 0,
        };
        versions.push(run);
    }

    /// The changes after the first `seen`.
    pub fn since(&self, seen: usize) -> Vec<Change> {
        lock(&self.changes).get(seen..).map(<[Change]>::to_vec).unwrap_or_default()
    }

    pub fn changes(&self) -> Vec<Change> {
        self.since(0)
    }

    pub fn versions(&self) -> Vec<VersionRun> {
        lock(&self.versions).clone()
    }
}

/// The log even if a thread died holding it: entries are only appended.
fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(|e| e.into_inner())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn changes_are_kept_in_order_and_read_from_a_position() {
        let log = ChangeLog::default();
        log.record(Action::Pause, "api 127.0.0.1:1", None, "paused".into());
        log.start_clock(Instant::now());
        log.record(Action::Scale, "api 127.0.0.1:1", Some("checkout"), "factor 1.5".into());
        assert_eq!(log.changes().len(), 2);
        let later = log.since(1);
        assert_eq!(later.len(), 1);
        assert_eq!(later[0].action, Action::Scale);
        assert!(
            later[0].line().contains("scale (api 127.0.0.1:1) scenario checkout: factor 1.5"),
            "{}",
            later[0].line()
        );
        assert!(log.since(5).is_empty());
    }
}
