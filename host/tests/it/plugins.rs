use std::path::Path;

use crate::support::{Protocol, assert_one_line, assert_server_saw, env, guest, target, vespid};

/// Runs `vespid run <file>` and returns (exit code, stderr).
async fn run_file(path: &std::path::Path) -> (i32, String) {
    let out = vespid(&["run", path.to_str().expect("utf-8")]).await;
    (out.code, out.stderr)
}

#[tokio::test]
async fn bad_plugin_files_get_one_line_and_exit_code_2() {
    let dir = tempfile::tempdir().expect("temp dir");
    let text = dir.path().join("notes.wasm");
    std::fs::write(&text, "not wasm at all").expect("write");
    let core = dir.path().join("core.wasm");
    std::fs::write(&core, b"\0asm\x01\0\0\0").expect("write");
    let missing = dir.path().join("missing.wasm");

    let cases = [
        (text, "is not a WebAssembly file".to_string()),
        (core, "is a core WebAssembly module, not a component".to_string()),
        (missing, "does not exist".to_string()),
        (guest("wrong-world"), "targets another world (it exports acme:greeter/greet@1.0.0)".to_string()),
        (guest("no-runner"), "does not export vespid:scenario/runner (of any version)".to_string()),
        (
            guest("future-wit"),
            "was built against vespid:scenario@9.0.0; this vespid supports vespid:scenario@0.1.0 to @0.1.3 and @0.2.0"
                .to_string(),
        ),
    ];
    for (path, expected) in cases {
        let (code, stderr) = run_file(&path).await;
        assert_eq!(code, 2, "{}: {stderr}", path.display());
        assert_one_line(&stderr, &expected);
    }
}

#[tokio::test]
async fn inspect_prints_what_the_plugin_declares() {
    let out = vespid(&["inspect", guest("custom-metrics").to_str().expect("utf-8")]).await;
    out.assert_ok();
    assert!(out.stdout.contains("name:    custom-metrics"), "{}", out.stdout);
    assert!(out.stdout.contains("tasks:   browse (weight 3), buy (weight 1)"), "{}", out.stdout);
    assert!(out.stdout.contains("world:   vespid:scenario/scenario@0.2.0"), "{}", out.stdout);
    assert!(out.stdout.contains("vespid:scenario/http@0.2.0"), "{}", out.stdout);

    let bad = vespid(&["inspect", guest("wrong-world").to_str().expect("utf-8")]).await;
    assert_eq!(bad.code, 2);
    assert_one_line(&bad.stderr, "targets another world");
}

#[tokio::test]
async fn bad_flags_are_usage_errors() {
    let out = vespid(&["run", guest("hello").to_str().expect("utf-8"), "--duration", "soon"]).await;
    assert_eq!(out.code, 2);
    assert!(out.stderr.contains("invalid duration \"soon\""), "{}", out.stderr);
    let out = vespid(&["run", guest("hello").to_str().expect("utf-8"), "--vus", "0"]).await;
    assert_eq!(out.code, 2);
}

#[tokio::test(flavor = "multi_thread")]
async fn absurd_values_and_special_files_get_one_line_and_exit_code_2() {
    let hello = guest("hello");
    let hello = hello.to_str().expect("utf-8");
    let cases: [(&[&str], &str); 4] = [
        (&["run", hello, "--duration", "300000000000y"], "duration \"300000000000y\" is longer than a year"),
        (&["run", hello, "--vus", "4294967295", "--duration", "1s"], "4294967295 VUs in all"),
        (&["run", "/dev/zero"], "\"/dev/zero\" is not a regular file"),
        (&["run", hello, "--vu-memory-limit", "8GiB"], "--vu-memory-limit: must be at most 4GiB"),
    ];
    for (args, expected) in cases {
        let out = vespid(args).await;
        assert_eq!(out.code, 2, "{args:?}: {}", out.stderr);
        assert_eq!(out.stderr.lines().count(), 1, "{args:?}: {}", out.stderr);
        assert!(out.stderr.contains(expected), "{args:?}: {}", out.stderr);
        assert!(!out.stderr.contains("panicked"), "{}", out.stderr);
    }
}

