use crate::support::{Protocol, run_guest, target};

#[tokio::test(flavor = "multi_thread")]
async fn a_chain_of_three_redirects_counts_four_requests_and_ends_with_the_final_status() {
    let server = target(Protocol::Http).await;
    let url = format!("URL={}/redirect/3", server.base_url());
    let run = run_guest("http-probe", &["--iterations", "1", "--env", &url, "--env", "EXPECT_STATUS=200"]).await;
    run.assert_ok();
    assert_eq!(run.count("http_reqs"), 4);
    assert_eq!(server.stats().requests, 4);
    assert_eq!(server.path_count("/redirect/0"), 1);
    assert_eq!(run.check("status is 200"), (1, 0));
}

#[tokio::test(flavor = "multi_thread")]
async fn a_redirect_loop_ends_with_too_many_redirects() {
    let server = target(Protocol::Http).await;
    let url = format!("URL={}/redirect-loop", server.base_url());
    let run = run_guest("http-probe", &["--iterations", "2", "--env", &url]).await;
    run.assert_ok();
    // The first request plus 10 redirects, twice.
    assert_eq!(run.count("http_reqs"), 22);
    assert_eq!(server.stats().requests, 22);
    assert_eq!(run.error_count("too many redirects (limit 10)"), 2);
    assert_eq!(run.passes("iterations_failed"), 2);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_request_may_refuse_redirects() {
    let server = target(Protocol::Http).await;
    let url = format!("URL={}/redirect/3", server.base_url());
    let run = run_guest(
        "http-probe",
        &["--iterations", "1", "--env", &url, "--env", "MAX_REDIRECTS=0", "--env", "EXPECT_STATUS=302"],
    )
    .await;
    run.assert_ok();
    assert_eq!((run.count("http_reqs"), server.stats().requests), (1, 1));
    assert_eq!(run.check("status is 302"), (1, 0));
}

#[tokio::test(flavor = "multi_thread")]
async fn session_cookies_stay_with_their_vu_through_a_multi_step_flow() {
    let server = target(Protocol::Http).await;
    let base = format!("BASE_URL={}", server.base_url());
    let run = run_guest("flow", &["--vus", "10", "--iterations", "5", "--env", &base]).await;
    run.assert_ok();
    assert_eq!(run.check("logged in"), (50, 0));
    // Each VU's /me carried its own session cookie, never another VU's.
    assert_eq!(run.check("session is mine"), (50, 0));
    assert_eq!(server.stats().me_without_session, 0);
    // The token read from the login response authorised the next request.
    assert_eq!(run.check("orders listed"), (50, 0));
    assert_eq!(run.count("http_reqs"), 150);
    assert_eq!(server.stats().requests, 150);
    assert_eq!(server.stats().connections, 10);
}
