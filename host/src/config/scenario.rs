//! One `[scenarios.NAME]` table of a run file → a validated
//! [`ScenarioPlan`]: the executor with k6's defaults and checks, tasks,
//! think time, env and tags, each error naming its file, line and key.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

use super::file::{RateSpec, ScenarioSpec, StageSpec, TasksSpec, ThinkSpec};
use super::values::MAX_RATE;
use super::{ConfigError, DEFAULT_GRACE, DEFAULT_MAX_DURATION, RunFile, ScenarioPlan, Source, TaskChoice};
use super::{parse_duration, parse_rate, per_second};
use crate::exec::{ExecutorPlan, Ramp, Stage, ThinkTime};

/// One `[scenarios.NAME]` table, validated.
pub(super) fn scenario_from_file(
    source: &Source,
    file: &RunFile,
    name: &str,
    spec: &ScenarioSpec,
) -> Result<ScenarioPlan, ConfigError> {
    let key = |option: &'static str| ["scenarios", name, option];
    let plugin = match (&spec.plugin, &file.plugin) {
        (Some(path), _) => existing_plugin(source, &key("plugin"), &source.dir().join(path))?,
        (None, Some(path)) => existing_plugin(source, &["plugin"], &source.dir().join(path))?,
        (None, None) => {
            return Err(source.error(&key("plugin"), "missing: name the scenario's plugin (or a top-level plugin)"));
        }
    };
    let executor = executor_from_file(source, name, spec)?;
    let is_open =
        matches!(executor, ExecutorPlan::ConstantArrivalRate { .. } | ExecutorPlan::RampingArrivalRate { .. });
    let think_time = match &spec.think_time {
        None => ThinkTime::None,
        Some(_) if is_open => {
            return Err(source.error(
                &key("think-time"),
                "applies to looping VUs; an arrival-rate executor paces iterations itself",
            ));
        }
        Some(think) => think_time(source, &key("think-time"), think)?,
    };
    let tasks = match &spec.tasks {
        None => TaskChoice::All,
        Some(TasksSpec::Names(names)) if names.is_empty() => return Err(source.error(&key("tasks"), "names no task")),
        Some(TasksSpec::Names(names)) => TaskChoice::Only(names.clone()),
        Some(TasksSpec::Weights(weights)) => {
            let mut resolved = Vec::new();
            for (task, weight) in weights {
                let weight = u32::try_from(*weight).map_err(|_| {
                    source.error(&key("tasks"), format!("weight of {task:?} must be 0 or more, got {weight}"))
                })?;
                resolved.push((task.clone(), weight));
            }
            if resolved.iter().all(|(_, w)| *w == 0) {
                return Err(source.error(&key("tasks"), "every weight is 0: no task would run"));
            }
            TaskChoice::Weights(resolved)
        }
    };
    let optional_duration = |option: &'static str, value: &Option<String>, default: Duration| {
        value.as_deref().map_or(Ok(default), |text| duration(source, &key(option), text, true))
    };
    let mut env = pairs(&file.env);
    env.extend(pairs(&spec.env));
    let mut tags = pairs(&file.tags);
    tags.extend(pairs(&spec.tags));
    Ok(ScenarioPlan {
        name: Some(name.to_string()),
        plugin,
        executor,
        start_time: optional_duration("start-time", &spec.start_time, Duration::ZERO)?,
        graceful_stop: optional_duration("graceful-stop", &spec.graceful_stop, DEFAULT_GRACE)?,
        env,
        tags,
        tasks,
        think_time,
        grants: crate::caps::grants::Grants::default(),
        bundled: None,
    })
}

