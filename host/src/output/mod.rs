//! What a run shows and writes: the live progress line, the end-of-test
//! summary (text, like k6's), the summary export (JSON) and the `--out`
//! outputs that stream every point. It reads the aggregate and drained
//! points; it never records samples.

mod export;
mod progress;
mod spec;
mod stream;
mod summary;

use std::time::Duration;

pub use export::{export_json, write_export};
pub use progress::{Goal, Progress};
pub use spec::OutputSpec;
pub use stream::PointStream;
pub use summary::render_summary;

use crate::exec::Segment;
use crate::metrics::{Aggregate, MetricId, MetricSummary, Registry, TagSet, Unit, names};

/// Everything the outputs need once a run has ended.
pub struct Report {
    pub scenarios: Vec<ScenarioReport>,
    /// The share of the test this process ran.
    pub segment: Segment,
    /// The most VUs of all scenarios together.
    pub vus_max: u32,
    /// From the first iteration to the end, graceful stop included.
    pub elapsed: Duration,
    pub aggregate: Aggregate,
    pub errors: Vec<(String, u64)>,
    /// Time to instantiate and initialise the VUs of the init phase, before the clock started.
    pub vus_ready: Duration,
    /// VUs of the init phase (arrival-rate executors add more while they run).
    pub vus_initialised: u32,
}

/// One scenario as it ran.
pub struct ScenarioReport {
    pub name: String,
    pub executor: &'static str,
    /// The executor's options in one line.
    pub description: String,
    /// The scenario's VUs in this segment.
    pub vus_max: u32,
}

/// One metric of the report, merged over all its series.
pub struct MetricLine {
    pub name: String,
    pub unit: Unit,
    pub summary: MetricSummary,
}

impl Report {
    /// Every metric with samples, sorted by name (as k6 prints them).
    pub fn metric_lines(&self, registry: &Registry) -> Vec<MetricLine> {
        let mut lines: Vec<MetricLine> = self
            .aggregate
            .metrics()
            .into_iter()
            .filter_map(|id: MetricId| {
                let summary = self.aggregate.summary(id, |_: &TagSet| true)?;
                let (name, unit) = registry.describe(id);
                Some(MetricLine { name, unit, summary })
            })
            .collect();
        lines.sort_by(|a, b| a.name.cmp(&b.name));
        lines
    }

    /// Each check by name with its passes and fails.
    pub fn checks(&self) -> Vec<(String, u64, u64)> {
        self.aggregate
            .by_tag(names::CHECKS, names::CHECK_TAG)
            .into_iter()
            .map(|(name, agg)| match agg {
                crate::metrics::Agg::Rate { trues, total } => (name, trues, total - trues),
                _ => (name, 0, 0),
            })
            .collect()
    }
}
