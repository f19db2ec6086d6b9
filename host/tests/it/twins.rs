//! JavaScript and Python scenarios beside their Rust twins (the same
//! scenario gives the same server counts, checks and failure accounting)
//! and a script swapped in under `--watch`.

use crate::js::{closed_port, script};
use crate::python::compile_the_runtime_once;
use crate::support::*;

// ---- Conformance: the same scenario in Rust, JavaScript and Python ----

/// `vespid run <script> <args>`.
async fn run_script(path: &std::path::Path, args: &[&str]) -> Outcome {
    let mut all = vec!["run", path.to_str().expect("utf-8 path")];
    all.extend_from_slice(args);
    vespid(&all).await
}

#[tokio::test(flavor = "multi_thread")]
async fn the_flow_scripts_match_the_rust_flow_guest() {
    compile_the_runtime_once().await;
    let python = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../examples/python/flow.py");
    let mut results = Vec::new();
    for twin in [None, Some(script("flow.js")), Some(python)] {
        let server = target(Protocol::Http).await;
        let base = env("BASE_URL", &server, "");
        let args = ["--vus", "10", "--iterations", "50", "--env", &base];
        let run = match &twin {
            Some(path) => run_script(path, &args).await,
            None => run_guest("flow", &args).await,
        };
        run.assert_ok();
        assert_server_saw(&run, &server, 150);
        let stats = server.stats();
        results.push((
            ["logged in", "session is mine", "orders listed"].map(|name| run.check(name)),
            ["/login", "/me", "/orders"].map(|path| server.path_count(path)),
            (stats.me_without_session, stats.connections),
            (run.count("iterations"), run.passes("iterations_failed"), run.passes("http_req_failed")),
            run.value("http_req_duration{name:orders}", "count"),
        ));
    }
    assert_eq!(results[0], results[1], "Rust, then JavaScript");
    assert_eq!(results[0], results[2], "Rust, then Python");
    assert_eq!(results[0].0, [(50, 0); 3]);
    assert_eq!(results[0].2, (0, 10), "each VU kept its own session and connection");
}

#[tokio::test(flavor = "multi_thread")]
async fn failures_are_accounted_as_for_the_rust_probe() {
    compile_the_runtime_once().await;
    let port = closed_port();
    let refused = format!("URL=http://127.0.0.1:{port}/");
    let server = target(Protocol::Http).await;
    let slow = env("URL", &server, "/delay/3000");
    let status = env("URL", &server, "/status/500");
    let cases: [(&str, Vec<&str>); 3] = [
        ("connection refused", vec!["--env", &refused]),
        ("request time", vec!["--env", &slow, "--env", "TIMEOUT_MS=200"]),
        ("", vec!["--env", &status, "--env", "EXPECT_STATUS=500"]),
    ];
    for (error, extra) in cases {
        let mut args = vec!["--vus", "2", "--iterations", "4"];
        args.extend(extra);
        let rust = run_guest("http-probe", &args).await;
        let js = run_script(&script("probe.js"), &args).await;
        let python = run_script(&script("python/probe.py"), &args).await;
        let facts = |run: &Outcome| {
            run.assert_ok();
            (
                run.count("http_reqs"),
                run.count("iterations"),
                (run.passes("iterations_failed"), run.fails("iterations_failed")),
                (run.passes("http_req_failed"), run.fails("http_req_failed")),
                if error.is_empty() { 0 } else { run.error_count(error) },
                run.summary.as_ref().unwrap()["checks"].clone(),
            )
        };
        let (rust, js, python) = (facts(&rust), facts(&js), facts(&python));
        assert_eq!(rust, js, "{error:?}: Rust, then JavaScript");
        assert_eq!(rust, python, "{error:?}: Rust, then Python");
        assert_eq!(rust.0, 4);
        if !error.is_empty() {
            assert_eq!((rust.2, rust.4), ((4, 0), 4), "{error}");
        }
    }
    // The timeouts and the 500s reached the server, from the three runs.
    assert_eq!((server.path_count("/delay/3000"), server.path_count("/status/500")), (12, 12));
}

// ---- Hot reload ----

#[tokio::test(flavor = "multi_thread")]
async fn a_changed_script_swaps_in_under_watch() {
    let version = |code: u16| {
        format!(
            "import http from 'k6/http';\nimport {{ check, sleep }} from 'k6';\nconst CODE = {code};\n\
             export const options = {{ scenarios: {{ s: {{ executor: 'shared-iterations', vus: 10, iterations: 6000 }} }} }};\n\
             export default function () {{\n  check(http.get(`${{__ENV.BASE_URL}}/status/${{CODE}}`), {{ 'status as the version says': (r) => r.status === CODE }});\n  sleep(0.01);\n}}\n"
        )
    };
    assert_a_changed_script_swaps_in_under_watch("versioned.js", version, &[]).await;
}

/// `file`, written as `version(201)` and then rewritten as `version(202)`
/// while `vespid run file --watch <args>` runs 6,000 iterations, each a GET
/// of /status/<code> checked as "status as the version says": every VU
/// moves to the new version, and the samples' versions split the
/// iterations as the server saw them.
pub(crate) async fn assert_a_changed_script_swaps_in_under_watch(
    file: &str,
    version: impl Fn(u16) -> String,
    args: &[&str],
) {
    let server = target(Protocol::Http).await;
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join(file);
    std::fs::write(&path, version(201)).expect("write script");
    let base = env("BASE_URL", &server, "");
    let mut all = vec!["run", path.to_str().unwrap(), "--watch", "-e", &base];
    all.extend_from_slice(args);
    let run = start(&all);
    wait_for("version 1 running", || server.path_count("/status/201") >= 100).await;
    std::fs::write(&path, version(202)).expect("rewrite script");
    wait_for("the new version in use", || server.path_count("/status/202") >= 100).await;
    let old = server.path_count("/status/201");
    wait_for("more iterations", || server.path_count("/status/202") >= 300).await;
    assert_eq!(server.path_count("/status/201"), old, "a VU still ran version 1");

    let run = run.finish().await;
    run.assert_ok();
    assert_server_saw(&run, &server, 6000);
    assert_eq!(run.check("status as the version says"), (6000, 0));
    let summary = run.summary.as_ref().expect("summary");
    let versions = summary["plugin_versions"].as_array().expect("versions");
    assert_eq!(versions.len(), 2, "{versions:?}");
    assert_eq!((versions[0]["source"].as_str(), versions[1]["source"].as_str()), (Some("start"), Some("watch")));
    assert_ne!(versions[0]["version"], versions[1]["version"]);
    // The samples' plugin_version tags split the iterations as the server saw them.
    assert_eq!(versions[0]["iterations"].as_u64(), Some(old));
    assert_eq!(versions[1]["iterations"].as_u64(), Some(server.path_count("/status/202")));
}
