//! `cargo xtask bench`: the options, the order of the measurements (build,
//! wrk, demo target, throughput rounds, start time and memory, scheduler
//! precision, hot reload and live scale, JavaScript scenarios against k6,
//! Python scenarios against Locust, SQL against pgbench, a steady scenario
//! beside hostile plugins) and where the
//! markdown report goes.
mod live;
mod memory;
pub mod proc;
mod report;
mod sandbox;
mod scheduler;
pub mod scripts;
mod scripts_report;
mod sql;
mod throughput;

use std::path::Path;

use anyhow::{Context, Result, bail};

use crate::tasks::{DemoTarget, build_host_release, build_plugins, root};

#[derive(clap::Args)]
pub struct BenchArgs {
    /// Interleaved vespid/wrk throughput rounds [default: 3; with --quick: 1].
    #[arg(long, value_parser = clap::value_parser!(u32).range(1..))]
    rounds: Option<u32>,
    /// Seconds each throughput run lasts [default: 5; with --quick: 2].
    #[arg(long, value_parser = clap::value_parser!(u64).range(1..))]
    duration: Option<u64>,
    /// VU counts for the start-time and memory runs (a 1-VU baseline is always run) [default: 1000,10000; with --quick: 100].
    #[arg(long, value_delimiter = ',', value_parser = clap::value_parser!(u32).range(2..))]
    vus_list: Option<Vec<u32>>,
    /// Seconds each start-time and memory run lasts; RSS is read two thirds in [default: 12; with --quick: 4].
    #[arg(long, value_parser = clap::value_parser!(u64).range(3..))]
    hold: Option<u64>,
    /// Arrival rates (iterations/s) of the scheduler-precision runs [default: 1000,10000].
    #[arg(long, value_delimiter = ',', value_parser = clap::value_parser!(u32).range(1..))]
    rates: Option<Vec<u32>>,
    /// Seconds each scheduler-precision run lasts [default: 10; with --quick: 2].
    #[arg(long, value_parser = clap::value_parser!(u64).range(1..))]
    rate_duration: Option<u64>,
    /// Smoke test: 1 round of 2 s, 100 VUs, 4 s hold, 2 s rate runs (explicit options still win).
    #[arg(long)]
    quick: bool,
    /// Only part (d): hot reload and live scale.
    #[arg(long)]
    live_only: bool,
    /// Only part (e), issue 16: the same k6 script under k6 1.1.0 and vespid (plus the Rust hello plugin),
    /// then JS VU start time and memory; written to target/bench/latest-js.md.
    #[arg(long, conflicts_with_all = ["live_only", "python_only"])]
    js_only: bool,
    /// Only part (f), issue 17: the same locustfile under Locust 2.47.0 and vespid (plus the Rust hello
    /// plugin), then Python VU start time and memory; written to target/bench/latest-python.md.
    #[arg(long, conflicts_with = "live_only")]
    python_only: bool,
    /// Only part (g), issue 18: examples/rust/sql-bank against pgbench on one PostgreSQL cluster,
    /// then memory per VU with a datasource; written to target/bench/latest-sql.md.
    #[arg(long, conflicts_with_all = ["live_only", "js_only", "python_only"])]
    sql_only: bool,
    /// Only part (h), issue 19: a steady scenario's rate alone and beside hostile plugins; written to
    /// target/bench/latest-sandbox.md.
    #[arg(long, conflicts_with_all = ["live_only", "js_only", "python_only", "sql_only"])]
    sandbox_only: bool,
    /// Seconds each part-(g) round lasts, per load generator [default: 20; with --quick: 3].
    #[arg(long, value_parser = clap::value_parser!(u64).range(1..))]
    sql_duration: Option<u64>,
    /// Seconds each part-(e) and part-(f) throughput run lasts [default: 10; with --quick: 2].
    #[arg(long, value_parser = clap::value_parser!(u64).range(1..))]
    js_duration: Option<u64>,
    /// VUs of part (e)'s and part (f)'s start-time and memory runs (beside a 1-VU baseline) [default: 1000; with --quick: 100].
    #[arg(long, value_parser = clap::value_parser!(u32).range(2..))]
    js_vus: Option<u32>,
}

/// The options with their defaults applied.
pub struct Settings {
    pub rounds: u32,
    pub duration: u64,
    pub vus_list: Vec<u32>,
    pub hold: u64,
    pub rates: Vec<u32>,
    pub rate_duration: u64,
    pub js_duration: u64,
    pub js_vus: u32,
    pub sql_duration: u64,
}

impl Settings {
    fn from(args: &BenchArgs) -> Settings {
        let quick = args.quick;
        Settings {
            rounds: args.rounds.unwrap_or(if quick { 1 } else { 3 }),
            duration: args.duration.unwrap_or(if quick { 2 } else { 5 }),
            vus_list: args.vus_list.clone().unwrap_or_else(|| if quick { vec![100] } else { vec![1000, 10_000] }),
            hold: args.hold.unwrap_or(if quick { 4 } else { 12 }),
            rates: args.rates.clone().unwrap_or_else(|| vec![1000, 10_000]),
            rate_duration: args.rate_duration.unwrap_or(if quick { 2 } else { 10 }),
            js_duration: args.js_duration.unwrap_or(if quick { 2 } else { 10 }),
            js_vus: args.js_vus.unwrap_or(if quick { 100 } else { 1000 }),
            sql_duration: args.sql_duration.unwrap_or(if quick { 3 } else { 20 }),
        }
    }
}

