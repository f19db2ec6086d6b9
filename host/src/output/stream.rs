//! `--out json=FILE` and `--out csv=FILE`: every metric point, in k6's JSON
//! lines and CSV layouts (docs/outputs.md). It owns the writer thread, the
//! mapping of a point's `Instant` to wall-clock time, and both formats. It
//! must never make VUs or the collector wait on file I/O (batches go over
//! an unbounded channel), and it never aggregates.

use std::fmt::Write as _;
use std::fs::File;
use std::io::{self, BufWriter, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::mpsc::{Receiver, Sender, channel};
use std::thread::JoinHandle;
use std::time::{Instant, SystemTime, UNIX_EPOCH};

use serde::{Serialize, Serializer};

use super::{Change, OutputSpec};
use crate::Error;
use crate::metrics::{MetricId, MetricKind, Point, Registry, Sink, TagSet, Unit};

/// Buffer of each file: large enough that a second's batch costs few writes.
const BUFFER_BYTES: usize = 256 * 1024;

/// The streaming outputs of a run: hand it each drained batch of points,
/// then [`finish`](PointStream::finish) it. With no streaming output it
/// starts no thread and drops what it is given.
pub struct PointStream {
    running: Option<Running>,
}

/// Queues drained batches of points for the writer thread; never waits.
#[derive(Clone)]
pub struct PointSender(Option<Sender<Batch>>);

/// What the writer thread is handed.
enum Batch {
    Points(Vec<Point>),
    /// A change made during the run, written where it happened among the points.
    Marker(Change),
}

impl PointSender {
    /// Queues a drained batch for writing (dropped when nothing streams).
    pub fn send(&self, points: Vec<Point>) {
        if let Some(batches) = &self.0
            && !points.is_empty()
        {
            // The writer hangs up only by panicking, which `finish` reports.
            let _ = batches.send(Batch::Points(points));
        }
    }

    /// Queues a marker for a change made during the run.
    pub fn marker(&self, change: Change) {
        if let Some(batches) = &self.0 {
            let _ = batches.send(Batch::Marker(change));
        }
    }
}

struct Running {
    batches: Sender<Batch>,
    writer: JoinHandle<Result<(), Error>>,
}

impl PointStream {
    /// Creates the files of the JSON and CSV outputs among `specs` and
    /// starts their writer. `sink` names the metrics of the points; points
    /// get wall-clock times relative to this call.
    pub fn start(specs: &[OutputSpec], sink: Arc<Sink>) -> Result<PointStream, Error> {
        let clock = WallClock::now();
        let mut outputs = Vec::new();
        for spec in specs {
            let path = spec.path();
            let format: Box<dyn PointFormat + Send> = match spec {
                OutputSpec::Json(_) => Box::new(JsonLines::new(BufWriter::with_capacity(BUFFER_BYTES, create(path)?))),
                OutputSpec::Csv(_) => {
                    Box::new(CsvRows::new(create(path)?).map_err(|source| write_error(path, source))?)
                }
                OutputSpec::Junit(_) | OutputSpec::LocustCsv(_) => continue,
            };
            outputs.push(FileOutput { path: path.to_path_buf(), format, failure: None });
        }
        if outputs.is_empty() {
            return Ok(PointStream { running: None });
        }
        let (batches, received) = channel();
        let writer = std::thread::Builder::new()
            .name("vespid-out".into())
            .spawn(move || write_batches(received, outputs, &sink.registry, clock))
            .map_err(|err| Error::Runtime(format!("cannot start the output writer: {err}")))?;
        Ok(PointStream { running: Some(Running { batches, writer }) })
    }

    /// A handle that queues drained batches for writing, for another thread.
    pub fn sender(&self) -> PointSender {
        PointSender(self.running.as_ref().map(|running| running.batches.clone()))
    }

    /// Writes every queued point, flushes and closes the files. Fails with
    /// the first write error of any output.
    pub fn finish(self) -> Result<(), Error> {
        let Some(Running { batches, writer }) = self.running else {
            return Ok(());
        };
        drop(batches);
        writer.join().map_err(|_| Error::Runtime("the output writer panicked".into()))?
    }
}

fn create(path: &Path) -> Result<File, Error> {
    File::create(path).map_err(|source| write_error(path, source))
}

fn write_error(path: &Path, source: io::Error) -> Error {
    Error::Write { path: path.to_path_buf(), source }
}

/// Maps a point's `Instant` to wall-clock time through one pair of clock
/// readings, so recording a sample reads no clock but the monotonic one.
#[derive(Clone, Copy)]
struct WallClock {
    instant: Instant,
    system: SystemTime,
}

impl WallClock {
    fn now() -> Self {
        WallClock { instant: Instant::now(), system: SystemTime::now() }
    }

    fn at(&self, at: Instant) -> SystemTime {
        match at.checked_duration_since(self.instant) {
            Some(after) => self.system + after,
            None => self.system - self.instant.duration_since(at),
        }
    }
}

/// What the formats say about a metric.
struct MetricInfo {
    name: String,
    kind: MetricKind,
    unit: Unit,
}

/// The writer thread: every batch to every output, then close them all.
fn write_batches(
    batches: Receiver<Batch>,
    mut outputs: Vec<FileOutput>,
    registry: &Registry,
    clock: WallClock,
) -> Result<(), Error> {
    // By metric index; the registry's lock is taken once per metric.
    let mut metrics: Vec<Option<MetricInfo>> = Vec::new();
    for batch in batches {
        let mut batch = match batch {
            Batch::Points(points) => points,
            Batch::Marker(change) => {
                for output in &mut outputs {
                    output.marker(&change);
                }
                continue;
            }
        };
        // Shards are drained one after another: sorting puts each batch in time order.
        batch.sort_by_key(|point| point.at);
        for point in &batch {
            let metric = describe(&mut metrics, registry, point.metric);
            let time = clock.at(point.at);
            for output in &mut outputs {
                output.write(metric, time, point);
            }
        }
    }
    // Every file is closed; the first failure is the one reported.
    let mut first_failure = Ok(());
    for output in outputs {
        let closed = output.close();
        if first_failure.is_ok() {
            first_failure = closed;
        }
    }
    first_failure
}

fn describe<'a>(known: &'a mut Vec<Option<MetricInfo>>, registry: &Registry, id: MetricId) -> &'a MetricInfo {
    if known.len() <= id.index() {
        known.resize_with(id.index() + 1, || None);
    }
    known[id.index()].get_or_insert_with(|| {
        let (name, unit) = registry.describe(id);
        MetricInfo { name, kind: id.kind(), unit }
    })
}

