use std::path::{Path, PathBuf};

use crate::support::{Outcome, Protocol, assert_one_line, target, vespid};

/// `vespid new NAME` in `dir`, checked, with the project's `target/` a link
/// to a folder kept across test runs, so only the project's crate is
/// compiled each time. Returns the project folder.
pub async fn new_project(dir: &Path, name: &str) -> PathBuf {
    let created = vespid(&["new", name, "--dir", dir.to_str().expect("utf-8")]).await;
    created.assert_ok();
    assert!(created.stdout.contains("cargo build --target wasm32-wasip2 --release"), "{}", created.stdout);
    assert!(created.stdout.contains("vespid run vespid.toml"), "{}", created.stdout);
    let project = dir.join(name);
    let cached = Path::new(env!("CARGO_MANIFEST_DIR")).join("../target/scaffold-test");
    std::fs::create_dir_all(&cached).expect("cache dir");
    std::os::unix::fs::symlink(&cached, project.join("target")).expect("link target/");
    project
}

/// Builds the generated project at `project` with [`build_command`].
pub async fn build_project(project: &Path) {
    let build = tokio::process::Command::new("sh")
        .current_dir(project)
        .args(["-c", &build_command()])
        .status()
        .await
        .expect("cargo runs");
    assert!(build.success(), "the generated project does not build");
}

/// The shell command that builds a generated project as its README says,
/// but offline (a test never fetches) and into its own `target/` whatever
/// the environment names.
pub fn build_command() -> String {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    format!(
        "env -u CARGO_TARGET_DIR -u CARGO_BUILD_TARGET_DIR {cargo} build --quiet --offline --target wasm32-wasip2 --release"
    )
}

/// The generated project builds outside this repository with cargo and its
/// run file runs it: the demo target sees every iteration's request and
/// every check passes.
#[tokio::test(flavor = "multi_thread")]
async fn a_new_project_builds_and_runs_against_the_demo_target() {
    let dir = tempfile::tempdir().expect("temp dir");
    let project = new_project(dir.path(), "my-shop").await;
    for file in ["Cargo.toml", "src/lib.rs", "vespid.toml", ".gitignore", "README.md"] {
        assert!(project.join(file).is_file(), "{file} created");
    }
    build_project(&project).await;

    let server = target(Protocol::Http).await;
    let run_file = project.join("vespid.toml");
    let base_url = format!("BASE_URL={}", server.base_url());
    let run = vespid(&["run", run_file.to_str().expect("utf-8"), "--iterations", "8", "--env", &base_url]).await;
    run.assert_ok();
    assert_eq!(run.count("http_reqs"), 8);
    assert_eq!(server.stats().requests, 8, "requests the server saw");
    let (home, api) = (server.path_count("/"), server.path_count("/json"));
    assert_eq!(home + api, 8, "one request per iteration");
    assert_eq!(run.check("home is 200"), (home, 0));
    assert_eq!(run.check("api is 200"), (api, 0));
    assert_eq!(run.check("api answers JSON"), (api, 0));
}

#[tokio::test]
async fn new_refuses_an_existing_folder_and_an_invalid_name() {
    let dir = tempfile::tempdir().expect("temp dir");
    let parent = dir.path().to_str().expect("utf-8");
    std::fs::create_dir(dir.path().join("taken")).expect("mkdir");
    std::fs::write(dir.path().join("taken/keep.txt"), "mine").expect("write");

    let out = vespid(&["new", "taken", "--dir", parent]).await;
    assert_eq!(out.code, 2, "{}", out.stderr);
    assert_one_line(&out.stderr, "already exists");
    assert_eq!(std::fs::read_to_string(dir.path().join("taken/keep.txt")).expect("kept"), "mine");
    assert_eq!(std::fs::read_dir(dir.path().join("taken")).expect("dir").count(), 1, "nothing written into it");

    let out = vespid(&["new", "2fast", "--dir", parent]).await;
    assert_eq!(out.code, 2, "{}", out.stderr);
    assert_one_line(&out.stderr, "\"2fast\" is not a valid crate name");
    assert!(!dir.path().join("2fast").exists());
}

/// `vespid new NAME --lang js`: a k6-style script that runs as generated
/// against the demo target, with nothing to build.
#[tokio::test(flavor = "multi_thread")]
async fn a_new_js_project_runs_as_generated() {
    let server = target(Protocol::Http).await;
    let base_url = format!("BASE_URL={}", server.base_url());
    let run = new_script_project("js", "script.js", &["--iterations", "4", "--env", &base_url]).await;
    assert_eq!(run.check("status is 200"), (4, 0));
    assert_eq!(run.count("http_reqs"), 4);
    assert_eq!(server.stats().requests, 4, "requests the server saw");
}

/// `vespid new NAME --lang python`: a locustfile that runs as generated,
/// with Locust's flags, against the demo target.
#[tokio::test(flavor = "multi_thread")]
async fn a_new_python_project_runs_as_generated() {
    crate::python::compile_the_runtime_once().await;
    let server = target(Protocol::Http).await;
    let run = new_script_project("python", "locustfile.py", &["-u", "4", "-i", "4", "-H", &server.base_url()]).await;
    assert_eq!(run.count("http_reqs"), 4);
    assert_eq!(server.stats().requests, 4, "requests the server saw");
}

/// Creates a `--lang lang` project and runs its one `script` with `args`.
async fn new_script_project(lang: &str, script: &str, args: &[&str]) -> Outcome {
    let dir = tempfile::tempdir().expect("temp dir");
    let created = vespid(&["new", "my-shop", "--lang", lang, "--dir", dir.path().to_str().expect("utf-8")]).await;
    created.assert_ok();
    assert!(created.stdout.contains(&format!("vespid run {script}")), "{}", created.stdout);
    let project = dir.path().join("my-shop");
    for file in [script, ".gitignore", "README.md"] {
        assert!(project.join(file).is_file(), "{file} created");
    }
    assert!(!project.join("Cargo.toml").exists(), "nothing to build");
    let path = project.join(script);
    let mut all = vec!["run", path.to_str().expect("utf-8")];
    all.extend_from_slice(args);
    let run = vespid(&all).await;
    run.assert_ok();
    run
}
