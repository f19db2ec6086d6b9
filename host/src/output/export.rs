//! `--summary-export`: the end-of-test aggregates as JSON, in the schema
//! documented in docs/summary-export.md (k6's `metrics` layout: every
//! metric with its `type`, `contains` and `values`, plus each threshold's
//! verdict on the metric or submetric it judged). The `metrics` object is
//! also the one of k6's handleSummary data.

use std::path::Path;

use serde_json::{Map, Value, json};

use super::Report;
use super::export_k6::k6_shows;
use crate::Error;
use crate::bindings::WIT_VERSION;
use crate::metrics::{MetricKind, Registry, Threshold, Unit};

/// The summary export document.
pub fn export_json(report: &Report, registry: &Registry) -> Value {
    let checks: Vec<Value> = report
        .checks()
        .into_iter()
        .map(|(name, passes, fails)| json!({ "name": name, "passes": passes, "fails": fails }))
        .collect();
    let counted = |lines: &[(String, u64)]| -> Vec<Value> {
        lines.iter().map(|(message, count)| json!({ "message": message, "count": count })).collect()
    };
    json!({
        "vespid": { "version": env!("CARGO_PKG_VERSION"), "wit": WIT_VERSION.to_string() },
        "scenarios": report.scenarios.iter().map(|s| json!({
            "name": s.name, "executor": s.executor, "description": s.description, "vus_max": s.vus_max,
            "permissions": s.grants.iter().map(|(kind, granted)| (kind.to_string(), json!(granted))).collect::<Map<String, Value>>(),
        })).collect::<Vec<Value>>(),
        "segment": report.segment.to_string(),
        "vus_max": report.vus_max,
        "test_run_duration_ms": report.elapsed.as_secs_f64() * 1000.0,
        "vus_ready_ms": report.vus_ready.as_secs_f64() * 1000.0,
        "metrics": metrics_object(report, registry, Detail::Vespid),
        "checks": checks,
        "errors": counted(&report.errors),
        "denials": counted(&report.denials),
        "plugin_versions": report.versions,
        "changes": report.changes,
    })
}

/// How much the `metrics` object holds: Vespid's export adds each trend's
/// `count` and `p(99)` and each threshold's observed value; k6's
/// handleSummary data has its default summaryTrendStats and `ok` only.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Detail {
    Vespid,
    K6,
}

/// k6's handleSummary `metrics` object: every metric with samples, and each
/// threshold's verdict on the metric or submetric it judged.
pub(super) fn metrics_object(report: &Report, registry: &Registry, detail: Detail) -> Map<String, Value> {
    let mut metrics = Map::new();
    for line in report.metric_lines(registry) {
        let entry = metric_entry(line.summary.kind(), line.unit, line.summary.values(report.elapsed), detail);
        metrics.insert(line.name, entry);
    }
    for outcome in &report.thresholds {
        let threshold = &outcome.threshold;
        let entry =
            metrics.entry(threshold.series_name()).or_insert_with(|| series_entry(threshold, report, registry, detail));
        let mut verdict = json!({ "ok": outcome.passed });
        if detail == Detail::Vespid {
            verdict["observed"] = json!(outcome.observed);
            if let Some(note) = &outcome.note {
                verdict["note"] = json!(note);
            }
        }
        // Indexing a missing key of an object inserts it.
        entry["thresholds"][threshold.expression.as_str()] = verdict;
    }
    if let Some((name, agg)) = super::export_k6::expected_durations(report) {
        let entry = || metric_entry(agg.kind(), Unit::Time, agg.values(report.elapsed), detail);
        metrics.entry(name).or_insert_with(entry);
    }
    metrics
}

/// One metric's entry: k6's `type`, `contains` and `values`.
fn metric_entry(kind: MetricKind, unit: Unit, values: Vec<(&str, f64)>, detail: Detail) -> Value {
    let values: Map<String, Value> = values
        .into_iter()
        .filter(|(key, _)| detail == Detail::Vespid || k6_shows(kind, key))
        .map(|(k, v)| (k.to_string(), json!(v)))
        .collect();
    json!({ "type": kind.as_str(), "contains": unit.as_str(), "values": values })
}

/// The entry of a threshold's series that is not a whole metric with
/// samples: a submetric, or a metric that got none (empty `values`, and no
/// `type` or `contains` when it was never registered).
fn series_entry(threshold: &Threshold, report: &Report, registry: &Registry, detail: Detail) -> Value {
    let Some(id) = registry.lookup(&threshold.metric) else {
        return json!({ "values": {} });
    };
    let (_, unit) = registry.describe(id);
    let values = threshold.series(&report.aggregate, registry).map(|agg| agg.values(report.elapsed));
    metric_entry(id.kind(), unit, values.unwrap_or_default(), detail)
}

/// The layout of the summary export.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ExportFormat {
    /// Vespid's: k6's handleSummary `metrics` layout plus the run's scenarios and errors.
    #[default]
    Vespid,
    /// k6's `--summary-export` layout.
    K6,
}

impl std::str::FromStr for ExportFormat {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, String> {
        match text {
            "vespid" => Ok(ExportFormat::Vespid),
            "k6" => Ok(ExportFormat::K6),
            other => Err(format!("unknown summary export format {other:?}; use vespid or k6")),
        }
    }
}

/// Writes the export to `path` in `format`.
pub fn write_export(report: &Report, registry: &Registry, path: &Path, format: ExportFormat) -> Result<(), Error> {
    let document = match format {
        ExportFormat::Vespid => export_json(report, registry),
        ExportFormat::K6 => super::export_k6::export_k6_json(report, registry),
    };
    let text = serde_json::to_string_pretty(&document).expect("JSON values always serialise");
    std::fs::write(path, text + "\n").map_err(|source| Error::Write { path: path.to_path_buf(), source })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn thresholds_sit_on_their_metric_or_submetric() {
        let (sink, report) = crate::output::test_report();
        let doc = export_json(&report, &sink.registry);
        let metrics = &doc["metrics"];

        let duration = &metrics["http_req_duration"];
        assert_eq!(duration["thresholds"]["p(90)<500"]["ok"], json!(true));
        assert_eq!(duration["thresholds"]["p(90)<500"]["observed"], duration["values"]["p(90)"]);
        assert_eq!(metrics["checks"].get("thresholds"), None);

        let login = &metrics["http_req_duration{name:login}"];
        assert_eq!((&login["type"], &login["contains"]), (&json!("trend"), &json!("time")));
        assert_eq!(login["values"]["count"], json!(10.0));
        assert_eq!(
            login["thresholds"],
            json!({
                "p(95) < 500": { "ok": false, "observed": 500.0 },
                "max<=500": { "ok": true, "observed": 500.0 },
            })
        );

        let no_samples = |metric: &str| json!({ "ok": false, "observed": null, "note": format!("no samples: metric {metric} never recorded") });
        assert_eq!(
            metrics["iterations"],
            json!({ "type": "counter", "contains": "default", "values": {}, "thresholds": { "count>0": no_samples("iterations") } })
        );
        assert_eq!(
            metrics["never_recorded"],
            json!({ "values": {}, "thresholds": { "count>0": no_samples("never_recorded") } })
        );
    }
}
