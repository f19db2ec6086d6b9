use crate::support::{Protocol, assert_server_saw, env, run_guest, target};

#[tokio::test(flavor = "multi_thread")]
async fn a_self_signed_server_fails_each_request_with_a_tls_error_by_default() {
    let server = target(Protocol::Https).await;
    let url = env("URL", &server, "/");
    let run = run_guest("http-probe", &["--vus", "2", "--iterations", "6", "--env", &url]).await;
    run.assert_ok();
    assert_eq!(run.count("http_reqs"), 6);
    assert_eq!(run.passes("http_req_failed"), 6);
    assert_eq!(run.passes("iterations_failed"), 6);
    assert_eq!(run.error_count("TLS failed"), 6, "errors: {:?}", run.summary.as_ref().map(|s| &s["errors"]));
    assert_eq!(server.stats().requests, 0);
}

#[tokio::test(flavor = "multi_thread")]
async fn the_ca_file_makes_https_work_with_one_handshake_per_connection() {
    let server = target(Protocol::Https).await;
    let dir = tempfile::tempdir().expect("temp dir");
    let ca = dir.path().join("ca.pem");
    std::fs::write(&ca, server.ca_pem().expect("https has a CA")).expect("write CA");
    let url = env("URL", &server, "/");
    let run = run_guest(
        "http-probe",
        &[
            "--vus",
            "3",
            "--iterations",
            "12",
            "--ca-file",
            ca.to_str().expect("utf-8"),
            "--env",
            &url,
            "--env",
            "EXPECT_STATUS=200",
        ],
    )
    .await;
    run.assert_ok();
    assert_server_saw(&run, &server, 12);
    assert_eq!(run.check("status is 200"), (12, 0));
    assert_eq!(run.count("http_req_tls_handshaking"), 3, "one handshake sample per new connection");
    assert_eq!(server.stats().tls_handshakes, 3);
}

#[tokio::test(flavor = "multi_thread")]
async fn insecure_skip_tls_verify_accepts_the_self_signed_server() {
    let server = target(Protocol::Https).await;
    let url = env("URL", &server, "/");
    let run = run_guest(
        "http-probe",
        &["--vus", "2", "--iterations", "4", "--insecure-skip-tls-verify", "--env", &url, "--env", "EXPECT_STATUS=200"],
    )
    .await;
    run.assert_ok();
    assert_eq!(run.check("status is 200"), (4, 0));
    assert_eq!(run.passes("http_req_failed"), 0);
    assert_eq!(server.stats().requests, 4);
}
