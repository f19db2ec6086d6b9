//! The JavaScript runtime's modules against the demo target: k6/crypto,
//! the built-in jslib libraries, the cookie jar, the init-context rule, the
//! `vespid` module with weighted tasks, and examples/js (and, through
//! `assert_examples_run_clean`, examples/python).

use std::path::PathBuf;

use crate::support::{Outcome, Protocol, assert_one_line, env, target, vespid};

/// A script of host/tests/scripts.
fn script(name: &str) -> String {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/scripts").join(name);
    path.to_str().expect("utf-8 path").to_string()
}

/// An example of examples/<folder>.
fn example(folder: &str, name: &str) -> String {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../examples").join(folder).join(name);
    path.to_str().expect("utf-8 path").to_string()
}

/// Every check of the run passed, and there were `expected` of them.
fn assert_all_checks_pass(run: &Outcome, expected: usize) {
    let checks = run.summary.as_ref().expect("summary")["checks"].as_array().expect("checks list").clone();
    let failed: Vec<_> = checks.iter().filter(|check| check["fails"].as_u64() != Some(0)).collect();
    assert!(failed.is_empty(), "failed checks: {failed:?}\nstderr:\n{}", run.stderr);
    assert_eq!(checks.len(), expected, "checks: {checks:?}");
}

#[tokio::test(flavor = "multi_thread")]
async fn crypto_matches_the_published_vectors() {
    let run = vespid(&["run", &script("crypto.js")]).await;
    run.assert_ok();
    assert_all_checks_pass(&run, 19);
}

#[tokio::test(flavor = "multi_thread")]
async fn k6_utils_resolve_to_the_built_in_copy() {
    let run = vespid(&["run", &script("utils.js")]).await;
    run.assert_ok();
    assert_all_checks_pass(&run, 10);
}

#[tokio::test(flavor = "multi_thread")]
async fn k6_summary_lays_out_text_and_junit() {
    let run = vespid(&["run", &script("summary.js")]).await;
    run.assert_ok();
    assert_all_checks_pass(&run, 13);
}

#[tokio::test(flavor = "multi_thread")]
async fn other_remote_imports_fail_in_one_line() {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("remote.js");
    std::fs::write(
        &path,
        "import x from 'https://jslib.k6.io/k6-chaijs/4.3.4.3/index.js';\nexport default function () {}\n",
    )
    .expect("write script");
    let run = vespid(&["run", path.to_str().expect("utf-8 path")]).await;
    assert_eq!(run.code, 107, "stderr: {}", run.stderr);
    assert_one_line(&run.stderr, "cannot import https://jslib.k6.io/k6-chaijs/4.3.4.3/index.js");
}

