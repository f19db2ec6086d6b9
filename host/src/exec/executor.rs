//! k6's six executors, each with its k6 semantics: the closed models
//! (constant-vus, ramping-vus, per-vu-iterations, shared-iterations) loop
//! VUs over stretches of time; the open models (constant-arrival-rate,
//! ramping-arrival-rate) start iterations on a schedule and count
//! `dropped_iterations` when no VU is free. Every executor takes only its
//! segment's share of VUs, iterations and arrivals. It decides when VUs
//! run; what an iteration does is the VU's business.

use std::sync::Arc;
use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;

use super::live::Scale;
use super::runner::{Budget, SpanEnd, Stops, VuRunner};
use super::{ExecCtx, Ramp, ScaledArrivals, Segment};
use crate::metrics::{Sample, names};

/// One executor with its options (k6's names, in kebab-case in the run file).
#[derive(Debug, Clone, PartialEq)]
pub enum ExecutorPlan {
    ConstantVus {
        vus: u32,
        duration: Duration,
    },
    /// `ramp` holds VU counts: `start-vus` and the stages' targets.
    RampingVus {
        ramp: Ramp,
        graceful_ramp_down: Duration,
    },
    PerVuIterations {
        vus: u32,
        iterations: u32,
        max_duration: Duration,
    },
    SharedIterations {
        vus: u32,
        iterations: u64,
        max_duration: Duration,
    },
    /// `per_second` is `rate / time-unit`.
    ConstantArrivalRate {
        per_second: f64,
        duration: Duration,
        pre_allocated_vus: u32,
        max_vus: u32,
    },
    /// `ramp` holds iterations per second: `start-rate` and the stages' targets.
    RampingArrivalRate {
        ramp: Ramp,
        pre_allocated_vus: u32,
        max_vus: u32,
    },
}

impl ExecutorPlan {
    /// k6's name of the executor.
    pub fn name(&self) -> &'static str {
        match self {
            ExecutorPlan::ConstantVus { .. } => "constant-vus",
            ExecutorPlan::RampingVus { .. } => "ramping-vus",
            ExecutorPlan::PerVuIterations { .. } => "per-vu-iterations",
            ExecutorPlan::SharedIterations { .. } => "shared-iterations",
            ExecutorPlan::ConstantArrivalRate { .. } => "constant-arrival-rate",
            ExecutorPlan::RampingArrivalRate { .. } => "ramping-arrival-rate",
        }
    }

    /// The most VUs of the whole test (every segment) this executor holds.
    pub fn max_vus(&self) -> u32 {
        match self {
            ExecutorPlan::ConstantVus { vus, .. }
            | ExecutorPlan::PerVuIterations { vus, .. }
            | ExecutorPlan::SharedIterations { vus, .. } => *vus,
            ExecutorPlan::RampingVus { ramp, .. } => ramp.peak() as u32,
            ExecutorPlan::ConstantArrivalRate { max_vus, .. } | ExecutorPlan::RampingArrivalRate { max_vus, .. } => {
                *max_vus
            }
        }
    }

    /// VUs started in the init phase, before the clock: all of them, or
    /// the pre-allocated ones of an arrival-rate executor.
    pub fn initial_vus(&self) -> u32 {
        match self {
            ExecutorPlan::ConstantArrivalRate { pre_allocated_vus, .. }
            | ExecutorPlan::RampingArrivalRate { pre_allocated_vus, .. } => *pre_allocated_vus,
            _ => self.max_vus(),
        }
    }

    /// How long after its start the executor stops starting iterations
    /// (for the iteration-count executors, their maximum duration).
    pub fn duration(&self) -> Duration {
        match self {
            ExecutorPlan::ConstantVus { duration, .. } | ExecutorPlan::ConstantArrivalRate { duration, .. } => {
                *duration
            }
            ExecutorPlan::RampingVus { ramp, .. } | ExecutorPlan::RampingArrivalRate { ramp, .. } => ramp.total(),
            ExecutorPlan::PerVuIterations { max_duration, .. }
            | ExecutorPlan::SharedIterations { max_duration, .. } => *max_duration,
        }
    }

    /// Iterations the segment will run when that number is fixed.
    pub fn fixed_iterations(&self, segment: Segment) -> Option<u64> {
        match self {
            ExecutorPlan::PerVuIterations { vus, iterations, .. } => {
                Some(segment.share(u64::from(*vus)) * u64::from(*iterations))
            }
            ExecutorPlan::SharedIterations { iterations, .. } => Some(segment.share(*iterations)),
            _ => None,
        }
    }

    /// One line as k6 prints it before a run.
    pub fn describe(&self) -> String {
        let time = |d: &Duration| humantime::format_duration(*d).to_string();
        match self {
            ExecutorPlan::ConstantVus { vus, duration } => format!("{vus} looping VUs for {}", time(duration)),
            ExecutorPlan::RampingVus { ramp, .. } => format!(
                "up to {} looping VUs for {} over {} stages",
                ramp.peak(),
                time(&ramp.total()),
                ramp.stages.len()
            ),
            ExecutorPlan::PerVuIterations { vus, iterations, max_duration } => {
                format!("{iterations} iterations for each of {vus} VUs (max {})", time(max_duration))
            }
            ExecutorPlan::SharedIterations { vus, iterations, max_duration } => {
                format!("{iterations} iterations shared among {vus} VUs (max {})", time(max_duration))
            }
            ExecutorPlan::ConstantArrivalRate { per_second, duration, pre_allocated_vus, max_vus } => {
                format!("{per_second:.2} iterations/s for {} (max VUs {pre_allocated_vus}..{max_vus})", time(duration))
            }
            ExecutorPlan::RampingArrivalRate { ramp, pre_allocated_vus, max_vus } => format!(
                "up to {:.2} iterations/s for {} over {} stages (max VUs {pre_allocated_vus}..{max_vus})",
                ramp.peak(),
                time(&ramp.total()),
                ramp.stages.len()
            ),
        }
    }

    /// The VU targets of constant-vus and ramping-vus over time.
    pub fn vu_ramp(&self) -> Option<Ramp> {
        match self {
            ExecutorPlan::ConstantVus { vus, duration } => Some(Ramp::constant(f64::from(*vus), *duration)),
            ExecutorPlan::RampingVus { ramp, .. } => Some(ramp.clone()),
            _ => None,
        }
    }

    /// The arrival schedule of an open-model executor.
    fn arrivals(&self) -> Option<Ramp> {
        match self {
            ExecutorPlan::ConstantArrivalRate { per_second, duration, .. } => {
                Some(Ramp::constant(*per_second, *duration))
            }
            ExecutorPlan::RampingArrivalRate { ramp, .. } => Some(ramp.clone()),
            _ => None,
        }
    }
}

