//! Metric samples → per-shard accumulation → one run-wide aggregate.
//! Owns metric definitions (k6's names and kinds), tag sets, the
//! arithmetic of aggregation and the verdicts of thresholds; it never
//! prints or writes files (that is `output`).
//!
//! VUs record into one of a few shards (picked by VU id, each behind its
//! own mutex, so no lock is shared by all VUs); a collector drains the
//! shards into the [`Aggregate`] about once a second and at the end.
//! Custom metrics and series are capped per run ([`MetricLimits`]), so a
//! plugin cannot grow the host's memory without bound.

mod aggregate;
mod errors;
pub mod names;
mod recorder;
mod registry;
mod sink;
mod tags;
mod threshold;

pub use aggregate::{Agg, Aggregate, MAX_TREND_VALUE, MetricSummary, TrendAgg, per_second};
pub use errors::{ErrorLog, cut};
pub use recorder::{Recorder, TagCache};
pub use registry::{MetricError, MetricId, MetricKind, Registry, Unit};
pub use sink::{MetricLimits, Point, Sample, Sink};
pub use tags::{TagMap, TagSet};
pub use threshold::{Aggregation, Comparison, Threshold, ThresholdError, ThresholdOutcome, evaluate};
