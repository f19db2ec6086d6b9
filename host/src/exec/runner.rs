//! One VU's life in a scenario: its iteration loop (task picking and think
//! time included), the metrics of each iteration, and re-instantiation
//! after a trap. Only the executor decides when a VU is active and when it
//! stops; the instance itself is `instance`'s.

use std::sync::Arc;
use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use arc_swap::ArcSwap;
use tokio_util::sync::CancellationToken;

use super::instance::{Instance, VuError, VuFactory};
use super::live::{Live, Scale};
use super::tasks::TaskPicker;
use super::{ExecutorPlan, ThinkTime};
use crate::metrics::{Recorder, Sample, TagSet, names};
use crate::plugin::Plugin;

/// Pause after a VU failed to start, so a plugin whose `init` always fails
/// does not spin a core.
const START_RETRY_PAUSE: Duration = Duration::from_millis(100);

/// The plugin version a scenario runs and the tasks that version declared,
/// swapped as one, so a VU never picks one version's task on another's code.
pub struct ScenarioCode {
    pub plugin: Arc<Plugin>,
    pub tasks: TaskPicker,
}

/// What every VU of one scenario shares.
pub struct ExecCtx {
    pub factory: VuFactory,
    /// The version VUs run; each moves to a new one at its next iteration.
    code: ArcSwap<ScenarioCode>,
    pub setup_data: Arc<str>,
    pub think_time: ThinkTime,
    /// The scenario's VU ids are `first_id + index`, index from 0, so ids
    /// stay unique across scenarios and segments.
    pub first_id: u32,
    pub executor: ExecutorPlan,
    /// The run's test clock and VU capacity.
    pub live: Arc<Live>,
    /// Live changes to this scenario's load (`live`).
    pub(super) scale: tokio::sync::watch::Sender<Scale>,
    /// VUs this scenario took beyond the plan's.
    pub(super) extra_vus: AtomicU32,
}

impl ExecCtx {
    pub fn new(
        factory: VuFactory,
        code: ScenarioCode,
        setup_data: Arc<str>,
        think_time: ThinkTime,
        first_id: u32,
        executor: ExecutorPlan,
        live: Arc<Live>,
    ) -> Self {
        ExecCtx {
            factory,
            code: ArcSwap::from_pointee(code),
            setup_data,
            think_time,
            first_id,
            executor,
            live,
            scale: tokio::sync::watch::Sender::new(Scale::default()),
            extra_vus: AtomicU32::new(0),
        }
    }

    /// The version VUs run now.
    pub fn code(&self) -> Arc<ScenarioCode> {
        self.code.load_full()
    }

    /// Makes `code` the version each VU moves to at its next iteration.
    pub fn swap(&self, code: ScenarioCode) {
        self.code.store(Arc::new(code));
    }

    /// Instantiates and initialises the VU with scenario index `index`. A
    /// VU that fails to start is reported and retries at its first iteration.
    pub async fn start_vu(&self, index: u32) -> VuRunner {
        // VUs a scale-up adds beyond the plan take ids after every planned one.
        let id = if index < self.executor.max_vus() { self.first_id + index } else { self.live.extra_id() };
        let code = self.code();
        let vu = match self.instantiate_and_init(&code.plugin, id).await {
            Ok(vu) => Some(vu),
            Err(err) => {
                self.factory.shared.run.errors.report(&err.to_string());
                None
            }
        };
        let recorder = self.factory.shared.recorder(id, Some(&code.plugin.version));
        let tags = recorder.tags([]);
        let rng = fastrand::Rng::with_seed(u64::from(id));
        VuRunner { id, index, vu, code, rng, iteration: 0, recorder, tags }
    }

    /// A ready instance of `plugin` for VU `id`: instantiated, its `init` run.
    pub async fn instantiate_and_init(&self, plugin: &Plugin, id: u32) -> Result<Instance, VuError> {
        let mut vu = self.factory.instantiate(plugin, id).await?;
        vu.init(&self.setup_data).await?;
        Ok(vu)
    }
}

