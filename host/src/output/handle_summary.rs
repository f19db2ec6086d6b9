//! k6's `handleSummary(data)`: the summary a script's own end-of-test
//! function is given, in k6's layout (`root_group` with its checks,
//! `options`, `state`, `metrics`), and the writing of what it returns —
//! `stdout`, `stderr` or a file per key.

use std::io::{IsTerminal, Write};
use std::path::PathBuf;

use serde_json::{Value, json};

use super::Report;
use super::export::{Detail, metrics_object};
use super::export_k6::{Listing, TREND_STATS, root_group};
use crate::Error;
use crate::metrics::Registry;

/// The `data` argument of k6's `handleSummary`.
pub fn handle_summary_data(report: &Report, registry: &Registry) -> Value {
    json!({
        "root_group": root_group(report, Listing::InArrays),
        "options": { "summaryTrendStats": TREND_STATS, "summaryTimeUnit": "", "noColor": false },
        "state": {
            "isStdOutTTY": std::io::stdout().is_terminal(),
            "isStdErrTTY": std::io::stderr().is_terminal(),
            "testRunDurationMs": report.elapsed.as_secs_f64() * 1000.0,
        },
        "metrics": metrics_object(report, registry, Detail::K6),
    })
}

/// Writes what a `handleSummary` returned, in order: `stdout` and `stderr`
/// to those streams, any other key to the file it names (relative to the
/// current directory; its folder must exist). Every entry is attempted;
/// the first failure is returned.
pub fn write_handled(outputs: &[(String, String)]) -> Result<(), Error> {
    let mut first_failure = None;
    for (destination, content) in outputs {
        let written = match destination.as_str() {
            "stdout" => write_stream(&mut std::io::stdout(), destination, content),
            "stderr" => write_stream(&mut std::io::stderr(), destination, content),
            file => std::fs::write(file, content).map_err(|source| Error::Write { path: PathBuf::from(file), source }),
        };
        if let Err(err) = written {
            first_failure.get_or_insert(err);
        }
    }
    first_failure.map_or(Ok(()), Err)
}

fn write_stream(stream: &mut impl Write, name: &str, content: &str) -> Result<(), Error> {
    stream
        .write_all(content.as_bytes())
        .and_then(|()| stream.flush())
        .map_err(|source| Error::Write { path: PathBuf::from(name), source })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_layout_is_k6_s_handle_summary_data() {
        let (sink, report) = crate::output::test_report();
        let data = handle_summary_data(&report, &sink.registry);
        assert_eq!(data["state"]["testRunDurationMs"], json!(10_000.0));
        assert_eq!(data["options"]["summaryTrendStats"], json!(["avg", "min", "med", "max", "p(90)", "p(95)"]));
        let root = &data["root_group"];
        assert_eq!((&root["name"], &root["path"]), (&json!(""), &json!("")));
        let check = root["checks"].as_array().and_then(|checks| checks.iter().find(|c| c["name"] == "status is 200"));
        let check = check.expect("the check is listed");
        assert_eq!(
            (&check["path"], &check["passes"], &check["fails"]),
            (&json!("::status is 200"), &json!(10), &json!(0))
        );
        let auth = &root["groups"][0];
        assert_eq!((&auth["name"], &auth["path"]), (&json!("auth"), &json!("::auth")));
        assert_eq!(auth["checks"][0]["path"], json!("::auth::body has <token> & \"quotes\""));
        let expected = &data["metrics"]["http_req_duration{expected_response:true}"];
        assert_eq!((&expected["type"], &expected["values"]["max"]), (&json!("trend"), &json!(100.0)));

        let duration = &data["metrics"]["http_req_duration"];
        assert_eq!((&duration["type"], &duration["contains"]), (&json!("trend"), &json!("time")));
        let stats: Vec<&str> = duration["values"].as_object().expect("values").keys().map(String::as_str).collect();
        assert_eq!(stats, ["avg", "max", "med", "min", "p(90)", "p(95)"]);
        assert_eq!(duration["thresholds"], json!({ "p(90)<500": { "ok": true } }));
        assert_eq!(data["metrics"]["http_reqs"]["values"], json!({ "count": 110.0, "rate": 11.0 }));
        assert_eq!(data["metrics"]["checks"]["values"], json!({ "rate": 0.9, "passes": 18.0, "fails": 2.0 }));
    }

    #[test]
    fn a_file_in_a_missing_folder_is_one_error_and_the_others_are_written() {
        let dir = tempfile::tempdir().expect("temp dir");
        let (missing, written) = (dir.path().join("no/such/dir/out.json"), dir.path().join("out.txt"));
        let outputs = [(missing.display().to_string(), "{}".into()), (written.display().to_string(), "text".into())];
        let err = write_handled(&outputs).expect_err("the folder does not exist");
        assert!(err.to_string().contains("out.json") && !err.to_string().contains('\n'), "{err}");
        assert_eq!(std::fs::read_to_string(&written).expect("written"), "text");
    }
}
