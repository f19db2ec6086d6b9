use std::path::{Path, PathBuf};

use serde_json::Value;

use crate::support::*;

/// The reload-probe guest with its mark rewritten: `version:201` calls
/// `/status/201`, `version:202` `/status/202`, `version:666` traps in init.
pub fn probe_version(code: &str) -> Vec<u8> {
    let bytes = std::fs::read(guest("reload-probe")).expect("reload-probe built");
    let (from, to) = (b"version:201".as_slice(), format!("version:{code}"));
    let at = bytes.windows(from.len()).position(|w| w == from).expect("the mark is in the component");
    let mut patched = bytes.clone();
    patched[at..at + from.len()].copy_from_slice(to.as_bytes());
    patched
}

/// How the new version reaches the file.
#[derive(Clone, Copy)]
enum Write {
    /// As cargo and most editors: the file disappears and another is renamed over it.
    Rename,
    /// In place, in two halves: the watcher sees a half-written file first.
    InPlace,
}

fn replace(file: &Path, bytes: &[u8], how: Write) {
    match how {
        Write::Rename => {
            let staged = file.with_extension("wasm.new");
            std::fs::write(&staged, bytes).unwrap();
            std::fs::remove_file(file).unwrap();
            std::fs::rename(&staged, file).unwrap();
        }
        Write::InPlace => {
            use std::io::Write as _;
            let mut out = std::fs::File::create(file).unwrap();
            let (first, rest) = bytes.split_at(bytes.len() / 2);
            out.write_all(first).unwrap();
            out.flush().unwrap();
            out.write_all(rest).unwrap();
        }
    }
}

/// A run of 200 VUs over `iterations` shared iterations of the probe in `dir`.
fn start_watched(dir: &Path, server: &DemoTarget, iterations: &str) -> (PathBuf, Running) {
    let plugin = dir.join("probe.wasm");
    std::fs::write(&plugin, probe_version("201")).unwrap();
    let base = env("BASE_URL", server, "");
    let run = start(&[
        "run",
        plugin.to_str().unwrap(),
        "--watch",
        "--vus",
        "200",
        "--iterations",
        iterations,
        "--env",
        &base,
    ]);
    (plugin, run)
}

fn versions(run: &Outcome) -> Vec<(String, String, u64)> {
    let versions = run.summary.as_ref().expect("summary")["plugin_versions"].as_array().expect("versions").clone();
    versions
        .iter()
        .map(|v| {
            let field = |key: &str| v[key].as_str().unwrap_or_default().to_string();
            (field("version"), field("source"), v["iterations"].as_u64().unwrap_or(0))
        })
        .collect()
}

fn changes<'a>(run: &'a Outcome, action: &str) -> Vec<&'a Value> {
    let all = run.summary.as_ref().expect("summary")["changes"].as_array().expect("changes");
    all.iter().filter(|c| c["action"] == action).collect()
}

async fn swap_under_load(how: Write) {
    let server = target(Protocol::Http).await;
    let dir = tempfile::tempdir().unwrap();
    let (plugin, run) = start_watched(dir.path(), &server, "30000");
    wait_for("version 1 running", || server.path_count("/status/201") >= 1000).await;
    replace(&plugin, &probe_version("202"), how);
    wait_for("the new version in use", || server.path_count("/status/202") >= 2000).await;
    // Every VU has moved: more iterations run, none on the old version.
    let old = server.path_count("/status/201");
    wait_for("more iterations", || server.path_count("/status/202") >= 4000).await;
    assert_eq!(server.path_count("/status/201"), old, "a VU still ran version 1");

    let run = run.finish().await;
    run.assert_ok();
    // 30,000 iterations and teardown, on the version in force at the end.
    assert_server_saw(&run, &server, 30001);
    assert_eq!((server.path_count("/delay/201"), server.path_count("/delay/202")), (0, 1));
    assert_eq!(run.passes("iterations_failed"), 0);
    assert_eq!(run.check("status as the version says"), (30000, 0));
    let versions = versions(&run);
    assert_eq!(versions.len(), 2, "{versions:?}");
    assert_eq!(versions[0].1, "start");
    assert_eq!(versions[1].1, "watch");
    assert_ne!(versions[0].0, versions[1].0);
    // The samples' version tags split the iterations as the server saw them.
    assert_eq!(versions[0].2, old);
    assert_eq!(versions[1].2, server.path_count("/status/202"));
    // One reload for the write, even when it came in two halves.
    assert_eq!(changes(&run, "reload").len(), 1, "{}", run.stderr);
    assert!(changes(&run, "reload-rejected").is_empty(), "{}", run.stderr);
}

