//! A script's k6 `options` (its `export const options`, as JSON) turned
//! into the run file they mean, so a script is checked and planned exactly
//! like `vespid.toml` and flags override it the same way. Options vespid
//! does not support are named in warnings, never dropped silently. And
//! back: a plan as the k6 options it resolved to (`vespid inspect`).

use std::path::Path;
use std::time::Duration;

use serde_json::{Map, Value, json};

use super::file::Source;
use super::{ConfigError, Plan, TaskChoice};
use crate::caps::{CookieJarScope, HttpDebug};
use crate::exec::{ExecutorPlan, Ramp};

/// k6 option names and their run-file keys, at the top level.
const TOP_LEVEL: &[(&str, &str)] = &[
    ("vus", "vus"),
    ("duration", "duration"),
    ("iterations", "iterations"),
    ("stages", "stages"),
    ("tags", "tags"),
    ("scenarios", "scenarios"),
    ("thresholds", "thresholds"),
    ("setupTimeout", "setup-timeout"),
    ("teardownTimeout", "teardown-timeout"),
    ("insecureSkipTLSVerify", "insecure-skip-tls-verify"),
    ("userAgent", "user-agent"),
    ("maxRedirects", "max-redirects"),
    ("batch", "batch"),
    ("batchPerHost", "batch-per-host"),
    ("httpDebug", "http-debug"),
    ("dns", "dns"),
];

/// k6 scenario option names and their run-file keys (`exec` is `tasks`).
const SCENARIO: &[(&str, &str)] = &[
    ("executor", "executor"),
    ("startTime", "start-time"),
    ("gracefulStop", "graceful-stop"),
    ("env", "env"),
    ("tags", "tags"),
    ("vus", "vus"),
    ("duration", "duration"),
    ("iterations", "iterations"),
    ("maxDuration", "max-duration"),
    ("startVUs", "start-vus"),
    ("stages", "stages"),
    ("gracefulRampDown", "graceful-ramp-down"),
    ("rate", "rate"),
    ("timeUnit", "time-unit"),
    ("startRate", "start-rate"),
    ("preAllocatedVUs", "pre-allocated-vus"),
    ("maxVUs", "max-vus"),
];

/// Options the runtime itself applies, or the plan reads on its own
/// (`has_load_shape`): none goes into the run file.
const IN_RUNTIME: &[&str] = &["discardResponseBodies", "noCookiesReset", LOAD_SHAPE];

/// The option a locustfile's runtime sets to the name of its
/// `LoadTestShape` class (not k6's).
const LOAD_SHAPE: &str = "locustShape";

/// The option the JavaScript runtime sets to the datasources k6/x/sql's
/// `open` named (`{"k6sql1": URL}`; not k6's).
const SQL_DATASOURCES: &str = "vespidDatasources";

/// Whether the script's options name a load shape.
pub fn has_load_shape(options_json: &str) -> bool {
    serde_json::from_str::<Value>(options_json)
        .is_ok_and(|options| options.get(LOAD_SHAPE).is_some_and(Value::is_string))
}

/// Options with no effect on what is measured, ignored with a warning.
const IGNORED: &[(&str, &str)] = &[
    ("summaryTrendStats", "the summary shows avg, min, med, max, p(90), p(95), p(99)"),
    ("summaryTimeUnit", "the summary picks the unit per value"),
    ("systemTags", "vespid tags every sample with its own fixed set"),
    ("ext", "k6 Cloud settings do not apply"),
    ("cloud", "k6 Cloud settings do not apply"),
    ("noUsageReport", "vespid sends no usage report"),
    ("linger", "vespid always exits at the end"),
];

/// Durations k6 accepts as a number of milliseconds.
const DURATIONS: &[&str] = &[
    "duration",
    "setup-timeout",
    "teardown-timeout",
    "start-time",
    "graceful-stop",
    "max-duration",
    "graceful-ramp-down",
    "time-unit",
    "delay-abort-eval",
];

