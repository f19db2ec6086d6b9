//! One `vespid run`, in order: check the machine's limits, build the engine
//! and load each plugin once and the data sets, describe and set up, start every scenario's
//! VUs (the init phase), start the clock and the executors, collect metrics
//! while they run, tear down, and hand a [`Report`] to the outputs.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;
use wasmtime::Engine;

use crate::bindings::runner::Info;
use crate::caps::{DataSets, HttpShared, RunShared};
use crate::config::{ConfigError, Plan, ScenarioPlan};
use crate::exec::{ErrorLog, ExecCtx, TaskPicker, Vu, VuFactory, prepare, run_executor};
use crate::metrics::{Aggregate, Sample, Sink, TagSet, Threshold, evaluate, names};
use crate::output::{Goal, OutputSpec, PointStream, Progress, Report, ScenarioReport};
use crate::plugin::{EngineOptions, EpochTicker, Plugin, build_engine};
use crate::{Error, limits};

/// How often the collector drains the shards and progress is shown.
const COLLECT_EVERY: Duration = Duration::from_secs(1);

/// A finished run: the report and the registry that names its metrics.
pub struct Finished {
    pub report: Report,
    pub sink: Arc<Sink>,
    /// The abortOnFail threshold that stopped the run early, if one did.
    pub aborted_by: Option<String>,
    /// How writing the streamed outputs went; reported after the summary,
    /// so a full disk does not cost the user the summary too.
    pub streamed: Result<(), Error>,
}

/// Each distinct plugin of a plan, loaded once and described.
struct Plugins {
    engine: Engine,
    http: Arc<HttpShared>,
    by_path: HashMap<PathBuf, (Arc<Plugin>, Info)>,
}

impl Plugins {
    /// Compiles (or takes from the cache) every plugin the plan names and
    /// asks each to describe itself. `max_instances` sizes the pool.
    async fn load(plan: &Plan, max_instances: u32) -> Result<Plugins, Error> {
        let engine = build_engine(EngineOptions { max_instances, cache: plan.compile_cache })?;
        let http = Arc::new(HttpShared::new(plan.http.clone())?);
        let mut by_path = HashMap::new();
        for scenario in &plan.scenarios {
            if by_path.contains_key(&scenario.plugin) {
                continue;
            }
            let (path, compiler) = (scenario.plugin.clone(), engine.clone());
            let plugin = tokio::task::spawn_blocking(move || Plugin::load(&path, &compiler))
                .await
                .map_err(|err| Error::Runtime(format!("plugin loading stopped: {err}")))??;
            let plugin = Arc::new(plugin);
            // Describe on a throwaway instance: the name it returns may tag every sample of the real run.
            let shared = run_shared(&http, Arc::default(), Arc::default(), &Arc::default(), "", scenario, plan);
            let factory = VuFactory { engine: engine.clone(), plugin: plugin.clone(), shared };
            let info = factory.instantiate(0).await.map_err(Error::Setup)?.describe().await.map_err(Error::Setup)?;
            by_path.insert(scenario.plugin.clone(), (plugin, info));
        }
        Ok(Plugins { engine, http, by_path })
    }

    /// The scenario's name (the plugin's, unless the plan names it) and its weighted tasks.
    fn resolve(&self, scenario: &ScenarioPlan) -> Result<(String, TaskPicker), Error> {
        let (_, info) = &self.by_path[&scenario.plugin];
        let name = scenario.name.clone().unwrap_or_else(|| info.name.clone());
        let declared: Vec<(String, u32)> = info.tasks.iter().map(|t| (t.name.clone(), t.weight)).collect();
        let tasks = scenario
            .tasks
            .resolve(&declared)
            .map_err(|message| ConfigError::Scenario { scenario: name.clone(), message })?;
        Ok((name, TaskPicker::new(tasks)))
    }
}

