use crate::support::{Protocol, assert_server_saw, env, guest, run_file, run_guest, start, target, wait_for};

/// `--env FAULT=… --env IN=…` for the runaway guest.
fn fault(fault: &str, call: &str) -> [String; 4] {
    ["--env".into(), format!("FAULT={fault}"), "--env".into(), format!("IN={call}")]
}

fn args<'a>(fixed: &[&'a str], owned: &'a [String]) -> Vec<&'a str> {
    fixed.iter().copied().chain(owned.iter().map(String::as_str)).collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn a_runaway_loop_in_run_is_cut_by_its_cpu_limit_while_the_other_scenario_carries_on() {
    let server = target(Protocol::Http).await;
    let base = server.base_url();
    let file = format!(
        "iteration-cpu-limit = \"200ms\"\n\
         [scenarios.runaway]\nplugin = \"{{runaway}}\"\nexecutor = \"constant-vus\"\nvus = 2\nduration = \"2s\"\n\
         env = {{ BASE_URL = \"{base}\", FAULT = \"loop\" }}\n\
         [scenarios.steady]\nplugin = \"{{hello}}\"\nexecutor = \"constant-vus\"\nvus = 2\nduration = \"2s\"\n\
         env = {{ BASE_URL = \"{base}\" }}\n"
    );
    let run = run_file(&file, &[]).await;
    run.assert_ok();
    let cut = run.error_count("run trapped: used more than its 200ms of CPU (iteration-cpu-limit)");
    assert!(cut >= 2, "each runaway VU was cut at least once: {cut}");
    // Every failed iteration is a cut runaway one; the steady scenario ran and never failed.
    assert_eq!(run.passes("iterations_failed"), cut);
    assert!(run.count("iterations") > cut, "the steady scenario's iterations ran too");
    // Each runaway iteration asked for `/` and `/run` before it looped.
    assert_eq!(server.path_count("/run"), cut);
    assert_server_saw(&run, &server, run.count("http_reqs"));
}

#[tokio::test(flavor = "multi_thread")]
async fn a_runaway_setup_fails_the_run_with_exit_code_100_and_still_writes_the_summary() {
    let server = target(Protocol::Http).await;
    let base = env("BASE_URL", &server, "");
    let fault = fault("loop", "setup");
    let run =
        run_guest("runaway", &args(&["--iterations", "4", "--setup-timeout", "1s", "--env", &base], &fault)).await;
    assert_eq!(run.code, 100, "stderr: {}", run.stderr);
    assert!(run.stderr.ends_with("error: setup did not finish within 1s (setup-timeout)\n"), "{}", run.stderr);
    assert_eq!(run.count("iterations"), 0);
    assert_eq!(server.path_count("/setup"), 1);
    assert_eq!(server.stats().requests, 1);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_setup_error_fails_the_run_with_exit_code_1() {
    let fault = fault("error", "setup");
    let run = run_guest("runaway", &args(&["--iterations", "4"], &fault)).await;
    assert_eq!(run.code, 1, "stderr: {}", run.stderr);
    assert!(run.stderr.ends_with("error: setup failed: setup failed on purpose\n"), "{}", run.stderr);
    assert_eq!(run.count("iterations"), 0, "no VU ran");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_runaway_init_is_cut_counted_and_retried() {
    let fault = fault("loop", "init");
    let run =
        run_guest("runaway", &args(&["--vus", "2", "--iterations", "4", "--iteration-cpu-limit", "200ms"], &fault))
            .await;
    run.assert_ok();
    // Both VUs failed to start in the init phase, then each iteration tried again.
    assert_eq!(run.error_count("init trapped: used more than its 200ms of CPU (iteration-cpu-limit)"), 2 + 4);
    assert_eq!((run.count("iterations"), run.passes("iterations_failed")), (4, 4));
}

#[tokio::test(flavor = "multi_thread")]
async fn an_init_error_is_counted_and_retried() {
    let fault = fault("error", "init");
    let run = run_guest("runaway", &args(&["--vus", "2", "--iterations", "6"], &fault)).await;
    run.assert_ok();
    assert_eq!(run.error_count("init failed: init failed on purpose"), 2 + 6);
    assert_eq!((run.count("iterations"), run.passes("iterations_failed")), (6, 6));
}

#[tokio::test(flavor = "multi_thread")]
async fn a_vu_over_its_memory_cap_traps_naming_the_cap_and_is_replaced() {
    let fault = fault("alloc", "run");
    let run =
        run_guest("runaway", &args(&["--vus", "1", "--iterations", "3", "--vu-memory-limit", "16MiB"], &fault)).await;
    run.assert_ok();
    assert_eq!(run.error_count("run trapped: memory cap of 16 MiB exceeded (vu-memory-limit)"), 3);
    assert_eq!(run.passes("iterations_failed"), 3);
}

#[tokio::test(flavor = "multi_thread")]
async fn stack_overflows_are_named_whichever_stack_overflowed() {
    // `recurse` exhausts the wasm call stack; `deep-stack` the stack Rust keeps in linear memory.
    for kind in ["recurse", "deep-stack"] {
        let fault = fault(kind, "run");
        let run = run_guest("runaway", &args(&["--iterations", "2"], &fault)).await;
        run.assert_ok();
        assert_eq!(run.error_count("run trapped: stack overflow"), 2, "{kind}: {:?}", run.summary);
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_silent_trap_is_reported_as_itself_not_as_an_older_stderr_line() {
    let fault = fault("silent-trap", "run");
    let run = run_guest("runaway", &args(&["--iterations", "2"], &fault)).await;
    run.assert_ok();
    assert_eq!(run.error_count("an unrelated line"), 0);
    assert_eq!(run.error_count("run trapped: wasm trap: wasm `unreachable` instruction executed"), 2);
}

#[tokio::test(flavor = "multi_thread")]
async fn ctrl_c_during_the_run_cuts_the_iterations_and_writes_every_output() {
    let server = target(Protocol::Http).await;
    let base = env("BASE_URL", &server, "");
    let dir = tempfile::tempdir().expect("temp dir");
    let (points, junit) = (dir.path().join("points.json"), dir.path().join("junit.xml"));
    let (points_out, junit_out) = (format!("json={}", points.display()), format!("junit={}", junit.display()));
    let plugin = guest("runaway");
    let fault = fault("loop", "run");
    let running = start(&args(
        &[
            "run",
            plugin.to_str().expect("utf-8"),
            "--vus",
            "2",
            "--duration",
            "1m",
            "--iteration-cpu-limit",
            "1m",
            "--env",
            &base,
            "--out",
            &points_out,
            "--out",
            &junit_out,
        ],
        &fault,
    ));
    wait_for("both VUs looping", || server.path_count("/run") == 2).await;
    running.interrupt();
    let run = running.finish().await;
    assert_eq!(run.code, 105, "stderr: {}", run.stderr);
    assert_eq!(run.count("interrupted_iterations"), 2);
    assert_eq!(run.count("iterations"), 0, "no iteration completed");
    assert_server_saw(&run, &server, 4);
    let points = std::fs::read_to_string(&points).expect("points written");
    let http_points = points.lines().filter(|l| l.contains("\"Point\"") && l.contains("\"http_reqs\"")).count();
    assert_eq!(http_points, 4, "every request's point was flushed");
    roxmltree::Document::parse(&std::fs::read_to_string(&junit).expect("junit written")).expect("valid XML");
}

#[tokio::test(flavor = "multi_thread")]
async fn ctrl_c_during_setup_or_init_stops_the_run_with_exit_code_105() {
    for (call, started) in [("setup", 1), ("init", 2)] {
        let server = target(Protocol::Http).await;
        let base = env("BASE_URL", &server, "");
        let plugin = guest("runaway");
        let fault = fault("loop", call);
        let fixed = ["run", plugin.to_str().expect("utf-8"), "--vus", "2", "--duration", "1m", "--env", &base];
        let running =
            start(&args(&[&fixed[..], &["--setup-timeout", "1m", "--iteration-cpu-limit", "1m"]].concat(), &fault));
        let path = format!("/{call}");
        wait_for(&format!("{call} started"), || server.path_count(&path) == started).await;
        running.interrupt();
        let run = running.finish().await;
        assert_eq!(run.code, 105, "{call}: stderr: {}", run.stderr);
        assert_eq!(run.count("iterations"), 0, "{call}: the run never started");
        assert_server_saw(&run, &server, started);
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_second_ctrl_c_quits_at_once_even_in_a_runaway_teardown() {
    let server = target(Protocol::Http).await;
    let base = env("BASE_URL", &server, "");
    let plugin = guest("runaway");
    let fault = fault("loop", "teardown");
    let fixed =
        ["run", plugin.to_str().expect("utf-8"), "--iterations", "1", "--teardown-timeout", "1h", "--env", &base];
    let running = start(&args(&fixed, &fault));
    wait_for("teardown started", || server.path_count("/teardown") == 1).await;
    // As k6's, the first interrupt lets teardown go on; the second ends the process.
    running.interrupt();
    wait_for("the first interrupt taken", || running.stderr().contains("interrupted: stopping")).await;
    running.interrupt();
    let run = running.finish().await;
    assert_eq!(run.code, 105, "stderr: {}", run.stderr);
    assert!(run.stderr.contains("interrupted again: quitting"), "{}", run.stderr);
}

#[tokio::test(flavor = "multi_thread")]
async fn every_way_out_through_wasi_is_refused_and_counted_beside_a_steady_scenario() {
    let server = target(Protocol::Http).await;
    let address = server.base_url().trim_start_matches("http://").to_string();
    let escapes = ["read-file", "host-env", "args", "socket", "lookup", "udp"];
    let mut file = String::new();
    for escape in escapes {
        file += &format!(
            "[scenarios.{escape}]\nplugin = \"{{runaway}}\"\nexecutor = \"per-vu-iterations\"\nvus = 2\niterations = 2\n\
             env = {{ FAULT = \"{escape}\", TARGET = \"{address}\" }}\n"
        );
    }
    file += &format!(
        "[scenarios.steady]\nplugin = \"{{hello}}\"\nexecutor = \"per-vu-iterations\"\nvus = 2\niterations = 5\n\
         env = {{ BASE_URL = \"{}\" }}\n",
        server.base_url()
    );
    let run = run_file(&file, &[]).await;
    run.assert_ok();
    for escape in escapes {
        assert_eq!(run.error_count(&format!("{escape} refused: ")), 4, "{escape}: {}", run.stdout);
    }
    assert_eq!(run.error_count("ESCAPED"), 0, "{}", run.stdout);
    assert_eq!(run.passes("iterations_failed"), 6 * 4, "every escape failed its iteration, the steady ones none");
    // Only the steady scenario's requests reached the server: the socket
    // attempts never connected.
    assert_server_saw(&run, &server, 10);
    assert_eq!(server.stats().connections, 2, "one kept connection per steady VU");
}
