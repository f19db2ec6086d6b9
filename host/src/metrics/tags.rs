//! Tag sets, the identity of a series: built once, shared by reference
//! count, hashed once. The run's [`Interner`] hands out one shared value
//! per distinct set, so two VUs that build equal sets get the same `Arc`
//! and comparing them in a shard's map is a pointer compare; sets built
//! apart (past the interner's cap, or in tests) still compare by content.

use std::collections::{HashMap, HashSet};
use std::hash::{BuildHasherDefault, Hash, Hasher};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

/// A sorted, deduplicated set of `key=value` tags.
#[derive(Debug, Clone)]
pub struct TagSet(Arc<Inner>);

#[derive(Debug)]
struct Inner {
    hash: u64,
    tags: Box<[(Box<str>, Box<str>)]>,
}

impl TagSet {
    /// Builds a tag set; a later pair overrides an earlier one with the same key.
    pub fn new<K: AsRef<str>, V: AsRef<str>>(pairs: impl IntoIterator<Item = (K, V)>) -> Self {
        let mut tags: Vec<(Box<str>, Box<str>)> =
            pairs.into_iter().map(|(k, v)| (k.as_ref().into(), v.as_ref().into())).collect();
        // Stable sort keeps insertion order among equal keys; keep the last.
        tags.sort_by(|a, b| a.0.cmp(&b.0));
        let mut deduped: Vec<(Box<str>, Box<str>)> = Vec::with_capacity(tags.len());
        for tag in tags {
            match deduped.last_mut() {
                Some(last) if last.0 == tag.0 => *last = tag,
                _ => deduped.push(tag),
            }
        }
        let mut hasher = std::hash::DefaultHasher::new();
        deduped.hash(&mut hasher);
        TagSet(Arc::new(Inner { hash: hasher.finish(), tags: deduped.into_boxed_slice() }))
    }

    /// The value of tag `key`.
    pub fn get(&self, key: &str) -> Option<&str> {
        let tags = &self.0.tags;
        tags.binary_search_by(|(k, _)| k.as_ref().cmp(key)).ok().map(|i| tags[i].1.as_ref())
    }

    /// All tags in key order.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &str)> {
        self.0.tags.iter().map(|(k, v)| (k.as_ref(), v.as_ref()))
    }

    /// Whether both are the very same shared value (as interned sets are).
    pub fn is_shared_with(&self, other: &TagSet) -> bool {
        Arc::ptr_eq(&self.0, &other.0)
    }
}

impl PartialEq for TagSet {
    fn eq(&self, other: &Self) -> bool {
        self.is_shared_with(other) || (self.0.hash == other.0.hash && self.0.tags == other.0.tags)
    }
}

impl Eq for TagSet {}

impl Hash for TagSet {
    fn hash<H: Hasher>(&self, state: &mut H) {
        state.write_u64(self.0.hash);
    }
}

/// A map keyed by tag sets, using the hash each set already carries.
pub type TagMap<V> = HashMap<TagSet, V, BuildHasherDefault<PrecomputedHash>>;

/// A set of tag sets, using the hash each set already carries.
type TagSetSet = HashSet<TagSet, BuildHasherDefault<PrecomputedHash>>;

/// Passes a tag set's precomputed hash through unchanged.
#[derive(Default)]
pub struct PrecomputedHash(u64);

impl Hasher for PrecomputedHash {
    fn finish(&self) -> u64 {
        self.0
    }

    fn write(&mut self, bytes: &[u8]) {
        // Only `write_u64` is used by `TagSet`; fold anything else in.
        for &b in bytes {
            self.0 = self.0.rotate_left(8) ^ u64::from(b);
        }
    }

    fn write_u64(&mut self, n: u64) {
        self.0 = n;
    }
}

/// Lock shards of the interner: VUs interning at once rarely meet.
const INTERNER_SHARDS: usize = 16;

/// The run-wide set of tag sets. Per-VU caches sit in front of it, so it is
/// consulted when a VU builds a tag set it has not used lately. It keeps at
/// most `cap` sets (each series has one, so the series cap fits); past it,
/// new sets are handed back as they are and compare by content.
pub struct Interner {
    shards: Box<[Mutex<TagSetSet>]>,
    kept: AtomicUsize,
    cap: usize,
}

impl Interner {
    pub fn new(cap: usize) -> Self {
        Interner { shards: (0..INTERNER_SHARDS).map(|_| Mutex::default()).collect(), kept: AtomicUsize::new(0), cap }
    }

    /// The shared set equal to `tags`: one interned earlier, or `tags` itself
    /// (interned now if there is room).
    pub fn intern(&self, tags: TagSet) -> TagSet {
        let shard = &self.shards[tags.0.hash as usize % self.shards.len()];
        let mut shard = shard.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(shared) = shard.get(&tags) {
            return shared.clone();
        }
        let room = self.kept.fetch_update(Ordering::Relaxed, Ordering::Relaxed, |n| (n < self.cap).then_some(n + 1));
        if room.is_ok() {
            shard.insert(tags.clone());
        }
        tags
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tag_sets_sort_and_let_later_pairs_win() {
        let tags = TagSet::new([("status", "200"), ("method", "GET"), ("status", "404")]);
        assert_eq!(tags.iter().collect::<Vec<_>>(), vec![("method", "GET"), ("status", "404")]);
        assert_eq!(tags.get("status"), Some("404"));
        assert_eq!(tags.get("name"), None);
    }

    #[test]
    fn equal_sets_built_apart_are_one_key() {
        let a = TagSet::new([("a", "1"), ("b", "2")]);
        let b = TagSet::new([("b", "2"), ("a", "1")]);
        let c = TagSet::new([("a", "1"), ("b", "3")]);
        let mut map: TagMap<u32> = TagMap::default();
        *map.entry(a).or_default() += 1;
        *map.entry(b).or_default() += 1;
        *map.entry(c).or_default() += 1;
        assert_eq!(map.len(), 2);
        assert_eq!(map.values().copied().max(), Some(2));
    }

    #[test]
    fn interned_equal_sets_are_one_value_up_to_the_cap() {
        let interner = Interner::new(2);
        let first = interner.intern(TagSet::new([("a", "1"), ("b", "2")]));
        let again = interner.intern(TagSet::new([("b", "2"), ("a", "1")]));
        assert!(again.is_shared_with(&first));
        let second = interner.intern(TagSet::new([("a", "2")]));
        assert!(interner.intern(TagSet::new([("a", "2")])).is_shared_with(&second));
        // Full: a new set comes back as built, equal by content only.
        let third = interner.intern(TagSet::new([("a", "3")]));
        let third_again = interner.intern(TagSet::new([("a", "3")]));
        assert!(!third_again.is_shared_with(&third));
        assert_eq!(third_again, third);
        // Sets interned before the cap was reached are still shared.
        assert!(interner.intern(TagSet::new([("a", "1"), ("b", "2")])).is_shared_with(&first));
    }
}
