//! Parts (e) and (f), measured (scripts_report.rs writes them up): a
//! script runtime against the peer whose scripts it runs: JavaScript against k6 1.1.0 (issue 16), Python against Locust
//! 2.47.0 (issue 17). Throughput: the same one-GET script under the peer and
//! under vespid, beside the Rust hello plugin, in interleaved rounds, each
//! generator pinned to CPU 1, in requests per generator CPU-second. VU start
//! and memory: the paced script (the same with a 1 s wait) at 1 and N VUs
//! under both, pinned the same way: the time from spawn to the server's
//! first request, vespid's own `vus_ready_ms`, and RSS, PSS and private
//! memory from `/proc/PID/smaps_rollup`, with marginal per-VU figures
//! (M(N) − M(1)) / (N − 1).

use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::Path;
use std::process::Command;
use std::thread::sleep;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};

use super::proc::{Spawned, clock_ticks, read_export, split_cpu_time, with_cpu_time};
use super::throughput::{CONNECTIONS, GENERATOR_CPU, Run, run_vespid};

/// How often smaps_rollup is read.
const SAMPLE_EVERY: Duration = Duration::from_millis(500);
/// How often the server's request count is read while waiting for the first request.
const FIRST_REQUEST_POLL: Duration = Duration::from_millis(5);

/// The peer a script runtime is measured against.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Peer {
    K6,
    Locust,
}

/// What one part measures: the peer, the scripts, the issue's targets.
pub struct Part {
    pub peer: Peer,
    /// The issue the part's figures answer, for the heading.
    pub heading: &'static str,
    /// The language's short name ("JS", "Python").
    pub language: &'static str,
    /// The scripts as the report names them.
    pub script_name: &'static str,
    pub paced_name: &'static str,
    /// Targets: requests per CPU-second over the peer's and over the Rust
    /// plugin's, private memory per VU, start per VU.
    pub vs_peer: f64,
    pub vs_rust: f64,
    pub private_kib: f64,
    pub start_ms: f64,
}

/// Issue 16: JavaScript against k6.
pub const JS: Part = Part {
    peer: Peer::K6,
    heading: "JavaScript scenarios (issue 16)",
    language: "JS",
    script_name: "xtask/k6-scripts/get-check.js",
    paced_name: "xtask/k6-scripts/get-check-paced.js",
    vs_peer: 3.0,
    vs_rust: 0.6,
    private_kib: 200.0,
    start_ms: 0.5,
};

/// Issue 17: Python against Locust (FastHttpUser, one process).
pub const PYTHON: Part = Part {
    peer: Peer::Locust,
    heading: "Python scenarios (issue 17)",
    language: "Python",
    script_name: "xtask/locust-scripts/get.py",
    paced_name: "xtask/locust-scripts/get-paced.py",
    vs_peer: 3.0,
    vs_rust: 0.4,
    private_kib: 2048.0,
    start_ms: 5.0,
};

/// The load generators of a part.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Tool {
    Peer(Peer),
    VespidScript,
    VespidRust,
}

impl Tool {
    pub fn label(self, part: &Part) -> String {
        match self {
            Tool::Peer(Peer::K6) => "k6".into(),
            Tool::Peer(Peer::Locust) => "Locust".into(),
            Tool::VespidScript => format!("vespid {}", part.language),
            Tool::VespidRust => "vespid Rust hello".into(),
        }
    }

    fn file_label(self, part: &Part) -> String {
        self.label(part).to_lowercase().replace(' ', "-")
    }
}

/// What a part runs with.
pub struct Setup<'a> {
    pub part: &'a Part,
    /// None when the peer could not be installed (its columns stay empty).
    pub peer: Option<&'a Path>,
    pub vespid: &'a Path,
    pub hello: &'a Path,
    pub script: &'a Path,
    pub paced: &'a Path,
    pub url: &'a str,
    pub tmp: &'a Path,
}

/// One interleaved round: the peer, vespid on the script, vespid Rust.
pub struct Round {
    pub peer: Option<Result<Run, String>>,
    pub script: Result<Run, String>,
    pub rust: Result<Run, String>,
}