/// The init phase of one scenario: instantiates and initialises the
/// segment's initial VUs concurrently, before the test clock starts.
pub async fn prepare(plan: &ExecutorPlan, ctx: &Arc<ExecCtx>, segment: Segment) -> Result<Vec<VuRunner>, TaskFailed> {
    let mut starting = JoinSet::new();
    for index in segment.owned(u64::from(plan.initial_vus())) {
        let ctx = ctx.clone();
        starting.spawn(async move { ctx.start_vu(index as u32).await });
    }
    let mut started = Vec::with_capacity(starting.len());
    while let Some(joined) = starting.join_next().await {
        started.push(joined.map_err(|err| TaskFailed(format!("a VU task failed to start: {err}")))?);
    }
    started.sort_by_key(|vu| vu.index);
    Ok(started)
}

/// A task of the executor panicked: a bug, which fails the run.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct TaskFailed(String);

/// Runs one scenario's executor from test time `start` to its end,
/// graceful stop included, or until `stops` end it sooner (see [`Stops::of`]).
pub async fn run_executor(
    plan: &ExecutorPlan,
    ctx: Arc<ExecCtx>,
    vus: Vec<VuRunner>,
    segment: Segment,
    start: Duration,
    graceful_stop: Duration,
    stops: Stops,
) -> Result<(), TaskFailed> {
    tokio::select! {
        _ = ctx.live.clock.sleep_until(start) => {}
        _ = stops.soft.cancelled() => {}
    }
    if stops.soft.is_cancelled() {
        Ok(())
    } else {
        match plan.arrivals() {
            Some(arrivals) => run_arrivals(plan, &ctx, vus, segment, arrivals, start, graceful_stop, &stops).await,
            None => {
                let looping = Looping::new(plan, start, graceful_stop);
                run_looping(plan, &ctx, vus, segment, looping, &stops).await
            }
        }
    }
}

