use crate::support::{Protocol, assert_server_saw, run_file, scenario, target, vespid, write_run_file};

#[tokio::test(flavor = "multi_thread")]
async fn constant_arrival_rate_starts_every_scheduled_iteration() {
    let server = target(Protocol::Http).await;
    let options = "executor = \"constant-arrival-rate\"\nrate = 200\ntime-unit = \"1s\"\nduration = \"5s\"\npre-allocated-vus = 20";
    let run = run_file(&scenario("rate", "hello", &server.base_url(), options), &[]).await;
    run.assert_ok();
    // 200/s for 5 s is 1000 iterations, each started or dropped.
    let iterations = run.count("iterations");
    assert!(iterations > 0);
    assert_eq!(iterations + run.count("dropped_iterations"), 1000, "every scheduled iteration started or dropped");
    assert_server_saw(&run, &server, iterations);
    assert_eq!(run.count("iteration_start_delay"), iterations, "each start delay is recorded");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_server_too_slow_for_max_vus_drops_iterations() {
    let server = target(Protocol::Http).await;
    let url = format!("{}/delay/200", server.base_url());
    // 50/s for 2 s is 100 iterations; 2 VUs at 200 ms each can start about 20.
    let file = format!(
        "[scenarios.slow]\nplugin = \"{{http-probe}}\"\nenv = {{ URL = \"{url}\" }}\nexecutor = \"constant-arrival-rate\"\nrate = \"50/s\"\nduration = \"2s\"\npre-allocated-vus = 1\nmax-vus = 2\n"
    );
    let run = run_file(&file, &[]).await;
    run.assert_ok();
    let (started, dropped) = (run.count("iterations"), run.count("dropped_iterations"));
    assert!(dropped > 0, "dropped {dropped}");
    assert!(started < 40, "started {started}");
    assert_eq!(started + dropped, 100, "dropped = scheduled − started");
    assert_server_saw(&run, &server, started);
    assert_eq!(run.value("vus_max", "value"), 2.0);
}

#[tokio::test(flavor = "multi_thread")]
async fn an_arrival_with_no_free_vu_starts_one_rather_than_being_dropped() {
    let server = target(Protocol::Http).await;
    let url = format!("{}/delay/300", server.base_url());
    // No VU to begin with; each 300 ms iteration at 10/s needs a few at once.
    let file = format!(
        "[scenarios.grow]\nplugin = \"{{http-probe}}\"\nenv = {{ URL = \"{url}\" }}\nexecutor = \"constant-arrival-rate\"\nrate = \"10/s\"\nduration = \"2s\"\npre-allocated-vus = 0\nmax-vus = 20\n"
    );
    let run = run_file(&file, &[]).await;
    run.assert_ok();
    assert_eq!((run.count("iterations"), run.count("dropped_iterations")), (20, 0));
    assert_server_saw(&run, &server, 20);
    assert_eq!(run.count("iteration_start_delay"), 20);
}

#[tokio::test(flavor = "multi_thread")]
async fn ramping_arrival_rate_integrates_its_stages() {
    let server = target(Protocol::Http).await;
    // 0 → 40/s over 2 s (40 iterations), then 40/s for 1 s (40 more).
    let options = "executor = \"ramping-arrival-rate\"\nstart-rate = 0\nstages = [{ duration = \"2s\", target = 40 }, { duration = \"1s\", target = 40 }]\npre-allocated-vus = 10";
    let run = run_file(&scenario("ramp", "hello", &server.base_url(), options), &[]).await;
    run.assert_ok();
    assert_eq!(run.count("iterations") + run.count("dropped_iterations"), 80);
    assert_server_saw(&run, &server, run.count("iterations"));
}

#[tokio::test(flavor = "multi_thread")]
async fn scenarios_run_side_by_side_with_their_own_plugin_and_tasks() {
    let server = target(Protocol::Http).await;
    let base = server.base_url();
    let browse = scenario("browse", "hello", &base, "executor = \"shared-iterations\"\nvus = 3\niterations = 30");
    let buy = scenario(
        "buy",
        "custom-metrics",
        &base,
        "executor = \"per-vu-iterations\"\nvus = 2\niterations = 10\ntasks = [\"buy\"]\nstart-time = \"500ms\"\ntags = { team = \"checkout\" }",
    );
    let run = run_file(&format!("{browse}{buy}"), &[]).await;
    run.assert_ok();
    // hello requests `/`, custom-metrics `/json`; only the "buy" task ran.
    assert_eq!(server.path_count("/"), 30);
    assert_eq!(server.path_count("/json"), 20);
    assert_eq!(run.count("shop_orders"), 20);
    assert_eq!(run.count("iterations"), 50);
    assert_eq!(server.stats().connections, 5, "each of the 5 VUs kept its connection");
    let scenarios = &run.summary.as_ref().expect("summary")["scenarios"];
    assert_eq!(scenarios.as_array().map(Vec::len), Some(2));
    assert_eq!(run.value("vus_max", "value"), 5.0);
    assert!(run.value("iteration_duration", "count") >= 50.0);
    assert!(run.summary.as_ref().expect("summary")["test_run_duration_ms"].as_f64() >= Some(500.0));
}

#[tokio::test(flavor = "multi_thread")]
async fn pacing_counts_from_the_iteration_start_and_constant_think_time_from_its_end() {
    let server = target(Protocol::Http).await;
    let url = format!("{}/delay/500", server.base_url());
    // Each iteration takes 500 ms. A 1 s pause after it (constant) starts
    // iterations at 0 and 1.5 s; a 1 s cadence (pacing) at 0, 1 and 2 s.
    let scenario = |name: &str, think: &str| {
        format!(
            "[scenarios.{name}]\nplugin = \"{{http-probe}}\"\nenv = {{ URL = \"{url}\" }}\nexecutor = \"constant-vus\"\nvus = 1\nduration = \"2900ms\"\nthink-time = {think}\n"
        )
    };
    let file = scenario("constant", "\"1s\"") + &scenario("pacing", "{ pacing = \"1s\" }");
    let dir = tempfile::tempdir().expect("temp dir");
    let points = dir.path().join("points.json");
    let run = run_file(&file, &["--out", &format!("json={}", points.display())]).await;
    run.assert_ok();
    let text = std::fs::read_to_string(&points).expect("points written");
    let iterations_of = |scenario: &str| {
        text.lines()
            .map(|line| serde_json::from_str::<serde_json::Value>(line).expect("JSON line"))
            .filter(|p| {
                p["type"] == "Point" && p["metric"] == "iterations" && p["data"]["tags"]["scenario"] == scenario
            })
            .count()
    };
    assert_eq!((iterations_of("constant"), iterations_of("pacing")), (2, 3));
    assert_server_saw(&run, &server, 5);
}

#[tokio::test(flavor = "multi_thread")]
async fn segments_add_up_to_the_whole_test() {
    let server = target(Protocol::Http).await;
    let base = server.base_url();
    let shared = scenario("shared", "hello", &base, "executor = \"shared-iterations\"\nvus = 4\niterations = 50");
    let per_vu = scenario("each", "hello", &base, "executor = \"per-vu-iterations\"\nvus = 5\niterations = 3");
    let rate = scenario(
        "rate",
        "hello",
        &base,
        "executor = \"constant-arrival-rate\"\nrate = 25\nduration = \"2s\"\npre-allocated-vus = 5",
    );
    let dir = tempfile::tempdir().expect("temp dir");
    let path = write_run_file(dir.path(), &format!("{shared}{per_vu}{rate}"));
    let path = path.to_str().expect("utf-8 path");
    let whole = vespid(&["run", path]).await;
    whole.assert_ok();
    let parts = futures_util::future::join_all((1..=3).map(|i| {
        let segment = format!("{i}/3");
        async move { vespid(&["run", path, "--segment", &segment]).await }
    }))
    .await;
    let sum = |metric: &str| parts.iter().map(|p| p.assert_ok().count(metric)).sum::<u64>();
    let whole_started = whole.count("iterations") + whole.count("dropped_iterations");
    assert_eq!(whole_started, 50 + 15 + 50);
    assert_eq!(sum("iterations") + sum("dropped_iterations"), whole_started);
    let vus: Vec<f64> = parts.iter().map(|p| p.value("vus_max", "value")).collect();
    assert_eq!(vus.iter().sum::<f64>(), whole.value("vus_max", "value"), "VUs per segment: {vus:?}");
    assert_eq!(server.stats().requests, whole.count("http_reqs") + sum("http_reqs"));
}

#[tokio::test(flavor = "multi_thread")]
async fn validate_checks_a_run_file_without_running_it() {
    let server = target(Protocol::Http).await;
    let dir = tempfile::tempdir().expect("temp dir");
    let good = scenario(
        "browse",
        "custom-metrics",
        &server.base_url(),
        "executor = \"constant-vus\"\nduration = \"1h\"\ntasks = { buy = 2 }",
    ) + "[thresholds]\nshop_ordrs = [\"count>0\"]\n";
    let path = write_run_file(dir.path(), &good);
    let outcome = vespid(&["validate", path.to_str().expect("utf-8")]).await;
    assert_eq!(outcome.code, 0, "{}", outcome.stderr);
    assert!(outcome.stdout.contains("threshold on shop_ordrs: not a built-in metric"), "{}", outcome.stdout);
    assert!(outcome.stdout.contains("browse: constant-vus"), "{}", outcome.stdout);
    assert_eq!(server.stats().requests, 0, "nothing ran");

    let unknown_task = good.replace("buy = 2", "sell = 2");
    write_run_file(dir.path(), &unknown_task);
    let outcome = vespid(&["validate", path.to_str().expect("utf-8")]).await;
    assert_eq!(outcome.code, 2);
    assert!(
        outcome.stderr.contains("task \"sell\" is not one of the plugin's tasks (browse, buy)"),
        "{}",
        outcome.stderr
    );

    write_run_file(dir.path(), &good.replace("duration = \"1h\"", "duration = \"1h\"\nmax-vus = 3"));
    let outcome = vespid(&["validate", path.to_str().expect("utf-8")]).await;
    assert_eq!(outcome.code, 2);
    assert_eq!(outcome.stderr.lines().count(), 1, "{}", outcome.stderr);
    assert!(
        outcome.stderr.contains("vespid.toml:6: scenarios.browse.max-vus: is not an option of constant-vus"),
        "{}",
        outcome.stderr
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn ramping_vus_follows_its_stages() {
    let server = target(Protocol::Http).await;
    let dir = tempfile::tempdir().expect("temp dir");
    let points = dir.path().join("points.json");
    // 0 → 4 VUs over 2 s, hold 4 for 2 s, 4 → 0 over 2 s.
    let options = "executor = \"ramping-vus\"\nstart-vus = 0\nstages = [{ duration = \"2s\", target = 4 }, { duration = \"2s\", target = 4 }, { duration = \"2s\", target = 0 }]\nthink-time = \"20ms\"";
    let out = format!("json={}", points.display());
    let run = run_file(&scenario("ramp", "hello", &server.base_url(), options), &["--out", &out]).await;
    run.assert_ok();
    assert_eq!(run.value("vus_max", "value"), 4.0);
    assert_server_saw(&run, &server, run.count("iterations"));
    let text = std::fs::read_to_string(&points).expect("points written");
    let vus: Vec<f64> = text
        .lines()
        .map(|line| serde_json::from_str::<serde_json::Value>(line).expect("JSON line"))
        .filter(|point| point["type"] == "Point" && point["metric"] == "vus")
        .map(|point| point["data"]["value"].as_f64().expect("a number"))
        .collect();
    // Sampled once a second, so at least once while the 4 VUs hold for 2 s.
    assert_eq!(vus.iter().copied().fold(0.0, f64::max), 4.0, "{vus:?}");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_rate_the_machine_cannot_keep_up_with_does_not_stretch_the_run() {
    let server = target(Protocol::Http).await;
    // Ten million arrivals in one second: far more than the scheduler can
    // hand out; the ones not reached by the end are dropped, not run late.
    let options = "executor = \"constant-arrival-rate\"\nrate = 10000000\nduration = \"1s\"\npre-allocated-vus = 1";
    let run = run_file(&scenario("flood", "hello", &server.base_url(), options), &["--graceful-stop", "1s"]).await;
    run.assert_ok();
    assert_eq!(run.count("iterations") + run.count("dropped_iterations"), 10_000_000);
    assert_server_saw(&run, &server, run.count("iterations"));
}
