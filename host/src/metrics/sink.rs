//! Where VUs put samples: a handful of shards (a VU always uses the same
//! one, by VU id), each holding, per metric, a map from tag set to what
//! that series got since the last drain. No lock is common to all VUs on
//! the hot path.
//!
//! A shard keeps its series between drains: counters, rates and gauges are
//! a few numbers reset in place, a trend is a buffer of raw values cleared
//! but not freed. Each shard has two such batches; the collector swaps the
//! VUs' batch for the one it drained last time (a swap of two small structs
//! under the lock), then records the values into the aggregate's histograms on its
//! own thread. So in the steady state a sample costs a map lookup and a
//! push, never an allocation, and VUs never wait for a merge. Histograms
//! (16–400 KiB each) live only in the aggregate, once per series, not per
//! shard.
//!
//! Series are capped per run ([`MetricLimits`]): a sample of a series new
//! to its shard is admitted run-wide, and past the cap a custom metric's
//! sample is dropped, a built-in's is recorded under its VU's scenario
//! tags instead, and either is counted in the error log.
//! A sink built for streaming outputs also keeps every sample as a
//! [`Point`] in its shard, under the same lock, until the collector drains it.

use std::collections::HashSet;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Instant;

use super::tags::{Interner, TagMap};
use super::{Agg, Aggregate, ErrorLog, MetricId, MetricKind, Registry, TagSet};

/// One sample: a value for a metric. Rates take 0.0 (false) or 1.0 (true).
#[derive(Debug, Clone, Copy)]
pub struct Sample {
    pub metric: MetricId,
    pub value: f64,
}

impl Sample {
    pub fn new(metric: MetricId, value: f64) -> Self {
        Sample { metric, value }
    }

    pub fn flag(metric: MetricId, value: bool) -> Self {
        Sample { metric, value: if value { 1.0 } else { 0.0 } }
    }
}

/// One sample as streaming outputs see it: when it was recorded, and its tags.
#[derive(Debug, Clone)]
pub struct Point {
    pub at: Instant,
    pub metric: MetricId,
    pub value: f64,
    pub tags: TagSet,
}

/// How many metrics and series one run may create.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MetricLimits {
    /// Distinct custom metric names.
    pub max_metrics: u32,
    /// Distinct series, metric × tag set (built-in metrics included).
    pub max_series: u32,
}

impl Default for MetricLimits {
    fn default() -> Self {
        MetricLimits { max_metrics: 1000, max_series: 10_000 }
    }
}

/// What one series got since the last drain.
enum Pending {
    Counter { sum: f64, adds: u64 },
    Gauge { value: f64, min: f64, max: f64, at: Option<Instant> },
    Trend(Vec<f64>),
    Rate { trues: u64, total: u64 },
}

/// Buffer capacity a trend keeps across drains even when it got fewer values.
const TREND_BUFFER_KEPT: usize = 64;

impl Pending {
    fn new(kind: MetricKind) -> Self {
        match kind {
            MetricKind::Counter => Pending::Counter { sum: 0.0, adds: 0 },
            MetricKind::Gauge => Pending::Gauge { value: 0.0, min: f64::INFINITY, max: f64::NEG_INFINITY, at: None },
            MetricKind::Trend => Pending::Trend(Vec::new()),
            MetricKind::Rate => Pending::Rate { trues: 0, total: 0 },
        }
    }

    fn add(&mut self, v: f64, now: impl FnOnce() -> Instant) {
        match self {
            Pending::Counter { sum, adds } => {
                *sum += v;
                *adds += 1;
            }
            Pending::Gauge { value, min, max, at } => {
                *value = v;
                *min = min.min(v);
                *max = max.max(v);
                *at = Some(now());
            }
            Pending::Trend(values) => values.push(v),
            Pending::Rate { trues, total } => {
                *trues += u64::from(v != 0.0);
                *total += 1;
            }
        }
    }

    fn kind(&self) -> MetricKind {
        match self {
            Pending::Counter { .. } => MetricKind::Counter,
            Pending::Gauge { .. } => MetricKind::Gauge,
            Pending::Trend(_) => MetricKind::Trend,
            Pending::Rate { .. } => MetricKind::Rate,
        }
    }

