//! Part (d): changing a running test. Hot reload under 1,000 VUs: from the
//! plugin file's write to the swap, to the first iteration on the new
//! version and to the last on the old one (every VU has moved), and the
//! request rate around it, read from `--out json`. Live scale: how long a
//! `PATCH /v1/status` takes to show as active VUs in the run's status.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use anyhow::{Context, Result, bail};

use super::proc::Spawned;

pub const RELOAD_VUS: u32 = 1000;
/// Each VU starts an iteration every this often, so 1,000 VUs make
/// 10,000 iterations/s and the JSON output stays in the hundreds of MB.
pub const PACING_MS: u64 = 100;
const RELOAD_SECONDS: u64 = 6;
const SWAP_AFTER: Duration = Duration::from_secs(3);

/// What one hot reload under load gave; times in ms after the write.
pub struct Reload {
    pub swapped_ms: f64,
    pub first_new_ms: f64,
    pub last_old_ms: f64,
    /// Requests per second in the three whole seconds before and after the write.
    pub rate_before: Vec<u64>,
    pub rate_after: Vec<u64>,
    pub old_iterations: u64,
    pub new_iterations: u64,
    pub failed_iterations: u64,
}

/// What one scale change gave.
pub struct ScaleStep {
    pub from_vus: u32,
    pub to_vus: u32,
    pub factor: f64,
    pub effect_ms: f64,
}

/// The run file of the reload measurement (also shown in the report).
pub fn reload_run_file(probe: &Path, url: &str) -> String {
    format!(
        "[scenarios.reload]\nplugin = {probe:?}\nexecutor = \"constant-vus\"\nvus = {RELOAD_VUS}\nduration = \"{RELOAD_SECONDS}s\"\nthink-time = {{ pacing = \"{PACING_MS}ms\" }}\nenv = {{ BASE_URL = {url:?} }}\n"
    )
}

pub fn measure_reload(vespid: &Path, probe: &Path, url: &str, tmp: &Path) -> Result<Reload> {
    println!("bench: hot reload under {RELOAD_VUS} VUs");
    let plugin = tmp.join("reload-probe.wasm");
    let bytes = std::fs::read(probe).with_context(|| format!("cannot read {}", probe.display()))?;
    std::fs::write(&plugin, &bytes)?;
    let next = with_mark(&bytes, b"version:202")?;
    let file = tmp.join("reload.toml");
    std::fs::write(&file, reload_run_file(&plugin, url))?;
    let points = tmp.join("reload-points.json");
    let mut command = Command::new(vespid);
    // Without the compilation cache, the swap includes compiling the new version.
    command.arg("run").arg(&file).args(["--watch", "--quiet", "--address", "off", "--no-compile-cache"]).arg("--out");
    command.arg(format!("json={}", points.display()));
    let mut run = Spawned::start(&mut command, &tmp.join("reload"), Duration::from_secs(RELOAD_SECONDS + 90))?;
    std::thread::sleep(SWAP_AFTER);
    // As cargo does: the new file is renamed over the old one.
    let staged = tmp.join("reload-probe.wasm.new");
    std::fs::write(&staged, &next)?;
    let written = unix_seconds(SystemTime::now());
    std::fs::rename(&staged, &plugin)?;
    let done = run.wait()?;
    if !done.status.success() {
        bail!("{}", done.failure());
    }
    let reload = read_reload(&points, written);
    let _ = std::fs::remove_file(&points);
    reload
}

/// The component with its `version:201` mark rewritten (same length).
fn with_mark(bytes: &[u8], mark: &[u8]) -> Result<Vec<u8>> {
    let old = b"version:201";
    let at = bytes.windows(old.len()).position(|w| w == old).context("reload_probe.wasm has no version mark")?;
    let mut patched = bytes.to_vec();
    patched[at..at + old.len()].copy_from_slice(mark);
    Ok(patched)
}

fn read_reload(points: &Path, written: f64) -> Result<Reload> {
    let file = std::fs::File::open(points).with_context(|| format!("cannot read {}", points.display()))?;
    let (mut swapped, mut first_new, mut last_old) = (None, f64::MAX, f64::MIN);
    let (mut old, mut new, mut failed) = (0u64, 0u64, 0u64);
    let mut old_version = None;
    let mut per_second = std::collections::BTreeMap::<i64, u64>::new();
    for line in BufReader::new(file).lines() {
        let line: serde_json::Value = serde_json::from_str(&line?)?;
        let data = &line["data"];
        let time = data["time"].as_str().map(rfc3339_seconds).transpose()?;
        match (line["type"].as_str(), line["metric"].as_str(), time) {
            (Some("Marker"), _, Some(t)) if data["action"] == "reload" => swapped = Some(t),
            (Some("Point"), Some("http_reqs"), Some(t)) => {
                *per_second.entry((t - written).floor() as i64).or_default() += 1
            }
            (Some("Point"), Some("iterations_failed"), _) if data["value"] == 1 => failed += 1,
            (Some("Point"), Some("iterations"), Some(t)) => {
                let version = data["tags"]["plugin_version"].as_str().unwrap_or_default().to_string();
                let first = old_version.get_or_insert_with(|| version.clone());
                if *first == version {
                    old += 1;
                    last_old = last_old.max(t);
                } else {
                    new += 1;
                    first_new = first_new.min(t);
                }
            }
            _ => {}
        }
    }
    let swapped = swapped.context("the run logged no reload")?;
    if new == 0 {
        bail!("no iteration ran on the new version");
    }
    let ms = |t: f64| (t - written) * 1000.0;
    let rates = |seconds: std::ops::Range<i64>| seconds.map(|s| per_second.get(&s).copied().unwrap_or(0)).collect();
    Ok(Reload {
        swapped_ms: ms(swapped),
        first_new_ms: ms(first_new),
        last_old_ms: ms(last_old),
        rate_before: rates(-3..0),
        rate_after: rates(0..3),
        old_iterations: old,
        new_iterations: new,
        failed_iterations: failed,
    })
}

