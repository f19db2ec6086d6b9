use std::time::Duration;

use vespid::client::Client;
use vespid::run::control::{Status, StatusPatch};

use crate::support::*;

/// A loopback address no one listens on right now.
fn free_address() -> String {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("a free port");
    listener.local_addr().expect("bound").to_string()
}

/// Polls the run's status until `condition` holds (a hang guard of a minute).
async fn wait_for_status(client: &Client, what: &str, condition: impl Fn(&Status) -> bool) -> Status {
    let deadline = std::time::Instant::now() + Duration::from_secs(60);
    loop {
        if let Ok(status) = client.status().await
            && condition(&status)
        {
            return status;
        }
        assert!(std::time::Instant::now() < deadline, "never saw: {what}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

fn scale(factor: Option<f64>, vus: Option<u32>) -> StatusPatch {
    StatusPatch { factor, vus, ..StatusPatch::default() }
}

#[tokio::test]
async fn a_ramping_vus_run_follows_a_scale_change_mid_stage() {
    let server = target(Protocol::Http).await;
    let (address, dir) = (free_address(), tempfile::tempdir().unwrap());
    let out = dir.path().join("points.json");
    let hello = guest("hello");
    let run = start(&[
        "run",
        hello.to_str().unwrap(),
        "--stage",
        "1s:4",
        "--stage",
        "10m:4",
        "--max-vus",
        "8",
        "--address",
        &address,
        "--out",
        &format!("json={}", out.display()),
        "--env",
        &env("BASE_URL", &server, ""),
    ]);
    let client = Client::new(&address, None).unwrap();
    wait_for_status(&client, "4 VUs", |s| s.vus == 4).await;
    // Twice the stage's target, held though the stage goes on: VUs beyond the plan are started.
    client.patch(&scale(Some(2.0), None)).await.unwrap();
    let status = wait_for_status(&client, "8 VUs", |s| s.vus == 8).await;
    assert_eq!((status.vus_max, status.scenarios[0].factor), (8, 2.0));
    // A fixed count, then more than the run may hold.
    client.patch(&scale(None, Some(3))).await.unwrap();
    wait_for_status(&client, "3 VUs", |s| s.vus == 3).await;
    let refused = client.patch(&scale(None, Some(9))).await.unwrap_err().to_string();
    assert!(refused.contains("--max-vus") && refused.contains("409"), "{refused}");
    run.interrupt();

    let run = run.finish().await;
    assert_eq!(run.code, 105, "{}", run.stderr);
    assert_server_saw(&run, &server, run.count("http_reqs"));
    let changes = run.summary.as_ref().unwrap()["changes"].as_array().unwrap().clone();
    let details: Vec<&str> = changes.iter().map(|c| c["detail"].as_str().unwrap()).collect();
    assert_eq!(details, ["factor 2", "3 VUs"], "the refused change is not logged");
    assert!(
        changes.iter().all(|c| c["action"] == "scale" && c["source"].as_str().unwrap().starts_with("api 127.0.0.1:"))
    );
    assert!(run.stderr.contains("scale (api 127.0.0.1:"), "changes are shown as they happen: {}", run.stderr);
    // The same changes as markers among the points.
    let text = std::fs::read_to_string(&out).unwrap();
    let markers: Vec<serde_json::Value> =
        text.lines().filter(|l| l.contains(r#""type":"Marker""#)).map(|l| serde_json::from_str(l).unwrap()).collect();
    assert_eq!(markers.len(), 2);
    assert_eq!(markers[0]["data"]["detail"], "factor 2");
}

#[tokio::test]
async fn an_arrival_rate_run_is_scaled_paused_and_resumed_without_drops() {
    let server = target(Protocol::Http).await;
    let address = free_address();
    let options =
        "executor = \"constant-arrival-rate\"\nrate = 20\nduration = \"4s\"\npre-allocated-vus = 10\nmax-vus = 20";
    let text = scenario("steady", "hello", &server.base_url(), options);
    let dir = tempfile::tempdir().unwrap();
    let path = write_run_file(dir.path(), &text);
    let run = start(&["run", path.to_str().unwrap(), "--address", &address]);
    let client = Client::new(&address, None).unwrap();
    wait_for_status(&client, "running", |s| s.elapsed > 0.5).await;
    let scaled = client.patch(&scale(Some(2.5), None)).await.unwrap();
    wait_for_status(&client, "past the scale change", |s| s.elapsed > scaled.elapsed + 0.5).await;

    let paused = client.patch(&StatusPatch { paused: Some(true), ..StatusPatch::default() }).await.unwrap();
    assert_eq!(paused.status, "paused");
    // Nothing starts while paused: the server's count settles and stays.
    let mut before = server.path_count("/");
    loop {
        tokio::time::sleep(Duration::from_millis(300)).await;
        let now = server.path_count("/");
        if now == before {
            break;
        }
        before = now;
    }
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(server.path_count("/"), before, "an iteration started while paused");
    let still = client.status().await.unwrap();
    assert!(still.paused && (still.elapsed - paused.elapsed).abs() < 1e-9, "the test clock stood still");
    client.patch(&StatusPatch { paused: Some(false), ..StatusPatch::default() }).await.unwrap();

    let run = run.finish().await;
    run.assert_ok();
    // 20/s until the change, 50/s after it, over 4 s of test time; the paused time added nothing and dropped nothing.
    let expected = 20.0 * scaled.elapsed + 50.0 * (4.0 - scaled.elapsed);
    let started = run.count("iterations") as f64;
    assert!((started - expected).abs() <= 3.0, "{started} iterations, expected {expected:.1}");
    assert_eq!(run.count("dropped_iterations"), 0);
    assert_server_saw(&run, &server, run.count("iterations"));
    let actions: Vec<String> = run.summary.as_ref().unwrap()["changes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["action"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(actions, ["scale", "pause", "resume"]);
}

#[tokio::test]
async fn a_run_with_a_token_refuses_requests_without_it() {
    let server = target(Protocol::Http).await;
    let address = free_address();
    let hello = guest("hello");
    let base = env("BASE_URL", &server, "");
    let run = start(&[
        "run",
        hello.to_str().unwrap(),
        "--vus",
        "1",
        "--duration",
        "10m",
        "--address",
        &address,
        "--api-token",
        "s3cret",
        "--env",
        &base,
    ]);
    let with = Client::new(&address, Some("s3cret".into())).unwrap();
    wait_for_status(&with, "running", |s| s.vus == 1).await;
    for token in [None, Some("wrong".to_string())] {
        let refused = Client::new(&address, token).unwrap().patch(&scale(Some(0.0), None)).await.unwrap_err();
        assert!(refused.to_string().contains("401"), "{refused}");
    }
    assert_eq!(with.status().await.unwrap().scenarios[0].factor, 1.0, "nothing changed");
    // The client commands exit 4 when no run answers.
    let nobody = vespid(&["status", "--address", &free_address()]).await;
    assert_eq!(nobody.code, 4, "{}", nobody.stderr);
    assert!(nobody.stderr.contains("no run answers"), "{}", nobody.stderr);
    run.interrupt();
    assert_eq!(run.finish().await.code, 105);
}

#[tokio::test]
async fn a_plugin_is_swapped_by_path_through_the_api() {
    let server = target(Protocol::Http).await;
    let (address, dir) = (free_address(), tempfile::tempdir().unwrap());
    let (first, second, broken) = (dir.path().join("v1.wasm"), dir.path().join("v2.wasm"), dir.path().join("bad.wasm"));
    std::fs::write(&first, crate::reload::probe_version("201")).unwrap();
    std::fs::write(&second, crate::reload::probe_version("202")).unwrap();
    std::fs::write(&broken, crate::reload::probe_version("666")).unwrap();
    let base = env("BASE_URL", &server, "");
    let run = start(&[
        "run",
        first.to_str().unwrap(),
        "--vus",
        "5",
        "--duration",
        "10m",
        "--address",
        &address,
        "--env",
        &base,
    ]);
    let client = Client::new(&address, None).unwrap();
    let before = wait_for_status(&client, "running", |s| s.vus == 5).await;
    let swap = |path: &std::path::Path| StatusPatch { plugin: Some(path.to_path_buf()), ..StatusPatch::default() };
    let refused = client.patch(&swap(&broken)).await.unwrap_err().to_string();
    assert!(refused.contains("version 666") && refused.contains("422"), "{refused}");
    let after = client.patch(&swap(&second)).await.unwrap();
    assert_ne!(after.scenarios[0].plugin_version, before.scenarios[0].plugin_version);
    wait_for("the swapped version in use", || server.path_count("/status/202") >= 50).await;
    run.interrupt();

    let run = run.finish().await;
    assert_eq!(run.code, 105, "{}", run.stderr);
    assert_server_saw(&run, &server, run.count("http_reqs"));
    let changes = run.summary.as_ref().unwrap()["changes"].as_array().unwrap().clone();
    let actions: Vec<&str> = changes.iter().map(|c| c["action"].as_str().unwrap()).collect();
    assert_eq!(actions, ["reload-rejected", "reload"]);
    assert!(changes.iter().all(|c| c["source"].as_str().unwrap().starts_with("api ")));
}

#[tokio::test]
async fn a_taken_address_fails_the_run_before_it_starts() {
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let address = taken.local_addr().unwrap().to_string();
    let out = run_guest("hello", &["--iterations", "1", "--address", &address]).await;
    assert_eq!(out.code, 1, "{}", out.stderr);
    assert!(out.stderr.contains("cannot start the control API on") && out.summary.is_none(), "{}", out.stderr);
}