/// When the VUs of a closed-model executor are active, in test time.
struct Looping {
    /// The VU targets over time (none: every VU for the whole duration).
    ramp: Option<Ramp>,
    /// The executor's start and its length.
    start: Duration,
    end: Duration,
    graceful_stop: Duration,
    ramp_down: Duration,
}

impl Looping {
    fn new(plan: &ExecutorPlan, start: Duration, graceful_stop: Duration) -> Self {
        let ramp_down = match plan {
            ExecutorPlan::RampingVus { graceful_ramp_down, .. } => *graceful_ramp_down,
            _ => graceful_stop,
        };
        Looping { ramp: plan.vu_ramp(), start, end: plan.duration(), graceful_stop, ramp_down }
    }

    /// The stretches (from the executor's start) VU `index` is active at `scale`.
    fn spans(&self, index: u32, scale: Scale) -> Vec<(Duration, Duration)> {
        match (&self.ramp, scale.vus) {
            (None, _) => vec![(Duration::ZERO, self.end)],
            (Some(_), Some(vus)) if index < vus => vec![(Duration::ZERO, self.end)],
            (Some(_), Some(_)) => Vec::new(),
            (Some(ramp), None) => ramp.active_spans(index, scale.factor),
        }
    }

    /// One VU's life: each of its active stretches from now on, worked out
    /// again whenever the scenario's scale changes.
    async fn run_vu(&self, ctx: &ExecCtx, vu: &mut VuRunner, budget: &mut Budget, stops: &Stops) {
        let clock = &ctx.live.clock;
        let mut scale = ctx.scale_changes();
        loop {
            let setting = *scale.borrow_and_update();
            let now = clock.now().saturating_sub(self.start);
            if now >= self.end {
                return;
            }
            let next = self.spans(vu.index, setting).into_iter().find(|&(_, until)| until > now);
            let Some((from, until)) = next else {
                // Not active again at this scale: wait for another, or the end.
                tokio::select! {
                    _ = scale.changed() => continue,
                    _ = clock.sleep_until(self.start + self.end) => return,
                    _ = stops.soft.cancelled() => return,
                }
            };
            tokio::select! {
                _ = clock.sleep_until(self.start + from) => {}
                _ = scale.changed() => continue,
                _ = stops.soft.cancelled() => return,
            }
            // A VU leaving before the end gets the ramp-down grace; at the end, the graceful stop.
            let grace = if until == self.end { self.graceful_stop } else { self.ramp_down };
            ctx.factory.shared.vu_joined();
            let ended = vu.run_span(ctx, self.start + until, grace, budget, stops, &scale).await;
            ctx.factory.shared.vu_left();
            if ended == SpanEnd::Done {
                return;
            }
        }
    }
}

/// The closed models: each VU loops through its active stretches of time;
/// a scale-up past the planned VUs starts more.
async fn run_looping(
    plan: &ExecutorPlan,
    ctx: &Arc<ExecCtx>,
    vus: Vec<VuRunner>,
    segment: Segment,
    looping: Looping,
    stops: &Stops,
) -> Result<(), TaskFailed> {
    let looping = Arc::new(looping);
    let shared = match plan {
        ExecutorPlan::SharedIterations { iterations, .. } => Some(Arc::new(AtomicU64::new(segment.share(*iterations)))),
        _ => None,
    };
    let mut tasks = JoinSet::new();
    let spawn = |tasks: &mut JoinSet<()>, vu: Option<VuRunner>, index: u32| {
        let mut budget = match (plan, &shared) {
            (ExecutorPlan::PerVuIterations { iterations, .. }, _) => Budget::PerVu(*iterations),
            (_, Some(left)) => Budget::Shared(left.clone()),
            _ => Budget::Unlimited,
        };
        let (ctx, stops, looping) = (ctx.clone(), stops.clone(), looping.clone());
        tasks.spawn(async move {
            let mut vu = match vu {
                Some(vu) => vu,
                None => ctx.start_vu(index).await,
            };
            looping.run_vu(&ctx, &mut vu, &mut budget, &stops).await;
            vu.end(&ctx, &stops, looping.graceful_stop).await;
        });
    };
    for vu in vus {
        let index = vu.index;
        spawn(&mut tasks, Some(vu), index);
    }
    // Indexes below this have a VU (in this segment or another).
    let mut started = plan.max_vus();
    let mut scale = ctx.scale_changes();
    let mut failed = None;
    // A scenario planned with no VUs (a load shape's) gets them only from
    // scale changes: it waits for them, while it lasts, instead of ending.
    let waits_for_vus = plan.max_vus() == 0 && looping.ramp.is_some();
    let end = looping.start + looping.end;
    loop {
        tokio::select! {
            joined = tasks.join_next(), if !tasks.is_empty() || !waits_for_vus => match joined {
                None => break,
                Some(Err(err)) => { failed.get_or_insert(TaskFailed(format!("a VU task failed: {err}"))); }
                Some(Ok(())) => {}
            },
            _ = stops.soft.cancelled(), if tasks.is_empty() && waits_for_vus => break,
            _ = ctx.live.clock.sleep_until(end), if tasks.is_empty() && waits_for_vus => break,
            Ok(()) = scale.changed(), if looping.ramp.is_some() => {
                let needed = ctx.vus_needed(*scale.borrow_and_update());
                for index in started..needed {
                    if segment.owns(u64::from(index)) {
                        spawn(&mut tasks, None, index);
                    }
                }
                started = started.max(needed);
            }
        }
    }
    failed.map_or(Ok(()), Err)
}

