//! Part (g), issue 18 (`cargo xtask bench --sql-only`): examples/rust/sql-bank
//! against pgbench's built-in TPC-B-like script, on one throwaway
//! PostgreSQL cluster (host/tests/pg-cluster.sh) pinned to CPU 0, each
//! load generator pinned to CPU 1, interleaved rounds on the same database
//! and scale; then memory per VU of sql-bank and of the HTTP probe, both
//! at one iteration a second.

use std::fmt::Write;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use anyhow::{Context, Result, bail};

use super::proc::{Spawned, clock_ticks, read_export, split_cpu_time, with_cpu_time};
use super::throughput::Run;
use crate::tasks::{DemoTarget, root};

/// The connections (pgbench `-c`) and VUs of a round.
const CLIENTS: u32 = 8;
const PASSWORD: &str = "bench";

/// Load-generator CPU per transaction, in microseconds (a round's
/// `requests` are its transactions).
fn cpu_us_per_transaction(run: &Run) -> f64 {
    1e6 / run.per_cpu_second()
}

/// The cluster, stopped when dropped.
struct Cluster {
    dir: PathBuf,
    port: u16,
}

impl Cluster {
    fn start(dir: PathBuf) -> Result<Cluster> {
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).with_context(|| format!("cannot create {}", dir.display()))?;
        let port = std::net::TcpListener::bind("127.0.0.1:0")?.local_addr()?.port();
        let mut command = Command::new("taskset");
        command.args(["-c", "0"]).arg(script()).arg("start").arg(&dir).arg(port.to_string()).arg(PASSWORD);
        crate::tasks::run(&mut command).context("cannot start PostgreSQL (cargo xtask setup installs it)")?;
        Ok(Cluster { dir, port })
    }

    fn url(&self) -> String {
        format!("postgres://bank:{PASSWORD}@127.0.0.1:{}/postgres", self.port)
    }

    fn pgbench(&self, args: &[&str]) -> Command {
        let mut command = with_cpu_time(["taskset", "-c", "1", "pgbench", "-h", "127.0.0.1", "-U", "bank"]);
        command.args(["-p", &self.port.to_string()]).args(args).arg("postgres").env("PGPASSWORD", PASSWORD);
        command
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        let _ = Command::new(script()).arg("stop").arg(&self.dir).status();
    }
}

fn script() -> PathBuf {
    root().join("host/tests/pg-cluster.sh")
}

/// The rounds and the memory runs, as a markdown section.
pub fn part(
    vespid: &Path,
    plugins: &Path,
    rounds: u32,
    seconds: u64,
    vus: u32,
    hold: u64,
    tmp: &Path,
) -> Result<String> {
    let bank = plugins.join("sql_bank.wasm");
    let probe = plugins.join("http_probe.wasm");
    let cluster = Cluster::start(tmp.join("pg"))?;
    let ticks = clock_ticks();
    println!("bench: PostgreSQL on 127.0.0.1:{} (CPU 0); pgbench -i -s 1", cluster.port);
    let init = cluster.pgbench(&["-i", "-q", "-s", "1"]).output()?;
    if !init.status.success() {
        bail!("pgbench -i failed: {}", String::from_utf8_lossy(&init.stderr));
    }
    let mut results = Vec::new();
    for round in 1..=rounds {
        println!("bench: SQL round {round}/{rounds}: pgbench");
        let pgbench = run_pgbench(&cluster, seconds, ticks, &tmp.join(format!("pgbench-{round}")));
        println!("bench: SQL round {round}/{rounds}: vespid sql-bank");
        let vespid_run = run_bank(vespid, &bank, &cluster, seconds, ticks, &tmp.join(format!("sql-bank-{round}")));
        results.push((pgbench.map_err(|e| format!("{e:#}")), vespid_run.map_err(|e| format!("{e:#}"))));
    }
    let target = DemoTarget::start(vespid, Some("0"))?;
    let memory = [("sql-bank", &bank), ("http-probe", &probe)].map(|(name, plugin)| {
        println!("bench: SQL memory: {name} with 1 and {vus} VUs for {hold} s");
        let sources = (cluster.url(), target.url.trim_end_matches('/').to_string());
        let per_vu = private_per_vu_kib(vespid, plugin, &sources, vus, hold, &tmp.join(format!("memory-{name}")));
        (name, per_vu.map_err(|e| format!("{e:#}")))
    });
    Ok(report(rounds, seconds, vus, hold, &results, &memory))
}

