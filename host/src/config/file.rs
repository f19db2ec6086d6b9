//! The `vespid.toml` run file: its schema (k6's option names spelled in
//! kebab-case) and the location of each key, so every error names the file,
//! the line and the key. It only reads; turning values into a plan and
//! checking them is `config`'s job.

use std::collections::BTreeMap;
use std::fmt::Display;
use std::path::{Path, PathBuf};

use serde::Deserialize;
use toml::de::{DeTable, DeValue};

use super::ConfigError;

/// A run file as written. Unknown keys are errors.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct RunFile {
    /// The plugin of scenarios that do not name one.
    pub plugin: Option<PathBuf>,
    /// k6's shortcut options: one scenario when `[scenarios]` is absent.
    pub vus: Option<i64>,
    pub duration: Option<String>,
    pub iterations: Option<i64>,
    pub stages: Option<Vec<StageSpec>>,
    #[serde(default)]
    pub env: BTreeMap<String, String>,
    #[serde(default)]
    pub tags: BTreeMap<String, String>,
    #[serde(default)]
    pub scenarios: BTreeMap<String, ScenarioSpec>,
    /// `[data.users] path = "users.csv"`: shared data sets by name.
    #[serde(default)]
    pub data: BTreeMap<String, DataSpec>,
    /// `[datasources.main] url-env = "DATABASE_URL"`: SQL databases by name.
    #[serde(default)]
    pub datasources: BTreeMap<String, super::datasources::DatasourceTable>,
    /// `http_req_duration = ["p(95)<500"]`, `"http_req_duration{name:login}" = [...]`.
    #[serde(default)]
    pub thresholds: BTreeMap<String, Vec<ThresholdSpec>>,
    pub summary_export: Option<PathBuf>,
    /// `vespid` (default) or `k6` (k6's `--summary-export` layout).
    pub summary_export_format: Option<String>,
    /// Outputs as for `--out`: `out = ["json=points.json", "junit=junit.xml"]`.
    #[serde(default)]
    pub out: Vec<String>,
    pub insecure_skip_tls_verify: Option<bool>,
    pub max_redirects: Option<i64>,
    pub user_agent: Option<String>,
    pub http_timeout: Option<String>,
    pub iteration_cpu_limit: Option<String>,
    pub setup_timeout: Option<String>,
    pub teardown_timeout: Option<String>,
    pub vu_memory_limit: Option<String>,
    /// k6's string form: `dns = "select=first,ttl=1m,policy=any"`.
    pub dns: Option<String>,
    pub batch: Option<i64>,
    pub batch_per_host: Option<i64>,
    /// `per-vu` or `per-iteration`.
    pub cookie_jar: Option<String>,
    /// A size: `max-response-body = "1MiB"`.
    pub max_response_body: Option<String>,
    /// `headers` or `full` (k6's `--http-debug`).
    pub http_debug: Option<String>,
    /// Distinct custom metric names per run.
    pub max_metrics: Option<i64>,
    /// Distinct series (metric × tag set) per run.
    pub max_series: Option<i64>,
    /// What every scenario's plugin may reach.
    pub permissions: Option<super::permissions::PermissionsTable>,
}

/// One `[scenarios.NAME]` table.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct ScenarioSpec {
    pub executor: Option<String>,
    pub plugin: Option<PathBuf>,
    pub start_time: Option<String>,
    pub graceful_stop: Option<String>,
    #[serde(default)]
    pub env: BTreeMap<String, String>,
    #[serde(default)]
    pub tags: BTreeMap<String, String>,
    pub tasks: Option<TasksSpec>,
    pub think_time: Option<ThinkSpec>,
    pub vus: Option<i64>,
    pub duration: Option<String>,
    pub iterations: Option<i64>,
    pub max_duration: Option<String>,
    pub start_vus: Option<i64>,
    pub stages: Option<Vec<StageSpec>>,
    pub graceful_ramp_down: Option<String>,
    pub rate: Option<RateSpec>,
    pub time_unit: Option<String>,
    pub start_rate: Option<RateSpec>,
    pub pre_allocated_vus: Option<i64>,
    pub max_vus: Option<i64>,
    /// What this scenario's plugin may reach besides the run's `[permissions]`.
    pub permissions: Option<super::permissions::PermissionsTable>,
}

impl ScenarioSpec {
    /// The executor options that are set, by their run-file names.
    pub fn executor_options(&self) -> Vec<&'static str> {
        let set = [
            ("vus", self.vus.is_some()),
            ("duration", self.duration.is_some()),
            ("iterations", self.iterations.is_some()),
            ("max-duration", self.max_duration.is_some()),
            ("start-vus", self.start_vus.is_some()),
            ("stages", self.stages.is_some()),
            ("graceful-ramp-down", self.graceful_ramp_down.is_some()),
            ("rate", self.rate.is_some()),
            ("time-unit", self.time_unit.is_some()),
            ("start-rate", self.start_rate.is_some()),
            ("pre-allocated-vus", self.pre_allocated_vus.is_some()),
            ("max-vus", self.max_vus.is_some()),
        ];
        set.into_iter().filter(|(_, set)| *set).map(|(name, _)| name).collect()
    }
}

/// One `[data.NAME]` table.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DataSpec {
    pub path: PathBuf,
    /// `csv` or `jsonl`; by default from the file's extension.
    pub format: Option<String>,
}

/// `"p(95)<500"`, or k6's long form
/// `{ threshold = "rate>0.99", abort-on-fail = true, delay-abort-eval = "10s" }`.
#[derive(Debug, Clone, Deserialize)]
#[serde(untagged)]
pub enum ThresholdSpec {
    Expression(String),
    Long(LongThreshold),
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct LongThreshold {
    pub threshold: String,
    #[serde(default)]
    pub abort_on_fail: bool,
    pub delay_abort_eval: Option<String>,
}

/// `{ duration = "30s", target = 100 }`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StageSpec {
    pub duration: String,
    pub target: f64,
}

