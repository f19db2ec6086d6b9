use crate::js::script;
use crate::support::{Protocol, run_file, target};

/// One scenario of per-VU iterations.
fn scenario(name: &str, plugin: &str, vus: u32, iterations: u32, env: &str) -> String {
    format!(
        "[scenarios.{name}]\nplugin = {plugin}\nexecutor = \"per-vu-iterations\"\nvus = {vus}\niterations = {iterations}\n\
         env = {{ {env} }}\n"
    )
}

#[tokio::test(flavor = "multi_thread")]
async fn the_hostile_matrix_under_100_vus_fails_cleanly_beside_a_steady_scenario() {
    let (server, other) = (target(Protocol::Http).await, target(Protocol::Http).await);
    let (base, away) = (server.base_url(), other.base_url());
    let port = base.rsplit(':').next().unwrap();
    let mut file = format!(
        "iteration-cpu-limit = \"300ms\"\nvu-memory-limit = \"32MiB\"\nmax-response-body = \"1MiB\"\nmax-metrics = 100\n\
         [data.users]\npath = {users:?}\n[data.secrets]\npath = {users:?}\n\
         [datasources.main]\nurl = \"sqlite::memory:\"\n[datasources.private]\nurl = \"sqlite::memory:\"\n",
        users = script("users.csv")
    );
    // 24 VUs trying each way out through WASI, 16 misbehaving inside.
    for fault in ["read-file", "host-env", "args", "socket", "lookup", "udp", "loop", "alloc", "recurse", "deep-stack"]
    {
        let name = fault.replace('-', "_");
        file += &scenario(&name, "\"{runaway}\"", 4, 2, &format!("FAULT = \"{fault}\", TARGET = \"127.0.0.1:{port}\""));
    }
    file += &scenario("panics", "\"{flaky-panic}\"", 4, 4, &format!("BASE_URL = \"{base}\""));
    file += &scenario("floods", "\"{metrics-flood}\"", 4, 1, "METRIC_NAMES = \"200\", LOG_LINES = \"1000\"");
    file += &scenario("huge_body", "\"{http-probe}\"", 4, 2, &format!("URL = \"{base}/bytes/2000000\""));
    // Grants not given: another origin, a redirect to it, a data set, a datasource.
    file += &scenario(
        "reach",
        &format!("{:?}", script("permissions.js")),
        4,
        2,
        &format!("BASE_URL = \"{base}\", OTHER_URL = \"{away}\", SECRET = \"hunter2\""),
    );
    file += &format!(
        "[scenarios.reach.permissions]\nallowed-hosts = [\"{base}\"]\nenv = [\"BASE_URL\", \"OTHER_URL\"]\n\
         data = [\"users\"]\ndatasources = [\"main\"]\n"
    );
    // A name that resolves outside the only range granted.
    file += &scenario("rebinding", "\"{hello}\"", 4, 2, &format!("BASE_URL = \"http://localhost:{port}\""));
    file += "[scenarios.rebinding.permissions]\nallowed-hosts = [\"10.0.0.0/8\"]\n";
    file += &scenario("steady", "\"{hello}\"", 40, 10, &format!("BASE_URL = \"{base}\""));

    let run = run_file(&file, &[]).await;
    run.assert_ok();
    for escape in ["read-file", "host-env", "args", "socket", "lookup", "udp"] {
        assert_eq!(run.error_count(&format!("{escape} refused: ")), 8, "{escape}");
    }
    assert_eq!(run.error_count("ESCAPED"), 0);
    for (reason, count) in [
        ("used more than its 300ms of CPU (iteration-cpu-limit)", 8),
        ("memory cap of 32 MiB exceeded (vu-memory-limit)", 8),
        ("run trapped: stack overflow", 16),
        ("flaky-panic: planned panic", 4),
        ("response body larger than max-response-body (1 MiB)", 8),
        ("resolves to 127.0.0.1 outside the granted address ranges", 8),
    ] {
        assert_eq!(run.error_count(reason), count, "{reason}: {}", run.stdout);
    }
    assert!(run.error_count("plugin log lines dropped") > 0, "the log flood was cut");
    assert!(run.error_count("custom metric") > 0, "the metric-name flood was cut: {}", run.stdout);
    for check in
        ["host not granted", "redirect to a host not granted", "data set not granted", "datasource not granted"]
    {
        assert_eq!(run.check(check), (8, 0), "{check}");
    }
    // Every steady iteration passed; everything sent is what the servers saw.
    assert_eq!(run.check("status is 200"), (400, 0));
    assert_eq!(run.count("http_reqs"), server.stats().requests);
    assert_eq!(other.stats().requests, 0);
    assert!(!run.stdout.contains("hunter2"));
}