fn run_pgbench(cluster: &Cluster, seconds: u64, ticks: f64, base: &Path) -> Result<Run> {
    let (clients, time) = (CLIENTS.to_string(), seconds.to_string());
    let mut command = cluster.pgbench(&["-c", &clients, "-j", "1", "-T", &time, "-n"]);
    let done = Spawned::start(&mut command, base, Duration::from_secs(seconds + 60))?.wait()?;
    if !done.status.success() {
        bail!("{}", done.failure());
    }
    let (output, cpu_seconds) = split_cpu_time(&done.stdout, ticks)?;
    let field = |prefix: &str| {
        output.lines().find_map(|line| line.strip_prefix(prefix)).with_context(|| format!("no {prefix:?} in {output}"))
    };
    let transactions: u64 = field("number of transactions actually processed: ")?.trim().parse()?;
    // pgbench's own clock: transactions / tps (without the initial connections).
    let tps: f64 = field("tps = ")?.split_whitespace().next().unwrap_or_default().parse()?;
    Ok(Run { requests: transactions, seconds: transactions as f64 / tps, cpu_seconds })
}

fn run_bank(vespid: &Path, bank: &Path, cluster: &Cluster, seconds: u64, ticks: f64, base: &Path) -> Result<Run> {
    let export = base.with_extension("json");
    let _ = std::fs::remove_file(&export);
    let mut command = with_cpu_time([
        "taskset".as_ref(),
        "-c".as_ref(),
        "1".as_ref(),
        vespid.as_os_str(),
        "run".as_ref(),
        bank.as_os_str(),
    ]);
    command.args(["--vus", &CLIENTS.to_string(), "--duration", &format!("{seconds}s"), "--quiet", "--address", "off"]);
    command.arg("--summary-export").arg(&export).args(["--datasource", &format!("main={}", cluster.url())]);
    command.env("TOKIO_WORKER_THREADS", "1");
    let done = Spawned::start(&mut command, base, Duration::from_secs(seconds + 90))?.wait()?;
    if !done.status.success() {
        bail!("{}", done.failure());
    }
    let (_, cpu_seconds) = split_cpu_time(&done.stdout, ticks)?;
    let export = read_export(&export)?;
    let seconds = export.test_run_duration_ms.map_or(seconds as f64, |ms| ms / 1000.0);
    // One transaction per iteration; an iteration fails when its transaction did.
    Ok(Run { requests: export.iterations - export.iterations_failed, seconds, cpu_seconds })
}

/// Marginal private memory per VU: (M(vus) − M(1)) / (vus − 1), each VU
/// making one iteration a second (`think-time`), the database and the
/// demo target both named so the plugins differ only in what they use.
fn private_per_vu_kib(
    vespid: &Path,
    plugin: &Path,
    (db, url): &(String, String),
    vus: u32,
    hold: u64,
    base: &Path,
) -> Result<f64> {
    let mut private = Vec::new();
    for count in [1, vus] {
        let dir = base.with_extension(count.to_string());
        std::fs::create_dir_all(&dir)?;
        let run_file = dir.join("run.toml");
        let text = format!(
            "[scenarios.paced]\nexecutor = \"constant-vus\"\nplugin = {plugin:?}\nvus = {count}\nduration = \"{hold}s\"\n\
             think-time = \"1s\"\nenv = {{ URL = \"{url}/\" }}\n\n[datasources.main]\nurl = \"{db}\"\nmax-connections = 8\n"
        );
        std::fs::write(&run_file, text)?;
        let mut command = Command::new("taskset");
        command.args(["-c", "1"]).arg(vespid).arg("run").arg(&run_file).args(["--quiet", "--address", "off"]);
        command.env("TOKIO_WORKER_THREADS", "1");
        let mut child = Spawned::start(&mut command, &dir.join("out"), Duration::from_secs(hold + 120))?;
        std::thread::sleep(Duration::from_secs(hold) * 2 / 3);
        let sample = super::scripts::memory(child.pid()).context("the run ended before its memory was read")?;
        let done = child.wait()?;
        if !done.status.success() {
            bail!("{}", done.failure());
        }
        private.push(sample.private as f64);
    }
    Ok((private[1] - private[0]) / f64::from(vus - 1))
}

