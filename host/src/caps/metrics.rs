//! The WIT `metrics` interface: custom counters, gauges, trends, rates and
//! checks, recorded through the VU's `Recorder`. It owns no aggregation.
//! It checks what a plugin gives: a value a metric cannot take, too many
//! tags or an oversized one drops the sample and is counted in the error
//! log, naming the metric. A VU repeating a metric or check with the same
//! tags reuses the tag set it built the first time. Live (`vespid dev`),
//! each check is also printed as it happens.

use std::collections::HashMap;
use std::sync::Arc;

use crate::bindings::metrics::{Host, Tags};
use crate::metrics::{ErrorLog, MAX_TREND_VALUE, MetricId, MetricKind, Recorder, Sample, TagCache, cut, names};

use super::{VuState, live};

/// Most tags one sample may carry from a plugin.
pub const MAX_TAGS: usize = 32;
/// Longest tag key, in bytes.
pub const MAX_TAG_KEY_BYTES: usize = 128;
/// Longest tag value (and check name), in bytes.
pub const MAX_TAG_VALUE_BYTES: usize = 1024;
/// Metric ids a VU keeps at hand; more names than this go to the registry each time.
const CACHED_IDS: usize = 32;
/// Tags of at most this many bytes are cached per VU; larger ones are
/// built per sample, so a VU's cache stays a few KiB whatever a plugin sends.
const CACHED_TAGS_BYTES: usize = 256;

/// Per-VU state of the `metrics` interface.
pub struct MetricsCtx {
    recorder: Recorder,
    errors: Arc<ErrorLog>,
    /// Ids of custom metrics this VU used, so the registry's lock is taken
    /// once per name and VU rather than per sample.
    ids: HashMap<String, MetricId>,
    /// Tag sets of custom metrics, by the plugin's tags.
    tags: TagCache<Tags>,
    /// Tag sets of checks, by check name and the plugin's tags.
    checks: TagCache<(String, Tags)>,
    /// Print each check (`vespid dev`).
    live: bool,
}

impl MetricsCtx {
    pub fn new(recorder: Recorder, errors: Arc<ErrorLog>, live: bool) -> Self {
        let (ids, tags, checks) = (HashMap::new(), TagCache::default(), TagCache::default());
        MetricsCtx { recorder, errors, ids, tags, checks, live }
    }

    fn add(&mut self, name: String, kind: MetricKind, value: f64, tags: Tags) {
        if let Err(problem) = self.try_add(name, kind, value, tags) {
            self.errors.report(&problem);
        }
    }

    fn try_add(&mut self, name: String, kind: MetricKind, value: f64, tags: Tags) -> Result<(), String> {
        let id = match self.ids.get(&name) {
            Some(&id) if id.kind() == kind => id,
            _ => self.recorder.sink().registry.resolve(&name, kind).map_err(|err| err.to_string())?,
        };
        check_value(&name, kind, value)?;
        check_tags(&tags).map_err(|problem| format!("{} {name}: {problem} (sample dropped)", kind.as_str()))?;
        let recorder = &self.recorder;
        let make = |tags: Tags| {
            let set = recorder.tags(tags.iter().map(|(k, v)| (k.as_str(), v.as_str())));
            (tags, set)
        };
        let set = if cacheable(&tags) {
            self.tags.get(|cached| *cached == tags, || make(tags.clone()))
        } else {
            make(tags).1
        };
        self.recorder.record(&set, &[Sample::new(id, value)]);
        if self.ids.len() < CACHED_IDS && !self.ids.contains_key(&name) {
            self.ids.insert(name, id);
        }
        Ok(())
    }

    fn record_check(&mut self, name: String, passed: bool, tags: Tags) -> Result<(), String> {
        let problem = if name.len() > MAX_TAG_VALUE_BYTES {
            Err(format!("name longer than {MAX_TAG_VALUE_BYTES} bytes"))
        } else {
            check_tags(&tags)
        };
        problem.map_err(|problem| format!("check {:?}: {problem} (sample dropped)", cut(&name, 64)))?;
        let recorder = &self.recorder;
        let make = |name: String, tags: Tags| {
            let pairs = tags.iter().map(|(k, v)| (k.as_str(), v.as_str()));
            let set = recorder.tags(pairs.chain([(names::CHECK_TAG, name.as_str())]));
            ((name, tags), set)
        };
        let set = if cacheable(&tags) && name.len() <= CACHED_TAGS_BYTES {
            self.checks.get(|(n, t)| *n == name && *t == tags, || make(name.clone(), tags.clone()))
        } else {
            make(name, tags).1
        };
        self.recorder.record(&set, &[Sample::flag(names::CHECKS, passed)]);
        Ok(())
    }
}