/// Seconds since the epoch of `2026-12-01T22:27:44.620056Z` (UTC, as vespid writes it).
fn rfc3339_seconds(text: &str) -> Result<f64> {
    let bad = || anyhow::anyhow!("not a time: {text}");
    let (date, time) = text.trim_end_matches('Z').split_once('T').ok_or_else(bad)?;
    let mut ymd = date.split('-').map(str::parse::<i64>);
    let (y, m, d) = match (ymd.next(), ymd.next(), ymd.next()) {
        (Some(Ok(y)), Some(Ok(m)), Some(Ok(d))) => (y, m, d),
        _ => return Err(bad()),
    };
    let mut hms = time.split(':');
    let (h, min, s) = match (hms.next(), hms.next(), hms.next()) {
        (Some(h), Some(min), Some(s)) => (h.parse::<f64>()?, min.parse::<f64>()?, s.parse::<f64>()?),
        _ => return Err(bad()),
    };
    Ok(days_from_civil(y, m, d) as f64 * 86_400.0 + h * 3600.0 + min * 60.0 + s)
}

/// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's algorithm).
fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let doy = (153 * (m + if m > 2 { -3 } else { 9 }) + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

fn unix_seconds(at: SystemTime) -> f64 {
    at.duration_since(UNIX_EPOCH).map_or(0.0, |d| d.as_secs_f64())
}

/// Scales a running constant-vus run of hello.wasm up and down through its
/// control API and times each change until the status shows it.
pub fn measure_scale(vespid: &Path, hello: &Path, url: &str, tmp: &Path) -> Result<Vec<ScaleStep>> {
    println!("bench: live scale of 100 VUs");
    let address = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0")?;
        listener.local_addr()?.to_string()
    };
    let mut command = Command::new(vespid);
    command.arg("run").arg(hello).args(["--vus", "100", "--max-vus", "200", "--duration", "8s", "--quiet"]);
    command.args(["--address", &address, "--env", &format!("BASE_URL={url}")]);
    let mut run = Spawned::start(&mut command, &tmp.join("scale"), Duration::from_secs(90))?;
    let started = Instant::now();
    while active_vus(&address).ok() != Some(100) {
        if started.elapsed() > Duration::from_secs(30) {
            bail!("the run never showed 100 active VUs");
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    let mut steps = Vec::new();
    for (factor, to_vus) in [(2.0, 200), (0.5, 50)] {
        let from_vus = active_vus(&address)?;
        let asked = Instant::now();
        request(&address, "PATCH", &format!("{{\"factor\":{factor}}}"))?;
        while active_vus(&address)? != to_vus {
            if asked.elapsed() > Duration::from_secs(10) {
                bail!("factor {factor} never showed {to_vus} active VUs");
            }
        }
        steps.push(ScaleStep { from_vus, to_vus, factor, effect_ms: asked.elapsed().as_secs_f64() * 1000.0 });
    }
    let done = run.wait()?;
    if !done.status.success() {
        bail!("{}", done.failure());
    }
    Ok(steps)
}

fn active_vus(address: &str) -> Result<u32> {
    let status: serde_json::Value = serde_json::from_str(&request(address, "GET", "")?)?;
    status["vus"].as_u64().map(|v| v as u32).context("the status has no vus")
}

/// One HTTP/1.1 request to the control API; its body.
fn request(address: &str, method: &str, body: &str) -> Result<String> {
    let mut stream = TcpStream::connect(address)?;
    write!(
        stream,
        "{method} /v1/status HTTP/1.1\r\nHost: {address}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    )?;
    let mut response = String::new();
    stream.read_to_string(&mut response)?;
    let (head, body) = response.split_once("\r\n\r\n").context("no HTTP response")?;
    if !head.starts_with("HTTP/1.1 200") {
        bail!("the control API answered {}", head.lines().next().unwrap_or_default());
    }
    Ok(body.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc3339_times_become_unix_seconds() {
        assert_eq!(rfc3339_seconds("1970-01-01T00:00:01.5Z").unwrap(), 1.5);
        let t = rfc3339_seconds("2026-12-01T22:27:44.620056Z").unwrap();
        assert!((t - 1_796_164_064.620056).abs() < 1e-6, "{t}");
    }
}
