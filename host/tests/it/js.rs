//! JavaScript scenarios: k6-style scripts from tests/scripts run on the
//! built-in QuickJS runtime against the demo target; every count is checked
//! against what the server saw (the Rust twins are in `twins`).

use std::path::{Path, PathBuf};

use crate::support::*;

/// `tests/scripts/<name>`.
pub(crate) fn script(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/scripts").join(name)
}

/// `vespid run tests/scripts/<name> -e BASE_URL=<server> <args>`.
pub(crate) async fn run_script(name: &str, server: &DemoTarget, args: &[&str]) -> Outcome {
    let path = script(name);
    let base = env("BASE_URL", server, "");
    let mut all = vec!["run", path.to_str().expect("utf-8 path"), "-e", &base];
    all.extend_from_slice(args);
    vespid(&all).await
}

/// A port nothing listens on.
pub(crate) fn closed_port() -> u16 {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    listener.local_addr().expect("address").port()
}

/// `metrics.<key>` of the summary export, e.g. a tag-filtered threshold's metric.
pub(crate) fn threshold_ok(run: &Outcome, metric: &str, expression: &str) -> bool {
    let summary = run.summary.as_ref().expect("summary");
    summary["metrics"][metric]["thresholds"][expression]["ok"]
        .as_bool()
        .unwrap_or_else(|| panic!("no threshold {metric} {expression}: {}", summary["metrics"]))
}

// ---- Lifecycle ----

#[tokio::test(flavor = "multi_thread")]
async fn the_init_context_runs_per_vu_and_setup_data_reaches_each_vu_as_its_own_copy() {
    let server = target(Protocol::Http).await;
    let run = run_script("lifecycle.js", &server, &[]).await;
    run.assert_ok();
    // setup's request, 3 VUs x 4 iterations, teardown's request.
    assert_server_saw(&run, &server, 14);
    assert_eq!(
        (server.path_count("/status/201"), server.path_count("/status/200"), server.path_count("/status/202")),
        (1, 12, 1)
    );
    assert_eq!(run.count("iterations"), 12);
    // Each VU evaluated the init context once, at its start.
    for vu in 1..=3 {
        let line = format!("init context of VU {vu} vu={vu}");
        assert_eq!(run.stderr.matches(&line).count(), 1, "{line} in {}", run.stderr);
    }
    assert_eq!(run.check("awaited a promise"), (12, 0), "async default");
    assert_eq!(run.check("setup data arrived"), (12, 0));
    assert_eq!(run.check("setup data is this VU's copy"), (12, 0));
    assert_eq!(run.check("module state lives across iterations"), (12, 0));
    assert_eq!(run.check("teardown sees setup data unchanged"), (1, 0));
}

#[tokio::test(flavor = "multi_thread")]
async fn two_scenarios_run_their_own_exported_functions_on_their_own_executors() {
    let server = target(Protocol::Http).await;
    let run = run_script("exec.js", &server, &[]).await;
    run.assert_ok();
    assert_server_saw(&run, &server, 13);
    // logins: 2 VUs x 3 iterations of login(); browsing: 7 shared iterations of browse().
    assert_eq!((server.path_count("/status/201"), server.path_count("/status/202")), (6, 7));
    assert_eq!(server.path_count("/status/500"), 0, "default() is not run by a scenario naming exec");
    assert_eq!(run.check("login runs in logins"), (6, 0));
    assert_eq!(run.check("browse runs in browsing"), (7, 0));
}

// ---- Options ----

