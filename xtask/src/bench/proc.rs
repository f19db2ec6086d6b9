//! Bounded child processes for the bench: output to files, a deadline that
//! kills the whole process group, CPU time of a command's waited-for
//! children (via the wrapping shell's `/proc/$$/stat`), VmRSS samples, and
//! vespid's summary export.

use std::ffi::OsStr;
use std::fs::File;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::thread::sleep;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};

/// How often `wait` looks at the child.
const POLL: Duration = Duration::from_millis(50);

/// What a finished child left behind.
pub struct Finished {
    pub status: ExitStatus,
    pub stdout: String,
    pub stderr: String,
}

impl Finished {
    /// The last non-empty stderr line with the exit status: the reason a run failed.
    pub fn failure(&self) -> String {
        let line = self.stderr.lines().rev().map(str::trim).find(|l| !l.is_empty()).unwrap_or("no message");
        match self.status.code() {
            Some(code) => format!("{line} (exit code {code})"),
            None => format!("{line} ({})", self.status),
        }
    }
}

/// A child in its own process group, killed (with the group) at its deadline or on drop.
pub struct Spawned {
    child: Child,
    stdout: PathBuf,
    stderr: PathBuf,
    deadline: Instant,
    done: bool,
}

impl Spawned {
    /// Starts `command` with stdout and stderr going to `<base>.out` and `<base>.err`.
    pub fn start(command: &mut Command, base: &Path, timeout: Duration) -> Result<Spawned> {
        let stdout = base.with_extension("out");
        let stderr = base.with_extension("err");
        let out = File::create(&stdout).with_context(|| format!("cannot create {}", stdout.display()))?;
        let err = File::create(&stderr).with_context(|| format!("cannot create {}", stderr.display()))?;
        let child = command
            .process_group(0)
            .stdin(Stdio::null())
            .stdout(out)
            .stderr(err)
            .spawn()
            .with_context(|| format!("cannot start {command:?}"))?;
        Ok(Spawned { child, stdout, stderr, deadline: Instant::now() + timeout, done: false })
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// The exit status if the child has ended; an error (after killing it) past the deadline.
    pub fn poll(&mut self) -> Result<Option<ExitStatus>> {
        if let Some(status) = self.child.try_wait().context("cannot wait for a bench child")? {
            self.done = true;
            return Ok(Some(status));
        }
        if Instant::now() >= self.deadline {
            self.kill();
            bail!("a bench child (pid {}) overran its deadline and was killed", self.child.id());
        }
        Ok(None)
    }

    /// Waits (bounded by the deadline) and reads the output files.
    pub fn wait(&mut self) -> Result<Finished> {
        loop {
            if let Some(status) = self.poll()? {
                return self.finished(status);
            }
            sleep(POLL);
        }
    }

    /// Reads the output of a child `poll` saw end.
    pub fn finished(&self, status: ExitStatus) -> Result<Finished> {
        let read =
            |path: &Path| std::fs::read_to_string(path).with_context(|| format!("cannot read {}", path.display()));
        Ok(Finished { status, stdout: read(&self.stdout)?, stderr: read(&self.stderr)? })
    }

    fn kill(&mut self) {
        if self.done {
            return;
        }
        // The group holds the grandchildren too (sh → taskset → vespid).
        let _ = Command::new("kill").args(["-KILL", "--", &format!("-{}", self.child.id())]).status();
        let _ = self.child.kill();
        let _ = self.child.wait();
        self.done = true;
    }
}

impl Drop for Spawned {
    fn drop(&mut self) {
        self.kill();
    }
}

/// `sh -c '"$@"; …; cat /proc/$$/stat'` around `program args…`: the stat line
/// appended to stdout carries the shell's waited-for children's CPU time.
pub fn with_cpu_time<I, S>(program_and_args: I) -> Command
where
    I: IntoIterator<Item = S>,
    S: AsRef<OsStr>,
{
    let mut command = Command::new("sh");
    command.arg("-c").arg(r#""$@"; rc=$?; cat /proc/$$/stat; exit $rc"#).arg("sh").args(program_and_args);
    command
}

/// Splits the stdout of a `with_cpu_time` command into the program's output
/// and its CPU seconds (cutime + cstime, fields 16 and 17 of the stat line).
pub fn split_cpu_time(stdout: &str, ticks_per_second: f64) -> Result<(&str, f64)> {
    let trimmed = stdout.trim_end();
    let (output, stat) = trimmed.rsplit_once('\n').unwrap_or(("", trimmed));
    // Fields after the `(comm)` one start at field 3 (state).
    let after =
        stat.rsplit_once(") ").map(|(_, rest)| rest).context("no /proc stat line after the command's output")?;
    let fields: Vec<&str> = after.split_whitespace().collect();
    let field = |n: usize| -> Result<f64> {
        let text = fields.get(n - 3).with_context(|| format!("stat line too short: {stat:?}"))?;
        text.parse::<f64>().with_context(|| format!("stat field {n} is not a number: {text:?}"))
    };
    Ok((output, (field(16)? + field(17)?) / ticks_per_second))
}

/// Clock ticks per second (`getconf CLK_TCK`, default 100).
pub fn clock_ticks() -> f64 {
    Command::new("getconf")
        .arg("CLK_TCK")
        .output()
        .ok()
        .and_then(|out| String::from_utf8_lossy(&out.stdout).trim().parse::<f64>().ok())
        .filter(|ticks| *ticks > 0.0)
        .unwrap_or(100.0)
}

/// The VmRSS of a live process in KiB (None once it is gone).
pub fn rss_kib(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let line = status.lines().find(|l| l.starts_with("VmRSS:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

/// The figures the bench reads from a `--summary-export` file.
pub struct Export {
    pub http_reqs: u64,
    pub iterations: u64,
    /// Iterations that returned an error (`iterations_failed`'s true samples).
    pub iterations_failed: u64,
    pub dropped_iterations: u64,
    /// `iteration_start_delay` p(50) and p(99), in ms (arrival-rate runs).
    pub start_delay_ms: Option<(f64, f64)>,
    pub vus_ready_ms: Option<f64>,
    pub test_run_duration_ms: Option<f64>,
}

pub fn read_export(path: &Path) -> Result<Export> {
    let text = std::fs::read_to_string(path).with_context(|| format!("cannot read {}", path.display()))?;
    let json: serde_json::Value =
        serde_json::from_str(&text).with_context(|| format!("{} is not JSON", path.display()))?;
    let value = |pointer: &str| json.pointer(pointer).and_then(serde_json::Value::as_f64);
    let count = |metric: &str| value(&format!("/metrics/{metric}/values/count")).unwrap_or(0.0) as u64;
    let delay = |quantile: &str| value(&format!("/metrics/iteration_start_delay/values/{quantile}"));
    Ok(Export {
        http_reqs: count("http_reqs"),
        iterations: count("iterations"),
        iterations_failed: value("/metrics/iterations_failed/values/passes").unwrap_or(0.0) as u64,
        dropped_iterations: count("dropped_iterations"),
        start_delay_ms: delay("med").zip(delay("p(99)")),
        vus_ready_ms: json.get("vus_ready_ms").and_then(serde_json::Value::as_f64),
        test_run_duration_ms: json.get("test_run_duration_ms").and_then(serde_json::Value::as_f64),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cpu_time_comes_from_fields_16_and_17() {
        let stdout = "summary\nmore\n42 (s h) S 1 42 42 0 -1 4194304 10 20 0 0 1 2 150 50 20 0 1 0 5\n";
        let (output, cpu) = split_cpu_time(stdout, 100.0).expect("parses");
        assert_eq!(output, "summary\nmore");
        assert!((cpu - 2.0).abs() < 1e-9);
    }
}