/// A plugin built against WIT 0.1.1 (the http-probe guest at the commit
/// before 0.1.2, committed as it was built) loads and runs unchanged, its
/// 0.1.1 calls included: the cookie jar and the scenario's iteration number.
#[tokio::test(flavor = "multi_thread")]
async fn a_plugin_built_against_wit_0_1_1_runs_unchanged() {
    let fixture = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/http-probe-wit-0.1.1.wasm");
    let fixture = fixture.to_str().expect("utf-8");
    let out = vespid(&["inspect", fixture]).await;
    out.assert_ok();
    assert!(out.stdout.contains("world:   vespid:scenario/scenario@0.1.1"), "{}", out.stdout);
    assert!(out.stdout.contains("vespid:scenario/http@0.1.1"), "{}", out.stdout);

    let server = target(Protocol::Http).await;
    let (url, numbered) = (env("URL", &server, "/"), env("NUMBERED_URL", &server, "/bytes/"));
    let args = ["run", fixture, "--vus", "3", "--iterations", "9", "--env", &url, "--env", &numbered];
    let run = vespid(&[&args[..], &["--env", "JAR_COOKIE=flavour=mint"]].concat()).await;
    run.assert_ok();
    assert_eq!(run.check("jar holds flavour"), (9, 0));
    for iteration in 0..9 {
        assert_eq!(server.path_count(&format!("/bytes/{iteration}")), 1, "iteration {iteration}");
    }
    assert_server_saw(&run, &server, 18);
}

/// A plugin built against WIT 0.1.2 (the http-probe guest at the commit
/// before 0.1.3, committed as it was built) loads and runs unchanged, its
/// 0.1.2 calls included: answers it judges itself, `vu.stop` and `vu-end`.
#[tokio::test(flavor = "multi_thread")]
async fn a_plugin_built_against_wit_0_1_2_runs_unchanged() {
    let fixture = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/http-probe-wit-0.1.2.wasm");
    let fixture = fixture.to_str().expect("utf-8");
    let out = vespid(&["inspect", fixture]).await;
    out.assert_ok();
    assert!(out.stdout.contains("world:   vespid:scenario/scenario@0.1.2"), "{}", out.stdout);

    let server = target(Protocol::Http).await;
    let (url, vu_end) = (env("URL", &server, "/status/201"), env("VU_END_URL", &server, "/status/251"));
    let args = ["run", fixture, "--vus", "2", "--duration", "5s", "--env", &url, "--env", &vu_end];
    let run = vespid(&[&args[..], &["--env", "STOP_AT_ITERATION=2", "--env", "VERDICT=fail"]].concat()).await;
    run.assert_ok();
    assert_eq!(server.path_count("/status/201"), 6, "each VU stopped itself after its third iteration");
    assert_eq!(server.path_count("/status/251"), 2, "vu_end once per VU");
    assert_eq!(run.passes("http_req_failed"), 6, "the plugin failed every 201 it judged (not vu_end's request)");
    assert_server_saw(&run, &server, 8);
}

/// A plugin built against WIT 0.1.0 by an earlier vespid (the flow example,
/// committed as it was built) loads and runs unchanged on this host.
#[tokio::test(flavor = "multi_thread")]
async fn a_plugin_built_against_wit_0_1_0_runs_unchanged() {
    let fixture = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/flow-wit-0.1.0.wasm");
    let fixture = fixture.to_str().expect("utf-8");
    let out = vespid(&["inspect", fixture]).await;
    out.assert_ok();
    assert!(out.stdout.contains("world:   vespid:scenario/scenario@0.1.0"), "{}", out.stdout);
    assert!(out.stdout.contains("vespid:scenario/http@0.1.0"), "{}", out.stdout);

    let server = target(Protocol::Http).await;
    let base = env("BASE_URL", &server, "");
    let run = vespid(&["run", fixture, "--vus", "4", "--iterations", "20", "--env", &base]).await;
    run.assert_ok();
    assert_eq!(run.check("logged in"), (20, 0));
    assert_eq!(run.check("session is mine"), (20, 0));
    assert_server_saw(&run, &server, 60);
}

/// A run leaves nothing behind in /tmp: no profiler's map of the compiled
/// code (`/tmp/perf-PID.map`, 75 MB for a language runtime).
#[tokio::test(flavor = "multi_thread")]
async fn a_run_writes_no_perf_map() {
    let server = target(Protocol::Http).await;
    let base = env("BASE_URL", &server, "");
    let running = crate::support::start(&["run", guest("hello").to_str().unwrap(), "-i", "2", "-e", &base]);
    let map = std::path::PathBuf::from(format!("/tmp/perf-{}.map", running.pid()));
    running.finish().await.assert_ok();
    assert!(!map.exists(), "{} was written", map.display());
}