/// `rate = 200` (per `time-unit`) or `rate = "200/s"`.
#[derive(Debug, Clone, Deserialize)]
#[serde(untagged)]
pub enum RateSpec {
    Number(f64),
    Text(String),
}

/// `tasks = ["browse", "buy"]` (weights from the plugin) or
/// `tasks = { browse = 3, buy = 1 }` (weights overridden).
#[derive(Debug, Clone, Deserialize)]
#[serde(untagged)]
pub enum TasksSpec {
    Names(Vec<String>),
    Weights(BTreeMap<String, i64>),
}

/// `think-time = "1s"`, `{ constant = "1s" }`, `{ between = ["1s", "3s"] }` or `{ pacing = "5s" }`.
#[derive(Debug, Clone, Deserialize)]
#[serde(untagged)]
pub enum ThinkSpec {
    Constant(String),
    Table(ThinkTable),
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ThinkTable {
    pub constant: Option<String>,
    pub between: Option<Vec<String>>,
    pub pacing: Option<String>,
}

/// A run file's text and path, for parsing and for pointing at keys.
pub struct Source {
    pub path: PathBuf,
    text: String,
    /// Made from a script's k6 options: keys are named as k6 spells them
    /// (`options.scenarios.x.maxVUs`), with no line.
    from_script: bool,
}

impl Source {
    /// Reads `path`.
    pub fn read(path: &Path) -> Result<Source, ConfigError> {
        if std::fs::metadata(path).is_ok_and(|meta| !meta.is_file()) {
            return Err(ConfigError::NotAFile(path.to_path_buf()));
        }
        let text = std::fs::read_to_string(path)
            .map_err(|err| ConfigError::RunFileUnreadable { path: path.to_path_buf(), reason: err.to_string() })?;
        Ok(Source { path: path.to_path_buf(), text, from_script: false })
    }

    /// The run file a script's options make (see `k6::run_file`).
    pub fn script_options(script: &Path, text: String) -> Source {
        Source { path: script.to_path_buf(), text, from_script: true }
    }

    /// `text` as if read from `path` (tests, the fuzz target).
    pub fn from_text(path: &str, text: &str) -> Source {
        Source { path: path.into(), text: text.into(), from_script: false }
    }

    /// Parses the schema; a syntax error or unknown key names its line.
    pub fn parse(&self) -> Result<RunFile, ConfigError> {
        toml::from_str(&self.text).map_err(|err| ConfigError::RunFile {
            path: self.path.clone(),
            line: err.span().filter(|_| !self.from_script).map(|span| self.line_at(span.start)),
            key: self.from_script.then(|| "options".to_string()),
            message: err.message().trim().replace('\n', " "),
        })
    }

    /// The directory paths in the file are relative to.
    pub fn dir(&self) -> &Path {
        self.path.parent().filter(|p| !p.as_os_str().is_empty()).unwrap_or(Path::new("."))
    }

    /// An error about the key at `keys` (e.g. `["scenarios", "browse", "max-vus"]`).
    pub fn error(&self, keys: &[&str], message: impl Display) -> ConfigError {
        let (line, key) = if self.from_script {
            let k6_keys: Vec<&str> = keys.iter().map(|key| super::k6::k6_name(key)).collect();
            (None, format!("options.{}", k6_keys.join(".")))
        } else {
            (self.line_of(keys), keys.join("."))
        };
        ConfigError::RunFile { path: self.path.clone(), line, key: Some(key), message: message.to_string() }
    }

    /// The line of the deepest key of `keys` that the file has.
    fn line_of(&self, keys: &[&str]) -> Option<usize> {
        let root = DeTable::parse(&self.text).ok()?;
        let mut table = root.get_ref();
        let mut at = None;
        for key in keys {
            let Some((name, value)) = table.iter().find(|(name, _)| name.get_ref() == key) else { break };
            at = Some(name.span().start);
            match value.get_ref() {
                DeValue::Table(inner) => table = inner,
                _ => break,
            }
        }
        at.map(|offset| self.line_at(offset))
    }

    fn line_at(&self, offset: usize) -> usize {
        self.text[..offset.min(self.text.len())].matches('\n').count() + 1
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const FILE: &str = r#"
plugin = "shop.wasm"

[scenarios.browse]
executor = "ramping-vus"
stages = [{ duration = "30s", target = 10 }]

[scenarios.admin]
executor = "constant-arrival-rate"
rate = "10/s"
max-vus = 5
"#;

    #[test]
    fn keys_are_found_on_their_line() {
        let source = Source::from_text("vespid.toml", FILE);
        let file = source.parse().unwrap();
        assert_eq!(file.scenarios.len(), 2);
        assert_eq!(source.line_of(&["scenarios", "admin", "max-vus"]), Some(11));
        assert_eq!(source.line_of(&["scenarios", "browse"]), Some(4));
        // A missing key points at its table.
        assert_eq!(source.line_of(&["scenarios", "admin", "pre-allocated-vus"]), Some(8));
        let err = source.error(&["scenarios", "admin", "max-vus"], "too few").to_string();
        assert_eq!(err, "vespid.toml:11: scenarios.admin.max-vus: too few");
    }

    #[test]
    fn unknown_keys_name_their_line() {
        let source = Source::from_text("run.toml", "[scenarios.a]\nexecutor = \"constant-vus\"\nvu = 3\n");
        let err = source.parse().unwrap_err().to_string();
        assert!(err.starts_with("run.toml:3: unknown field `vu`"), "{err}");
        assert!(!err.contains('\n'));
    }
}