#[tokio::test]
async fn a_plugin_renamed_over_moves_every_vu_to_the_new_version() {
    swap_under_load(Write::Rename).await;
}

#[tokio::test]
async fn a_plugin_written_in_place_moves_every_vu_to_the_new_version() {
    swap_under_load(Write::InPlace).await;
}

#[tokio::test]
async fn broken_versions_are_refused_and_the_next_good_one_is_picked_up() {
    let server = target(Protocol::Http).await;
    let dir = tempfile::tempdir().unwrap();
    // Enough iterations to outlast five reloads on a slow machine.
    let (plugin, run) = start_watched(dir.path(), &server, "100000");
    wait_for("version 1 running", || server.path_count("/status/201") >= 500).await;
    let good = probe_version("202");
    let broken: [(&str, Vec<u8>); 4] = [
        ("not a component", b"this is not wasm".to_vec()),
        ("another world", std::fs::read(guest("wrong-world")).unwrap()),
        ("init traps", probe_version("666")),
        ("half-written", good[..good.len() / 3].to_vec()),
    ];
    for (count, (what, bytes)) in broken.iter().enumerate() {
        std::fs::write(&plugin, bytes).unwrap();
        let rejections = |stderr: String| stderr.matches("reload rejected").count();
        wait_for(&format!("{what} refused"), || rejections(run.stderr()) > count).await;
    }
    std::fs::write(&plugin, &good).unwrap();
    wait_for("the good version in use", || server.path_count("/status/202") >= 100).await;

    let run = run.finish().await;
    run.assert_ok();
    assert_server_saw(&run, &server, 100001);
    assert_eq!(run.passes("iterations_failed"), 0, "{}", run.stderr);
    let rejected = changes(&run, "reload-rejected");
    assert_eq!(rejected.len(), 4, "{rejected:?}");
    for (change, expected) in
        rejected.iter().zip(["not a WebAssembly file", "another world", "version 666", "not a valid component"])
    {
        let detail = change["detail"].as_str().unwrap();
        assert!(detail.contains(expected) && detail.contains("keeps running"), "{expected:?} in {detail}");
    }
    assert_eq!(changes(&run, "reload").len(), 1);
    assert_eq!(versions(&run).len(), 2);
}

#[tokio::test]
async fn plugins_of_one_run_are_reloaded_independently() {
    let server = target(Protocol::Http).await;
    let dir = tempfile::tempdir().unwrap();
    let (left, right) = (dir.path().join("left.wasm"), dir.path().join("right.wasm"));
    std::fs::write(&left, probe_version("201")).unwrap();
    std::fs::write(&right, probe_version("201")).unwrap();
    let base = server.base_url();
    let table = |name: &str, plugin: &Path| {
        format!(
            "[scenarios.{name}]\nplugin = {plugin:?}\nenv = {{ BASE_URL = {base:?} }}\nexecutor = \"shared-iterations\"\nvus = 20\niterations = 30000\n"
        )
    };
    let run_file = write_run_file(dir.path(), &(table("left", &left) + &table("right", &right)));
    let run = start(&["run", run_file.to_str().unwrap(), "--watch"]);
    wait_for("both running", || server.path_count("/status/201") >= 1000).await;
    replace(&right, &probe_version("202"), Write::Rename);
    wait_for("the new version of one plugin", || server.path_count("/status/202") >= 100).await;
    std::fs::write(&run_file, "# edited").unwrap();
    wait_for("the run file's change noted", || run.stderr().contains("run file changed")).await;

    let run = run.finish().await;
    run.assert_ok();
    // Both scenarios' iterations, and each plugin's teardown on its own version at the end.
    assert_server_saw(&run, &server, 60002);
    assert_eq!((server.path_count("/delay/201"), server.path_count("/delay/202")), (1, 1));
    let versions = run.summary.as_ref().unwrap()["plugin_versions"].as_array().unwrap().clone();
    let of = |scenario: &str| versions.iter().filter(|v| v["scenario"] == scenario).count();
    assert_eq!((of("left"), of("right")), (1, 2), "{versions:?}");
    // Every iteration of the new version came from the right scenario.
    let right_new = versions.iter().find(|v| v["scenario"] == "right" && v["source"] == "watch").unwrap();
    assert_eq!(right_new["iterations"].as_u64().unwrap(), server.path_count("/status/202"));
    assert_eq!(changes(&run, "run-file-changed").len(), 1);
}