#[tokio::test(flavor = "multi_thread")]
async fn all_six_executors_run_side_by_side_with_their_env_and_tags() {
    let server = target(Protocol::Http).await;
    let run = run_script("executors.js", &server, &[]).await;
    run.assert_ok();
    let mut total = 0;
    // Each scenario's env picked its path; its tags are on its samples.
    for (kind, code) in [
        ("constant", 201),
        ("ramping", 202),
        ("pervu", 203),
        ("shared", 204),
        ("arrival", 205),
        ("rampingArrival", 206),
    ] {
        let tagged = run.value(&format!("http_reqs{{kind:{kind}}}"), "count") as u64;
        assert_eq!(tagged, server.path_count(&format!("/status/{code}")), "{kind}");
        assert!(tagged > 0, "{kind} ran");
        total += tagged;
    }
    assert_eq!(server.path_count("/status/203"), 6, "per-vu-iterations, started at 500ms");
    assert_eq!(server.path_count("/status/204"), 7, "shared-iterations");
    // An arrival-rate scenario starts no more iterations than its rate allows.
    assert!(server.path_count("/status/205") <= 11, "{}", server.path_count("/status/205"));
    assert_server_saw(&run, &server, total);
    for line in ["(constant-vus)", "(ramping-vus)", "(per-vu-iterations)", "(shared-iterations)"] {
        assert!(run.stdout.contains(line), "{line} in {}", run.stdout);
    }
    assert!(run.stdout.contains("(constant-arrival-rate)") && run.stdout.contains("(ramping-arrival-rate)"));
}

