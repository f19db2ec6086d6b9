//! Command-line flags → one validated [`Plan`]. Every value is checked
//! here, before anything starts; nothing here loads plugins or opens
//! sockets. (The `vespid.toml` run file will layer under the flags here.)

use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::caps::{HttpOptions, LogLevel};
use crate::cli::RunArgs;
use crate::exec::ExecutorPlan;
use crate::output::OutputSpec;

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
    #[error("--out {spec}: directory {dir:?} does not exist")]
    OutputDir { spec: OutputSpec, dir: PathBuf },
    #[error("two outputs write to {0:?}")]
    SameOutputFile(PathBuf),
}

/// Everything a run needs, validated.
#[derive(Debug, Clone)]
pub struct Plan {
    pub plugin: PathBuf,
    pub executor: ExecutorPlan,
    /// Scenario name; `None` means the plugin's own name.
    pub scenario: Option<String>,
    pub env: Vec<(String, String)>,
    pub http: HttpOptions,
    pub log_level: LogLevel,
    pub summary_export: Option<PathBuf>,
    /// `--out` outputs, in the order given.
    pub outputs: Vec<OutputSpec>,
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
        if let Some(path) = &args.summary_export
            && let Some(dir) = missing_parent_dir(path)
        {
            return Err(ConfigError::ExportDir { path: path.clone(), dir });
        }
        check_outputs(&args.outputs, args.summary_export.as_deref())?;
        if let Some(ca) = &args.ca_file
            && !ca.is_file()
        {
            return Err(ConfigError::CaFileMissing(ca.clone()));
        }
        let defaults = HttpOptions::default();
        Ok(Plan {
            plugin: args.plugin.clone(),
            executor,
            scenario: args.scenario.clone(),
            env: args.env.clone(),
            http: HttpOptions {
                timeout: args.http_timeout,
                max_redirects: args.max_redirects,
                insecure_skip_tls_verify: args.insecure_skip_tls_verify,
                ca_file: args.ca_file.clone(),
                user_agent: args.user_agent.clone().unwrap_or(defaults.user_agent),
            },
            log_level: args.log_level,
            summary_export: args.summary_export.clone(),
            outputs: args.outputs.clone(),
            progress: !args.quiet,
            compile_cache: !args.no_compile_cache,
        })
    }
}

fn non_zero(flag: &'static str, value: Duration, zero_ok: bool) -> Result<(), ConfigError> {
    if value.is_zero() && !zero_ok { Err(ConfigError::ZeroDuration { flag }) } else { Ok(()) }
}

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
mod tests {
    use clap::Parser;

    use super::*;
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
    fn outputs_need_their_directory_and_a_file_each() {
        let dir = tempfile::tempdir().expect("temp dir");
        let file = |name: &str| dir.path().join(name).display().to_string();
        let (json, csv) = (format!("json={}", file("a.json")), format!("csv={}", file("b.csv")));
        let p = plan(&["--out", &json, "-o", &csv]).unwrap();
        assert_eq!(p.outputs, vec![OutputSpec::Json(file("a.json").into()), OutputSpec::Csv(file("b.csv").into())]);

        let err = plan(&["--out", "csv=/no/such/dir/b.csv"]).unwrap_err();
        assert_eq!(err.to_string(), r#"--out csv=/no/such/dir/b.csv: directory "/no/such/dir" does not exist"#);
        let same = format!("csv={}/./a.json", dir.path().display());
        let err = plan(&["--out", &json, "--out", &same]).unwrap_err();
        assert!(matches!(err, ConfigError::SameOutputFile(_)), "{err}");
        let err = plan(&["--out", &json, "--summary-export", &file("a.json")]).unwrap_err();
        assert!(matches!(err, ConfigError::SameOutputFile(_)), "{err}");
    }
}
