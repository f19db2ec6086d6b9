//! The markdown section the bench prints and writes to
//! `target/bench/latest.md`: machine, command lines, date, and the two tables.

use std::fmt::Write as _;
use std::process::Command;

use super::Settings;
use super::live::{PACING_MS, RELOAD_VUS, Reload, ScaleStep, reload_run_file};
use super::memory::{PAUSE_MS, VuRun};
use super::scheduler::{RateRun, run_file};
use super::throughput::{CONNECTIONS, GENERATOR_CPU, Round};

/// Everything the section shows.
pub struct Results<'a> {
    pub settings: &'a Settings,
    pub command_line: String,
    pub wrk: Result<(), String>,
    pub rounds: &'a [Round],
    pub baseline: &'a VuRun,
    pub runs: &'a [VuRun],
    pub rates: &'a [RateRun],
    pub reload: &'a Result<Reload, String>,
    pub scale: &'a Result<Vec<ScaleStep>, String>,
}

pub fn markdown(r: &Results) -> String {
    let s = r.settings;
    let mut md = String::new();
    let date = command_output("date", &["-u"]).unwrap_or_else(|| "(date unavailable)".into());
    let _ = writeln!(md, "## Benchmark run of {date}\n");
    let _ = writeln!(md, "Machine: {}; loopback only; demo target pinned to CPU 0.\n", machine());
    let _ = writeln!(md, "```sh\ncargo xtask {}", r.command_line);
    let _ = writeln!(md, "# (a) per round, each load generator pinned to CPU {GENERATOR_CPU}:");
    let _ = writeln!(
        md,
        "TOKIO_WORKER_THREADS=1 taskset -c {GENERATOR_CPU} vespid run hello.wasm --vus {CONNECTIONS} --duration {}s --quiet --summary-export FILE --env BASE_URL=URL",
        s.duration
    );
    let _ = writeln!(md, "taskset -c {GENERATOR_CPU} wrk -t1 -c{CONNECTIONS} -d{}s URL/", s.duration);
    let _ = writeln!(md, "# (b) N in 1,{}:", join(&s.vus_list));
    let _ = writeln!(
        md,
        "vespid run http_probe.wasm --vus N --duration {}s --quiet --summary-export FILE --env URL=URL/ --env PAUSE_MS={PAUSE_MS}\n```\n",
        s.hold
    );
    throughput_table(&mut md, r);
    memory_table(&mut md, r);
    scheduler_table(&mut md, r);
    live_tables(&mut md, r.reload, r.scale);
    md
}

/// Part (d): hot reload and live scale.
pub fn live_tables(md: &mut String, reload: &Result<Reload, String>, scale: &Result<Vec<ScaleStep>, String>) {
    let _ = writeln!(md, "\n### Hot reload under {RELOAD_VUS} VUs (reload_probe.wasm, pacing {PACING_MS} ms)\n");
    let _ = writeln!(
        md,
        "```toml\n# vespid run FILE.toml --watch --no-compile-cache --out json=POINTS; 3 s in, a new version is renamed over the plugin:"
    );
    let _ = writeln!(md, "{}```\n", reload_run_file("reload-probe.wasm".as_ref(), "URL"));
    match reload {
        Ok(reload) => {
            let _ = writeln!(
                md,
                "| Swapped in (100 ms settle, compile, probe) | First new iteration | Last old iteration | Old / new iterations | Failed | req/s, 3 s before | req/s, 3 s after |"
            );
            let _ = writeln!(md, "|---:|---:|---:|---:|---:|---|---|");
            let rates = |v: &[u64]| v.iter().map(u64::to_string).collect::<Vec<_>>().join(", ");
            let _ = writeln!(
                md,
                "| {:.0} ms | {:.0} ms | {:.0} ms | {} / {} | {} | {} | {} |",
                reload.swapped_ms,
                reload.first_new_ms,
                reload.last_old_ms,
                reload.old_iterations,
                reload.new_iterations,
                reload.failed_iterations,
                rates(&reload.rate_before),
                rates(&reload.rate_after)
            );
        }
        Err(why) => {
            let _ = writeln!(md, "failed: {why}");
        }
    }
    let _ = writeln!(
        md,
        "\n### Live scale (hello.wasm, 100 VUs, `PATCH /v1/status` until the status shows the new count)\n"
    );
    match scale {
        Ok(steps) => {
            let _ = writeln!(md, "| Factor | Active VUs before | After | Took effect in |");
            let _ = writeln!(md, "|---:|---:|---:|---:|");
            for step in steps {
                let _ = writeln!(
                    md,
                    "| {} | {} | {} | {:.1} ms |",
                    step.factor, step.from_vus, step.to_vus, step.effect_ms
                );
            }
        }
        Err(why) => {
            let _ = writeln!(md, "failed: {why}");
        }
    }
}

fn scheduler_table(md: &mut String, r: &Results) {
    let Some(first) = r.rates.first() else { return };
    let _ = writeln!(md, "\n### Scheduler precision (constant-arrival-rate, hello.wasm, {} s)\n", first.seconds);
    let _ = writeln!(md, "```toml\n# vespid run FILE.toml, with FILE.toml for {}/s:", first.rate);
    let _ = writeln!(md, "{}```\n", run_file("hello.wasm".as_ref(), "URL", first.rate, first.seconds));
    let _ = writeln!(
        md,
        "| Target it/s | Started | Dropped | Achieved it/s | Off target | Start delay p50 | Start delay p99 |"
    );
    let _ = writeln!(md, "|---:|---:|---:|---:|---:|---:|---:|");
    for run in r.rates {
        match (&run.outcome, run.achieved()) {
            (Ok(p), Some(achieved)) => {
                let off = (achieved / f64::from(run.rate) - 1.0) * 100.0;
                let _ = writeln!(
                    md,
                    "| {} | {} | {} | {achieved:.1} | {off:+.2}% | {:.3} ms | {:.3} ms |",
                    run.rate, p.started, p.dropped, p.delay_p50_ms, p.delay_p99_ms
                );
            }
            (outcome, _) => {
                let why = outcome.as_ref().err().map_or("no figures", String::as_str);
                let _ = writeln!(md, "| {} | — | — | — | — | — | {} |", run.rate, why.replace('|', "\\|"));
            }
        }
    }
}