    fn is_empty(&self) -> bool {
        match self {
            Pending::Counter { adds, .. } => *adds == 0,
            Pending::Gauge { at, .. } => at.is_none(),
            Pending::Trend(values) => values.is_empty(),
            Pending::Rate { total, .. } => *total == 0,
        }
    }

    /// Adds what this series got to `into`, then empties it, keeping a
    /// trend's buffer (shrunk when it is far larger than this drain needed).
    fn drain_into(&mut self, into: &mut Agg) {
        match (&mut *self, into) {
            (Pending::Counter { sum, adds }, Agg::Counter { sum: total }) => {
                *total += *sum;
                (*sum, *adds) = (0.0, 0);
            }
            (Pending::Gauge { value, min, max, at }, into @ Agg::Gauge { .. }) => {
                into.merge(&Agg::Gauge { value: *value, min: *min, max: *max, at: *at });
                (*min, *max, *at) = (f64::INFINITY, f64::NEG_INFINITY, None);
            }
            (Pending::Trend(values), Agg::Trend(trend)) => {
                trend.record_all(values);
                let keep = (values.len() * 2).max(TREND_BUFFER_KEPT);
                values.clear();
                if values.capacity() > keep * 2 {
                    values.shrink_to(keep);
                }
            }
            (Pending::Rate { trues, total }, Agg::Rate { trues: t, total: n }) => {
                *t += *trues;
                *n += *total;
                (*trues, *total) = (0, 0);
            }
            _ => debug_assert!(false, "draining a series into an aggregate of another kind"),
        }
    }
}

/// A shard's series and points since the collector last drained it.
#[derive(Default)]
struct Batch {
    /// Indexed by the metric's registry index.
    by_metric: Vec<TagMap<Pending>>,
    points: Vec<Point>,
}

impl Batch {
    fn series(&mut self, metric: MetricId) -> &mut TagMap<Pending> {
        if self.by_metric.len() <= metric.index() {
            self.by_metric.resize_with(metric.index() + 1, TagMap::default);
        }
        &mut self.by_metric[metric.index()]
    }
}

/// One shard: the batch VUs record into, and the one the collector drained last.
#[derive(Default)]
struct Shard {
    recording: Mutex<Batch>,
    drained: Mutex<Batch>,
}

/// The run's series, up to the cap.
struct SeriesCap {
    cap: usize,
    admitted: Mutex<HashSet<(TagSet, MetricId)>>,
    /// Errors counted per dropped or re-tagged sample.
    dropped: String,
    retagged: String,
}

impl SeriesCap {
    fn new(cap: usize) -> Self {
        let reached = format!("metric series cap ({cap}) reached");
        SeriesCap {
            cap,
            admitted: Mutex::default(),
            dropped: format!("{reached}: samples of further new series dropped"),
            retagged: format!(
                "{reached}: samples of built-in metrics in further new series recorded with their scenario's tags only"
            ),
        }
    }

    /// Whether series `metric` × `tags` is one of the run's (made so if there is room).
    fn admit(&self, tags: &TagSet, metric: MetricId) -> bool {
        let mut admitted = lock(&self.admitted);
        let key = (tags.clone(), metric);
        if admitted.contains(&key) {
            return true;
        }
        admitted.len() < self.cap && admitted.insert(key)
    }
}

/// The run's metric sink: the registry, the tag set interner, the series
/// cap, the error log the cap reports to, and the shards.
pub struct Sink {
    pub registry: Registry,
    errors: Arc<ErrorLog>,
    /// Calls refused for want of a permission, by distinct message.
    denials: ErrorLog,
    interner: Interner,
    series: SeriesCap,
    shards: Box<[Shard]>,
    /// Fixed when the sink is built, so a run without streaming outputs
    /// pays one predictable branch per `record`.
    keep_points: bool,
}

impl Sink {
    /// A sink with a few shards per core, keeping aggregates only.
    pub fn new() -> Self {
        Self::build(false, MetricLimits::default())
    }

    /// A sink that also keeps every sample as a [`Point`], for streaming outputs.
    pub fn keeping_points() -> Self {
        Self::build(true, MetricLimits::default())
    }

    /// This sink with other caps on metrics and series.
    pub fn with_limits(self, limits: MetricLimits) -> Self {
        Self::build(self.keep_points, limits)
    }

