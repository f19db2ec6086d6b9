//! Aggregates per metric kind and their exact merge, and the run's
//! [`Aggregate`]: every series (metric × tag set) grouped by metric, so a
//! summary of one metric walks only that metric's series and the whole
//! summary walks each series once. Trends keep an HDR histogram (values ×
//! 1000, so milliseconds at microsecond resolution, 3 significant digits)
//! plus exact count, sum, min and max: percentiles come from the
//! histogram, never from averages of averages.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use hdrhistogram::Histogram;

use super::{MetricId, MetricKind, TagMap, TagSet};

/// Trend values are stored as integers of this many per unit.
const TREND_SCALE: f64 = 1000.0;

/// The largest value a trend takes (larger ones are refused where plugins
/// give them): scaled, it stays within the histogram's range.
pub const MAX_TREND_VALUE: f64 = 1e15;

/// A trend's samples. The histogram grows with the largest value seen
/// (16 KiB, plus 8 KiB each time that value doubles past 2.048), so it
/// resizes a few times per run, not per sample or per drain.
#[derive(Clone)]
pub struct TrendAgg {
    hist: Histogram<u64>,
    count: u64,
    sum: f64,
    min: f64,
    max: f64,
}

impl TrendAgg {
    fn new() -> Self {
        TrendAgg {
            hist: Histogram::new(3).expect("3 significant digits is a valid precision"),
            count: 0,
            sum: 0.0,
            min: f64::INFINITY,
            max: f64::NEG_INFINITY,
        }
    }

    /// Adds samples, each a finite number from 0 to [`MAX_TREND_VALUE`].
    pub(super) fn record_all(&mut self, values: &[f64]) {
        for &value in values {
            // In range, so an auto-resizing histogram takes it.
            let _ = self.hist.record((value * TREND_SCALE).round() as u64);
            self.sum += value;
            self.min = self.min.min(value);
            self.max = self.max.max(value);
        }
        self.count += values.len() as u64;
    }

    fn merge(&mut self, other: &TrendAgg) {
        let _ = self.hist.add(&other.hist);
        self.count += other.count;
        self.sum += other.sum;
        self.min = self.min.min(other.min);
        self.max = self.max.max(other.max);
    }

    /// The value at quantile `q` (0..=1), e.g. 0.95 for p(95).
    pub fn quantile(&self, q: f64) -> f64 {
        if self.count == 0 {
            return 0.0;
        }
        // Clamp the histogram's bucket value into the exact range seen.
        (self.hist.value_at_quantile(q) as f64 / TREND_SCALE).clamp(self.min, self.max)
    }

    pub fn avg(&self) -> f64 {
        if self.count == 0 { 0.0 } else { self.sum / self.count as f64 }
    }

    /// The smallest sample (0 when empty).
    pub fn min(&self) -> f64 {
        if self.count == 0 { 0.0 } else { self.min }
    }

    /// The largest sample (0 when empty).
    pub fn max(&self) -> f64 {
        if self.count == 0 { 0.0 } else { self.max }
    }
}

/// The aggregate of one metric over one series (or several merged).
#[derive(Clone)]
pub enum Agg {
    Counter {
        sum: f64,
    },
    /// `at`: when the value was written (`None`: never), so merging keeps
    /// the latest write whichever shard it came from.
    Gauge {
        value: f64,
        min: f64,
        max: f64,
        at: Option<Instant>,
    },
    Trend(Box<TrendAgg>),
    Rate {
        trues: u64,
        total: u64,
    },
}

/// A merged aggregate, ready for a summary.
pub type MetricSummary = Agg;

impl Agg {
    pub fn new(kind: MetricKind) -> Self {
        match kind {
            MetricKind::Counter => Agg::Counter { sum: 0.0 },
            MetricKind::Gauge => Agg::Gauge { value: 0.0, min: f64::INFINITY, max: f64::NEG_INFINITY, at: None },
            MetricKind::Trend => Agg::Trend(Box::new(TrendAgg::new())),
            MetricKind::Rate => Agg::Rate { trues: 0, total: 0 },
        }
    }

    pub fn merge(&mut self, other: &Agg) {
        match (self, other) {
            (Agg::Counter { sum }, Agg::Counter { sum: o }) => *sum += o,
            (Agg::Gauge { value, min, max, at }, Agg::Gauge { value: ov, min: omin, max: omax, at: oat }) => {
                if *oat > *at {
                    *value = *ov;
                    *at = *oat;
                }
                *min = min.min(*omin);
                *max = max.max(*omax);
            }
            (Agg::Trend(t), Agg::Trend(o)) => t.merge(o),
            (Agg::Rate { trues, total }, Agg::Rate { trues: ot, total: oo }) => {
                *trues += ot;
                *total += oo;
            }
            _ => debug_assert!(false, "merging aggregates of different kinds"),
        }
    }