#[tokio::test(flavor = "multi_thread")]
async fn top_level_vus_iterations_duration_and_stages_shape_the_run() {
    let server = target(Protocol::Http).await;
    let run = run_script("shortcuts.js", &server, &["-e", "SHAPE=iterations", "-e", "MARK=seen"]).await;
    run.assert_ok();
    assert_server_saw(&run, &server, 5);
    assert_eq!(run.check("env in iterations"), (5, 0));
    assert!(run.stdout.contains("5 iterations shared among 2 VUs"), "{}", run.stdout);

    for (shape, line) in
        [("duration", "2 looping VUs for 1s (constant-vus)"), ("stages", "over 2 stages (ramping-vus)")]
    {
        let server = target(Protocol::Http).await;
        let run = run_script("shortcuts.js", &server, &["-e", &format!("SHAPE={shape}"), "-e", "MARK=seen"]).await;
        run.assert_ok();
        assert!(run.stdout.contains(line), "{line} in {}", run.stdout);
        let requests = server.stats().requests;
        assert!(requests > 0, "{shape}");
        assert_server_saw(&run, &server, requests);
        assert_eq!(run.check("env in iterations"), (requests, 0));
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn flags_override_the_scripts_options_and_replace_its_scenarios() {
    let server = target(Protocol::Http).await;
    let run = run_script("shortcuts.js", &server, &["-e", "SHAPE=iterations", "-i", "3"]).await;
    run.assert_ok();
    assert_server_saw(&run, &server, 3);
    // No MARK: __ENV holds exactly what -e gave.
    assert_eq!(run.check("env in iterations"), (0, 3));

    let server = target(Protocol::Http).await;
    let run = run_script("shortcuts.js", &server, &["-e", "SHAPE=scenarios", "-u", "3", "-i", "4"]).await;
    run.assert_ok();
    assert_server_saw(&run, &server, 4);
    assert_eq!(run.value("vus_max", "max"), 3.0);
    assert!(run.stderr.contains("options.scenarios: replaced by the -u/-d/-i/--stage flags given"), "{}", run.stderr);

    let server = target(Protocol::Http).await;
    let run = run_script("shortcuts.js", &server, &["-e", "SHAPE=duration", "-u", "3", "-d", "300ms"]).await;
    run.assert_ok();
    assert!(run.stdout.contains("3 looping VUs for 300ms (constant-vus)"), "{}", run.stdout);
    assert_server_saw(&run, &server, server.stats().requests);

    let server = target(Protocol::Http).await;
    let run = run_script("shortcuts.js", &server, &["-e", "SHAPE=stages", "--stage", "300ms:3"]).await;
    run.assert_ok();
    assert!(run.stdout.contains("up to 3 looping VUs for 300ms over 1 stages (ramping-vus)"), "{}", run.stdout);
    assert_server_saw(&run, &server, server.stats().requests);
}

#[tokio::test(flavor = "multi_thread")]
async fn thresholds_in_every_form_decide_the_exit_code() {
    let server = target(Protocol::Http).await;
    let run = run_script("thresholds.js", &server, &["-e", "VERDICT=pass"]).await;
    run.assert_ok();
    assert_server_saw(&run, &server, 10);
    assert!(threshold_ok(&run, "http_reqs", "count>0"), "string form");
    assert!(threshold_ok(&run, "http_req_duration{scenario:s}", "p(95)<10000"), "list form, tag filter");
    assert!(threshold_ok(&run, "http_req_failed", "rate<=1"), "long form");

    let server = target(Protocol::Http).await;
    let run = run_script("thresholds.js", &server, &["-e", "VERDICT=fail"]).await;
    assert_eq!(run.code, 99, "{}", run.stderr);
    assert!(!threshold_ok(&run, "iterations", "count>1000"));
    assert_server_saw(&run, &server, 10);

    let server = target(Protocol::Http).await;
    let run = run_script("thresholds.js", &server, &["-e", "VERDICT=abort"]).await;
    assert_eq!(run.code, 98, "{}", run.stderr);
    assert!(run.stderr.contains("http_req_failed 'rate<0.01'"), "{}", run.stderr);
    assert_server_saw(&run, &server, server.stats().requests);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_setup_slower_than_setup_timeout_fails_the_run() {
    let server = target(Protocol::Http).await;
    let run = run_script("setup_timeout.js", &server, &[]).await;
    assert_eq!(run.code, 100, "{}", run.stderr);
    assert!(run.stderr.contains("setup did not finish within 300ms"), "{}", run.stderr);
    assert_eq!(server.path_count("/status/200"), 0, "no iteration ran");
}

#[tokio::test(flavor = "multi_thread")]
async fn the_cookie_jar_is_emptied_per_iteration_unless_no_cookies_reset() {
    let server = target(Protocol::Http).await;
    let run = run_script("cookie-reset.js", &server, &[]).await;
    run.assert_ok();
    assert_server_saw(&run, &server, 18);
    assert_eq!(run.check("no session at the start"), (6, 0));
    assert_eq!(run.check("session sent back"), (6, 0));
    assert_eq!(server.stats().me_without_session, 6);

    let server = target(Protocol::Http).await;
    let run = run_script("cookie-reset.js", &server, &["-e", "KEEP=1"]).await;
    run.assert_ok();
    assert_server_saw(&run, &server, 18);
    // Only each VU's first iteration starts without the session.
    assert_eq!(run.check("no session at the start"), (2, 4));
    assert_eq!(run.check("session cookie received"), (6, 0));
    assert_eq!(server.stats().me_without_session, 2);
}

#[tokio::test(flavor = "multi_thread")]
async fn discard_response_bodies_drops_bodies_but_counts_their_bytes() {
    let server = target(Protocol::Http).await;
    let run = run_script("discard.js", &server, &[]).await;
    run.assert_ok();
    assert_server_saw(&run, &server, 6);
    assert_eq!(run.check("body discarded"), (3, 0));
    assert_eq!(run.check("text body on request"), (3, 0));
    assert!(run.count("data_received") >= 3 * 1010, "{}", run.count("data_received"));
}

#[tokio::test(flavor = "multi_thread")]
async fn client_options_reach_every_request() {
    let server = target(Protocol::Http).await;
    let run = run_script("transport.js", &server, &[]).await;
    run.assert_ok();
    assert_eq!(run.check("user agent sent"), (2, 0));
    for echo in server.echoes() {
        assert_eq!(echo.header("user-agent"), ["vespid-js-test/1.0"]);
    }
    assert_eq!(run.check("two redirects followed"), (2, 0));
    // vespid's documented difference (docs/k6.md): past maxRedirects the
    // request fails with too-many-redirects, every hop counted.
    assert_eq!(run.check("past maxRedirects the request fails"), (2, 0));
    let hops: Vec<u64> = (0..=3).map(|n| server.path_count(&format!("/redirect/{n}"))).collect();
    assert_eq!(hops, [2, 4, 4, 2], "/redirect/0..=3: no hop past the limit");
    assert_eq!(run.check("batch answered in order"), (2, 0));
    // batchPerHost: 1 sends a batch one request at a time.
    assert_eq!(server.stats().peak_concurrent_requests, 1);
    // echo, 3 + 3 redirect hops, 3 batched, per iteration.
    assert_server_saw(&run, &server, 2 * 10);
}

#[tokio::test(flavor = "multi_thread")]
async fn insecure_skip_tls_verify_accepts_the_self_signed_target() {
    let server = target(Protocol::Https).await;
    let run = run_script("transport.js", &server, &[]).await;
    run.assert_ok();
    assert_eq!(run.check("reached over the wire"), (0, 2), "verified by default");
    assert_eq!(server.stats().requests, 0);

    let run = run_script("transport.js", &server, &["-e", "INSECURE=1"]).await;
    run.assert_ok();
    assert_eq!(run.check("reached over the wire"), (2, 0));
    assert_eq!(run.check("batch answered in order"), (2, 0));
    assert_server_saw(&run, &server, 20);
}

#[tokio::test(flavor = "multi_thread")]
async fn an_unsupported_option_is_named_in_a_warning() {
    let server = target(Protocol::Http).await;
    let run = run_script("unsupported.js", &server, &[]).await;
    run.assert_ok();
    assert!(run.stderr.contains("options.rps is not supported by vespid and is ignored"), "{}", run.stderr);
    assert_server_saw(&run, &server, 1);
}

#[tokio::test(flavor = "multi_thread")]
async fn an_invalid_option_value_fails_with_one_line_naming_it() {
    let server = target(Protocol::Http).await;
    let run = run_script("invalid.js", &server, &[]).await;
    assert_eq!(run.code, 2, "{}", run.stderr);
    assert_one_line(&run.stderr, "invalid.js: options.duration: invalid duration \"soon\"");
    assert_eq!(server.stats().requests, 0);
}

// ---- k6/http ----

#[tokio::test(flavor = "multi_thread")]
async fn k6_http_methods_params_responses_and_batches() {
    let server = target(Protocol::Http).await;
    let dir = tempfile::tempdir().expect("temp dir");
    let out = dir.path().join("points.json");
    let run = run_script("http.js", &server, &["--out", &format!("json={}", out.display())]).await;
    run.assert_ok();
    let checks = run.summary.as_ref().expect("summary")["checks"].as_array().expect("checks").clone();
    for check in &checks {
        let expected = if check["name"] == "tagged url" { 4 } else { 2 };
        assert_eq!((check["passes"].as_u64(), check["fails"].as_u64()), (Some(expected), Some(0)), "{check}");
    }
    assert_eq!(checks.len(), 20, "{checks:?}");
    // Per VU: /json twice (GET, HEAD), /echo 8 times (2 POST, PUT, PATCH,
    // DELETE, OPTIONS, PROPFIND, batched POST), /delay once, /redirect/1
    // once, /bytes once, a cookie, 4 batched and 2 tagged-URL statuses.
    let per_vu = [("/json", 2), ("/echo", 8), ("/delay/3000", 1), ("/redirect/1", 1), ("/redirect/0", 0)];
    for (path, count) in per_vu {
        assert_eq!(server.path_count(path), 2 * count, "{path}");
    }
    for code in 201..=206 {
        assert_eq!(server.path_count(&format!("/status/{code}")), 2, "/status/{code}");
    }
    assert_server_saw(&run, &server, 2 * 20);
    // The timeout is a failed request; every other answered within 200-399.
    assert_eq!(run.passes("http_req_failed"), 2);
    assert!(threshold_ok(&run, "http_req_duration{name:foo}", "count==2"), "tags.name");
    assert!(threshold_ok(&run, "http_reqs{custom:yes}", "count==2"), "params tags");
    assert!(threshold_ok(&run, "http_reqs{method:PUT}", "count==2"));
    // http.url`${BASE}/status/${id}` names its requests by the template, as k6 does.
    let points = points(&out);
    assert_eq!(points_of(&points, "http_reqs", &[("name", "${}/status/${}")]).len(), 4);
    let echoes = server.echoes();
    let header = |method: &str, name: &str| -> Vec<String> {
        echoes.iter().filter(|e| e.method == method).flat_map(|e| e.header(name)).map(String::from).collect()
    };
    assert!(
        header("POST", "content-type").iter().filter(|v| *v == "application/x-www-form-urlencoded").count() == 2,
        "{:?}",
        header("POST", "content-type")
    );
    assert_eq!(echoes.iter().filter(|e| e.method == "PROPFIND").count(), 2);
}

#[tokio::test(flavor = "multi_thread")]
async fn expected_statuses_and_the_response_callback_decide_http_req_failed() {
    let server = target(Protocol::Http).await;
    let port = closed_port().to_string();
    let run = run_script("expected.js", &server, &["-e", &format!("CLOSED_PORT={port}")]).await;
    run.assert_ok();
    // Six requests, five reached the server; failed: the plain 404, the 201
    // outside the callback's statuses, the refused connection.
    assert_eq!(run.count("http_reqs"), 6);
    assert_eq!(server.stats().requests, 5);
    assert_eq!((run.passes("http_req_failed"), run.fails("http_req_failed")), (3, 3));
    assert_eq!(run.check("refused is status 0 and 1212"), (1, 0));
    assert_eq!(run.check("the iteration went on"), (1, 0));
    assert_eq!(run.passes("iterations_failed"), 0);
}

// ---- k6 ----

#[tokio::test(flavor = "multi_thread")]
async fn check_group_sleep_fail_and_random_seed() {
    let server = target(Protocol::Http).await;
    let run = run_script("k6.js", &server, &[]).await;
    run.assert_ok();
    assert_eq!(run.check("one is one"), (6, 0));
    assert_eq!(run.check("one is two"), (0, 6));
    assert_eq!(run.check("tagged check"), (6, 0));
    assert_eq!(run.check("check returns false on any failure, true when all pass"), (6, 0));
    assert_eq!(run.check("inside a group"), (6, 0));
    assert_eq!(run.check("group returns the body's value"), (6, 0));
    assert_eq!(run.check("randomSeed repeats Math.random"), (6, 0));
    for (metric, expression) in [
        ("checks{area:tagged}", "rate==1"),
        ("checks{group:::outer::inner}", "rate==1"),
        ("http_reqs{group:::outer}", "count==6"),
        ("group_duration{group:::outer}", "count==6"),
        ("group_duration{group:::outer::inner}", "count==6"),
    ] {
        assert!(threshold_ok(&run, metric, expression), "{metric} {expression}");
    }
    // fail() on each VU's second iteration: counted like a Rust guest's error.
    assert_eq!(run.count("iterations"), 6);
    assert_eq!((run.passes("iterations_failed"), run.fails("iterations_failed")), (2, 4));
    assert_eq!(run.error_count("k6.js:40:"), 2, "{:?}", run.summary.as_ref().unwrap()["errors"]);
    assert_eq!(run.error_count("Error: planned failure of VU"), 2);
    // What ran before fail() was sent; what comes after it was not.
    assert_eq!((server.path_count("/status/201"), server.path_count("/status/202")), (6, 6));
    assert_eq!(server.path_count("/status/203"), 4);
    assert_server_saw(&run, &server, 16);
}

// ---- k6/metrics, k6/execution, k6/encoding ----

#[tokio::test(flavor = "multi_thread")]
async fn custom_metrics_execution_facts_and_base64() {
    let server = target(Protocol::Http).await;
    let run = run_script("metrics.js", &server, &[]).await;
    run.assert_ok();
    assert_server_saw(&run, &server, 6);
    assert_eq!(run.count("orders"), 18);
    assert!(threshold_ok(&run, "orders{kind:big}", "count==6"));
    assert_eq!((run.value("queue_depth", "min"), run.value("queue_depth", "max")), (10.0, 30.0));
    assert_eq!((run.passes("good_answers"), run.fails("good_answers")), (6, 6));
    assert!(threshold_ok(&run, "good_answers{kind:big}", "rate==1"));
    assert_eq!(run.count("order_latency"), 6);
    assert_eq!(run.value("order_latency", "max"), 12.5);
    for name in [
        "vu.idInTest",
        "scenario.name",
        "vu.iterationInScenario",
        "instance.vusActive",
        "test.options",
        "unsupported facts",
    ] {
        assert_eq!(run.check(name), (6, 0), "{name}");
    }
    for iteration in 0..6 {
        assert_eq!(server.path_count(&format!("/bytes/{iteration}")), 1, "scenario.iterationInTest {iteration}");
    }
    // exec.vu.tags, set at the end of each VU's first iteration, tags its second.
    assert!(threshold_ok(&run, "orders{tier:gold}", "count==9"));
    assert!(threshold_ok(&run, "http_reqs{tier:gold}", "count==3"));
    for name in ["b64 std", "b64 rawstd", "b64 url", "b64 rawurl", "b64 bytes"] {
        assert_eq!(run.check(name), (6, 0), "{name}");
    }
}

// ---- Files and modules ----

#[tokio::test(flavor = "multi_thread")]
async fn open_local_modules_and_shared_array() {
    let server = target(Protocol::Http).await;
    let run = run_script("files.js", &server, &["-e", "OUTSIDE=/etc/hostname"]).await;
    run.assert_ok();
    assert_server_saw(&run, &server, 8);
    for name in [
        "open text",
        "open binary",
        "a file outside is refused",
        "local modules",
        "every VU reads all items",
        "the array is read-only",
    ] {
        assert_eq!(run.check(name), (8, 0), "{name}");
    }
    // The array's function ran while vespid loaded the script (VU 0), never in a VU.
    let builds: Vec<&str> = run.stderr.lines().filter(|l| l.contains("building the shared array")).collect();
    assert!(!builds.is_empty() && builds.iter().all(|l| l.contains("vu=0 ")), "{builds:?}");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_shared_array_larger_than_a_vu_s_memory_is_built_once_and_read_by_every_vu() {
    let server = target(Protocol::Http).await;
    let run = run_script("big_shared_array.js", &server, &["--vu-memory-limit", "16MiB"]).await;
    run.assert_ok();
    assert_eq!(run.check("the whole array is there"), (8, 0));
    assert_eq!(run.check("items are read in place"), (8, 0));
    // ~26 MB of items: built by the instance that loads the script, never
    // again (not by describe, nor by a VU, which could not hold it).
    let builds = run.stderr.lines().filter(|l| l.contains("building the big array")).count();
    assert_eq!(builds, 1, "{}", run.stderr);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_remote_import_fails_at_load_naming_the_url() {
    let server = target(Protocol::Http).await;
    let run = run_script("remote.js", &server, &[]).await;
    assert_eq!(run.code, 107, "{}", run.stderr);
    assert_one_line(&run.stderr, "cannot import https://example.com/x.js");
    assert!(run.stderr.contains("save a copy next to the script"), "{}", run.stderr);
}

// ---- Errors ----

#[tokio::test(flavor = "multi_thread")]
async fn load_errors_are_one_line_with_exit_code_107() {
    let server = target(Protocol::Http).await;
    for (name, expected) in [
        ("syntax.js", "syntax.js:4:35: SyntaxError"),
        ("unknown_module.js", "unknown module \"k6/ws\""),
        ("init_throws.js", "init_throws.js:5:13: Error: the init context gave up"),
    ] {
        let run = run_script(name, &server, &[]).await;
        assert_eq!(run.code, 107, "{name}: {}", run.stderr);
        assert_one_line(&run.stderr, expected);
    }
    assert_eq!(server.stats().requests, 0);
}

#[tokio::test(flavor = "multi_thread")]
async fn an_exception_in_an_iteration_is_counted_and_the_run_goes_on() {
    let server = target(Protocol::Http).await;
    let run = run_script("iteration_throws.js", &server, &[]).await;
    run.assert_ok();
    assert_server_saw(&run, &server, 8);
    assert_eq!(run.count("iterations"), 8);
    assert_eq!((run.passes("iterations_failed"), run.fails("iterations_failed")), (4, 4));
    let message = "iteration_throws.js:7:13: Error: planned iteration error";
    assert_eq!(run.error_count(message), 4);
    // Logged once per distinct message, as a Rust guest's error; no stack at info level.
    assert_eq!(run.stderr.matches("planned iteration error").count(), 1, "{}", run.stderr);
    assert!(!run.stderr.contains("at deeper"), "{}", run.stderr);

    let run = run_script("iteration_throws.js", &server, &["--log-level", "debug"]).await;
    run.assert_ok();
    assert!(run.stderr.contains("at deeper (iteration_throws.js:7:13)"), "{}", run.stderr);
    assert!(run.stderr.contains("at default (iteration_throws.js:12:"), "{}", run.stderr);
}

#[tokio::test(flavor = "multi_thread")]
async fn an_init_context_needing_env_loads_with_the_runs_env() {
    let server = target(Protocol::Http).await;
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("needs_env.js");
    std::fs::write(
        &path,
        "import http from 'k6/http';\nif (!__ENV.BASE_URL) throw new Error('BASE_URL is required');\nexport default function () { http.get(`${__ENV.BASE_URL}/status/200`); }\n",
    )
    .expect("write script");
    let base = env("BASE_URL", &server, "");
    let run = vespid(&["run", path.to_str().unwrap(), "-e", &base, "-i", "3"]).await;
    run.assert_ok();
    assert_server_saw(&run, &server, 3);
    assert!(run.stdout.contains("* needs_env: 3 iterations"), "{}", run.stdout);
}

#[tokio::test(flavor = "multi_thread")]
async fn negative_vus_and_an_exception_in_setup_are_reported_with_their_place() {
    let dir = tempfile::tempdir().expect("temp dir");
    let negative = dir.path().join("negative.js");
    std::fs::write(&negative, "export const options = { vus: -1, iterations: 2 };\nexport default function () {}\n")
        .unwrap();
    let run = vespid(&["run", negative.to_str().unwrap()]).await;
    assert_eq!(run.code, 2, "{}", run.stderr);
    assert_one_line(&run.stderr, "negative.js: options.vus: must be at least 1, got -1");

    let server = target(Protocol::Http).await;
    let setup = dir.path().join("setup_throws.js");
    std::fs::write(
        &setup,
        "import http from 'k6/http';\nexport const options = { iterations: 2 };\nexport function setup() { throw new Error('setup gave up'); }\nexport default function () { http.get(`${__ENV.BASE_URL}/status/200`); }\n",
    )
    .unwrap();
    let base = env("BASE_URL", &server, "");
    let run = vespid(&["run", setup.to_str().unwrap(), "-e", &base]).await;
    // docs/k6.md: exit code 1 where k6 says 107.
    assert_eq!(run.code, 1, "{}", run.stderr);
    assert_one_line(&run.stderr, "setup failed: setup_throws.js:3:37: Error: setup gave up");
    assert_eq!(server.stats().requests, 0, "no iteration ran");
}
