//! `--summary-export-format k6`: the summary export in the layout of k6's
//! `--summary-export` (k6 1.x, `internal/js/summary-wrapper.js`), so a k6 CI
//! job's `jq '.metrics.http_req_duration["p(95)"]'` keeps working: each
//! metric's values flat (trends: k6's default summaryTrendStats; rates:
//! `passes`, `fails`, `value`), thresholds as `expression: failed`, checks
//! under `root_group`.

use md5::{Digest, Md5};
use serde_json::{Map, Value, json};

use super::Report;
use crate::metrics::{Agg, MetricKind, Registry};

/// k6's default `summaryTrendStats`.
pub(super) const TREND_STATS: [&str; 6] = ["avg", "min", "med", "max", "p(90)", "p(95)"];

/// Whether k6 shows value `key` of a metric of `kind`: a trend shows only
/// its summaryTrendStats.
pub(super) fn k6_shows(kind: MetricKind, key: &str) -> bool {
    kind != MetricKind::Trend || TREND_STATS.contains(&key)
}

/// The export document in k6's layout.
pub fn export_k6_json(report: &Report, registry: &Registry) -> Value {
    let mut metrics = Map::new();
    for line in report.metric_lines(registry) {
        metrics.insert(line.name, values(&line.summary, report));
    }
    for outcome in &report.thresholds {
        let threshold = &outcome.threshold;
        let entry = metrics.entry(threshold.series_name()).or_insert_with(|| {
            threshold.series(&report.aggregate, registry).map_or_else(|| json!({}), |agg| values(&agg, report))
        });
        // k6 writes whether the threshold failed.
        entry["thresholds"][threshold.expression.as_str()] = json!(!outcome.passed);
    }
    let checks: Map<String, Value> =
        report.checks().into_iter().map(|(name, passes, fails)| (name.clone(), check(&name, passes, fails))).collect();
    json!({
        "root_group": { "name": "", "path": "", "id": id(""), "groups": {}, "checks": checks },
        "metrics": metrics,
    })
}

/// A check of the root group, as k6 describes it.
pub(super) fn check(name: &str, passes: u64, fails: u64) -> Value {
    let path = format!("::{name}");
    json!({ "name": name, "path": path, "id": id(&path), "passes": passes, "fails": fails })
}

/// One metric's values, flat, under k6's keys.
fn values(agg: &Agg, report: &Report) -> Value {
    let all = agg.values(report.elapsed);
    let keep = |key: &str| k6_shows(agg.kind(), key);
    let renamed = |key: &'static str| match (agg, key) {
        (Agg::Rate { .. }, "rate") => "value",
        _ => key,
    };
    let map: Map<String, Value> =
        all.into_iter().filter(|(key, _)| keep(key)).map(|(key, v)| (renamed(key).to_string(), json!(v))).collect();
    Value::Object(map)
}

/// k6's group and check ids: the MD5 of the path, in hex.
pub(super) fn id(path: &str) -> String {
    Md5::digest(path.as_bytes()).iter().map(|byte| format!("{byte:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_layout_is_k6_s() {
        let (sink, report) = crate::output::test_report();
        let doc = export_k6_json(&report, &sink.registry);
        let metrics = &doc["metrics"];
        let duration = metrics["http_req_duration"].as_object().expect("an object");
        let keys: Vec<&str> = duration.keys().map(String::as_str).collect();
        assert_eq!(keys, ["avg", "max", "med", "min", "p(90)", "p(95)", "thresholds"]);
        assert_eq!(duration["thresholds"], json!({ "p(90)<500": false }));
        assert_eq!(metrics["http_reqs"], json!({ "count": 110.0, "rate": 11.0, "thresholds": { "count>1000": true } }));
        assert_eq!(metrics["http_req_failed"]["value"], json!(0.0));
        assert_eq!(metrics["http_req_duration{name:login}"]["thresholds"]["max<=500"], json!(false));
        assert_eq!(metrics["checks"]["passes"], json!(18.0));
        let root = &doc["root_group"];
        assert_eq!(root["id"], "d41d8cd98f00b204e9800998ecf8427e");
        let check = &root["checks"]["status is 200"];
        assert_eq!(check["path"], "::status is 200");
        assert_eq!((check["passes"].as_u64(), check["fails"].as_u64()), (Some(10), Some(0)));
        assert_eq!(check["id"].as_str().map(str::len), Some(32));
    }
}
