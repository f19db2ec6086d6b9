//! Where VUs put samples: a handful of shards, each a map from tag set to
//! that tag set's metric aggregates behind its own mutex. A VU always uses
//! the same shard (by VU id), so shards are contended only when two VUs of
//! one shard record at the same instant, and never by all VUs at once.
//! A sink built for streaming outputs also keeps every sample as a
//! [`Point`] in its shard, under the same lock, until the collector drains it.
//! The sink also holds the run's tag set interner.

use std::sync::{Mutex, MutexGuard};
use std::time::Instant;

use super::tags::{Interner, TagMap};
use super::{Agg, Aggregate, MetricId, Registry, TagSet};

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

/// One shard's aggregates (and points, when kept) since the collector last
/// drained it.
#[derive(Default)]
pub struct Shard {
    series: TagMap<Vec<(MetricId, Agg)>>,
    /// Fixed when the sink is built, so a run without streaming outputs
    /// pays one predictable branch per `record`.
    keep_points: bool,
    points: Vec<Point>,
}

impl Shard {
    /// Records samples that share one tag set (e.g. the metrics of one request).
    pub fn record(&mut self, tags: &TagSet, samples: &[Sample]) {
        if self.keep_points {
            let at = Instant::now();
            self.points.extend(samples.iter().map(|sample| Point {
                at,
                metric: sample.metric,
                value: sample.value,
                tags: tags.clone(),
            }));
        }
        let aggs = match self.series.get_mut(tags) {
            Some(aggs) => aggs,
            None => self.series.entry(tags.clone()).or_default(),
        };
        for sample in samples {
            match aggs.iter_mut().find(|(id, _)| *id == sample.metric) {
                Some((_, agg)) => agg.add(sample.value),
                None => {
                    let mut agg = Agg::new(sample.metric.kind());
                    agg.add(sample.value);
                    aggs.push((sample.metric, agg));
                }
            }
        }
    }

    /// Takes what was recorded, leaving the shard empty but still keeping
    /// points if it did.
    fn take(&mut self) -> (TagMap<Vec<(MetricId, Agg)>>, Vec<Point>) {
        (std::mem::take(&mut self.series), std::mem::take(&mut self.points))
    }
}

/// Distinct tag sets the run interns.
const INTERNED_TAG_SETS: usize = 10_000;

/// The run's metric sink: the registry, the tag set interner and the shards.
pub struct Sink {
    pub registry: Registry,
    interner: Interner,
    shards: Box<[Mutex<Shard>]>,
}

impl Sink {
    /// A sink with a few shards per core, keeping aggregates only.
    pub fn new() -> Self {
        Self::with_shards(false)
    }

    /// A sink that also keeps every sample as a [`Point`], for streaming outputs.
    pub fn keeping_points() -> Self {
        Self::with_shards(true)
    }

    fn with_shards(keep_points: bool) -> Self {
        let cores = std::thread::available_parallelism().map_or(2, |n| n.get());
        let shard = || Mutex::new(Shard { keep_points, ..Shard::default() });
        Sink {
            registry: Registry::default(),
            interner: Interner::new(INTERNED_TAG_SETS),
            shards: (0..cores * 4).map(|_| shard()).collect(),
        }
    }

    /// The run-wide value equal to `tags`, so equal sets are one shared value.
    pub fn intern(&self, tags: TagSet) -> TagSet {
        self.interner.intern(tags)
    }

    /// The shard that VU `vu_id` records into.
    pub fn shard(&self, vu_id: u32) -> MutexGuard<'_, Shard> {
        let shard = &self.shards[vu_id as usize % self.shards.len()];
        shard.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Moves the aggregates recorded so far into `into` and returns the
    /// points recorded with them (none unless the sink keeps points).
    pub fn drain_into(&self, into: &mut Aggregate) -> Vec<Point> {
        let mut drained = Vec::new();
        for shard in self.shards.iter() {
            let (series, points) = shard.lock().unwrap_or_else(|e| e.into_inner()).take();
            into.absorb(series);
            if drained.is_empty() {
                drained = points;
            } else {
                drained.extend(points);
            }
        }
        drained
    }
}

impl Default for Sink {
    fn default() -> Self {
        Self::new()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::metrics::names;

    #[test]
    fn drained_shards_merge_exactly() {
        let sink = Sink::new();
        let tags = TagSet::new([("scenario", "default")]);
        for vu in 0..100u32 {
            sink.shard(vu)
                .record(&tags, &[Sample::new(names::HTTP_REQS, 1.0), Sample::new(names::HTTP_REQ_DURATION, vu as f64)]);
        }
        let mut total = Aggregate::default();
        sink.drain_into(&mut total);
        sink.drain_into(&mut total);
        let reqs = total.summary(names::HTTP_REQS, |_| true).expect("recorded");
        assert_eq!(reqs.count(), 100);
        let duration = total.summary(names::HTTP_REQ_DURATION, |_| true).expect("recorded");
        assert_eq!(duration.count(), 100);
    }

    #[test]
    fn only_a_sink_keeping_points_returns_them() {
        let tags = TagSet::new([("scenario", "default")]);
        let samples = [Sample::new(names::HTTP_REQS, 1.0), Sample::new(names::HTTP_REQ_DURATION, 2.5)];
        let plain = Sink::new();
        let keeping = Sink::keeping_points();
        for vu in 0..10u32 {
            plain.shard(vu).record(&tags, &samples);
            keeping.shard(vu).record(&tags, &samples);
        }
        let mut total = Aggregate::default();
        assert!(plain.drain_into(&mut total).is_empty());
        let points = keeping.drain_into(&mut total);
        assert_eq!(points.len(), 20);
        assert_eq!(points.iter().filter(|p| p.metric == names::HTTP_REQ_DURATION && p.value == 2.5).count(), 10);
        assert!(points.iter().all(|p| p.tags == tags));
        // A drained shard keeps recording points.
        keeping.shard(0).record(&tags, &samples[..1]);
        assert_eq!(keeping.drain_into(&mut total).len(), 1);
        assert_eq!(total.summary(names::HTTP_REQS, |_| true).expect("recorded").count(), 21);
    }
}