/// One output file. After its first write error it writes nothing more,
/// and the error is reported when it is closed; the other outputs go on.
struct FileOutput {
    path: PathBuf,
    format: Box<dyn PointFormat + Send>,
    failure: Option<io::Error>,
}

impl FileOutput {
    fn write(&mut self, metric: &MetricInfo, time: SystemTime, point: &Point) {
        if self.failure.is_none()
            && let Err(err) = self.format.write_point(metric, time, point)
        {
            self.failure = Some(err);
        }
    }

    fn marker(&mut self, change: &Change) {
        if self.failure.is_none()
            && let Err(err) = self.format.write_marker(change)
        {
            self.failure = Some(err);
        }
    }

    fn close(mut self) -> Result<(), Error> {
        let closed = match self.failure.take() {
            Some(err) => Err(err),
            None => self.format.flush(),
        };
        closed.map_err(|source| write_error(&self.path, source))
    }
}

/// A file layout of points.
trait PointFormat {
    fn write_point(&mut self, metric: &MetricInfo, time: SystemTime, point: &Point) -> io::Result<()>;
    /// A change made during the run; layouts without a place for one skip it.
    fn write_marker(&mut self, _change: &Change) -> io::Result<()> {
        Ok(())
    }
    fn flush(&mut self) -> io::Result<()>;
}

