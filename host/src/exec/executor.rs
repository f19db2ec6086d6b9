//! k6's executors. Now: `constant-vus` (N VUs looping for a duration) and
//! `per-vu-iterations` (N VUs each running a fixed number of iterations
//! within a maximum duration). Both end with a graceful stop: no new
//! iteration starts after the end, running ones get `graceful_stop` to
//! finish, then they are abandoned. Arrival-rate and ramping executors
//! plug in here as further variants.

use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;

use super::ExecCtx;
use super::vu::Vu;

/// One executor with its options.
#[derive(Debug, Clone, PartialEq)]
pub enum ExecutorPlan {
    /// k6 `constant-vus`.
    ConstantVus { vus: u32, duration: Duration, graceful_stop: Duration },
    /// k6 `per-vu-iterations`.
    PerVuIterations { vus: u32, iterations: u32, max_duration: Duration, graceful_stop: Duration },
}

impl ExecutorPlan {
    /// The most VUs this executor runs at once (`vus_max`).
    pub fn max_vus(&self) -> u32 {
        match self {
            ExecutorPlan::ConstantVus { vus, .. } | ExecutorPlan::PerVuIterations { vus, .. } => *vus,
        }
    }

    /// k6's name of the executor.
    pub fn name(&self) -> &'static str {
        match self {
            ExecutorPlan::ConstantVus { .. } => "constant-vus",
            ExecutorPlan::PerVuIterations { .. } => "per-vu-iterations",
        }
    }
}

/// How an executor's run went.
#[derive(Debug, Clone, Copy)]
pub struct ExecutorTimes {
    /// Instantiating and initialising every VU (k6's init phase).
    pub vus_ready: Duration,
    /// From the first iteration to the end, graceful stop included.
    pub running: Duration,
}

/// Runs the executor to its end. `interrupt` (Ctrl-C) starts the graceful
/// stop early.
pub async fn run_executor(plan: &ExecutorPlan, ctx: Arc<ExecCtx>, interrupt: CancellationToken) -> ExecutorTimes {
    let (vus, limit, duration, graceful_stop) = match *plan {
        ExecutorPlan::ConstantVus { vus, duration, graceful_stop } => (vus, None, duration, graceful_stop),
        ExecutorPlan::PerVuIterations { vus, iterations, max_duration, graceful_stop } => {
            (vus, Some(iterations), max_duration, graceful_stop)
        }
    };
    run_looping_vus(ctx, vus, limit, duration, graceful_stop, interrupt).await
}

/// Starts `vus` VUs, all before the clock starts (as k6's init phase), that
/// then each loop (up to `limit` iterations) until `duration` has passed,
/// and stops them gracefully.
async fn run_looping_vus(
    ctx: Arc<ExecCtx>,
    vus: u32,
    limit: Option<u32>,
    duration: Duration,
    graceful_stop: Duration,
    interrupt: CancellationToken,
) -> ExecutorTimes {
    let init_start = Instant::now();
    let started = start_vus(&ctx, vus).await;
    let vus_ready = init_start.elapsed();

    let run_start = Instant::now();
    let soft = CancellationToken::new();
    let hard = CancellationToken::new();
    let mut tasks = JoinSet::new();
    for (id, vu) in started {
        let (ctx, soft, hard) = (ctx.clone(), soft.clone(), hard.clone());
        tasks.spawn(async move { ctx.run_vu(id, vu, limit, soft, hard).await });
    }
    let stopper = tokio::spawn(async move {
        tokio::select! {
            _ = tokio::time::sleep(duration) => {}
            _ = interrupt.cancelled() => {}
        }
        soft.cancel();
        tokio::time::sleep(graceful_stop).await;
        // The VUs still running end at their next await.
        hard.cancel();
    });
    while let Some(joined) = tasks.join_next().await {
        if let Err(err) = joined {
            tracing::error!("a VU task failed: {err}");
        }
    }
    stopper.abort();
    ExecutorTimes { vus_ready, running: run_start.elapsed() }
}

/// Starts VUs 1..=`vus` concurrently; a VU that fails to start is reported
/// and retries at its first iteration.
async fn start_vus(ctx: &Arc<ExecCtx>, vus: u32) -> Vec<(u32, Option<Vu>)> {
    let mut starting = JoinSet::new();
    for id in 1..=vus {
        let ctx = ctx.clone();
        starting.spawn(async move { (id, ctx.start_vu(id).await) });
    }
    let mut started = Vec::with_capacity(vus as usize);
    while let Some(joined) = starting.join_next().await {
        match joined {
            Ok((id, Ok(vu))) => started.push((id, Some(vu))),
            Ok((id, Err(message))) => {
                ctx.factory.shared.errors.report(message);
                started.push((id, None));
            }
            Err(err) => tracing::error!("a VU failed to start: {err}"),
        }
    }
    started
}
