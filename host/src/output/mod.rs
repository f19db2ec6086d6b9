//! What a run shows and writes: the live progress line, the end-of-test
//! summary (text, like k6's), the summary export (JSON), JUnit XML of the
//! thresholds and checks, Locust's CSV files, the `--out` outputs that
//! stream every point, and
//! k6's handleSummary data and the files a script writes from it.
//! It reads the aggregate and drained points; it never records samples.

mod changes;
mod export;
mod export_k6;
mod handle_summary;
mod junit;
mod locust_csv;
mod progress;
mod spec;
mod stream;
mod summary;

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

pub use changes::{Action, Change, ChangeLog, VersionRun};
pub use export::{ExportFormat, export_json};
pub use export_k6::export_k6_json;
pub use handle_summary::{handle_summary_data, write_handled};
pub use junit::junit_xml;
pub use progress::{Goal, Progress};
pub use spec::OutputSpec;
pub use summary::render_summary;

use self::export::write_export;
use self::junit::write_junit;
use self::locust_csv::write_locust_csv;
pub use self::stream::PointSender;
use self::stream::PointStream;
use crate::Error;
use crate::exec::Segment;
use crate::metrics::{Aggregate, MetricId, MetricSummary, Registry, Sink, TagSet, ThresholdOutcome, Unit, names};

/// Every output of a run, from the points streamed while it goes to the
/// summary and the files written at its end.
pub struct Outputs {
    stream: PointStream,
    summary_export: Option<(PathBuf, ExportFormat)>,
    /// The outputs written once, from the report (JUnit, Locust's CSV).
    at_end: Vec<OutputSpec>,
}

impl Outputs {
    /// Opens the streamed outputs' files and starts their writer; `sink`
    /// names the metrics of the points.
    pub fn start(
        specs: &[OutputSpec],
        summary_export: Option<(PathBuf, ExportFormat)>,
        sink: Arc<Sink>,
    ) -> Result<Outputs, Error> {
        let at_end = specs.iter().filter(|spec| !spec.is_streamed()).cloned().collect();
        Ok(Outputs { stream: PointStream::start(specs, sink)?, summary_export, at_end })
    }

    /// Where drained batches of points go for the streamed outputs.
    pub fn points(&self) -> PointSender {
        self.stream.sender()
    }

    /// Prints the summary (unless a script's handleSummary replaces it:
    /// `text_summary` false), then writes the export, the JUnit and
    /// Locust CSV files and closes the streamed outputs. Every output is attempted; the
    /// first failure is returned.
    pub fn finish(self, report: &Report, registry: &Registry, text_summary: bool) -> Result<(), Error> {
        if text_summary {
            print!("{}", render_summary(report, registry));
        }
        let mut results = Vec::new();
        if let Some((path, format)) = &self.summary_export {
            results.push(write_export(report, registry, path, *format));
        }
        for spec in &self.at_end {
            match spec {
                OutputSpec::Junit(path) => results.push(write_junit(report, path)),
                OutputSpec::LocustCsv(prefix) => results.push(write_locust_csv(report, prefix)),
                OutputSpec::Json(_) | OutputSpec::Csv(_) => {}
            }
        }
        results.push(self.stream.finish());
        results.into_iter().collect()
    }
}

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
    /// Calls refused for want of a permission, by distinct message.
    pub denials: Vec<(String, u64)>,
    /// Time to instantiate and initialise the VUs of the init phase, before the clock started.
    pub vus_ready: Duration,
    /// VUs of the init phase (arrival-rate executors add more while they run).
    pub vus_initialised: u32,
    /// Each threshold's verdict, in the order they were configured.
    pub thresholds: Vec<ThresholdOutcome>,
    /// The plugin versions each scenario ran (iterations filled in by `Outputs::finish`).
    pub versions: Vec<VersionRun>,
    /// What was changed while the run went (reloads, pauses, scaling).
    pub changes: Vec<Change>,
    /// Why the run stopped before its end, when a plugin aborted the test
    /// or an abortOnFail threshold failed, in one line.
    pub aborted: Option<String>,
}

