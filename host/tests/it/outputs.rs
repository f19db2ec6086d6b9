use std::collections::{HashMap, HashSet};

use serde_json::Value;

use crate::support::{Protocol, assert_server_saw, env, run_guest, target};

#[tokio::test(flavor = "multi_thread")]
async fn json_and_csv_hold_every_point_of_the_run() {
    let server = target(Protocol::Http).await;
    let base = env("BASE_URL", &server, "");
    let dir = tempfile::tempdir().expect("temp dir");
    let (json, csv) = (dir.path().join("points.json"), dir.path().join("points.csv"));
    let (json_out, csv_out) = (format!("json={}", json.display()), format!("csv={}", csv.display()));
    let run =
        run_guest("hello", &["--vus", "3", "--duration", "2s", "--env", &base, "--out", &json_out, "--out", &csv_out])
            .await;
    run.assert_ok();
    let requests = run.count("http_reqs");
    assert!(requests > 0, "the run made requests");
    assert_server_saw(&run, &server, requests);

    // JSON: every Point's metric was announced by a Metric line before it.
    let text = std::fs::read_to_string(&json).expect("json output written");
    let mut announced = HashSet::new();
    let mut points: HashMap<String, Vec<Value>> = HashMap::new();
    for line in text.lines() {
        let line: Value = serde_json::from_str(line).unwrap_or_else(|err| panic!("{err}: {line}"));
        let metric = line["metric"].as_str().expect("metric name").to_string();
        match line["type"].as_str() {
            Some("Metric") => {
                assert_eq!(line["data"]["name"], metric.as_str());
                assert!(announced.insert(metric.clone()), "{metric} announced twice");
            }
            Some("Point") => {
                assert!(announced.contains(&metric), "{metric} has a point before its Metric line");
                points.entry(metric).or_default().push(line["data"].clone());
            }
            other => panic!("unexpected line type {other:?}"),
        }
    }
    let http_reqs = &points["http_reqs"];
    assert_eq!(http_reqs.len() as u64, requests, "one http_reqs point per request");
    for point in http_reqs {
        let tags = &point["tags"];
        // The host tags requests with scenario, method, status and name;
        // `url` is not among its tags (see docs/outputs.md).
        for tag in ["scenario", "method", "status", "name"] {
            assert!(tags[tag].is_string(), "http_reqs point without {tag}: {point}");
        }
        assert_eq!(tags["method"], "GET");
        assert_eq!(tags["status"], "200");
        assert_eq!(point["value"], 1);
        let time = point["time"].as_str().expect("time");
        humantime::parse_rfc3339(time).unwrap_or_else(|err| panic!("{time}: {err}"));
    }
    assert!(!points["vus"].is_empty(), "vus gauge points");
    assert_eq!(points["vus_max"][0]["value"], 3);

    // CSV: the same points, tags in k6's columns.
    let mut rows = csv::Reader::from_path(&csv).expect("csv output written");
    let header = rows.headers().expect("header").clone();
    let column = |name: &str| header.iter().position(|h| h == name).unwrap_or_else(|| panic!("no column {name}"));
    let (metric, value, method, status, scenario) =
        (column("metric_name"), column("metric_value"), column("method"), column("status"), column("scenario"));
    let mut csv_counts: HashMap<String, u64> = HashMap::new();
    for row in rows.records() {
        let row = row.expect("valid row");
        assert_eq!(row.len(), header.len());
        *csv_counts.entry(row[metric].to_string()).or_default() += 1;
        if &row[metric] == "http_reqs" {
            assert_eq!((&row[value], &row[method], &row[status]), ("1.000000", "GET", "200"));
            assert_eq!(&row[scenario], "hello");
        }
    }
    let json_counts: HashMap<String, u64> = points.iter().map(|(m, p)| (m.clone(), p.len() as u64)).collect();
    assert_eq!(csv_counts, json_counts, "both outputs hold the same points");
}

#[tokio::test(flavor = "multi_thread")]
async fn an_unknown_output_kind_is_bad_input() {
    let run = run_guest("hello", &["--out", "xml=foo"]).await;
    assert_eq!(run.code, 2, "stderr: {}", run.stderr);
    let errors: Vec<&str> = run.stderr.lines().filter(|line| line.starts_with("error:")).collect();
    assert_eq!(errors.len(), 1, "one error line: {}", run.stderr);
    assert!(errors[0].contains("xml=foo") && errors[0].contains("unknown output kind"), "{}", errors[0]);
}

#[tokio::test(flavor = "multi_thread")]
async fn the_summary_export_can_take_k6_s_layout() {
    let server = target(Protocol::Http).await;
    let base = env("BASE_URL", &server, "");
    let run =
        run_guest("hello", &["--vus", "2", "--iterations", "10", "--env", &base, "--summary-export-format", "k6"])
            .await;
    run.assert_ok();
    let summary = run.summary.as_ref().expect("summary");
    // What a k6 CI job reads: `jq '.metrics.http_req_duration["p(95)"]'`, `.metrics.http_reqs.count`.
    assert!(summary["metrics"]["http_req_duration"]["p(95)"].as_f64().is_some(), "{summary}");
    assert_eq!(summary["metrics"]["http_reqs"]["count"].as_f64(), Some(10.0));
    assert_eq!(server.stats().requests, 10);
    assert_eq!(summary["metrics"]["checks"]["value"].as_f64(), Some(1.0));
    assert_eq!(summary["root_group"]["checks"]["status is 200"]["passes"].as_u64(), Some(10));
}
