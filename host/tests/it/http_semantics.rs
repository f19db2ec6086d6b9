use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};

use crate::support::{Protocol, assert_server_saw, env, run_guest, target};

#[tokio::test(flavor = "multi_thread")]
async fn a_chain_of_three_redirects_counts_four_requests_and_ends_with_the_final_status() {
    let server = target(Protocol::Http).await;
    let url = env("URL", &server, "/redirect/3");
    let run = run_guest("http-probe", &["--iterations", "1", "--env", &url, "--env", "EXPECT_STATUS=200"]).await;
    run.assert_ok();
    assert_server_saw(&run, &server, 4);
    assert_eq!(server.path_count("/redirect/0"), 1);
    assert_eq!(run.check("status is 200"), (1, 0));
}

#[tokio::test(flavor = "multi_thread")]
async fn a_redirect_loop_ends_with_too_many_redirects() {
    let server = target(Protocol::Http).await;
    let url = env("URL", &server, "/redirect-loop");
    let run = run_guest("http-probe", &["--iterations", "2", "--env", &url]).await;
    run.assert_ok();
    // The first request plus 10 redirects, twice.
    assert_server_saw(&run, &server, 22);
    assert_eq!(run.error_count("too many redirects (limit 10)"), 2);
    assert_eq!(run.passes("iterations_failed"), 2);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_request_may_refuse_redirects() {
    let server = target(Protocol::Http).await;
    let url = env("URL", &server, "/redirect/3");
    let run = run_guest(
        "http-probe",
        &["--iterations", "1", "--env", &url, "--env", "MAX_REDIRECTS=0", "--env", "EXPECT_STATUS=302"],
    )
    .await;
    run.assert_ok();
    assert_server_saw(&run, &server, 1);
    assert_eq!(run.check("status is 302"), (1, 0));
}

#[tokio::test(flavor = "multi_thread")]
async fn session_cookies_stay_with_their_vu_through_a_multi_step_flow() {
    let server = target(Protocol::Http).await;
    let base = env("BASE_URL", &server, "");
    let run = run_guest("flow", &["--vus", "10", "--iterations", "50", "--env", &base]).await;
    run.assert_ok();
    assert_eq!(run.check("logged in"), (50, 0));
    // Each VU's /me carried its own session cookie, never another VU's.
    assert_eq!(run.check("session is mine"), (50, 0));
    assert_eq!(server.stats().me_without_session, 0);
    // The token read from the login response authorised the next request.
    assert_eq!(run.check("orders listed"), (50, 0));
    assert_server_saw(&run, &server, 150);
    assert_eq!(server.stats().connections, 10);
}

/// A server that answers one request per connection, keeps the connection
/// idle for 100 ms without saying it will close it, then closes it.
async fn closing_server() -> (String, Arc<AtomicU64>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let url = format!("http://{}/", listener.local_addr().expect("address"));
    let connections = Arc::new(AtomicU64::new(0));
    let counter = connections.clone();
    tokio::spawn(async move {
        while let Ok((mut socket, _)) = listener.accept().await {
            counter.fetch_add(1, Ordering::Relaxed);
            tokio::spawn(async move {
                let mut request = Vec::new();
                let mut buf = [0u8; 1024];
                while !request.windows(4).any(|w| w == b"\r\n\r\n") {
                    match socket.read(&mut buf).await {
                        Ok(0) | Err(_) => return,
                        Ok(n) => request.extend_from_slice(&buf[..n]),
                    }
                }
                let _ = socket.write_all(b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nok").await;
                tokio::time::sleep(Duration::from_millis(100)).await;
            });
        }
    });
    (url, connections)
}

#[tokio::test(flavor = "multi_thread")]
async fn a_kept_connection_the_server_closed_is_replaced_without_a_failed_request() {
    let (url, connections) = closing_server().await;
    let url = format!("URL={url}");
    // Each VU pauses 300 ms after its request, so its kept connection is
    // closed by the server before the next one.
    let run = run_guest(
        "http-probe",
        &["--vus", "2", "--iterations", "6", "--env", &url, "--env", "PAUSE_MS=300", "--env", "EXPECT_STATUS=200"],
    )
    .await;
    run.assert_ok();
    assert_eq!(run.check("status is 200"), (6, 0));
    assert_eq!(run.passes("http_req_failed"), 0);
    assert_eq!(run.count("http_reqs"), 6);
    assert_eq!(connections.load(Ordering::Relaxed), 6, "one new connection per request");
}
