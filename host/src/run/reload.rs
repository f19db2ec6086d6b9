//! Hot reload: a new file for a plugin becomes the version its scenarios
//! run once it compiled, linked, described itself with tasks the scenario
//! can run, and passed a probe `init`; otherwise the old version keeps
//! running and the rejection is logged in one line. VUs move over at
//! their next iteration boundary (`exec`); this module only decides what
//! the current version is.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use wasmtime::Engine;

use crate::bindings::runner::Info;
use crate::config::{ConfigError, ScenarioPlan};
use crate::exec::{ExecCtx, ScenarioCode, TaskPicker, describe};
use crate::output::{Action, ChangeLog};
use crate::plugin::{FileWatcher, Plugin, digest};

/// How long a probe `init` may take before the version is refused.
const PROBE_TIMEOUT: Duration = Duration::from_secs(30);

/// A scenario whose code a reload may replace.
pub struct Target {
    pub name: String,
    pub plan: ScenarioPlan,
    pub ctx: Arc<ExecCtx>,
}

/// Swaps new plugin versions into the run's scenarios.
pub struct Reloader {
    engine: Engine,
    targets: Vec<Target>,
    changes: Arc<ChangeLog>,
    /// One reload at a time, so two versions never race to be current;
    /// `true` once closed (the run is ending).
    busy: tokio::sync::Mutex<bool>,
}

/// What a reload did.
#[derive(Debug, PartialEq, Eq)]
pub enum Reloaded {
    /// The file holds the version already running.
    Unchanged,
    /// This version is now current.
    Swapped(Arc<str>),
}

impl Reloader {
    pub fn new(engine: Engine, targets: Vec<Target>, changes: Arc<ChangeLog>) -> Self {
        Reloader { engine, targets, changes, busy: tokio::sync::Mutex::new(false) }
    }

    /// Waits for a reload under way, then refuses any more: the run is
    /// ending, and teardown must see the version that is current now.
    pub async fn close(&self) {
        *self.busy.lock().await = true;
    }

    /// The plugin files the run's scenarios were started with, each once.
    pub fn files(&self) -> Vec<PathBuf> {
        let mut files: Vec<PathBuf> = Vec::new();
        for target in &self.targets {
            if !files.contains(&target.plan.plugin) {
                files.push(target.plan.plugin.clone());
            }
        }
        files
    }

    /// Makes the component at `file` the version of `scenario` (by name),
    /// or, with none named, of every scenario started with that file (of
    /// the only scenario, if none was). `source` says who asked. A refused
    /// version is logged and its reason returned.
    pub async fn reload(&self, file: &Path, scenario: Option<&str>, source: &str) -> Result<Reloaded, String> {
        let closed = self.busy.lock().await;
        if *closed {
            return Err("the run is ending: no more reloads".into());
        }
        let targets = self.select(file, scenario)?;
        let outcome = self.try_reload(file, &targets).await;
        let names = targets.iter().map(|t| t.name.as_str()).collect::<Vec<_>>().join(", ");
        let scenario = (targets.len() == 1).then_some(names.as_str());
        match &outcome {
            Ok(Reloaded::Swapped(version)) => {
                let detail = format!("{} is now version {version}", file.display());
                self.changes.record(Action::Reload, source, scenario, detail);
                for target in &targets {
                    self.changes.version(&target.name, &file.display().to_string(), version, source);
                }
            }
            Ok(Reloaded::Unchanged) => {}
            Err(reason) => {
                let running = targets.iter().map(|t| t.ctx.code().plugin.version.to_string()).collect::<Vec<_>>();
                let detail = format!("{}: {reason}; version {} keeps running", file.display(), running.join(", "));
                self.changes.record(Action::ReloadRejected, source, scenario, detail);
            }
        }
        outcome
    }

    fn select(&self, file: &Path, scenario: Option<&str>) -> Result<Vec<&Target>, String> {
        let targets: Vec<&Target> = match scenario {
            Some(name) => self.targets.iter().filter(|t| t.name == name).collect(),
            None => {
                let by_file: Vec<&Target> = self.targets.iter().filter(|t| t.plan.plugin == file).collect();
                if by_file.is_empty() && self.targets.len() == 1 { self.targets.iter().collect() } else { by_file }
            }
        };
        if targets.is_empty() {
            let names = self.targets.iter().map(|t| t.name.as_str()).collect::<Vec<_>>().join(", ");
            return Err(match scenario {
                Some(name) => format!("no scenario named {name:?}; the run has {names}"),
                None => format!("no scenario runs {}: name one of {names}", file.display()),
            });
        }
        Ok(targets)
    }