/// The open models: iterations start on schedule on whichever VU is free;
/// none free means, below `max-vus`, a VU started for that arrival, else a
/// dropped iteration.
#[allow(clippy::too_many_arguments)]
async fn run_arrivals(
    plan: &ExecutorPlan,
    ctx: &Arc<ExecCtx>,
    vus: Vec<VuRunner>,
    segment: Segment,
    arrivals: Ramp,
    start: Duration,
    graceful_stop: Duration,
    stops: &Stops,
) -> Result<(), TaskFailed> {
    let idle = Arc::new(AtomicU32::new(0));
    let (jobs_tx, jobs) = async_channel::unbounded::<Instant>();
    let (allocated_tx, mut allocated) = tokio::sync::mpsc::unbounded_channel::<(VuRunner, Instant)>();
    let mut tasks = JoinSet::new();
    let serve = |tasks: &mut JoinSet<()>, mut vu: VuRunner, first: Option<Instant>| {
        let (ctx, idle, jobs, stops) = (ctx.clone(), idle.clone(), jobs.clone(), stops.clone());
        ctx.factory.shared.vu_joined();
        tasks.spawn(async move {
            vu.serve_arrivals(&ctx, first, &jobs, &idle, &stops).await;
            ctx.factory.shared.vu_left();
            vu.end(&ctx, &stops, graceful_stop).await;
        });
    };
    let spare: Vec<u32> = segment.owned(u64::from(plan.max_vus())).skip(vus.len()).map(|index| index as u32).collect();
    for vu in vus {
        serve(&mut tasks, vu, None);
    }
    let scheduler = Scheduler {
        ctx: ctx.clone(),
        idle: idle.clone(),
        jobs: jobs_tx,
        allocated: allocated_tx,
        spare,
        stop: stops.soft.clone(),
        runtime: tokio::runtime::Handle::current(),
    };
    let mut scheduling = tokio::task::spawn_blocking(move || scheduler.run(&arrivals, segment, start));
    loop {
        tokio::select! {
            Some((vu, first)) = allocated.recv() => serve(&mut tasks, vu, Some(first)),
            _ = &mut scheduling => break,
        }
    }
    // The scheduler is done and dropped its job sender: free VUs end, busy
    // ones finish their iteration (or are cut at the hard stop). VUs still
    // starting run the arrival they were started for.
    let ends = tokio::spawn({
        let stops = stops.clone();
        async move {
            stops.soft.cancel();
            tokio::time::sleep(graceful_stop).await;
            stops.hard.cancel();
        }
    });
    loop {
        tokio::select! {
            biased;
            _ = stops.hard.cancelled() => break,
            next = allocated.recv() => match next {
                Some((vu, first)) => serve(&mut tasks, vu, Some(first)),
                None => break,
            },
        }
    }
    // Cut at the hard stop: VUs still starting never run the arrival they
    // were started for, which is then dropped. Waiting for them (a start is
    // an instantiation and an init, milliseconds; bounded for an init that
    // hangs) keeps the count exact.
    let mut unserved = 0u64;
    let _ = tokio::time::timeout(Duration::from_secs(1), async {
        while allocated.recv().await.is_some() {
            unserved += 1;
        }
    })
    .await;
    if unserved > 0 {
        let recorder = ctx.factory.shared.recorder(ctx.first_id, None);
        recorder.record(&recorder.tags([]), &[Sample::new(names::DROPPED_ITERATIONS, unserved as f64)]);
    }
    let joined = join_all(tasks).await;
    ends.abort();
    joined
}

