//! The WIT `data` interface and the data sets behind it: CSV and JSON lines
//! files loaded once per run, each into one compact buffer shared read-only
//! by every VU. It must not copy a set per VU, change a set once loaded, or
//! touch the filesystem after the run has started.

use std::collections::{HashMap, HashSet};
use std::fmt;
use std::fs::File;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use serde::de::IgnoredAny;

use crate::bindings::data::{self as wit, Host, Row};

use super::VuState;

/// How a data file is written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DataFormat {
    /// RFC 4180 CSV; the first row names the columns.
    Csv,
    /// One JSON value per line (JSON lines, NDJSON); blank lines are skipped.
    JsonLines,
}

impl DataFormat {
    /// The format named by the file's extension: `.csv`, `.jsonl` or `.ndjson`.
    pub fn from_extension(path: &Path) -> Option<DataFormat> {
        let extension = path.extension()?.to_str()?.to_ascii_lowercase();
        match extension.as_str() {
            "csv" => Some(DataFormat::Csv),
            "jsonl" | "ndjson" => Some(DataFormat::JsonLines),
            _ => None,
        }
    }
}

/// A data set the run declares: its name for plugins and its file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DataSource {
    pub name: String,
    pub path: PathBuf,
    pub format: DataFormat,
}

impl DataSource {
    /// A source read as `format`, or as its extension says when `None`.
    /// Checks that the file exists; its content is checked by [`DataSets::load`].
    pub fn new(name: String, path: PathBuf, format: Option<DataFormat>) -> Result<DataSource, DataError> {
        if !path.is_file() {
            return Err(DataError::Missing { path });
        }
        match format.or_else(|| DataFormat::from_extension(&path)) {
            Some(format) => Ok(DataSource { name, path, format }),
            None => Err(DataError::UnknownFormat { path }),
        }
    }
}

/// Why a data set could not be loaded; each names the file (and the line).
#[derive(Debug, thiserror::Error)]
pub enum DataError {
    #[error("data file {path:?} does not exist")]
    Missing { path: PathBuf },
    #[error("cannot tell the format of data file {path:?}: name it .csv, .jsonl or .ndjson")]
    UnknownFormat { path: PathBuf },
    #[error("cannot read data file {path:?}: {source}")]
    Read { path: PathBuf, source: std::io::Error },
    #[error("data file {path:?} line {line}: {reason}")]
    Malformed { path: PathBuf, line: u64, reason: String },
    #[error("data file {path:?} has no rows")]
    Empty { path: PathBuf },
    #[error("data file {path:?} is too large: a data set holds at most 4 GiB")]
    TooLarge { path: PathBuf },
    #[error("data set {0:?} is declared twice")]
    DuplicateName(String),
    #[error("shared array {0:?} is too large: a data set holds at most 4 GiB")]
    SharedTooLarge(String),
}

/// Every data set of a run, by name; `Default` is a run without any.
#[derive(Debug, Default)]
pub struct DataSets {
    sets: HashMap<String, DataSet>,
    /// The sets a script built itself (its shared arrays).
    shared: HashSet<String>,
}

impl DataSets {
    /// Reads and checks every source (blocking file I/O: call it off the
    /// async runtime).
    pub fn load(sources: &[DataSource]) -> Result<DataSets, DataError> {
        let mut sets = HashMap::with_capacity(sources.len());
        for source in sources {
            if sets.contains_key(&source.name) {
                return Err(DataError::DuplicateName(source.name.clone()));
            }
            let set = match source.format {
                DataFormat::Csv => load_csv(&source.path)?,
                DataFormat::JsonLines => load_json_lines(&source.path)?,
            };
            sets.insert(source.name.clone(), set);
        }
        Ok(DataSets { sets, shared: HashSet::new() })
    }

    /// Adds a script's shared array (k6's `SharedArray`) as the set
    /// `name`: each item's JSON text is a one-field row, as in JSON lines.
    pub fn add_shared(&mut self, name: String, items: &[String]) -> Result<(), DataError> {
        if self.sets.contains_key(&name) {
            return Err(DataError::DuplicateName(name));
        }
        let mut builder = SetBuilder::with_capacity(items.iter().map(|item| item.len() as u64 + 1).sum());
        for item in items {
            builder.push_row([item.as_str()]).map_err(|Overflow| DataError::SharedTooLarge(name.clone()))?;
        }
        if let Some(set) = builder.finish(Vec::new()) {
            self.shared.insert(name.clone());
            self.sets.insert(name, set);
        }
        Ok(())
    }

