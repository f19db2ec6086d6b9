use std::collections::HashMap;
use std::path::PathBuf;

use crate::support::{DemoTarget, Protocol, assert_server_saw, env, points, points_of, run_file, run_guest, target};

/// The server's CA in a file of `dir`, for `--ca-file`.
fn ca_file(server: &DemoTarget, dir: &tempfile::TempDir) -> PathBuf {
    let ca = dir.path().join("ca.pem");
    std::fs::write(&ca, server.ca_pem().expect("https has a CA")).expect("write CA");
    ca
}

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
    let ca = ca_file(&server, &dir);
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
    assert_eq!((server.stats().tls_handshakes, server.stats().tls_resumed), (3, 0));
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

#[tokio::test(flavor = "multi_thread")]
async fn a_vu_never_resumes_another_vus_tls_session() {
    let server = target(Protocol::Https).await;
    let dir = tempfile::tempdir().expect("temp dir");
    let ca = ca_file(&server, &dir);
    let url = env("URL", &server, "/");
    // VUs start 0.5 s apart, long after the first one got its session tickets.
    let run = run_guest(
        "http-probe",
        &[
            "--vus",
            "1",
            "--stage",
            "1s:3",
            "--stage",
            "1s:3",
            "--ca-file",
            ca.to_str().expect("utf-8"),
            "--env",
            &url,
            "--env",
            "PAUSE_MS=50",
        ],
    )
    .await;
    run.assert_ok();
    let requests = server.stats().requests;
    assert!(requests >= 3, "each VU made requests: {requests}");
    assert_server_saw(&run, &server, requests);
    let stats = server.stats();
    assert_eq!((stats.connections, stats.tls_handshakes, stats.tls_resumed), (3, 3, 0), "{stats:?}");
    assert_eq!(run.count("http_req_tls_handshaking"), 3);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_vu_resumes_its_own_tls_session_after_the_server_closed_its_connection() {
    let server = target(Protocol::Https).await;
    let dir = tempfile::tempdir().expect("temp dir");
    let ca = ca_file(&server, &dir);
    // /close closes the connection after each response: each request connects again.
    let file = format!(
        "[scenarios.closing]\nplugin = \"{{http-probe}}\"\nexecutor = \"per-vu-iterations\"\nvus = 2\niterations = 3\nenv = {{ URL = \"{}/close\", EXPECT_STATUS = \"200\" }}\n",
        server.base_url()
    );
    let run = run_file(&file, &["--ca-file", ca.to_str().expect("utf-8")]).await;
    run.assert_ok();
    assert_server_saw(&run, &server, 6);
    assert_eq!(run.check("status is 200"), (6, 0));
    let stats = server.stats();
    // Each VU's first connection is a full handshake; each later one resumes the VU's own session.
    assert_eq!((stats.connections, stats.tls_handshakes, stats.tls_resumed), (6, 6, 4), "{stats:?}");
}

#[tokio::test(flavor = "multi_thread")]
async fn waiting_is_the_servers_time_over_http_and_https_and_duration_adds_up() {
    const SERVER_MS: f64 = 200.0;
    const SCHEDULING_MARGIN_MS: f64 = 50.0;
    for protocol in [Protocol::Http, Protocol::Https] {
        let server = target(protocol).await;
        let dir = tempfile::tempdir().expect("temp dir");
        let json = dir.path().join("points.json");
        let (url, out) = (env("URL", &server, "/delay/200"), format!("json={}", json.display()));
        let mut args = vec!["--vus", "1", "--iterations", "3", "--env", &url, "--out", &out];
        let ca = server.ca_pem().is_some().then(|| ca_file(&server, &dir));
        if let Some(ca) = &ca {
            args.extend_from_slice(&["--ca-file", ca.to_str().expect("utf-8")]);
        }
        let run = run_guest("http-probe", &args).await;
        run.assert_ok();
        assert_server_saw(&run, &server, 3);
        // The server answers 200 ms after reading the request. A TLS session
        // ticket taken for the first byte would make a new connection's
        // `waiting` about 0; the margin only absorbs the client being
        // descheduled between writing the request and reading the clock.
        let min_waiting = run.value("http_req_waiting", "min");
        assert!(min_waiting >= SERVER_MS - SCHEDULING_MARGIN_MS, "{protocol:?}: {min_waiting}");
        // One VU: the samples of one request share their time.
        let points = points(&json);
        let mut by_request: HashMap<String, HashMap<String, f64>> = HashMap::new();
        for metric in ["http_req_duration", "http_req_sending", "http_req_waiting", "http_req_receiving"] {
            for point in points_of(&points, metric, &[]) {
                let time = point["time"].as_str().expect("time").to_string();
                by_request.entry(time).or_default().insert(metric.into(), point["value"].as_f64().expect("value"));
            }
        }
        assert_eq!(by_request.len(), 3, "{protocol:?}");
        for phases in by_request.values() {
            let sum = phases["http_req_sending"] + phases["http_req_waiting"] + phases["http_req_receiving"];
            assert!((phases["http_req_duration"] - sum).abs() < 0.01, "{protocol:?}: {phases:?}");
            assert!(phases["http_req_waiting"] >= SERVER_MS - SCHEDULING_MARGIN_MS, "{protocol:?}: {phases:?}");
        }
    }
}
