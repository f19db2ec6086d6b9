//! `--summary-export-format k6`: the summary export in the layout of k6's
//! `--summary-export` (k6 1.x, `internal/js/summary-wrapper.js`), so a k6 CI
//! job's `jq '.metrics.http_req_duration["p(95)"]'` keeps working: each
//! metric's values flat (trends: k6's default summaryTrendStats; rates:
//! `passes`, `fails`, `value`), thresholds as `expression: failed`, checks
//! in their groups under `root_group`. The group tree and the
//! `http_req_duration{expected_response:true}` submetric k6 always shows
//! are shared with handleSummary's layout.

use std::collections::BTreeMap;

use md5::{Digest, Md5};
use serde_json::{Map, Value, json};

use super::Report;
use crate::metrics::{Agg, MetricKind, Registry, names};

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
    if let Some((name, agg)) = expected_durations(report) {
        metrics.entry(name).or_insert_with(|| values(&agg, report));
    }
    json!({ "root_group": root_group(report, Listing::ByName), "metrics": metrics })
}

/// The submetric k6 adds to every summary: `http_req_duration` of the
/// responses with an expected status. `None` when there was none.
pub(super) fn expected_durations(report: &Report) -> Option<(String, Agg)> {
    let id = names::HTTP_REQ_DURATION;
    let agg = report.aggregate.summary(id, |tags| tags.get(names::EXPECTED_RESPONSE_TAG) == Some("true"))?;
    Some(("http_req_duration{expected_response:true}".to_string(), agg))
}

/// How a group lists its groups and checks: `--summary-export` keys them
/// by name, handleSummary's `data` has arrays.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Listing {
    ByName,
    InArrays,
}

/// The checks of a run in k6's group tree (`root_group`): each group by its
/// path (`::outer::inner`, the group tag), each check in the group it ran in.
pub(super) fn root_group(report: &Report, listing: Listing) -> Value {
    let mut root = GroupTree::default();
    for (group, name, passes, fails) in report.checks_in_groups() {
        let mut node = &mut root;
        for part in group.split("::").filter(|part| !part.is_empty()) {
            node = node.groups.entry(part.to_string()).or_default();
        }
        node.checks.push((name, passes, fails));
    }
    root.to_json("", "", listing)
}

#[derive(Default)]
struct GroupTree {
    groups: BTreeMap<String, GroupTree>,
    checks: Vec<(String, u64, u64)>,
}

impl GroupTree {
    fn to_json(&self, name: &str, path: &str, listing: Listing) -> Value {
        let checks = self.checks.iter().map(|(check, passes, fails)| {
            let path = format!("{path}::{check}");
            let entry = json!({ "name": check, "path": path, "id": id(&path), "passes": passes, "fails": fails });
            (check.clone(), entry)
        });
        let groups = self
            .groups
            .iter()
            .map(|(group, tree)| (group.clone(), tree.to_json(group, &format!("{path}::{group}"), listing)));
        let (groups, checks) = match listing {
            Listing::ByName => (Value::Object(groups.collect()), Value::Object(checks.collect())),
            Listing::InArrays => (groups.map(|(_, v)| v).collect(), checks.map(|(_, v)| v).collect()),
        };
        json!({ "name": name, "path": path, "id": id(path), "groups": groups, "checks": checks })
    }
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
        // k6's ids of `group('auth', () => check(...))`, as k6 1.1.0 writes them.
        let auth = &root["groups"]["auth"];
        assert_eq!((&auth["name"], &auth["path"]), (&json!("auth"), &json!("::auth")));
        assert_eq!(auth["id"], id("::auth"));
        let grouped = &auth["checks"]["body has <token> & \"quotes\""];
        assert_eq!(grouped["path"], "::auth::body has <token> & \"quotes\"");
        assert_eq!((grouped["passes"].as_u64(), grouped["fails"].as_u64()), (Some(8), Some(2)));
        assert_eq!(root["checks"].as_object().map(Map::len), Some(1), "the grouped check is not in the root");
        // Only the 100 home requests had an expected status (1..=100 ms).
        let expected = &metrics["http_req_duration{expected_response:true}"];
        assert_eq!((&expected["max"], &expected["min"]), (&json!(100.0), &json!(1.0)));
    }

    #[test]
    fn group_ids_are_k6_s() {
        // k6 1.1.0's summary export of `group('g1', () => check(r, { ok }))`.
        assert_eq!(id("::g1"), "9ccb03cc5acd728a2fe595bbd1f14da3");
        assert_eq!(id("::g1::ok"), "a78dc076641b6ca35ffd09a7c2c8ee7d");
    }
}
