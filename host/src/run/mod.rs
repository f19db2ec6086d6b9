//! One `vespid run`, in order: check the machine's limits, build the engine
//! and load each plugin once and the data sets, describe and set up, start every scenario's
//! VUs (the init phase), start the clock, the executors and the collector,
//! tear down, and hand a [`Report`] to the outputs.

mod collector;
pub mod control;
mod reload;
mod script;
mod shape;

use std::collections::HashMap;
use std::future::Future;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;
use wasmtime::Engine;

use self::collector::{Collector, Watch};
use self::control::{ControlServer, Steering};
pub use self::reload::{Reloaded, Reloader, Target, resolve_tasks};
pub use self::script::{LoadedScript, load_script, plan};
use crate::bindings::runner::Info;
use crate::caps::{DataSets, Datasources, Declared, RunShared, ScenarioShared, TestAbort};
use crate::config::{ConfigError, Plan, ScenarioPlan};
use crate::exec::{
    ExecCtx, Instance, Live, ScenarioCode, Stops, TestClock, VuError, VuFactory, describe, prepare, run_executor,
};
use crate::metrics::{Aggregate, Registry, Sink, evaluate};
use crate::output::{
    ChangeLog, Goal, OutputSpec, Outputs, Progress, Report, ScenarioReport, handle_summary_data, write_handled,
};
use crate::plugin::{EngineOptions, EpochTicker, FileWatcher, Language, Plugin, build_engine};
use crate::{Error, limits};

/// How a run that produced its report ended.
pub struct Finished {
    pub report: Report,
    pub sink: Arc<Sink>,
    /// The abortOnFail threshold that stopped the run early, if one did.
    pub aborted_by: Option<String>,
    /// Why a plugin aborted the test (k6's `exec.test.abort()`), if one did.
    pub test_aborted: Option<String>,
    /// The run was interrupted (Ctrl-C) before its end.
    pub interrupted: bool,
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
    /// asks each to describe itself, with the run's data sets `data`.
    /// `max_instances` sizes the pool.
    async fn load(plan: &Plan, max_instances: u32, data: &Arc<DataSets>) -> Result<Plugins, Error> {
        let runtime = plan.scenarios.iter().any(|scenario| Language::of(&scenario.plugin).is_some());
        let options = EngineOptions { max_instances, cache: plan.compile_cache, memory: plan.vu_memory, runtime };
        let engine = build_engine(options)?;
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
            let info = describe(&engine, &plugin, &scenario.env, data.clone()).await.map_err(Error::Setup)?;
            by_path.insert(scenario.plugin.clone(), (plugin, info));
        }
        Ok(Plugins { engine, by_path })
    }

    /// The scenario's name (the plugin's, unless the plan names it) and the code it starts with.
    fn resolve(&self, scenario: &ScenarioPlan) -> Result<(String, ScenarioCode), Error> {
        let (plugin, info) = &self.by_path[&scenario.plugin];
        let name = scenario.name.clone().unwrap_or_else(|| info.name.clone());
        let tasks = resolve_tasks(scenario, &name, info)?;
        Ok((name, ScenarioCode { plugin: plugin.clone(), tasks }))
    }
}

