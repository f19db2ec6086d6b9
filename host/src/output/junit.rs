//! JUnit XML of a run's verdicts for CI test reporters (Jenkins, GitLab,
//! GitHub actions): one suite of thresholds, one of checks. It reports the
//! outcomes in the [`Report`]; it never judges thresholds itself.

use std::io;
use std::path::Path;

use quick_xml::Writer;
use quick_xml::events::{BytesDecl, BytesText, Event};

use super::Report;
use crate::Error;
use crate::metrics::ThresholdOutcome;

/// One `<testsuite>`.
struct Suite {
    name: &'static str,
    classname: &'static str,
    /// The `type` of its cases' `<failure>`s.
    failure_type: &'static str,
    cases: Vec<Case>,
}

/// One `<testcase>`, with the `<failure>` message when it failed.
struct Case {
    name: String,
    failure: Option<String>,
}

impl Suite {
    fn failures(&self) -> usize {
        self.cases.iter().filter(|case| case.failure.is_some()).count()
    }
}

/// The report's thresholds and checks as a JUnit `<testsuites>` document.
pub fn junit_xml(report: &Report) -> String {
    let suites = [threshold_suite(report), check_suite(report)];
    let xml = write_suites(&suites, report).expect("writing XML into memory cannot fail");
    String::from_utf8(xml).expect("quick-xml writes the UTF-8 strings it is given")
}

/// Writes the JUnit XML to `path`.
pub fn write_junit(report: &Report, path: &Path) -> Result<(), Error> {
    std::fs::write(path, junit_xml(report) + "\n").map_err(|source| Error::Write { path: path.to_path_buf(), source })
}

fn threshold_suite(report: &Report) -> Suite {
    let cases = report
        .thresholds
        .iter()
        .map(|outcome| Case {
            name: format!("{}: {}", outcome.threshold.series_name(), outcome.threshold.expression),
            failure: (!outcome.passed).then(|| threshold_failure(outcome)),
        })
        .collect();
    Suite { name: "thresholds", classname: "vespid.thresholds", failure_type: "threshold", cases }
}

/// `observed p(95)=812.4 (want <500)`, or the note when nothing was observed.
fn threshold_failure(outcome: &ThresholdOutcome) -> String {
    let threshold = &outcome.threshold;
    match outcome.observed {
        // Thousandths are the precision trends are stored at.
        Some(v) => format!(
            "observed {}={} (want {}{})",
            threshold.aggregation,
            (v * 1000.0).round() / 1000.0,
            threshold.comparison,
            threshold.bound
        ),
        None => outcome.note.clone().unwrap_or_default(),
    }
}

fn check_suite(report: &Report) -> Suite {
    let cases = report
        .checks()
        .into_iter()
        .map(|(name, passes, fails)| Case {
            name,
            failure: (fails > 0).then(|| format!("{fails} of {} failed", passes + fails)),
        })
        .collect();
    Suite { name: "checks", classname: "vespid.checks", failure_type: "check", cases }
}

fn write_suites(suites: &[Suite], report: &Report) -> io::Result<Vec<u8>> {
    let mut writer = Writer::new_with_indent(Vec::new(), b' ', 2);
    writer.write_event(Event::Decl(BytesDecl::new("1.0", Some("UTF-8"), None)))?;
    let time = format!("{:.3}", report.elapsed.as_secs_f64());
    let tests = suites.iter().map(|suite| suite.cases.len()).sum::<usize>().to_string();
    let failures = suites.iter().map(Suite::failures).sum::<usize>().to_string();
    writer
        .create_element("testsuites")
        .with_attributes([
            ("name", "vespid"),
            ("tests", tests.as_str()),
            ("failures", failures.as_str()),
            ("errors", "0"),
            ("time", time.as_str()),
        ])
        .write_inner_content(|writer| {
            for suite in suites {
                write_suite(writer, suite, &time)?;
            }
            Ok(())
        })?;
    Ok(writer.into_inner())
}