/// The executor of a scenario table, with k6's defaults and checks.
fn executor_from_file(source: &Source, name: &str, spec: &ScenarioSpec) -> Result<ExecutorPlan, ConfigError> {
    let key = |option: &'static str| ["scenarios", name, option];
    let kind = spec
        .executor
        .as_deref()
        .ok_or_else(|| source.error(&key("executor"), format!("missing: one of {}", EXECUTORS.join(", "))))?;
    let allowed: &[&str] = match kind {
        "constant-vus" => &["vus", "duration"],
        "ramping-vus" => &["start-vus", "stages", "graceful-ramp-down"],
        "per-vu-iterations" | "shared-iterations" => &["vus", "iterations", "max-duration"],
        "constant-arrival-rate" => &["rate", "time-unit", "duration", "pre-allocated-vus", "max-vus"],
        "ramping-arrival-rate" => &["start-rate", "time-unit", "stages", "pre-allocated-vus", "max-vus"],
        other => {
            return Err(source
                .error(&key("executor"), format!("unknown executor {other:?}; use one of {}", EXECUTORS.join(", "))));
        }
    };
    if let Some(option) = spec.executor_options().into_iter().find(|o| !allowed.contains(o)) {
        return Err(source.error(
            &["scenarios", name, option],
            format!("is not an option of {kind} (its options: {})", allowed.join(", ")),
        ));
    }
    let required = |option: &'static str| source.error(&key(option), format!("missing: {kind} needs it"));
    let vus = |option: &'static str, value: Option<i64>, default: Option<u32>, min: i64| match value {
        Some(n) => count(source, &key(option), n, min),
        None => default.ok_or_else(|| required(option)),
    };
    let time = |option: &'static str, value: &Option<String>, default: Option<Duration>| match value {
        Some(text) => duration(source, &key(option), text, false),
        None => default.ok_or_else(|| required(option)),
    };
    let time_unit = time("time-unit", &spec.time_unit, Some(Duration::from_secs(1)))?;
    let rate = |option: &'static str, value: &Option<RateSpec>, default: Option<f64>| -> Result<f64, ConfigError> {
        match value {
            None => default.ok_or_else(|| required(option)),
            Some(RateSpec::Number(n)) => per_second(*n, time_unit).ok_or_else(|| {
                source.error(
                    &key(option),
                    format!("must be 0 or more iterations per time-unit, at most {MAX_RATE}/s, got {n}"),
                )
            }),
            Some(RateSpec::Text(_)) if spec.time_unit.is_some() => {
                Err(source.error(&key(option), "already names its time unit; drop time-unit or give a number"))
            }
            Some(RateSpec::Text(text)) => parse_rate(text).map_err(|message| source.error(&key(option), message)),
        }
    };
    let arrival_vus = || -> Result<(u32, u32), ConfigError> {
        let pre = vus("pre-allocated-vus", spec.pre_allocated_vus, None, 0)?;
        let max = vus("max-vus", spec.max_vus, Some(pre.max(1)), 1)?;
        if max < pre {
            return Err(source.error(&key("max-vus"), format!("{max} is less than pre-allocated-vus ({pre})")));
        }
        Ok((pre, max))
    };
    Ok(match kind {
        "constant-vus" => ExecutorPlan::ConstantVus {
            vus: vus("vus", spec.vus, Some(1), 1)?,
            duration: time("duration", &spec.duration, None)?,
        },
        "ramping-vus" => {
            let stages = spec.stages.as_deref().ok_or_else(|| required("stages"))?;
            let ramp = Ramp {
                start: f64::from(vus("start-vus", spec.start_vus, Some(1), 0)?),
                stages: vu_stages(source, &key("stages"), stages)?,
            };
            if ramp.peak() < 1.0 {
                return Err(source.error(&key("stages"), "never reaches 1 VU"));
            }
            ExecutorPlan::RampingVus {
                ramp,
                // 0 is allowed, as in k6: iterations are cut as soon as their VU goes.
                graceful_ramp_down: match &spec.graceful_ramp_down {
                    Some(text) => duration(source, &key("graceful-ramp-down"), text, true)?,
                    None => DEFAULT_GRACE,
                },
            }
        }
        "per-vu-iterations" => ExecutorPlan::PerVuIterations {
            vus: vus("vus", spec.vus, Some(1), 1)?,
            iterations: vus("iterations", spec.iterations, Some(1), 1)?,
            max_duration: time("max-duration", &spec.max_duration, Some(DEFAULT_MAX_DURATION))?,
        },
        "shared-iterations" => {
            let users = vus("vus", spec.vus, Some(1), 1)?;
            let iterations = u64::from(vus("iterations", spec.iterations, Some(1), 1)?);
            if iterations < u64::from(users) {
                return Err(source.error(
                    &key("iterations"),
                    format!("{iterations} cannot be shared by {users} VUs; give at least one per VU"),
                ));
            }
            ExecutorPlan::SharedIterations {
                vus: users,
                iterations,
                max_duration: time("max-duration", &spec.max_duration, Some(DEFAULT_MAX_DURATION))?,
            }
        }
        "constant-arrival-rate" => {
            let (pre_allocated_vus, max_vus) = arrival_vus()?;
            let per_second = rate("rate", &spec.rate, None)?;
            if per_second <= 0.0 {
                return Err(source.error(&key("rate"), "must be greater than 0"));
            }
            ExecutorPlan::ConstantArrivalRate {
                per_second,
                duration: time("duration", &spec.duration, None)?,
                pre_allocated_vus,
                max_vus,
            }
        }
        _ => {
            let (pre_allocated_vus, max_vus) = arrival_vus()?;
            let stages = spec.stages.as_deref().ok_or_else(|| required("stages"))?;
            let mut ramp = Ramp { start: rate("start-rate", &spec.start_rate, Some(0.0))?, stages: Vec::new() };
            for (index, stage) in stages.iter().enumerate() {
                let at = ["scenarios", name, "stages"];
                let duration = duration(source, &at, &stage.duration, true)?;
                let target = per_second(stage.target, time_unit).ok_or_else(|| {
                    source.error(
                        &at,
                        format!("stage {}: target must be 0 to {MAX_RATE}/s, got {}", index + 1, stage.target),
                    )
                })?;
                ramp.stages.push(Stage { duration, target });
            }
            if ramp.total().is_zero() {
                return Err(source.error(&key("stages"), "last no time at all"));
            }
            ExecutorPlan::RampingArrivalRate { ramp, pre_allocated_vus, max_vus }
        }
    })
}