/// `vespid validate`: everything `run` checks before its clock starts —
/// the plan, each plugin (compiled, its world, its tasks) — without setup
/// or VUs. Returns one line per scenario.
pub async fn validate(plan: &Plan) -> Result<Vec<String>, Error> {
    let data = load_data(plan).await?;
    let plugins = Plugins::load(plan, 1, &data).await?;
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
/// stops it in whatever phase it is: compiling or loading data ends the
/// command at once; from setup on, the run skips to teardown and still
/// writes its summary and outputs.
pub async fn run(plan: Plan, interrupt: CancellationToken) -> Result<Finished, Error> {
    // Ctrl-C, an abortOnFail threshold and a plugin aborting the test all
    // end the run through `stop`; only Ctrl-C cancels `interrupt`.
    let stop = interrupt.child_token();
    let vus_max = plan.max_vus();
    let capacity = plan.vus_capacity();
    limits::ensure_room_for(capacity, plan.http.batch_per_host)?;
    let control = ControlServer::bind(&plan.control).await?;
    // VUs (with room for live scale-ups), one setup instance per scenario,
    // and one more for a reload's probe or a teardown on a newer version.
    // Data first: a script's describe reads the shared arrays it built.
    let data = until_interrupted(&stop, load_data(&plan)).await.ok_or(Error::Interrupted)??;
    let load = Plugins::load(&plan, capacity + plan.scenarios.len() as u32 + 1, &data);
    let plugins = until_interrupted(&stop, load).await.ok_or(Error::Interrupted)??;
    let resolved = plan.scenarios.iter().map(|s| plugins.resolve(s)).collect::<Result<Vec<_>, _>>()?;
    let _ticker = EpochTicker::start(&plugins.engine);
    let streamed = plan.outputs.iter().any(OutputSpec::is_streamed);
    let sink = Arc::new(if streamed { Sink::keeping_points() } else { Sink::new() }.with_limits(plan.metric_limits));
    let sql = until_interrupted(&stop, open_datasources(&plan, vus_max)).await.ok_or(Error::Interrupted)??;
    let (http, memory, declared) = (plan.http.clone(), plan.vu_memory, Declared { data, sql: sql.clone() });
    let run = RunShared::new(http, plan.log_level, memory, declared, sink.clone(), plan.live, stop.clone())?;
    // From here on, every ending writes the outputs.
    let export = plan.summary_export.clone().map(|path| (path, plan.summary_export_format));
    let outputs = Outputs::start(&plan.outputs, export, sink.clone())?;
    let mut failure: Option<Error> = None;

    // Setup once per plugin, on an instance kept for its teardown.
    let factories: Vec<VuFactory> = plan
        .scenarios
        .iter()
        .zip(&resolved)
        .map(|(scenario, (name, _))| VuFactory {
            engine: plugins.engine.clone(),
            shared: ScenarioShared::new(&run, name, &scenario.env, &scenario.tags, &scenario.grants),
            limits: plan.limits,
        })
        .collect();
    let mut setups: Vec<(PathBuf, Instance, Arc<str>)> = Vec::new();
    for ((scenario, (_, code)), factory) in plan.scenarios.iter().zip(&resolved).zip(&factories) {
        if setups.iter().any(|(path, _, _)| *path == scenario.plugin) {
            continue;
        }
        let setup = async {
            let mut vu = factory.instantiate(&code.plugin, 0).await?;
            let data = vu.setup().await?;
            Ok::<_, VuError>((vu, data))
        };
        match until_interrupted(&stop, setup).await {
            Some(Ok((vu, data))) => setups.push((scenario.plugin.clone(), vu, data.into())),
            Some(Err(err)) => {
                // A setup that aborted the test threw to stop: that is no failure.
                if run.abort.reason().is_none() {
                    failure = Some(Error::Setup(err));
                }
                break;
            }
            None => break,
        }
    }

    // The init phase: every scenario's initial VUs, before the clock starts.
    let changes = Arc::new(ChangeLog::default());
    let planned_ids: u32 = plan.scenarios.iter().map(|s| s.executor.max_vus()).sum();
    let live = Arc::new(Live::new(TestClock::new(), capacity - vus_max, planned_ids + 1));
    let mut contexts = Vec::new();
    let mut targets = Vec::new();
    let mut first_id = 1;
    for ((scenario, (name, code)), factory) in plan.scenarios.iter().zip(resolved).zip(factories) {
        changes.version(&name, &scenario.plugin.display().to_string(), &code.plugin.version, "start");
        let setup_data = setups.iter().find(|(path, _, _)| *path == scenario.plugin).map(|(_, _, data)| data.clone());
        let setup_data = setup_data.unwrap_or_default();
        let (executor, live) = (scenario.executor.clone(), live.clone());
        let ctx = Arc::new(ExecCtx::new(factory, code, setup_data, scenario.think_time, first_id, executor, live));
        contexts.push(ctx.clone());
        targets.push(Target { name, plan: scenario.clone(), ctx });
        first_id += scenario.executor.max_vus();
    }
    let names: Vec<String> = targets.iter().map(|t| t.name.clone()).collect();
    let reloader = Arc::new(Reloader::new(plugins.engine.clone(), targets, changes.clone()));
    let ending = CancellationToken::new();
    let steering = Steering {
        contexts: names.into_iter().zip(contexts.iter().cloned()).collect(),
        live: live.clone(),
        reloader: reloader.clone(),
        changes: changes.clone(),
        vus_max,
        ending: ending.clone(),
    };
    let control = control.map(|bound| ControlServer::serve(bound, steering));
    let init_start = Instant::now();
    let mut initial = Vec::new();
    if failure.is_none() && !stop.is_cancelled() {
        let starting = plan.scenarios.iter().zip(&contexts).map(|(s, ctx)| prepare(&s.executor, ctx, plan.segment));
        if let Some(started) = until_interrupted(&stop, futures_util::future::join_all(starting)).await {
            match started.into_iter().collect::<Result<Vec<_>, _>>() {
                Ok(vus) => initial = vus,
                Err(err) => failure = Some(err.into()),
            }
        }
    }
    let vus_ready = init_start.elapsed();
    let vus_initialised = initial.iter().map(Vec::len).sum::<usize>() as u32;

    let clock = Instant::now();
    live.clock.start(clock);
    changes.start_clock(clock);
    let watching = match plan.watch {
        true => Some(start_watching(&reloader, plan.run_file.clone())?),
        false => None,
    };
    let active: Vec<Arc<ExecCtx>> = contexts.clone();
    let counted = run.clone();
    let aggregate = Arc::new(Mutex::new(Aggregate::default()));
    let watch = Watch {
        sink: sink.clone(),
        aggregate: aggregate.clone(),
        points: outputs.points(),
        progress: Progress::new(plan.progress, goal(&plan)),
        abort_thresholds: plan.thresholds.iter().filter(|t| t.abort_on_fail).cloned().collect(),
        interrupt: stop.clone(),
        vus: Box::new(move || (counted.active_vus(), vus_max + active.iter().map(|ctx| ctx.extra_vus()).sum::<u32>())),
        changes: changes.clone(),
        live: live.clone(),
    };
    let collector =
        Collector::start(watch, clock).map_err(|err| Error::Runtime(format!("cannot start the collector: {err}")))?;
    let mut executors = JoinSet::new();
    let executors_done = CancellationToken::new();
    let mut shaping = None;
    for ((scenario, ctx), vus) in plan.scenarios.iter().zip(&contexts).zip(initial) {
        let stops = Stops::of(&stop);
        // A script's load shape ticks on its setup instance, which it gives back for teardown.
        if plan.shape
            && let Some((path, setup, data)) = setups.pop()
        {
            let (grace, capacity) = (scenario.graceful_stop, plan.vus_capacity());
            let shaped = shape::Shaped { ctx: ctx.clone(), stops: stops.clone(), grace, capacity };
            shaping = Some((path, tokio::spawn(shape::drive(setup, shaped, executors_done.clone())), data));
        }
        let (executor, ctx) = (scenario.executor.clone(), ctx.clone());
        let (segment, start, grace) = (plan.segment, scenario.start_time, scenario.graceful_stop);
        executors.spawn(async move { run_executor(&executor, ctx, vus, segment, start, grace, stops).await });
    }
    while let Some(joined) = executors.join_next().await {
        let outcome = joined.map_err(|err| Error::Runtime(format!("an executor stopped: {err}")));
        if let Err(err) = outcome.and_then(|ran| ran.map_err(Error::from)) {
            failure.get_or_insert(err);
            stop.cancel();
        }
    }
    executors_done.cancel();
    if let Some((path, driving, data)) = shaping {
        match driving.await {
            Ok((setup, failed)) => {
                setups.push((path, setup, data));
                if let Some(err) = failed {
                    failure.get_or_insert(Error::Script(err));
                }
            }
            Err(err) => {
                failure.get_or_insert(Error::Runtime(format!("the load shape stopped: {err}")));
            }
        }
    }
    // Test time: rates and thresholds leave paused time out.
    let running = live.clock.now();
    // Requests of cut iterations finish recording before anything is drained for the last time.
    run.http.settled(std::time::Duration::from_secs(1)).await;
    ending.cancel();
    drop(control);
    if let Some(watching) = watching {
        watching.abort();
    }
    reloader.close().await;
    // As k6's, teardown runs after an interrupt too (a second Ctrl-C ends the process).
    for (path, vu, data) in setups {
        match teardown(&contexts, &plan, &path, vu, &data).await {
            Err(err @ VuError::Timeout { .. }) => {
                failure.get_or_insert(Error::Teardown(err));
            }
            Err(err) => run.errors.report(&err.to_string()),
            Ok(()) => {}
        }
    }
    // The database sees its sessions end; a connection a stuck VU still
    // holds does not keep the run from ending.
    let _ = tokio::time::timeout(Duration::from_secs(5), sql.close()).await;
    let aborted_by = collector.finish().unwrap_or_else(|()| {
        failure.get_or_insert(Error::Runtime("the metrics collector stopped".into()));
        None
    });
    // The last drain, after teardown: its samples count too.
    let mut aggregate = std::mem::take(&mut *collector::lock(&aggregate));
    outputs.points().send(sink.drain_into(&mut aggregate));
    let report = Report {
        scenarios: plan
            .scenarios
            .iter()
            .zip(&contexts)
            .map(|(scenario, ctx)| ScenarioReport {
                name: ctx.factory.shared.name.to_string(),
                executor: scenario.executor.name(),
                description: match plan.shape {
                    true => format!(
                        "up to {} VUs as the script's load shape sets them, for at most {}",
                        plan.vus_capacity(),
                        humantime::format_duration(scenario.executor.duration())
                    ),
                    false => scenario.executor.describe(),
                },
                vus_max: if plan.shape { plan.vus_capacity() } else { plan.scenario_vus(scenario) },
                grants: scenario.grants.describe(),
            })
            .collect(),
        segment: plan.segment,
        vus_max: if plan.shape { plan.vus_capacity() } else { vus_max },
        elapsed: running,
        errors: run.errors.snapshot(),
        denials: sink.denials().snapshot(),
        versions: changes
            .versions()
            .into_iter()
            .map(|mut version| {
                version.count_iterations(&aggregate);
                version
            })
            .collect(),
        changes: changes.changes(),
        vus_ready,
        vus_initialised,
        thresholds: evaluate(&plan.thresholds, &aggregate, &sink.registry, running),
        aggregate,
        aborted: match (run.abort.reason(), &aborted_by) {
            (Some(reason), _) => Some(TestAbort::describe(reason)),
            (None, Some(threshold)) => Some(format!("aborted: threshold {threshold} failed (abortOnFail)")),
            (None, None) => None,
        },
    };
    // k6's handleSummary: a script's own report replaces the text summary.
    let handled = scripts_summary(&plan, &contexts, &report, &sink.registry).await;
    if let Err(err) = outputs.finish(&report, &sink.registry, handled.is_none()) {
        failure.get_or_insert(err);
    }
    if let Some(Err(err)) = handled.map(|outputs| write_handled(&outputs)) {
        failure.get_or_insert(err);
    }
    let interrupted = interrupt.is_cancelled();
    let test_aborted = run.abort.reason().map(String::from);
    Ok(Finished { report, sink, aborted_by, test_aborted, interrupted, failure })
}

/// Watches the run's plugin files (and its run file, to say that it is not
/// applied) and reloads each plugin that changes, until aborted.
fn start_watching(reloader: &Arc<Reloader>, run_file: Option<PathBuf>) -> Result<tokio::task::JoinHandle<()>, Error> {
    let mut files = reloader.files();
    files.extend(run_file.clone());
    let watcher = FileWatcher::start(&files).map_err(|err| Error::Runtime(err.to_string()))?;
    eprintln!("watching {} for changes", files.iter().map(|f| f.display().to_string()).collect::<Vec<_>>().join(", "));
    let reloader = reloader.clone();
    Ok(tokio::spawn(async move { reloader.watch(watcher, run_file).await }))
}

/// Tears down what the setup instance `vu` of the plugin at `path` set up,
/// on the version the plugin's scenarios run at the end: a fresh instance
/// when a reload replaced the setup's version.
async fn teardown(
    contexts: &[Arc<ExecCtx>],
    plan: &Plan,
    path: &std::path::Path,
    vu: Instance,
    data: &str,
) -> Result<(), VuError> {
    let ctx = plan.scenarios.iter().zip(contexts).find(|(scenario, _)| scenario.plugin == path).map(|(_, ctx)| ctx);
    let mut vu = match ctx {
        Some(ctx) if ctx.code().plugin.version.as_ref() != vu.version() => {
            drop(vu);
            ctx.factory.instantiate(&ctx.code().plugin, 0).await?
        }
        _ => vu,
    };
    vu.teardown(data).await
}

/// What the run's scripts return from k6's `handleSummary`, each asked
/// once, after teardown, on a fresh instance of the version its scenarios
/// ended on: `None` when no script has one, or when one failed (its error
/// is shown, and the text summary follows instead).
async fn scripts_summary(
    plan: &Plan,
    contexts: &[Arc<ExecCtx>],
    report: &Report,
    registry: &Registry,
) -> Option<Vec<(String, String)>> {
    let mut asked: Vec<&std::path::Path> = Vec::new();
    let mut data = None;
    let mut handled: Option<Vec<(String, String)>> = None;
    for (scenario, ctx) in plan.scenarios.iter().zip(contexts) {
        let code = ctx.code();
        if code.plugin.script.is_none() || asked.contains(&scenario.plugin.as_path()) {
            continue;
        }
        asked.push(&scenario.plugin);
        let data: &String = data.get_or_insert_with(|| handle_summary_data(report, registry).to_string());
        let outcome = async { ctx.factory.instantiate(&code.plugin, 0).await?.handle_summary(data).await };
        match outcome.await {
            Ok(Some(outputs)) => handled.get_or_insert_with(Vec::new).extend(outputs),
            Ok(None) => {}
            Err(err) => {
                eprintln!("{err}; the default summary follows");
                return None;
            }
        }
    }
    handled
}

/// The plan's datasources, each pool checked unless it is lazy (a lazy
/// one that does not answer is a warning).
async fn open_datasources(plan: &Plan, vus: u32) -> Result<Arc<Datasources>, Error> {
    let (datasources, warnings) = Datasources::open(&plan.datasources, vus).await?;
    for warning in warnings {
        eprintln!("warning: {warning}");
    }
    Ok(Arc::new(datasources))
}

/// The plan's data sets and the shared arrays its script built (taken
/// from the plan), loaded off the async threads.
async fn load_data(plan: &Plan) -> Result<Arc<DataSets>, Error> {
    let sources = plan.data.clone();
    let shared = std::mem::take(&mut *plan.shared_arrays.lock().unwrap_or_else(|poison| poison.into_inner()));
    let load = tokio::task::spawn_blocking(move || {
        let mut sets = DataSets::load(&sources)?;
        for (name, items) in shared {
            sets.add_shared(name, &items)?;
        }
        Ok::<_, crate::caps::DataError>(sets)
    });
    let sets =
        load.await.map_err(|err| Error::Runtime(format!("data loading stopped: {err}")))?.map_err(ConfigError::from)?;
    Ok(Arc::new(sets))
}

/// Runs `work` unless `interrupt` comes first (then `None`, and `work` is dropped).
async fn until_interrupted<T>(interrupt: &CancellationToken, work: impl Future<Output = T>) -> Option<T> {
    tokio::select! {
        biased;
        _ = interrupt.cancelled() => None,
        done = work => Some(done),
    }
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