    /// Whether reading set `name` needs a grant: a set the run declares,
    /// not one the script built itself, nor one there is not (unknown).
    fn needs_grant(&self, name: &str) -> bool {
        self.sets.contains_key(name) && !self.shared.contains(name)
    }

    fn set(&self, name: &str) -> Result<&DataSet, wit::DataError> {
        self.sets.get(name).ok_or_else(|| wit::DataError::UnknownSet(name.to_string()))
    }
}

/// One loaded set. Every row's fields, decoded, lie back to back in one
/// buffer, each after its length (LEB128, one byte below 128); `row_starts`
/// holds where each row begins, plus the buffer's end. A set thus costs its
/// file's size plus about a byte per field and four per row, instead of a
/// `String` (24 bytes and an allocation) per field.
struct DataSet {
    columns: Box<[String]>,
    fields: Box<[u8]>,
    row_starts: Box<[u32]>,
    len: u32,
}

/// Sizes rather than contents: a set may hold gigabytes.
impl fmt::Debug for DataSet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DataSet")
            .field("columns", &self.columns)
            .field("rows", &self.len)
            .field("field_bytes", &self.fields.len())
            .finish()
    }
}

impl DataSet {
    fn row(&self, index: u32) -> Result<Row, wit::DataError> {
        if index >= self.len {
            return Err(wit::DataError::OutOfRange(self.len));
        }
        let (start, end) = (self.row_starts[index as usize], self.row_starts[index as usize + 1]);
        let mut rest = &self.fields[start as usize..end as usize];
        let mut row = Vec::with_capacity(self.columns.len().max(1));
        while !rest.is_empty() {
            let (len, after) = take_len(rest);
            let (field, after) = after.split_at(len);
            // Every field was UTF-8 text when stored, so this never replaces anything.
            row.push(String::from_utf8_lossy(field).into_owned());
            rest = after;
        }
        Ok(row)
    }
}

/// Fills a [`DataSet`] row by row.
struct SetBuilder {
    fields: Vec<u8>,
    row_starts: Vec<u32>,
}

/// The buffer outgrew the `u32` offsets that keep `row_starts` small.
struct Overflow;

impl SetBuilder {
    /// `capacity`: the file's size, which the decoded fields rarely exceed,
    /// so the buffer is allocated once.
    fn with_capacity(capacity: u64) -> SetBuilder {
        let capacity = usize::try_from(capacity.min(u64::from(u32::MAX))).unwrap_or(0);
        SetBuilder { fields: Vec::with_capacity(capacity), row_starts: vec![0] }
    }

    fn push_row<'a>(&mut self, row: impl IntoIterator<Item = &'a str>) -> Result<(), Overflow> {
        for field in row {
            push_len(&mut self.fields, field.len());
            self.fields.extend_from_slice(field.as_bytes());
        }
        let end = u32::try_from(self.fields.len()).map_err(|_| Overflow)?;
        self.row_starts.push(end);
        Ok(())
    }

    /// The set, or `None` when no row was pushed.
    fn finish(self, columns: Vec<String>) -> Option<DataSet> {
        // Every row takes at least one byte, so the count fits as the offsets do.
        let len = u32::try_from(self.row_starts.len() - 1).ok().filter(|&len| len > 0)?;
        Some(DataSet {
            columns: columns.into(),
            fields: self.fields.into_boxed_slice(),
            row_starts: self.row_starts.into_boxed_slice(),
            len,
        })
    }
}

/// Appends `len` as LEB128: seven bits a byte, lowest first, the high bit
/// set on every byte but the last.
fn push_len(buffer: &mut Vec<u8>, mut len: usize) {
    while len >= 0x80 {
        buffer.push((len & 0x7f) as u8 | 0x80);
        len >>= 7;
    }
    buffer.push(len as u8);
}