/// k6's JSON output: a `Metric` line the first time a metric appears, then
/// a `Point` line per sample.
struct JsonLines<W: Write> {
    out: W,
    /// By metric index.
    announced: Vec<bool>,
}

#[derive(Serialize)]
struct JsonLine<'a, D> {
    #[serde(rename = "type")]
    kind: &'static str,
    data: D,
    metric: &'a str,
}

/// `{"type":"Marker","data":{"time":…,"action":"reload",…}}`: not in k6's
/// layout, which has no place for changes; readers of k6's lines skip
/// types they do not know.
#[derive(Serialize)]
struct MarkerLine<'a> {
    #[serde(rename = "type")]
    kind: &'static str,
    data: MarkerData<'a>,
}

#[derive(Serialize)]
struct MarkerData<'a> {
    time: Rfc3339Micros,
    #[serde(flatten)]
    change: &'a Change,
}

#[derive(Serialize)]
struct MetricData<'a> {
    name: &'a str,
    #[serde(rename = "type")]
    kind: &'static str,
    contains: &'static str,
    thresholds: &'static [&'static str],
    submetrics: Option<()>,
}

#[derive(Serialize)]
struct PointData<'a> {
    time: Rfc3339Micros,
    value: JsonNumber,
    tags: JsonTags<'a>,
}

/// `2026-11-23T21:34:24.123456Z`.
struct Rfc3339Micros(SystemTime);

impl Serialize for Rfc3339Micros {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(&humantime::format_rfc3339_micros(self.0))
    }
}

/// A value as k6 (Go) writes it: whole numbers without a fraction (`1`, not `1.0`).
struct JsonNumber(f64);

impl Serialize for JsonNumber {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        // Beyond 2^53 not every whole f64 is an exact integer.
        const EXACT_INTEGERS: f64 = 9_007_199_254_740_992.0;
        if self.0.fract() == 0.0 && self.0.abs() < EXACT_INTEGERS {
            serializer.serialize_i64(self.0 as i64)
        } else {
            serializer.serialize_f64(self.0)
        }
    }
}

struct JsonTags<'a>(&'a TagSet);

impl Serialize for JsonTags<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_map(self.0.iter())
    }
}

impl<W: Write> JsonLines<W> {
    fn new(out: W) -> Self {
        JsonLines { out, announced: Vec::new() }
    }

    fn line(&mut self, line: &impl Serialize) -> io::Result<()> {
        serde_json::to_writer(&mut self.out, line)?;
        self.out.write_all(b"\n")
    }
}

impl<W: Write> PointFormat for JsonLines<W> {
    fn write_point(&mut self, metric: &MetricInfo, time: SystemTime, point: &Point) -> io::Result<()> {
        let index = point.metric.index();
        if self.announced.len() <= index {
            self.announced.resize(index + 1, false);
        }
        if !self.announced[index] {
            self.announced[index] = true;
            let data = MetricData {
                name: &metric.name,
                kind: metric.kind.as_str(),
                contains: metric.unit.as_str(),
                thresholds: &[],
                submetrics: None,
            };
            self.line(&JsonLine { kind: "Metric", data, metric: &metric.name })?;
        }
        let data = PointData { time: Rfc3339Micros(time), value: JsonNumber(point.value), tags: JsonTags(&point.tags) };
        self.line(&JsonLine { kind: "Point", data, metric: &metric.name })
    }

    fn write_marker(&mut self, change: &Change) -> io::Result<()> {
        self.line(&MarkerLine { kind: "Marker", data: MarkerData { time: Rfc3339Micros(change.wall), change } })
    }

    fn flush(&mut self) -> io::Result<()> {
        self.out.flush()
    }
}

/// The tag columns of k6's CSV output, between `metric_value` and
/// `extra_tags`. k6 orders them alphabetically, so a tag finds its column
/// by binary search.
const TAG_COLUMNS: [&str; 14] = [
    "check",
    "error",
    "error_code",
    "expected_response",
    "group",
    "method",
    "name",
    "proto",
    "scenario",
    "service",
    "status",
    "subproto",
    "tls_version",
    "url",
];

