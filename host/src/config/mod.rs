//! Run file and command-line flags → one validated [`Plan`]. Every value is
//! checked here, before anything starts, and each error names the flag, or
//! the file, line and key. Nothing here loads plugins or opens sockets.
//!
//! Layering: the run file (`vespid.toml`), then the flags, which override
//! it. Without a run file the flags alone describe one scenario, with k6's
//! rules for `--vus`, `--duration`, `--iterations` and `--stage`.

mod bundled;
pub use self::bundled::{Bundled, LimitsSet, check_bundle_limits, settle_bundle_asks};
mod data;
mod datasources;
mod file;
mod k6;
mod options;
mod overrides;
mod permissions;
mod scenario;
mod shortcuts;
mod values;

use std::path::{Path, PathBuf};
use std::time::Duration;

use self::file::RunFile;
pub use self::file::Source;
use self::file::ThresholdSpec;
pub use self::k6::options_json;
pub use self::options::{ControlOptions, DEFAULT_CONTROL_ADDRESS, parse_control_address};
use self::options::{control_options, http_options, metric_limits};
pub use self::overrides::Overrides;
use self::scenario::{duration, existing_plugin, pairs, scenario_from_file};
use self::shortcuts::{Shortcuts, shortcut_executor};
use self::values::Layered;
use self::values::{check_vu_memory, parse_rate, per_second};
pub use self::values::{parse_duration, parse_key_value, parse_size, parse_spawn_rate, parse_stage};
use crate::caps::grants::Grants;
use crate::caps::{DataError, DataSource, DatasourceSpec, HttpDebug, HttpOptions, LogLevel, SharedArrays};
use crate::exec::{CallLimits, ExecutorPlan, Ramp, Segment, Stage, ThinkTime};
use crate::metrics::{MetricLimits, Threshold};
use crate::output::{ExportFormat, OutputSpec};

/// Default cap on a VU's linear memory.
pub const DEFAULT_VU_MEMORY: usize = 64 << 20;
/// The most VUs one process runs, over all scenarios.
pub const MAX_VUS: u32 = 1_000_000;
/// k6's default maximum duration of the iteration-count executors.
const DEFAULT_MAX_DURATION: Duration = Duration::from_secs(600);
/// k6's default gracefulStop and gracefulRampDown.
const DEFAULT_GRACE: Duration = Duration::from_secs(30);

/// The most users a load shape may ask for when neither `-u` nor
/// `--max-vus` says.
pub const SHAPE_USERS: u32 = 100;

/// How long a load shape's run lasts at most without `-t`.
const SHAPE_RUN: Duration = Duration::from_secs(24 * 3600);