/// Reads a length written by [`push_len`]; returns it and the bytes after it.
fn take_len(bytes: &[u8]) -> (usize, &[u8]) {
    let mut len = 0;
    for (at, byte) in bytes.iter().enumerate() {
        len |= usize::from(byte & 0x7f) << (7 * at);
        if byte & 0x80 == 0 {
            return (len, &bytes[at + 1..]);
        }
    }
    (len, &[])
}

fn open(path: &Path) -> Result<(File, SetBuilder), DataError> {
    let read_error = |source| DataError::Read { path: path.to_path_buf(), source };
    let file = File::open(path).map_err(read_error)?;
    let size = file.metadata().map_err(read_error)?.len();
    Ok((file, SetBuilder::with_capacity(size)))
}

fn load_csv(path: &Path) -> Result<DataSet, DataError> {
    let (file, mut builder) = open(path)?;
    // The csv reader buffers on its own and refuses rows whose field count
    // differs from the header's.
    let mut reader = csv::ReaderBuilder::new().has_headers(true).from_reader(file);
    let columns = reader.headers().map_err(|err| csv_error(path, err))?.iter().map(String::from).collect();
    let mut record = csv::StringRecord::new();
    while reader.read_record(&mut record).map_err(|err| csv_error(path, err))? {
        builder.push_row(&record).map_err(|Overflow| DataError::TooLarge { path: path.to_path_buf() })?;
    }
    builder.finish(columns).ok_or_else(|| DataError::Empty { path: path.to_path_buf() })
}

fn csv_error(path: &Path, err: csv::Error) -> DataError {
    let line = err.position().map_or(0, csv::Position::line);
    let reason = match err.kind() {
        csv::ErrorKind::UnequalLengths { expected_len, len, .. } => {
            format!("expected {expected_len} fields like the header, found {len}")
        }
        csv::ErrorKind::Utf8 { err, .. } => format!("field {} is not valid UTF-8", err.field() + 1),
        _ => err.to_string(),
    };
    match err.into_kind() {
        csv::ErrorKind::Io(source) => DataError::Read { path: path.to_path_buf(), source },
        _ => DataError::Malformed { path: path.to_path_buf(), line, reason },
    }
}

fn load_json_lines(path: &Path) -> Result<DataSet, DataError> {
    let (file, mut builder) = open(path)?;
    let mut reader = BufReader::new(file);
    let mut line = Vec::new();
    let mut number = 0;
    let malformed = |line, reason| DataError::Malformed { path: path.to_path_buf(), line, reason };
    loop {
        line.clear();
        let read = reader
            .read_until(b'\n', &mut line)
            .map_err(|source| DataError::Read { path: path.to_path_buf(), source })?;
        if read == 0 {
            break;
        }
        number += 1;
        let text = std::str::from_utf8(&line).map_err(|_| malformed(number, "not valid UTF-8".into()))?.trim();
        if text.is_empty() {
            continue;
        }
        serde_json::from_str::<IgnoredAny>(text).map_err(|err| {
            // serde_json's message ends with the position within this one
            // line ("at line 1 column 7"); the file's line is given instead.
            let message = err.to_string();
            let message = message.split(" at line ").next().unwrap_or_default();
            malformed(number, format!("invalid JSON at column {}: {message}", err.column()))
        })?;
        builder.push_row([text]).map_err(|Overflow| DataError::TooLarge { path: path.to_path_buf() })?;
    }
    builder.finish(Vec::new()).ok_or_else(|| DataError::Empty { path: path.to_path_buf() })
}

/// Per-VU state of the `data` interface.
pub struct DataCtx {
    sets: Arc<DataSets>,
    vu_id: u32,
    /// Seeded from the VU id, so a run's random picks are repeatable.
    rng: fastrand::Rng,
}

impl DataCtx {
    pub fn new(vu_id: u32, sets: Arc<DataSets>) -> Self {
        DataCtx { sets, vu_id, rng: fastrand::Rng::with_seed(u64::from(vu_id)) }
    }

    fn for_vu(&self, set: &str) -> Result<Row, wit::DataError> {
        // VU 0 (setup and teardown) reads row 0, like VU 1.
        let position = self.vu_id.saturating_sub(1);
        self.sets.set(set).and_then(|set| set.row(position % set.len))
    }