type Round = (Result<Run, String>, Result<Run, String>);

fn report(
    rounds: u32,
    seconds: u64,
    vus: u32,
    hold: u64,
    results: &[Round],
    memory: &[(&str, Result<f64, String>)],
) -> String {
    let mut md = String::new();
    let _ = writeln!(
        md,
        "\n### SQL (issue 18): sql-bank against pgbench, {CLIENTS} clients, {seconds} s, {rounds} rounds\n"
    );
    let _ = writeln!(
        md,
        "```sh\n# PostgreSQL 15 (host/tests/pg-cluster.sh: fsync off) pinned to CPU 0; pgbench -i -s 1 once; per round:"
    );
    let _ = writeln!(md, "taskset -c 1 pgbench -c {CLIENTS} -j 1 -T {seconds} -n postgres");
    let _ = writeln!(
        md,
        "TOKIO_WORKER_THREADS=1 taskset -c 1 vespid run sql_bank.wasm --vus {CLIENTS} --duration {seconds}s --datasource main=postgres://…\n```\n"
    );
    let _ = writeln!(
        md,
        "pgbench sends its script with the simple query protocol (its default, `-M simple`); sql-bank's statements \
         are prepared once per connection (sqlx).\n"
    );
    let _ = writeln!(md, "| Round | pgbench TPS | pgbench CPU µs/tx | vespid TPS | vespid CPU µs/tx | TPS ratio |");
    let _ = writeln!(md, "|---:|---:|---:|---:|---:|---:|");
    let mut ratios = Vec::new();
    for (round, (pgbench, bank)) in results.iter().enumerate() {
        let cells = |run: &Result<Run, String>| match run {
            Ok(run) => (format!("{:.0}", run.per_second()), format!("{:.0}", cpu_us_per_transaction(run))),
            Err(why) => (format!("failed: {why}"), String::new()),
        };
        let ratio = match (pgbench, bank) {
            (Ok(p), Ok(v)) => Some(v.per_second() / p.per_second()),
            _ => None,
        };
        ratios.extend(ratio);
        let ((p_tps, p_cpu), (v_tps, v_cpu)) = (cells(pgbench), cells(bank));
        let ratio = ratio.map_or("—".to_string(), |r| format!("{r:.2}"));
        let _ = writeln!(md, "| {} | {p_tps} | {p_cpu} | {v_tps} | {v_cpu} | {ratio} |", round + 1);
    }
    ratios.sort_by(f64::total_cmp);
    if let Some(median) = ratios.get(ratios.len() / 2) {
        let verdict = if *median >= 0.8 { "met" } else { "not met" };
        let _ = writeln!(md, "\nvespid/pgbench TPS: median {median:.2} (target >= 0.8: {verdict})");
    }
    let _ =
        writeln!(md, "\n#### Memory per VU at one iteration a second ({vus} VUs beside 1, {hold} s, private memory)\n");
    let _ = writeln!(md, "| Plugin | Private per VU |\n|---|---:|");
    for (name, per_vu) in memory {
        let cell = per_vu.as_ref().map_or_else(|why| format!("failed: {why}"), |kib| format!("{kib:.1} KiB"));
        let _ = writeln!(md, "| {name} | {cell} |");
    }
    if let [(_, Ok(sql)), (_, Ok(http))] = memory {
        let verdict = if sql - http <= 2.0 { "met" } else { "not met" };
        let _ = writeln!(md, "\nsql-bank − http-probe: {:.1} KiB per VU (target <= 2 KiB: {verdict})", sql - http);
    }
    md
}