/// The run file `options_json` means for the script at `script`, and the
/// warnings about options it ignores. `shortcut_flags` (`-u`, `-d`, `-i`,
/// `--stage` given) replace the script's scenarios, as in k6.
pub fn run_file(script: &Path, options_json: &str, shortcut_flags: bool) -> Result<(Source, Vec<String>), ConfigError> {
    let invalid = |message: String| ConfigError::RunFile {
        path: script.to_path_buf(),
        line: None,
        key: Some("options".into()),
        message,
    };
    let options: Map<String, Value> = match serde_json::from_str(options_json) {
        Ok(Value::Object(options)) => options,
        Ok(_) => return Err(invalid("must be an object".into())),
        Err(err) => return Err(invalid(format!("cannot be read: {err}"))),
    };
    let mut warnings = Vec::new();
    let mut file = toml::Table::new();
    let name = script.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    file.insert("plugin".into(), toml::Value::String(name));
    // A script's cookie jar is emptied after each iteration, as in k6.
    let per_vu = options.get("noCookiesReset").is_some_and(|v| v.as_bool() == Some(true));
    file.insert("cookie-jar".into(), toml::Value::String(if per_vu { "per-vu" } else { "per-iteration" }.into()));
    for (key, value) in &options {
        if value.is_null() || IN_RUNTIME.contains(&key.as_str()) {
            continue;
        }
        if key == "scenarios" && shortcut_flags {
            warnings.push("options.scenarios: replaced by the -u/-d/-i/--stage flags given".into());
            continue;
        }
        if key == SQL_DATASOURCES {
            let tables = value.as_object().into_iter().flatten().filter_map(|(name, url)| {
                let url = toml::Value::String(url.as_str()?.to_string());
                Some((name.clone(), toml::Value::Table(toml::Table::from_iter([("url".to_string(), url)]))))
            });
            file.insert("datasources".into(), toml::Value::Table(tables.collect()));
            continue;
        }
        if let Some((_, why)) = IGNORED.iter().find(|(name, _)| name == key) {
            warnings.push(format!("options.{key} is ignored: {why}"));
            continue;
        }
        let Some((_, run_key)) = TOP_LEVEL.iter().find(|(name, _)| name == key) else {
            warnings.push(format!("options.{key} is not supported by vespid and is ignored"));
            continue;
        };
        let converted = match *run_key {
            "scenarios" => scenarios(value, &mut warnings),
            "thresholds" => thresholds(value),
            "http-debug" => Some(toml::Value::String(http_debug(value))),
            "dns" => dns(value),
            _ => plain(run_key, value),
        };
        match converted {
            Some(converted) => {
                file.insert((*run_key).to_string(), converted);
            }
            None => return Err(invalid(format!("{key}: {value} is not a valid value"))),
        }
    }
    let text = toml::to_string(&file).map_err(|err| invalid(err.to_string()))?;
    Ok((Source::script_options(script, text), warnings))
}

/// A k6 scenario table as a run-file scenario.
fn scenarios(value: &Value, warnings: &mut Vec<String>) -> Option<toml::Value> {
    let mut out = toml::Table::new();
    for (name, scenario) in value.as_object()? {
        let mut table = toml::Table::new();
        for (key, value) in scenario.as_object()? {
            if value.is_null() {
                continue;
            }
            if key == "exec" {
                let mut tasks = toml::Table::new();
                tasks.insert(value.as_str()?.to_string(), toml::Value::Integer(1));
                table.insert("tasks".into(), toml::Value::Table(tasks));
                continue;
            }
            let Some((_, run_key)) = SCENARIO.iter().find(|(k6, _)| k6 == key) else {
                warnings.push(format!("options.scenarios.{name}.{key} is not supported by vespid and is ignored"));
                continue;
            };
            table.insert((*run_key).to_string(), plain(run_key, value)?);
        }
        out.insert(name.clone(), toml::Value::Table(table));
    }
    Some(toml::Value::Table(out))
}

