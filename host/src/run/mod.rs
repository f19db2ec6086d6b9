//! One `vespid run`, in order: check the machine's limits, build the engine
//! and load each plugin once and the data sets, describe and set up, start every scenario's
//! VUs (the init phase), start the clock, the executors and the collector,
//! tear down, and hand a [`Report`] to the outputs.

mod collector;

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Instant;

use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;
use wasmtime::Engine;

use self::collector::{Collector, Watch};
use crate::bindings::runner::Info;
use crate::caps::{DataSets, RunShared, ScenarioShared};
use crate::config::{ConfigError, Plan, ScenarioPlan};
use crate::exec::{ExecCtx, Instance, TaskPicker, VuFactory, describe, prepare, run_executor};
use crate::metrics::{Sink, evaluate};
use crate::output::{Goal, OutputSpec, Outputs, Progress, Report, ScenarioReport};
use crate::plugin::{EngineOptions, EpochTicker, Plugin, VU_MEMORY_MAX, build_engine};
use crate::{Error, limits};

/// How a run that produced its report ended.
pub struct Finished {
    pub report: Report,
    pub sink: Arc<Sink>,
    /// The abortOnFail threshold that stopped the run early, if one did.
    pub aborted_by: Option<String>,
    /// What went wrong after the report was made (an output could not be
    /// written, an executor failed); the outputs were still all attempted.
    pub failure: Option<Error>,
}

/// Each distinct plugin of a plan, loaded once and described.
struct Plugins {
    engine: Engine,
    by_path: HashMap<PathBuf, (Arc<Plugin>, Info)>,
}

impl Plugins {
    /// Compiles (or takes from the cache) every plugin the plan names and
    /// asks each to describe itself. `max_instances` sizes the pool.
    async fn load(plan: &Plan, max_instances: u32) -> Result<Plugins, Error> {
        let engine = build_engine(EngineOptions { max_instances, cache: plan.compile_cache })?;
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
            // The name it returns may tag every sample of the real run.
            let info = describe(&engine, &plugin).await.map_err(Error::Setup)?;
            by_path.insert(scenario.plugin.clone(), (plugin, info));
        }
        Ok(Plugins { engine, by_path })
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

/// Runs the plan to its end and writes every output. `interrupt` (Ctrl-C)
/// starts a graceful stop.
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
    let _ticker = EpochTicker::start(&plugins.engine);
    let streamed = plan.outputs.iter().any(OutputSpec::is_streamed);
    let sink = Arc::new(if streamed { Sink::keeping_points() } else { Sink::new() }.with_limits(plan.metric_limits));
    let run = RunShared::new(plan.http.clone(), plan.log_level, VU_MEMORY_MAX, data, sink.clone())?;
    let outputs = Outputs::start(&plan.outputs, plan.summary_export.clone(), sink.clone())?;

    // Setup once per plugin, on an instance kept for its teardown.
    let mut scenarios = Vec::new();
    let mut setups: HashMap<PathBuf, (Instance, Arc<str>)> = HashMap::new();
    let mut first_id = 1;
    for scenario in &plan.scenarios {
        let (name, tasks) = plugins.resolve(scenario)?;
        let shared = ScenarioShared::new(&run, &name, &scenario.env, &scenario.tags);
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

    let clock = Instant::now();
    let contexts: Vec<Arc<ExecCtx>> = scenarios.iter().map(|(_, _, ctx)| ctx.clone()).collect();
    let watch = Watch {
        sink: sink.clone(),
        outputs,
        progress: Progress::new(plan.progress, goal(&plan)),
        abort_thresholds: plan.thresholds.iter().filter(|t| t.abort_on_fail).cloned().collect(),
        interrupt: interrupt.clone(),
        active_vus: Box::new(move || contexts.iter().map(|ctx| ctx.active_vus.load(Ordering::Relaxed)).sum()),
        vus_max,
    };
    let collector =
        Collector::start(watch, clock).map_err(|err| Error::Runtime(format!("cannot start the collector: {err}")))?;
    let mut executors = JoinSet::new();
    for ((_, scenario, ctx), vus) in scenarios.iter().zip(initial) {
        let (executor, ctx, interrupt) = (scenario.executor.clone(), ctx.clone(), interrupt.clone());
        let (segment, start, grace) = (plan.segment, clock + scenario.start_time, scenario.graceful_stop);
        executors.spawn(async move { run_executor(&executor, ctx, vus, segment, start, grace, interrupt).await });
    }
    let mut failure = None;
    while let Some(joined) = executors.join_next().await {
        if let Err(err) = joined {
            failure.get_or_insert(Error::Runtime(format!("an executor stopped: {err}")));
            interrupt.cancel();
        }
    }
    let running = clock.elapsed();
    for (mut vu, data) in setups.into_values() {
        if let Err(err) = vu.teardown(&data).await {
            run.errors.report(&err.to_string());
        }
    }
    let collected = collector.finish().ok_or_else(|| Error::Runtime("the metrics collector stopped".into()))?;
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
        errors: run.errors.snapshot(),
        vus_ready,
        vus_initialised,
        thresholds: evaluate(&plan.thresholds, &collected.aggregate, &sink.registry, running),
        aggregate: collected.aggregate,
    };
    if let Err(err) = collected.outputs.finish(&report, &sink.registry) {
        failure.get_or_insert(err);
    }
    Ok(Finished { report, sink, aborted_by: collected.aborted_by, failure })
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
