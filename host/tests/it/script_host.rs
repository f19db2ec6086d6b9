//! The host's side of k6 scripts: `exec.test.abort()` ends the run with
//! exit code 108 after teardown and outputs, `handleSummary` writes its
//! files and replaces the text summary, `inspect` and `validate` load a
//! script without running it.

use std::path::{Path, PathBuf};

use serde_json::Value;

use crate::support::*;

/// Writes `source` as `dir/name`.
fn write_script(dir: &Path, name: &str, source: &str) -> PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, source).expect("write script");
    path
}

/// Runs `vespid run SCRIPT --env BASE_URL=<server>` plus `args`, in `dir`'s script `name`.
async fn run_script(script: &Path, server: &DemoTarget, args: &[&str]) -> Outcome {
    let base = env("BASE_URL", server, "");
    let mut all = vec!["run", script.to_str().expect("utf-8 path"), "--env", &base];
    all.extend_from_slice(args);
    vespid(&all).await
}

const ABORTING: &str = r#"
import http from 'k6/http';
import exec from 'k6/execution';

export const options = { vus: 2, duration: '1m' };

export default function () {
  http.get(`${__ENV.BASE_URL}/`);
  if (exec.vu.iterationInScenario === 3) {
    exec.test.abort('enough');
  }
}

export function teardown() {
  http.get(`${__ENV.BASE_URL}/orders`);
}
"#;

#[tokio::test(flavor = "multi_thread")]
async fn test_abort_stops_the_run_with_exit_code_108_after_teardown_and_outputs() {
    let server = target(Protocol::Http).await;
    let dir = tempfile::tempdir().expect("temp dir");
    let script = write_script(dir.path(), "abort.js", ABORTING);
    let run = run_script(&script, &server, &[]).await;
    assert_eq!(run.code, 108, "stderr: {}", run.stderr);
    assert!(run.stderr.lines().any(|line| line == "error: test aborted: enough"), "{}", run.stderr);
    assert!(run.stdout.contains("  test aborted: enough\n"), "the summary says why: {}", run.stdout);
    assert_eq!(server.path_count("/orders"), 1, "teardown ran");
    assert_server_saw(&run, &server, server.stats().requests);
    // Each VU stopped within its fourth iteration: the one that aborted is
    // cut (not failed), no VU started a fifth.
    assert!(run.count("interrupted_iterations") >= 1, "the aborting iteration is cut");
    assert_eq!(run.fails("iterations_failed") + run.passes("iterations_failed"), run.count("iterations"));
    assert_eq!(run.passes("iterations_failed"), 0, "no iteration failed: {:?}", run.summary);
    assert!(server.path_count("/") <= 8, "two VUs, at most four iterations each");
}

const HANDLING: &str = r#"
import http from 'k6/http';
import { check } from 'k6';

export const options = {
  vus: 2,
  iterations: 10,
  thresholds: { http_req_duration: ['p(95)<60000'] },
};

export default function () {
  const res = http.get(`${__ENV.BASE_URL}/`);
  check(res, { 'status is 200': (r) => r.status === 200 });
}

export function handleSummary(data) {
  return {
    stdout: `requests: ${data.metrics.http_reqs.values.count}\n`,
    [`${__ENV.OUT_DIR}/summary.json`]: JSON.stringify(data),
  };
}
"#;

#[tokio::test(flavor = "multi_thread")]
async fn handle_summary_writes_its_files_and_replaces_the_text_summary() {
    let server = target(Protocol::Http).await;
    let dir = tempfile::tempdir().expect("temp dir");
    let script = write_script(dir.path(), "summary.js", HANDLING);
    let out_dir = format!("OUT_DIR={}", dir.path().display());
    let run = run_script(&script, &server, &["--env", &out_dir]).await;
    run.assert_ok();
    assert_server_saw(&run, &server, 10);
    assert_eq!(run.stdout, "requests: 10\n", "only what handleSummary returned for stdout");

    let text = std::fs::read_to_string(dir.path().join("summary.json")).expect("handleSummary wrote its file");
    let data: Value = serde_json::from_str(&text).expect("JSON");
    assert_eq!(data["metrics"]["http_reqs"]["values"]["count"], 10.0);
    assert_eq!(data["metrics"]["http_reqs"]["type"], "counter");
    assert_eq!(data["metrics"]["http_req_duration"]["contains"], "time");
    assert_eq!(data["metrics"]["http_req_duration"]["thresholds"]["p(95)<60000"]["ok"], true);
    let check = &data["root_group"]["checks"][0];
    assert_eq!((&check["name"], &check["passes"], &check["fails"]), (&"status is 200".into(), &10.into(), &0.into()));
    assert_eq!(data["options"]["summaryTrendStats"][5], "p(95)");
    assert!(data["state"]["testRunDurationMs"].as_f64().is_some_and(|ms| ms > 0.0));
}

