use std::path::Path;

use crate::js::script;
use crate::support::{DemoTarget, Outcome, Protocol, assert_one_line, env, run_file, run_guest, target};

/// The summary export's denials as (message, count).
fn denials(run: &Outcome) -> Vec<(String, u64)> {
    let summary = run.summary.as_ref().expect("summary export");
    summary["denials"]
        .as_array()
        .expect("denials list")
        .iter()
        .map(|d| (d["message"].as_str().unwrap().to_string(), d["count"].as_u64().unwrap()))
        .collect()
}

/// Runs `plugin` (6 iterations, 2 VUs) with BASE_URL, OTHER_URL and SECRET
/// in its env and only some of it granted: `granted`'s origin, the env keys
/// BASE_URL and OTHER_URL, data set `users` (not `secrets`), datasource
/// `main` (not `private`).
async fn run_granting_some(plugin: &Path, granted: &DemoTarget, other: &DemoTarget) -> Outcome {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("secrets.csv"), "key\nhunter2\n").unwrap();
    let file = format!(
        "plugin = {plugin:?}\niterations = 6\nvus = 2\n\
         env = {{ BASE_URL = \"{base}\", OTHER_URL = \"{other}\", SECRET = \"hunter2\" }}\n\
         [permissions]\nallowed-hosts = [\"{base}\"]\nenv = [\"BASE_URL\", \"OTHER_URL\"]\n\
         data = [\"users\"]\ndatasources = [\"main\"]\n\
         [data.users]\npath = {users:?}\n[data.secrets]\npath = \"secrets.csv\"\n\
         [datasources.main]\nurl = \"sqlite::memory:\"\n[datasources.private]\nurl = \"sqlite::memory:\"\n",
        base = granted.base_url(),
        other = other.base_url(),
        users = script("users.csv"),
    );
    let path = dir.path().join("vespid.toml");
    std::fs::write(&path, file).unwrap();
    crate::support::vespid(&["run", path.to_str().unwrap()]).await
}

#[tokio::test(flavor = "multi_thread")]
async fn a_plugin_reaches_only_what_the_run_grants_and_each_refusal_is_counted() {
    let (granted, other) = (target(Protocol::Http).await, target(Protocol::Http).await);
    let run = run_granting_some(&script("permissions.js"), &granted, &other).await;
    run.assert_ok();
    for check in [
        "granted env key",
        "env key not granted",
        "granted host",
        "host not granted",
        "redirect to a host not granted",
        "granted data set",
        "own shared array",
        "undeclared data set",
        "data set not granted",
        "granted datasource",
        "datasource not granted",
    ] {
        assert_eq!(run.check(check), (6, 0), "{check}");
    }
    // Per iteration: `/` and the redirect on the granted server, nothing on the other.
    assert_eq!((run.count("http_reqs"), granted.stats().requests), (12, 12));
    assert_eq!(other.stats().requests, 0, "nothing reached the server not granted");
    // The direct request and the redirect hop, the data set and the
    // datasource; the JavaScript runtime's env is the granted keys only, so
    // reading SECRET asks the host nothing.
    assert_eq!(run.count("permission_denials"), 6 * 4, "{:?}", denials(&run));
    let other_url = format!("{}/", other.base_url());
    let port = other_url.rsplit(':').next().unwrap().trim_end_matches('/');
    let expected = [
        (
            format!("denied: HTTP to {other_url} is not granted (allow it with --allow-host http://127.0.0.1:{port})"),
            12,
        ),
        ("denied: datasource \"private\" is not granted (add it to `datasources` in [permissions])".into(), 6),
        ("denied: data set \"secrets\" is not granted (add it to `data` in [permissions])".into(), 6),
    ];
    let mut got = denials(&run);
    got.sort();
    let mut want: Vec<(String, u64)> =
        expected.into_iter().map(|(message, count)| (format!("scenario \"permissions\": {message}"), count)).collect();
    want.sort();
    assert_eq!(got, want);
    let permissions = &run.summary.as_ref().unwrap()["scenarios"][0]["permissions"];
    assert_eq!(permissions["allowed-hosts"], serde_json::json!([granted.base_url()]));
    assert_eq!(permissions["datasources"], serde_json::json!(["main"]));
    assert!(run.stdout.contains("  permissions:\n  * permissions: allowed-hosts"), "{}", run.stdout);
    assert!(!run.stdout.contains("hunter2") && !run.stderr.contains("hunter2"));
}