    fn build(keep_points: bool, limits: MetricLimits) -> Self {
        let cores = std::thread::available_parallelism().map_or(2, |n| n.get());
        Sink {
            registry: Registry::with_max_custom(limits.max_metrics as usize),
            errors: Arc::new(ErrorLog::default()),
            denials: ErrorLog::default(),
            interner: Interner::new(limits.max_series as usize),
            series: SeriesCap::new(limits.max_series as usize),
            shards: (0..cores * 4).map(|_| Shard::default()).collect(),
            keep_points,
        }
    }

    /// The run's error log (the series cap reports to it).
    pub fn errors(&self) -> &Arc<ErrorLog> {
        &self.errors
    }

    /// The run's refused calls (caps/grants).
    pub fn denials(&self) -> &ErrorLog {
        &self.denials
    }

    /// The run-wide value equal to `tags`, so equal sets are one shared value.
    pub fn intern(&self, tags: TagSet) -> TagSet {
        self.interner.intern(tags)
    }

    /// Records samples that share one tag set (e.g. the metrics of one
    /// request) into VU `vu_id`'s shard. `scenario_tags` (the VU's run and
    /// scenario tags) take a built-in sample whose own series is past the cap.
    pub fn record(&self, vu_id: u32, tags: &TagSet, scenario_tags: &TagSet, samples: &[Sample]) {
        let (mut dropped, mut retagged) = (0, 0);
        // One clock read per call, and only when a gauge or a point needs it.
        let mut at = None;
        let mut now = || *at.get_or_insert_with(Instant::now);
        let mut batch = lock(&self.shards[vu_id as usize % self.shards.len()].recording);
        for sample in samples {
            let metric = sample.metric;
            let series = batch.series(metric);
            let tags = if let Some(pending) = series.get_mut(tags) {
                pending.add(sample.value, &mut now);
                tags
            } else {
                let tags = if self.series.admit(tags, metric) {
                    tags
                } else if metric.is_builtin() {
                    // Bounded (built-in metrics × scenarios), so never refused.
                    retagged += u64::from(tags != scenario_tags);
                    scenario_tags
                } else {
                    dropped += 1;
                    continue;
                };
                series.entry(tags.clone()).or_insert_with(|| Pending::new(metric.kind())).add(sample.value, &mut now);
                tags
            };
            if self.keep_points {
                batch.points.push(Point { at: now(), metric, value: sample.value, tags: tags.clone() });
            }
        }
        drop(batch);
        if dropped > 0 {
            self.errors.report_n(&self.series.dropped, dropped);
        }
        if retagged > 0 {
            self.errors.report_n(&self.series.retagged, retagged);
        }
    }

    /// Moves the samples recorded so far into `into` and returns the points
    /// recorded with them (none unless the sink keeps points).
    pub fn drain_into(&self, into: &mut Aggregate) -> Vec<Point> {
        let mut drained = Vec::new();
        for shard in self.shards.iter() {
            let mut batch = lock(&shard.drained);
            std::mem::swap(&mut *lock(&shard.recording), &mut *batch);
            let batch = &mut *batch;
            for (index, series) in batch.by_metric.iter_mut().enumerate() {
                for (tags, pending) in series.iter_mut().filter(|(_, pending)| !pending.is_empty()) {
                    let metric = MetricId::new(index as u32, pending.kind());
                    pending.drain_into(into.series_mut(metric, tags));
                }
            }
            // Moved out, so the shard keeps its buffer's capacity.
            drained.append(&mut batch.points);
        }
        drained
    }
}

impl Default for Sink {
    fn default() -> Self {
        Self::new()
    }
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(|e| e.into_inner())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::metrics::names;

    fn trend_len_and_capacity(sink: &Sink, batch: fn(&Shard) -> &Mutex<Batch>, tags: &TagSet) -> (usize, usize) {
        let batch = lock(batch(&sink.shards[0]));
        match batch.by_metric[names::HTTP_REQ_DURATION.index()].get(tags) {
            Some(Pending::Trend(values)) => (values.len(), values.capacity()),
            _ => panic!("the series is kept"),
        }
    }