/// k6's thresholds: `{ metric: ["expr", { threshold, abortOnFail, delayAbortEval }] }`.
fn thresholds(value: &Value) -> Option<toml::Value> {
    let mut out = toml::Table::new();
    for (metric, list) in value.as_object()? {
        let list = match list {
            Value::Array(list) => list.clone(),
            single => vec![single.clone()],
        };
        let mut specs = Vec::new();
        for spec in list {
            specs.push(match spec {
                Value::String(expression) => toml::Value::String(expression),
                Value::Object(long) => {
                    let mut table = toml::Table::new();
                    for (key, value) in long {
                        let run_key = match key.as_str() {
                            "threshold" => "threshold",
                            "abortOnFail" => "abort-on-fail",
                            "delayAbortEval" => "delay-abort-eval",
                            _ => return None,
                        };
                        table.insert(run_key.into(), plain(run_key, &value)?);
                    }
                    toml::Value::Table(table)
                }
                _ => return None,
            });
        }
        out.insert(metric.clone(), toml::Value::Array(specs));
    }
    Some(toml::Value::Table(out))
}

/// k6's `httpDebug`: "full", or any other true value for headers.
fn http_debug(value: &Value) -> String {
    match value.as_str() {
        Some("full") => "full".into(),
        _ => "headers".into(),
    }
}

/// k6's `dns: { ttl, select, policy }` in the run file's string form.
fn dns(value: &Value) -> Option<toml::Value> {
    let parts: Vec<String> = value
        .as_object()?
        .iter()
        .map(|(key, value)| Some(format!("{key}={}", value.as_str().map(String::from).unwrap_or(value.to_string()))))
        .collect::<Option<_>>()?;
    Some(toml::Value::String(parts.join(",")))
}

/// A JSON value as TOML; a number of milliseconds where a duration goes.
fn plain(run_key: &str, value: &Value) -> Option<toml::Value> {
    Some(match value {
        Value::Number(n) if DURATIONS.contains(&run_key) => toml::Value::String(format!("{}ms", n.as_f64()?)),
        Value::Number(n) => match n.as_i64() {
            Some(i) => toml::Value::Integer(i),
            None => toml::Value::Float(n.as_f64()?),
        },
        Value::String(s) => toml::Value::String(s.clone()),
        Value::Bool(b) => toml::Value::Boolean(*b),
        Value::Array(items) => {
            toml::Value::Array(items.iter().map(|item| plain(run_key, item)).collect::<Option<_>>()?)
        }
        Value::Object(map) => {
            let mut table = toml::Table::new();
            for (key, value) in map {
                // Stage and tag keys keep their names; stage durations are durations.
                let inner = if key == "duration" { "duration" } else { "" };
                table.insert(key.clone(), plain(inner, value)?);
            }
            toml::Value::Table(table)
        }
        Value::Null => return None,
    })
}

/// The k6 name of a run-file key, for messages about a script's options.
pub fn k6_name(run_key: &str) -> &str {
    TOP_LEVEL
        .iter()
        .chain(SCENARIO)
        .find(|(_, key)| *key == run_key)
        .map(|(k6, _)| *k6)
        .or_else(|| {
            [("tasks", "exec"), ("abort-on-fail", "abortOnFail"), ("delay-abort-eval", "delayAbortEval")]
                .iter()
                .find(|(key, _)| *key == run_key)
                .map(|(_, k6)| *k6)
        })
        .unwrap_or(run_key)
}

