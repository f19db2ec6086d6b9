//! `cargo xtask compare-locust`: the differential against Locust itself.
//! Each locustfile of `xtask/locust-scripts` runs under Locust (from PyPI,
//! see [`crate::peers`]) and under `vespid run` with the same flags, each
//! against a fresh demo target. Judged exactly: what the server counted per
//! path, and per request name and method the requests and failures each
//! tool reported in the same file, Locust's `--csv` stats (which vespid
//! writes too), read by one parser.
//! The locustfiles bound every user's work with `StopUser` and fix its task
//! order, so the counts cannot depend on timing.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::process::Command;
use std::time::Duration;

use anyhow::{Context, Result};
use serde_json::Value;

use crate::bench::proc::Spawned;
use crate::compare_k6::{Row, conclude, fetch_stats, print_comparison, server_rows};
use crate::peers::{LOCUST_VERSION, ensure_locust};
use crate::tasks::{DemoTarget, build_host_release, root, setup};

/// The locustfiles and the flags both tools get (Locust's names, which vespid shares).
const SCRIPTS: [(&str, &[&str]); 1] = [("shop.py", &["-u", "4", "-t", "5s", "--exclude-tags", "never"])];

/// Requests and failures by (method, name).
type ByName = BTreeMap<(String, String), (u64, u64)>;

/// What one tool's run left.
struct Side {
    exit: Option<i32>,
    requests: ByName,
    server: Value,
}

pub fn run() -> Result<()> {
    setup()?;
    let locust = ensure_locust()?;
    let vespid = build_host_release()?;
    let tmp = root().join("target/compare-locust");
    std::fs::create_dir_all(&tmp).with_context(|| format!("cannot create {}", tmp.display()))?;
    let mut mismatches = 0;
    for (name, flags) in SCRIPTS {
        let script = root().join("xtask/locust-scripts").join(name);
        println!("compare-locust: {name} under Locust {LOCUST_VERSION}");
        let under_locust = run_locust(&locust, &vespid, &script, flags, &tmp)?;
        println!("compare-locust: {name} under vespid");
        let under_vespid = run_vespid(&vespid, &script, flags, &tmp)?;
        mismatches += print_comparison("Locust", name, flags, &compare(&under_locust, &under_vespid));
    }
    conclude("Locust", mismatches)
}

/// `locust -f SCRIPT --headless -r 1000 -H URL --csv PREFIX FLAGS`: every
/// user spawned at once, as `vespid -u` starts them.
fn run_locust(locust: &Path, vespid: &Path, script: &Path, flags: &[&str], tmp: &Path) -> Result<Side> {
    let target = DemoTarget::start(vespid, None)?;
    let base = tmp.join(format!("{}-locust", stem(script)));
    let csv = base.with_extension("");
    let stats = tmp.join(format!("{}-locust_stats.csv", stem(script)));
    let _ = std::fs::remove_file(&stats);
    let mut command = Command::new(locust);
    command.arg("-f").arg(script).args(["--headless", "--only-summary", "-r", "1000", "-H", &target.url]);
    command.arg("--csv").arg(&csv).args(flags);
    let done = Spawned::start(&mut command, &base, Duration::from_secs(300))?.wait()?;
    let text = std::fs::read_to_string(&stats)
        .with_context(|| format!("Locust wrote no {}: {}", stats.display(), done.failure()))?;
    Ok(Side { exit: done.status.code(), requests: locust_stats(&text)?, server: fetch_stats(&target.url)? })
}

