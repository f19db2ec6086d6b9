//! The WIT `metrics` interface: custom counters, gauges, trends, rates and
//! checks, recorded through the VU's `Recorder`. It owns no aggregation.

use std::collections::HashMap;
use std::sync::Arc;

use crate::bindings::metrics::{Host, Tags};
use crate::metrics::{ErrorLog, MetricId, MetricKind, Recorder, Sample, TagCache, names};

use super::VuState;

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
            Err(err) => self.errors.report(&err.to_string()),
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
