use crate::support::{Protocol, run_file, scenario, target};

/// A JUnit output, one shared-iterations scenario of hello against `base`, and `thresholds`.
fn hello_with_thresholds(base: &str, thresholds: &str, junit: &str) -> String {
    let hello = scenario("s", "hello", base, "executor = \"shared-iterations\"\nvus = 2\niterations = 20");
    format!("out = [\"junit={junit}\"]\n{hello}[thresholds]\n{thresholds}\n")
}

/// `(name, failure message)` of every test case in a JUnit file, checked against its suite counts.
fn junit_cases(path: &std::path::Path) -> Vec<(String, Option<String>)> {
    let text = std::fs::read_to_string(path).expect("junit written");
    let doc = roxmltree::Document::parse(&text).expect("well-formed XML");
    assert_eq!(doc.root_element().tag_name().name(), "testsuites");
    let mut cases = Vec::new();
    for suite in doc.root_element().children().filter(|n| n.has_tag_name("testsuite")) {
        let in_suite: Vec<_> = suite.children().filter(|n| n.has_tag_name("testcase")).collect();
        let failures = in_suite.iter().filter(|c| c.children().any(|f| f.has_tag_name("failure"))).count();
        assert_eq!(suite.attribute("tests"), Some(in_suite.len().to_string().as_str()));
        assert_eq!(suite.attribute("failures"), Some(failures.to_string().as_str()));
        for case in in_suite {
            let failure = case.children().find(|f| f.has_tag_name("failure")).and_then(|f| f.attribute("message"));
            cases.push((case.attribute("name").expect("named").to_string(), failure.map(str::to_string)));
        }
    }
    cases
}

#[tokio::test(flavor = "multi_thread")]
async fn thresholds_that_hold_pass_with_exit_code_0() {
    let server = target(Protocol::Http).await;
    let dir = tempfile::tempdir().expect("temp dir");
    let junit = dir.path().join("junit.xml");
    let thresholds = r#"http_req_failed = ["rate<0.01"]
http_req_duration = ["p(95)<5000", "avg<5000"]
"http_req_duration{scenario:s}" = ["max<10000"]
"http_req_duration{expected_response:true}" = ["count==20"]
iterations = ["count==20"]
checks = ["rate>0.99"]"#;
    let run = run_file(&hello_with_thresholds(&server.base_url(), thresholds, junit.to_str().unwrap()), &[]).await;
    run.assert_ok();
    assert!(run.stdout.contains("✓ 'count==20' count=20"), "{}", run.stdout);
    let summary = run.summary.as_ref().expect("summary");
    assert_eq!(summary["metrics"]["iterations"]["thresholds"]["count==20"]["ok"], true);
    assert!(summary["metrics"]["http_req_duration{scenario:s}"]["values"]["max"].as_f64().is_some());
    // k6's expected_response tag: every request of hello gets a 200.
    assert_eq!(summary["metrics"]["http_req_duration{expected_response:true}"]["thresholds"]["count==20"]["ok"], true);
    let cases = junit_cases(&junit);
    assert!(cases.iter().any(|(name, failure)| name == "iterations: count==20" && failure.is_none()), "{cases:?}");
    assert!(cases.iter().any(|(name, failure)| name.contains("status is 200") && failure.is_none()), "{cases:?}");
    assert!(cases.iter().all(|(_, failure)| failure.is_none()));
}

#[tokio::test(flavor = "multi_thread")]
async fn a_failed_threshold_exits_99_and_shows_what_was_observed() {
    let server = target(Protocol::Http).await;
    let dir = tempfile::tempdir().expect("temp dir");
    let junit = dir.path().join("junit.xml");
    // A tag value that never appears must fail, not pass silently.
    let thresholds = "iterations = [\"count>1000\"]\n\"http_req_duration{name:nope}\" = [\"p(95)<500\"]";
    let run = run_file(&hello_with_thresholds(&server.base_url(), thresholds, junit.to_str().unwrap()), &[]).await;
    assert_eq!(run.code, 99, "{}", run.stderr);
    assert!(run.stderr.contains("thresholds failed: "), "{}", run.stderr);
    assert!(run.stdout.contains("✗ 'count>1000' count=20"), "{}", run.stdout);
    assert!(run.stdout.contains("no samples"), "{}", run.stdout);
    assert_eq!(run.count("iterations"), 20, "the run completed");
    let cases = junit_cases(&junit);
    let failure = |name: &str| cases.iter().find(|(n, _)| n == name).and_then(|(_, f)| f.clone());
    assert!(failure("iterations: count>1000").is_some_and(|m| m.contains("20")), "{cases:?}");
    assert!(failure("http_req_duration{name:nope}: p(95)<500").is_some(), "{cases:?}");
}

#[tokio::test(flavor = "multi_thread")]
async fn abort_on_fail_stops_the_run_with_exit_code_98() {
    let server = target(Protocol::Http).await;
    let file = format!(
        "[scenarios.failing]\nplugin = \"{{http-probe}}\"\nexecutor = \"constant-vus\"\nvus = 2\nduration = \"30s\"\nenv = {{ URL = \"{}/status/500\" }}\n[thresholds]\nhttp_req_failed = [{{ threshold = \"rate<0.01\", abort-on-fail = true }}]\n",
        server.base_url()
    );
    let started = std::time::Instant::now();
    let run = run_file(&file, &[]).await;
    assert_eq!(run.code, 98, "{}", run.stderr);
    assert!(started.elapsed() < std::time::Duration::from_secs(15), "aborted long before its 30 s");
    assert!(run.stderr.contains("http_req_failed 'rate<0.01'"), "{}", run.stderr);
    assert!(run.count("http_reqs") > 0, "the summary is still written");
}