#[tokio::test(flavor = "multi_thread")]
async fn a_failing_handle_summary_is_one_line_and_the_text_summary_follows() {
    let server = target(Protocol::Http).await;
    let dir = tempfile::tempdir().expect("temp dir");
    let source = "import http from 'k6/http';\nexport const options = { iterations: 2 };\n\
        export default function () { http.get(`${__ENV.BASE_URL}/`); }\n\
        export function handleSummary(data) { throw new Error('no report today'); }\n";
    let script = write_script(dir.path(), "throws.js", source);
    let run = run_script(&script, &server, &[]).await;
    run.assert_ok();
    let line = run.stderr.lines().find(|line| line.contains("no report today")).expect("the error is shown");
    assert!(line.starts_with("handleSummary failed: ") && line.ends_with("the default summary follows"), "{line}");
    assert!(run.stdout.contains("http_reqs"), "the text summary is printed: {}", run.stdout);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_handle_summary_file_in_a_missing_folder_is_a_one_line_error() {
    let server = target(Protocol::Http).await;
    let dir = tempfile::tempdir().expect("temp dir");
    let source = "import http from 'k6/http';\nexport const options = { iterations: 1 };\n\
        export default function () { http.get(`${__ENV.BASE_URL}/`); }\n\
        export function handleSummary(data) { return { [`${__ENV.OUT_DIR}/missing/out.json`]: '{}' }; }\n";
    let script = write_script(dir.path(), "missing.js", source);
    let out_dir = format!("OUT_DIR={}", dir.path().display());
    let run = run_script(&script, &server, &["--env", &out_dir]).await;
    assert_eq!(run.code, 1, "stderr: {}", run.stderr);
    assert_one_line(&run.stderr, "missing/out.json");
    assert_eq!(run.count("http_reqs"), 1, "the summary export is still written");
}

#[tokio::test(flavor = "multi_thread")]
async fn inspect_prints_a_script_s_functions_and_resolved_options_without_running_it() {
    let server = target(Protocol::Http).await;
    let dir = tempfile::tempdir().expect("temp dir");
    let source = "import http from 'k6/http';\n\
        export const options = {\n\
          scenarios: { browse: { executor: 'constant-vus', vus: 3, duration: '20s', exec: 'browse', env: { A: '1' } } },\n\
          thresholds: { http_req_failed: [{ threshold: 'rate<0.01', abortOnFail: true }] },\n\
          summaryTimeUnit: 'ms', userAgent: 'shop-test/1.0', maxRedirects: 2, noCookiesReset: true,\n\
        };\n\
        export function browse() { http.get(`${__ENV.BASE_URL}/`); }\n";
    let script = write_script(dir.path(), "shop.js", source);
    let base = env("BASE_URL", &server, "");
    let run = vespid(&["inspect", script.to_str().expect("utf-8 path"), "--env", &base]).await;
    run.assert_ok();
    assert_eq!(server.stats().requests, 0, "nothing ran");
    assert!(run.stdout.contains("name:    shop\n"), "{}", run.stdout);
    assert!(run.stdout.contains("tasks:   browse (weight 0)\n"), "{}", run.stdout);
    assert!(run.stdout.contains("warning: options.summaryTimeUnit is ignored"), "{}", run.stdout);
    let json = run.stdout.split_once("options:\n").map(|(_, json)| json).expect("options follow");
    let options: Value = serde_json::from_str(json).expect("the options are JSON");
    let browse = &options["scenarios"]["browse"];
    assert_eq!(
        (&browse["executor"], &browse["vus"], &browse["duration"]),
        (&"constant-vus".into(), &3.into(), &"20s".into())
    );
    assert_eq!((&browse["exec"], &browse["env"]["A"]), (&"browse".into(), &"1".into()));
    assert_eq!(options["thresholds"]["http_req_failed"][0]["abortOnFail"], true);
    assert_eq!(
        (&options["userAgent"], &options["maxRedirects"], &options["noCookiesReset"]),
        (&"shop-test/1.0".into(), &2.into(), &true.into())
    );
    assert_eq!((&options["insecureSkipTLSVerify"], &options["batchPerHost"]), (&false.into(), &6.into()));
}

#[tokio::test(flavor = "multi_thread")]
async fn a_script_that_cannot_load_is_one_line_naming_where_with_exit_code_107() {
    let dir = tempfile::tempdir().expect("temp dir");
    let script = write_script(dir.path(), "broken.js", "export const options = {\n  vus: 2,,\n};\n");
    for command in ["inspect", "validate"] {
        let run = vespid(&[command, script.to_str().expect("utf-8 path")]).await;
        assert_eq!(run.code, 107, "{command}: {}", run.stderr);
        assert_one_line(&run.stderr, "broken.js:2:");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn validate_checks_a_script_s_plan_without_running_it() {
    let dir = tempfile::tempdir().expect("temp dir");
    let source = "export const options = { vus: 2, duration: '5s' };\nexport default function () {}\n";
    let script = write_script(dir.path(), "ok.js", source);
    let run = vespid(&["validate", script.to_str().expect("utf-8 path")]).await;
    run.assert_ok();
    assert!(run.stdout.contains("valid, 1 scenario(s)") && run.stdout.contains("constant-vus"), "{}", run.stdout);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_typescript_script_is_refused_with_the_esbuild_step() {
    let dir = tempfile::tempdir().expect("temp dir");
    let script = write_script(dir.path(), "typed.ts", "export default function (): void {}\n");
    let run = vespid(&["run", script.to_str().expect("utf-8 path")]).await;
    assert_eq!(run.code, 2, "{}", run.stderr);
    assert_one_line(&run.stderr, "esbuild ");
    assert!(run.stderr.contains("--outfile=") && run.stderr.contains("typed.js --format=esm"), "{}", run.stderr);
}
