//! Part (c): scheduler precision. Runs constant-arrival-rate scenarios of
//! hello.wasm at fixed rates with many free VUs and reads the achieved
//! rate and the `iteration_start_delay` percentiles from the summary export.

use std::path::Path;
use std::process::Command;
use std::time::Duration;

use anyhow::{Context, Result, bail};

use super::proc::{Spawned, read_export};

/// VUs pre-allocated per 1,000 iterations/s, so VUs are free at every start.
const VUS_PER_THOUSAND: u32 = 20;

/// What one rate gave.
pub struct RateRun {
    pub rate: u32,
    pub seconds: u64,
    pub outcome: Result<Precision, String>,
}

pub struct Precision {
    pub started: u64,
    pub dropped: u64,
    pub delay_p50_ms: f64,
    pub delay_p99_ms: f64,
}

impl RateRun {
    /// Iterations started per second over the scheduled duration.
    pub fn achieved(&self) -> Option<f64> {
        self.outcome.as_ref().ok().map(|p| p.started as f64 / self.seconds as f64)
    }
}

/// One run per rate, one after the other.
pub fn measure(vespid: &Path, hello: &Path, url: &str, rates: &[u32], seconds: u64, tmp: &Path) -> Vec<RateRun> {
    rates
        .iter()
        .map(|&rate| {
            println!("bench: scheduler precision at {rate}/s for {seconds} s");
            let outcome = run_once(vespid, hello, url, rate, seconds, &tmp.join(format!("rate-{rate}")))
                .map_err(|err| format!("{err:#}"));
            RateRun { rate, seconds, outcome }
        })
        .collect()
}

/// The run file the bench writes: also the command line of the report.
pub fn run_file(hello: &Path, url: &str, rate: u32, seconds: u64) -> String {
    let vus = (rate / 1000).max(1) * VUS_PER_THOUSAND;
    format!(
        "[scenarios.precision]\nplugin = {hello:?}\nexecutor = \"constant-arrival-rate\"\nrate = {rate}\nduration = \"{seconds}s\"\npre-allocated-vus = {vus}\nmax-vus = {}\nenv = {{ BASE_URL = {url:?} }}\n",
        vus * 2
    )
}

fn run_once(vespid: &Path, hello: &Path, url: &str, rate: u32, seconds: u64, base: &Path) -> Result<Precision> {
    let file = base.with_extension("toml");
    std::fs::write(&file, run_file(hello, url, rate, seconds))
        .with_context(|| format!("cannot write {}", file.display()))?;
    let export = base.with_extension("json");
    let _ = std::fs::remove_file(&export);
    let mut command = Command::new(vespid);
    command.arg("run").arg(&file).arg("--quiet").arg("--summary-export").arg(&export);
    let done = Spawned::start(&mut command, base, Duration::from_secs(seconds + 90))?.wait()?;
    if !done.status.success() {
        bail!("{}", done.failure());
    }
    let export = read_export(&export)?;
    let (delay_p50_ms, delay_p99_ms) = export.start_delay_ms.context("the export has no iteration_start_delay")?;
    Ok(Precision { started: export.iterations, dropped: export.dropped_iterations, delay_p50_ms, delay_p99_ms })
}
