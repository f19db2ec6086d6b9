use std::collections::HashSet;

use serde_json::Value;

use crate::support::run_guest;

/// Lines a VU may log at once (caps/log.rs).
const LOG_BURST: u64 = 200;

/// The error entries whose message contains `text`.
fn errors_with(summary: &Value, text: &str) -> Vec<Value> {
    let errors = summary["errors"].as_array().expect("errors list");
    errors.iter().filter(|e| e["message"].as_str().is_some_and(|m| m.contains(text))).cloned().collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn new_series_past_the_cap_are_dropped_and_counted_once() {
    let dir = tempfile::tempdir().expect("temp dir");
    let points = dir.path().join("points.json");
    let out = format!("json={}", points.display());
    let (per_iteration, iterations, cap) = (3_000u64, 4u64, 1_000u64);
    let run = run_guest(
        "metrics-flood",
        &["--vus", "2", "--iterations", "4", "--env", "TAG_VALUES=3000", "--max-series", "1000", "--out", &out],
    )
    .await;
    run.assert_ok();
    let summary = run.summary.as_ref().expect("summary written");
    let message = "metric series cap (1000) reached: samples of further new series dropped";
    assert_eq!(errors_with(summary, "metric series cap").len(), 1, "one line: {:?}", summary["errors"]);
    let (accepted, dropped) = (run.count("flood_tagged"), run.error_count(message));
    assert_eq!(accepted + dropped, per_iteration * iterations, "every sample accepted or counted as dropped");
    // The VU and iteration metrics may take a few series before the flood fills the cap.
    assert!((cap - 5..=cap).contains(&accepted), "{accepted} series of flood_tagged");

    // The streamed points hold exactly the accepted series, one point each.
    let text = std::fs::read_to_string(&points).expect("points written");
    let mut series = HashSet::new();
    for line in text.lines() {
        let line: Value = serde_json::from_str(line).expect("JSON line");
        if line["type"] == "Point" && line["metric"] == "flood_tagged" {
            assert!(series.insert(line["data"]["tags"]["value"].to_string()), "one point per series: {line}");
        }
    }
    assert_eq!(series.len() as u64, accepted);
}

#[tokio::test(flavor = "multi_thread")]
async fn new_metric_names_past_the_cap_are_dropped_and_counted_once() {
    let run = run_guest(
        "metrics-flood",
        &["--vus", "2", "--iterations", "4", "--env", "METRIC_NAMES=600", "--max-metrics", "1000"],
    )
    .await;
    run.assert_ok();
    let summary = run.summary.as_ref().expect("summary written");
    let metrics = summary["metrics"].as_object().expect("metrics");
    let flood: Vec<&Value> =
        metrics.iter().filter(|(name, _)| name.starts_with("flood_name_")).map(|(_, m)| m).collect();
    assert_eq!(flood.len(), 1_000, "as many custom metrics as the cap");
    let accepted: f64 = flood.iter().map(|m| m["values"]["count"].as_f64().expect("a counter")).sum();
    let message = "custom metric cap (1000) reached: samples of further new metric names dropped";
    assert_eq!(errors_with(summary, "custom metric cap").len(), 1);
    assert_eq!(accepted as u64 + run.error_count(message), 600 * 4);
}

#[tokio::test(flavor = "multi_thread")]
async fn log_lines_past_the_rate_limit_are_dropped_and_counted() {
    let run = run_guest("metrics-flood", &["--vus", "1", "--iterations", "2", "--env", "LOG_LINES=2000"]).await;
    run.assert_ok();
    let printed = run.stderr.lines().filter(|line| line.contains("flood line ")).count() as u64;
    let dropped = run.error_count("plugin log lines dropped (rate limit 100/s per VU after a burst of 200)");
    assert_eq!(printed + dropped, 2 * 2_000, "every line printed or counted as dropped");
    assert!(printed >= LOG_BURST, "the burst is printed: {printed}");
    // Sanity bound: 4,000 lines within the limit would take 38 s.
    assert!(dropped > 0);
    assert!(run.stdout.contains(&format!("{dropped:>8} × plugin log lines dropped")), "{}", run.stdout);
    // Not a terminal: no colour codes.
    assert!(!run.stderr.contains('\u{1b}'), "ANSI escapes in {:?}", &run.stderr[..200.min(run.stderr.len())]);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_negative_trend_value_is_reported_not_recorded() {
    let run = run_guest("metrics-flood", &["--iterations", "3", "--env", "NEGATIVE_TREND=1"]).await;
    run.assert_ok();
    let message = "trend flood_negative: value -3 is not a finite number >= 0 (sample dropped)";
    assert_eq!(run.error_count(message), 3);
    let summary = run.summary.as_ref().expect("summary written");
    assert_eq!(summary["metrics"].get("flood_negative"), None, "no sample recorded");
    assert_eq!(run.count("iterations"), 3, "the iterations themselves pass");
}