/// Whether `value` is one a metric of `kind` takes.
fn check_value(name: &str, kind: MetricKind, value: f64) -> Result<(), String> {
    let kind_name = kind.as_str();
    match kind {
        MetricKind::Trend if !(value.is_finite() && value >= 0.0) => {
            Err(format!("{kind_name} {name}: value {value} is not a finite number >= 0 (sample dropped)"))
        }
        MetricKind::Trend if value > MAX_TREND_VALUE => Err(format!(
            "{kind_name} {name}: value {value} is above {MAX_TREND_VALUE:e}, a trend's largest (sample dropped)"
        )),
        MetricKind::Counter | MetricKind::Gauge if !value.is_finite() => {
            Err(format!("{kind_name} {name}: value {value} is not a finite number (sample dropped)"))
        }
        _ => Ok(()),
    }
}

/// Why a plugin's tags cannot tag a sample, if they cannot.
fn check_tags(tags: &Tags) -> Result<(), String> {
    if tags.len() > MAX_TAGS {
        return Err(format!("{} tags, more than {MAX_TAGS}", tags.len()));
    }
    for (key, value) in tags {
        if key.len() > MAX_TAG_KEY_BYTES {
            return Err(format!("tag key {:?} longer than {MAX_TAG_KEY_BYTES} bytes", cut(key, 64)));
        }
        if value.len() > MAX_TAG_VALUE_BYTES {
            return Err(format!("tag {key:?} has a value longer than {MAX_TAG_VALUE_BYTES} bytes"));
        }
    }
    Ok(())
}

/// Whether tags are small enough to keep in a VU's cache.
fn cacheable(tags: &Tags) -> bool {
    tags.iter().map(|(k, v)| k.len() + v.len()).sum::<usize>() <= CACHED_TAGS_BYTES
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
        // Off, this is the only cost: one branch.
        if self.metrics.live {
            let mark = if passed { '✓' } else { '✗' };
            live::line(self.vu.id(), self.vu.iteration(), format_args!("{mark} {}", cut(&name, 256)));
        }
        if let Err(problem) = self.metrics.record_check(name, passed, tags) {
            self.metrics.errors.report(&problem);
        }
        Ok(passed)
    }
}

#[cfg(test)]
mod tests {
    use crate::metrics::{Aggregate, Sink, TagSet};

    use super::*;

    /// The metrics context of VU `vu_id` recording into `sink`.
    fn vu(sink: &Arc<Sink>, vu_id: u32) -> MetricsCtx {
        let tags: Arc<[(String, String)]> = Arc::new([("env".to_string(), "test".to_string())]);
        MetricsCtx::new(Recorder::new(sink.clone(), vu_id, "s".into(), tags), sink.errors().clone(), false)
    }

    /// The tag set `ctx` has cached for custom metrics tagged `tags`.
    fn cached(ctx: &mut MetricsCtx, tags: &Tags) -> TagSet {
        ctx.tags.get(|cached| cached == tags, || panic!("not cached: {tags:?}"))
    }