fn write_suite(writer: &mut Writer<Vec<u8>>, suite: &Suite, time: &str) -> io::Result<()> {
    let (tests, failures) = (suite.cases.len().to_string(), suite.failures().to_string());
    writer
        .create_element("testsuite")
        .with_attributes([
            ("name", suite.name),
            ("tests", tests.as_str()),
            ("failures", failures.as_str()),
            ("errors", "0"),
            ("skipped", "0"),
            ("time", time),
        ])
        .write_inner_content(|writer| {
            for case in &suite.cases {
                let testcase = writer
                    .create_element("testcase")
                    .with_attributes([("name", case.name.as_str()), ("classname", suite.classname)]);
                let Some(message) = &case.failure else {
                    testcase.write_empty()?;
                    continue;
                };
                testcase.write_inner_content(|writer| {
                    // The message also as text: some reporters show only the body.
                    writer
                        .create_element("failure")
                        .with_attributes([("message", message.as_str()), ("type", suite.failure_type)])
                        .write_text_content(BytesText::new(message))?;
                    Ok(())
                })?;
            }
            Ok(())
        })?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn attribute<'a>(node: roxmltree::Node<'a, '_>, name: &str) -> &'a str {
        node.attribute(name).unwrap_or_else(|| panic!("{:?} has no {name}", node.tag_name().name()))
    }

    #[test]
    fn thresholds_and_checks_become_test_suites() {
        let (_sink, report) = crate::output::test_report();
        let xml = junit_xml(&report);
        assert!(xml.contains("(want &lt;500)"), "{xml}");
        let doc = roxmltree::Document::parse(&xml).unwrap_or_else(|e| panic!("{e}:\n{xml}"));

        let root = doc.root_element();
        assert_eq!(root.tag_name().name(), "testsuites");
        assert_eq!((attribute(root, "tests"), attribute(root, "failures")), ("9", "5"));
        let suites: Vec<_> = root.children().filter(|n| n.is_element()).collect();
        let summary: Vec<_> = suites
            .iter()
            .map(|s| {
                assert_eq!(s.tag_name().name(), "testsuite");
                assert_eq!((attribute(*s, "errors"), attribute(*s, "time")), ("0", "10.000"));
                (attribute(*s, "name"), attribute(*s, "tests"), attribute(*s, "failures"))
            })
            .collect();
        assert_eq!(summary, vec![("thresholds", "7", "4"), ("checks", "2", "1")]);

        let cases = |suite: &roxmltree::Node| -> Vec<(String, Option<String>)> {
            suite
                .children()
                .filter(|n| n.has_tag_name("testcase"))
                .map(|case| {
                    let failure = case.children().find(|n| n.has_tag_name("failure")).map(|failure| {
                        assert_eq!(failure.text(), failure.attribute("message"));
                        attribute(failure, "message").to_string()
                    });
                    (attribute(case, "name").to_string(), failure)
                })
                .collect()
        };
        let passed = |name: &str| (name.to_string(), None);
        let failed = |name: &str, message: &str| (name.to_string(), Some(message.to_string()));
        assert_eq!(
            cases(&suites[0]),
            vec![
                passed("http_req_duration: p(90)<500"),
                failed("http_req_duration{name:login}: p(95) < 500", "observed p(95)=500 (want <500)"),
                passed("http_req_duration{name:login}: max<=500"),
                passed("http_req_failed: rate<0.01"),
                failed("http_reqs: count>1000", "observed count=110 (want >1000)"),
                failed("iterations: count>0", "no samples: metric iterations never recorded"),
                failed("never_recorded: count>0", "no samples: metric never_recorded never recorded"),
            ]
        );
        assert_eq!(
            cases(&suites[1]),
            vec![failed("body has <token> & \"quotes\"", "2 of 10 failed"), passed("status is 200")]
        );
        let classnames: Vec<_> =
            root.descendants().filter(|n| n.has_tag_name("testcase")).map(|n| attribute(n, "classname")).collect();
        assert_eq!(classnames, [["vespid.thresholds"; 7].as_slice(), &["vespid.checks"; 2]].concat());
        let types: Vec<_> =
            root.descendants().filter(|n| n.has_tag_name("failure")).map(|n| attribute(n, "type")).collect();
        assert_eq!(types, ["threshold", "threshold", "threshold", "threshold", "check"]);
    }

    #[test]
    fn a_run_without_thresholds_or_checks_has_empty_suites() {
        let (_sink, mut report) = crate::output::test_report();
        report.thresholds.clear();
        report.aggregate = Default::default();
        let xml = junit_xml(&report);
        let doc = roxmltree::Document::parse(&xml).unwrap_or_else(|e| panic!("{e}:\n{xml}"));
        let suites: Vec<_> =
            doc.root_element().children().filter(|n| n.is_element()).map(|s| attribute(s, "tests")).collect();
        assert_eq!(suites, ["0", "0"]);
    }
}
