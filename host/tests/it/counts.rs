use crate::support::{Protocol, env, run_guest, target};

#[tokio::test(flavor = "multi_thread")]
async fn http_reqs_equal_the_server_count_and_each_vu_holds_one_connection() {
    let server = target(Protocol::Http).await;
    let base = env("BASE_URL", &server, "");
    let run = run_guest("hello", &["--vus", "50", "--duration", "3s", "--env", &base]).await;
    run.assert_ok();

    let stats = server.stats();
    assert!(run.count("http_reqs") > 50, "the run made requests: {}", run.count("http_reqs"));
    assert_eq!(run.count("http_reqs"), stats.requests, "http_reqs == requests the server saw");
    assert_eq!(stats.connections, 50, "50 keep-alive VUs against one origin open exactly 50 connections");
    assert_eq!(run.count("http_req_connecting"), 50, "one connect sample per new connection");
    assert_eq!(run.check("status is 200"), (stats.requests, 0));
    assert_eq!(run.count("iterations"), stats.requests);
    assert_eq!(run.passes("http_req_failed"), 0);
    assert!(run.count("data_received") > 0 && run.count("data_sent") > 0);
    assert_eq!(run.value("vus_max", "value"), 50.0);
}

#[tokio::test(flavor = "multi_thread")]
async fn custom_metrics_keep_their_kinds_and_tasks_follow_weights() {
    let server = target(Protocol::Http).await;
    let base = env("BASE_URL", &server, "");
    let run = run_guest("custom-metrics", &["--vus", "4", "--iterations", "200", "--env", &base]).await;
    run.assert_ok();
    let summary = run.summary.as_ref().expect("summary");
    let kind = |m: &str| summary["metrics"][m]["type"].as_str().unwrap_or("missing").to_string();
    assert_eq!(kind("shop_visits"), "counter");
    assert_eq!(kind("shop_server_time"), "trend");
    assert_eq!(kind("shop_fast"), "rate");
    assert_eq!(kind("shop_body_bytes"), "gauge");
    assert_eq!(run.count("shop_visits"), 200);
    assert_eq!(run.count("shop_server_time"), 200);
    assert_eq!(run.value("shop_body_bytes", "value"), 40.0, "the /json body is 40 bytes");
    // "buy" has weight 1 of 4: 200 iterations give about 50 orders.
    let orders = run.count("shop_orders");
    assert!((20..=85).contains(&orders), "orders {orders}");
    assert_eq!(run.count("http_reqs"), server.stats().requests);
}
