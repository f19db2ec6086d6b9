//! Command-line flags → one validated [`Plan`]. Every value is checked
//! here, before anything starts; nothing here loads plugins or opens
//! sockets. (The `vespid.toml` run file will layer under the flags here.)

use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::caps::{DataError, DataSource, HttpOptions, LogLevel};
use crate::cli::RunArgs;
use crate::exec::ExecutorPlan;

/// k6's default maximum duration of per-vu-iterations.
const DEFAULT_MAX_DURATION: Duration = Duration::from_secs(600);

/// Why the run's configuration is invalid; each names the flag or file.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("plugin file {0:?} does not exist")]
    PluginMissing(PathBuf),
    #[error("--{flag} must be greater than 0")]
    ZeroDuration { flag: &'static str },
    #[error("--summary-export {path:?}: directory {dir:?} does not exist")]
    ExportDir { path: PathBuf, dir: PathBuf },
    #[error("--ca-file {0:?} does not exist")]
    CaFileMissing(PathBuf),
    #[error("--data {name}: {source}")]
    DataFlag { name: String, source: DataError },
    #[error("--data {0} is given twice")]
    DataTwice(String),
    /// A data file whose content is invalid, found when the run loads it.
    #[error(transparent)]
    Data(#[from] DataError),
}

/// Everything a run needs, validated.
#[derive(Debug, Clone)]
pub struct Plan {
    pub plugin: PathBuf,
    pub executor: ExecutorPlan,
    /// Scenario name; `None` means the plugin's own name.
    pub scenario: Option<String>,
    pub env: Vec<(String, String)>,
    /// Data sets, loaded when the run starts.
    pub data: Vec<DataSource>,
    pub http: HttpOptions,
    pub log_level: LogLevel,
    pub summary_export: Option<PathBuf>,
    pub progress: bool,
    pub compile_cache: bool,
}

impl Plan {
    /// Validates the flags of `vespid run`.
    pub fn from_args(args: &RunArgs) -> Result<Plan, ConfigError> {
        if !args.plugin.is_file() {
            return Err(ConfigError::PluginMissing(args.plugin.clone()));
        }
        non_zero("graceful-stop", args.graceful_stop, true)?;
        non_zero("http-timeout", args.http_timeout, false)?;
        if let Some(duration) = args.duration {
            non_zero("duration", duration, false)?;
        }
        let executor = match (args.iterations, args.duration) {
            (None, Some(duration)) => {
                ExecutorPlan::ConstantVus { vus: args.vus, duration, graceful_stop: args.graceful_stop }
            }
            // k6 runs one iteration per VU when given neither.
            (iterations, max_duration) => ExecutorPlan::PerVuIterations {
                vus: args.vus,
                iterations: iterations.unwrap_or(1),
                max_duration: max_duration.unwrap_or(DEFAULT_MAX_DURATION),
                graceful_stop: args.graceful_stop,
            },
        };
        if let Some(path) = &args.summary_export {
            check_parent_dir(path)?;
        }
        if let Some(ca) = &args.ca_file
            && !ca.is_file()
        {
            return Err(ConfigError::CaFileMissing(ca.clone()));
        }
        let data = data_sources(&args.data)?;
        let defaults = HttpOptions::default();
        Ok(Plan {
            plugin: args.plugin.clone(),
            executor,
            scenario: args.scenario.clone(),
            env: args.env.clone(),
            data,
            http: HttpOptions {
                timeout: args.http_timeout,
                max_redirects: args.max_redirects,
                insecure_skip_tls_verify: args.insecure_skip_tls_verify,
                ca_file: args.ca_file.clone(),
                user_agent: args.user_agent.clone().unwrap_or(defaults.user_agent),
            },
            log_level: args.log_level,
            summary_export: args.summary_export.clone(),
            progress: !args.quiet,
            compile_cache: !args.no_compile_cache,
        })
    }
}

fn non_zero(flag: &'static str, value: Duration, zero_ok: bool) -> Result<(), ConfigError> {
    if value.is_zero() && !zero_ok { Err(ConfigError::ZeroDuration { flag }) } else { Ok(()) }
}

/// `--data NAME=FILE` flags: names unique, files present, formats known.
fn data_sources(flags: &[(String, String)]) -> Result<Vec<DataSource>, ConfigError> {
    let mut sources: Vec<DataSource> = Vec::with_capacity(flags.len());
    for (name, path) in flags {
        if sources.iter().any(|source| source.name == *name) {
            return Err(ConfigError::DataTwice(name.clone()));
        }
        let source = DataSource::new(name.clone(), path.into(), None)
            .map_err(|source| ConfigError::DataFlag { name: name.clone(), source })?;
        sources.push(source);
    }
    Ok(sources)
}

fn check_parent_dir(path: &Path) -> Result<(), ConfigError> {
    match path.parent() {
        Some(dir) if !dir.as_os_str().is_empty() && !dir.is_dir() => {
            Err(ConfigError::ExportDir { path: path.to_path_buf(), dir: dir.to_path_buf() })
        }
        _ => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use clap::Parser;

    use super::*;
    use crate::caps::DataFormat;
    use crate::cli::{Cli, Command};

    fn plan(args: &[&str]) -> Result<Plan, ConfigError> {
        let plugin = std::env::current_exe().expect("test binary path");
        let mut argv = vec!["vespid", "run", plugin.to_str().expect("utf-8 path")];
        argv.extend_from_slice(args);
        match Cli::try_parse_from(argv).expect("valid flags").command {
            Command::Run(run) => Plan::from_args(&run),
            _ => unreachable!("parsed a run command"),
        }
    }

    #[test]
    fn executor_follows_k6_flag_rules() {
        let p = plan(&["--vus", "50", "--duration", "30s"]).unwrap();
        assert_eq!(
            p.executor,
            ExecutorPlan::ConstantVus {
                vus: 50,
                duration: Duration::from_secs(30),
                graceful_stop: Duration::from_secs(30)
            }
        );
        let p = plan(&["--vus", "5", "--iterations", "8"]).unwrap();
        assert!(
            matches!(p.executor, ExecutorPlan::PerVuIterations { vus: 5, iterations: 8, max_duration, .. } if max_duration == DEFAULT_MAX_DURATION)
        );
        let p = plan(&["-i", "3", "-d", "5s"]).unwrap();
        assert!(
            matches!(p.executor, ExecutorPlan::PerVuIterations { iterations: 3, max_duration, .. } if max_duration == Duration::from_secs(5))
        );
        let p = plan(&[]).unwrap();
        assert!(matches!(p.executor, ExecutorPlan::PerVuIterations { vus: 1, iterations: 1, .. }));
    }

    #[test]
    fn bad_values_name_the_flag() {
        assert_eq!(plan(&["--duration", "0s"]).unwrap_err().to_string(), "--duration must be greater than 0");
        let err = plan(&["--summary-export", "/no/such/dir/x.json"]).unwrap_err();
        assert!(err.to_string().contains("/no/such/dir"), "{err}");
        let err = plan(&["--ca-file", "/no/such/ca.pem"]).unwrap_err();
        assert!(err.to_string().contains("--ca-file"), "{err}");
    }

    #[test]
    fn data_flags_are_checked() {
        let dir = tempfile::tempdir().unwrap();
        let csv = dir.path().join("users.csv");
        std::fs::write(&csv, "user\nalice\n").unwrap();
        let users = format!("users={}", csv.display());
        let p = plan(&["--data", &users]).unwrap();
        assert_eq!(p.data, [DataSource { name: "users".into(), path: csv.clone(), format: DataFormat::Csv }]);

        let err = plan(&["--data", &users, "--data", &users]).unwrap_err();
        assert_eq!(err.to_string(), "--data users is given twice");
        let err = plan(&["--data", "users=/no/such/users.csv"]).unwrap_err();
        assert_eq!(err.to_string(), "--data users: data file \"/no/such/users.csv\" does not exist");
        let text = dir.path().join("users.txt");
        std::fs::write(&text, "user\nalice\n").unwrap();
        let err = plan(&["--data", &format!("users={}", text.display())]).unwrap_err();
        assert!(err.to_string().starts_with("--data users: cannot tell the format"), "{err}");
    }
}