    fn random(&mut self, set: &str) -> Result<Row, wit::DataError> {
        let set = self.sets.set(set)?;
        set.row(self.rng.u32(..set.len))
    }
}

impl VuState {
    /// Data set `set`'s name, unless it needs a grant the scenario lacks.
    fn granted_set(&self, set: String) -> Result<String, wit::DataError> {
        if !self.data.sets.needs_grant(&set) {
            return Ok(set);
        }
        self.gate.data(&set).map(|()| set).map_err(|denial| wit::DataError::Denied(denial.into()))
    }
}

impl Host for VuState {
    fn columns(&mut self, set: String) -> wasmtime::Result<Result<Vec<String>, wit::DataError>> {
        Ok(self.granted_set(set).and_then(|set| self.data.sets.set(&set).map(|set| set.columns.to_vec())))
    }

    fn len(&mut self, set: String) -> wasmtime::Result<Result<u32, wit::DataError>> {
        Ok(self.granted_set(set).and_then(|set| self.data.sets.set(&set).map(|set| set.len)))
    }

    fn get(&mut self, set: String, index: u32) -> wasmtime::Result<Result<Row, wit::DataError>> {
        Ok(self.granted_set(set).and_then(|set| self.data.sets.set(&set).and_then(|set| set.row(index))))
    }

    fn for_vu(&mut self, set: String) -> wasmtime::Result<Result<Row, wit::DataError>> {
        Ok(self.granted_set(set).and_then(|set| self.data.for_vu(&set)))
    }

