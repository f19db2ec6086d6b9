use crate::scaffold::{build_command, build_project, new_project};
use crate::support::*;

/// Whether a line of `stderr` has every one of `parts`.
fn has_line(stderr: &str, parts: &[&str]) -> bool {
    stderr.lines().any(|line| parts.iter().all(|part| line.contains(part)))
}

/// A plugin in the loop: each iteration's request and check are printed as
/// they happen, Ctrl-C ends it with the summary (exit code 105), and the
/// requests the server saw are the summary's.
#[tokio::test(flavor = "multi_thread")]
async fn a_plugin_loops_printing_its_requests_and_checks_until_ctrl_c() {
    let server = target(Protocol::Http).await;
    let plugin = guest("hello");
    let base = env("BASE_URL", &server, "");
    let dev = start(&["dev", plugin.to_str().expect("utf-8"), "--env", &base, "--pace", "100ms"]);
    let url = format!("{}/", server.base_url());
    wait_for("a request line", || has_line(&dev.stderr(), &["vu=1 it=", &format!("GET {url} 200 ")])).await;
    wait_for("a check line", || has_line(&dev.stderr(), &["vu=1 it=", "✓ status is 200"])).await;
    dev.interrupt();
    let out = dev.finish().await;
    assert_eq!(out.code, 105, "{}", out.stderr);
    assert_server_saw(&out, &server, server.stats().requests);
    assert!(out.count("http_reqs") >= 1);
    assert_eq!(out.check("status is 200").1, 0, "no failed check");
}

/// A source folder in the loop: built at start, rebuilt and reloaded when
/// a source changes, and a rebuild that does not compile shows the
/// compiler's error while the running version goes on.
#[tokio::test(flavor = "multi_thread")]
async fn a_source_folder_is_rebuilt_on_change_and_a_broken_build_keeps_the_old_version() {
    let server = target(Protocol::Http).await;
    let dir = tempfile::tempdir().expect("temp dir");
    let project = new_project(dir.path(), "dev-shop").await;
    // The dependencies compiled beforehand, so the loop's builds compile only the project.
    build_project(&project).await;
    let base = env("BASE_URL", &server, "");
    let build = build_command();
    let args = ["dev", project.to_str().expect("utf-8"), "--env", &base, "--build", &build, "--pace", "100ms"];
    let dev = start(&args);
    wait_for("iterations of the first build", || server.path_count("/") + server.path_count("/json") >= 2).await;

    let lib = project.join("src/lib.rs");
    let source = std::fs::read_to_string(&lib).expect("lib.rs");
    let home = r#"format!("{}/", self.base)"#;
    assert!(source.contains(home), "the template's home request");
    let moved = source.replace(home, r#"format!("{}/status/200", self.base)"#);
    std::fs::write(&lib, &moved).expect("edit lib.rs");
    wait_for("the rebuilt version's endpoint", || server.path_count("/status/200") >= 2).await;
    wait_for("the reload line", || has_line(&dev.stderr(), &["reload (watch)", "is now version"])).await;

    std::fs::write(&lib, format!("{moved}\nfn broken() -> u32 {{ \"not a number\" }}\n")).expect("break lib.rs");
    wait_for("the failed build", || dev.stderr().contains("build failed")).await;
    let stderr = dev.stderr();
    assert!(stderr.contains("error[E0308]") && stderr.contains("mismatched types"), "compiler output: {stderr}");
    let before = server.path_count("/status/200");
    wait_for("iterations on the old version", || server.path_count("/status/200") >= before + 2).await;

    dev.interrupt();
    let out = dev.finish().await;
    assert_eq!(out.code, 105, "{}", out.stderr);
    assert_server_saw(&out, &server, server.stats().requests);
    assert_eq!(out.check("home is 200").1, 0, "no failed check");
}

/// A folder whose first build fails ends at once, in one line, with exit code 5.
#[tokio::test]
async fn a_failing_first_build_is_one_line_and_exit_code_4() {
    let dir = tempfile::tempdir().expect("temp dir");
    let folder = dir.path().to_str().expect("utf-8");
    let out = vespid(&["dev", folder, "--build", "echo compiling >&2; exit 3", "--plugin", "x.wasm"]).await;
    assert_eq!(out.code, 5, "{}", out.stderr);
    assert!(out.stderr.contains("compiling"), "the build's output: {}", out.stderr);
    let last = out.stderr.lines().last().expect("a line");
    assert!(last.starts_with("error: the build `echo compiling >&2; exit 3` failed"), "{}", out.stderr);
    let out = vespid(&["dev", folder]).await;
    assert_eq!(out.code, 2, "{}", out.stderr);
    assert_one_line(&out.stderr, "has no Cargo.toml");
}
