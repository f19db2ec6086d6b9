//! One VU: a `Store` and a component instance kept across iterations, the
//! iteration loop, and re-instantiation after a trap. Only the executor
//! decides when a VU starts and stops.

use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

use tokio_util::sync::CancellationToken;
use wasmtime::{Engine, Store};

use crate::bindings::Scenario;
use crate::caps::{RunShared, VuState};
use crate::metrics::{Sample, names};
use crate::plugin::Plugin;

/// Pause after a VU failed to start, so a plugin whose `init` always fails
/// does not spin a core.
const START_RETRY_PAUSE: Duration = Duration::from_millis(100);

/// Builds VU instances of one plugin.
pub struct VuFactory {
    pub engine: Engine,
    pub plugin: Arc<Plugin>,
    pub shared: Arc<RunShared>,
}

/// A live VU instance.
pub struct Vu {
    store: Store<VuState>,
    scenario: Scenario,
}

impl VuFactory {
    /// A fresh Store and instance for VU `id` (0: the setup instance).
    pub async fn instantiate(&self, id: u32) -> Result<Vu, String> {
        let mut store = Store::new(&self.engine, VuState::new(&self.shared, id));
        store.limiter(|state| state.limits());
        // Give the tokio worker back every epoch tick, so a busy guest
        // cannot starve other VUs and a stop can cancel it.
        store.epoch_deadline_async_yield_and_update(1);
        let scenario =
            self.plugin.pre.instantiate_async(&mut store).await.map_err(|err| format!("cannot start a VU: {err:#}"))?;
        Ok(Vu { store, scenario })
    }
}

impl Vu {
    pub async fn describe(&mut self) -> Result<crate::bindings::runner::Info, String> {
        let runner = self.scenario.vespid_scenario_runner();
        runner.call_describe(&mut self.store).await.map_err(|err| self.trap_message("describe", &err))
    }

    pub async fn setup(&mut self) -> Result<String, String> {
        let runner = self.scenario.vespid_scenario_runner();
        runner.call_setup(&mut self.store).await.map_err(|err| self.trap_message("setup", &err))?
    }

    pub async fn init(&mut self, setup_data: &str) -> Result<(), String> {
        let runner = self.scenario.vespid_scenario_runner();
        runner.call_init(&mut self.store, setup_data).await.map_err(|err| self.trap_message("init", &err))?
    }

    pub async fn teardown(&mut self, setup_data: &str) -> Result<(), String> {
        let runner = self.scenario.vespid_scenario_runner();
        runner.call_teardown(&mut self.store, setup_data).await.map_err(|err| self.trap_message("teardown", &err))?
    }

    /// Runs one iteration: `Ok` holds the guest's own result; `Err` is a
    /// trap, after which the instance is unusable.
    async fn run(&mut self, task: &str) -> Result<Result<(), String>, String> {
        let runner = self.scenario.vespid_scenario_runner();
        match runner.call_run(&mut self.store, task).await {
            Ok(outcome) => Ok(outcome),
            Err(err) => Err(self.trap_message("run", &err)),
        }
    }

    /// A trap as one line: the guest's last panic message if it printed
    /// one, else the trap's kind.
    fn trap_message(&self, call: &str, err: &wasmtime::Error) -> String {
        if let Some(message) = self.store.data().stderr.last_message() {
            return format!("{call} trapped: {message}");
        }
        match err.downcast_ref::<wasmtime::Trap>() {
            Some(trap) => format!("{call} trapped: {trap}"),
            None => format!("{call} failed: {}", format!("{err:#}").lines().next().unwrap_or_default()),
        }
    }
}

/// Picks a task per iteration by weight (Locust's task weights).
#[derive(Clone)]
pub struct TaskPicker {
    tasks: Arc<[(String, u32)]>,
    total: u64,
}

impl TaskPicker {
    /// Tasks with weight 0 are never picked; no tasks means `default`.
    pub fn new(tasks: Vec<(String, u32)>) -> Self {
        let mut tasks: Vec<(String, u32)> = tasks.into_iter().filter(|(_, w)| *w > 0).collect();
        if tasks.is_empty() {
            tasks.push(("default".to_string(), 1));
        }
        let total = tasks.iter().map(|(_, w)| u64::from(*w)).sum();
        TaskPicker { tasks: tasks.into(), total }
    }

    pub fn pick(&self, rng: &mut fastrand::Rng) -> &str {
        let mut ticket = rng.u64(0..self.total);
        for (name, weight) in self.tasks.iter() {
            match ticket.checked_sub(u64::from(*weight)) {
                Some(rest) => ticket = rest,
                None => return name,
            }
        }
        &self.tasks[0].0
    }
}

