//! k6's shortcut options (`--vus`, `--duration`, `--iterations`,
//! `--stage`, or the same keys at the top of a run file), Locust's
//! `--spawn-rate`, and k6's rules for the one executor they make. It
//! validates values; it reads no file.

use std::time::Duration;

use super::scenario::{count, duration, vu_stages};
use super::{ConfigError, DEFAULT_GRACE, DEFAULT_MAX_DURATION, Overrides, RunFile, Source};
use crate::exec::{ExecutorPlan, Ramp, Stage};

/// k6's shortcut options, from the flags or the top of a run file.
#[derive(Debug, Default, Clone)]
pub(super) struct Shortcuts {
    vus: Option<u32>,
    duration: Option<Duration>,
    iterations: Option<u64>,
    stages: Vec<Stage>,
    spawn_rate: Option<f64>,
}

impl Shortcuts {
    pub(super) fn from_args(args: &Overrides) -> Shortcuts {
        Shortcuts {
            vus: args.vus,
            duration: args.duration,
            iterations: args.iterations,
            stages: args
                .stages
                .iter()
                .map(|&(duration, target)| Stage { duration, target: f64::from(target) })
                .collect(),
            spawn_rate: args.spawn_rate,
        }
    }

    pub(super) fn from_file(source: &Source, file: &RunFile) -> Result<Shortcuts, ConfigError> {
        Ok(Shortcuts {
            vus: file.vus.map(|n| count(source, &["vus"], n, 1)).transpose()?,
            duration: file.duration.as_deref().map(|d| duration(source, &["duration"], d, false)).transpose()?,
            iterations: file.iterations.map(|n| count(source, &["iterations"], n, 1).map(u64::from)).transpose()?,
            stages: file.stages.as_deref().map(|s| vu_stages(source, &["stages"], s)).transpose()?.unwrap_or_default(),
            spawn_rate: None,
        })
    }

    /// Each option set in `flags` replaces this one.
    pub(super) fn overridden_by(&self, flags: &Shortcuts) -> Shortcuts {
        Shortcuts {
            vus: flags.vus.or(self.vus),
            duration: flags.duration.or(self.duration),
            iterations: flags.iterations.or(self.iterations),
            stages: if flags.stages.is_empty() { self.stages.clone() } else { flags.stages.clone() },
            spawn_rate: flags.spawn_rate.or(self.spawn_rate),
        }
    }

    /// The name of the first option that is set.
    pub(super) fn first_set(&self) -> Option<&'static str> {
        [
            ("vus", self.vus.is_some()),
            ("duration", self.duration.is_some()),
            ("iterations", self.iterations.is_some()),
            ("stage", !self.stages.is_empty()),
            ("spawn-rate", self.spawn_rate.is_some()),
        ]
        .into_iter()
        .find_map(|(name, set)| set.then_some(name))
    }
}

/// k6's rules: stages → ramping-vus (from `vus`, default 1); iterations →
/// shared-iterations (`duration` its maximum); duration → constant-vus;
/// neither → each VU runs one iteration.
pub(super) fn shortcut_executor(options: &Shortcuts) -> Result<ExecutorPlan, ConfigError> {
    let vus = options.vus.unwrap_or(1);
    if let Some(duration) = options.duration
        && duration.is_zero()
    {
        return Err(ConfigError::Flag { flag: "duration", message: "must be greater than 0".into() });
    }
    if let Some(rate) = options.spawn_rate {
        return spawn_ramp(options, rate);
    }
    if !options.stages.is_empty() {
        if options.iterations.is_some() || options.duration.is_some() {
            return Err(ConfigError::Flag {
                flag: "stage",
                message: "excludes --duration and --iterations (k6's rule)".into(),
            });
        }
        let ramp = Ramp { start: f64::from(options.vus.unwrap_or(1)), stages: options.stages.clone() };
        return Ok(ExecutorPlan::RampingVus { ramp, graceful_ramp_down: DEFAULT_GRACE });
    }
    Ok(match (options.iterations, options.duration) {
        (Some(iterations), max_duration) => {
            if iterations < u64::from(vus) {
                return Err(ConfigError::Flag {
                    flag: "iterations",
                    message: format!("{iterations} iterations cannot be shared by {vus} VUs; give at least one per VU"),
                });
            }
            ExecutorPlan::SharedIterations {
                vus,
                iterations,
                max_duration: max_duration.unwrap_or(DEFAULT_MAX_DURATION),
            }
        }
        (None, Some(duration)) => ExecutorPlan::ConstantVus { vus, duration },
        (None, None) => ExecutorPlan::PerVuIterations { vus, iterations: 1, max_duration: DEFAULT_MAX_DURATION },
    })
}

/// Locust's `-u N -r R -t T`: users start at R per second until N run, and
/// all of them run until T: a ramping-vus executor from 0 VUs.
fn spawn_ramp(options: &Shortcuts, rate: f64) -> Result<ExecutorPlan, ConfigError> {
    if !options.stages.is_empty() || options.iterations.is_some() {
        return Err(ConfigError::Flag { flag: "spawn-rate", message: "excludes --stage and --iterations".into() });
    }
    let Some(total) = options.duration else {
        return Err(ConfigError::Flag { flag: "spawn-rate", message: "needs --run-time (Locust's -t)".into() });
    };
    let users = f64::from(options.vus.unwrap_or(1));
    let spawning = Duration::from_secs_f64(users / rate).min(total);
    let mut stages = vec![Stage { duration: spawning, target: (rate * spawning.as_secs_f64()).min(users) }];
    if total > spawning {
        stages.push(Stage { duration: total - spawning, target: users });
    }
    Ok(ExecutorPlan::RampingVus { ramp: Ramp { start: 0.0, stages }, graceful_ramp_down: DEFAULT_GRACE })
}