/// How many iterations a looping VU may still start.
pub enum Budget {
    Unlimited,
    /// per-vu-iterations: this VU's own count.
    PerVu(u32),
    /// shared-iterations: one count for all the scenario's VUs.
    Shared(Arc<AtomicU64>),
}

impl Budget {
    /// Takes one iteration; false when none is left.
    fn take(&mut self) -> bool {
        match self {
            Budget::Unlimited => true,
            Budget::PerVu(left) => left.checked_sub(1).map(|rest| *left = rest).is_some(),
            Budget::Shared(left) => {
                left.fetch_update(Ordering::Relaxed, Ordering::Relaxed, |n| n.checked_sub(1)).is_ok()
            }
        }
    }
}

/// Why a VU stopped looping.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SpanEnd {
    /// Its stretch of time ended; it may be active again later.
    Elapsed,
    /// The scenario's scale changed: its stretches must be worked out again.
    Rescaled,
    /// The scenario is over for it: stopped, or out of iterations.
    Done,
}

/// One VU of a scenario: its instance (None until it starts again after a
/// trap or a new version), its iteration count and what it records with.
pub struct VuRunner {
    id: u32,
    /// Position within the scenario (0-based), before segmenting.
    pub index: u32,
    vu: Option<Instance>,
    /// The version `vu` is an instance of, and whose tasks it picks.
    code: Arc<ScenarioCode>,
    rng: fastrand::Rng,
    iteration: u32,
    recorder: Recorder,
    tags: TagSet,
}

impl VuRunner {
    /// Loops iterations until test time `until` (no new iteration starts
    /// after it), the budget runs out, `scale` changes or `stops` says so.
    /// While the test is paused no iteration starts. A running iteration is
    /// abandoned at `until + grace` or at the hard stop.
    pub async fn run_span(
        &mut self,
        ctx: &ExecCtx,
        until: Duration,
        grace: Duration,
        budget: &mut Budget,
        stops: &Stops,
        scale: &tokio::sync::watch::Receiver<Scale>,
    ) -> SpanEnd {
        // Registered once per span, not per iteration: waiting on the shared
        // token takes its lock, common to all VUs.
        let mut hard_stop = std::pin::pin!(stops.hard.cancelled());
        let mut overtime = std::pin::pin!(ctx.live.clock.sleep_until(until + grace));
        loop {
            if stops.soft.is_cancelled() {
                return SpanEnd::Done;
            }
            if ctx.live.clock.is_paused() {
                tokio::select! {
                    biased;
                    _ = &mut hard_stop => return SpanEnd::Done,
                    _ = stops.soft.cancelled() => return SpanEnd::Done,
                    _ = ctx.live.clock.resumed() => continue,
                }
            }
            if scale.has_changed().unwrap_or(false) {
                return SpanEnd::Rescaled;
            }
            let started = Instant::now();
            if ctx.live.clock.at(started) >= until {
                return SpanEnd::Elapsed;
            }
            if !budget.take() {
                return SpanEnd::Done;
            }
            let failed = tokio::select! {
                biased;
                _ = &mut hard_stop => return self.interrupted(SpanEnd::Done),
                _ = &mut overtime => return self.interrupted(SpanEnd::Elapsed),
                failed = self.iterate(ctx, None) => failed,
            };
            if self.stopped() {
                return SpanEnd::Done;
            }
            let pause = if failed && self.vu.is_none() {
                // Not restarted yet: a plugin whose init always fails must not spin a core.
                START_RETRY_PAUSE
            } else {
                ctx.think_time.pause(started, &mut self.rng)
            };
            if !pause.is_zero() {
                let wake = (Instant::now() + pause).min(ctx.live.clock.instant_of(until));
                tokio::select! {
                    _ = &mut hard_stop => return SpanEnd::Done,
                    _ = stops.soft.cancelled() => return SpanEnd::Done,
                    _ = tokio::time::sleep_until(wake.into()) => {}
                }
            }
            // Host calls that complete at once never suspend: spend coop
            // budget so a VU that never waits still lets others run (an
            // iteration that waited on I/O was re-polled with a fresh budget).
            tokio::task::consume_budget().await;
        }
    }

