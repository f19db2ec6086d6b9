//! `--csv PREFIX` (`--out locust-csv=PREFIX`): Locust's end-of-test CSV
//! files, `PREFIX_stats.csv`, `PREFIX_failures.csv` and
//! `PREFIX_exceptions.csv`, with Locust's columns, so the dashboards and
//! scripts that read them keep working. Figures come from the run's HTTP
//! metrics per request name and method; docs/locust.md lists where they
//! differ from Locust's own.

use std::path::{Path, PathBuf};

use super::Report;
use crate::Error;
use crate::metrics::{Agg, MetricSummary, TagSet, names, per_second};

/// Locust's default percentiles, as its column headers write them.
const PERCENTILES: [(f64, &str); 11] = [
    (0.50, "50%"),
    (0.66, "66%"),
    (0.75, "75%"),
    (0.80, "80%"),
    (0.90, "90%"),
    (0.95, "95%"),
    (0.98, "98%"),
    (0.99, "99%"),
    (0.999, "99.9%"),
    (0.9999, "99.99%"),
    (1.0, "100%"),
];

const STATS_COLUMNS: [&str; 11] = [
    "Type",
    "Name",
    "Request Count",
    "Failure Count",
    "Median Response Time",
    "Average Response Time",
    "Min Response Time",
    "Max Response Time",
    "Average Content Size",
    "Requests/s",
    "Failures/s",
];

/// One row of the stats: a request name and method, or all of them.
struct Entry {
    requests: u64,
    failures: u64,
    /// `http_req_duration` (none when no request got an answer).
    durations: Option<MetricSummary>,
    /// Bytes received for its requests (on the wire).
    received: f64,
}

/// Writes the three files next to `prefix` (`out/run` → `out/run_stats.csv`, …).
pub fn write_locust_csv(report: &Report, prefix: &Path) -> Result<(), Error> {
    write_csv(&with_suffix(prefix, "_stats.csv"), stats_rows(report))?;
    write_csv(&with_suffix(prefix, "_failures.csv"), failure_rows(report))?;
    write_csv(&with_suffix(prefix, "_exceptions.csv"), exception_rows(report))
}

fn with_suffix(prefix: &Path, suffix: &str) -> PathBuf {
    let mut name = prefix.as_os_str().to_owned();
    name.push(suffix);
    PathBuf::from(name)
}

fn write_csv(path: &Path, rows: Vec<Vec<String>>) -> Result<(), Error> {
    let failed = |source: std::io::Error| Error::Write { path: path.to_path_buf(), source };
    let mut out = csv::Writer::from_path(path).map_err(|err| failed(err.into()))?;
    for row in rows {
        out.write_record(&row).map_err(|err| failed(err.into()))?;
    }
    out.flush().map_err(failed)
}

/// The header, a row per request (sorted by name, then method, as Locust
/// sorts them) and the "Aggregated" row.
fn stats_rows(report: &Report) -> Vec<Vec<String>> {
    let header = STATS_COLUMNS.iter().copied().chain(PERCENTILES.iter().map(|(_, label)| *label));
    let mut rows = vec![header.map(String::from).collect()];
    let mut keys: Vec<(String, String)> = report
        .aggregate
        .by_tags(names::HTTP_REQS, &["name", "method"])
        .into_iter()
        .map(|(mut values, _)| {
            let method = values.pop().unwrap_or_default();
            (values.pop().unwrap_or_default(), method)
        })
        .collect();
    keys.sort();
    for (name, method) in keys {
        // A series without a method (none in HTTP's) counts as method "".
        let entry = entry(report, |tags| {
            tags.get("name").unwrap_or_default() == name && tags.get("method").unwrap_or_default() == method
        });
        rows.push(stats_row(report, &method, &name, &entry));
    }
    rows.push(stats_row(report, "", "Aggregated", &entry(report, |_| true)));
    rows
}

fn entry(report: &Report, filter: impl Fn(&TagSet) -> bool) -> Entry {
    let aggregate = &report.aggregate;
    let requests = aggregate.summary(names::HTTP_REQS, &filter).map_or(0, |agg| agg.count());
    let failures = match aggregate.summary(names::HTTP_REQ_FAILED, &filter) {
        Some(Agg::Rate { trues, .. }) => trues,
        _ => 0,
    };
    let received = match aggregate.summary(names::DATA_RECEIVED, &filter) {
        Some(Agg::Counter { sum }) => sum,
        _ => 0.0,
    };
    Entry { requests, failures, durations: aggregate.summary(names::HTTP_REQ_DURATION, &filter), received }
}

