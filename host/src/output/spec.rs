//! What `--out KIND=FILE` asks for: the kind of output and its file.
//! Parsing only; it opens no file (validation is in `config`, writing in
//! `stream` and the JUnit writer).

use std::fmt;
use std::path::{Path, PathBuf};

/// One `--out` output.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum OutputSpec {
    /// Every metric point as k6's JSON lines.
    Json(PathBuf),
    /// Every metric point as k6's CSV rows.
    Csv(PathBuf),
    /// The end-of-test checks and thresholds as a JUnit report.
    Junit(PathBuf),
    /// Locust's end-of-test CSV files, named from this prefix (`--csv PREFIX`).
    LocustCsv(PathBuf),
}

impl OutputSpec {
    /// Parses `KIND=FILE`; the error names the value and the kinds there are.
    pub fn parse(text: &str) -> Result<OutputSpec, String> {
        let Some((kind, file)) = text.split_once('=') else {
            return Err(format!("expected KIND=FILE, got {text:?} (kinds: json, csv, junit, locust-csv)"));
        };
        if file.is_empty() {
            return Err(format!("{text:?} names no file; use {kind}=FILE"));
        }
        let path = PathBuf::from(file);
        match kind {
            "json" => Ok(OutputSpec::Json(path)),
            "csv" => Ok(OutputSpec::Csv(path)),
            "junit" => Ok(OutputSpec::Junit(path)),
            "locust-csv" => Ok(OutputSpec::LocustCsv(path)),
            _ => Err(format!(
                "unknown output kind {kind:?} in {text:?}; use json=FILE, csv=FILE, junit=FILE or locust-csv=PREFIX"
            )),
        }
    }

    /// The file the output writes.
    pub fn path(&self) -> &Path {
        match self {
            OutputSpec::Json(path) | OutputSpec::Csv(path) | OutputSpec::Junit(path) | OutputSpec::LocustCsv(path) => {
                path
            }
        }
    }

    /// The same output with a relative file taken relative to `dir` (a run file's directory).
    pub fn relative_to(&self, dir: &Path) -> OutputSpec {
        let path = dir.join(self.path());
        match self {
            OutputSpec::Json(_) => OutputSpec::Json(path),
            OutputSpec::Csv(_) => OutputSpec::Csv(path),
            OutputSpec::Junit(_) => OutputSpec::Junit(path),
            OutputSpec::LocustCsv(_) => OutputSpec::LocustCsv(path),
        }
    }

    /// Whether the output gets every point while the run goes (rather than
    /// a report at the end).
    pub fn is_streamed(&self) -> bool {
        matches!(self, OutputSpec::Json(_) | OutputSpec::Csv(_))
    }

    fn kind(&self) -> &'static str {
        match self {
            OutputSpec::Json(_) => "json",
            OutputSpec::Csv(_) => "csv",
            OutputSpec::Junit(_) => "junit",
            OutputSpec::LocustCsv(_) => "locust-csv",
        }
    }
}

/// As given on the command line: `json=results.json`.
impl fmt::Display for OutputSpec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}={}", self.kind(), self.path().display())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kinds_and_files_parse() {
        assert_eq!(OutputSpec::parse("json=out/a.json"), Ok(OutputSpec::Json("out/a.json".into())));
        assert_eq!(OutputSpec::parse("csv=b.csv"), Ok(OutputSpec::Csv("b.csv".into())));
        assert_eq!(OutputSpec::parse("junit=c.xml"), Ok(OutputSpec::Junit("c.xml".into())));
        // Only the first '=' separates: file names may hold one.
        assert_eq!(OutputSpec::parse("json=a=b.json"), Ok(OutputSpec::Json("a=b.json".into())));
        assert_eq!(OutputSpec::Csv("b.csv".into()).to_string(), "csv=b.csv");
    }

    #[test]
    fn bad_values_are_named_in_one_line() {
        for (bad, says) in [
            ("xml=foo", "unknown output kind \"xml\""),
            ("json", "expected KIND=FILE"),
            ("json=", "names no file"),
            ("=foo", "unknown output kind \"\""),
        ] {
            let err = OutputSpec::parse(bad).unwrap_err();
            assert!(err.contains(says) && err.contains(&format!("{bad:?}")), "{bad}: {err}");
            assert!(!err.contains('\n'), "{err}");
        }
    }
}
