//! Python scenarios: locustfiles from tests/scripts/python run on the
//! built-in CPython runtime against the demo target; every count is checked
//! against what the server saw.

use crate::js::script;
use crate::js_modules::assert_examples_run_clean;
use crate::support::*;
use crate::twins::assert_a_changed_script_swaps_in_under_watch;

/// `vespid run tests/scripts/python/<name> -e LOCUST_HOST=<server> <args>`.
async fn run_locustfile(name: &str, server: &DemoTarget, args: &[&str]) -> Outcome {
    compile_the_runtime_once().await;
    let path = script(&format!("python/{name}"));
    let host = env("LOCUST_HOST", server, "");
    let mut all = vec!["run", path.to_str().expect("utf-8 path"), "-e", &host];
    all.extend_from_slice(args);
    vespid(&all).await
}

/// Puts the 25 MB runtime in the compilation cache before the tests' runs,
/// which would otherwise each compile it at the same time on a cold cache.
pub(crate) async fn compile_the_runtime_once() {
    static COMPILED: tokio::sync::OnceCell<()> = tokio::sync::OnceCell::const_new();
    COMPILED
        .get_or_init(|| async {
            let path = script("python/no_user.py");
            vespid(&["inspect", path.to_str().expect("utf-8 path")]).await;
        })
        .await;
}

#[tokio::test(flavor = "multi_thread")]
async fn user_classes_share_the_vus_by_weight_and_run_their_tasks() {
    let server = target(Protocol::Http).await;
    let out = tempfile::tempdir().expect("temp dir");
    let points_file = out.path().join("points.json");
    let json = format!("json={}", points_file.display());
    let run =
        run_locustfile("users.py", &server, &["--vus", "3", "--iterations", "30", "-e", "GREETING=hi", "--out", &json])
            .await;
    run.assert_ok();
    // on_start once per user: VUs 1 and 2 are Browsers (weight 2), VU 3 a Buyer.
    assert_eq!(server.path_count("/status/202"), 2, "Browser.on_start");
    assert_eq!(server.path_count("/status/203"), 1, "Buyer.on_start");
    // One request per task run, every request counted by both sides.
    let tasks = ["/status/200", "/echo", "/status/500"].map(|path| server.path_count(path));
    assert_eq!(tasks.iter().sum::<u64>(), 30, "{tasks:?}");
    assert!(tasks.iter().all(|&count| count > 0), "every task ran: {tasks:?}");
    assert_server_saw(&run, &server, 33);
    assert_eq!(run.count("iterations"), 30);
    assert_eq!(run.fails("iterations_failed"), 30, "no task failed");
    // A 500 fails the request, as in Locust; nothing else does.
    assert_eq!(run.passes("http_req_failed"), tasks[2]);
    let points = points(&points_file);
    assert_eq!(points_of(&points, "http_reqs", &[("name", "checkout")]).len() as u64, tasks[2]);
    assert_eq!(points_of(&points, "http_reqs", &[("name", "browser start")]).len(), 2);
}