/// The arrival clock of an open-model executor. It runs on a thread of its
/// own, sleeping with the OS timer (tens of microseconds) rather than
/// tokio's millisecond timer wheel, so iterations start on time.
struct Scheduler {
    ctx: Arc<ExecCtx>,
    /// Free VUs: each VU adds itself before it waits for a job, the
    /// scheduler takes one before it sends a job, so every job sent has a
    /// VU waiting for it.
    idle: Arc<AtomicU32>,
    jobs: async_channel::Sender<Instant>,
    /// VUs started for an arrival, with it.
    allocated: tokio::sync::mpsc::UnboundedSender<(VuRunner, Instant)>,
    /// Indexes of the VUs that may still be added, up to `max-vus`.
    spare: Vec<u32>,
    stop: CancellationToken,
    runtime: tokio::runtime::Handle,
}

impl Scheduler {
    /// How long the scheduler sleeps at most before it looks at the stop
    /// signal, a pause and the scale again.
    const STOP_CHECK: Duration = Duration::from_millis(20);

    /// Starts the arrivals of `ramp` (scaled live) from test time `start`.
    fn run(mut self, ramp: &Ramp, segment: Segment, start: Duration) {
        let recorder = self.ctx.factory.shared.recorder(self.ctx.first_id, None);
        let tags = recorder.tags([]);
        let dropped = |count: u64| recorder.record(&tags, &[Sample::new(names::DROPPED_ITERATIONS, count as f64)]);
        let clock = &self.ctx.live.clock;
        let mut scale = self.ctx.scale_changes();
        let mut arrivals = ScaledArrivals::new(ramp);
        let end = start + ramp.total();
        // A machine that cannot keep up must not stretch the run: past the
        // end, the arrivals not handled yet are dropped all at once.
        let cutoff = end + Self::STOP_CHECK;
        let (mut number, mut handled) = (0u64, 0u64);
        self.spare.reverse();
        while !self.stop.is_cancelled() {
            if scale.has_changed().unwrap_or(false) {
                let factor = scale.borrow_and_update().factor;
                arrivals.rescale(clock.now().saturating_sub(start), factor);
            }
            let now = clock.now();
            if now > cutoff {
                dropped(segment.share(arrivals.count()).saturating_sub(handled));
                return;
            }
            let Some(at) = arrivals.time_of(number) else {
                if now >= end {
                    return;
                }
                // None due before the end at this scale; a new one may bring some.
                std::thread::sleep(Self::STOP_CHECK);
                continue;
            };
            if !segment.owns(number) {
                number += 1;
                continue;
            }
            let due = start + at;
            if let Some(wait) = due.checked_sub(now).filter(|wait| !wait.is_zero()) {
                // Paused, the test clock stands still: wake to look again.
                std::thread::sleep(wait.min(Self::STOP_CHECK));
                continue;
            }
            number += 1;
            handled += 1;
            let due = clock.instant_of(due);
            if self.idle.fetch_update(Ordering::AcqRel, Ordering::Acquire, |n| n.checked_sub(1)).is_ok() {
                // Unbounded, and the receivers live as long as the executor.
                let _ = self.jobs.try_send(due);
                continue;
            }
            // No VU is free: start one for this arrival (unlike k6, which
            // drops it and starts one for later ones), or drop it at max-vus.
            match self.spare.pop() {
                Some(index) => {
                    let (ctx, allocated) = (self.ctx.clone(), self.allocated.clone());
                    self.runtime.spawn(async move {
                        let _ = allocated.send((ctx.start_vu(index).await, due));
                    });
                }
                None => dropped(1),
            }
        }
    }
}

/// Waits for every VU task; a panicked one fails the executor, after the
/// others have ended.
async fn join_all(mut tasks: JoinSet<()>) -> Result<(), TaskFailed> {
    let mut failed = None;
    while let Some(joined) = tasks.join_next().await {
        if let Err(err) = joined {
            failed.get_or_insert(TaskFailed(format!("a VU task failed: {err}")));
        }
    }
    failed.map_or(Ok(()), Err)
}
