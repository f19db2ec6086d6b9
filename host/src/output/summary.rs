//! The end-of-test summary as text, laid out like k6's (plus the plugin
//! versions and changes of a run changed while it went): thresholds, checks,
//! then every metric with dotted leaders, then the errors seen with their
//! counts.

use std::fmt::Write;

use super::Report;
use crate::exec::Segment;
use crate::metrics::{Agg, Aggregation, MetricKind, Registry, Threshold, ThresholdOutcome, Unit, per_second};

/// Renders the summary for a terminal.
pub fn render_summary(report: &Report, registry: &Registry) -> String {
    let mut out = String::new();
    let secs = report.elapsed.as_secs_f64();
    let segment =
        if report.segment == Segment::WHOLE { String::new() } else { format!(", segment {}", report.segment) };
    let _ = writeln!(
        out,
        "\n  scenarios: {} (max {} VUs{segment}), ran for {secs:.1}s",
        report.scenarios.len(),
        report.vus_max
    );
    for scenario in &report.scenarios {
        let _ = writeln!(out, "  * {}: {} ({})", scenario.name, scenario.description, scenario.executor);
    }
    if let Some(aborted) = &report.aborted {
        let _ = writeln!(out, "  {aborted}");
    }
    render_permissions(&mut out, report);
    render_changes(&mut out, report);
    out.push('\n');
    let _ = writeln!(
        out,
        "  {} VUs instantiated and initialised in {:.0}ms\n",
        report.vus_initialised,
        report.vus_ready.as_secs_f64() * 1000.0
    );
    render_thresholds(&mut out, report, registry);
    let checks = report.checks();
    if !checks.is_empty() {
        for (name, passes, fails) in &checks {
            let mark = if *fails == 0 { '✓' } else { '✗' };
            let _ = writeln!(out, "     {mark} {name}  ({passes} passed, {fails} failed)");
        }
        out.push('\n');
    }
    for line in report.metric_lines(registry) {
        let dots = ".".repeat(32usize.saturating_sub(line.name.len()));
        let _ = writeln!(out, "     {}{}: {}", line.name, dots, describe(&line.summary, line.unit, report));
        // As k6 shows it: the durations of the responses with an expected status.
        if line.name == "http_req_duration"
            && let Some((_, expected)) = super::export_k6::expected_durations(report)
        {
            let label = "  { expected_response:true }";
            let dots = ".".repeat(32usize.saturating_sub(label.len()));
            let _ = writeln!(out, "     {label}{dots}: {}", describe(&expected, line.unit, report));
        }
    }
    for (title, lines) in [("errors", &report.errors), ("denied", &report.denials)] {
        if !lines.is_empty() {
            let _ = writeln!(out, "\n  {title}:");
            for (message, count) in lines {
                let _ = writeln!(out, "     {count:>8} × {message}");
            }
        }
    }
    out
}

/// What each scenario's plugin was granted; one line when nothing was confined.
fn render_permissions(out: &mut String, report: &Report) {
    let confined = |s: &&super::ScenarioReport| s.grants.iter().any(|(_, granted)| granted.is_some());
    if !report.scenarios.iter().any(|s| confined(&s)) {
        let _ = writeln!(
            out,
            "  permissions: not confined (any host, env key, data set and datasource; confine with --allow-host or [permissions])"
        );
        return;
    }
    let _ = writeln!(out, "  permissions:");
    for scenario in &report.scenarios {
        let kinds: Vec<String> = scenario
            .grants
            .iter()
            .map(|(kind, granted)| match granted {
                None => format!("{kind} not confined"),
                Some(list) if list.is_empty() => format!("{kind} none"),
                Some(list) => format!("{kind} {}", list.join(", ")),
            })
            .collect();
        let _ = writeln!(out, "  * {}: {}", scenario.name, kinds.join("; "));
    }
}

/// The plugin versions, when any scenario ran more than one, and every
/// change made while the run went: what produced the figures below.
fn render_changes(out: &mut String, report: &Report) {
    let reloaded = report.versions.iter().any(|v| v.source != "start");
    if reloaded {
        let _ = writeln!(out, "\n  plugin versions:");
        for v in &report.versions {
            let _ = writeln!(
                out,
                "  * {}: {} {} from +{:.1}s ({}), {} iterations",
                v.scenario,
                v.plugin,
                v.version,
                v.since.as_secs_f64(),
                v.source,
                v.iterations
            );
        }
    }
    if !report.changes.is_empty() {
        let _ = writeln!(out, "\n  changes during the run:");
        for change in &report.changes {
            let _ = writeln!(out, "  * {}", change.line());
        }
    }
}

/// k6's THRESHOLDS block: each series once, its expressions under it with
/// ✓ or ✗ and the value observed (or why there is none).
fn render_thresholds(out: &mut String, report: &Report, registry: &Registry) {
    if report.thresholds.is_empty() {
        return;
    }
    let mut by_series: Vec<(String, Vec<&ThresholdOutcome>)> = Vec::new();
    for outcome in &report.thresholds {
        let series = outcome.threshold.series_name();
        match by_series.iter_mut().find(|(name, _)| *name == series) {
            Some((_, outcomes)) => outcomes.push(outcome),
            None => by_series.push((series, vec![outcome])),
        }
    }
    let _ = writeln!(out, "  THRESHOLDS\n");
    for (series, outcomes) in by_series {
        let _ = writeln!(out, "     {series}");
        for outcome in outcomes {
            let mark = if outcome.passed { '✓' } else { '✗' };
            let threshold = &outcome.threshold;
            let result = match outcome.observed {
                Some(v) => format!("{}={}", threshold.aggregation, observed_value(threshold, v, registry)),
                None => outcome.note.clone().unwrap_or_default(),
            };
            let _ = writeln!(out, "     {mark} '{}' {result}", threshold.expression);
        }
        out.push('\n');
    }
}

