use crate::support::{Protocol, assert_server_saw, env, points, points_of, run_file, run_guest, scenario, target};

#[tokio::test(flavor = "multi_thread")]
async fn shared_iterations_runs_exactly_the_iterations_given() {
    let server = target(Protocol::Http).await;
    let base = env("BASE_URL", &server, "");
    let run = run_guest("hello", &["--vus", "7", "--iterations", "91", "--env", &base]).await;
    run.assert_ok();
    assert_eq!(run.count("iterations"), 91);
    assert_server_saw(&run, &server, 91);
    assert_eq!(server.stats().connections, 7);
    assert_eq!(run.passes("iterations_failed"), 0);
    assert_eq!(run.summary.as_ref().expect("summary")["scenarios"][0]["executor"], "shared-iterations");
}

#[tokio::test(flavor = "multi_thread")]
async fn per_vu_iterations_runs_exactly_vus_times_iterations() {
    let server = target(Protocol::Http).await;
    let file =
        scenario("each", "hello", &server.base_url(), "executor = \"per-vu-iterations\"\nvus = 6\niterations = 13");
    let run = run_file(&file, &[]).await;
    run.assert_ok();
    assert_eq!(run.count("iterations"), 78);
    assert_server_saw(&run, &server, 78);
    assert_eq!(server.stats().connections, 6);
}

#[tokio::test(flavor = "multi_thread")]
async fn without_duration_or_iterations_each_vu_runs_once() {
    let server = target(Protocol::Http).await;
    let base = env("BASE_URL", &server, "");
    let run = run_guest("hello", &["--vus", "3", "--env", &base]).await;
    run.assert_ok();
    assert_eq!((run.count("iterations"), server.stats().requests), (3, 3));
}

#[tokio::test(flavor = "multi_thread")]
async fn graceful_stop_abandons_iterations_that_outlast_it() {
    let server = target(Protocol::Http).await;
    let url = env("URL", &server, "/delay/5000");
    // Each iteration takes 5 s; the run lasts 1 s plus a 1 s graceful stop.
    let dir = tempfile::tempdir().expect("temp dir");
    let json = dir.path().join("points.json");
    let out = format!("json={}", json.display());
    let started = std::time::Instant::now();
    let run = run_guest(
        "http-probe",
        &["--vus", "2", "--duration", "1s", "--graceful-stop", "1s", "--env", &url, "--out", &out],
    )
    .await;
    run.assert_ok();
    assert!(started.elapsed() < std::time::Duration::from_secs(5), "the run stopped at the graceful stop");
    assert_eq!(run.count("iterations"), 0, "interrupted iterations are not counted");
    assert_eq!(run.count("interrupted_iterations"), 2, "but counted as interrupted");
    // The requests the server got are counted, as failed and interrupted.
    assert_server_saw(&run, &server, 2);
    assert_eq!(run.passes("http_req_failed"), 2);
    let points = points(&json);
    let interrupted = [("error", "interrupted"), ("status", "0"), ("expected_response", "false")];
    assert_eq!(points_of(&points, "http_reqs", &interrupted).len(), 2);
    assert!(points_of(&points, "data_sent", &interrupted).iter().all(|p| p["value"].as_f64() > Some(0.0)));
}