/// `vespid validate`: everything `run` checks before its clock starts —
/// the plan, each plugin (compiled, its world, its tasks) — without setup
/// or VUs. Returns one line per scenario.
pub async fn validate(plan: &Plan) -> Result<Vec<String>, Error> {
    let plugins = Plugins::load(plan, 1).await?;
    let mut lines = Vec::new();
    for scenario in &plan.scenarios {
        let (name, _) = plugins.resolve(scenario)?;
        let (executor, plugin) = (&scenario.executor, scenario.plugin.display());
        lines.push(format!("{name}: {} ({}), plugin {plugin}", executor.name(), executor.describe()));
    }
    // A custom metric is only known once a plugin records it: say so, as a typo looks the same.
    let builtin = crate::metrics::Registry::default();
    for threshold in plan.thresholds.iter().filter(|t| builtin.lookup(&t.metric).is_none()) {
        lines.push(format!(
            "threshold on {}: not a built-in metric, so a custom one a plugin must record (else it fails: no samples)",
            threshold.metric
        ));
    }
    Ok(lines)
}

/// Runs the plan to its end. `interrupt` (Ctrl-C) starts a graceful stop.
pub async fn run(plan: Plan, interrupt: CancellationToken) -> Result<Finished, Error> {
    let vus_max = plan.max_vus();
    limits::ensure_room_for(vus_max)?;
    // VUs plus one setup instance per scenario.
    let plugins = Plugins::load(&plan, vus_max + plan.scenarios.len() as u32).await?;
    let data = {
        let sources = plan.data.clone();
        tokio::task::spawn_blocking(move || DataSets::load(&sources))
            .await
            .map_err(|err| Error::Runtime(format!("data loading stopped: {err}")))?
            .map_err(ConfigError::from)?
    };
    let data = Arc::new(data);
    let _ticker = EpochTicker::start(&plugins.engine);
    let streamed = plan.outputs.iter().any(OutputSpec::is_streamed);
    let sink = Arc::new(if streamed { Sink::keeping_points() } else { Sink::new() });
    let points = PointStream::start(&plan.outputs, sink.clone())?;
    let errors = Arc::new(ErrorLog::default());

    // Setup once per plugin, on an instance kept for its teardown.
    let mut scenarios = Vec::new();
    let mut setups: HashMap<PathBuf, (Vu, Arc<str>)> = HashMap::new();
    let mut first_id = 1;
    for scenario in &plan.scenarios {
        let (name, tasks) = plugins.resolve(scenario)?;
        let shared = run_shared(&plugins.http, sink.clone(), errors.clone(), &data, &name, scenario, &plan);
        let (plugin, _) = &plugins.by_path[&scenario.plugin];
        let factory = VuFactory { engine: plugins.engine.clone(), plugin: plugin.clone(), shared };
        if !setups.contains_key(&scenario.plugin) {
            let mut vu = factory.instantiate(0).await.map_err(Error::Setup)?;
            let data: Arc<str> = vu.setup().await.map_err(Error::Setup)?.into();
            setups.insert(scenario.plugin.clone(), (vu, data));
        }
        let setup_data = setups[&scenario.plugin].1.clone();
        let ctx = Arc::new(ExecCtx::new(factory, tasks, setup_data, scenario.think_time, first_id));
        first_id += scenario.executor.max_vus();
        scenarios.push((name, scenario, ctx));
    }

    // The init phase: every scenario's initial VUs, before the clock starts.
    let init_start = Instant::now();
    let mut initial = Vec::new();
    for (_, scenario, ctx) in &scenarios {
        initial.push(prepare(&scenario.executor, ctx, plan.segment));
    }
    let initial = futures_util::future::join_all(initial).await;
    let vus_ready = init_start.elapsed();
    let vus_initialised = initial.iter().map(Vec::len).sum::<usize>() as u32;

    let mut progress = Progress::new(plan.progress, goal(&plan));
    let mut aggregate = Aggregate::default();
    let clock = Instant::now();
    let mut executors = JoinSet::new();
    for ((_, scenario, ctx), vus) in scenarios.iter().zip(initial) {
        let (executor, ctx, interrupt) = (scenario.executor.clone(), ctx.clone(), interrupt.clone());
        let (segment, start, grace) = (plan.segment, clock + scenario.start_time, scenario.graceful_stop);
        executors.spawn(async move { run_executor(&executor, ctx, vus, segment, start, grace, interrupt).await });
    }
    let active = || scenarios.iter().map(|(_, _, ctx)| ctx.active_vus.load(Ordering::Relaxed)).sum::<u32>();
    // Run-wide, as k6's: no scenario tag.
    let vu_tags = TagSet::new::<&str, &str>([]);
    let record_vus = |active: u32| {
        sink.shard(0).record(
            &vu_tags,
            &[Sample::new(names::VUS, f64::from(active)), Sample::new(names::VUS_MAX, f64::from(vus_max))],
        );
    };
    let mut ticker = tokio::time::interval_at((clock + COLLECT_EVERY).into(), COLLECT_EVERY);
    let mut ticks = 0u32;
    let mut aborted_by = None;
    loop {
        tokio::select! {
            joined = executors.join_next() => match joined {
                None => break,
                Some(Err(err)) => return Err(Error::Runtime(format!("an executor stopped: {err}"))),
                Some(Ok(())) => {}
            },
            _ = ticker.tick() => {
                let active = active();
                record_vus(active);
                ticks += 1;
                points.send(sink.drain_into(&mut aggregate));
                progress.update(&aggregate, active, vus_max);
                if aborted_by.is_none() {
                    aborted_by = failed_abort_threshold(&plan, &aggregate, &sink, clock.elapsed());
                    if let Some(threshold) = &aborted_by {
                        eprintln!("threshold {threshold} failed with abortOnFail: stopping the run");
                        interrupt.cancel();
                    }
                }
            }
        }
    }
    let running = clock.elapsed();
    if ticks == 0 {
        // A run shorter than one tick still reports its VUs.
        record_vus(vus_max);
    }
    for (mut vu, data) in setups.into_values() {
        if let Err(message) = vu.teardown(&data).await {
            errors.report(format!("teardown failed: {message}"));
        }
    }
    points.send(sink.drain_into(&mut aggregate));
    progress.finish();
    let streamed = points.finish();
    let report = Report {
        scenarios: scenarios
            .iter()
            .map(|(name, scenario, _)| ScenarioReport {
                name: name.clone(),
                executor: scenario.executor.name(),
                description: scenario.executor.describe(),
                vus_max: plan.scenario_vus(scenario),
            })
            .collect(),
        segment: plan.segment,
        vus_max,
        elapsed: running,
        errors: errors.snapshot(),
        vus_ready,
        vus_initialised,
        thresholds: evaluate(&plan.thresholds, &aggregate, &sink.registry, running),
        aggregate,
    };
    Ok(Finished { report, sink, aborted_by, streamed })
}

