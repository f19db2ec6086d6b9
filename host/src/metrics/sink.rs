//! Where VUs put samples: a handful of shards, each a map from tag set to
//! that tag set's metric aggregates behind its own mutex. A VU always uses
//! the same shard (by VU id), so shards are contended only when two VUs of
//! one shard record at the same instant, and never by all VUs at once.

use std::sync::{Mutex, MutexGuard};

use super::tags::TagMap;
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

/// One shard's aggregates since the collector last drained it.
#[derive(Default)]
pub struct Shard {
    series: TagMap<Vec<(MetricId, Agg)>>,
}

impl Shard {
    /// Records samples that share one tag set (e.g. the metrics of one request).
    pub fn record(&mut self, tags: &TagSet, samples: &[Sample]) {
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

    pub(super) fn into_series(self) -> TagMap<Vec<(MetricId, Agg)>> {
        self.series
    }
}

/// The run's metric sink: the registry and the shards.
pub struct Sink {
    pub registry: Registry,
    shards: Box<[Mutex<Shard>]>,
}

impl Sink {
    /// A sink with a few shards per core.
    pub fn new() -> Self {
        let cores = std::thread::available_parallelism().map_or(2, |n| n.get());
        Sink { registry: Registry::default(), shards: (0..cores * 4).map(|_| Mutex::default()).collect() }
    }

    /// The shard that VU `vu_id` records into.
    pub fn shard(&self, vu_id: u32) -> MutexGuard<'_, Shard> {
        let shard = &self.shards[vu_id as usize % self.shards.len()];
        shard.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Moves everything recorded so far into `into`.
    pub fn drain_into(&self, into: &mut Aggregate) {
        for shard in self.shards.iter() {
            let taken = std::mem::take(&mut *shard.lock().unwrap_or_else(|e| e.into_inner()));
            into.absorb(taken.into_series());
        }
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
}
