//! Part (h), issue 19 (`cargo xtask bench --sandbox-only`): does a
//! well-behaved scenario keep its rate beside hostile plugins? The hello
//! plugin at a constant arrival rate against its own demo target, alone and
//! then beside 66 misbehaving VUs (CPU loops, memory past the cap, stack
//! overflows, panics, WASI escapes, log and metric floods, huge bodies,
//! denied origins), and beside as many well-behaved VUs that never wait
//! (hello against the other target, no think time): the share the hostile
//! ones take against the share any equally busy scenario takes. vespid
//! pinned to CPU 1, the targets to CPU 0. The rate is what the steady
//! scenario's server saw over the run.

use std::fmt::Write;
use std::path::Path;
use std::process::Command;
use std::time::Duration;

use anyhow::{Context, Result, bail};

use super::proc::{Spawned, read_export};
use crate::compare_k6::fetch_stats;
use crate::tasks::DemoTarget;

/// Iterations a second the steady scenario is asked for.
const RATE: u32 = 1000;
/// VUs of each hostile (and each well-behaved) scenario.
const VUS_EACH: usize = 6;

/// What runs beside the steady scenario.
#[derive(Clone, Copy, PartialEq)]
enum Beside {
    Nothing,
    Hostile,
    /// As many VUs as the hostile ones, well-behaved, never waiting.
    Busy,
}

/// The busy well-behaved scenarios: as many as the hostile ones, each
/// hello against `away` with no think time.
fn busy(away: &str) -> Vec<(String, &'static str, String)> {
    (0..hostile(away).len()).map(|n| (format!("busy_{n}"), "hello.wasm", format!("BASE_URL = \"{away}\""))).collect()
}

/// The hostile scenarios: (name, plugin file, env).
fn hostile(away: &str) -> Vec<(String, &'static str, String)> {
    let mut all: Vec<(String, &'static str, String)> =
        ["loop", "alloc", "recurse", "deep-stack", "read-file", "socket", "lookup"]
            .into_iter()
            .map(|fault| (fault.replace('-', "_"), "runaway.wasm", format!("FAULT = \"{fault}\"")))
            .collect();
    all.push(("panics".into(), "flaky_panic.wasm", format!("BASE_URL = \"{away}\"")));
    all.push(("floods".into(), "metrics_flood.wasm", "METRIC_NAMES = \"50\", LOG_LINES = \"500\"".into()));
    all.push(("huge_body".into(), "http_probe.wasm", format!("URL = \"{away}/bytes/2000000\"")));
    all.push(("denied".into(), "hello.wasm", "BASE_URL = \"http://127.0.0.1:9\"".into()));
    all
}

/// The steady scenario's achieved rate alone and beside the hostile ones,
/// as a markdown section.
pub fn part(vespid: &Path, plugins: &Path, seconds: u64, tmp: &Path) -> Result<String> {
    let mut rates = Vec::new();
    for beside in [Beside::Nothing, Beside::Hostile, Beside::Busy] {
        let steady = DemoTarget::start(vespid, Some("0"))?;
        let away = DemoTarget::start(vespid, Some("0"))?;
        let vus = VUS_EACH * hostile("").len();
        let label = match beside {
            Beside::Nothing => "alone".to_string(),
            Beside::Hostile => format!("beside {vus} hostile VUs"),
            Beside::Busy => format!("beside {vus} well-behaved VUs that never wait"),
        };
        println!("bench: sandbox: the steady scenario {label} for {seconds} s");
        let mut file = format!(
            "iteration-cpu-limit = \"300ms\"\nvu-memory-limit = \"32MiB\"\nmax-response-body = \"1MiB\"\nmax-metrics = 200\n\
             [scenarios.steady]\nplugin = {:?}\nexecutor = \"constant-arrival-rate\"\nrate = {RATE}\nduration = \"{seconds}s\"\n\
             pre-allocated-vus = 50\nmax-vus = 200\nenv = {{ BASE_URL = \"{}\" }}\n",
            plugins.join("hello.wasm"),
            steady.url.trim_end_matches('/'),
        );
        let neighbours = match beside {
            Beside::Nothing => Vec::new(),
            Beside::Hostile => hostile(away.url.trim_end_matches('/')),
            Beside::Busy => busy(away.url.trim_end_matches('/')),
        };
        for (name, plugin, env) in neighbours {
            file += &format!(
                "[scenarios.{name}]\nplugin = {:?}\nexecutor = \"constant-vus\"\nvus = {VUS_EACH}\nduration = \"{seconds}s\"\n\
                 env = {{ {env} }}\n",
                plugins.join(plugin)
            );
        }
        if beside == Beside::Hostile {
            file += "[scenarios.denied.permissions]\nallowed-hosts = [\"10.0.0.0/8\"]\n";
        }
        let dir = tmp.join(format!("sandbox-{label}").replace(' ', "-"));
        std::fs::create_dir_all(&dir)?;
        let (run_file, export) = (dir.join("run.toml"), dir.join("summary.json"));
        std::fs::write(&run_file, file)?;
        let mut command = Command::new("taskset");
        command.args(["-c", "1"]).arg(vespid).arg("run").arg(&run_file);
        command.args(["--quiet", "--address", "off", "--summary-export"]).arg(&export);
        let done = Spawned::start(&mut command, &dir.join("out"), Duration::from_secs(seconds + 120))?.wait()?;
        if !done.status.success() {
            bail!("vespid {label}: {}", done.failure());
        }
        let served = fetch_stats(&steady.url)?["requests"].as_f64().context("requests in /__stats")?;
        let elapsed = read_export(&export)?.test_run_duration_ms.map_or(seconds as f64, |ms| ms / 1000.0);
        rates.push((label, served / elapsed));
    }
    let mut md = format!("\n### Sandbox (issue 19): a steady scenario beside hostile plugins, {seconds} s\n\n");
    md += "The hello plugin at a constant arrival rate of 1000 iterations/s (one GET each); rate = requests its own \
           demo target saw / test run duration. Hostile: 11 scenarios of 6 VUs each (runaway loop, alloc, recurse, \
           deep-stack, read-file, socket, lookup; flaky-panic; metrics-flood; a 2 MB body over a 1 MiB cap; a \
           denied origin), iteration-cpu-limit 300ms, vu-memory-limit 32MiB. Well-behaved: 11 scenarios of 6 VUs \
           each of hello against the other target, no think time. vespid on CPU 1, targets on CPU 0.\n\n";
    md += "| Steady scenario | Requests/s |\n|---|---:|\n";
    for (label, rate) in &rates {
        let _ = writeln!(md, "| {label} | {rate:.0} |");
    }
    if let [(_, alone), (_, hostile), (_, busy)] = rates.as_slice() {
        let _ = writeln!(md, "\nbeside hostile / alone: {:.3}", hostile / alone);
        let _ = writeln!(md, "beside well-behaved / alone: {:.3}", busy / alone);
        let _ = writeln!(md, "beside hostile / beside well-behaved: {:.3}", hostile / busy);
    }
    Ok(md)
}
