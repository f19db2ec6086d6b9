//! The report of parts (e) and (f): a script runtime's throughput rounds
//! against its peer and the Rust plugin, and its VU start time and memory,
//! as markdown with the commands that measured them.

use std::fmt::Write as _;

use super::scripts::{Part, Peer, Round, Tool, VuRun, VuSample};
use super::throughput::{CONNECTIONS, GENERATOR_CPU, Run};

/// A part's figures.
pub struct Results<'a> {
    pub part: &'a Part,
    pub seconds: u64,
    pub hold: u64,
    pub vus: u32,
    /// Why the peer is missing, if it is.
    pub peer: Result<(), String>,
    pub rounds: Vec<Round>,
    pub vu_runs: Vec<VuRun>,
}

/// The peer's command lines, as the report shows them.
fn peer_commands(part: &Part, seconds: u64, hold: u64) -> [String; 2] {
    let cpu = GENERATOR_CPU;
    match part.peer {
        Peer::K6 => [
            format!(
                "K6_NO_USAGE_REPORT=true taskset -c {cpu} k6 run --quiet --no-usage-report --no-color --address 127.0.0.1:0 --vus {CONNECTIONS} --duration {seconds}s --summary-export FILE -e BASE_URL=URL {}",
                part.script_name
            ),
            format!(
                "taskset -c {cpu} k6 run --quiet --no-usage-report --no-color --address 127.0.0.1:0 -e BASE_URL=URL --vus N --duration {hold}s --summary-export FILE {}",
                part.paced_name
            ),
        ],
        Peer::Locust => [
            format!(
                "taskset -c {cpu} locust -f {} --headless --only-summary -u {CONNECTIONS} -r {CONNECTIONS} -t {seconds}s -H URL --csv PREFIX",
                part.script_name
            ),
            format!(
                "taskset -c {cpu} locust -f {} --headless --only-summary -u N -r N -t {hold}s -H URL --csv PREFIX",
                part.paced_name
            ),
        ],
    }
}

/// A part as markdown: the commands, the rounds, start and memory.
pub fn markdown(md: &mut String, r: &Results) {
    let (part, seconds, language) = (r.part, r.seconds, r.part.language);
    let peer = Tool::Peer(part.peer).label(part);
    let _ = writeln!(
        md,
        "\n### {}: {} under {peer} and vespid, {CONNECTIONS} VUs, {seconds} s\n",
        part.heading, part.script_name
    );
    if let Err(why) = &r.peer {
        let _ = writeln!(md, "{peer} unavailable, its columns are empty: {why}\n");
    }
    let [peer_run, peer_vus] = peer_commands(part, seconds, r.hold);
    let _ = writeln!(
        md,
        "```sh\n# per round, each load generator pinned to CPU {GENERATOR_CPU}, the demo target to CPU 0:"
    );
    let _ = writeln!(md, "{peer_run}");
    for plugin in [part.script_name, "hello.wasm"] {
        let _ = writeln!(
            md,
            "TOKIO_WORKER_THREADS=1 taskset -c {GENERATOR_CPU} vespid run {plugin} --vus {CONNECTIONS} --duration {seconds}s --quiet --summary-export FILE --env BASE_URL=URL"
        );
    }
    let _ = writeln!(md, "# start time and memory, N in 1,{}, smaps_rollup read every 500 ms:", r.vus);
    let _ = writeln!(md, "{peer_vus}");
    let _ = writeln!(
        md,
        "TOKIO_WORKER_THREADS=1 taskset -c {GENERATOR_CPU} vespid run --quiet --address off --env BASE_URL=URL --vus N --duration {}s --summary-export FILE {}\n```\n",
        r.hold, part.paced_name
    );
    let _ = writeln!(
        md,
        "| Round | {peer} req/s | {peer} req/CPU-s | {language} req/s | {language} req/CPU-s | Rust req/s | Rust req/CPU-s | {language}/{peer} | {language}/Rust |"
    );
    let _ = writeln!(md, "|---:|---:|---:|---:|---:|---:|---:|---:|---:|");
    let mut vs_peer = Vec::new();
    let mut vs_rust = Vec::new();
    let mut failures = Vec::new();
    for (i, round) in r.rounds.iter().enumerate() {
        let (p_rps, p_cpu) = cells(round.peer.as_ref());
        let (s_rps, s_cpu) = cells(Some(&round.script));
        let (r_rps, r_cpu) = cells(Some(&round.rust));
        let ratio = |x: Option<f64>| x.map_or("—".to_string(), |x| format!("{x:.2}"));
        let _ = writeln!(
            md,
            "| {} | {p_rps} | {p_cpu} | {s_rps} | {s_cpu} | {r_rps} | {r_cpu} | {} | {} |",
            i + 1,
            ratio(round.script_vs_peer()),
            ratio(round.script_vs_rust())
        );
        vs_peer.extend(round.script_vs_peer());
        vs_rust.extend(round.script_vs_rust());
        let runs = [
            (Tool::Peer(part.peer), round.peer.as_ref()),
            (Tool::VespidScript, Some(&round.script)),
            (Tool::VespidRust, Some(&round.rust)),
        ];
        for (tool, run) in runs {
            if let Some(Err(why)) = run {
                failures.push(format!("Round {}: {} failed: {why}", i + 1, tool.label(part)));
            }
        }
    }
    md.push('\n');
    let ratios = [
        (format!("{language}/{peer}"), &mut vs_peer, part.vs_peer),
        (format!("{language}/Rust"), &mut vs_rust, part.vs_rust),
    ];
    for (name, ratios, target) in ratios {
        ratios.sort_by(f64::total_cmp);
        if let (Some(min), Some(max)) = (ratios.first(), ratios.last()) {
            let median = ratios[ratios.len() / 2];
            let verdict = if median >= target { "met" } else { "not met" };
            let _ = writeln!(
                md,
                "{name} req/CPU-s: min {min:.2}, median {median:.2}, max {max:.2} (target >= {target}: {verdict})\n"
            );
        }
    }
    for failure in failures {
        let _ = writeln!(md, "{failure}\n");
    }
    vu_tables(md, r);
}