/// One scenario as it ran.
pub struct ScenarioReport {
    pub name: String,
    pub executor: &'static str,
    /// The executor's options in one line.
    pub description: String,
    /// The scenario's VUs in this segment.
    pub vus_max: u32,
    /// Each kind of grant and what it allows (`None`: not confined).
    pub grants: Vec<(&'static str, Option<Vec<String>>)>,
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
            .map(|(name, agg)| {
                let (passes, fails) = rate_counts(&agg);
                (name, passes, fails)
            })
            .collect()
    }

    /// Each check by the group it ran in (k6's group path, "" outside
    /// any group): (group, check, passes, fails).
    pub fn checks_in_groups(&self) -> Vec<(String, String, u64, u64)> {
        self.aggregate
            .by_tags(names::CHECKS, &[names::CHECK_TAG, names::GROUP_TAG])
            .into_iter()
            .map(|(mut keys, agg)| {
                let group = keys.pop().unwrap_or_default();
                let (passes, fails) = rate_counts(&agg);
                (group, keys.pop().unwrap_or_default(), passes, fails)
            })
            .collect()
    }
}

/// A rate's true and false sample counts.
fn rate_counts(agg: &crate::metrics::Agg) -> (u64, u64) {
    match agg {
        crate::metrics::Agg::Rate { trues, total } => (*trues, total - trues),
        _ => (0, 0),
    }
}

/// A finished run to render in tests: requests named `home` (100, 1..=100
/// ms) and `login` (10, 500 ms), two checks (one failing twice), over 10 s,
/// with thresholds that pass, fail, and find no samples.
#[cfg(test)]
pub(crate) fn test_report() -> (crate::metrics::Sink, Report) {
    use crate::metrics::{Sample, Sink, Threshold, evaluate};

    let sink = Sink::new();
    let record = |tags: &TagSet, samples: &[Sample]| sink.record(0, tags, tags, samples);
    // Every login is answered with an unexpected status.
    for (name, durations) in [("home", (1..=100).map(f64::from).collect::<Vec<_>>()), ("login", vec![500.0; 10])] {
        let expected = if name == "home" { "true" } else { "false" };
        let tags = TagSet::new([("name", name), ("scenario", "default"), ("expected_response", expected)]);
        for ms in durations {
            record(
                &tags,
                &[
                    Sample::new(names::HTTP_REQS, 1.0),
                    Sample::new(names::HTTP_REQ_DURATION, ms),
                    Sample::flag(names::HTTP_REQ_FAILED, false),
                ],
            );
        }
    }
    // The second check runs in group "auth".
    for (check, passes, fails) in [("status is 200", 10, 0), ("body has <token> & \"quotes\"", 8, 2)] {
        let mut tags = TagSet::new([(names::CHECK_TAG, check), ("scenario", "default")]);
        if fails > 0 {
            tags = TagSet::new([(names::CHECK_TAG, check), ("scenario", "default"), (names::GROUP_TAG, "::auth")]);
        }
        for ok in std::iter::repeat_n(true, passes).chain(std::iter::repeat_n(false, fails)) {
            record(&tags, &[Sample::flag(names::CHECKS, ok)]);
        }
    }
    let mut aggregate = Aggregate::default();
    sink.drain_into(&mut aggregate);

    let elapsed = Duration::from_secs(10);
    let thresholds: Vec<Threshold> = [
        ("http_req_duration", "p(90)<500"),
        ("http_req_duration{name:login}", "p(95) < 500"),
        ("http_req_duration{name:login}", "max<=500"),
        ("http_req_failed", "rate<0.01"),
        ("http_reqs", "count>1000"),
        ("iterations", "count>0"),
        ("never_recorded", "count>0"),
    ]
    .into_iter()
    .map(|(key, expression)| Threshold::parse(key, expression).expect("valid threshold"))
    .collect();
    let outcomes = evaluate(&thresholds, &aggregate, &sink.registry, elapsed);
    let report = Report {
        scenarios: vec![ScenarioReport {
            name: "fixture".to_string(),
            executor: "constant-vus",
            description: "2 looping VUs for 10s".to_string(),
            vus_max: 2,
            grants: crate::caps::grants::Grants::default().describe(),
        }],
        segment: Segment::WHOLE,
        vus_max: 2,
        elapsed,
        aggregate,
        errors: Vec::new(),
        denials: Vec::new(),
        versions: Vec::new(),
        changes: Vec::new(),
        vus_ready: Duration::from_millis(3),
        vus_initialised: 2,
        thresholds: outcomes,
        aborted: None,
    };
    (sink, report)
}