/// k6's executors, as the run file names them.
const EXECUTORS: [&str; 6] = [
    "constant-vus",
    "ramping-vus",
    "per-vu-iterations",
    "shared-iterations",
    "constant-arrival-rate",
    "ramping-arrival-rate",
];

/// A whole number of at least `min`.
pub(super) fn count(source: &Source, keys: &[&str], value: i64, min: i64) -> Result<u32, ConfigError> {
    if value < min {
        let what = if min == 0 { "0 or more" } else { "at least 1" };
        return Err(source.error(keys, format!("must be {what}, got {value}")));
    }
    u32::try_from(value).map_err(|_| source.error(keys, format!("{value} is too large")))
}

pub(super) fn duration(source: &Source, keys: &[&str], text: &str, zero_ok: bool) -> Result<Duration, ConfigError> {
    let value = parse_duration(text).map_err(|message| source.error(keys, message))?;
    if value.is_zero() && !zero_ok {
        return Err(source.error(keys, "must be greater than 0"));
    }
    Ok(value)
}

pub(super) fn vu_stages(source: &Source, keys: &[&str], stages: &[StageSpec]) -> Result<Vec<Stage>, ConfigError> {
    if stages.is_empty() {
        return Err(source.error(keys, "needs at least one stage"));
    }
    stages
        .iter()
        .enumerate()
        .map(|(index, stage)| {
            if stage.target < 0.0 || stage.target.fract() != 0.0 || stage.target > f64::from(u32::MAX) {
                return Err(source.error(
                    keys,
                    format!("stage {}: target must be a whole number of VUs, got {}", index + 1, stage.target),
                ));
            }
            Ok(Stage { duration: duration(source, keys, &stage.duration, true)?, target: stage.target })
        })
        .collect()
}

fn think_time(source: &Source, keys: &[&str], spec: &ThinkSpec) -> Result<ThinkTime, ConfigError> {
    let parse = |text: &str| parse_duration(text).map_err(|message| source.error(keys, message));
    let table = match spec {
        ThinkSpec::Constant(text) => return Ok(ThinkTime::Constant(parse(text)?)),
        ThinkSpec::Table(table) => table,
    };
    match (&table.constant, &table.between, &table.pacing) {
        (Some(text), None, None) => Ok(ThinkTime::Constant(parse(text)?)),
        (None, Some(bounds), None) => match bounds.as_slice() {
            [low, high] => {
                let (low, high) = (parse(low)?, parse(high)?);
                if low > high {
                    return Err(source.error(keys, "between: the first bound is larger than the second"));
                }
                Ok(ThinkTime::Between(low, high))
            }
            _ => Err(source.error(keys, "between takes two durations, e.g. [\"1s\", \"3s\"]")),
        },
        (None, None, Some(text)) => Ok(ThinkTime::Pacing(parse(text)?)),
        _ => Err(source.error(keys, "give exactly one of constant, between or pacing")),
    }
}

pub(super) fn existing_plugin(source: &Source, keys: &[&str], path: &Path) -> Result<PathBuf, ConfigError> {
    super::existing_file(path).map_err(|err| source.error(keys, err))?;
    Ok(path.to_path_buf())
}

pub(super) fn pairs(map: &BTreeMap<String, String>) -> Vec<(String, String)> {
    map.iter().map(|(k, v)| (k.clone(), v.clone())).collect()
}
