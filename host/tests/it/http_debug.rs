use std::collections::BTreeSet;

use crate::support::{Protocol, assert_one_line, assert_server_saw, env, run_file, run_guest, target};

/// The `vu=… iteration=…` label of each request block, checking that its
/// response block follows it at once (blocks never interleave).
fn request_labels(stderr: &str) -> Vec<String> {
    let labels: Vec<&str> = stderr.lines().filter(|line| line.starts_with("vu=")).collect();
    labels
        .chunks(2)
        .map(|pair| {
            let label = pair[0].strip_suffix(" request:").unwrap_or_else(|| panic!("a request block: {pair:?}"));
            assert_eq!(pair.get(1), Some(&format!("{label} response:").as_str()), "{stderr}");
            label.to_string()
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn http_debug_prints_each_request_and_response_with_its_vu_and_iteration() {
    let server = target(Protocol::Http).await;
    let base = env("BASE_URL", &server, "");
    let run = run_guest("hello", &["--vus", "2", "--iterations", "6", "--http-debug", "--env", &base]).await;
    run.assert_ok();
    assert_server_saw(&run, &server, 6);
    assert_eq!(run.stderr.matches(" request:\nGET / HTTP/1.1\nhost: 127.0.0.1:").count(), 6, "{}", run.stderr);
    assert_eq!(run.stderr.matches(" response:\nHTTP/1.1 200 OK\n").count(), 6, "{}", run.stderr);
    let labels = request_labels(&run.stderr);
    assert_eq!(labels.len(), 6);
    assert_eq!(labels.iter().collect::<BTreeSet<_>>().len(), 6, "each (VU, iteration) once: {labels:?}");
    assert!(!run.stderr.contains("hello from the vespid demo target"), "no bodies without =full");

    let bad = run_guest("hello", &["--http-debug=all"]).await;
    assert_eq!(bad.code, 2);
    assert_one_line(&bad.stderr, "headers, full or summary");
}

#[tokio::test(flavor = "multi_thread")]
async fn http_debug_full_prints_the_bodies_from_the_flag_or_the_run_file() {
    let server = target(Protocol::Http).await;
    let run = run_guest("custom-metrics", &["--http-debug=full", "--env", &env("BASE_URL", &server, "")]).await;
    run.assert_ok();
    let response = " response:\nHTTP/1.1 200 OK\ncontent-type: application/json\ncontent-length: 40\n";
    assert!(run.stderr.contains(response), "{}", run.stderr);
    assert!(run.stderr.contains("\n\n{\"id\":1,\"name\":\"vespid\",\"items\":[1,2,3]}\n\n"), "{}", run.stderr);

    let file = format!("plugin = \"{{hello}}\"\nhttp-debug = \"full\"\n[env]\nBASE_URL = \"{}\"\n", server.base_url());
    let run = run_file(&file, &[]).await;
    run.assert_ok();
    assert_eq!(request_labels(&run.stderr), ["vu=1 iteration=0"]);
    assert!(run.stderr.contains("\n\nhello from the vespid demo target\n\n"), "{}", run.stderr);
}
