//! Part (a): requests per load-generator CPU-second, vespid against wrk, in
//! interleaved rounds with each generator pinned to CPU 1 (the target has
//! CPU 0). Also installs wrk when it is missing.

use std::path::Path;
use std::process::Command;
use std::time::Duration;

use anyhow::{Context, Result};

use super::proc::{Spawned, clock_ticks, read_export, split_cpu_time, with_cpu_time};

/// Connections (vespid VUs, wrk -c) of each throughput run.
pub const CONNECTIONS: u32 = 50;
/// The CPU the load generators are pinned to.
pub const GENERATOR_CPU: &str = "1";

/// One generator's run: requests made, over how long, for how much CPU.
pub struct Run {
    pub requests: u64,
    pub seconds: f64,
    pub cpu_seconds: f64,
}

impl Run {
    pub fn per_second(&self) -> f64 {
        self.requests as f64 / self.seconds
    }

    pub fn per_cpu_second(&self) -> f64 {
        self.requests as f64 / self.cpu_seconds
    }
}

/// A round: vespid then wrk (None when wrk is not available).
pub struct Round {
    pub vespid: Result<Run, String>,
    pub wrk: Option<Result<Run, String>>,
}

impl Round {
    /// vespid's requests per CPU-second over wrk's, when both ran.
    pub fn ratio(&self) -> Option<f64> {
        match (&self.vespid, &self.wrk) {
            (Ok(v), Some(Ok(w))) => Some(v.per_cpu_second() / w.per_cpu_second()),
            _ => None,
        }
    }
}

/// Makes sure `wrk` is on PATH, installing it with apt-get if not; the error says why it is not.
pub fn ensure_wrk() -> Result<(), String> {
    if on_path("wrk") {
        return Ok(());
    }
    println!("bench: wrk is not installed; apt-get update && apt-get install -y wrk");
    for args in [&["update"][..], &["install", "-y", "wrk"][..]] {
        let out = Command::new("apt-get")
            .args(args)
            .env("DEBIAN_FRONTEND", "noninteractive")
            .output()
            .map_err(|err| format!("cannot run apt-get: {err}"))?;
        if !out.status.success() {
            let stderr = String::from_utf8_lossy(&out.stderr);
            let last = stderr.lines().rev().find(|l| !l.trim().is_empty()).unwrap_or("").trim();
            return Err(format!("`apt-get {}` failed ({}): {last}", args.join(" "), out.status));
        }
    }
    if on_path("wrk") { Ok(()) } else { Err("apt-get installed wrk but it is not on PATH".into()) }
}

fn on_path(program: &str) -> bool {
    std::env::var_os("PATH").is_some_and(|path| std::env::split_paths(&path).any(|dir| dir.join(program).is_file()))
}

/// Runs `rounds` interleaved vespid/wrk rounds of `seconds` each against `url`.
pub fn measure(vespid: &Path, hello: &Path, url: &str, rounds: u32, seconds: u64, wrk: bool, tmp: &Path) -> Vec<Round> {
    let ticks = clock_ticks();
    warm_up(vespid, hello, url, tmp);
    (1..=rounds)
        .map(|round| {
            println!("bench: throughput round {round}/{rounds}: vespid");
            let vespid = run_vespid(vespid, hello, url, seconds, ticks, &tmp.join(format!("vespid-{round}")))
                .map_err(|err| format!("{err:#}"));
            let wrk = wrk.then(|| {
                println!("bench: throughput round {round}/{rounds}: wrk");
                run_wrk(url, seconds, ticks, &tmp.join(format!("wrk-{round}"))).map_err(|err| format!("{err:#}"))
            });
            Round { vespid, wrk }
        })
        .collect()
}

