//! The end-of-test summary as text, laid out like k6's: checks, then every
//! metric with dotted leaders, then the errors seen with their counts.

use std::fmt::Write;

use super::Report;
use crate::metrics::{Agg, Registry, Unit, per_second};

/// Renders the summary for a terminal.
pub fn render_summary(report: &Report, registry: &Registry) -> String {
    let mut out = String::new();
    let secs = report.elapsed.as_secs_f64();
    let _ = writeln!(
        out,
        "\n  scenario: {} ({}, max {} VUs), ran for {:.1}s\n",
        report.scenario, report.executor, report.vus_max, secs
    );
    let _ = writeln!(
        out,
        "  {} VUs instantiated and initialised in {:.0}ms\n",
        report.vus_max,
        report.vus_ready.as_secs_f64() * 1000.0
    );
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
    }
    if !report.errors.is_empty() {
        let _ = writeln!(out, "\n  errors:");
        for (message, count) in &report.errors {
            let _ = writeln!(out, "     {count:>8} × {message}");
        }
    }
    out
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
}