fn throughput_table(md: &mut String, r: &Results) {
    let _ = writeln!(
        md,
        "### Throughput per load-generator CPU-second ({CONNECTIONS} connections, {} s)\n",
        r.settings.duration
    );
    if let Err(why) = &r.wrk {
        let _ = writeln!(md, "wrk unavailable, its columns are empty: {why}\n");
    }
    let _ = writeln!(md, "| Round | vespid req/s | vespid req/CPU-s | wrk req/s | wrk req/CPU-s | vespid/wrk |");
    let _ = writeln!(md, "|---:|---:|---:|---:|---:|---:|");
    let mut ratios = Vec::new();
    for (i, round) in r.rounds.iter().enumerate() {
        let (v_rps, v_cpu) = cells(Some(&round.vespid));
        let (w_rps, w_cpu) = cells(round.wrk.as_ref());
        let ratio = round.ratio().map_or("—".to_string(), |x| format!("{x:.2}"));
        ratios.extend(round.ratio());
        let _ = writeln!(md, "| {} | {v_rps} | {v_cpu} | {w_rps} | {w_cpu} | {ratio} |", i + 1);
    }
    ratios.sort_by(f64::total_cmp);
    if let (Some(min), Some(max)) = (ratios.first(), ratios.last()) {
        let _ = writeln!(md, "\nvespid/wrk: min {min:.2}, median {:.2}, max {max:.2}", median(&ratios));
    }
    for (i, round) in r.rounds.iter().enumerate() {
        for (name, failure) in
            [("vespid", round.vespid.as_ref().err()), ("wrk", round.wrk.as_ref().and_then(|w| w.as_ref().err()))]
        {
            if let Some(why) = failure {
                let _ = writeln!(md, "\nRound {}: {name} failed: {why}", i + 1);
            }
        }
    }
    md.push('\n');
}

fn cells(run: Option<&Result<super::throughput::Run, String>>) -> (String, String) {
    match run {
        Some(Ok(run)) => (format!("{:.0}", run.per_second()), format!("{:.0}", run.per_cpu_second())),
        Some(Err(_)) => ("failed".into(), "failed".into()),
        None => ("—".into(), "—".into()),
    }
}

fn memory_table(md: &mut String, r: &Results) {
    // Where memory::pick aims: two thirds into the hold, to a tenth of a second.
    let steady = (r.settings.hold as f64 * 20.0 / 3.0).round() / 10.0;
    let _ = writeln!(md, "### VU start time and memory (each VU: one connection, one request per {PAUSE_MS} ms)\n");
    let _ = writeln!(md, "| VUs | vus_ready_ms | RSS at ~{steady} s (MiB) | RSS max (MiB) | RSS per VU (KiB) |");
    let _ = writeln!(md, "|---:|---:|---:|---:|---:|");
    let mut notes = Vec::new();
    for run in std::iter::once(r.baseline).chain(r.runs) {
        match &run.outcome {
            Ok(sample) => {
                let ready = sample.vus_ready_ms.map_or("null".to_string(), |ms| format!("{ms:.0}"));
                let per_vu = run.per_vu_kib(r.baseline).map_or("—".to_string(), |kib| format!("{kib:.1}"));
                let _ = writeln!(
                    md,
                    "| {} | {ready} | {:.1} | {:.1} | {per_vu} |",
                    run.vus,
                    sample.rss_steady_kib as f64 / 1024.0,
                    sample.rss_max_kib as f64 / 1024.0
                );
                if let Some(note) = &sample.note {
                    notes.push(format!("{} VUs: {note} (at {:.1} s)", run.vus, sample.steady_at.as_secs_f64()));
                }
            }
            Err(why) => {
                let _ = writeln!(md, "| {} | — | — | — | — |", run.vus);
                notes.push(format!("{} VUs: {}", run.vus, why.replace('|', "\\|")));
            }
        }
    }
    for note in notes {
        let _ = writeln!(md, "\n{note}");
    }
}

fn median(sorted: &[f64]) -> f64 {
    let mid = sorted.len() / 2;
    if sorted.len().is_multiple_of(2) { (sorted[mid - 1] + sorted[mid]) / 2.0 } else { sorted[mid] }
}

fn join(values: &[u32]) -> String {
    values.iter().map(u32::to_string).collect::<Vec<_>>().join(",")
}

/// The CPU model and how many CPUs, from /proc/cpuinfo.
fn machine() -> String {
    let cpuinfo = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
    let model = cpuinfo
        .lines()
        .find_map(|l| {
            l.strip_prefix("model name").and_then(|rest| rest.split_once(':')).map(|(_, m)| m.trim().to_string())
        })
        .unwrap_or_else(|| "unknown CPU".into());
    let cpus = std::thread::available_parallelism().map_or(0, |n| n.get());
    format!("{cpus} CPUs ({model})")
}

fn command_output(program: &str, args: &[&str]) -> Option<String> {
    let out = Command::new(program).args(args).output().ok()?;
    out.status.success().then(|| String::from_utf8_lossy(&out.stdout).trim().to_string())
}
