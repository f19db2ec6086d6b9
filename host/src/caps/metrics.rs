//! The WIT `metrics` interface: custom counters, gauges, trends, rates and
//! checks. Also the [`Recorder`], the handle through which every capability
//! puts samples into the VU's shard. It owns no aggregation.

use std::collections::HashMap;
use std::sync::Arc;

use crate::bindings::metrics::{Host, Tags};
use crate::exec::ErrorLog;
use crate::metrics::{MetricId, MetricKind, Sample, Sink, TagSet, names};

use super::{RunShared, VuState};

/// Records samples for one VU, always into the same shard.
#[derive(Clone)]
pub struct Recorder {
    sink: Arc<Sink>,
    vu_id: u32,
    scenario: Arc<str>,
    /// The run's and the scenario's tags, on every sample.
    tags: Arc<[(String, String)]>,
}

impl Recorder {
    /// The recorder of VU `vu_id` (0: the scenario itself) of `shared`'s scenario.
    pub fn new(shared: &RunShared, vu_id: u32) -> Self {
        Recorder { sink: shared.sink.clone(), vu_id, scenario: shared.scenario.clone(), tags: shared.tags.clone() }
    }

    /// A tag set of the scenario's tags, then `pairs`, then `scenario`
    /// (later keys win, so a request's tag overrides a scenario's).
    pub fn tags<'a>(&'a self, pairs: impl IntoIterator<Item = (&'a str, &'a str)>) -> TagSet {
        let base = self.tags.iter().map(|(k, v)| (k.as_str(), v.as_str()));
        TagSet::new(base.chain(pairs).chain([("scenario", &*self.scenario)]))
    }

    /// Records samples that share one tag set.
    pub fn record(&self, tags: &TagSet, samples: &[Sample]) {
        self.sink.shard(self.vu_id).record(tags, samples);
    }

    pub fn sink(&self) -> &Sink {
        &self.sink
    }
}

/// A VU's recently used tag sets, found by the values they were made from,
/// so a VU repeating the same request or check builds its tag set once.
pub struct TagCache<K> {
    entries: Vec<(K, TagSet)>,
    next: usize,
}

impl<K> Default for TagCache<K> {
    fn default() -> Self {
        TagCache { entries: Vec::new(), next: 0 }
    }
}

impl<K> TagCache<K> {
    /// Entries kept; beyond this the oldest is replaced.
    const CAPACITY: usize = 16;

    /// The cached tag set whose key `matches`, or a new one from `make`.
    pub fn get(&mut self, matches: impl Fn(&K) -> bool, make: impl FnOnce() -> (K, TagSet)) -> TagSet {
        if let Some((_, tags)) = self.entries.iter().find(|(key, _)| matches(key)) {
            return tags.clone();
        }
        let (key, tags) = make();
        if self.entries.len() < Self::CAPACITY {
            self.entries.push((key, tags.clone()));
        } else {
            self.entries[self.next] = (key, tags.clone());
            self.next = (self.next + 1) % Self::CAPACITY;
        }
        tags
    }
}

/// Per-VU state of the `metrics` interface.
pub struct MetricsCtx {
    recorder: Recorder,
    errors: Arc<ErrorLog>,
    /// Ids of custom metrics this VU used, so the registry's lock is taken
    /// once per name and VU rather than per sample.
    ids: HashMap<String, MetricId>,
    /// Tag sets of checks without extra tags, by check name.
    checks: TagCache<String>,
}

impl MetricsCtx {
    pub fn new(recorder: Recorder, errors: Arc<ErrorLog>) -> Self {
        MetricsCtx { recorder, errors, ids: HashMap::new(), checks: TagCache::default() }
    }

    fn add(&mut self, name: String, kind: MetricKind, value: f64, tags: Tags) {
        let id = match self.ids.get(&name) {
            Some(&id) if id.kind() == kind => Ok(id),
            _ => self.recorder.sink().registry.resolve(&name, kind),
        };
        match id {
            Ok(id) => {
                let tags = self.recorder.tags(tags.iter().map(|(k, v)| (k.as_str(), v.as_str())));
                self.recorder.record(&tags, &[Sample::new(id, value)]);
                self.ids.entry(name).or_insert(id);
            }
            Err(err) => self.errors.report(err.to_string()),
        }
    }
}

impl Host for VuState {
    fn counter_add(&mut self, name: String, value: f64, tags: Tags) -> wasmtime::Result<()> {
        self.metrics.add(name, MetricKind::Counter, value, tags);
        Ok(())
    }

    fn gauge_set(&mut self, name: String, value: f64, tags: Tags) -> wasmtime::Result<()> {
        self.metrics.add(name, MetricKind::Gauge, value, tags);
        Ok(())
    }

    fn trend_add(&mut self, name: String, value: f64, tags: Tags) -> wasmtime::Result<()> {
        self.metrics.add(name, MetricKind::Trend, value, tags);
        Ok(())
    }

    fn rate_add(&mut self, name: String, value: bool, tags: Tags) -> wasmtime::Result<()> {
        self.metrics.add(name, MetricKind::Rate, f64::from(u8::from(value)), tags);
        Ok(())
    }

    fn check(&mut self, name: String, passed: bool, tags: Tags) -> wasmtime::Result<bool> {
        let metrics = &mut self.metrics;
        let recorder = &metrics.recorder;
        let check_tag = (names::CHECK_TAG, name.as_str());
        let tag_set = if tags.is_empty() {
            metrics.checks.get(|cached| *cached == name, || (name.clone(), recorder.tags([check_tag])))
        } else {
            recorder.tags(tags.iter().map(|(k, v)| (k.as_str(), v.as_str())).chain([check_tag]))
        };
        metrics.recorder.record(&tag_set, &[Sample::flag(names::CHECKS, passed)]);
        Ok(passed)
    }
}
