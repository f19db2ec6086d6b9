//! One `vespid run`, in order: check the machine's limits, build the engine,
//! load the plugin and the data sets, set up, start the executor, collect
//! metrics while it runs, tear down, and hand a [`Report`] to the outputs.

use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use tokio_util::sync::CancellationToken;

use crate::caps::{DataSets, HttpShared, RunShared};
use crate::config::{ConfigError, Plan};
use crate::exec::{ErrorLog, ExecCtx, ExecutorPlan, TaskPicker, VuFactory, run_executor};
use crate::metrics::{Aggregate, Sample, Sink, names};
use crate::output::{Goal, Progress, Report};
use crate::plugin::{EngineOptions, EpochTicker, Plugin, build_engine};
use crate::{Error, limits};

/// How often the collector drains the shards and progress is shown.
const COLLECT_EVERY: Duration = Duration::from_secs(1);

/// A finished run: the report and the registry that names its metrics.
pub struct Finished {
    pub report: Report,
    pub sink: Arc<Sink>,
}

/// Runs the plan to its end. `interrupt` (Ctrl-C) starts a graceful stop.
pub async fn run(plan: Plan, interrupt: CancellationToken) -> Result<Finished, Error> {
    let vus_max = plan.executor.max_vus();
    limits::ensure_room_for(vus_max)?;
    // VUs plus the setup instance.
    let engine = build_engine(EngineOptions { max_instances: vus_max + 1, cache: plan.compile_cache })?;
    let plugin = {
        let (path, engine) = (plan.plugin.clone(), engine.clone());
        tokio::task::spawn_blocking(move || Plugin::load(&path, &engine))
            .await
            .map_err(|err| Error::Runtime(format!("plugin loading stopped: {err}")))??
    };
    let plugin = Arc::new(plugin);
    let data = {
        let sources = plan.data.clone();
        tokio::task::spawn_blocking(move || DataSets::load(&sources))
            .await
            .map_err(|err| Error::Runtime(format!("data loading stopped: {err}")))?
            .map_err(ConfigError::from)?
    };
    let data = Arc::new(data);
    let http = Arc::new(HttpShared::new(plan.http.clone())?);
    let _ticker = EpochTicker::start(&engine);

    let shared = |scenario: &str, sink: Arc<Sink>| {
        Arc::new(RunShared {
            http: http.clone(),
            sink,
            errors: Arc::new(ErrorLog::default()),
            env: plan.env.clone().into(),
            scenario: scenario.into(),
            log_level: plan.log_level,
            data: data.clone(),
        })
    };
    // Describe on a throwaway instance: the scenario name it returns tags
    // every sample of the real run.
    let info = {
        let factory = VuFactory { engine: engine.clone(), plugin: plugin.clone(), shared: shared("", Arc::default()) };
        factory.instantiate(0).await.map_err(Error::Setup)?.describe().await.map_err(Error::Setup)?
    };
    let scenario = plan.scenario.clone().unwrap_or(info.name);
    let sink = Arc::new(Sink::new());
    let shared = shared(&scenario, sink.clone());
    let factory = VuFactory { engine, plugin, shared: shared.clone() };

    let mut setup_vu = factory.instantiate(0).await.map_err(Error::Setup)?;
    let setup_data: Arc<str> = setup_vu.setup().await.map_err(Error::Setup)?.into();

    let tasks = TaskPicker::new(info.tasks.into_iter().map(|t| (t.name, t.weight)).collect());
    let ctx = Arc::new(ExecCtx::new(factory, tasks, setup_data.clone()));
    let goal = match plan.executor {
        ExecutorPlan::ConstantVus { duration, .. } => Goal::Time(duration),
        ExecutorPlan::PerVuIterations { vus, iterations, .. } => {
            Goal::Iterations(u64::from(vus) * u64::from(iterations))
        }
    };
    let mut progress = Progress::new(plan.progress, goal);
    let mut aggregate = Aggregate::default();

    let executor = tokio::spawn({
        let (plan, ctx) = (plan.executor.clone(), ctx.clone());
        async move { run_executor(&plan, ctx, interrupt).await }
    });
    let vu_tags = crate::caps::Recorder::new(sink.clone(), 0, scenario.clone().into()).tags([]);
    let record_vus = |active: u32| {
        sink.shard(0).record(
            &vu_tags,
            &[Sample::new(names::VUS, f64::from(active)), Sample::new(names::VUS_MAX, f64::from(vus_max))],
        );
    };
    let mut ticker = tokio::time::interval(COLLECT_EVERY);
    ticker.tick().await;
    let mut ticks = 0u32;
    tokio::pin!(executor);
    let times = loop {
        tokio::select! {
            joined = &mut executor => {
                break joined.map_err(|err| Error::Runtime(format!("the executor stopped: {err}")))?;
            }
            _ = ticker.tick() => {
                let active = ctx.active_vus.load(Ordering::Relaxed);
                record_vus(active);
                ticks += 1;
                sink.drain_into(&mut aggregate);
                progress.update(&aggregate, active, vus_max);
            }
        }
    };
    if ticks == 0 {
        // A run shorter than one tick still reports its VUs.
        record_vus(vus_max);
    }
    if let Err(message) = setup_vu.teardown(&setup_data).await {
        shared.errors.report(format!("teardown failed: {message}"));
    }
    sink.drain_into(&mut aggregate);
    progress.finish();
    let report = Report {
        scenario,
        executor: plan.executor.name(),
        vus_max,
        elapsed: times.running,
        aggregate,
        errors: shared.errors.snapshot(),
        vus_ready: times.vus_ready,
    };
    Ok(Finished { report, sink })
}
