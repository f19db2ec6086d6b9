//! Tag sets, the identity of a series: built once, shared by reference
//! count, hashed once. Recording a sample costs a pointer compare and a
//! precomputed hash, not a walk over strings.

use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hash, Hasher};
use std::sync::Arc;

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
}

impl PartialEq for TagSet {
    fn eq(&self, other: &Self) -> bool {
        Arc::ptr_eq(&self.0, &other.0) || (self.0.hash == other.0.hash && self.0.tags == other.0.tags)
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
}