impl Round {
    pub fn script_vs_peer(&self) -> Option<f64> {
        match (&self.script, &self.peer) {
            (Ok(script), Some(Ok(peer))) => Some(script.per_cpu_second() / peer.per_cpu_second()),
            _ => None,
        }
    }

    pub fn script_vs_rust(&self) -> Option<f64> {
        match (&self.script, &self.rust) {
            (Ok(script), Ok(rust)) => Some(script.per_cpu_second() / rust.per_cpu_second()),
            _ => None,
        }
    }
}

/// Runs `rounds` interleaved rounds of `seconds` each.
pub fn measure_throughput(s: &Setup, rounds: u32, seconds: u64) -> Vec<Round> {
    let ticks = clock_ticks();
    let language = s.part.language;
    warm_up(s);
    (1..=rounds)
        .map(|round| {
            let base = |tool: Tool| s.tmp.join(format!("{}-{round}", tool.file_label(s.part)));
            let peer = s.peer.map(|program| {
                let tool = Tool::Peer(s.part.peer);
                println!("bench: {language} round {round}/{rounds}: {}", tool.label(s.part));
                let run = match s.part.peer {
                    Peer::K6 => run_k6(program, s.script, s.url, seconds, ticks, &base(tool)),
                    Peer::Locust => run_locust(program, s.script, s.url, seconds, ticks, &base(tool)),
                };
                run.map_err(|err| format!("{err:#}"))
            });
            println!("bench: {language} round {round}/{rounds}: vespid {language}");
            let script = run_vespid(s.vespid, s.script, s.url, seconds, ticks, &base(Tool::VespidScript))
                .map_err(|err| format!("{err:#}"));
            println!("bench: {language} round {round}/{rounds}: vespid Rust hello");
            let rust = run_vespid(s.vespid, s.hello, s.url, seconds, ticks, &base(Tool::VespidRust))
                .map_err(|err| format!("{err:#}"));
            Round { peer, script, rust }
        })
        .collect()
}

/// One iteration of the script, so the language runtime is compiled (and
/// cached) before anything is timed.
fn warm_up(s: &Setup) {
    let mut command = Command::new(s.vespid);
    command.arg("run").arg(s.script).args(["--vus", "1", "--iterations", "1", "--quiet", "--address", "off"]);
    command.arg("--env").arg(format!("BASE_URL={}", s.url));
    let base = s.tmp.join(format!("{}-warm-up", s.part.language.to_lowercase()));
    let outcome = Spawned::start(&mut command, &base, Duration::from_secs(300)).and_then(|mut c| c.wait());
    match outcome {
        Ok(done) if done.status.success() => {}
        Ok(done) => println!("bench: warning: the {} warm-up run failed: {}", s.part.language, done.failure()),
        Err(err) => println!("bench: warning: the {} warm-up run failed: {err:#}", s.part.language),
    }
}

/// The k6 command line common to every run: no usage report (loopback
/// only), no colours, no progress, its REST API on a free port (not 6565,
/// which a parallel run may hold).
pub fn k6_command(k6: &Path) -> Vec<std::ffi::OsString> {
    let mut args: Vec<std::ffi::OsString> = vec![k6.into(), "run".into()];
    args.extend(["--quiet", "--no-usage-report", "--no-color", "--address", "127.0.0.1:0"].map(Into::into));
    args
}

