use crate::support::{
    Protocol, assert_server_saw, env, guest, points, points_of, run_file, run_guest, start, target, wait_for,
};

/// Points of requests cut short, from a `--out json` file.
fn interrupted_requests(json: &std::path::Path) -> usize {
    points_of(&points(json), "http_reqs", &[("error", "interrupted")]).len()
}

#[tokio::test(flavor = "multi_thread")]
async fn iterations_that_finish_within_the_graceful_stop_are_complete() {
    let server = target(Protocol::Http).await;
    let url = env("URL", &server, "/delay/600");
    let run =
        run_guest("http-probe", &["--vus", "2", "--duration", "1s", "--graceful-stop", "10s", "--env", &url]).await;
    run.assert_ok();
    assert_eq!(run.count("interrupted_iterations"), 0);
    assert_eq!(run.passes("http_req_failed"), 0);
    assert_eq!(run.count("iterations"), run.count("http_reqs"));
    assert_server_saw(&run, &server, run.count("http_reqs"));
}

#[tokio::test(flavor = "multi_thread")]
async fn an_abort_on_fail_threshold_cuts_requests_in_flight_and_counts_them() {
    let server = target(Protocol::Http).await;
    let url = format!("{}/delay/400", server.base_url());
    let dir = tempfile::tempdir().expect("temp dir");
    let json = dir.path().join("points.json");
    // Every request takes 400 ms, so the threshold fails at the first check
    // (after a second) while requests are on the wire.
    let file = format!(
        "[scenarios.slow]\nplugin = \"{{http-probe}}\"\nenv = {{ URL = \"{url}\" }}\nexecutor = \"constant-vus\"\nvus = 3\nduration = \"1m\"\n\
         [thresholds]\nhttp_req_duration = [{{ threshold = \"max<100\", abort-on-fail = true }}]\n"
    );
    let run = run_file(&file, &["--out", &format!("json={}", json.display())]).await;
    assert_eq!(run.code, 98, "stderr: {}", run.stderr);
    assert_server_saw(&run, &server, run.count("http_reqs"));
    // Each request is a complete iteration's or was cut on the wire.
    assert_eq!(run.count("iterations") + interrupted_requests(&json) as u64, run.count("http_reqs"));
    assert!(run.count("interrupted_iterations") >= interrupted_requests(&json) as u64);
}

#[tokio::test(flavor = "multi_thread")]
async fn ctrl_c_mid_request_counts_what_the_server_saw() {
    let server = target(Protocol::Http).await;
    let url = env("URL", &server, "/delay/10000");
    let dir = tempfile::tempdir().expect("temp dir");
    let json = dir.path().join("points.json");
    let out = format!("json={}", json.display());
    let plugin = guest("http-probe");
    let running = start(&[
        "run",
        plugin.to_str().expect("utf-8"),
        "--vus",
        "3",
        "--duration",
        "1m",
        "--env",
        &url,
        "--out",
        &out,
    ]);
    wait_for("three requests on the wire", || server.stats().requests == 3).await;
    running.interrupt();
    let run = running.finish().await;
    assert_eq!(run.code, 105, "stderr: {}", run.stderr);
    assert_server_saw(&run, &server, 3);
    assert_eq!(interrupted_requests(&json), 3);
    assert_eq!((run.count("iterations"), run.count("interrupted_iterations")), (0, 3));
}