    /// Serves an arrival-rate executor: runs `first` (the arrival it was
    /// started for, if any), then announces itself free in `idle`, takes the
    /// next scheduled start from `jobs`, runs it, and again, until `jobs` is
    /// closed and empty or the hard stop.
    pub async fn serve_arrivals(
        &mut self,
        ctx: &ExecCtx,
        first: Option<Instant>,
        jobs: &async_channel::Receiver<Instant>,
        idle: &AtomicU32,
        stops: &Stops,
    ) {
        let mut hard_stop = std::pin::pin!(stops.hard.cancelled());
        let mut next = first;
        loop {
            let scheduled = match next.take() {
                Some(at) => at,
                None => {
                    idle.fetch_add(1, Ordering::AcqRel);
                    tokio::select! {
                        biased;
                        _ = &mut hard_stop => return,
                        job = jobs.recv() => match job { Ok(at) => at, Err(_) => return },
                    }
                }
            };
            tokio::select! {
                biased;
                _ = &mut hard_stop => return self.interrupted(()),
                _ = self.iterate(ctx, Some(scheduled)) => {}
            }
            if self.stopped() {
                return;
            }
        }
    }

    /// Whether the plugin ended this VU (`vu.stop`, Locust's `StopUser`).
    fn stopped(&mut self) -> bool {
        self.vu.as_mut().is_some_and(|vu| vu.state().vu.stopped())
    }

    /// The VU ends, its scenario over for it or stopped by the plugin: the
    /// plugin's `vu-end` runs on its instance (Locust's `on_stop`), for at
    /// most `grace` (the scenario's graceful stop) and unless the hard stop
    /// comes first. An instance dropped after a trap or a cut iteration
    /// gets none: its state is unknown.
    pub async fn end(&mut self, ctx: &ExecCtx, stops: &Stops, grace: Duration) {
        let Some(mut vu) = self.vu.take() else { return };
        let outcome = tokio::select! {
            biased;
            _ = stops.hard.cancelled() => return,
            outcome = tokio::time::timeout(grace, vu.vu_end()) => outcome,
        };
        let message = match outcome {
            Ok(Ok(())) => None,
            Ok(Err(err)) => Some(err.to_string()),
            Err(_) => {
                Some(format!("vu-end did not finish within {} (gracefulStop)", humantime::format_duration(grace)))
            }
        };
        vu.state().http.end_iteration();
        vu.state().sql.end_iteration();
        vu.state().tcp.end_iteration();
        if let Some(message) = message {
            ctx.factory.shared.run.errors.report(&message);
        }
    }