/// Locust's row: times in milliseconds, the median and percentiles as
/// whole milliseconds (Locust's integers; the summary keeps them exact).
fn stats_row(report: &Report, method: &str, name: &str, entry: &Entry) -> Vec<String> {
    let trend = match &entry.durations {
        Some(Agg::Trend(trend)) if entry.requests > 0 => Some(trend),
        _ => None,
    };
    let time = |value: Option<f64>| value.map_or("0".to_string(), |ms| ms.to_string());
    let whole = |value: f64| (value.round() as u64).to_string();
    let average_size = if entry.requests == 0 { 0.0 } else { entry.received / entry.requests as f64 };
    let mut row = vec![
        method.to_string(),
        name.to_string(),
        entry.requests.to_string(),
        entry.failures.to_string(),
        trend.map_or("0".to_string(), |t| whole(t.quantile(0.5))),
        time(trend.map(|t| t.avg())),
        time(trend.map(|t| t.min())),
        time(trend.map(|t| t.max())),
        average_size.to_string(),
        per_second(entry.requests as f64, report.elapsed).to_string(),
        per_second(entry.failures as f64, report.elapsed).to_string(),
    ];
    row.extend(PERCENTILES.iter().map(|(q, _)| trend.map_or("N/A".to_string(), |t| whole(t.quantile(*q)))));
    row
}

/// Each kind of failure per request name and method: the status it was
/// failed with, or why no answer came. Locust's First/Last Seen are left
/// empty (vespid does not keep them), as Locust leaves them when unknown.
fn failure_rows(report: &Report) -> Vec<Vec<String>> {
    let header = ["Method", "Name", "Error", "Occurrences", "First Seen", "Last Seen"];
    let mut rows = vec![header.map(String::from).to_vec()];
    let by_kind = report.aggregate.by_tags(names::HTTP_REQ_FAILED, &["name", "method", "status", "error"]);
    let mut failures: Vec<_> = by_kind
        .into_iter()
        .filter_map(|(values, agg)| match agg {
            Agg::Rate { trues, .. } if trues > 0 => Some((values, trues)),
            _ => None,
        })
        .collect();
    failures.sort();
    for (values, occurrences) in failures {
        let [name, method, status, error] = <[String; 4]>::try_from(values).unwrap_or_default();
        let why = if error.is_empty() { format!("failed with status {status}") } else { error };
        rows.push(vec![method, name, why, occurrences.to_string(), String::new(), String::new()]);
    }
    rows
}

/// The script errors of the run (an exception in a task, on_start, …), as
/// Locust lists the exceptions its users raised.
fn exception_rows(report: &Report) -> Vec<Vec<String>> {
    let header = ["Count", "Message", "Traceback", "Nodes"];
    let mut rows = vec![header.map(String::from).to_vec()];
    for (message, count) in &report.errors {
        rows.push(vec![count.to_string(), message.clone(), String::new(), "local".to_string()]);
    }
    rows
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::output::test_report;

    fn read(path: &Path) -> Vec<Vec<String>> {
        let mut reader = csv::ReaderBuilder::new().has_headers(false).from_path(path).expect("written");
        reader.records().map(|record| record.expect("a CSV row").iter().map(String::from).collect()).collect()
    }

    #[test]
    fn writes_locust_s_three_files_with_its_columns() {
        let (_sink, report) = test_report();
        let dir = tempfile::tempdir().expect("temp dir");
        let prefix = dir.path().join("run");
        write_locust_csv(&report, &prefix).expect("written");

        let stats = read(&dir.path().join("run_stats.csv"));
        assert_eq!(stats[0][..4], ["Type", "Name", "Request Count", "Failure Count"]);
        assert_eq!(stats[0].last().map(String::as_str), Some("100%"));
        let names: Vec<&str> = stats[1..].iter().map(|row| row[1].as_str()).collect();
        assert_eq!(names, ["home", "login", "Aggregated"]);
        let column = |name: &str| stats[0].iter().position(|c| c == name).expect(name);
        let home = &stats[1];
        assert_eq!(home[column("Request Count")], "100");
        assert_eq!(home[column("Failure Count")], "0");
        assert_eq!(home[column("Min Response Time")], "1");
        assert_eq!(home[column("Max Response Time")], "100");
        assert_eq!(home[column("50%")], "50");
        assert_eq!(home[column("100%")], "100");
        assert_eq!(home[column("Requests/s")], "10");
        let login = &stats[2];
        assert_eq!((login[column("Request Count")].as_str(), login[column("50%")].as_str()), ("10", "500"));
        let all = &stats[3];
        assert_eq!((all[0].as_str(), all[column("Request Count")].as_str()), ("", "110"));
        assert_eq!(all[column("Max Response Time")], "500");

        // The fixture fails no request: the failures file has its header alone
        // (tests/it/python.rs checks failures from a real run).
        let failures = read(&dir.path().join("run_failures.csv"));
        assert_eq!(failures, [["Method", "Name", "Error", "Occurrences", "First Seen", "Last Seen"]]);

        let exceptions = read(&dir.path().join("run_exceptions.csv"));
        assert_eq!(exceptions[0], ["Count", "Message", "Traceback", "Nodes"]);
        assert_eq!(exceptions.len(), 1 + report.errors.len());
    }
}
