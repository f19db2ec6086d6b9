//! Plugins of both WIT versions the host speaks: 0.1.x plugins (committed
//! as they were built) link to the 0.1.3 interfaces and get a denial as the
//! nearest 0.1 error; 0.2.0 plugins get the typed `denied` case.

use std::path::Path;

use crate::support::{Protocol, assert_server_saw, env, run_file, run_guest, target, vespid};

fn fixture(name: &str) -> String {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures").join(name);
    path.to_str().expect("utf-8").to_string()
}

/// The http-probe guest at the last 0.1.3 commit: it runs unchanged, and
/// a request to an origin not granted reaches it as `other` with the
/// denial's text, where today's build of the same guest gets `denied`.
#[tokio::test(flavor = "multi_thread")]
async fn a_wit_0_1_3_plugin_runs_unchanged_and_sees_a_denial_as_other() {
    let fixture = fixture("http-probe-wit-0.1.3.wasm");
    let out = vespid(&["inspect", &fixture]).await;
    out.assert_ok();
    assert!(out.stdout.contains("world:   vespid:scenario/scenario@0.1.3"), "{}", out.stdout);

    let server = target(Protocol::Http).await;
    let url = env("URL", &server, "/json");
    let run = vespid(&["run", &fixture, "--vus", "2", "--iterations", "6", "--env", &url]).await;
    run.assert_ok();
    assert_eq!(run.count("http_reqs"), 6);
    assert_server_saw(&run, &server, 6);

    let elsewhere = ["--allow-host", "http://127.0.0.1:1"];
    let denied = format!("denied: HTTP to {}/json is not granted", server.base_url());
    let old = vespid(&[&["run", fixture.as_str(), "--iterations", "3", "--env", &url], &elsewhere[..]].concat()).await;
    let new = run_guest("http-probe", &[&["--iterations", "3", "--env", &url], &elsewhere[..]].concat()).await;
    for run in [&old, &new] {
        run.assert_ok();
        assert_eq!(run.count("permission_denials"), 3);
        assert_eq!(run.count("http_reqs"), 0);
        assert_eq!(run.error_count(&denied), 3, "{:?}", run.summary.as_ref().map(|s| &s["errors"]));
    }
    // The 0.1 SDK shows `other` as "request failed: …"; the 0.2 SDK shows
    // the typed denial as its own message.
    assert_eq!(old.error_count(&format!("request failed: {denied}")), 3);
    assert_eq!(new.error_count(&format!("request failed: {denied}")), 0);
    assert_eq!(server.stats().requests, 6, "nothing denied reached the server");
}

/// The sql-probe guest at the last 0.1.3 commit imports every 0.1.3
/// interface: it links, its values round-trip through the 0.2 types, and a
/// datasource not granted reaches it as `unknown-datasource`.
#[tokio::test(flavor = "multi_thread")]
async fn a_wit_0_1_3_sql_plugin_links_every_interface_and_sees_a_denial_as_unknown_datasource() {
    let fixture = fixture("sql-probe-wit-0.1.3.wasm");
    let run = vespid(&[
        "run",
        &fixture,
        "--datasource",
        "main=sqlite::memory:",
        "--vus",
        "2",
        "--iterations",
        "4",
        "-e",
        "MODE=types",
    ])
    .await;
    run.assert_ok();
    assert_eq!(run.check("values round-trip"), (4, 0));

    let text = |plugin: &str| {
        format!(
            "plugin = {plugin:?}\niterations = 2\nenv = {{ MODE = \"types\" }}\n\
             [permissions]\ndatasources = []\n[datasources.main]\nurl = \"sqlite::memory:\"\n"
        )
    };
    let denied = "denied: datasource \"main\" is not granted";
    let old = run_file(&text(&fixture), &[]).await;
    let new = run_file(&text("{sql-probe}"), &[]).await;
    for run in [&old, &new] {
        run.assert_ok();
        assert_eq!(run.count("permission_denials"), 2);
        assert_eq!(run.error_count(denied), 2, "{:?}", run.summary.as_ref().map(|s| &s["errors"]));
    }
    assert_eq!(old.error_count(&format!("unknown datasource {denied}")), 2);
    assert_eq!(new.error_count(&format!("unknown datasource {denied}")), 0);
}