fn run_k6(k6: &Path, script: &Path, url: &str, seconds: u64, ticks: f64, base: &Path) -> Result<Run> {
    let export = base.with_extension("json");
    let _ = std::fs::remove_file(&export);
    let mut args: Vec<std::ffi::OsString> = vec!["taskset".into(), "-c".into(), GENERATOR_CPU.into()];
    args.extend(k6_command(k6));
    let mut command = with_cpu_time(args);
    command.args(["--vus", &CONNECTIONS.to_string(), "--duration", &format!("{seconds}s")]);
    command.arg("--summary-export").arg(&export).args(["-e", &format!("BASE_URL={url}")]).arg(script);
    command.env("K6_NO_USAGE_REPORT", "true");
    let done = Spawned::start(&mut command, base, Duration::from_secs(seconds + 90))?.wait()?;
    if !done.status.success() {
        bail!("{}", done.failure());
    }
    let (_, cpu_seconds) = split_cpu_time(&done.stdout, ticks)?;
    let text = std::fs::read_to_string(&export).with_context(|| format!("cannot read {}", export.display()))?;
    let json: serde_json::Value = serde_json::from_str(&text).context("k6's summary export is not JSON")?;
    let requests = json.pointer("/metrics/http_reqs/count").and_then(serde_json::Value::as_f64).unwrap_or(0.0);
    let rate = json.pointer("/metrics/http_reqs/rate").and_then(serde_json::Value::as_f64).unwrap_or(0.0);
    // k6's export has no duration; its rate is the count over the test's.
    let measured = if rate > 0.0 { requests / rate } else { seconds as f64 };
    Ok(Run { requests: requests as u64, seconds: measured, cpu_seconds })
}

/// The Locust command line common to every run: headless, every user
/// spawned within a second, the summary only, stats as CSV files.
fn locust_command(
    locust: &Path,
    script: &Path,
    url: &str,
    users: u32,
    seconds: u64,
    csv: &Path,
) -> Vec<std::ffi::OsString> {
    let mut args: Vec<std::ffi::OsString> = vec![locust.into(), "-f".into(), script.into()];
    let rate = users.to_string();
    args.extend(
        ["--headless", "--only-summary", "-u", &rate, "-r", &rate, "-t", &format!("{seconds}s"), "-H", url]
            .map(Into::into),
    );
    args.extend(["--csv".into(), csv.into()]);
    args
}

fn run_locust(locust: &Path, script: &Path, url: &str, seconds: u64, ticks: f64, base: &Path) -> Result<Run> {
    let csv = base.with_extension("");
    let stats = std::path::PathBuf::from(format!("{}_stats.csv", csv.display()));
    let _ = std::fs::remove_file(&stats);
    let mut args: Vec<std::ffi::OsString> = vec!["taskset".into(), "-c".into(), GENERATOR_CPU.into()];
    args.extend(locust_command(locust, script, url, CONNECTIONS, seconds, &csv));
    let mut command = with_cpu_time(args);
    let done = Spawned::start(&mut command, base, Duration::from_secs(seconds + 90))?.wait()?;
    let (_, cpu_seconds) = split_cpu_time(&done.stdout, ticks)?;
    let text = std::fs::read_to_string(&stats)
        .with_context(|| format!("Locust wrote no {}: {}", stats.display(), done.failure()))?;
    let requests = aggregated_requests(&text).context("no Aggregated row in Locust's stats CSV")?;
    Ok(Run { requests, seconds: seconds as f64, cpu_seconds })
}

/// The "Request Count" of the "Aggregated" row of Locust's `_stats.csv`.
fn aggregated_requests(csv: &str) -> Option<u64> {
    let mut lines = csv.lines();
    let header: Vec<&str> = lines.next()?.split(',').map(|cell| cell.trim_matches('"')).collect();
    let count = header.iter().position(|cell| *cell == "Request Count")?;
    let row = lines.find(|line| line.contains("\"Aggregated\"") || line.contains(",Aggregated,"))?;
    row.split(',').nth(count)?.trim_matches('"').parse().ok()
}

/// Memory of a process from `/proc/PID/smaps_rollup`, in KiB.
#[derive(Clone, Copy, Default)]
pub struct Memory {
    pub rss: u64,
    pub pss: u64,
    /// Private_Clean + Private_Dirty.
    pub private: u64,
}

/// The process's memory from `/proc/PID/smaps_rollup`.
pub(super) fn memory(pid: u32) -> Option<Memory> {
    parse_smaps_rollup(&std::fs::read_to_string(format!("/proc/{pid}/smaps_rollup")).ok()?)
}