    /// One iteration, starting (or restarting) the VU first if needed, with
    /// its metrics (and, for a `scheduled` one, how late it started). Its
    /// duration starts once the instance is ready, as k6's excludes VU
    /// initialisation. A trap drops the instance; the next iteration gets a
    /// fresh one. Returns whether it failed.
    async fn iterate(&mut self, ctx: &ExecCtx, scheduled: Option<Instant>) -> bool {
        let current = ctx.code.load();
        if !Arc::ptr_eq(&current, &self.code) {
            self.move_to(ctx, arc_swap::Guard::into_inner(current));
        }
        let ready = match self.vu {
            Some(_) => Ok(()),
            // Boxed: restarting is rare and its future is large; the VU task
            // should not carry it for its whole life.
            None => Box::pin(ctx.instantiate_and_init(&self.code.plugin, self.id)).await.map(|vu| self.vu = Some(vu)),
        };
        let started = Instant::now();
        let outcome = match ready {
            Ok(()) => self.run_task(ctx.factory.shared.next_iteration()).await,
            Err(err) => Err(err),
        };
        // The iteration that aborted the test threw to stop there: it is cut, not failed.
        if outcome.is_err() && ctx.factory.shared.run.abort.reason().is_some() {
            return self.interrupted(true);
        }
        let failed = outcome.is_err();
        if let Err(err) = outcome {
            ctx.factory.shared.run.iteration_failed(self.id, self.iteration, &err.to_string());
        }
        let ms = |d: Duration| d.as_secs_f64() * 1000.0;
        let late = scheduled.map(|at| started.saturating_duration_since(at));
        let samples = [
            Sample::new(names::ITERATIONS, 1.0),
            Sample::new(names::ITERATION_DURATION, ms(started.elapsed())),
            Sample::flag(names::ITERATIONS_FAILED, failed),
            Sample::new(names::ITERATION_START_DELAY, late.map_or(0.0, ms)),
        ];
        // No allocation per iteration: the start delay is the array's last sample.
        let recorded = if late.is_some() { &samples[..] } else { &samples[..3] };
        self.recorder.record(&self.tags, recorded);
        self.iteration = self.iteration.wrapping_add(1);
        failed
    }

    /// Runs one task on the ready instance, as the scenario's iteration
    /// number `scenario_iteration`.
    async fn run_task(&mut self, scenario_iteration: u32) -> Result<(), VuError> {
        let Some(vu) = &mut self.vu else {
            return Err(VuError::Instantiate("no instance".into()));
        };
        let state = vu.state();
        state.vu.set_iteration(self.iteration, scenario_iteration);
        state.http.begin_iteration();
        let outcome = vu.run(self.code.tasks.pick(&mut self.rng)).await;
        vu.state().http.end_iteration();
        vu.state().sql.end_iteration();
        vu.state().tcp.end_iteration();
        if outcome.as_ref().is_err_and(VuError::poisons_instance) {
            self.vu = None;
        }
        outcome
    }

    /// Leaves the old version between iterations: its instance is dropped,
    /// the next iteration instantiates `code` (its `init` runs again), and
    /// samples from then on carry the new version.
    fn move_to(&mut self, ctx: &ExecCtx, code: Arc<ScenarioCode>) {
        self.vu = None;
        self.recorder = ctx.factory.shared.recorder(self.id, Some(&code.plugin.version));
        self.tags = self.recorder.tags([]);
        self.code = code;
    }

    /// An iteration was cut short (graceful stop over, hard stop, Ctrl-C,
    /// the test aborted from inside it):
    /// it is counted as interrupted, and its instance, whose state is
    /// unknown, is dropped, so a later iteration starts a fresh one.
    fn interrupted<T>(&mut self, end: T) -> T {
        self.vu = None;
        self.recorder.record(&self.tags, &[Sample::new(names::INTERRUPTED_ITERATIONS, 1.0)]);
        end
    }
}

/// The stop signals of one executor: after `soft` no iteration starts;
/// at `hard` running ones are abandoned.
#[derive(Clone)]
pub struct Stops {
    pub soft: CancellationToken,
    pub hard: CancellationToken,
}

impl Stops {
    /// A scenario's stops under the run's `interrupt` (Ctrl-C, a
    /// threshold's abortOnFail, a test aborted from inside), which ends it
    /// at once, as k6 does: running iterations are cut and counted as
    /// interrupted. Children of `interrupt`: cancelled in the same call that
    /// cancels it, so a VU that aborts the test from inside cannot start one
    /// more iteration before the executor hears of it. Either may also be
    /// cancelled alone (a load shape ending the scenario).
    pub fn of(interrupt: &CancellationToken) -> Stops {
        Stops { soft: interrupt.child_token(), hard: interrupt.child_token() }
    }
}