    /// The kind of metric this aggregates.
    pub fn kind(&self) -> MetricKind {
        match self {
            Agg::Counter { .. } => MetricKind::Counter,
            Agg::Gauge { .. } => MetricKind::Gauge,
            Agg::Trend(_) => MetricKind::Trend,
            Agg::Rate { .. } => MetricKind::Rate,
        }
    }

    /// Samples for trends and rates, the total for counters, writes for gauges.
    pub fn count(&self) -> u64 {
        match self {
            Agg::Counter { sum } => *sum as u64,
            Agg::Gauge { at, .. } => u64::from(at.is_some()),
            Agg::Trend(t) => t.count,
            Agg::Rate { total, .. } => *total,
        }
    }

    /// The share of true samples of a rate (0 when empty or not a rate).
    pub fn rate(&self) -> f64 {
        match self {
            Agg::Rate { trues, total } if *total > 0 => *trues as f64 / *total as f64,
            _ => 0.0,
        }
    }

    /// k6's summary values for this aggregate, in k6's order and names.
    /// `elapsed` turns counters into per-second rates.
    pub fn values(&self, elapsed: Duration) -> Vec<(&'static str, f64)> {
        match self {
            Agg::Counter { sum } => {
                vec![("count", *sum), ("rate", per_second(*sum, elapsed))]
            }
            Agg::Gauge { value, min, max, .. } => vec![("value", *value), ("min", *min), ("max", *max)],
            Agg::Trend(t) => vec![
                ("count", t.count as f64),
                ("avg", t.avg()),
                ("min", t.min()),
                ("med", t.quantile(0.5)),
                ("max", t.max()),
                ("p(90)", t.quantile(0.90)),
                ("p(95)", t.quantile(0.95)),
                ("p(99)", t.quantile(0.99)),
            ],
            Agg::Rate { trues, total } => {
                vec![("rate", self.rate()), ("passes", *trues as f64), ("fails", (total - trues) as f64)]
            }
        }
    }
}

/// `total` spread over `elapsed`, as k6's counter rates (a zero `elapsed`
/// gives a huge rate rather than a division by zero).
pub fn per_second(total: f64, elapsed: Duration) -> f64 {
    total / elapsed.as_secs_f64().max(f64::MIN_POSITIVE)
}

/// One metric's series.
struct MetricSeries {
    id: MetricId,
    by_tags: TagMap<Agg>,
}

/// Everything a run recorded, by metric and tag set.
#[derive(Default)]
pub struct Aggregate {
    /// Indexed by the metric's registry index.
    by_metric: Vec<Option<MetricSeries>>,
}

impl Aggregate {
    /// The aggregate of series `metric` × `tags`, created empty if new.
    pub(super) fn series_mut(&mut self, metric: MetricId, tags: &TagSet) -> &mut Agg {
        if self.by_metric.len() <= metric.index() {
            self.by_metric.resize_with(metric.index() + 1, || None);
        }
        let series = self.by_metric[metric.index()]
            .get_or_insert_with(|| MetricSeries { id: metric, by_tags: TagMap::default() });
        if !series.by_tags.contains_key(tags) {
            series.by_tags.insert(tags.clone(), Agg::new(metric.kind()));
        }
        series.by_tags.get_mut(tags).expect("inserted above")
    }

    /// Every metric that has samples, in id order.
    pub fn metrics(&self) -> Vec<MetricId> {
        self.by_metric.iter().flatten().map(|series| series.id).collect()
    }

    /// How many series (metric × tag set) have samples.
    #[cfg(test)]
    pub(super) fn series_count(&self) -> usize {
        self.by_metric.iter().flatten().map(|series| series.by_tags.len()).sum()
    }

    /// The series of `metric`, by tag set (none if it has no samples).
    fn series_of(&self, metric: MetricId) -> impl Iterator<Item = (&TagSet, &Agg)> {
        let series = self.by_metric.get(metric.index()).and_then(Option::as_ref).filter(|s| s.id == metric);
        series.into_iter().flat_map(|series| series.by_tags.iter())
    }

    /// `metric` merged over every series whose tags pass `filter`.
    pub fn summary(&self, metric: MetricId, filter: impl Fn(&TagSet) -> bool) -> Option<MetricSummary> {
        let mut merged: Option<Agg> = None;
        for (_, agg) in self.series_of(metric).filter(|(tags, _)| filter(tags)) {
            match &mut merged {
                Some(m) => m.merge(agg),
                None => merged = Some(agg.clone()),
            }
        }
        merged
    }