/// The options `plan` resolved to, in k6's names (as `k6 inspect` prints
/// them): every scenario with its executor, start, graceful stop, `exec`,
/// env and tags; the thresholds; the setup and teardown timeouts.
/// `default_name` names a scenario the plan leaves unnamed.
pub fn options_json(plan: &Plan, default_name: &str) -> Value {
    let mut scenarios = Map::new();
    for scenario in &plan.scenarios {
        let mut entry = executor_json(&scenario.executor);
        entry["startTime"] = json!(duration_text(scenario.start_time));
        entry["gracefulStop"] = json!(duration_text(scenario.graceful_stop));
        match &scenario.tasks {
            TaskChoice::All => {}
            TaskChoice::Only(tasks) => entry["exec"] = json!(tasks.join(",")),
            TaskChoice::Weights(weights) => {
                entry["exec"] = json!(weights.iter().map(|(task, _)| task.as_str()).collect::<Vec<_>>().join(","))
            }
        }
        entry["env"] = Value::Object(scenario.env.iter().map(|(k, v)| (k.clone(), json!(v))).collect());
        entry["tags"] = Value::Object(scenario.tags.iter().map(|(k, v)| (k.clone(), json!(v))).collect());
        scenarios.insert(scenario.name.clone().unwrap_or_else(|| default_name.to_string()), entry);
    }
    let mut thresholds = Map::new();
    for threshold in &plan.thresholds {
        let spec = match threshold.abort_on_fail {
            false => json!(threshold.expression),
            true => json!({
                "threshold": threshold.expression,
                "abortOnFail": true,
                "delayAbortEval": duration_text(threshold.delay_abort_eval),
            }),
        };
        let list = thresholds.entry(threshold.series_name()).or_insert_with(|| json!([]));
        if let Value::Array(list) = list {
            list.push(spec);
        }
    }
    let http = &plan.http;
    let mut options = json!({
        "scenarios": scenarios,
        "thresholds": thresholds,
        "setupTimeout": duration_text(plan.limits.setup_timeout),
        "teardownTimeout": duration_text(plan.limits.teardown_timeout),
        "userAgent": http.user_agent,
        "insecureSkipTLSVerify": http.insecure_skip_tls_verify,
        "maxRedirects": http.max_redirects,
        "batch": http.batch,
        "batchPerHost": http.batch_per_host,
        "noCookiesReset": http.cookie_jar == CookieJarScope::PerVu,
    });
    let debug = match http.debug {
        HttpDebug::Off => None,
        HttpDebug::Headers => Some("headers"),
        HttpDebug::Full => Some("full"),
        HttpDebug::Summary => Some("summary"),
    };
    if let Some(debug) = debug {
        options["httpDebug"] = json!(debug);
    }
    options
}

/// An executor and its own options, in k6's names; rates per second.
fn executor_json(executor: &ExecutorPlan) -> Value {
    let stages = |ramp: &Ramp| {
        let stage = |s: &crate::exec::Stage| json!({ "duration": duration_text(s.duration), "target": s.target });
        ramp.stages.iter().map(stage).collect::<Vec<_>>()
    };
    let mut entry = match executor {
        ExecutorPlan::ConstantVus { vus, duration } => json!({ "vus": vus, "duration": duration_text(*duration) }),
        ExecutorPlan::RampingVus { ramp, graceful_ramp_down } => json!({
            "startVUs": ramp.start,
            "stages": stages(ramp),
            "gracefulRampDown": duration_text(*graceful_ramp_down),
        }),
        ExecutorPlan::PerVuIterations { vus, iterations, max_duration } => {
            json!({ "vus": vus, "iterations": iterations, "maxDuration": duration_text(*max_duration) })
        }
        ExecutorPlan::SharedIterations { vus, iterations, max_duration } => {
            json!({ "vus": vus, "iterations": iterations, "maxDuration": duration_text(*max_duration) })
        }
        ExecutorPlan::ConstantArrivalRate { per_second, duration, pre_allocated_vus, max_vus } => json!({
            "rate": per_second,
            "timeUnit": "1s",
            "duration": duration_text(*duration),
            "preAllocatedVUs": pre_allocated_vus,
            "maxVUs": max_vus,
        }),
        ExecutorPlan::RampingArrivalRate { ramp, pre_allocated_vus, max_vus } => json!({
            "startRate": ramp.start,
            "timeUnit": "1s",
            "stages": stages(ramp),
            "preAllocatedVUs": pre_allocated_vus,
            "maxVUs": max_vus,
        }),
    };
    entry["executor"] = json!(executor.name());
    entry
}

fn duration_text(duration: Duration) -> String {
    humantime::format_duration(duration).to_string()
}