/// k6's CSV output: a header, then a row per sample. Timestamps are unix
/// seconds with six decimals (k6 writes whole seconds).
struct CsvRows<W: Write> {
    /// The csv writer buffers itself, so it gets the file directly.
    out: csv::Writer<W>,
    // Reused for every row.
    timestamp: String,
    value: String,
    extra_tags: String,
}

impl<W: Write> CsvRows<W> {
    fn new(out: W) -> io::Result<Self> {
        let mut out = csv::WriterBuilder::new().buffer_capacity(BUFFER_BYTES).from_writer(out);
        let header = ["metric_name", "timestamp", "metric_value"].into_iter().chain(TAG_COLUMNS);
        out.write_record(header.chain(["extra_tags", "metadata"]))?;
        Ok(CsvRows { out, timestamp: String::new(), value: String::new(), extra_tags: String::new() })
    }
}

impl<W: Write> PointFormat for CsvRows<W> {
    fn write_point(&mut self, metric: &MetricInfo, time: SystemTime, point: &Point) -> io::Result<()> {
        let mut tag_columns = [""; TAG_COLUMNS.len()];
        self.extra_tags.clear();
        for (key, value) in point.tags.iter() {
            match TAG_COLUMNS.binary_search(&key) {
                Ok(column) => tag_columns[column] = value,
                Err(_) => {
                    if !self.extra_tags.is_empty() {
                        self.extra_tags.push('&');
                    }
                    let _ = write!(self.extra_tags, "{key}={value}");
                }
            }
        }
        let since_epoch = time.duration_since(UNIX_EPOCH).unwrap_or_default();
        self.timestamp.clear();
        let _ = write!(self.timestamp, "{}.{:06}", since_epoch.as_secs(), since_epoch.subsec_micros());
        self.value.clear();
        let _ = write!(self.value, "{:.6}", point.value);
        let leading = [metric.name.as_str(), &self.timestamp, &self.value];
        // `metadata` stays empty: vespid has no non-indexed tags.
        self.out.write_record(leading.into_iter().chain(tag_columns).chain([self.extra_tags.as_str(), ""]))?;
        Ok(())
    }

