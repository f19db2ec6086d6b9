//! Part (b): VU start time and memory. Runs vespid directly (so the child's
//! pid is vespid's) with N mostly idle VUs that each hold a connection, and
//! samples its VmRSS every 500 ms.

use std::path::Path;
use std::process::Command;
use std::thread::sleep;
use std::time::{Duration, Instant};

use anyhow::Result;

use super::proc::{Spawned, read_export, rss_kib};

/// How often VmRSS is read.
const SAMPLE_EVERY: Duration = Duration::from_millis(500);
/// Think time of each VU between its requests.
pub const PAUSE_MS: u32 = 1000;

/// What one run showed.
pub struct Sample {
    pub vus_ready_ms: Option<f64>,
    /// VmRSS at the steady point (two thirds into the hold, after all VUs were ready).
    pub rss_steady_kib: u64,
    /// When the steady sample was taken, from spawn.
    pub steady_at: Duration,
    pub rss_max_kib: u64,
    /// Set when no sample fell after all VUs were ready.
    pub note: Option<String>,
}

/// A run with N VUs, or why it gave no figures.
pub struct VuRun {
    pub vus: u32,
    pub outcome: Result<Sample, String>,
}

impl VuRun {
    /// (RSS_N − RSS_1) / (N − 1) in KiB.
    pub fn per_vu_kib(&self, baseline: &VuRun) -> Option<f64> {
        match (&self.outcome, &baseline.outcome) {
            (Ok(n), Ok(one)) if self.vus > baseline.vus => {
                Some((n.rss_steady_kib as f64 - one.rss_steady_kib as f64) / f64::from(self.vus - baseline.vus))
            }
            _ => None,
        }
    }
}

/// The 1-VU baseline, then one run per entry of `vus_list`, one after the other.
pub fn measure(vespid: &Path, probe: &Path, url: &str, vus_list: &[u32], hold: u64, tmp: &Path) -> (VuRun, Vec<VuRun>) {
    let one = |vus: u32| {
        println!("bench: start time and memory with {vus} VUs for {hold} s");
        let outcome = run_once(vespid, probe, url, vus, hold, &tmp.join(format!("vus-{vus}")));
        VuRun { vus, outcome: outcome.map_err(|err| format!("{err:#}")).and_then(|r| r) }
    };
    let baseline = one(1);
    (baseline, vus_list.iter().map(|&vus| one(vus)).collect())
}

/// Outer error: the bench could not run it; inner: vespid refused or failed.
fn run_once(
    vespid: &Path,
    probe: &Path,
    url: &str,
    vus: u32,
    hold: u64,
    base: &Path,
) -> Result<Result<Sample, String>> {
    let export = base.with_extension("json");
    let _ = std::fs::remove_file(&export);
    let mut command = Command::new(vespid);
    command.arg("run").arg(probe).args(["--vus", &vus.to_string(), "--duration", &format!("{hold}s"), "--quiet"]);
    command.arg("--summary-export").arg(&export);
    command.args(["--env", &format!("URL={url}/"), "--env", &format!("PAUSE_MS={PAUSE_MS}")]);
    // Starting thousands of instances on a busy machine can take a while; still bounded.
    let mut child = Spawned::start(&mut command, base, Duration::from_secs(hold + 240))?;
    let start = Instant::now();
    let mut samples: Vec<(Duration, u64)> = Vec::new();
    let mut next_sample = start;
    let status = loop {
        if let Some(status) = child.poll()? {
            break status;
        }
        let now = Instant::now();
        if now >= next_sample {
            if let Some(kib) = rss_kib(child.pid()) {
                samples.push((now - start, kib));
            }
            next_sample += SAMPLE_EVERY;
        }
        sleep(Duration::from_millis(20));
    };
    let done = child.finished(status)?;
    if !status.success() {
        return Ok(Err(done.failure()));
    }
    let export = read_export(&export)?;
    Ok(pick(&samples, export.vus_ready_ms, Duration::from_secs(hold) * 2 / 3))
}

/// The first sample at or after the steady point (never before all VUs were
/// ready plus a second), or the last one with a note.
fn pick(samples: &[(Duration, u64)], vus_ready_ms: Option<f64>, steady: Duration) -> Result<Sample, String> {
    let ready = vus_ready_ms.map_or(Duration::ZERO, |ms| Duration::from_secs_f64(ms.max(0.0) / 1000.0));
    let target = steady.max(ready + Duration::from_secs(1));
    let rss_max_kib = samples.iter().map(|&(_, kib)| kib).max().ok_or("no VmRSS sample: the run ended at once")?;
    let (steady_at, rss_steady_kib, note) = match samples.iter().find(|&&(at, _)| at >= target) {
        Some(&(at, kib)) => (at, kib, None),
        None => {
            let &(at, kib) = samples.last().ok_or("no VmRSS sample")?;
            (at, kib, Some(format!("no sample after {:.1} s; last one taken", target.as_secs_f64())))
        }
    };
    let note = note.or_else(|| vus_ready_ms.is_none().then(|| "the VUs never all ran together".to_string()));
    Ok(Sample { vus_ready_ms, rss_steady_kib, steady_at, rss_max_kib, note })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_steady_sample_waits_for_the_vus() {
        let samples: Vec<_> = (0..24).map(|i| (Duration::from_millis(500 * i), 1000 + i)).collect();
        let early = pick(&samples, Some(100.0), Duration::from_secs(8)).expect("samples");
        assert_eq!((early.steady_at, early.rss_steady_kib, early.rss_max_kib), (Duration::from_secs(8), 1016, 1023));
        let late = pick(&samples, Some(9200.0), Duration::from_secs(8)).expect("samples");
        assert_eq!(late.steady_at, Duration::from_millis(10500));
        assert!(pick(&[], None, Duration::from_secs(8)).is_err());
    }
}
