//! Aggregates per metric kind and their exact merge. Trends keep an HDR
//! histogram (values × 1000, so milliseconds at microsecond resolution,
//! 3 significant digits) plus exact count, sum, min and max: percentiles
//! come from the histogram, never from averages of averages.

use std::collections::BTreeSet;
use std::time::Duration;

use hdrhistogram::Histogram;

use super::{MetricId, MetricKind, TagMap, TagSet};

/// Trend values are stored as integers of this many per unit.
const TREND_SCALE: f64 = 1000.0;

/// A trend's samples.
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

    fn add(&mut self, value: f64) {
        let value = if value.is_finite() { value.max(0.0) } else { 0.0 };
        // An auto-resizing histogram only fails on values beyond u64 range.
        let _ = self.hist.record((value * TREND_SCALE).round() as u64);
        self.count += 1;
        self.sum += value;
        self.min = self.min.min(value);
        self.max = self.max.max(value);
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
    Counter { sum: f64 },
    Gauge { value: f64, min: f64, max: f64, seq: u64 },
    Trend(Box<TrendAgg>),
    Rate { trues: u64, total: u64 },
}

/// A merged aggregate, ready for a summary.
pub type MetricSummary = Agg;

/// Orders gauge writes across shards, so "last value" means the latest write.
static GAUGE_SEQ: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);

impl Agg {
    pub fn new(kind: MetricKind) -> Self {
        match kind {
            MetricKind::Counter => Agg::Counter { sum: 0.0 },
            MetricKind::Gauge => Agg::Gauge { value: 0.0, min: f64::INFINITY, max: f64::NEG_INFINITY, seq: 0 },
            MetricKind::Trend => Agg::Trend(Box::new(TrendAgg::new())),
            MetricKind::Rate => Agg::Rate { trues: 0, total: 0 },
        }
    }

    pub fn add(&mut self, v: f64) {
        match self {
            Agg::Counter { sum } => *sum += v,
            Agg::Gauge { value, min, max, seq } => {
                *value = v;
                *min = min.min(v);
                *max = max.max(v);
                *seq = GAUGE_SEQ.fetch_add(1, std::sync::atomic::Ordering::Relaxed) + 1;
            }
            Agg::Trend(t) => t.add(v),
            Agg::Rate { trues, total } => {
                *trues += u64::from(v != 0.0);
                *total += 1;
            }
        }
    }

    pub fn merge(&mut self, other: &Agg) {
        match (self, other) {
            (Agg::Counter { sum }, Agg::Counter { sum: o }) => *sum += o,
            (Agg::Gauge { value, min, max, seq }, Agg::Gauge { value: ov, min: omin, max: omax, seq: oseq }) => {
                if oseq > seq {
                    *value = *ov;
                    *seq = *oseq;
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
            Agg::Gauge { seq, .. } => u64::from(*seq > 0),
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

/// Everything a run recorded, by tag set and metric.
#[derive(Default)]
pub struct Aggregate {
    series: TagMap<Vec<(MetricId, Agg)>>,
}

impl Aggregate {
    pub(super) fn absorb(&mut self, series: TagMap<Vec<(MetricId, Agg)>>) {
        for (tags, aggs) in series {
            let mine = self.series.entry(tags).or_default();
            for (id, agg) in aggs {
                match mine.iter_mut().find(|(m, _)| *m == id) {
                    Some((_, existing)) => existing.merge(&agg),
                    None => mine.push((id, agg)),
                }
            }
        }
    }

    /// Every metric that has samples, in id order.
    pub fn metrics(&self) -> Vec<MetricId> {
        let ids: BTreeSet<MetricId> = self.series.values().flatten().map(|(id, _)| *id).collect();
        ids.into_iter().collect()
    }

    /// `metric` merged over every series whose tags pass `filter`.
    pub fn summary(&self, metric: MetricId, filter: impl Fn(&TagSet) -> bool) -> Option<MetricSummary> {
        let mut merged: Option<Agg> = None;
        for (tags, aggs) in &self.series {
            if !filter(tags) {
                continue;
            }
            if let Some((_, agg)) = aggs.iter().find(|(id, _)| *id == metric) {
                match &mut merged {
                    Some(m) => m.merge(agg),
                    None => merged = Some(agg.clone()),
                }
            }
        }
        merged
    }

    /// `metric` merged per value of tag `key` (e.g. each check by name), sorted by value.
    pub fn by_tag(&self, metric: MetricId, key: &str) -> Vec<(String, MetricSummary)> {
        let mut groups: Vec<(String, Agg)> = Vec::new();
        for (tags, aggs) in &self.series {
            let (Some(value), Some((_, agg))) = (tags.get(key), aggs.iter().find(|(id, _)| *id == metric)) else {
                continue;
            };
            match groups.iter_mut().find(|(v, _)| v == value) {
                Some((_, m)) => m.merge(agg),
                None => groups.push((value.to_string(), agg.clone())),
            }
        }
        groups.sort_by(|a, b| a.0.cmp(&b.0));
        groups
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use super::*;

    #[test]
    fn trend_percentiles_come_from_the_histogram() {
        let mut agg = Agg::new(MetricKind::Trend);
        for ms in 1..=1000 {
            agg.add(ms as f64);
        }
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
        let (mut a, mut b, mut all) =
            (Agg::new(MetricKind::Trend), Agg::new(MetricKind::Trend), Agg::new(MetricKind::Trend));
        for v in 0..500 {
            a.add(v as f64 * 0.37);
            all.add(v as f64 * 0.37);
        }
        for v in 0..300 {
            b.add(v as f64 * 3.1);
            all.add(v as f64 * 3.1);
        }
        a.merge(&b);
        let elapsed = Duration::from_secs(1);
        assert_eq!(a.values(elapsed).len(), all.values(elapsed).len());
        for ((name, x), (_, y)) in a.values(elapsed).into_iter().zip(all.values(elapsed)) {
            assert!((x - y).abs() < 1e-6, "{name}: {x} vs {y}");
        }
    }

    #[test]
    fn rates_count_passes_and_fails() {
        let mut agg = Agg::new(MetricKind::Rate);
        for i in 0..10 {
            agg.add(if i < 3 { 1.0 } else { 0.0 });
        }
        assert_eq!(agg.values(Duration::from_secs(1)), vec![("rate", 0.3), ("passes", 3.0), ("fails", 7.0)]);
    }

    #[test]
    fn gauges_keep_the_latest_write_across_merges() {
        let (mut first, mut second) = (Agg::new(MetricKind::Gauge), Agg::new(MetricKind::Gauge));
        first.add(5.0);
        second.add(2.0);
        first.merge(&second);
        assert_eq!(first.values(Duration::from_secs(1)), vec![("value", 2.0), ("min", 2.0), ("max", 5.0)]);
    }
}
