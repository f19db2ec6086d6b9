//! Metric definitions: the built-ins plus custom metrics that plugins
//! create by using a name. Lookups by name take a read lock, so callers on
//! the hot path cache the [`MetricId`] (the VU's metrics context does).

use std::collections::HashMap;
use std::sync::RwLock;

use super::names::BUILTIN;

/// k6's four metric types.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum MetricKind {
    Counter,
    Gauge,
    Trend,
    Rate,
}

impl MetricKind {
    /// k6's lowercase name of the kind.
    pub fn as_str(self) -> &'static str {
        match self {
            MetricKind::Counter => "counter",
            MetricKind::Gauge => "gauge",
            MetricKind::Trend => "trend",
            MetricKind::Rate => "rate",
        }
    }
}

/// What a metric's values measure (k6's `contains`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Unit {
    /// Plain numbers.
    Plain,
    /// Milliseconds.
    Time,
    /// Bytes.
    Data,
}

impl Unit {
    /// k6's name of the unit in the summary export.
    pub fn as_str(self) -> &'static str {
        match self {
            Unit::Plain => "default",
            Unit::Time => "time",
            Unit::Data => "data",
        }
    }
}

/// A registered metric: its index and kind.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct MetricId {
    index: u32,
    kind: MetricKind,
}

impl MetricId {
    pub(crate) const fn new(index: u32, kind: MetricKind) -> Self {
        MetricId { index, kind }
    }

    /// The metric's kind.
    pub fn kind(self) -> MetricKind {
        self.kind
    }

    /// Position in the registry.
    pub fn index(self) -> usize {
        self.index as usize
    }
}

/// Why a plugin's metric could not be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MetricError {
    #[error(
        "invalid metric name {0:?}: use ASCII letters, digits and '_', start with a letter, at most 128 characters"
    )]
    InvalidName(String),
    #[error("metric {name:?} is a {existing}, not a {requested}")]
    KindMismatch { name: String, existing: &'static str, requested: &'static str },
}

struct Def {
    name: Box<str>,
    kind: MetricKind,
    unit: Unit,
}

/// Every metric of a run, by name and by id.
pub struct Registry {
    inner: RwLock<Inner>,
}

struct Inner {
    defs: Vec<Def>,
    by_name: HashMap<Box<str>, MetricId>,
}

impl Default for Registry {
    fn default() -> Self {
        let mut inner = Inner { defs: Vec::new(), by_name: HashMap::new() };
        for &(name, kind, unit) in BUILTIN {
            inner.insert(name, kind, unit);
        }
        Registry { inner: RwLock::new(inner) }
    }
}

impl Inner {
    fn insert(&mut self, name: &str, kind: MetricKind, unit: Unit) -> MetricId {
        let id = MetricId::new(self.defs.len() as u32, kind);
        self.defs.push(Def { name: name.into(), kind, unit });
        self.by_name.insert(name.into(), id);
        id
    }
}

impl Registry {
    /// The id of metric `name` of `kind`, creating it if new. Custom trends
    /// hold plain numbers; plugins record times in milliseconds.
    pub fn resolve(&self, name: &str, kind: MetricKind) -> Result<MetricId, MetricError> {
        let existing = self.read().by_name.get(name).copied();
        let id = match existing {
            Some(id) => id,
            None => {
                if !valid_name(name) {
                    return Err(MetricError::InvalidName(name.to_string()));
                }
                let mut inner = self.inner.write().unwrap_or_else(|e| e.into_inner());
                match inner.by_name.get(name) {
                    Some(&id) => id,
                    None => inner.insert(name, kind, Unit::Plain),
                }
            }
        };
        if id.kind != kind {
            return Err(MetricError::KindMismatch {
                name: name.to_string(),
                existing: id.kind.as_str(),
                requested: kind.as_str(),
            });
        }
        Ok(id)
    }

    /// Name and unit of a metric.
    pub fn describe(&self, id: MetricId) -> (String, Unit) {
        let inner = self.read();
        let def = &inner.defs[id.index()];
        debug_assert_eq!(def.kind, id.kind);
        (def.name.to_string(), def.unit)
    }

    /// The id of an existing metric.
    pub fn lookup(&self, name: &str) -> Option<MetricId> {
        self.read().by_name.get(name).copied()
    }

    fn read(&self) -> std::sync::RwLockReadGuard<'_, Inner> {
        self.inner.read().unwrap_or_else(|e| e.into_inner())
    }
}

/// k6's rule for metric names.
pub(crate) fn valid_name(name: &str) -> bool {
    let mut chars = name.chars();
    name.len() <= 128
        && chars.next().is_some_and(|c| c.is_ascii_alphabetic())
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::metrics::names;

    #[test]
    fn builtin_ids_match_their_names() {
        let registry = Registry::default();
        for (index, &(name, kind, _)) in BUILTIN.iter().enumerate() {
            let id = registry.lookup(name).expect("builtin registered");
            assert_eq!((id.index(), id.kind()), (index, kind), "{name}");
        }
        assert_eq!(registry.lookup("http_req_failed"), Some(names::HTTP_REQ_FAILED));
    }

    #[test]
    fn custom_metrics_keep_their_kind() {
        let registry = Registry::default();
        let id = registry.resolve("shop_visits", MetricKind::Counter).unwrap();
        assert_eq!(registry.resolve("shop_visits", MetricKind::Counter).unwrap(), id);
        assert!(matches!(registry.resolve("shop_visits", MetricKind::Trend), Err(MetricError::KindMismatch { .. })));
        assert!(matches!(registry.resolve("http_reqs", MetricKind::Rate), Err(MetricError::KindMismatch { .. })));
    }

    #[test]
    fn invalid_names_are_rejected() {
        let registry = Registry::default();
        for bad in ["", "1abc", "with space", "dash-ed", &"x".repeat(129)] {
            assert!(matches!(registry.resolve(bad, MetricKind::Counter), Err(MetricError::InvalidName(_))), "{bad}");
        }
    }
}