/// The same grants from Python: each denial is its typed error there
/// (HttpError kind "denied", PermissionError, SqlError kind "denied").
#[tokio::test(flavor = "multi_thread")]
async fn a_python_script_gets_each_denial_as_its_typed_error() {
    let (granted, other) = (target(Protocol::Http).await, target(Protocol::Http).await);
    crate::python::compile_the_runtime_once().await;
    let run = run_granting_some(&script("python/permissions.py"), &granted, &other).await;
    run.assert_ok();
    for check in [
        "granted host",
        "host not granted",
        "granted data set",
        "data set not granted",
        "granted datasource",
        "datasource not granted",
    ] {
        assert_eq!(run.check(check), (6, 0), "{check}");
    }
    assert_eq!(run.count("permission_denials"), 6 * 3, "{:?}", denials(&run));
    assert_eq!((run.count("http_reqs"), granted.stats().requests, other.stats().requests), (6, 6, 0));
}

#[tokio::test(flavor = "multi_thread")]
async fn an_env_key_not_granted_reads_as_unset_and_is_counted() {
    let server = target(Protocol::Http).await;
    let file = format!(
        "plugin = \"{{hello}}\"\niterations = 2\nvus = 2\nenv = {{ BASE_URL = \"{}\" }}\n\
         [permissions]\nenv = []\nallowed-hosts = [\"http://127.0.0.1:9\"]\n",
        server.base_url()
    );
    let run = run_file(&file, &[]).await;
    run.assert_ok();
    // Each VU's init read BASE_URL, got nothing and fell back to its
    // default (port 7878), which the grant does not cover.
    assert_eq!(server.stats().requests, 0);
    let got = denials(&run);
    let env = "scenario \"hello\": denied: env key \"BASE_URL\" is not granted (add it to `env` in [permissions])";
    assert!(got.contains(&(env.to_string(), 2)), "{got:?}");
    assert_eq!(run.count("permission_denials"), 2 + 2, "{got:?}");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_host_name_granted_by_a_range_is_checked_on_the_addresses_it_resolves_to() {
    let server = target(Protocol::Http).await;
    let port = server.base_url().rsplit(':').next().unwrap().to_string();
    let base = format!("BASE_URL=http://localhost:{port}");
    let outside = run_guest("hello", &["--iterations", "3", "--env", &base, "--allow-host", "10.0.0.0/8"]).await;
    outside.assert_ok();
    assert_eq!((outside.passes("iterations_failed"), outside.count("permission_denials")), (3, 3));
    assert_eq!(server.stats().requests, 0);
    let got = denials(&outside);
    let [(message, 3)] = got.as_slice() else { panic!("one denial, three times: {got:?}") };
    assert!(message.contains(&format!("http://localhost:{port} resolves to 127.0.0.1 outside")), "{message}");

    let inside = run_guest("hello", &["--iterations", "3", "--env", &base, "--allow-host", "127.0.0.0/8"]).await;
    inside.assert_ok();
    assert_eq!((inside.passes("iterations_failed"), inside.count("permission_denials")), (0, 0));
    assert_eq!((inside.count("http_reqs"), server.stats().requests), (3, 3));
}

#[tokio::test(flavor = "multi_thread")]
async fn a_run_that_grants_nothing_is_not_confined_and_says_so() {
    let server = target(Protocol::Http).await;
    let run = run_guest("hello", &["--iterations", "2", "--env", &env("BASE_URL", &server, "")]).await;
    run.assert_ok();
    assert_eq!((run.count("http_reqs"), server.stats().requests), (2, 2));
    assert!(run.stdout.contains("permissions: not confined"), "{}", run.stdout);
    let permissions = &run.summary.as_ref().unwrap()["scenarios"][0]["permissions"];
    assert!(permissions.as_object().unwrap().values().all(serde_json::Value::is_null), "{permissions}");
}

#[tokio::test(flavor = "multi_thread")]
async fn bad_grants_are_one_line_errors_naming_the_key() {
    let flag = run_guest("hello", &["--allow-host", "ftp://example.com"]).await;
    assert_eq!(flag.code, 2, "{}", flag.stderr);
    assert!(flag.stderr.contains("unknown scheme \"ftp\""), "{}", flag.stderr);
    for (table, expected) in [
        (
            "allowed-hosts = [\"http://x/path\"]",
            "permissions.allowed-hosts: \"http://x/path\": a pattern is scheme://host:port, without a path",
        ),
        (
            "datasources = [\"mian\"]",
            "permissions.datasources: \"mian\" is not a datasource of this run (it declares: main)",
        ),
        ("data = [\"users\"]", "permissions.data: \"users\" is not a data set of this run (it declares: none)"),
        ("hosts = []", "unknown field `hosts`"),
    ] {
        let file = format!(
            "plugin = \"{{hello}}\"\niterations = 1\n[permissions]\n{table}\n[datasources.main]\nurl = \"sqlite::memory:\"\n"
        );
        let run = run_file(&file, &[]).await;
        assert_eq!(run.code, 2, "{table}: {}", run.stderr);
        assert_one_line(&run.stderr, expected);
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_socket_reaches_only_the_addresses_allowed_sockets_grants() {
    let server = target(Protocol::Http).await;
    let address = server.base_url().trim_start_matches("http://").to_string();
    let run_with = |granted: String| {
        let address = address.clone();
        async move {
            let file = format!(
                "plugin = \"{{runaway}}\"\niterations = 2\nenv = {{ FAULT = \"socket\", TARGET = \"{address}\" }}\n\
                 [permissions]\nallowed-sockets = [\"{granted}\"]\n"
            );
            run_file(&file, &[]).await
        }
    };
    // Granted: the guest's own TCP client (Rust std on wasi:sockets)
    // connects and speaks HTTP/1.1 itself; the host measures each
    // connection and counts exactly the bytes the guest says it moved.
    let granted = run_with(format!("tcp://{address}")).await;
    granted.assert_ok();
    let errors = granted.summary.as_ref().unwrap()["errors"].as_array().unwrap().clone();
    assert_eq!(errors.len(), 1, "both iterations moved the same bytes: {errors:?}");
    let message = errors[0]["message"].as_str().unwrap();
    let prefix = format!("socket ESCAPED: {address} sent ");
    let (sent, received) = message.split_once(&prefix).unwrap().1.split_once(" received ").unwrap();
    let (sent, received): (u64, u64) = (sent.parse().unwrap(), received.parse().unwrap());
    assert_eq!(errors[0]["count"], 2);
    assert_eq!((server.stats().connections, server.path_count("/bytes/100")), (2, 2));
    assert_eq!(granted.count("permission_denials"), 0);
    assert_eq!((granted.count("tcp_connections"), granted.count("tcp_session_duration")), (2, 2));
    assert_eq!((granted.passes("tcp_connect_failed"), granted.fails("tcp_connect_failed")), (0, 2));
    assert_eq!((granted.count("tcp_data_sent"), granted.count("tcp_data_received")), (2 * sent, 2 * received));
    assert_eq!((granted.count("data_sent"), granted.count("data_received")), (2 * sent, 2 * received));
    assert!(received > 100, "the response's head and its 100 bytes: {received}");
    let permissions = &granted.summary.as_ref().unwrap()["scenarios"][0]["permissions"];
    assert_eq!(permissions["allowed-sockets"], serde_json::json!([format!("tcp://{address}")]));
    // Another port granted: refused and counted, nothing reached the server.
    let other = run_with("tcp://127.0.0.1:9".into()).await;
    other.assert_ok();
    assert_eq!(other.error_count("socket refused: "), 2);
    assert_eq!((server.stats().connections, other.count("permission_denials")), (2, 2));
    let got = denials(&other);
    assert!(got[0].0.contains(&format!("denied: TCP connect to {address} is not granted")), "{got:?}");
    assert_eq!(
        (other.count("tcp_connections"), other.passes("tcp_connect_failed")),
        (0, 0),
        "a denial is not an attempt"
    );
    // Granted, but nothing listens there: a failed connect.
    let file = "plugin = \"{runaway}\"\niterations = 2\nenv = { FAULT = \"socket\", TARGET = \"127.0.0.1:9\" }\n\
                [permissions]\nallowed-sockets = [\"tcp://127.0.0.1:9\"]\n";
    let closed = run_file(file, &[]).await;
    closed.assert_ok();
    assert_eq!((closed.count("tcp_connections"), closed.passes("tcp_connect_failed")), (0, 2));
    let bad = run_with("tcp://localhost:80".into()).await;
    assert_eq!(bad.code, 2);
    assert_one_line(&bad.stderr, "the host is an address or a range (names are not looked up)");
}
