use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};

use crate::support::{DemoTarget, Protocol, assert_server_saw, env, run_guest, target};

/// `host:port` of a demo target, as a `Host` header names it.
fn host_of(server: &DemoTarget) -> String {
    server.base_url().split("://").nth(1).expect("scheme").to_string()
}

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

#[tokio::test(flavor = "multi_thread")]
async fn repeated_headers_stay_repeated_and_replace_defaults_only_by_name() {
    let server = target(Protocol::Http).await;
    let url = env("URL", &server, "/echo");
    let headers = "HEADERS=Accept: a|X-Forwarded-For: 1.1.1.1|Accept: b|X-Forwarded-For: 2.2.2.2|User-Agent: probe/1";
    let run = run_guest("http-probe", &["--iterations", "1", "--env", &url, "--env", headers]).await;
    run.assert_ok();
    assert_server_saw(&run, &server, 1);
    let echoes = server.echoes();
    let [echo] = echoes.as_slice() else { panic!("one request to /echo: {echoes:?}") };
    assert_eq!(echo.header("accept"), ["a", "b"]);
    assert_eq!(echo.header("x-forwarded-for"), ["1.1.1.1", "2.2.2.2"]);
    assert_eq!(echo.header("user-agent"), ["probe/1"], "the guest's value replaces the default");
    assert_eq!(echo.header("host"), [host_of(&server)], "the default the guest did not set");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_guest_cookie_header_merges_with_the_jar() {
    let server = target(Protocol::Http).await;
    let (first, url) = (env("FIRST_URL", &server, "/cookies/set/jar/1"), env("URL", &server, "/echo"));
    let run = run_guest(
        "http-probe",
        &["--iterations", "1", "--env", &first, "--env", &url, "--env", "HEADERS=Cookie: user=2"],
    )
    .await;
    run.assert_ok();
    assert_server_saw(&run, &server, 2);
    let echoes = server.echoes();
    let [echo] = echoes.as_slice() else { panic!("one request to /echo: {echoes:?}") };
    assert_eq!(echo.header("cookie"), ["user=2; jar=1"], "one line: the guest's cookies, then the jar's");
    let agent = echo.header("user-agent");
    assert!(agent.len() == 1 && agent[0].starts_with("vespid/"), "the default User-Agent: {agent:?}");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_cookie_set_on_a_redirect_goes_with_the_next_hop() {
    let server = target(Protocol::Http).await;
    let url = env("URL", &server, "/cookies/set/hop/1?redirect=/echo");
    let run = run_guest("http-probe", &["--iterations", "1", "--env", &url, "--env", "EXPECT_STATUS=200"]).await;
    run.assert_ok();
    assert_server_saw(&run, &server, 2);
    assert_eq!(run.check("status is 200"), (1, 0));
    let echoes = server.echoes();
    let [echo] = echoes.as_slice() else { panic!("one request to /echo: {echoes:?}") };
    assert_eq!(echo.header("cookie"), ["hop=1"]);
}

#[tokio::test(flavor = "multi_thread")]
async fn credentials_and_host_do_not_follow_a_redirect_to_another_origin() {
    let (first, other) = (target(Protocol::Http).await, target(Protocol::Http).await);
    let credentials =
        "HEADERS=Authorization: Bearer t|Cookie: user=1|Proxy-Authorization: Basic p|Host: custom.test|X-Keep: 1";
    // Same origin: every header follows.
    let url = env("URL", &first, "/redirect-to?url=/echo&status=307");
    let run = run_guest("http-probe", &["--iterations", "1", "--env", &url, "--env", credentials]).await;
    run.assert_ok();
    assert_server_saw(&run, &first, 2);
    let echoes = first.echoes();
    let [echo] = echoes.as_slice() else { panic!("one request to /echo: {echoes:?}") };
    assert_eq!(echo.header("authorization"), ["Bearer t"]);
    assert_eq!(echo.header("cookie"), ["user=1"]);
    assert_eq!(echo.header("host"), ["custom.test"]);

    // Another origin (another port): only X-Keep follows; Host names the new origin.
    let url = format!("URL={}/redirect-to?url={}/echo&status=307", first.base_url(), other.base_url());
    let run = run_guest("http-probe", &["--iterations", "1", "--env", &url, "--env", credentials]).await;
    run.assert_ok();
    assert_eq!(run.count("http_reqs"), 2);
    assert_eq!((first.stats().requests, other.stats().requests), (3, 1));
    let echoes = other.echoes();
    let [echo] = echoes.as_slice() else { panic!("one request to /echo: {echoes:?}") };
    for name in ["authorization", "cookie", "proxy-authorization"] {
        assert!(echo.header(name).is_empty(), "{name} followed: {echo:?}");
    }
    assert_eq!(echo.header("host"), [host_of(&other)]);
    assert_eq!(echo.header("x-keep"), ["1"]);
}

#[tokio::test(flavor = "multi_thread")]
async fn see_other_turns_a_post_into_a_bodiless_get_and_307_keeps_method_and_body() {
    let server = target(Protocol::Http).await;
    let post = ["--env", "METHOD=POST", "--env", "BODY=payload", "--env", "HEADERS=Content-Type: text/plain"];
    for status in [303, 307] {
        let url = env("URL", &server, &format!("/redirect-to?url=/echo&status={status}"));
        let mut args = vec!["--iterations", "1", "--env", &url, "--env", "EXPECT_STATUS=200"];
        args.extend_from_slice(&post);
        let run = run_guest("http-probe", &args).await;
        run.assert_ok();
        assert_eq!(run.check("status is 200"), (1, 0), "{status}");
    }
    assert_eq!(server.stats().requests, 4);
    let echoes = server.echoes();
    let [see_other, temporary] = echoes.as_slice() else { panic!("two requests to /echo: {echoes:?}") };
    assert_eq!((see_other.method.as_str(), see_other.body.as_slice()), ("GET", &b""[..]));
    assert!(see_other.header("content-type").is_empty() && see_other.header("content-length").is_empty());
    assert_eq!((temporary.method.as_str(), temporary.body.as_slice()), ("POST", &b"payload"[..]));
    assert_eq!(temporary.header("content-type"), ["text/plain"]);
    assert_eq!(temporary.header("content-length"), ["7"]);
}

#[tokio::test(flavor = "multi_thread")]
async fn multiple_choices_and_not_modified_are_answers_not_redirects() {
    let server = target(Protocol::Http).await;
    for status in ["300", "304"] {
        let url = env("URL", &server, &format!("/redirect-to?url=/echo&status={status}"));
        let expect = format!("EXPECT_STATUS={status}");
        let run = run_guest("http-probe", &["--iterations", "1", "--env", &url, "--env", &expect]).await;
        run.assert_ok();
        assert_eq!(run.check(&format!("status is {status}")), (1, 0));
        assert_eq!(run.count("http_reqs"), 1, "{status}");
    }
    assert_eq!(server.stats().requests, 2);
    assert!(server.echoes().is_empty(), "no Location was followed");
}

#[tokio::test(flavor = "multi_thread")]
async fn the_cookie_jar_lives_per_vu_by_default_or_per_iteration_on_request() {
    for (scope, with_cookie) in [(None, 3), (Some("per-iteration"), 1)] {
        let server = target(Protocol::Http).await;
        let (first, url) = (env("FIRST_URL", &server, "/cookies/set/c/1"), env("URL", &server, "/echo"));
        let mut args = vec!["--vus", "1", "--iterations", "3", "--env", &first, "--env", &url];
        if let Some(scope) = scope {
            args.extend_from_slice(&["--cookie-jar", scope]);
        }
        let run = run_guest("http-probe", &args).await;
        run.assert_ok();
        assert_server_saw(&run, &server, 4);
        let echoes = server.echoes();
        assert_eq!(echoes.len(), 3);
        // The cookie is set in the first iteration only.
        let carried = echoes.iter().filter(|echo| echo.header("cookie") == ["c=1"]).count();
        assert_eq!(carried, with_cookie, "{scope:?}: {echoes:?}");
        assert!(echoes[0].header("cookie") == ["c=1"], "the iteration that set it carries it");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_rust_guest_fills_reads_and_empties_its_own_jar() {
    let server = target(Protocol::Http).await;
    let url = env("URL", &server, "/echo");
    let args = ["--iterations", "2", "--env", &url, "--env", "JAR_COOKIE=flavour=oat", "--env", "CLEAR_COOKIES=1"];
    let run = run_guest("http-probe", &args).await;
    run.assert_ok();
    assert_eq!(run.check("jar holds flavour"), (1, 1), "held before the first request, cleared after it");
    let echoes = server.echoes();
    let [first, second] = echoes.as_slice() else { panic!("two requests to /echo: {echoes:?}") };
    assert_eq!(first.header("cookie"), ["flavour=oat"]);
    assert!(second.header("cookie").is_empty(), "{:?}", second.header("cookie"));
}

#[tokio::test(flavor = "multi_thread")]
async fn a_rust_guest_numbers_the_scenario_s_iterations_across_its_vus() {
    let server = target(Protocol::Http).await;
    let url = env("URL", &server, "/");
    let numbered = env("NUMBERED_URL", &server, "/bytes/");
    let run = run_guest("http-probe", &["--vus", "4", "--iterations", "12", "--env", &url, "--env", &numbered]).await;
    run.assert_ok();
    for iteration in 0..12 {
        assert_eq!(server.path_count(&format!("/bytes/{iteration}")), 1, "iteration {iteration}");
    }
    assert_server_saw(&run, &server, 24);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_rust_guest_judges_answers_sent_unsettled() {
    // (path, VERDICT, failed requests of 6): the plugin's verdict wins over
    // the status; without one, the status decides when the iteration ends.
    for (path, verdict, failed) in
        [("/status/500", "pass", 0), ("/status/200", "fail", 6), ("/status/404", "later", 6), ("/", "later", 0)]
    {
        let server = target(Protocol::Http).await;
        let url = env("URL", &server, path);
        let verdict = format!("VERDICT={verdict}");
        let run = run_guest("http-probe", &["--vus", "2", "--iterations", "6", "--env", &url, "--env", &verdict]).await;
        run.assert_ok();
        assert_server_saw(&run, &server, 6);
        assert_eq!(run.passes("http_req_failed"), failed, "{path} {verdict}");
        let expected = run.value("http_req_duration{expected_response:true}", "count");
        assert_eq!(expected as u64, 6 - failed, "{path} {verdict}: expected_response follows the verdict");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_rust_guest_ends_its_vus_and_runs_vu_end_once_per_vu() {
    // Each VU ends itself after its third iteration and is not restarted,
    // though the run would go on; vu_end runs once per VU.
    let server = target(Protocol::Http).await;
    let (url, vu_end) = (env("URL", &server, "/status/201"), env("VU_END_URL", &server, "/status/251"));
    let args = ["--vus", "2", "--duration", "5s", "--env", &url, "--env", &vu_end, "--env", "STOP_AT_ITERATION=2"];
    let run = run_guest("http-probe", &args).await;
    run.assert_ok();
    assert_eq!((server.path_count("/status/201"), server.path_count("/status/251")), (6, 2));
    assert_eq!(run.count("iterations"), 6);
    assert_server_saw(&run, &server, 8);

    // Shared iterations: the VU that stops leaves its share to the other.
    let server = target(Protocol::Http).await;
    let (url, vu_end) = (env("URL", &server, "/status/201"), env("VU_END_URL", &server, "/status/251"));
    let args = ["--vus", "2", "--iterations", "20", "--env", &url, "--env", &vu_end, "--env", "STOP_AT_ITERATION=9"];
    let run = run_guest("http-probe", &args).await;
    run.assert_ok();
    assert_eq!(server.path_count("/status/201"), 20, "every shared iteration ran");
    assert_eq!(server.path_count("/status/251"), 2, "vu_end on the VU that stopped and on the one the run ended");

    // A vu_end slower than the graceful stop is cut there and reported.
    let server = target(Protocol::Http).await;
    let (url, slow) = (env("URL", &server, "/"), env("VU_END_URL", &server, "/delay/5000"));
    let args = ["--vus", "1", "--iterations", "1", "--graceful-stop", "300ms", "--env", &url, "--env", &slow];
    let run = run_guest("http-probe", &args).await;
    run.assert_ok();
    assert_eq!(run.error_count("vu-end did not finish within 300ms (gracefulStop)"), 1, "{}", run.stderr);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_rust_guest_aborts_the_test_with_exit_108() {
    let server = target(Protocol::Http).await;
    let url = env("URL", &server, "/");
    let run = run_guest("http-probe", &["--iterations", "10", "--env", &url, "--env", "ABORT_AT_ITERATION=2"]).await;
    assert_eq!(run.code, 108, "{}", run.stderr);
    assert!(run.stderr.contains("the probe reached ABORT_AT_ITERATION"), "{}", run.stderr);
    assert_server_saw(&run, &server, 3);
}
