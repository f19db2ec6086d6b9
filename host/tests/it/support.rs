//! Shared test helpers: the guests (built once per test process), running
//! the `vespid` binary with a summary export, and the demo target.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::{Arc, Mutex, OnceLock};

use tokio::io::AsyncReadExt;

use serde_json::Value;
pub use vespid::demo_target::{DemoTarget, Protocol};

/// The directory holding every guest component, built on first use.
pub fn guests() -> &'static Path {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    DIR.get_or_init(|| {
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).parent().expect("host is in the workspace").to_path_buf();
        let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
        // Its own target dir, so this never waits on the build lock of the running `cargo test`.
        let status = Command::new(cargo)
            .current_dir(&root)
            .args(["build", "--quiet", "--target", "wasm32-wasip2", "--profile", "guest"])
            .args(["--target-dir", "target/guests", "--workspace", "--exclude", "vespid", "--exclude", "xtask"])
            .status()
            .expect("cargo runs");
        assert!(status.success(), "building the guests failed: run `cargo xtask build-plugins` to see why");
        root.join("target/guests/wasm32-wasip2/guest")
    })
}

/// Path of guest `name` (e.g. "hello").
pub fn guest(name: &str) -> PathBuf {
    guests().join(format!("{}.wasm", name.replace('-', "_")))
}

/// What one `vespid` invocation produced.
pub struct Outcome {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
    /// The summary export, when the run wrote one.
    pub summary: Option<Value>,
}

impl Outcome {
    fn summary(&self) -> &Value {
        self.summary.as_ref().unwrap_or_else(|| panic!("no summary export; stderr:\n{}", self.stderr))
    }

    /// `metrics.<metric>.values.<value>` of the summary export (0 if absent).
    pub fn value(&self, metric: &str, value: &str) -> f64 {
        self.summary()["metrics"][metric]["values"][value].as_f64().unwrap_or(0.0)
    }

    /// The counter's count (or a trend's sample count).
    pub fn count(&self, metric: &str) -> u64 {
        self.value(metric, "count") as u64
    }

    /// The number of true samples of a rate.
    pub fn passes(&self, metric: &str) -> u64 {
        self.value(metric, "passes") as u64
    }

    pub fn fails(&self, metric: &str) -> u64 {
        self.value(metric, "fails") as u64
    }

    /// Passes and fails of check `name`.
    pub fn check(&self, name: &str) -> (u64, u64) {
        let checks = self.summary()["checks"].as_array().expect("checks list");
        let check =
            checks.iter().find(|c| c["name"] == name).unwrap_or_else(|| panic!("no check {name:?}: {checks:?}"));
        (check["passes"].as_u64().expect("passes"), check["fails"].as_u64().expect("fails"))
    }

    /// Count of the error whose message contains `text` (0 if none).
    pub fn error_count(&self, text: &str) -> u64 {
        let errors = self.summary()["errors"].as_array().expect("errors list");
        errors
            .iter()
            .filter(|e| e["message"].as_str().is_some_and(|m| m.contains(text)))
            .map(|e| e["count"].as_u64().unwrap_or(0))
            .sum()
    }

    pub fn assert_ok(&self) -> &Self {
        assert_eq!(self.code, 0, "vespid failed; stderr:\n{}", self.stderr);
        self
    }
}

/// Runs `vespid <args>`; for `run`, adds `--quiet` and a summary export;
/// for `dev`, a summary export.
pub async fn vespid(args: &[&str]) -> Outcome {
    start(args).finish().await
}

/// [`vespid`] with extra environment variables.
pub async fn vespid_with_env(args: &[&str], env: &[(&str, &Path)]) -> Outcome {
    start_with_env(args, env).finish().await
}

/// A `vespid` process still running, for tests that interrupt it.
pub struct Running {
    child: tokio::process::Child,
    /// What it wrote to stderr so far, read as it comes.
    stderr: Arc<Mutex<String>>,
    stderr_reader: tokio::task::JoinHandle<()>,
    export: PathBuf,
    /// Holds the export's directory until the process is done.
    _dir: tempfile::TempDir,
}

impl Running {
    /// Sends SIGINT, as Ctrl-C does.
    pub fn interrupt(&self) {
        let pid = self.child.id().expect("still running").to_string();
        let status = Command::new("kill").args(["-INT", &pid]).status().expect("kill runs");
        assert!(status.success(), "kill -INT {pid}");
    }

    /// The process id.
    pub fn pid(&self) -> u32 {
        self.child.id().expect("still running")
    }

    /// What the process has written to stderr so far.
    pub fn stderr(&self) -> String {
        self.stderr.lock().expect("stderr buffer").clone()
    }

    /// Waits for the process to end and gathers what it produced.
    pub async fn finish(self) -> Outcome {
        let output = self.child.wait_with_output().await.expect("vespid ran");
        self.stderr_reader.await.expect("stderr read");
        let summary =
            std::fs::read_to_string(&self.export).ok().map(|text| serde_json::from_str(&text).expect("valid JSON"));
        let stderr = self.stderr.lock().expect("stderr buffer").clone();
        Outcome {
            code: output.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
            stderr,
            summary,
        }
    }
}

/// Starts `vespid <args>` (for `run`, with `--quiet`, a summary export and,
/// unless `args` name an address, no control API; for `dev`, with a
/// summary export).
pub fn start(args: &[&str]) -> Running {
    start_with_env(args, &[])
}