pub fn run(args: &BenchArgs) -> Result<()> {
    let settings = Settings::from(args);
    if settings.vus_list.is_empty() {
        bail!("--vus-list needs at least one VU count");
    }
    let plugins = build_plugins()?;
    let vespid = build_host_release()?;
    let hello = existing(&plugins.join("hello.wasm"))?;
    let probe = existing(&plugins.join("http_probe.wasm"))?;
    let out_dir = root().join("target/bench");
    let tmp = out_dir.join("tmp");
    std::fs::create_dir_all(&tmp).with_context(|| format!("cannot create {}", tmp.display()))?;
    let sql_part = || {
        let (rounds, seconds) = (settings.rounds, settings.sql_duration);
        sql::part(&vespid, &plugins, rounds, seconds, settings.js_vus, settings.hold, &tmp)
            .unwrap_or_else(|err| format!("\n### SQL (issue 18)\n\nnot measured: {err:#}\n"))
    };
    if args.sql_only {
        return write_report(&sql_part(), &out_dir.join("latest-sql.md"));
    }
    if args.sandbox_only {
        let part = sandbox::part(&vespid, &plugins, settings.js_duration, &tmp)
            .unwrap_or_else(|err| format!("\n### Sandbox (issue 19)\n\nnot measured: {err:#}\n"));
        return write_report(&part, &out_dir.join("latest-sandbox.md"));
    }

    let only_part =
        [(args.js_only, &scripts::JS, "latest-js.md"), (args.python_only, &scripts::PYTHON, "latest-python.md")]
            .into_iter()
            .find(|(only, _, _)| *only);
    let wrk = if only_part.is_some() { Err("not needed".into()) } else { throughput::ensure_wrk() };
    if let Err(why) = &wrk
        && only_part.is_none()
    {
        println!("bench: wrk is unavailable, measuring vespid only: {why}");
    }
    let target = DemoTarget::start(&vespid, Some("0"))?;
    println!("bench: demo target (pid {}) on {}, pinned to CPU 0", target.pid(), target.url);
    let url = target.url.trim_end_matches('/').to_string();
    if let Some((_, part, file)) = only_part {
        return write_report(&script_part(part, &settings, &vespid, &hello, &url, &tmp), &out_dir.join(file));
    }
    let reload_probe = existing(&plugins.join("reload_probe.wasm"))?;
    let reload = live::measure_reload(&vespid, &reload_probe, &url, &tmp).map_err(|err| format!("{err:#}"));
    let scale = live::measure_scale(&vespid, &hello, &url, &tmp).map_err(|err| format!("{err:#}"));
    if args.live_only {
        let mut markdown = String::new();
        report::live_tables(&mut markdown, &reload, &scale);
        println!("\n{markdown}");
        return Ok(());
    }
    let rounds = throughput::measure(&vespid, &hello, &url, settings.rounds, settings.duration, wrk.is_ok(), &tmp);
    let (baseline, runs) = memory::measure(&vespid, &probe, &url, &settings.vus_list, settings.hold, &tmp);
    let rates = scheduler::measure(&vespid, &hello, &url, &settings.rates, settings.rate_duration, &tmp);
    let js = script_part(&scripts::JS, &settings, &vespid, &hello, &url, &tmp);
    let python = script_part(&scripts::PYTHON, &settings, &vespid, &hello, &url, &tmp);
    drop(target);
    let sql = sql_part();

    let command_line = std::env::args().skip(1).collect::<Vec<_>>().join(" ");
    let results = report::Results {
        settings: &settings,
        command_line,
        wrk,
        rounds: &rounds,
        baseline: &baseline,
        runs: &runs,
        rates: &rates,
        reload: &reload,
        scale: &scale,
    };
    let mut markdown = report::markdown(&results);
    markdown.push_str(&js);
    markdown.push_str(&python);
    markdown.push_str(&sql);
    write_report(&markdown, &out_dir.join("latest.md"))
}

/// Prints the report and writes it to `path`.
fn write_report(markdown: &str, path: &Path) -> Result<()> {
    println!("\n{markdown}");
    std::fs::write(path, markdown).with_context(|| format!("cannot write {}", path.display()))?;
    println!("bench: written to {}", path.display());
    Ok(())
}

/// Part (e) or (f): the peer (installed into target/peers when missing),
/// the rounds, then start time and memory, as a markdown section.
fn script_part(
    part: &scripts::Part,
    settings: &Settings,
    vespid: &Path,
    hello: &Path,
    url: &str,
    tmp: &Path,
) -> String {
    let peer = match part.peer {
        scripts::Peer::K6 => crate::peers::ensure_k6(),
        scripts::Peer::Locust => crate::peers::ensure_locust(),
    }
    .map_err(|err| format!("{err:#}"));
    if let Err(why) = &peer {
        println!("bench: the peer is unavailable, measuring vespid only: {why}");
    }
    let (script, paced) = (root().join(part.script_name), root().join(part.paced_name));
    let setup = scripts::Setup {
        part,
        peer: peer.as_ref().ok().map(|peer| peer.as_path()),
        vespid,
        hello,
        script: &script,
        paced: &paced,
        url,
        tmp,
    };
    let rounds = scripts::measure_throughput(&setup, settings.rounds, settings.js_duration);
    let vu_runs = scripts::measure_vus(&setup, settings.js_vus, settings.hold);
    let results = scripts_report::Results {
        part,
        seconds: settings.js_duration,
        hold: settings.hold,
        vus: settings.js_vus,
        peer: peer.map(|_| ()),
        rounds,
        vu_runs,
    };
    let mut markdown = String::new();
    scripts_report::markdown(&mut markdown, &results);
    markdown
}

fn existing(path: &Path) -> Result<std::path::PathBuf> {
    if !path.is_file() {
        bail!("{} is missing after build_plugins", path.display());
    }
    Ok(path.to_path_buf())
}