fn parse_smaps_rollup(text: &str) -> Option<Memory> {
    let field = |name: &str| -> Option<u64> {
        let line = text.lines().find(|l| l.starts_with(name) && l[name.len()..].starts_with(':'))?;
        line.split_whitespace().nth(1)?.parse().ok()
    };
    Some(Memory { rss: field("Rss")?, pss: field("Pss")?, private: field("Private_Clean")? + field("Private_Dirty")? })
}

/// One start-and-memory run.
pub struct VuSample {
    /// From spawn to the server's first request: the tool's start plus every VU's initialisation.
    pub first_request_ms: f64,
    /// vespid's `vus_ready_ms` (None for k6).
    pub vus_ready_ms: Option<f64>,
    pub steady: Memory,
    pub steady_at: Duration,
}

/// A run of one tool with N VUs, or why it gave no figures.
pub struct VuRun {
    pub tool: Tool,
    pub vus: u32,
    pub outcome: Result<VuSample, String>,
}

/// Marginal per-VU figures of a run against the tool's 1-VU baseline.
pub struct PerVu {
    pub start_ms: f64,
    pub rss_kib: f64,
    pub pss_kib: f64,
    pub private_kib: f64,
}

impl VuRun {
    pub fn per_vu(&self, baseline: &VuRun) -> Option<PerVu> {
        let (Ok(n), Ok(one)) = (&self.outcome, &baseline.outcome) else { return None };
        if self.vus <= baseline.vus {
            return None;
        }
        let extra = f64::from(self.vus - baseline.vus);
        let kib = |a: u64, b: u64| (a as f64 - b as f64) / extra;
        Some(PerVu {
            start_ms: (n.first_request_ms - one.first_request_ms) / extra,
            rss_kib: kib(n.steady.rss, one.steady.rss),
            pss_kib: kib(n.steady.pss, one.steady.pss),
            private_kib: kib(n.steady.private, one.steady.private),
        })
    }
}

/// 1 VU then `vus` VUs, for the peer (when present) and vespid, in turn.
pub fn measure_vus(s: &Setup, vus: u32, hold: u64) -> Vec<VuRun> {
    let mut runs = Vec::new();
    for count in [1, vus] {
        for tool in [Tool::Peer(s.part.peer), Tool::VespidScript] {
            let program = match tool {
                Tool::Peer(_) => match s.peer {
                    Some(peer) => peer,
                    None => continue,
                },
                _ => s.vespid,
            };
            let label = tool.label(s.part);
            println!("bench: {} start time and memory: {label} with {count} VUs for {hold} s", s.part.language);
            let base = s.tmp.join(format!("vus-{}-{count}", tool.file_label(s.part)));
            let outcome = run_vus(tool, program, s.paced, s.url, count, hold, &base).map_err(|err| format!("{err:#}"));
            runs.push(VuRun { tool, vus: count, outcome });
        }
    }
    runs
}