/// [`start`] with extra environment variables.
pub fn start_with_env(args: &[&str], env: &[(&str, &Path)]) -> Running {
    let dir = tempfile::tempdir().expect("temp dir");
    let export = dir.path().join("summary.json");
    let mut command = tokio::process::Command::new(env!("CARGO_BIN_EXE_vespid"));
    command.args(args).envs(env.iter().copied()).stdout(Stdio::piped()).stderr(Stdio::piped());
    match args.first() {
        Some(&"run") => {
            command.arg("--quiet").arg("--summary-export").arg(&export);
            // Parallel runs would race for the control API's default port.
            if !args.contains(&"--address") {
                command.args(["--address", "off"]);
            }
        }
        Some(&"dev") => {
            command.arg("--summary-export").arg(&export);
        }
        _ => {}
    }
    let mut child = command.spawn().expect("vespid starts");
    let stderr = Arc::new(Mutex::new(String::new()));
    let mut pipe = child.stderr.take().expect("stderr piped");
    let buffer = stderr.clone();
    let stderr_reader = tokio::spawn(async move {
        let mut chunk = [0u8; 4096];
        while let Ok(n @ 1..) = pipe.read(&mut chunk).await {
            buffer.lock().expect("stderr buffer").push_str(&String::from_utf8_lossy(&chunk[..n]));
        }
    });
    Running { child, stderr, stderr_reader, export, _dir: dir }
}

/// Waits until `condition` holds, checking every 20 ms; fails the test
/// after a minute (a hang guard, not a timing check).
pub async fn wait_for(what: &str, condition: impl Fn() -> bool) {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    while !condition() {
        assert!(std::time::Instant::now() < deadline, "never saw: {what}");
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
}

/// Runs guest `name` with `args` (plugin path filled in).
pub async fn run_guest(name: &str, args: &[&str]) -> Outcome {
    let plugin = guest(name);
    let mut all = vec!["run", plugin.to_str().expect("utf-8 path")];
    all.extend_from_slice(args);
    vespid(&all).await
}

/// `KEY=<server's base URL><path>`, for `--env`.
pub fn env(key: &str, server: &DemoTarget, path: &str) -> String {
    format!("{key}={}{path}", server.base_url())
}

/// The count that matters most: the run's `http_reqs` and the requests the
/// server saw are both exactly `requests`.
pub fn assert_server_saw(run: &Outcome, server: &DemoTarget, requests: u64) {
    assert_eq!(run.count("http_reqs"), requests, "http_reqs");
    assert_eq!(server.stats().requests, requests, "requests the server saw");
}

/// `stderr` is one line, `error: …` containing `expected`.
pub fn assert_one_line(stderr: &str, expected: &str) {
    let lines: Vec<&str> = stderr.lines().collect();
    assert_eq!(lines.len(), 1, "one line, got: {stderr}");
    assert!(lines[0].starts_with("error: ") && lines[0].contains(expected), "{expected:?} in {stderr:?}");
}

/// The `Point` lines of a `--out json=FILE` output, each `{metric, value, tags, time}`.
pub fn points(path: &Path) -> Vec<Value> {
    let text = std::fs::read_to_string(path).expect("json output written");
    text.lines()
        .map(|line| serde_json::from_str::<Value>(line).unwrap_or_else(|err| panic!("{err}: {line}")))
        .filter(|line| line["type"] == "Point")
        .map(|line| {
            let mut point = line["data"].clone();
            point["metric"] = line["metric"].clone();
            point
        })
        .collect()
}

/// The points of `metric` whose tags include every `(key, value)` of `tags`.
pub fn points_of<'a>(points: &'a [Value], metric: &str, tags: &[(&str, &str)]) -> Vec<&'a Value> {
    points
        .iter()
        .filter(|point| point["metric"] == metric && tags.iter().all(|(key, value)| point["tags"][key] == *value))
        .collect()
}

/// Starts a demo target on a free port.
pub async fn target(protocol: Protocol) -> DemoTarget {
    DemoTarget::start("127.0.0.1:0".parse().expect("address"), protocol).await.expect("demo target starts")
}

/// A `[scenarios.NAME]` table of guest `guest` (a `{guest}` placeholder)
/// against `server_url` (as `BASE_URL`, and as `URL` with `/json`), with
/// `options` (the executor and its options) added.
pub fn scenario(name: &str, guest: &str, server_url: &str, options: &str) -> String {
    format!(
        "[scenarios.{name}]\nplugin = \"{{{guest}}}\"\nenv = {{ BASE_URL = \"{server_url}\", URL = \"{server_url}/json\" }}\n{options}\n"
    )
}

/// Runs `vespid run` on a run file with `text` (plugins named by `{name}`
/// placeholders such as `{hello}` become their paths), plus `args`.
pub async fn run_file(text: &str, args: &[&str]) -> Outcome {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = write_run_file(dir.path(), text);
    let mut all = vec!["run", path.to_str().expect("utf-8 path")];
    all.extend_from_slice(args);
    vespid(&all).await
}

/// Writes `text` as `vespid.toml` in `dir`, with `{guest}` placeholders replaced by guest paths.
pub fn write_run_file(dir: &Path, text: &str) -> PathBuf {
    let mut text = text.to_string();
    for name in [
        "hello",
        "http-probe",
        "custom-metrics",
        "flow",
        "flaky-panic",
        "data-reader",
        "runaway",
        "metrics-flood",
        "sql-probe",
        "sql-bank",
    ] {
        text = text.replace(&format!("{{{name}}}"), guest(name).to_str().expect("utf-8 path"));
    }
    let path = dir.join("vespid.toml");
    std::fs::write(&path, text).expect("write run file");
    path
}