/// A threshold's observed value in its metric's unit, as k6 shows it:
/// rates of rate metrics in percent, counter rates per second, counts bare.
fn observed_value(threshold: &Threshold, v: f64, registry: &Registry) -> String {
    let Some(id) = registry.lookup(&threshold.metric) else {
        return format!("{v}");
    };
    let (_, unit) = registry.describe(id);
    match (threshold.aggregation, id.kind()) {
        (Aggregation::Rate, MetricKind::Rate) => format!("{:.2}%", v * 100.0),
        (Aggregation::Rate, _) => format!("{}/s", value(v, unit)),
        (Aggregation::Count, _) if unit != Unit::Data => format!("{v}"),
        _ => value(v, unit),
    }
}

fn describe(agg: &Agg, unit: Unit, report: &Report) -> String {
    let per_sec = |v: f64| per_second(v, report.elapsed);
    match agg {
        Agg::Counter { sum } => match unit {
            Unit::Data => format!("{:<10} {}/s", bytes(*sum), bytes(per_sec(*sum))),
            _ => format!("{:<10} {:.2}/s", sum, per_sec(*sum)),
        },
        Agg::Gauge { value, min, max, .. } => format!("{value:<10} min={min} max={max}"),
        Agg::Trend(t) => {
            let f = |v: f64| value(v, unit);
            format!(
                "avg={} min={} med={} max={} p(90)={} p(95)={} p(99)={}",
                f(t.avg()),
                f(t.min()),
                f(t.quantile(0.5)),
                f(t.max()),
                f(t.quantile(0.90)),
                f(t.quantile(0.95)),
                f(t.quantile(0.99))
            )
        }
        Agg::Rate { trues, total } => {
            format!("{:.2}%  {} out of {}", agg.rate() * 100.0, trues, total)
        }
    }
}

fn value(v: f64, unit: Unit) -> String {
    match unit {
        Unit::Time if v >= 1000.0 => format!("{:.2}s", v / 1000.0),
        Unit::Time if v >= 1.0 => format!("{v:.2}ms"),
        Unit::Time => format!("{:.0}µs", v * 1000.0),
        Unit::Data => bytes(v),
        Unit::Plain => format!("{v:.2}"),
    }
}

fn bytes(v: f64) -> String {
    const UNITS: [&str; 5] = ["B", "kB", "MB", "GB", "TB"];
    let mut v = v;
    let mut unit = 0;
    while v >= 1000.0 && unit < UNITS.len() - 1 {
        v /= 1000.0;
        unit += 1;
    }
    if unit == 0 { format!("{v:.0} B") } else { format!("{v:.1} {}", UNITS[unit]) }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn units_read_like_k6() {
        assert_eq!(value(0.25, Unit::Time), "250µs");
        assert_eq!(value(12.345, Unit::Time), "12.35ms");
        assert_eq!(value(2500.0, Unit::Time), "2.50s");
        assert_eq!(bytes(999.0), "999 B");
        assert_eq!(bytes(25_300.0), "25.3 kB");
    }

    #[test]
    fn thresholds_come_first_grouped_by_series() {
        let (sink, report) = crate::output::test_report();
        let text = render_summary(&report, &sink.registry);
        let block = "  THRESHOLDS\n\n\
            \x20    http_req_duration\n\
            \x20    ✓ 'p(90)<500' p(90)=99.01ms\n\n\
            \x20    http_req_duration{name:login}\n\
            \x20    ✗ 'p(95) < 500' p(95)=500.00ms\n\
            \x20    ✓ 'max<=500' max=500.00ms\n\n\
            \x20    http_req_failed\n\
            \x20    ✓ 'rate<0.01' rate=0.00%\n\n\
            \x20    http_reqs\n\
            \x20    ✗ 'count>1000' count=110\n\n\
            \x20    iterations\n\
            \x20    ✗ 'count>0' no samples: metric iterations never recorded\n\n\
            \x20    never_recorded\n\
            \x20    ✗ 'count>0' no samples: metric never_recorded never recorded\n\n";
        let at = text.find(block).unwrap_or_else(|| panic!("no thresholds block in:\n{text}"));
        assert!(at < text.find("status is 200").expect("checks") && at < text.find("http_reqs....").expect("metrics"));
    }

    #[test]
    fn the_expected_responses_durations_follow_http_req_duration_as_in_k6() {
        let (sink, report) = crate::output::test_report();
        let text = render_summary(&report, &sink.registry);
        let all = text.lines().position(|l| l.trim_start().starts_with("http_req_duration..")).expect("the metric");
        let next = text.lines().nth(all + 1).expect("a line after it");
        // Only the home requests (1..=100 ms) had an expected status.
        assert!(
            next.starts_with("       { expected_response:true }....: avg=50.50ms min=1.00ms med=50.02ms max=100.00ms"),
            "{next}"
        );
    }
}