fn run_vus(tool: Tool, program: &Path, script: &Path, url: &str, vus: u32, hold: u64, base: &Path) -> Result<VuSample> {
    let export = base.with_extension("json");
    let _ = std::fs::remove_file(&export);
    // taskset execs the program: the child's pid is the generator's.
    let mut command = Command::new("taskset");
    command.args(["-c", GENERATOR_CPU]);
    match tool {
        Tool::Peer(Peer::K6) => {
            command.args(k6_command(program)).args(["-e", &format!("BASE_URL={url}")]);
            command.env("K6_NO_USAGE_REPORT", "true");
            command.args(["--vus", &vus.to_string(), "--duration", &format!("{hold}s"), "--summary-export"]);
            command.arg(&export).arg(script);
        }
        Tool::Peer(Peer::Locust) => {
            command.args(locust_command(program, script, url, vus, hold, &base.with_extension("")));
        }
        _ => {
            command.arg(program).arg("run").args(["--quiet", "--address", "off", "--env", &format!("BASE_URL={url}")]);
            command.env("TOKIO_WORKER_THREADS", "1");
            command.args(["--vus", &vus.to_string(), "--duration", &format!("{hold}s"), "--summary-export"]);
            command.arg(&export).arg(script);
        }
    }
    let before = server_requests(url)?;
    let mut child = Spawned::start(&mut command, base, Duration::from_secs(hold + 240))?;
    let start = Instant::now();
    let mut first_request = None;
    let mut samples: Vec<(Duration, Memory)> = Vec::new();
    let mut next_sample = start;
    let status = loop {
        if let Some(status) = child.poll()? {
            break status;
        }
        let now = Instant::now();
        if first_request.is_none() && server_requests(url).is_ok_and(|n| n > before) {
            first_request = Some(now - start);
        }
        if now >= next_sample {
            if let Some(memory) = memory(child.pid()) {
                samples.push((now - start, memory));
            }
            next_sample += SAMPLE_EVERY;
        }
        sleep(FIRST_REQUEST_POLL);
    };
    let done = child.finished(status)?;
    if !status.success() {
        bail!("{}", done.failure());
    }
    let first_request = first_request.context("the server saw no request")?;
    let steady_from = (Duration::from_secs(hold) * 2 / 3).max(first_request + Duration::from_secs(1));
    let &(steady_at, steady) = samples
        .iter()
        .find(|(at, _)| *at >= steady_from)
        .context("no memory sample after all VUs were running (lengthen --hold)")?;
    let vus_ready_ms = match tool {
        Tool::Peer(_) => None,
        _ => read_export(&export)?.vus_ready_ms,
    };
    Ok(VuSample { first_request_ms: first_request.as_secs_f64() * 1000.0, vus_ready_ms, steady, steady_at })
}

/// The demo target's request count, from `/__stats`.
fn server_requests(url: &str) -> Result<u64> {
    let address = url.trim_start_matches("http://").trim_end_matches('/');
    let mut stream = TcpStream::connect(address)?;
    stream.set_read_timeout(Some(Duration::from_secs(5)))?;
    write!(stream, "GET /__stats HTTP/1.1\r\nHost: {address}\r\nConnection: close\r\n\r\n")?;
    let mut response = String::new();
    stream.read_to_string(&mut response)?;
    let (_, body) = response.split_once("\r\n\r\n").context("no HTTP response from /__stats")?;
    let json: serde_json::Value = serde_json::from_str(body).context("/__stats is not JSON")?;
    json["requests"].as_u64().context("/__stats has no request count")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn smaps_rollup_gives_rss_pss_and_private() {
        let text = "55d0-7ffd ---p 00000000 00:00 0 [rollup]\nRss:               10240 kB\nPss:                8000 kB\nPss_Anon:           7000 kB\nShared_Clean:       2000 kB\nPrivate_Clean:       240 kB\nPrivate_Dirty:      8000 kB\n";
        let m = parse_smaps_rollup(text).expect("parses");
        assert_eq!((m.rss, m.pss, m.private), (10240, 8000, 8240));
        assert!(parse_smaps_rollup("Rss: 1 kB\n").is_none());
    }

    #[test]
    fn per_vu_figures_are_marginal() {
        let sample = |ms: f64, kib: u64| VuSample {
            first_request_ms: ms,
            vus_ready_ms: None,
            steady: Memory { rss: kib, pss: kib, private: kib },
            steady_at: Duration::ZERO,
        };
        let one = VuRun { tool: Tool::VespidScript, vus: 1, outcome: Ok(sample(10.0, 1000)) };
        let many = VuRun { tool: Tool::VespidScript, vus: 1001, outcome: Ok(sample(410.0, 201_000)) };
        let per = many.per_vu(&one).expect("figures");
        assert!((per.start_ms - 0.4).abs() < 1e-9);
        assert!((per.private_kib - 200.0).abs() < 1e-9);
        assert!(one.per_vu(&one).is_none());
    }

    #[test]
    fn locust_s_aggregated_request_count_is_read() {
        let csv = "\"Type\",\"Name\",\"Request Count\",\"Failure Count\"\n\"GET\",\"/\",\"120\",\"0\"\n,\"Aggregated\",\"120\",\"0\"\n";
        assert_eq!(aggregated_requests(csv), Some(120));
        assert_eq!(aggregated_requests("\"Type\"\n"), None);
    }
}