    fn flush(&mut self) -> io::Result<()> {
        self.out.flush()
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;
    use crate::metrics::names;

    /// 2026-11-23T21:34:24.123456Z
    fn known_time() -> SystemTime {
        UNIX_EPOCH + Duration::from_micros(1_795_469_664_123_456)
    }

    fn point(metric: MetricId, value: f64, tags: &[(&str, &str)]) -> Point {
        Point { at: Instant::now(), metric, value, tags: TagSet::new(tags.iter().copied()) }
    }

    fn written(format: &mut dyn PointFormat, points: &[Point]) {
        let (registry, mut metrics) = (Registry::default(), Vec::new());
        for p in points {
            format
                .write_point(describe(&mut metrics, &registry, p.metric), known_time(), p)
                .expect("written to memory");
        }
        format.flush().expect("flushed");
    }

    #[test]
    fn json_announces_each_metric_once_then_writes_points() {
        let tags = [("method", "GET"), ("scenario", "default"), ("status", "200")];
        let mut json = JsonLines::new(Vec::new());
        written(
            &mut json,
            &[
                point(names::HTTP_REQS, 1.0, &tags),
                point(names::HTTP_REQ_DURATION, 0.25, &tags),
                point(names::HTTP_REQS, 1.0, &tags),
            ],
        );
        let text = String::from_utf8(json.out).expect("utf-8");
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(
            lines[0],
            r#"{"type":"Metric","data":{"name":"http_reqs","type":"counter","contains":"default","thresholds":[],"submetrics":null},"metric":"http_reqs"}"#
        );
        assert_eq!(
            lines[1],
            r#"{"type":"Point","data":{"time":"2026-11-23T21:34:24.123456Z","value":1,"tags":{"method":"GET","scenario":"default","status":"200"}},"metric":"http_reqs"}"#
        );
        assert!(
            lines[2]
                .starts_with(r#"{"type":"Metric","data":{"name":"http_req_duration","type":"trend","contains":"time""#)
        );
        assert!(lines[3].contains(r#""value":0.25,"#), "{}", lines[3]);
        assert!(lines[4].starts_with(r#"{"type":"Point""#), "http_reqs is announced once");
        assert_eq!(lines.len(), 5);
    }

    #[test]
    fn csv_puts_known_tags_in_their_columns_and_the_rest_in_extra_tags() {
        let mut csv = CsvRows::new(Vec::new()).expect("header written");
        let tags = [
            ("status", "200"),
            ("method", "GET"),
            ("scenario", "s"),
            ("url", "http://x/?a=1,2"),
            ("zone", "eu"),
            ("build", "7"),
        ];
        written(&mut csv, &[point(names::HTTP_REQ_DURATION, 12.5, &tags)]);
        let text = String::from_utf8(csv.out.into_inner().expect("flushed")).expect("utf-8");
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(
            lines[0],
            "metric_name,timestamp,metric_value,check,error,error_code,expected_response,group,method,name,proto,scenario,service,status,subproto,tls_version,url,extra_tags,metadata"
        );
        assert_eq!(
            lines[1],
            r#"http_req_duration,1795469664.123456,12.500000,,,,,,GET,,,s,,200,,,"http://x/?a=1,2",build=7&zone=eu,"#
        );
    }

    #[test]
    fn tag_columns_are_sorted_for_binary_search() {
        assert!(TAG_COLUMNS.is_sorted());
    }

    #[test]
    fn instants_map_to_wall_time_either_side_of_the_start() {
        let clock = WallClock::now();
        let second = Duration::from_secs(1);
        assert_eq!(clock.at(clock.instant + second), clock.system + second);
        if let Some(before) = clock.instant.checked_sub(second) {
            assert_eq!(clock.at(before), clock.system - second);
        }
    }

    #[test]
    fn the_writer_writes_every_point_and_reports_a_failed_file() {
        let dir = tempfile::tempdir().expect("temp dir");
        let json = dir.path().join("points.json");
        let sink = Arc::new(Sink::keeping_points());
        let specs = [OutputSpec::Json(json.clone()), OutputSpec::Junit(dir.path().join("not-mine.xml"))];
        let stream = PointStream::start(&specs, sink.clone()).expect("started");
        for batch in 0..3 {
            stream.sender().send(
                (0..100)
                    .map(|i| point(names::ITERATIONS, f64::from(batch * 100 + i), &[("scenario", "default")]))
                    .collect(),
            );
        }
        stream.sender().send(Vec::new());
        stream.finish().expect("written");
        let text = std::fs::read_to_string(&json).expect("json written");
        assert_eq!(text.lines().filter(|l| l.starts_with(r#"{"type":"Point""#)).count(), 300);
        assert!(!dir.path().join("not-mine.xml").exists(), "junit is not a streamed output");

        if Path::new("/dev/full").exists() {
            let full = PathBuf::from("/dev/full");
            let stream = PointStream::start(&[OutputSpec::Csv(full.clone())], sink).expect("started");
            stream.sender().send(vec![point(names::ITERATIONS, 1.0, &[])]);
            match stream.finish() {
                Err(Error::Write { path, .. }) => assert_eq!(path, full),
                other => panic!("expected a write error, got {other:?}"),
            }
        }
    }

    #[test]
    fn no_streamed_output_starts_no_writer() {
        let stream = PointStream::start(&[], Arc::new(Sink::new())).expect("started");
        assert!(stream.running.is_none());
        stream.sender().send(vec![point(names::ITERATIONS, 1.0, &[])]);
        stream.finish().expect("nothing to write");
    }
}
