//! The handle through which a VU (or an executor) puts samples into its
//! shard of the sink, with the scenario's tags on each, and the small
//! per-VU cache of tag sets it builds from. Tag sets come from the run's
//! interner, so the same tags from any VU are one shared value.

use std::sync::Arc;

use super::{Sample, Sink, TagSet};

/// Records samples for one VU, always into the same shard.
#[derive(Clone)]
pub struct Recorder {
    sink: Arc<Sink>,
    vu_id: u32,
    scenario: Arc<str>,
    /// The run's and the scenario's tags, on every sample.
    tags: Arc<[(String, String)]>,
    /// Those tags and `scenario` alone: where a built-in sample goes when
    /// its own series is past the cap.
    scenario_tags: TagSet,
}

impl Recorder {
    /// The recorder of VU `vu_id` (0: the scenario itself) of scenario
    /// `scenario`, whose samples all carry `tags`.
    pub fn new(sink: Arc<Sink>, vu_id: u32, scenario: Arc<str>, tags: Arc<[(String, String)]>) -> Self {
        let pairs = tags.iter().map(|(k, v)| (k.as_str(), v.as_str())).chain([("scenario", &*scenario)]);
        let scenario_tags = sink.intern(TagSet::new(pairs));
        Recorder { sink, vu_id, scenario, tags, scenario_tags }
    }

    /// A tag set of the scenario's tags, then `pairs`, then `scenario`
    /// (later keys win, so a request's tag overrides a scenario's).
    pub fn tags<'a>(&'a self, pairs: impl IntoIterator<Item = (&'a str, &'a str)>) -> TagSet {
        let base = self.tags.iter().map(|(k, v)| (k.as_str(), v.as_str()));
        self.sink.intern(TagSet::new(base.chain(pairs).chain([("scenario", &*self.scenario)])))
    }

    /// The VU this recorder records for (0: the scenario itself).
    pub fn vu_id(&self) -> u32 {
        self.vu_id
    }

    pub fn scenario(&self) -> &str {
        &self.scenario
    }

    /// Records samples that share one tag set.
    pub fn record(&self, tags: &TagSet, samples: &[Sample]) {
        self.sink.record(self.vu_id, tags, &self.scenario_tags, samples);
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