    fn random(&mut self, set: String) -> wasmtime::Result<Result<Row, wit::DataError>> {
        Ok(self.granted_set(set).and_then(|set| self.data.random(&set)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn write(dir: &tempfile::TempDir, name: &str, text: &str) -> PathBuf {
        let path = dir.path().join(name);
        std::fs::write(&path, text).expect("write test file");
        path
    }

    fn load(dir: &tempfile::TempDir, name: &str, text: &str) -> Result<DataSets, DataError> {
        let path = write(dir, name, text);
        let source = DataSource::new("set".into(), path, None)?;
        DataSets::load(&[source])
    }

    fn rows(sets: &DataSets) -> Vec<Row> {
        let set = sets.set("set").expect("loaded");
        (0..set.len).map(|index| set.row(index).expect("in range")).collect()
    }

    #[test]
    fn formats_come_from_the_extension() {
        assert_eq!(DataFormat::from_extension(Path::new("a/users.csv")), Some(DataFormat::Csv));
        assert_eq!(DataFormat::from_extension(Path::new("users.CSV")), Some(DataFormat::Csv));
        assert_eq!(DataFormat::from_extension(Path::new("events.jsonl")), Some(DataFormat::JsonLines));
        assert_eq!(DataFormat::from_extension(Path::new("events.ndjson")), Some(DataFormat::JsonLines));
        assert_eq!(DataFormat::from_extension(Path::new("users.txt")), None);
        assert_eq!(DataFormat::from_extension(Path::new("users")), None);
    }

    #[test]
    fn csv_rows_keep_quoted_and_long_fields() {
        let dir = tempfile::tempdir().unwrap();
        let long = "x".repeat(70_000);
        let text = format!("user,name\r\nalice,\"Smith, \"\"Al\"\"\"\nbob,\nçé,{long}\n");
        let sets = load(&dir, "users.csv", &text).unwrap();
        let set = sets.set("set").unwrap();
        assert_eq!(&*set.columns, ["user", "name"]);
        assert_eq!(rows(&sets), [vec!["alice", "Smith, \"Al\""], vec!["bob", ""], vec!["çé", long.as_str()]]);
        // Fields are stored decoded, with a length byte (three for the long
        // one) per field, not a String each.
        assert_eq!(set.fields.len(), (1 + 5) + (1 + 11) + (1 + 3) + 1 + (1 + 4) + (3 + long.len()));
    }

    #[test]
    fn json_lines_are_rows_of_one_field() {
        let dir = tempfile::tempdir().unwrap();
        let sets = load(&dir, "events.ndjson", "{\"id\":1}\n\n  [1, 2] \r\n\"text\"").unwrap();
        assert!(sets.set("set").unwrap().columns.is_empty());
        assert_eq!(rows(&sets), [vec!["{\"id\":1}"], vec!["[1, 2]"], vec!["\"text\""]]);
    }

    #[test]
    fn bad_files_name_the_file_and_line() {
        let dir = tempfile::tempdir().unwrap();
        let err = load(&dir, "ragged.csv", "a,b\n1,2\n3\n").unwrap_err().to_string();
        assert!(err.ends_with("ragged.csv\" line 3: expected 2 fields like the header, found 1"), "{err}");
        let err = load(&dir, "bad.jsonl", "{}\n\n{\"a\":}\n").unwrap_err().to_string();
        assert!(err.ends_with("bad.jsonl\" line 3: invalid JSON at column 6: expected value"), "{err}");
        let err = load(&dir, "control.jsonl", "\"\u{1}\"\n").unwrap_err().to_string();
        assert!(err.contains("control.jsonl\" line 1: invalid JSON at column 1: control character"), "{err}");
        let err = load(&dir, "header.csv", "a,b\n").unwrap_err().to_string();
        assert!(err.ends_with("header.csv\" has no rows"), "{err}");
        let err = load(&dir, "blank.jsonl", "\n \n").unwrap_err().to_string();
        assert!(err.ends_with("blank.jsonl\" has no rows"), "{err}");
        let path = dir.path().join("bytes.csv");
        std::fs::write(&path, b"a\nok\n\xff\n").unwrap();
        let err = DataSets::load(&[DataSource::new("set".into(), path, None).unwrap()]).unwrap_err().to_string();
        assert!(err.ends_with("bytes.csv\" line 3: field 1 is not valid UTF-8"), "{err}");
    }

    #[test]
    fn sources_are_checked_before_loading() {
        let dir = tempfile::tempdir().unwrap();
        let err = DataSource::new("s".into(), dir.path().join("none.csv"), None).unwrap_err();
        assert!(matches!(err, DataError::Missing { .. }), "{err}");
        let text = write(&dir, "users.txt", "a\n1\n");
        let err = DataSource::new("s".into(), text.clone(), None).unwrap_err();
        assert!(err.to_string().contains("name it .csv, .jsonl or .ndjson"), "{err}");
        let source = DataSource::new("s".into(), text, Some(DataFormat::Csv)).unwrap();
        let err = DataSets::load(&[source.clone(), source]).unwrap_err();
        assert_eq!(err.to_string(), "data set \"s\" is declared twice");
    }

    #[test]
    fn lookups_by_index_vu_and_random() {
        let dir = tempfile::tempdir().unwrap();
        let path = write(&dir, "users.csv", "user\nu0\nu1\nu2\n");
        let source = DataSource::new("users".into(), path, None).unwrap();
        let sets = Arc::new(DataSets::load(&[source]).unwrap());
        let set = sets.set("users").unwrap();
        assert_eq!(set.row(2).unwrap(), ["u2"]);
        assert!(matches!(set.row(3), Err(wit::DataError::OutOfRange(3))));
        assert!(matches!(sets.set("nope"), Err(wit::DataError::UnknownSet(name)) if name == "nope"));

        let for_vu = |vu_id| DataCtx::new(vu_id, sets.clone()).for_vu("users").unwrap();
        let firsts: Vec<Row> = [0, 1, 2, 3, 4].into_iter().map(for_vu).collect();
        assert_eq!(firsts, [["u0"], ["u0"], ["u1"], ["u2"], ["u0"]]);

        let picks = |vu_id| {
            let mut vu = DataCtx::new(vu_id, sets.clone());
            (0..200).map(|_| vu.random("users").unwrap()).collect::<Vec<Row>>()
        };
        assert_eq!(picks(7), picks(7), "a VU's picks repeat from run to run");
        assert_ne!(picks(7), picks(8), "VUs draw different picks");
        for name in ["u0", "u1", "u2"] {
            assert!(picks(7).iter().any(|row| row[0] == name), "every row gets picked");
        }
    }
}