    #[test]
    fn drained_shards_merge_exactly() {
        let sink = Sink::new();
        let tags = TagSet::new([("scenario", "default")]);
        for vu in 0..100u32 {
            let samples = [Sample::new(names::HTTP_REQS, 1.0), Sample::new(names::HTTP_REQ_DURATION, f64::from(vu))];
            sink.record(vu, &tags, &tags, &samples);
        }
        let mut total = Aggregate::default();
        sink.drain_into(&mut total);
        sink.drain_into(&mut total);
        let reqs = total.summary(names::HTTP_REQS, |_| true).expect("recorded");
        assert_eq!(reqs.count(), 100);
        let Some(Agg::Trend(duration)) = total.summary(names::HTTP_REQ_DURATION, |_| true) else { panic!("a trend") };
        assert_eq!((duration.min(), duration.max(), duration.avg()), (0.0, 99.0, 49.5));
    }

    #[test]
    fn shards_keep_their_series_and_buffers_between_drains() {
        let sink = Sink::new();
        let tags = TagSet::new([("scenario", "default")]);
        let mut total = Aggregate::default();
        for round in 1..=3u32 {
            for ms in 0..100 {
                sink.record(0, &tags, &tags, &[Sample::new(names::HTTP_REQ_DURATION, f64::from(ms))]);
            }
            sink.drain_into(&mut total);
            // The batch just drained is empty but keeps its series and buffer.
            let (len, capacity) = trend_len_and_capacity(&sink, |shard| &shard.drained, &tags);
            assert_eq!(len, 0);
            assert!(capacity >= 100, "round {round}: capacity {capacity}");
            assert_eq!(
                total.summary(names::HTTP_REQ_DURATION, |_| true).expect("recorded").count(),
                u64::from(round) * 100
            );
        }
        // From the second round on, VUs record into a batch that has the series already.
        let (len, capacity) = trend_len_and_capacity(&sink, |shard| &shard.recording, &tags);
        assert_eq!(len, 0);
        assert!(capacity >= 100, "capacity {capacity}");
    }

    #[test]
    fn only_a_sink_keeping_points_returns_them() {
        let tags = TagSet::new([("scenario", "default")]);
        let samples = [Sample::new(names::HTTP_REQS, 1.0), Sample::new(names::HTTP_REQ_DURATION, 2.5)];
        let plain = Sink::new();
        let keeping = Sink::keeping_points();
        for vu in 0..10u32 {
            plain.record(vu, &tags, &tags, &samples);
            keeping.record(vu, &tags, &tags, &samples);
        }
        let mut total = Aggregate::default();
        assert!(plain.drain_into(&mut total).is_empty());
        let points = keeping.drain_into(&mut total);
        assert_eq!(points.len(), 20);
        assert_eq!(points.iter().filter(|p| p.metric == names::HTTP_REQ_DURATION && p.value == 2.5).count(), 10);
        assert!(points.iter().all(|p| p.tags == tags));
        // A drained shard keeps recording points.
        keeping.record(0, &tags, &tags, &samples[..1]);
        assert_eq!(keeping.drain_into(&mut total).len(), 1);
        assert_eq!(total.summary(names::HTTP_REQS, |_| true).expect("recorded").count(), 21);
    }

    #[test]
    fn gauges_keep_the_latest_write_of_any_shard() {
        let sink = Sink::new();
        let tags = TagSet::new([("scenario", "default")]);
        let mut total = Aggregate::default();
        let (first_vu, second_vu) = (0, 1);
        assert!(sink.shards.len() > 1, "VUs 0 and 1 use two shards");
        for (first, second) in [(5.0, 2.0), (1.0, 7.0)] {
            sink.record(first_vu, &tags, &tags, &[Sample::new(names::VUS, first)]);
            // Two writes never share an instant.
            std::thread::sleep(std::time::Duration::from_millis(1));
            sink.record(second_vu, &tags, &tags, &[Sample::new(names::VUS, second)]);
            sink.drain_into(&mut total);
            let Some(Agg::Gauge { value, .. }) = total.summary(names::VUS, |_| true) else { panic!("a gauge") };
            assert_eq!(value, second);
        }
        let Some(Agg::Gauge { min, max, .. }) = total.summary(names::VUS, |_| true) else { panic!("a gauge") };
        assert_eq!((min, max), (1.0, 7.0));
    }