#[tokio::test(flavor = "multi_thread")]
async fn an_exception_in_a_task_fails_the_iteration_and_the_run_goes_on() {
    let server = target(Protocol::Http).await;
    let run = run_locustfile("failing.py", &server, &["--vus", "2", "--iterations", "6"]).await;
    run.assert_ok();
    assert_server_saw(&run, &server, 6);
    assert_eq!(run.passes("iterations_failed"), 6);
    assert!(run.stderr.contains("failing.py:9: KeyError: 'missing'"), "{}", run.stderr);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_locustfile_that_cannot_load_is_one_line_with_exit_code_107() {
    let server = target(Protocol::Http).await;
    for (file, expected) in [
        ("syntax_error.py", "syntax_error.py:4:23: SyntaxError: expected ':'"),
        ("missing_module.py", "missing_module.py:2: ModuleNotFoundError: No module named 'faker'"),
        ("no_user.py", "no_user.py: no User class"),
    ] {
        let run = run_locustfile(file, &server, &["--vus", "1", "--iterations", "1"]).await;
        assert_eq!(run.code, 107, "{file}: {}", run.stderr);
        assert_one_line(&run.stderr, expected);
    }
    assert_eq!(server.stats().requests, 0);
}

#[tokio::test(flavor = "multi_thread")]
async fn locust_s_flags_spawn_the_users_and_set_the_host() {
    let server = target(Protocol::Http).await;
    compile_the_runtime_once().await;
    let path = script("python/paced.py");
    let host = server.base_url();
    let args = ["run", path.to_str().expect("utf-8 path"), "-u", "4", "-r", "4", "-t", "2s", "-H", &host, "--headless"];
    let run = vespid(&args).await;
    run.assert_ok();
    assert_eq!(run.value("vus_max", "value"), 4.0);
    // Counted by the server: the `vus` gauge is sampled, and the last user
    // joins (at 1 s) close to a sample.
    assert_eq!(server.path_count("/status/206"), 4, "every user spawned");
    let requests = server.stats().requests;
    assert!(requests > 8, "the users ran tasks: {requests}");
    assert_server_saw(&run, &server, requests);
}

#[tokio::test(flavor = "multi_thread")]
async fn task_sets_run_in_order_and_interrupt_back_to_their_parent() {
    // One VU: the Shopper enters Checkout four times, each time cart, pay, done.
    let server = target(Protocol::Http).await;
    let run = run_locustfile("tasksets.py", &server, &["-u", "1", "-i", "12"]).await;
    run.assert_ok();
    for (path, what) in [
        ("/status/204", "Checkout.on_start"),
        ("/status/201", "cart"),
        ("/status/202", "pay"),
        ("/status/203", "done"),
        ("/status/205", "Checkout.on_stop"),
    ] {
        assert_eq!(server.path_count(path), 4, "{what}");
    }
    assert_server_saw(&run, &server, 20);

    // Two VUs: the second is a Nested user, in and out of Inner inside Outer.
    let server = target(Protocol::Http).await;
    let run = run_locustfile("tasksets.py", &server, &["-u", "2", "-i", "20"]).await;
    run.assert_ok();
    assert_eq!(run.fails("iterations_failed"), 20);
    let count = |status: u16| server.path_count(&format!("/status/{status}"));
    assert!(count(207) > 0, "the Nested user ran");
    assert_eq!(count(201) + count(202) + count(203) + count(207), 20, "one task per iteration");
    assert!(count(201) >= count(202) && count(202) >= count(203) && count(201) <= count(203) + 1, "in order");
    // Each entry leaves once: by `done`, or, for the one the Shopper is in
    // when the run ends, by the user stopping (Locust's order: the set's
    // on_stop, then the user's).
    assert_eq!((count(204), count(205)), (count(201), count(201)), "on_start per entry, on_stop per exit");
}

#[tokio::test(flavor = "multi_thread")]
async fn fixed_count_users_start_first_and_tags_pick_the_tasks() {
    let count = |server: &DemoTarget, statuses: &[u16]| -> Vec<u64> {
        statuses.iter().map(|status| server.path_count(&format!("/status/{status}"))).collect()
    };
    // Without tags: VU 1 is the one Admin (fixed_count 1, weight ignored),
    // VUs 2 and 3 Shoppers; every task runs.
    let server = target(Protocol::Http).await;
    let run = run_locustfile("tags.py", &server, &["-u", "3", "-i", "40"]).await;
    run.assert_ok();
    assert_eq!(count(&server, &[220, 221]), [1, 2], "one Admin, two Shoppers");
    let tasks = count(&server, &[230, 231, 232, 233, 234, 241]);
    assert_eq!(tasks.iter().sum::<u64>(), 40, "{tasks:?}");
    assert_server_saw(&run, &server, 43);

    // --tags browse: the Admin has no such task, so every VU is a Shopper,
    // which runs its browse task and the task set tagged browse as a whole.
    let server = target(Protocol::Http).await;
    let run = run_locustfile("tags.py", &server, &["-u", "3", "-i", "30", "--tags", "browse"]).await;
    run.assert_ok();
    assert_eq!(count(&server, &[220, 221]), [0, 3], "no Admin started");
    let [look, reports] = [232, 241].map(|status| server.path_count(&format!("/status/{status}")));
    assert!(look > 0 && reports > 0 && look + reports == 30, "{look} {reports}");
    assert_server_saw(&run, &server, 33);

    // -E buy admin: the tasks tagged so never run, the others all do.
    let server = target(Protocol::Http).await;
    let run = run_locustfile("tags.py", &server, &["-u", "3", "-i", "60", "-E", "buy", "admin"]).await;
    run.assert_ok();
    assert_eq!(count(&server, &[220, 221, 231, 233]), [1, 2, 0, 0]);
    let ran = count(&server, &[230, 232, 234, 241]);
    assert!(ran.iter().all(|&n| n > 0) && ran.iter().sum::<u64>() == 60, "{ran:?}");
}

#[tokio::test(flavor = "multi_thread")]
async fn catch_response_lets_the_task_judge_each_response() {
    let server = target(Protocol::Http).await;
    let out = tempfile::tempdir().expect("temp dir");
    let points_file = out.path().join("points.json");
    let json = format!("json={}", points_file.display());
    let prefix = out.path().join("locust");
    let csv = prefix.to_str().expect("utf-8 path");
    let run = run_locustfile("catch.py", &server, &["-u", "2", "-i", "6", "--out", &json, "--csv", csv]).await;
    run.assert_ok();
    assert_server_saw(&run, &server, 30);
    assert_eq!(run.fails("iterations_failed"), 6, "RescheduleTask in the block fails no iteration");
    // Failed: the 200 the task called a failure, the 500 nobody judged.
    // Not: the 404 the task called a success, the 201 never entered, the
    // 203 whose block raised before a verdict.
    assert_eq!(run.passes("http_req_failed"), 12);
    let points = points(&points_file);
    // Named as Locust names them: by the path asked for, without the host.
    let failed = |status: &str| points_of(&points, "http_req_failed", &[("status", status)]);
    assert_eq!(failed("200")[0]["tags"]["name"], "/status/200");
    for (status, verdict) in [("200", 1.0), ("404", 0.0), ("500", 1.0), ("201", 0.0), ("203", 0.0)] {
        let samples = failed(status);
        assert_eq!(samples.len(), 6, "status {status}");
        assert!(samples.iter().all(|point| point["value"] == verdict), "status {status}: {samples:?}");
    }
    let missing = points_of(&points, "http_reqs", &[("name", "missing"), ("expected_response", "true")]);
    assert_eq!(missing.len(), 6, "the 404 judged a success is an expected response");

    // Locust's --csv files say the same.
    let stats = csv_rows(&out.path().join("locust_stats.csv"));
    let counts: Vec<[&str; 4]> =
        stats.iter().map(|row| [&row[0], &row[1], &row[2], &row[3]].map(String::as_str)).collect();
    assert_eq!(
        counts,
        [
            ["Type", "Name", "Request Count", "Failure Count"],
            ["GET", "/status/200", "6", "6"],
            ["GET", "/status/201", "6", "0"],
            ["GET", "/status/203", "6", "0"],
            ["GET", "/status/500", "6", "6"],
            ["GET", "missing", "6", "0"],
            ["", "Aggregated", "30", "12"],
        ]
    );
    let failures = csv_rows(&out.path().join("locust_failures.csv"));
    let failures: Vec<[&str; 4]> =
        failures.iter().map(|row| [&row[0], &row[1], &row[2], &row[3]].map(String::as_str)).collect();
    assert_eq!(
        failures[1..],
        [["GET", "/status/200", "failed with status 200", "6"], ["GET", "/status/500", "failed with status 500", "6"]]
    );
    assert_eq!(csv_rows(&out.path().join("locust_exceptions.csv")).len(), 1, "no task raised");
}

/// A CSV file's rows, its header first.
fn csv_rows(path: &std::path::Path) -> Vec<Vec<String>> {
    let text = std::fs::read_to_string(path).unwrap_or_else(|err| panic!("{}: {err}", path.display()));
    text.lines().map(|line| line.split(',').map(String::from).collect()).collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn on_stop_runs_when_a_user_stops_and_stop_user_ends_it() {
    let server = target(Protocol::Http).await;
    let run = run_locustfile("stop.py", &server, &["-u", "2", "-t", "1s"]).await;
    run.assert_ok();
    let count = |status: u16| server.path_count(&format!("/status/{status}"));
    assert_eq!((count(201), count(251), count(299)), (3, 1, 0), "the Quitter: three tasks, then on_stop once");
    assert!(count(200) > 0, "the Visitor browsed");
    assert_eq!((count(252), count(250)), (1, 1), "the Visitor's task set's on_stop, then its own");
    assert_eq!(run.fails("iterations_failed"), count(200) + 3, "StopUser fails no iteration");
    assert_server_saw(&run, &server, count(200) + 6);
}

#[tokio::test(flavor = "multi_thread")]
async fn inspect_lists_the_user_classes_and_their_tasks_without_running_them() {
    compile_the_runtime_once().await;
    let path = script("python/tags.py");
    let out = vespid(&["inspect", path.to_str().expect("utf-8 path")]).await;
    out.assert_ok();
    for line in [
        "  Shopper: weight 1, wait constant(0), host -",
        "    Reports (TaskSet, wait its parent's): weight 1, 25.0%, tags browse",
        "      daily: weight 1, 100.0%, tags browse",
        "  Admin: fixed_count 1, wait constant(0), host -",
        "    purge: weight 1, 50.0%, tags admin",
    ] {
        assert!(out.stdout.lines().any(|printed| printed == line), "{line:?} in:\n{}", out.stdout);
    }
    let path = script("python/users.py");
    let out = vespid(&["inspect", path.to_str().expect("utf-8 path")]).await;
    out.assert_ok();
    assert!(out.stdout.contains("wait between(0, 0.001)"), "{}", out.stdout);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_user_keeps_its_own_session_cookies_across_its_tasks() {
    let server = target(Protocol::Http).await;
    let run = run_locustfile("session.py", &server, &["-u", "3", "-i", "12"]).await;
    run.assert_ok();
    assert_eq!((server.path_count("/status/240"), server.path_count("/status/540")), (12, 0));
    assert_eq!(server.stats().me_without_session, 0);
    assert_server_saw(&run, &server, 3 + 24);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_locustfile_imports_its_neighbours_and_the_python_path_s_packages() {
    compile_the_runtime_once().await;
    let server = target(Protocol::Http).await;
    let dir = tempfile::tempdir().expect("temp dir");
    let write = |path: &str, text: &str| {
        let path = dir.path().join(path);
        std::fs::create_dir_all(path.parent().expect("a parent")).expect("folder");
        std::fs::write(path, text).expect("file written");
    };
    write("common/__init__.py", "");
    write("common/paths.py", "STATUS = 241\n");
    // The package lists its own modules (pkgutil, as faker lists its locales).
    write(
        "vendor/toolkit/__init__.py",
        "import pkgutil\nfrom .pick import pick\nMODULES = [name for _, name, _ in pkgutil.iter_modules(__path__)]\n",
    );
    write("vendor/toolkit/pick.py", "def pick(status):\n    return f'/status/{status}'\n");
    write("vendor/toolkit/extra.py", "");
    write(
        "locustfile.py",
        "from locust import HttpUser, task\nfrom common.paths import STATUS\nimport toolkit\n\n\n\
         class U(HttpUser):\n    @task\n    def go(self):\n        self.client.get(toolkit.pick(STATUS + len(toolkit.MODULES)))\n",
    );
    let path = dir.path().join("locustfile.py");
    let (path, host) = (path.to_str().expect("utf-8 path"), server.base_url());
    let run = vespid(&["run", path, "-H", &host, "-u", "2", "-i", "4", "--python-path", "vendor"]).await;
    run.assert_ok();
    assert_eq!(server.path_count("/status/243"), 4, "241 + the package's two modules");
    // Without the folder, one line naming the module, exit 107.
    let run = vespid(&["run", path, "-H", &host, "-u", "1", "-i", "1"]).await;
    assert_eq!(run.code, 107, "{}", run.stderr);
    assert_one_line(&run.stderr, "locustfile.py:3: ModuleNotFoundError: No module named 'toolkit'");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_load_test_shape_sets_the_users_and_ends_the_test() {
    let server = target(Protocol::Http).await;
    let run = run_locustfile("shape.py", &server, &["-u", "10"]).await;
    run.assert_ok();
    assert_eq!(server.path_count("/status/260"), 5, "2 users, then 3 more");
    assert_eq!(server.path_count("/status/261"), 5, "each user stopped when the shape ended the test");
    assert_eq!(run.value("vus_max", "value"), 5.0, "VUs allocated as the shape asked");
    assert!(server.path_count("/status/200") > 0);
    assert_server_saw(&run, &server, server.stats().requests);

    // -u caps the users a shape may have; asking for more is reported.
    let server = target(Protocol::Http).await;
    let run = run_locustfile("shape.py", &server, &["-u", "3"]).await;
    run.assert_ok();
    assert_eq!(server.path_count("/status/260"), 3);
    assert_eq!(run.error_count("the load shape asked for 5 users, more than the 3 the run holds"), 1);
    assert_server_saw(&run, &server, server.stats().requests);

    // A tick that raises ends the test as a script error, exit 107, and the
    // summary still counts what was sent.
    let server = target(Protocol::Http).await;
    let run = run_locustfile("broken_shape.py", &server, &[]).await;
    assert_eq!(run.code, 107, "{}", run.stderr);
    assert!(
        run.stderr.contains("the load shape's tick failed: broken_shape.py:16: ValueError: no more shape"),
        "{}",
        run.stderr
    );
    assert_server_saw(&run, &server, server.stats().requests);
}

#[tokio::test(flavor = "multi_thread")]
async fn events_fire_at_the_start_and_stop_of_the_run_and_after_each_request() {
    let server = target(Protocol::Http).await;
    let run = run_locustfile("events.py", &server, &["-u", "2", "-i", "6", "-e", "CHECKOUT_STATUS=418"]).await;
    run.assert_ok();
    assert_eq!(run.fails("iterations_failed"), 6, "every request event had Locust's arguments: {}", run.stderr);
    assert_eq!((server.path_count("/status/210"), server.path_count("/status/211")), (1, 1), "test_start, test_stop");
    assert_eq!(server.path_count("/status/418"), 6, "the option came from the run's env");
    assert_server_saw(&run, &server, 14);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_vespid_native_script_has_weighted_tasks_setup_data_metrics_and_checks() {
    let server = target(Protocol::Http).await;
    let path = script("python/native.py");
    compile_the_runtime_once().await;
    let base = env("BASE_URL", &server, "");
    let run = vespid(&["run", path.to_str().expect("utf-8 path"), "-e", &base, "-u", "2", "-i", "20"]).await;
    run.assert_ok();
    let (browsed, bought) = (server.path_count("/status/200"), server.path_count("/echo"));
    assert_eq!(browsed + bought, 20, "one task per iteration");
    assert!(browsed > 0 && bought > 0, "both tasks picked: {browsed} {bought}");
    assert_eq!(run.check("browse is 200"), (browsed, 0));
    assert_eq!(run.check("buy echoed"), (bought, 0));
    assert_eq!(run.count("browsed"), browsed);
    assert_eq!(run.count("basket"), bought);
    assert_eq!(server.path_count("/status/204"), 1, "teardown once");
    // setup's two requests to a closed port are counted; the server saw the rest.
    assert_eq!(run.count("http_reqs"), server.stats().requests + 2);
    assert_eq!(server.path_count("/status/201"), 1, "setup's batch");
    assert_eq!(server.path_count("/status/500"), 1, "teardown's judged request");
    assert_eq!(server.stats().requests, 23);
    assert_eq!(run.passes("http_req_failed"), 2, "setup's two refused requests; the 500 was judged a success");
}

#[tokio::test(flavor = "multi_thread")]
async fn the_python_examples_run_clean() {
    compile_the_runtime_once().await;
    assert_examples_run_clean("python", "py").await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_changed_python_script_swaps_in_under_watch() {
    compile_the_runtime_once().await;
    let version = |code: u16| {
        format!(
            "from vespid import check, http, sleep, vu\n\nCODE = {code}\n\n\n\
             def default(data):\n    response = http.get(vu.env(\"BASE_URL\") + f\"/status/{{CODE}}\")\n    \
             check(\"status as the version says\", response.status == CODE)\n    sleep(10)\n"
        )
    };
    assert_a_changed_script_swaps_in_under_watch("versioned.py", version, &["--vus", "10", "--iterations", "6000"])
        .await;
}
