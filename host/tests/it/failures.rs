use crate::support::{Protocol, assert_server_saw, env, run_file, run_guest, scenario, target};

#[tokio::test(flavor = "multi_thread")]
async fn connection_refused_is_a_failed_request_and_the_run_completes() {
    let port = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
        listener.local_addr().expect("address").port()
    };
    let url = format!("URL=http://127.0.0.1:{port}/");
    let run = run_guest("http-probe", &["--vus", "2", "--iterations", "6", "--env", &url]).await;
    run.assert_ok();
    assert_eq!(run.count("http_reqs"), 6);
    assert_eq!(run.passes("http_req_failed"), 6);
    assert_eq!(run.error_count("connection refused"), 6);
    assert_eq!(run.count("iterations"), 6);
}

#[tokio::test(flavor = "multi_thread")]
async fn http_500_counts_as_failed_but_the_iteration_goes_on() {
    let server = target(Protocol::Http).await;
    let url = env("URL", &server, "/status/500");
    let run =
        run_guest("http-probe", &["--vus", "2", "--iterations", "6", "--env", &url, "--env", "EXPECT_STATUS=500"])
            .await;
    run.assert_ok();
    assert_server_saw(&run, &server, 6);
    assert_eq!((run.passes("http_req_failed"), run.fails("http_req_failed")), (6, 0));
    assert_eq!(run.passes("iterations_failed"), 0);
    assert_eq!(run.check("status is 500"), (6, 0));
}

#[tokio::test(flavor = "multi_thread")]
async fn a_timeout_is_a_failed_request() {
    let server = target(Protocol::Http).await;
    let url = env("URL", &server, "/delay/3000");
    let run =
        run_guest("http-probe", &["--vus", "2", "--iterations", "4", "--env", &url, "--env", "TIMEOUT_MS=200"]).await;
    run.assert_ok();
    assert_server_saw(&run, &server, 4);
    assert_eq!(run.passes("http_req_failed"), 4);
    assert_eq!(run.error_count("request timed out"), 4);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_zero_timeout_is_refused_with_a_clear_message_and_sends_nothing() {
    let server = target(Protocol::Http).await;
    let url = env("URL", &server, "/");
    let run = run_guest("http-probe", &["--iterations", "2", "--env", &url, "--env", "TIMEOUT_MS=0"]).await;
    run.assert_ok();
    assert_eq!(run.error_count("timeout-ms is 0; give at least 1 ms, or none"), 2);
    assert_eq!((run.count("http_reqs"), server.stats().requests), (0, 0));
}

#[tokio::test(flavor = "multi_thread")]
async fn panicking_iterations_fail_and_the_restarted_vu_opens_a_new_connection() {
    let server = target(Protocol::Http).await;
    // flaky-panic panics after its request on iterations 3 and 7 of each VU.
    let file = scenario(
        "flaky",
        "flaky-panic",
        &server.base_url(),
        "executor = \"per-vu-iterations\"\nvus = 5\niterations = 8",
    );
    let run = run_file(&file, &[]).await;
    run.assert_ok();
    assert_eq!(run.count("iterations"), 40);
    assert_eq!((run.passes("iterations_failed"), run.fails("iterations_failed")), (10, 30));
    assert_server_saw(&run, &server, 40);
    // One connection per VU, plus one after the panic at iteration 3 (the
    // VU restarts lazily, so the panic at the last iteration opens none).
    assert_eq!(server.stats().connections, 10);
    assert_eq!(run.error_count("flaky-panic: planned panic"), 10, "stderr: {}", run.stderr);
    // The message was logged once, not once per panic.
    assert_eq!(run.stderr.matches("planned panic").count(), 1, "stderr: {}", run.stderr);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_request_decides_which_statuses_are_expected() {
    let server = target(Protocol::Http).await;
    for (path, failed) in [("/status/404", 0), ("/status/204", 0), ("/status/302", 2), ("/status/500", 2)] {
        let url = env("URL", &server, path);
        let run = run_guest(
            "http-probe",
            &["--iterations", "2", "--env", &url, "--env", "EXPECTED_STATUSES=200-299,404", "--env", "MAX_REDIRECTS=0"],
        )
        .await;
        run.assert_ok();
        assert_eq!(run.count("http_reqs"), 2);
        assert_eq!((run.passes("http_req_failed"), run.fails("http_req_failed")), (failed, 2 - failed), "{path}");
    }
    assert_eq!(server.stats().requests, 8);
}