/// The first abortOnFail threshold, past its delayAbortEval, that fails on
/// the samples so far (one without samples yet is not a reason to abort).
fn failed_abort_threshold(plan: &Plan, aggregate: &Aggregate, sink: &Sink, elapsed: Duration) -> Option<String> {
    let due: Vec<Threshold> =
        plan.thresholds.iter().filter(|t| t.abort_on_fail && elapsed >= t.delay_abort_eval).cloned().collect();
    evaluate(&due, aggregate, &sink.registry, elapsed)
        .into_iter()
        .find(|outcome| !outcome.passed && outcome.observed.is_some())
        .map(|outcome| format!("{} '{}'", outcome.threshold.series_name(), outcome.threshold.expression))
}

/// What the progress bar counts towards: iterations when every scenario
/// has a fixed number, else the time until the last one ends.
fn goal(plan: &Plan) -> Goal {
    let fixed: Option<u64> = plan.scenarios.iter().map(|s| s.executor.fixed_iterations(plan.segment)).sum();
    match fixed {
        Some(total) => Goal::Iterations(total),
        None => {
            Goal::Time(plan.scenarios.iter().map(|s| s.start_time + s.executor.duration()).max().unwrap_or_default())
        }
    }
}

/// The read-only state one scenario's VUs share.
fn run_shared(
    http: &Arc<HttpShared>,
    sink: Arc<Sink>,
    errors: Arc<ErrorLog>,
    data: &Arc<DataSets>,
    name: &str,
    scenario: &ScenarioPlan,
    plan: &Plan,
) -> Arc<RunShared> {
    Arc::new(RunShared {
        http: http.clone(),
        sink,
        errors,
        env: scenario.env.clone().into(),
        scenario: name.into(),
        tags: scenario.tags.clone().into(),
        log_level: plan.log_level,
        data: data.clone(),
    })
}