/// What every VU of one executor shares.
pub struct ExecCtx {
    pub factory: VuFactory,
    pub tasks: TaskPicker,
    pub setup_data: Arc<str>,
    /// VUs that are initialised and not yet stopped (the `vus` metric).
    pub active_vus: AtomicU32,
}

impl ExecCtx {
    pub fn new(factory: VuFactory, tasks: TaskPicker, setup_data: Arc<str>) -> Self {
        ExecCtx { factory, tasks, setup_data, active_vus: AtomicU32::new(0) }
    }

    /// Instantiates and initialises VU `id`.
    pub async fn start_vu(&self, id: u32) -> Result<Vu, String> {
        let mut vu = self.factory.instantiate(id).await?;
        vu.init(&self.setup_data).await.map_err(|m| format!("init failed: {m}"))?;
        self.active_vus.fetch_add(1, Ordering::Relaxed);
        Ok(vu)
    }

    /// Runs VU `id`'s iterations until `limit` iterations, a soft stop (no
    /// new iteration starts) or a hard stop (the running one is abandoned).
    /// `vu` is the instance started beforehand, if that succeeded.
    pub async fn run_vu(
        &self,
        id: u32,
        mut vu: Option<Vu>,
        limit: Option<u32>,
        soft: CancellationToken,
        hard: CancellationToken,
    ) {
        let recorder =
            crate::caps::Recorder::new(self.factory.shared.sink.clone(), id, self.factory.shared.scenario.clone());
        let tags = recorder.tags([]);
        let errors = &self.factory.shared.errors;
        let mut rng = fastrand::Rng::with_seed(u64::from(id));
        let mut iteration: u32 = 0;
        // Registered once per VU, not per iteration: waiting on the shared
        // token would take its lock, common to all VUs, every iteration.
        let mut hard_stop = std::pin::pin!(hard.cancelled());
        while limit.is_none_or(|n| iteration < n) && !soft.is_cancelled() {
            let start = Instant::now();
            let outcome = tokio::select! {
                biased;
                _ = &mut hard_stop => break,
                outcome = self.iterate(id, &mut vu, iteration, &mut rng) => outcome,
            };
            let failed = outcome.is_err();
            if let Err(message) = outcome {
                errors.report(message);
            }
            recorder.record(
                &tags,
                &[
                    Sample::new(names::ITERATIONS, 1.0),
                    Sample::new(names::ITERATION_DURATION, start.elapsed().as_secs_f64() * 1000.0),
                    Sample::flag(names::ITERATIONS_FAILED, failed),
                ],
            );
            iteration = iteration.wrapping_add(1);
            if failed && vu.is_none() {
                tokio::select! {
                    _ = &mut hard_stop => break,
                    _ = soft.cancelled() => break,
                    _ = tokio::time::sleep(START_RETRY_PAUSE) => {}
                }
            }
            // Host calls that complete at once never suspend: spend coop
            // budget so a VU that never waits still lets others run (an
            // iteration that waited on I/O was re-polled with a fresh budget).
            tokio::task::consume_budget().await;
        }
        if vu.is_some() {
            self.active_vus.fetch_sub(1, Ordering::Relaxed);
        }
    }

    /// One iteration, starting (or restarting) the VU first if needed. A
    /// trap drops the instance; the next iteration gets a fresh one.
    async fn iterate(
        &self,
        id: u32,
        slot: &mut Option<Vu>,
        iteration: u32,
        rng: &mut fastrand::Rng,
    ) -> Result<(), String> {
        if slot.is_none() {
            // Boxed: restarting is rare and its future is large; the VU task
            // should not carry it for its whole life.
            *slot = Some(Box::pin(self.start_vu(id)).await?);
        }
        let vu = slot.as_mut().expect("started above");
        vu.store.data_mut().vu.set_iteration(iteration);
        match vu.run(self.tasks.pick(rng)).await {
            Ok(result) => result,
            Err(trap) => {
                *slot = None;
                self.active_vus.fetch_sub(1, Ordering::Relaxed);
                Err(trap)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tasks_are_picked_by_weight() {
        let picker = TaskPicker::new(vec![("browse".into(), 3), ("buy".into(), 1), ("never".into(), 0)]);
        let mut rng = fastrand::Rng::with_seed(7);
        let mut counts = std::collections::HashMap::new();
        for _ in 0..40_000 {
            *counts.entry(picker.pick(&mut rng).to_string()).or_insert(0u32) += 1;
        }
        assert_eq!(counts.get("never"), None);
        let browse = f64::from(counts["browse"]) / 40_000.0;
        assert!((browse - 0.75).abs() < 0.02, "{browse}");
    }

    #[test]
    fn no_tasks_means_default() {
        let picker = TaskPicker::new(vec![]);
        assert_eq!(picker.pick(&mut fastrand::Rng::with_seed(1)), "default");
    }
}