#[tokio::test(flavor = "multi_thread")]
async fn the_cookie_jar_sets_reads_deletes_and_clears() {
    let server = target(Protocol::Http).await;
    let base = env("BASE_URL", &server, "");
    let run = vespid(&["run", &script("cookies.js"), "--env", &base]).await;
    run.assert_ok();
    assert_all_checks_pass(&run, 6);
    let echoes = server.echoes();
    assert_eq!(echoes.len(), 2);
    let cookies = echoes[0].header("cookie").join("; ");
    assert!(cookies.contains("flavour=mint") && cookies.contains("scoped=yes"), "first echo's cookies: {cookies:?}");
    assert_eq!(echoes[1].header("cookie"), Vec::<&str>::new(), "the jar was cleared for /echo");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_request_in_the_init_context_stops_the_run_in_one_line() {
    let server = target(Protocol::Http).await;
    let base = env("BASE_URL", &server, "");
    let run = vespid(&["run", &script("init_request.js"), "--env", &base]).await;
    assert_eq!(run.code, 107, "stderr: {}", run.stderr);
    assert_one_line(&run.stderr, "init_request.js:4");
    assert_one_line(&run.stderr, "Making http requests in the init context is not supported");
    assert_eq!(server.stats().requests, 0);
}

#[tokio::test(flavor = "multi_thread")]
async fn the_vespid_module_reaches_every_capability() {
    let server = target(Protocol::Http).await;
    let base = env("BASE_URL", &server, "");
    let users = format!("users={}", script("users.csv"));
    let run =
        vespid(&["run", &script("native.js"), "--vus", "2", "--iterations", "6", "--env", &base, "--data", &users])
            .await;
    run.assert_ok();
    assert_all_checks_pass(&run, 16);
    assert_eq!(run.check("json status"), (6, 0));
    for path in ["/json", "/echo", "/status/404", "/redirect/2", "/bytes/100", "/delay/2000", "/status/500"] {
        assert_eq!(server.path_count(path), 6, "requests to {path}");
    }
    // Batches: one request each to the server, one refused.
    assert_eq!(server.path_count("/"), 6);
    assert_eq!(server.path_count("/status/251"), 2, "vuEnd once per VU");
    assert_eq!(run.count("native_rows"), 6);
    assert_eq!(run.count("native_wait"), 6);
    assert_eq!(run.passes("native_ok"), 6);
    assert_eq!(run.value("native_vu", "max"), 2.0);
    // Seven responses per iteration count as not failed (the 404 was
    // expected, the 500 judged a success), and vuEnd's two.
    assert_eq!(run.fails("http_req_failed"), 7 * 6 + 2);
}

#[tokio::test(flavor = "multi_thread")]
async fn task_weights_come_from_the_tasks_export() {
    let server = target(Protocol::Http).await;
    let base = env("BASE_URL", &server, "");
    let run = vespid(&["run", &script("tasks.js"), "--vus", "4", "--iterations", "400", "--env", &base]).await;
    run.assert_ok();
    let (browse, buy) = (server.path_count("/json"), server.path_count("/"));
    assert_eq!(browse + buy, 400);
    // buy has weight 1 of 4: about 100 of 400.
    assert!((50..=150).contains(&buy), "buy ran {buy} times, browse {browse}");
    assert_eq!(server.path_count("/status/500"), 0, "a function left out of tasks never runs");
    assert_eq!(run.count("vu_inits"), 4, "init ran once per VU");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_tasks_export_naming_no_function_fails_in_one_line() {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("typo.js");
    std::fs::write(&path, "export const tasks = { brwse: 1 };\nexport function browse() {}\n").expect("write script");
    let run = vespid(&["run", path.to_str().expect("utf-8 path")]).await;
    assert_eq!(run.code, 107, "stderr: {}", run.stderr);
    assert_one_line(&run.stderr, "`tasks` names \"brwse\", which is not an exported task function");
}

#[tokio::test(flavor = "multi_thread")]
async fn the_js_examples_run_clean() {
    assert_examples_run_clean("js", "js").await;
}

/// examples/<folder>/{hello,flow,custom-metrics}.<extension>, the scripts
/// that mirror examples/rust, give the Rust examples' counts.
pub(crate) async fn assert_examples_run_clean(folder: &str, extension: &str) {
    let example = |name: &str| example(folder, &format!("{name}.{extension}"));
    let server = target(Protocol::Http).await;
    let base = env("BASE_URL", &server, "");
    let hello = vespid(&["run", &example("hello"), "--vus", "2", "--iterations", "20", "--env", &base]).await;
    hello.assert_ok();
    assert_eq!(hello.check("status is 200"), (20, 0));
    assert_eq!(server.path_count("/"), 20);

    let flow = vespid(&["run", &example("flow"), "--vus", "2", "--iterations", "20", "--env", &base]).await;
    flow.assert_ok();
    for name in ["logged in", "session is mine", "orders listed"] {
        assert_eq!(flow.check(name), (20, 0), "check {name}");
    }
    for path in ["/login", "/me", "/orders"] {
        assert_eq!(server.path_count(path), 20, "requests to {path}");
    }

    let shop = vespid(&["run", &example("custom-metrics"), "--vus", "4", "--iterations", "200", "--env", &base]).await;
    shop.assert_ok();
    let summary = shop.summary.as_ref().expect("summary");
    let kind = |m: &str| summary["metrics"][m]["type"].as_str().unwrap_or("missing").to_string();
    assert_eq!(
        [kind("shop_visits"), kind("shop_server_time"), kind("shop_fast"), kind("shop_body_bytes")],
        ["counter", "trend", "rate", "gauge"]
    );
    assert_eq!(shop.count("shop_visits"), 200);
    assert_eq!(shop.count("shop_server_time"), 200);
    assert_eq!(shop.value("shop_body_bytes", "value"), 40.0, "the /json body is 40 bytes");
    let orders = shop.count("shop_orders");
    assert!((20..=85).contains(&orders), "orders {orders}");
    assert_eq!(server.path_count("/json"), 200);
}