fn vu_tables(md: &mut String, r: &Results) {
    let part = r.part;
    let _ = writeln!(md, "#### VU start time and memory ({}: one GET, then a 1 s wait)\n", part.paced_name);
    let _ = writeln!(
        md,
        "| Tool | VUs | Spawn → first request | vus_ready_ms | RSS (MiB) | PSS (MiB) | Private (MiB) | Read at |"
    );
    let _ = writeln!(md, "|---|---:|---:|---:|---:|---:|---:|---:|");
    let mib = |kib: u64| format!("{:.1}", kib as f64 / 1024.0);
    let mut notes = Vec::new();
    for run in &r.vu_runs {
        let label = run.tool.label(part);
        match &run.outcome {
            Ok(s) => {
                let ready = s.vus_ready_ms.map_or("—".to_string(), |ms| format!("{ms:.0} ms"));
                let _ = writeln!(
                    md,
                    "| {label} | {} | {:.0} ms | {ready} | {} | {} | {} | {:.1} s |",
                    run.vus,
                    s.first_request_ms,
                    mib(s.steady.rss),
                    mib(s.steady.pss),
                    mib(s.steady.private),
                    s.steady_at.as_secs_f64()
                );
            }
            Err(why) => {
                let _ = writeln!(md, "| {label} | {} | — | — | — | — | — | — |", run.vus);
                notes.push(format!("{label} with {} VUs failed: {}", run.vus, why.replace('|', "\\|")));
            }
        }
    }
    let _ = writeln!(
        md,
        "\n| Tool | Start per VU (marginal) | vespid's init per VU (vus_ready_ms / N) | RSS per VU | PSS per VU | Private per VU |"
    );
    let _ = writeln!(md, "|---|---:|---:|---:|---:|---:|");
    for tool in [Tool::Peer(part.peer), Tool::VespidScript] {
        let find = |vus: u32| r.vu_runs.iter().find(|run| run.tool == tool && run.vus == vus);
        let (Some(one), Some(n)) = (find(1), find(r.vus)) else { continue };
        let Some(per) = n.per_vu(one) else { continue };
        let ready = match &n.outcome {
            Ok(VuSample { vus_ready_ms: Some(ms), .. }) => format!("{:.3} ms", ms / f64::from(n.vus)),
            _ => "—".to_string(),
        };
        let _ = writeln!(
            md,
            "| {} | {:.3} ms | {ready} | {:.0} KiB | {:.0} KiB | {:.0} KiB |",
            tool.label(part),
            per.start_ms,
            per.rss_kib,
            per.pss_kib,
            per.private_kib
        );
    }
    let _ = writeln!(
        md,
        "\nTargets for a {} VU: <= {:.0} KiB private memory, <= {} ms to start. Per VU = (M({}) − M(1)) / {}.",
        part.language,
        part.private_kib,
        part.start_ms,
        r.vus,
        r.vus - 1
    );
    if part.peer == Peer::Locust {
        let _ = writeln!(
            md,
            "\nLocust starts its users while it spawns them, so its spawn → first request is its own start, not every user's."
        );
    }
    for note in notes {
        let _ = writeln!(md, "\n{note}");
    }
}

fn cells(run: Option<&Result<Run, String>>) -> (String, String) {
    match run {
        Some(Ok(run)) => (format!("{:.0}", run.per_second()), format!("{:.0}", run.per_cpu_second())),
        Some(Err(_)) => ("failed".into(), "failed".into()),
        None => ("—".into(), "—".into()),
    }
}
