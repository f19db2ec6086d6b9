//! Metric definitions: the built-ins plus custom metrics that plugins
//! create by using a name, up to a cap per run. Lookups by name take a read
//! lock, so callers on the hot path cache the [`MetricId`] (the VU's
//! metrics context does).

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

    /// Whether this is one of the host's metrics (which always record).
    pub fn is_builtin(self) -> bool {
        self.index() < BUILTIN.len()
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
    #[error("custom metric cap ({cap}) reached: samples of further new metric names dropped")]
    TooMany { cap: usize },
}

/// Longest part of a rejected name quoted in an error message.
const QUOTED_NAME_MAX: usize = 64;

struct Def {
    name: Box<str>,
    kind: MetricKind,
    unit: Unit,
}

/// Every metric of a run, by name and by id.
pub struct Registry {
    inner: RwLock<Inner>,
    /// Custom metrics a run may create.
    max_custom: usize,
}

struct Inner {
    defs: Vec<Def>,
    by_name: HashMap<Box<str>, MetricId>,
}

impl Default for Registry {
    fn default() -> Self {
        Registry::with_max_custom(super::MetricLimits::default().max_metrics as usize)
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
    /// The built-ins, and room for `max_custom` custom metrics.
    pub fn with_max_custom(max_custom: usize) -> Self {
        let mut inner = Inner { defs: Vec::new(), by_name: HashMap::new() };
        for &(name, kind, unit) in BUILTIN {
            inner.insert(name, kind, unit);
        }
        Registry { inner: RwLock::new(inner), max_custom }
    }

    /// The id of metric `name` of `kind`, creating it if new and the cap
    /// allows. Custom trends hold plain numbers; plugins record times in
    /// milliseconds.
    pub fn resolve(&self, name: &str, kind: MetricKind) -> Result<MetricId, MetricError> {
        let existing = self.read().by_name.get(name).copied();
        let id = match existing {
            Some(id) => id,
            None => {
                if !valid_name(name) {
                    return Err(MetricError::InvalidName(super::cut(name, QUOTED_NAME_MAX).into_owned()));
                }
                let mut inner = self.inner.write().unwrap_or_else(|e| e.into_inner());
                match inner.by_name.get(name) {
                    Some(&id) => id,
                    None if inner.defs.len() - BUILTIN.len() >= self.max_custom => {
                        return Err(MetricError::TooMany { cap: self.max_custom });
                    }
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
        // A long name is quoted in part, so the message stays one short line.
        let message = registry.resolve(&"é".repeat(10_000), MetricKind::Counter).unwrap_err().to_string();
        assert!(message.len() < 300 && message.contains("éé…"), "{message}");
    }

    #[test]
    fn custom_metrics_stop_at_the_cap_and_known_ones_still_resolve() {
        let registry = Registry::with_max_custom(2);
        let a = registry.resolve("a", MetricKind::Counter).unwrap();
        registry.resolve("b", MetricKind::Trend).unwrap();
        let err = registry.resolve("c", MetricKind::Counter).unwrap_err();
        assert_eq!(err, MetricError::TooMany { cap: 2 });
        assert_eq!(err.to_string(), "custom metric cap (2) reached: samples of further new metric names dropped");
        assert_eq!(registry.resolve("a", MetricKind::Counter), Ok(a));
        assert_eq!(registry.resolve("http_reqs", MetricKind::Counter), Ok(names::HTTP_REQS));
        assert!(names::HTTP_REQS.is_builtin() && !a.is_builtin());
    }
}