    #[test]
    fn past_the_series_cap_custom_samples_drop_and_built_ins_keep_their_scenario_tags() {
        let sink = Sink::new().with_limits(MetricLimits { max_metrics: 10, max_series: 3 });
        let custom = sink.registry.resolve("custom", MetricKind::Counter).expect("registered");
        let scenario = TagSet::new([("scenario", "default")]);
        let tagged = |i: u32| TagSet::new([("scenario", "default"), ("i", &i.to_string())]);
        // Three series fill the cap: custom × {i=0}, {i=1}, {i=2}.
        for vu in 0..5u32 {
            for i in 0..6u32 {
                sink.record(vu, &tagged(i), &scenario, &[Sample::new(custom, 1.0)]);
            }
        }
        for vu in 0..5u32 {
            for i in 0..6u32 {
                sink.record(vu, &tagged(i), &scenario, &[Sample::new(names::HTTP_REQS, 1.0)]);
            }
        }
        let mut total = Aggregate::default();
        sink.drain_into(&mut total);
        assert_eq!(total.summary(custom, |_| true).expect("recorded").count(), 15, "3 admitted series × 5 VUs");
        let reqs = |filter: &dyn Fn(&TagSet) -> bool| total.summary(names::HTTP_REQS, filter).map_or(0, |a| a.count());
        assert_eq!(reqs(&|_| true), 30, "every built-in sample recorded");
        assert_eq!(reqs(&|tags| *tags == scenario), 30, "under the scenario's tags");
        assert_eq!(total.series_count(), 4);
        let errors = sink.errors().snapshot();
        assert_eq!(
            errors,
            vec![
                ("metric series cap (3) reached: samples of built-in metrics in further new series recorded with their scenario's tags only".to_string(), 30),
                ("metric series cap (3) reached: samples of further new series dropped".to_string(), 15),
            ]
        );
    }

    #[test]
    fn ten_thousand_series_summarise_exactly() {
        let sink = Sink::new().with_limits(MetricLimits { max_metrics: 10, max_series: 20_000 });
        let custom = sink.registry.resolve("custom_trend", MetricKind::Trend).expect("registered");
        let (checks, vus) = (5_000u32, 8u32);
        let mut total = Aggregate::default();
        for vu in 0..vus {
            for i in 0..checks {
                let name = format!("check {i:05}");
                let tags = sink.intern(TagSet::new([("scenario", "default"), (names::CHECK_TAG, &name)]));
                let samples = [Sample::flag(names::CHECKS, i % 4 != 0), Sample::new(custom, f64::from(i % 100 + vu))];
                sink.record(vu, &tags, &tags, &samples);
            }
            if vu % 3 == 0 {
                sink.drain_into(&mut total);
            }
        }
        sink.drain_into(&mut total);
        assert_eq!(total.series_count(), 2 * checks as usize);
        assert!(sink.errors().snapshot().is_empty());

        let Some(Agg::Rate { trues, total: samples }) = total.summary(names::CHECKS, |_| true) else {
            panic!("a rate")
        };
        assert_eq!((trues, samples), (u64::from(vus * checks / 4 * 3), u64::from(vus * checks)));
        let summary = total.summary(custom, |_| true).expect("recorded");
        assert_eq!(summary.count(), u64::from(vus * checks));
        let Agg::Trend(trend) = summary else { panic!("a trend") };
        assert_eq!((trend.min(), trend.max()), (0.0, 99.0 + 7.0));
        // i % 100 averages 49.5 and the VU ids 0..8 add 3.5.
        assert!((trend.avg() - 53.0).abs() < 1e-9, "{}", trend.avg());
        // The distribution is symmetric about 53; 3 significant digits.
        assert!((trend.quantile(0.5) - 53.0).abs() <= 0.053, "{}", trend.quantile(0.5));

        let by_name = total.by_tag(names::CHECKS, names::CHECK_TAG);
        assert_eq!(by_name.len(), checks as usize);
        assert_eq!(by_name[0].0, "check 00000");
        assert!(matches!(by_name[0].1, Agg::Rate { trues: 0, total: 8 }));
        assert!(matches!(by_name[4_999].1, Agg::Rate { trues: 8, total: 8 }));
        let one = total.summary(custom, |tags| tags.get(names::CHECK_TAG) == Some("check 00042")).expect("recorded");
        assert_eq!(one.count(), u64::from(vus));
    }
}