/// `vespid run SCRIPT -H URL FLAGS --csv PREFIX`.
fn run_vespid(vespid: &Path, script: &Path, flags: &[&str], tmp: &Path) -> Result<Side> {
    let target = DemoTarget::start(vespid, None)?;
    let base = tmp.join(format!("{}-vespid", stem(script)));
    let stats = tmp.join(format!("{}-vespid_stats.csv", stem(script)));
    let _ = std::fs::remove_file(&stats);
    let mut command = Command::new(vespid);
    command.arg("run").arg(script).args(["--quiet", "--address", "off", "-H", &target.url]).args(flags);
    command.arg("--csv").arg(&base);
    let done = Spawned::start(&mut command, &base, Duration::from_secs(300))?.wait()?;
    let text = std::fs::read_to_string(&stats)
        .with_context(|| format!("vespid wrote no {}: {}", stats.display(), done.failure()))?;
    Ok(Side { exit: done.status.code(), requests: locust_stats(&text)?, server: fetch_stats(&target.url)? })
}

fn stem(script: &Path) -> &str {
    script.file_stem().and_then(|s| s.to_str()).unwrap_or("script")
}

/// Locust's `_stats.csv`: "Type","Name","Request Count","Failure Count",…
/// per request name, then the "Aggregated" row, left out.
fn locust_stats(csv: &str) -> Result<ByName> {
    let mut lines = csv.lines();
    let header: Vec<&str> = lines.next().context("an empty stats CSV")?.split(',').map(unquote).collect();
    let column = |name: &str| header.iter().position(|h| *h == name).with_context(|| format!("no {name:?} column"));
    let (kind, name, count, failures) =
        (column("Type")?, column("Name")?, column("Request Count")?, column("Failure Count")?);
    let mut by_name = ByName::new();
    for line in lines {
        let cells: Vec<&str> = line.split(',').map(unquote).collect();
        let cell = |at: usize| cells.get(at).copied().with_context(|| format!("a short row: {line}"));
        if cell(name)? == "Aggregated" {
            continue;
        }
        let number = |at: usize| -> Result<u64> { cell(at)?.parse().with_context(|| format!("a bad count in {line}")) };
        by_name.insert((cell(kind)?.to_string(), cell(name)?.to_string()), (number(count)?, number(failures)?));
    }
    Ok(by_name)
}

fn unquote(cell: &str) -> &str {
    cell.trim().trim_matches('"')
}

/// The exact figures of both runs: the server's counts, and requests and
/// failures per name. The exit codes are shown: Locust exits 1 when any
/// request failed, vespid when a threshold did (docs/locust.md).
fn compare(locust: &Side, vespid: &Side) -> Vec<Row> {
    let code = |side: &Side| Some(side.exit.map_or("signal".to_string(), |c| c.to_string()));
    let mut rows = vec![Row::new("exit code".into(), code(locust), code(vespid), false)];
    rows.extend(server_rows(&locust.server, &vespid.server));
    let total =
        |side: &Side| side.requests.values().fold((0, 0), |(r, f), (requests, failed)| (r + requests, f + failed));
    let pair = |(requests, failures): (u64, u64)| Some(format!("{requests} / {failures} failed"));
    rows.push(Row::new("requests, all names".into(), pair(total(locust)), pair(total(vespid)), true));
    let names: BTreeSet<&(String, String)> = locust.requests.keys().chain(vespid.requests.keys()).collect();
    for key @ (method, name) in names {
        let cell = |side: &Side| side.requests.get(key).copied().and_then(pair);
        rows.push(Row::new(format!("{method} {name}"), cell(locust), cell(vespid), true));
    }
    rows
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn locust_s_stats_csv_is_read_by_request_name_and_method() {
        let csv = "\"Type\",\"Name\",\"Request Count\",\"Failure Count\",\"Median Response Time\"\n\
                   \"GET\",\"audit\",\"6\",\"3\",\"2\"\nGET,/status/201?item=7,6,0,1\n,\"Aggregated\",\"12\",\"3\",\"2\"\n";
        let stats = locust_stats(csv).expect("parses");
        assert_eq!(stats.len(), 2, "the Aggregated row is left out");
        assert_eq!(stats[&("GET".into(), "audit".into())], (6, 3));
        assert_eq!(stats[&("GET".into(), "/status/201?item=7".into())], (6, 0));
    }
}