    #[test]
    fn vus_reuse_one_shared_tag_set_per_distinct_tags() {
        let sink = Arc::new(Sink::new());
        let (mut first, mut second) = (vu(&sink, 1), vu(&sink, 2));
        let tags: Tags = vec![("page".to_string(), "home".to_string())];
        for ctx in [&mut first, &mut second] {
            for _ in 0..3 {
                ctx.add("visits".to_string(), MetricKind::Counter, 1.0, tags.clone());
                ctx.record_check("ok".to_string(), true, tags.clone()).expect("recorded");
            }
        }
        let (mine, theirs) = (cached(&mut first, &tags), cached(&mut second, &tags));
        assert!(mine.is_shared_with(&theirs), "one interned value for both VUs");
        assert_eq!(mine.iter().collect::<Vec<_>>(), vec![("env", "test"), ("page", "home"), ("scenario", "s")]);
        let check = first.checks.get(|(n, t)| n == "ok" && *t == tags, || panic!("check not cached"));
        assert_eq!(check.get(names::CHECK_TAG), Some("ok"));

        let mut total = Aggregate::default();
        sink.drain_into(&mut total);
        let visits = sink.registry.lookup("visits").expect("registered");
        assert_eq!(total.by_tag(visits, "page").len(), 1);
        assert_eq!(total.summary(visits, |_| true).expect("recorded").count(), 6);
        assert_eq!(total.summary(names::CHECKS, |_| true).expect("recorded").count(), 6);
        assert!(sink.errors().snapshot().is_empty());
    }

    #[test]
    fn a_refused_sample_is_reported_and_not_recorded() {
        let sink = Arc::new(Sink::new());
        let mut ctx = vu(&sink, 1);
        ctx.add("latency".to_string(), MetricKind::Trend, -3.0, Vec::new());
        ctx.add("latency".to_string(), MetricKind::Trend, 4.0, vec![("k".to_string(), "v".repeat(2000))]);
        ctx.add("latency".to_string(), MetricKind::Counter, 1.0, Vec::new());
        let problem = ctx.record_check("c".repeat(2000), true, Vec::new()).unwrap_err();
        assert!(
            problem.starts_with("check \"cccc") && problem.ends_with(": name longer than 1024 bytes (sample dropped)")
        );
        let mut total = Aggregate::default();
        sink.drain_into(&mut total);
        assert!(total.metrics().is_empty(), "nothing recorded");
        let messages: Vec<String> = sink.errors().snapshot().into_iter().map(|(m, _)| m).collect();
        assert_eq!(
            messages,
            vec![
                "metric \"latency\" is a trend, not a counter",
                "trend latency: tag \"k\" has a value longer than 1024 bytes (sample dropped)",
                "trend latency: value -3 is not a finite number >= 0 (sample dropped)",
            ]
        );
    }

    #[test]
    fn values_a_metric_cannot_take_are_named() {
        assert_eq!(
            check_value("x", MetricKind::Trend, -3.0),
            Err("trend x: value -3 is not a finite number >= 0 (sample dropped)".to_string())
        );
        assert_eq!(
            check_value("x", MetricKind::Trend, f64::NAN),
            Err("trend x: value NaN is not a finite number >= 0 (sample dropped)".to_string())
        );
        assert_eq!(
            check_value("x", MetricKind::Trend, 2e15),
            Err("trend x: value 2000000000000000 is above 1e15, a trend's largest (sample dropped)".to_string())
        );
        assert_eq!(
            check_value("g", MetricKind::Gauge, f64::NEG_INFINITY),
            Err("gauge g: value -inf is not a finite number (sample dropped)".to_string())
        );
        assert_eq!(check_value("c", MetricKind::Counter, -2.5), Ok(()));
        assert_eq!(check_value("x", MetricKind::Trend, 0.0), Ok(()));
        assert_eq!(check_value("x", MetricKind::Trend, MAX_TREND_VALUE), Ok(()));
    }

    #[test]
    fn tags_are_limited_in_number_and_size() {
        let tag = |k: &str, v: &str| (k.to_string(), v.to_string());
        assert_eq!(check_tags(&vec![tag("a", "b"); MAX_TAGS]), Ok(()));
        assert_eq!(check_tags(&vec![tag("a", "b"); MAX_TAGS + 1]), Err("33 tags, more than 32".to_string()));
        let long_key = "k".repeat(MAX_TAG_KEY_BYTES + 1);
        assert!(check_tags(&vec![tag(&long_key, "v")]).unwrap_err().starts_with("tag key \"kkkk"));
        assert_eq!(
            check_tags(&vec![tag("k", &"v".repeat(MAX_TAG_VALUE_BYTES + 1))]),
            Err("tag \"k\" has a value longer than 1024 bytes".to_string())
        );
    }
}