/// Why the run's configuration is invalid; each names the flag, or the file and key.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("plugin file {0:?} does not exist")]
    PluginMissing(PathBuf),
    #[error("{0:?} is not a regular file")]
    NotAFile(PathBuf),
    #[error("{vus} VUs in all ({scenarios}): one process runs at most {MAX_VUS}; spread the test with --segment")]
    TooManyVus { vus: u64, scenarios: String },
    #[error("--{flag}: {message}")]
    Flag { flag: &'static str, message: String },
    #[error("--summary-export {path:?}: directory {dir:?} does not exist")]
    ExportDir { path: PathBuf, dir: PathBuf },
    #[error("--ca-file {0:?} does not exist")]
    CaFileMissing(PathBuf),
    #[error("--out {spec}: directory {dir:?} does not exist")]
    OutputDir { spec: OutputSpec, dir: PathBuf },
    #[error("two outputs write to {0:?}")]
    SameOutputFile(PathBuf),
    #[error("cannot read run file {path:?}: {reason}")]
    RunFileUnreadable { path: PathBuf, reason: String },
    #[error("{}{}{}: {message}", path.display(), line.map(|l| format!(":{l}")).unwrap_or_default(), key.as_ref().map(|k| format!(": {k}")).unwrap_or_default())]
    RunFile { path: PathBuf, line: Option<usize>, key: Option<String>, message: String },
    #[error("scenario {scenario:?}: {message}")]
    Scenario { scenario: String, message: String },
    #[error("--data {name}: {source}")]
    DataFlag { name: String, source: DataError },
    #[error("data set {0:?} is declared twice")]
    DataTwice(String),
    /// A data file whose content is invalid, found when the run loads it.
    #[error(transparent)]
    Data(#[from] DataError),
    /// A bundle to run could not be read or trusted.
    #[error(transparent)]
    Bundle(#[from] crate::bundle::BundleError),
}

/// Everything a run needs, validated.
#[derive(Debug, Clone)]
pub struct Plan {
    pub scenarios: Vec<ScenarioPlan>,
    /// k6 thresholds, in the order of the run file.
    pub thresholds: Vec<Threshold>,
    /// This process's share of the test (`--segment`).
    pub segment: Segment,
    /// Shared data sets (the run file's `[data.NAME]`, then `--data`), loaded when the run starts.
    pub data: Vec<DataSource>,
    /// SQL datasources (the run file's `[datasources.NAME]`, then `--datasource`), opened when the run starts.
    pub datasources: Vec<DatasourceSpec>,
    pub http: HttpOptions,
    /// What each call into a plugin may take.
    pub limits: CallLimits,
    /// Largest linear memory of one VU, in bytes.
    pub vu_memory: usize,
    /// The limits a flag or the run file set (a bundle's ask never overrides them).
    pub limits_set: LimitsSet,
    pub log_level: LogLevel,
    pub summary_export: Option<PathBuf>,
    /// The summary export's layout: Vespid's or k6's `--summary-export`.
    pub summary_export_format: ExportFormat,
    /// `--out` outputs (the run file's `out`, then the flags'), in order.
    pub outputs: Vec<OutputSpec>,
    pub progress: bool,
    pub compile_cache: bool,
    /// Reload plugins when their files change (`--watch`).
    pub watch: bool,
    /// The most VUs live control may scale this process to (at least the plan's).
    pub vus_capacity: u32,
    pub control: ControlOptions,
    /// Print each check and failed iteration as it happens (`vespid dev`; no flag of `run`).
    pub live: bool,
    /// The run file the plan came from, if any.
    pub run_file: Option<PathBuf>,
    /// Caps on custom metrics and series.
    pub metric_limits: MetricLimits,
    /// Arrays a script shared while it loaded (k6's `SharedArray`), which
    /// become data sets when the run starts.
    pub shared_arrays: SharedArrays,
    /// The script's load shape (Locust's `LoadTestShape`) sets the one
    /// scenario's users as the run goes (run/shape.rs).
    pub shape: bool,
}

/// One scenario: a plugin run by an executor.
#[derive(Debug, Clone, PartialEq)]
pub struct ScenarioPlan {
    /// `None`: the plugin's own name (a run without a run file).
    pub name: Option<String>,
    pub plugin: PathBuf,
    pub executor: ExecutorPlan,
    /// Delay from the start of the test (k6's startTime).
    pub start_time: Duration,
    pub graceful_stop: Duration,
    /// The run's env, then the scenario's, then `--env` (later wins).
    pub env: Vec<(String, String)>,
    /// The run's tags, then the scenario's, then `--tag`.
    pub tags: Vec<(String, String)>,
    pub tasks: TaskChoice,
    pub think_time: ThinkTime,
    /// What its plugin may reach.
    pub grants: Grants,
    /// Its plugin came from a bundle: it runs deny-by-default.
    pub bundled: Option<Bundled>,
}

impl ScenarioPlan {
    /// The scenario's name, or its plugin's path when the plan names none.
    pub fn label(&self) -> String {
        self.name.clone().unwrap_or_else(|| self.plugin.display().to_string())
    }
}

/// Which of the plugin's tasks a scenario runs.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum TaskChoice {
    /// Every task, with the plugin's weights.
    #[default]
    All,
    /// These tasks, with the plugin's weights.
    Only(Vec<String>),
    /// These tasks with these weights.
    Weights(Vec<(String, u32)>),
}

impl TaskChoice {
    /// The tasks to pick from, given the plugin's `(name, weight)` list;
    /// a name the plugin does not have is an error.
    pub fn resolve(&self, declared: &[(String, u32)]) -> Result<Vec<(String, u32)>, String> {
        for (index, (name, _)) in declared.iter().enumerate() {
            if name.is_empty() {
                return Err("the plugin declares a task with an empty name".into());
            }
            if declared[..index].iter().any(|(earlier, _)| earlier == name) {
                return Err(format!("the plugin declares task {name:?} twice"));
            }
        }
        let declared: Vec<(String, u32)> =
            if declared.is_empty() { vec![("default".to_string(), 1)] } else { declared.to_vec() };
        let find = |name: &str| {
            declared.iter().find(|(n, _)| n == name).cloned().ok_or_else(|| {
                let known: Vec<&str> = declared.iter().map(|(n, _)| n.as_str()).collect();
                format!("task {name:?} is not one of the plugin's tasks ({})", known.join(", "))
            })
        };
        let tasks: Vec<(String, u32)> = match self {
            TaskChoice::All => declared.clone(),
            TaskChoice::Only(names) => names.iter().map(|n| find(n)).collect::<Result<_, _>>()?,
            TaskChoice::Weights(weights) => {
                weights.iter().map(|(n, w)| find(n).map(|(n, _)| (n, *w))).collect::<Result<_, _>>()?
            }
        };
        if tasks.iter().all(|(_, weight)| *weight == 0) {
            let whose = if *self == TaskChoice::All { "the plugin declares" } else { "the scenario picks" };
            return Err(format!("{whose} only tasks of weight 0: no task would ever run"));
        }
        Ok(tasks)
    }
}

impl Plan {
    /// Validates `vespid run`: a plugin with flags, or a run file under flags.
    pub fn from_args(args: &Overrides) -> Result<Plan, ConfigError> {
        if is_run_file(&args.target) {
            let source = Source::read(&args.target)?;
            Plan::from_file(&source, args)
        } else {
            Plan::from_plugin(args)
        }
    }

    /// The plan of a bundle run (the run file made for it, `run_file`),
    /// and its [`settle_bundle_asks`].
    pub fn from_bundle(args: &Overrides, run_file: &Path) -> Result<(Plan, Vec<String>), ConfigError> {
        let mut plan = Plan::from_file(&Source::read(run_file)?, args)?;
        // The bundle is not a file the user edits: nothing to watch.
        plan.run_file = None;
        let notes = settle_bundle_asks(&mut plan, args.grant_requested)?;
        Ok((plan, notes))
    }

    /// A script (`args.target`) with its k6 `options` (as JSON) under the
    /// flags, and the warnings about options vespid ignores.
    pub fn from_script(args: &Overrides, options_json: &str) -> Result<(Plan, Vec<String>), ConfigError> {
        let shortcut_flags = Shortcuts::from_args(args).first_set().is_some();
        let (source, warnings) = k6::run_file(&args.target, options_json, shortcut_flags)?;
        let mut plan = Plan::from_file(&source, args)?;
        // The script is the plugin; it has no run file of its own to watch.
        plan.run_file = None;
        if k6::has_load_shape(options_json) {
            plan.follow_shape(args)?;
        }
        Ok((plan, warnings))
    }

    /// A script whose load shape sets its users (Locust's `LoadTestShape`):
    /// its scenario starts with none, and the shape's ticks scale it (at
    /// most to `-u` or `--max-vus`, else [`SHAPE_USERS`]) until `-t`, else
    /// [`SHAPE_RUN`], or until the shape ends the test.
    fn follow_shape(&mut self, args: &Overrides) -> Result<(), ConfigError> {
        let conflicting = [
            ("iterations", args.iterations.is_some()),
            ("stage", !args.stages.is_empty()),
            ("spawn-rate", args.spawn_rate.is_some()),
        ];
        if let Some((flag, _)) = conflicting.into_iter().find(|(_, given)| *given) {
            let message = "the locustfile's LoadTestShape sets the users; give -t (and -u as their cap) only".into();
            return Err(ConfigError::Flag { flag, message });
        }
        let duration = args.duration.unwrap_or(SHAPE_RUN);
        let [scenario] = self.scenarios.as_mut_slice() else {
            return Err(ConfigError::Flag { flag: "scenario", message: "a load shape drives one scenario".into() });
        };
        let ramp = Ramp { start: 0.0, stages: vec![Stage { duration, target: 0.0 }] };
        scenario.executor = ExecutorPlan::RampingVus { ramp, graceful_ramp_down: scenario.graceful_stop };
        self.vus_capacity = args.vus.max(args.max_vus).unwrap_or(SHAPE_USERS).min(MAX_VUS);
        self.shape = true;
        Ok(())
    }

    /// A plugin and flags: one scenario.
    fn from_plugin(args: &Overrides) -> Result<Plan, ConfigError> {
        existing_file(&args.target)?;
        let executor = shortcut_executor(&Shortcuts::from_args(args))?;
        let scenario = ScenarioPlan {
            name: args.scenario.clone(),
            plugin: args.target.clone(),
            executor,
            start_time: Duration::ZERO,
            graceful_stop: args.graceful_stop.unwrap_or(DEFAULT_GRACE),
            env: args.env.clone(),
            tags: args.tags.clone(),
            tasks: TaskChoice::All,
            think_time: ThinkTime::None,
            grants: Grants::default(),
            bundled: None,
        };
        Plan::assemble(vec![scenario], args, &RunFile::default(), None)
    }

    /// A run file under flags.
    pub fn from_file(source: &Source, args: &Overrides) -> Result<Plan, ConfigError> {
        let file = source.parse()?;
        let dir = source.dir();
        if args.scenario.is_some() {
            return Err(ConfigError::Flag {
                flag: "scenario",
                message: "names the scenario of a plugin run; a run file names its scenarios".into(),
            });
        }
        let from_flags = Shortcuts::from_args(args);
        let in_file = Shortcuts::from_file(source, &file)?;
        let mut scenarios = Vec::new();
        if file.scenarios.is_empty() {
            let plugin = file.plugin.as_ref().ok_or_else(|| {
                source.error(&["plugin"], "missing: name the plugin, or define [scenarios.NAME] tables")
            })?;
            scenarios.push(ScenarioPlan {
                name: None,
                plugin: existing_plugin(source, &["plugin"], &dir.join(plugin))?,
                executor: shortcut_executor(&in_file.overridden_by(&from_flags))?,
                start_time: Duration::ZERO,
                graceful_stop: DEFAULT_GRACE,
                env: pairs(&file.env),
                tags: pairs(&file.tags),
                tasks: TaskChoice::All,
                think_time: ThinkTime::None,
                grants: Grants::default(),
                bundled: None,
            });
        } else {
            if let Some(key) = in_file.first_set() {
                return Err(source.error(
                    &[key],
                    "k6's shortcut options and [scenarios] exclude each other; move it into a scenario",
                ));
            }
            for (name, spec) in &file.scenarios {
                scenarios.push(scenario_from_file(source, &file, name, spec)?);
            }
            if from_flags.first_set().is_some() {
                let [only] = scenarios.as_mut_slice() else {
                    return Err(ConfigError::Flag {
                        flag: from_flags.first_set().expect("checked"),
                        message: format!(
                            "overrides the executor of a run file with one scenario; this one has {}",
                            scenarios.len()
                        ),
                    });
                };
                only.executor = shortcut_executor(&from_flags)?;
                only.think_time = ThinkTime::None;
            }
        }
        for scenario in &mut scenarios {
            scenario.env.extend(args.env.iter().cloned());
            scenario.tags.extend(args.tags.iter().cloned());
            if let Some(grace) = args.graceful_stop {
                scenario.graceful_stop = grace;
            }
        }
        Plan::assemble(scenarios, args, &file, Some(source))
    }

    /// The run-wide options: flags over the file.
    fn assemble(
        mut scenarios: Vec<ScenarioPlan>,
        args: &Overrides,
        file: &RunFile,
        source: Option<&Source>,
    ) -> Result<Plan, ConfigError> {
        let dir = source.map_or(Path::new("."), Source::dir);
        let option = |key: &'static str| Layered { key, source };
        let defaults = CallLimits::default();
        let limits = CallLimits {
            iteration_cpu: option("iteration-cpu-limit").duration(
                args.iteration_cpu_limit,
                file.iteration_cpu_limit.as_deref(),
                defaults.iteration_cpu,
            )?,
            setup_timeout: option("setup-timeout").duration(
                args.setup_timeout,
                file.setup_timeout.as_deref(),
                defaults.setup_timeout,
            )?,
            teardown_timeout: option("teardown-timeout").duration(
                args.teardown_timeout,
                file.teardown_timeout.as_deref(),
                defaults.teardown_timeout,
            )?,
        };
        let vu_memory = option("vu-memory-limit").size(
            args.vu_memory_limit,
            file.vu_memory_limit.as_deref(),
            DEFAULT_VU_MEMORY as u64,
            check_vu_memory,
        )?;
        let summary_export = args.summary_export.clone().or_else(|| file.summary_export.as_ref().map(|p| dir.join(p)));
        if let Some(path) = &summary_export
            && let Some(dir) = missing_parent_dir(path)
        {
            return Err(ConfigError::ExportDir { path: path.clone(), dir });
        }
        let mut outputs = Vec::new();
        for text in &file.out {
            let spec = OutputSpec::parse(text).map_err(|message| match source {
                Some(source) => source.error(&["out"], message),
                None => ConfigError::Flag { flag: "out", message },
            })?;
            outputs.push(spec.relative_to(dir));
        }
        outputs.extend(args.outputs.iter().cloned());
        check_outputs(&outputs, summary_export.as_deref())?;
        let summary_export_format = Layered { key: "summary-export-format", source }.parsed(
            args.summary_export_format,
            file.summary_export_format.as_deref(),
            ExportFormat::default(),
        )?;
        if let Some(ca) = &args.ca_file
            && !ca.is_file()
        {
            return Err(ConfigError::CaFileMissing(ca.clone()));
        }
        let vus: u64 = scenarios.iter().map(|s| u64::from(s.executor.max_vus())).sum();
        if vus > u64::from(MAX_VUS) {
            let names: Vec<String> = scenarios.iter().map(ScenarioPlan::label).collect();
            return Err(ConfigError::TooManyVus { vus, scenarios: names.join(", ") });
        }
        if let Some(max) = args.max_vus
            && u64::from(max) < vus
        {
            return Err(ConfigError::Flag {
                flag: "max-vus",
                message: format!("{max} is below the {vus} VUs the scenarios plan; it caps live scale-ups"),
            });
        }
        if args.max_vus.is_some_and(|max| max > MAX_VUS) {
            return Err(ConfigError::Flag {
                flag: "max-vus",
                message: format!("one process runs at most {MAX_VUS} VUs"),
            });
        }
        let vus_capacity = args.max_vus.unwrap_or(0);
        let segment = args.segment.unwrap_or_default();
        for scenario in &scenarios {
            let executor = &scenario.executor;
            let has_work = executor.fixed_iterations(segment).is_none_or(|n| n > 0);
            if segment.share(u64::from(executor.max_vus())) == 0 && has_work && segment != Segment::WHOLE {
                let name = scenario.label();
                return Err(ConfigError::Flag {
                    flag: "segment",
                    message: format!(
                        "{segment} of scenario {name:?} gets none of its {} VUs but has work to do; use fewer segments or more VUs",
                        executor.max_vus()
                    ),
                });
            }
        }
        let http = http_options(args, file, source)?;
        // The live progress line would redraw over the requests --http-debug prints.
        let progress = !args.quiet && http.debug == HttpDebug::Off;
        let metric_limits = metric_limits(args, file, source)?;
        let thresholds = match source {
            Some(source) => thresholds(source, file)?,
            None => Vec::new(),
        };
        let datasources = datasources::datasources(args, &file.datasources, source)?;
        let bundled = bundled::scenario_bundles(&mut scenarios, args)?;
        let data = data::data_sets(source.map(|source| (source, file)), args, bundled)?;
        let data_names: Vec<&str> = data.iter().map(|d| d.name.as_str()).collect();
        let datasource_names: Vec<&str> = datasources.iter().map(|d| d.name.as_str()).collect();
        permissions::grant(&mut scenarios, file, source, args, (&data_names, &datasource_names))?;
        Ok(Plan {
            scenarios,
            thresholds,
            segment,
            data,
            datasources,
            http,
            limits,
            vu_memory: vu_memory as usize,
            limits_set: LimitsSet::of(args, file),
            log_level: args.log_level.unwrap_or(LogLevel::Info),
            summary_export,
            summary_export_format,
            outputs,
            progress,
            compile_cache: !args.no_compile_cache,
            watch: args.watch,
            vus_capacity,
            control: control_options(args)?,
            live: false,
            run_file: source.map(|_| args.target.clone()),
            metric_limits,
            shared_arrays: SharedArrays::default(),
            shape: false,
        })
    }

    /// The most VUs this process runs at once, over every scenario.
    pub fn max_vus(&self) -> u32 {
        self.scenarios.iter().map(|s| self.scenario_vus(s)).sum()
    }

    /// The most VUs this process may hold: the plan's, or more for live scale-ups.
    pub fn vus_capacity(&self) -> u32 {
        self.vus_capacity.max(self.max_vus())
    }

    /// The most VUs `scenario` runs in this process's segment.
    pub fn scenario_vus(&self, scenario: &ScenarioPlan) -> u32 {
        self.segment.share(u64::from(scenario.executor.max_vus())) as u32
    }
}

/// `path` exists and is a regular file (not a directory or a device such as `/dev/zero`).
pub fn existing_file(path: &Path) -> Result<(), ConfigError> {
    match std::fs::metadata(path) {
        Ok(meta) if meta.is_file() => Ok(()),
        Ok(_) => Err(ConfigError::NotAFile(path.to_path_buf())),
        Err(_) => Err(ConfigError::PluginMissing(path.to_path_buf())),
    }
}

/// Whether `vespid run PATH` got a run file rather than a plugin.
pub fn is_run_file(path: &Path) -> bool {
    path.extension().is_some_and(|ext| ext == "toml")
}

/// The `[thresholds]` table: every expression parsed, k6's long form included.
fn thresholds(source: &Source, file: &RunFile) -> Result<Vec<Threshold>, ConfigError> {
    let mut all = Vec::new();
    for (key, specs) in &file.thresholds {
        let at = ["thresholds", key.as_str()];
        if specs.is_empty() {
            return Err(source.error(&at, "lists no threshold"));
        }
        for spec in specs {
            let (expression, abort_on_fail, delay) = match spec {
                ThresholdSpec::Expression(text) => (text, false, None),
                ThresholdSpec::Long(long) => (&long.threshold, long.abort_on_fail, long.delay_abort_eval.as_deref()),
            };
            let mut threshold = Threshold::parse(key, expression).map_err(|err| source.error(&at, err))?;
            threshold.abort_on_fail = abort_on_fail;
            if let Some(text) = delay {
                threshold.delay_abort_eval = duration(source, &at, text, true)?;
            }
            all.push(threshold);
        }
    }
    Ok(all)
}

/// The `[data.NAME]` tables, paths relative to the run file.
/// The directory `path` would be written in, when it does not exist.
fn missing_parent_dir(path: &Path) -> Option<PathBuf> {
    path.parent().filter(|dir| !dir.as_os_str().is_empty() && !dir.is_dir()).map(Path::to_path_buf)
}

/// Each output's directory exists and no two outputs (the summary export
/// included) write one file.
fn check_outputs(outputs: &[OutputSpec], summary_export: Option<&Path>) -> Result<(), ConfigError> {
    let mut files = Vec::new();
    for spec in outputs {
        if let Some(dir) = missing_parent_dir(spec.path()) {
            return Err(ConfigError::OutputDir { spec: spec.clone(), dir });
        }
    }
    for path in outputs.iter().map(OutputSpec::path).chain(summary_export) {
        let file = same_file_key(path);
        if files.contains(&file) {
            return Err(ConfigError::SameOutputFile(path.to_path_buf()));
        }
        files.push(file);
    }
    Ok(())
}

/// The path with its (existing) directory resolved, so `a.json` and
/// `./a.json` compare equal although the file does not exist yet.
fn same_file_key(path: &Path) -> PathBuf {
    let dir = match path.parent() {
        Some(dir) if !dir.as_os_str().is_empty() => dir,
        _ => Path::new("."),
    };
    match (dir.canonicalize(), path.file_name()) {
        (Ok(dir), Some(name)) => dir.join(name),
        _ => path.to_path_buf(),
    }
}

#[cfg(test)]
mod tests;
