use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::support::{Protocol, assert_server_saw, env, points, points_of, run_guest, target};

/// Reads one request (head and `Content-Length` body) from `socket`;
/// `buffered` keeps what was read past it. None when the client closed.
async fn read_request(socket: &mut TcpStream, buffered: &mut Vec<u8>) -> Option<()> {
    let mut chunk = [0u8; 4096];
    loop {
        if let Some(head_end) = buffered.windows(4).position(|w| w == b"\r\n\r\n").map(|at| at + 4) {
            let head = String::from_utf8_lossy(&buffered[..head_end]).to_ascii_lowercase();
            let body_len: usize = head
                .lines()
                .find_map(|line| line.strip_prefix("content-length:"))
                .map_or(0, |len| len.trim().parse().unwrap_or(0));
            if buffered.len() >= head_end + body_len {
                buffered.drain(..head_end + body_len);
                return Some(());
            }
        }
        match socket.read(&mut chunk).await {
            Ok(0) | Err(_) => return None,
            Ok(n) => buffered.extend_from_slice(&chunk[..n]),
        }
    }
}

/// A server that answers the first request of each connection and keeps
/// the connection; it reads the second one whole, then resets the
/// connection (RST) without answering. Counts the requests it read.
async fn resetting_server() -> (String, Arc<AtomicU64>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let url = format!("http://{}/", listener.local_addr().expect("address"));
    let requests = Arc::new(AtomicU64::new(0));
    let counter = requests.clone();
    tokio::spawn(async move {
        while let Ok((mut socket, _)) = listener.accept().await {
            let counter = counter.clone();
            tokio::spawn(async move {
                let mut buffered = Vec::new();
                if read_request(&mut socket, &mut buffered).await.is_none() {
                    return;
                }
                counter.fetch_add(1, Ordering::Relaxed);
                let ok = b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nok";
                if socket.write_all(ok).await.is_err() || read_request(&mut socket, &mut buffered).await.is_none() {
                    return;
                }
                counter.fetch_add(1, Ordering::Relaxed);
                let _ = socket.set_zero_linger();
            });
        }
    });
    (url, requests)
}

#[tokio::test(flavor = "multi_thread")]
async fn a_get_the_server_reset_after_reading_is_retried_once_and_a_post_never() {
    for (method, server_saw, iterations_failed) in [("GET", 3, 0), ("POST", 2, 1)] {
        let (url, requests) = resetting_server().await;
        let dir = tempfile::tempdir().expect("temp dir");
        let json = dir.path().join("points.json");
        let (url, method_env, out) =
            (format!("URL={url}"), format!("METHOD={method}"), format!("json={}", json.display()));
        let run = run_guest(
            "http-probe",
            &["--iterations", "2", "--env", &url, "--env", &method_env, "--env", "BODY=x", "--out", &out],
        )
        .await;
        run.assert_ok();
        // GET: the reset attempt, then its retry on a new connection.
        assert_eq!(requests.load(Ordering::Relaxed), server_saw, "{method}");
        assert_eq!(run.count("http_reqs"), server_saw, "{method}: every request the server read is counted");
        assert_eq!(run.passes("http_req_failed"), 1, "{method}");
        assert_eq!(run.passes("iterations_failed"), iterations_failed, "{method}");
        let points = points(&json);
        let reset = [("error", "connection-reset"), ("status", "0")];
        assert_eq!(points_of(&points, "http_reqs", &reset).len(), 1, "{method}");
        let sent = points_of(&points, "data_sent", &reset);
        assert!(sent.len() == 1 && sent[0]["value"].as_f64() > Some(0.0), "its bytes count: {sent:?}");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_discarded_body_is_read_and_counted_but_not_returned() {
    let server = target(Protocol::Http).await;
    let url = env("URL", &server, "/bytes/2000000");
    let run = run_guest(
        "http-probe",
        &["--iterations", "2", "--env", &url, "--env", "DISCARD_BODY=1", "--env", "EXPECT_BODY_LEN=0"],
    )
    .await;
    run.assert_ok();
    assert_server_saw(&run, &server, 2);
    assert_eq!(run.check("body length is 0"), (2, 0));
    assert_eq!(run.passes("http_req_failed"), 0);
    assert!(run.count("data_received") >= 4_000_000, "{}", run.count("data_received"));
}

#[tokio::test(flavor = "multi_thread")]
async fn a_body_over_max_response_body_fails_the_request_without_reading_the_rest() {
    let server = target(Protocol::Http).await;
    let cap = ["--max-response-body", "1MiB"];
    let message = "response body larger than max-response-body (1 MiB); raise it or use discard_body";

    let url = env("URL", &server, "/bytes/1000");
    let run = run_guest(
        "http-probe",
        &[&["--iterations", "1", "--env", &url, "--env", "EXPECT_BODY_LEN=1000"], &cap[..]].concat(),
    )
    .await;
    run.assert_ok();
    assert_eq!(run.check("body length is 1000"), (1, 0));

    // Announced too long: fails on the head alone.
    let url = env("URL", &server, "/bytes/2000000");
    let run = run_guest("http-probe", &[&["--iterations", "2", "--env", &url], &cap[..]].concat()).await;
    run.assert_ok();
    assert_eq!(run.count("http_reqs"), 2);
    assert_eq!((run.passes("http_req_failed"), run.passes("iterations_failed")), (2, 2));
    assert_eq!(run.error_count(message), 2, "errors: {:?}", run.summary.as_ref().map(|s| &s["errors"]));
    assert!(run.count("data_received") < 1 << 20, "read {} bytes", run.count("data_received"));

    // Chunked: reading stops past the cap.
    let url = env("URL", &server, "/stream-bytes/3000000");
    let run = run_guest("http-probe", &[&["--iterations", "1", "--env", &url], &cap[..]].concat()).await;
    run.assert_ok();
    assert_eq!((run.count("http_reqs"), run.passes("http_req_failed")), (1, 1));
    assert_eq!(run.error_count(message), 1);
    let received = run.count("data_received");
    assert!((1 << 20..2_000_000).contains(&received), "read {received} bytes of 3,000,000");
    assert_eq!(server.stats().requests, 4);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_batch_keeps_to_batch_per_host_and_batch_connections() {
    for (flags, limit) in [(&[][..], 6), (&["--batch", "3"][..], 3)] {
        let server = target(Protocol::Http).await;
        let url = env("URL", &server, "/delay/100");
        let mut args = vec!["--iterations", "1", "--env", &url, "--env", "BATCH=50", "--env", "EXPECT_STATUS=200"];
        args.extend_from_slice(flags);
        let run = run_guest("http-probe", &args).await;
        run.assert_ok();
        assert_server_saw(&run, &server, 50);
        assert_eq!(run.check("status is 200"), (50, 0));
        let stats = server.stats();
        assert!(stats.peak_concurrent_requests <= limit, "{flags:?}: {stats:?}");
        assert_eq!(stats.connections, limit, "{flags:?}: the batch reuses its connections: {stats:?}");
    }
}