    /// `metric` merged per value of tag `key` (e.g. each check by name), sorted by value.
    pub fn by_tag(&self, metric: MetricId, key: &str) -> Vec<(String, MetricSummary)> {
        self.by_tags(metric, &[key]).into_iter().map(|(mut values, agg)| (values.remove(0), agg)).collect()
    }

    /// `metric` merged per combination of the values of tags `keys`, sorted:
    /// a series without the first tag is left out; another missing tag
    /// counts as "" (each check by name and group: a check outside any
    /// group has no group tag).
    pub fn by_tags(&self, metric: MetricId, keys: &[&str]) -> Vec<(Vec<String>, MetricSummary)> {
        let mut groups: BTreeMap<Vec<&str>, Agg> = BTreeMap::new();
        for (tags, agg) in self.series_of(metric) {
            if keys.first().is_some_and(|first| tags.get(first).is_none()) {
                continue;
            }
            let values: Vec<&str> = keys.iter().map(|key| tags.get(key).unwrap_or_default()).collect();
            match groups.get_mut(&values) {
                Some(merged) => merged.merge(agg),
                None => {
                    groups.insert(values, agg.clone());
                }
            }
        }
        groups.into_iter().map(|(values, agg)| (values.into_iter().map(String::from).collect(), agg)).collect()
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use super::*;

    fn trend(values: impl IntoIterator<Item = f64>) -> Agg {
        let mut agg = TrendAgg::new();
        agg.record_all(&values.into_iter().collect::<Vec<_>>());
        Agg::Trend(Box::new(agg))
    }

    #[test]
    fn trend_percentiles_come_from_the_histogram() {
        let agg = trend((1..=1000).map(f64::from));
        let values: HashMap<_, _> = agg.values(Duration::from_secs(1)).into_iter().collect();
        assert_eq!(values["count"], 1000.0);
        assert_eq!(values["min"], 1.0);
        assert_eq!(values["max"], 1000.0);
        assert!((values["avg"] - 500.5).abs() < 1e-9);
        // 3 significant digits: within 0.1% of the exact order statistic.
        assert!((values["med"] - 500.0).abs() <= 0.5, "{}", values["med"]);
        assert!((values["p(95)"] - 950.0).abs() <= 1.0, "{}", values["p(95)"]);
        assert!((values["p(99)"] - 990.0).abs() <= 1.0, "{}", values["p(99)"]);
    }

    #[test]
    fn merged_trends_equal_one_trend_of_all_samples() {
        let first: Vec<f64> = (0..500).map(|v| f64::from(v) * 0.37).collect();
        let second: Vec<f64> = (0..300).map(|v| f64::from(v) * 3.1).collect();
        let mut a = trend(first.iter().copied());
        let all = trend(first.into_iter().chain(second.iter().copied()));
        a.merge(&trend(second));
        let elapsed = Duration::from_secs(1);
        assert_eq!(a.values(elapsed).len(), all.values(elapsed).len());
        for ((name, x), (_, y)) in a.values(elapsed).into_iter().zip(all.values(elapsed)) {
            assert!((x - y).abs() < 1e-6, "{name}: {x} vs {y}");
        }
    }

    #[test]
    fn the_largest_trend_value_fits_the_histogram() {
        let agg = trend([0.0, MAX_TREND_VALUE]);
        let Agg::Trend(t) = &agg else { unreachable!() };
        assert_eq!(t.hist.len(), 2, "both values recorded");
        assert_eq!(t.quantile(1.0), MAX_TREND_VALUE);
    }

    #[test]
    fn rates_count_passes_and_fails() {
        let mut agg = Agg::new(MetricKind::Rate);
        agg.merge(&Agg::Rate { trues: 3, total: 10 });
        assert_eq!(agg.values(Duration::from_secs(1)), vec![("rate", 0.3), ("passes", 3.0), ("fails", 7.0)]);
    }

    #[test]
    fn gauges_keep_the_latest_write_across_merges() {
        let earlier = Instant::now();
        let later = earlier + Duration::from_millis(1);
        let gauge = |value: f64, at: Instant| Agg::Gauge { value, min: value, max: value, at: Some(at) };
        for (first, second) in [(gauge(5.0, earlier), gauge(2.0, later)), (gauge(2.0, later), gauge(5.0, earlier))] {
            let mut merged = Agg::new(MetricKind::Gauge);
            merged.merge(&first);
            merged.merge(&second);
            assert_eq!(merged.values(Duration::from_secs(1)), vec![("value", 2.0), ("min", 2.0), ("max", 5.0)]);
            assert_eq!(merged.count(), 1);
        }
        assert_eq!(Agg::new(MetricKind::Gauge).count(), 0);
    }
}
