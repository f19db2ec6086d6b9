//! The JavaScript runtime's snapshot (QuickJS started and the built-in
//! modules evaluated once, in the user's cache directory): VUs started from
//! it must not share anything, and a broken or unusable cache must only
//! cost the snapshot, never the run. Each run gets a cache directory of its
//! own (XDG_CACHE_HOME), so the snapshot's state is known.

use std::collections::HashSet;
use std::path::{Path, PathBuf};

use crate::js::script;
use crate::support::*;

const VUS: u32 = 4;

/// Logs of the snapshot's decisions, beside the script's own lines.
const LOG: &str = "info,vespid::plugin=debug";

/// `tests/scripts/snapshot.js` with 4 VUs, 12 iterations, the cache in `cache`.
async fn run_snapshot_script(cache: &Path) -> Outcome {
    let path = script("snapshot.js");
    let args =
        ["run", path.to_str().expect("utf-8 path"), "--vus", "4", "--iterations", "12", "-e", "SNAPSHOT_TEST=v1"];
    let run = vespid_with_env(&args, &[("XDG_CACHE_HOME", cache), ("VESPID_LOG", Path::new(LOG))]).await;
    run.assert_ok();
    run
}

/// Checks what every VU of `snapshot.js` logged and checked: its own
/// __VU, __ENV and Math.random draws, and all checks passed.
fn assert_independent(run: &Outcome) {
    let lines: Vec<&str> = run.stderr.lines().filter(|line| line.contains("snapshot vu=")).collect();
    for vu in 1..=VUS {
        let mine = format!("snapshot vu={vu} env=v1 ");
        assert_eq!(lines.iter().filter(|line| line.contains(&mine)).count(), 1, "{mine} in\n{}", run.stderr);
    }
    // Every instance (the VUs and those that described the script or ran
    // setup) drew its own numbers.
    let draws: Vec<&str> = lines.iter().filter_map(|line| line.split(" draws=").nth(1)?.split(' ').next()).collect();
    assert!(draws.len() > VUS as usize, "{}", run.stderr);
    let distinct: HashSet<&str> = draws.iter().flat_map(|d| d.split(',')).collect();
    assert_eq!(distinct.len(), draws.len() * 3, "Math.random draws repeat across VUs:\n{}", run.stderr);
    for name in [
        "module state is the VU's",
        "built-in module objects are the VU's",
        "globals are the VU's",
        "performance.now() counts from the VU start",
    ] {
        assert_eq!(run.check(name), (12, 0), "{name}");
    }
}

fn snapshots(cache: &Path) -> Vec<PathBuf> {
    match std::fs::read_dir(cache.join("vespid/snapshots")) {
        Ok(entries) => entries.map(|entry| entry.expect("entry").path()).collect(),
        Err(_) => Vec::new(),
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn vus_from_the_snapshot_are_independent_and_a_broken_or_absent_cache_falls_back() {
    let cache = tempfile::tempdir().expect("temp dir");

    // First run on this machine: the snapshot is made, kept and used.
    let made = run_snapshot_script(cache.path()).await;
    assert!(made.stderr.contains("runtime snapshot ready"), "{}", made.stderr);
    assert!(!made.stderr.contains("does not compile"), "{}", made.stderr);
    assert_independent(&made);
    let kept = snapshots(cache.path());
    assert_eq!(kept.len(), 1, "one snapshot file: {kept:?}");
    assert!(std::fs::read(&kept[0]).expect("snapshot").starts_with(b"\0asm"));

    // A second run reads it, with the same behaviour.
    let reused = run_snapshot_script(cache.path()).await;
    assert!(reused.stderr.contains("runtime snapshot ready"), "{}", reused.stderr);
    assert_independent(&reused);

    // A broken file: the run uses the plain runtime and drops the file.
    std::fs::write(&kept[0], b"\0asm broken").expect("overwrite the snapshot");
    let broken = run_snapshot_script(cache.path()).await;
    assert!(broken.stderr.contains("snapshot does not compile, using the runtime"), "{}", broken.stderr);
    assert_independent(&broken);
    assert!(snapshots(cache.path()).is_empty(), "the broken snapshot is removed");

    // No usable cache directory (a file where it should be): no snapshot, same run.
    let file = cache.path().join("not-a-dir");
    std::fs::write(&file, b"").expect("file");
    let uncached = run_snapshot_script(&file).await;
    assert!(uncached.stderr.contains("no runtime snapshot"), "{}", uncached.stderr);
    assert_independent(&uncached);
}