    async fn try_reload(&self, file: &Path, targets: &[&Target]) -> Result<Reloaded, String> {
        let bytes = Plugin::read(file).map_err(|err| err.to_string())?;
        // The same content again (a touch, a rebuild with no change) is not worth a compile.
        if targets.iter().all(|t| *t.ctx.code().plugin.version == *digest(&bytes)) {
            return Ok(Reloaded::Unchanged);
        }
        let (path, engine) = (file.to_path_buf(), self.engine.clone());
        let plugin = tokio::task::spawn_blocking(move || Plugin::from_bytes(&path, &bytes, &engine))
            .await
            .map_err(|err| format!("compiling stopped: {err}"))?
            .map_err(|err| err.to_string())?;
        let plugin = Arc::new(plugin);
        let env = targets.first().map(|t| t.plan.env.as_slice()).unwrap_or_default();
        let data = targets.first().map(|t| t.ctx.factory.shared.run.data.clone()).unwrap_or_default();
        let info = describe(&self.engine, &plugin, env, data).await.map_err(|err| err.to_string())?;
        let mut codes = Vec::with_capacity(targets.len());
        for target in targets {
            let tasks = resolve_tasks(&target.plan, &target.name, &info).map_err(|err| err.to_string())?;
            // A version whose init fails would fail every VU's next iteration: try it once first.
            let probe = target.ctx.instantiate_and_init(&plugin, 0);
            match tokio::time::timeout(PROBE_TIMEOUT, probe).await {
                Ok(Ok(_)) => {}
                Ok(Err(err)) => return Err(format!("probe {}", one_line(&err.to_string()))),
                Err(_) => {
                    return Err(format!(
                        "probe init did not finish within {}",
                        humantime::format_duration(PROBE_TIMEOUT)
                    ));
                }
            }
            codes.push(ScenarioCode { plugin: plugin.clone(), tasks });
        }
        for (target, code) in targets.iter().zip(codes) {
            target.ctx.swap(code);
        }
        Ok(Reloaded::Swapped(plugin.version.clone()))
    }

    /// Reloads each plugin file when it changes, and says once that a
    /// changed run file is not applied, until dropped.
    pub async fn watch(&self, mut watcher: FileWatcher, run_file: Option<PathBuf>) {
        let mut run_file_noted = false;
        while let Some(file) = watcher.next().await {
            if run_file.as_deref() == Some(file.as_path()) {
                if !run_file_noted {
                    run_file_noted = true;
                    let detail = format!(
                        "{}: changes to the run file apply to the next run, not this one (plugins are reloaded)",
                        file.display()
                    );
                    self.changes.record(Action::RunFileChanged, "watch", None, detail);
                }
                continue;
            }
            // A refusal is logged by `reload`; the next good write is picked up.
            let _ = self.reload(&file, None, "watch").await;
        }
    }
}

/// A message on one line, cut to a length a change line can carry: a
/// guest's error text is free to span many.
fn one_line(text: &str) -> String {
    let joined = text.lines().map(str::trim).filter(|l| !l.is_empty()).collect::<Vec<_>>().join(" ");
    crate::metrics::cut(&joined, 300).into_owned()
}

/// The tasks scenario `name` runs of a plugin that described itself as
/// `info`: the plan's choice among them, with positive weights.
pub fn resolve_tasks(plan: &ScenarioPlan, name: &str, info: &Info) -> Result<TaskPicker, ConfigError> {
    let declared: Vec<(String, u32)> = info.tasks.iter().map(|t| (t.name.clone(), t.weight)).collect();
    let invalid = |message: String| ConfigError::Scenario { scenario: name.to_string(), message };
    let tasks = plan.tasks.resolve(&declared).map_err(invalid)?;
    TaskPicker::new(tasks).ok_or_else(|| invalid("no task has a positive weight".into()))
}
