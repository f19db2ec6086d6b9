//! `--summary-export`: the end-of-test aggregates as JSON, in the schema
//! documented in docs/summary-export.md (k6's `metrics` layout: every
//! metric with its `type`, `contains` and `values`).

use std::path::Path;

use serde_json::{Map, Value, json};

use super::Report;
use crate::Error;
use crate::bindings::WIT_VERSION;
use crate::metrics::Registry;

/// The summary export document.
pub fn export_json(report: &Report, registry: &Registry) -> Value {
    let mut metrics = Map::new();
    for line in report.metric_lines(registry) {
        let values: Map<String, Value> =
            line.summary.values(report.elapsed).into_iter().map(|(k, v)| (k.to_string(), json!(v))).collect();
        let kind = match line.summary {
            crate::metrics::Agg::Counter { .. } => "counter",
            crate::metrics::Agg::Gauge { .. } => "gauge",
            crate::metrics::Agg::Trend(_) => "trend",
            crate::metrics::Agg::Rate { .. } => "rate",
        };
        metrics.insert(line.name, json!({ "type": kind, "contains": line.unit.as_str(), "values": values }));
    }
    let checks: Vec<Value> = report
        .checks()
        .into_iter()
        .map(|(name, passes, fails)| json!({ "name": name, "passes": passes, "fails": fails }))
        .collect();
    let errors: Vec<Value> =
        report.errors.iter().map(|(message, count)| json!({ "message": message, "count": count })).collect();
    json!({
        "vespid": { "version": env!("CARGO_PKG_VERSION"), "wit": WIT_VERSION },
        "scenarios": report.scenarios.iter().map(|s| json!({
            "name": s.name, "executor": s.executor, "description": s.description, "vus_max": s.vus_max,
        })).collect::<Vec<Value>>(),
        "segment": report.segment.to_string(),
        "vus_max": report.vus_max,
        "test_run_duration_ms": report.elapsed.as_secs_f64() * 1000.0,
        "vus_ready_ms": report.vus_ready.as_secs_f64() * 1000.0,
        "metrics": metrics,
        "checks": checks,
        "errors": errors,
    })
}

/// Writes the export to `path`.
pub fn write_export(report: &Report, registry: &Registry, path: &Path) -> Result<(), Error> {
    let text = serde_json::to_string_pretty(&export_json(report, registry)).expect("JSON values always serialise");
    std::fs::write(path, text + "\n").map_err(|source| Error::Write { path: path.to_path_buf(), source })
}