/// One short run so the compiled-plugin cache is filled before anything is timed.
fn warm_up(vespid: &Path, hello: &Path, url: &str, tmp: &Path) {
    let mut command = Command::new(vespid);
    command.arg("run").arg(hello).args(["--vus", "1", "--iterations", "1", "--quiet", "--env"]);
    command.arg(format!("BASE_URL={url}"));
    let outcome =
        Spawned::start(&mut command, &tmp.join("warm-up"), Duration::from_secs(300)).and_then(|mut c| c.wait());
    match outcome {
        Ok(done) if done.status.success() => {}
        Ok(done) => println!("bench: warning: the warm-up run failed: {}", done.failure()),
        Err(err) => println!("bench: warning: the warm-up run failed: {err:#}"),
    }
}

/// One vespid run of `plugin` (a component or a script) with the throughput settings.
pub fn run_vespid(vespid: &Path, plugin: &Path, url: &str, seconds: u64, ticks: f64, base: &Path) -> Result<Run> {
    let export = base.with_extension("json");
    let _ = std::fs::remove_file(&export);
    let mut command = with_cpu_time([
        "taskset".as_ref(),
        "-c".as_ref(),
        GENERATOR_CPU.as_ref(),
        vespid.as_os_str(),
        "run".as_ref(),
        plugin.as_os_str(),
    ]);
    command.args(["--vus", &CONNECTIONS.to_string(), "--duration", &format!("{seconds}s"), "--quiet"]);
    command.arg("--summary-export").arg(&export).arg("--env").arg(format!("BASE_URL={url}"));
    command.env("TOKIO_WORKER_THREADS", "1");
    let done = Spawned::start(&mut command, base, Duration::from_secs(seconds + 90))?.wait()?;
    if !done.status.success() {
        anyhow::bail!("{}", done.failure());
    }
    let (_, cpu_seconds) = split_cpu_time(&done.stdout, ticks)?;
    let export = read_export(&export)?;
    let seconds = export.test_run_duration_ms.map_or(seconds as f64, |ms| ms / 1000.0);
    Ok(Run { requests: export.http_reqs, seconds, cpu_seconds })
}

fn run_wrk(url: &str, seconds: u64, ticks: f64, base: &Path) -> Result<Run> {
    let mut command = with_cpu_time(["taskset", "-c", GENERATOR_CPU, "wrk", "-t1"]);
    command.args([format!("-c{CONNECTIONS}"), format!("-d{seconds}s"), format!("{url}/")]);
    let done = Spawned::start(&mut command, base, Duration::from_secs(seconds + 60))?.wait()?;
    if !done.status.success() {
        anyhow::bail!("{}", done.failure());
    }
    let (output, cpu_seconds) = split_cpu_time(&done.stdout, ticks)?;
    let (requests, measured) = parse_wrk(output).with_context(|| format!("unexpected wrk output: {output:?}"))?;
    Ok(Run { requests, seconds: measured.unwrap_or(seconds as f64), cpu_seconds })
}

/// From wrk's "  123456 requests in 5.00s, 12.34MB read": the count and the seconds.
fn parse_wrk(output: &str) -> Option<(u64, Option<f64>)> {
    let line = output.lines().find(|l| l.contains(" requests in "))?;
    let (count, rest) = line.trim().split_once(" requests in ")?;
    let elapsed = rest.split(',').next().and_then(parse_wrk_time);
    Some((count.trim().parse().ok()?, elapsed))
}

/// wrk's durations: `5.00s`, `1.00m`, `999.00ms`.
fn parse_wrk_time(text: &str) -> Option<f64> {
    let text = text.trim();
    let (number, scale) = if let Some(n) = text.strip_suffix("ms") {
        (n, 0.001)
    } else if let Some(n) = text.strip_suffix('s') {
        (n, 1.0)
    } else if let Some(n) = text.strip_suffix('m') {
        (n, 60.0)
    } else {
        return None;
    };
    number.parse::<f64>().ok().map(|n| n * scale)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wrk_counts_and_seconds_are_read() {
        let out = "Running 5s test @ http://127.0.0.1:1/\n  Latency 1ms\n  123456 requests in 5.01s, 12.34MB read\nRequests/sec: 1\n";
        assert_eq!(parse_wrk(out), Some((123456, Some(5.01))));
        assert_eq!(parse_wrk_time("1.00m"), Some(60.0));
        assert_eq!(parse_wrk("nothing"), None);
    }
}
