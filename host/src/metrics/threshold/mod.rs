//! k6 thresholds: parsing `metric{tag:value}` keys with expressions like
//! `p(95) < 500`, and judging them against a run's aggregate. It never
//! reads run files, prints or decides exit codes (config, output and the
//! orchestrator do).

use std::fmt;
use std::time::Duration;

use super::names::BUILTIN;
use super::registry::valid_name;
use super::{Agg, Aggregate, MetricError, MetricKind, Registry, TagSet, per_second};

/// What a threshold measures of its series (k6's aggregation method).
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Aggregation {
    Count,
    Rate,
    Value,
    Avg,
    Min,
    Max,
    Med,
    /// `p(N)`, N in 0..=100.
    Percentile(f64),
}

impl Aggregation {
    /// Every aggregation, a placeholder standing in for all percentiles.
    const ALL: [Aggregation; 8] = [
        Aggregation::Count,
        Aggregation::Rate,
        Aggregation::Value,
        Aggregation::Avg,
        Aggregation::Min,
        Aggregation::Max,
        Aggregation::Med,
        Aggregation::Percentile(50.0),
    ];

    fn parse(text: &str) -> Result<Aggregation, AggregationProblem> {
        Ok(match text {
            "count" => Aggregation::Count,
            "rate" => Aggregation::Rate,
            "value" => Aggregation::Value,
            "avg" => Aggregation::Avg,
            "min" => Aggregation::Min,
            "max" => Aggregation::Max,
            "med" => Aggregation::Med,
            _ => {
                let inner = text
                    .strip_prefix("p(")
                    .and_then(|rest| rest.strip_suffix(')'))
                    .ok_or(AggregationProblem::Unknown)?
                    .trim();
                match inner.parse::<f64>() {
                    Ok(n) if (0.0..=100.0).contains(&n) => Aggregation::Percentile(n),
                    _ => return Err(AggregationProblem::Percentile(inner.to_string())),
                }
            }
        })
    }

    /// This aggregation of `agg`, or `None` when it does not apply to the
    /// metric's kind. The one table of which aggregation fits which kind
    /// (k6's): [`Aggregation::fits`] asks it about an empty aggregate.
    fn observe(self, agg: &Agg, elapsed: Duration) -> Option<f64> {
        match (self, agg) {
            (Aggregation::Count, Agg::Counter { sum }) => Some(*sum),
            (Aggregation::Rate, Agg::Counter { sum }) => Some(per_second(*sum, elapsed)),
            (Aggregation::Value, Agg::Gauge { value, .. }) => Some(*value),
            (Aggregation::Min, Agg::Gauge { min, .. }) => Some(*min),
            (Aggregation::Max, Agg::Gauge { max, .. }) => Some(*max),
            (Aggregation::Rate, Agg::Rate { .. }) => Some(agg.rate()),
            (Aggregation::Count, Agg::Trend(_)) => Some(agg.count() as f64),
            (Aggregation::Avg, Agg::Trend(t)) => Some(t.avg()),
            (Aggregation::Min, Agg::Trend(t)) => Some(t.min()),
            (Aggregation::Max, Agg::Trend(t)) => Some(t.max()),
            (Aggregation::Med, Agg::Trend(t)) => Some(t.quantile(0.5)),
            (Aggregation::Percentile(p), Agg::Trend(t)) => Some(t.quantile(p / 100.0)),
            _ => None,
        }
    }

    /// Whether this aggregation applies to metrics of `kind`.
    pub fn fits(self, kind: MetricKind) -> bool {
        self.observe(&Agg::new(kind), Duration::ZERO).is_some()
    }

    /// The aggregations that fit `kind`, for error messages.
    fn fitting(kind: MetricKind) -> String {
        let names: Vec<String> = Aggregation::ALL
            .into_iter()
            .filter(|a| a.fits(kind))
            .map(|a| match a {
                Aggregation::Percentile(_) => "p(N)".to_string(),
                a => a.to_string(),
            })
            .collect();
        names.join(", ")
    }
}

impl fmt::Display for Aggregation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Aggregation::Count => f.write_str("count"),
            Aggregation::Rate => f.write_str("rate"),
            Aggregation::Value => f.write_str("value"),
            Aggregation::Avg => f.write_str("avg"),
            Aggregation::Min => f.write_str("min"),
            Aggregation::Max => f.write_str("max"),
            Aggregation::Med => f.write_str("med"),
            Aggregation::Percentile(p) => write!(f, "p({p})"),
        }
    }
}

enum AggregationProblem {
    Unknown,
    Percentile(String),
}

/// How the observed value must compare with the bound.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Comparison {
    Lt,
    Le,
    Gt,
    Ge,
    Eq,
    Ne,
}

impl Comparison {
    /// The characters operators are made of: an expression's aggregation
    /// ends at the first of them.
    const OPERATOR_CHARS: &[char] = &['<', '>', '=', '!'];

    fn parse(operator: &str) -> Option<Comparison> {
        Some(match operator {
            "<" => Comparison::Lt,
            "<=" => Comparison::Le,
            ">" => Comparison::Gt,
            ">=" => Comparison::Ge,
            // k6 takes JavaScript's strict equality as a synonym.
            "==" | "===" => Comparison::Eq,
            "!=" => Comparison::Ne,
            _ => return None,
        })
    }

    /// Whether `observed` passes against `bound`.
    pub fn holds(self, observed: f64, bound: f64) -> bool {
        match self {
            Comparison::Lt => observed < bound,
            Comparison::Le => observed <= bound,
            Comparison::Gt => observed > bound,
            Comparison::Ge => observed >= bound,
            Comparison::Eq => observed == bound,
            Comparison::Ne => observed != bound,
        }
    }
}

impl fmt::Display for Comparison {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Comparison::Lt => "<",
            Comparison::Le => "<=",
            Comparison::Gt => ">",
            Comparison::Ge => ">=",
            Comparison::Eq => "==",
            Comparison::Ne => "!=",
        })
    }
}

/// Why a threshold could not be parsed. Each message names the key and the
/// expression; the config layer prefixes the file and line.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum ThresholdError {
    #[error("threshold {key:?} = {expression:?}: {source}")]
    MetricName { key: String, expression: String, source: MetricError },
    #[error("threshold {key:?} = {expression:?}: bad tag filter: {problem} (write metric{{key:value,...}})")]
    TagFilter { key: String, expression: String, problem: String },
    #[error(
        "threshold {key:?} = {expression:?}: expected an aggregation, a comparison and a number, like \"p(95) < 500\""
    )]
    Syntax { key: String, expression: String },
    #[error(
        "threshold {key:?} = {expression:?}: unknown aggregation {aggregation:?} (use count, rate, value, avg, min, max, med or p(N))"
    )]
    Aggregation { key: String, expression: String, aggregation: String },
    #[error("threshold {key:?} = {expression:?}: percentile {percentile:?} must be a number from 0 to 100")]
    Percentile { key: String, expression: String, percentile: String },
    #[error("threshold {key:?} = {expression:?}: unknown comparison {operator:?} (use <, <=, >, >=, ==, === or !=)")]
    Comparison { key: String, expression: String, operator: String },
    #[error("threshold {key:?} = {expression:?}: bound {bound:?} is not a finite number")]
    Bound { key: String, expression: String, bound: String },
    #[error(
        "threshold {key:?} = {expression:?}: {aggregation} does not apply to {} metric {metric} (use {})",
        .kind.as_str(),
        Aggregation::fitting(*.kind)
    )]
    KindMismatch { key: String, expression: String, metric: String, kind: MetricKind, aggregation: Aggregation },
}

/// One threshold: a series (a metric, maybe narrowed by tags) and a
/// condition its aggregate must meet.
#[derive(Debug, Clone, PartialEq)]
pub struct Threshold {
    /// The metric's name, e.g. `http_req_duration`.
    pub metric: String,
    /// The submetric filter from `metric{name:login,scenario:browse}`, sorted by key.
    pub tags: Vec<(String, String)>,
    /// The expression as written, outer whitespace trimmed, e.g. `p(95)<500`.
    pub expression: String,
    pub aggregation: Aggregation,
    pub comparison: Comparison,
    pub bound: f64,
    /// Stop the run as soon as this threshold fails (k6's `abortOnFail`).
    pub abort_on_fail: bool,
    /// Time into the run before an abort is considered (k6's `delayAbortEval`).
    pub delay_abort_eval: Duration,
}

impl Threshold {
    /// Parses a threshold: `key` is the TOML key (`http_req_duration` or
    /// `http_req_duration{name:login, scenario:browse}`), `expression` like
    /// `p(95) < 500`, whitespace tolerated as k6 does. Built-in metrics are
    /// checked against the aggregations their kind allows; custom metrics'
    /// kinds are known only at the end, so [`evaluate`] checks those.
    pub fn parse(key: &str, expression: &str) -> Result<Threshold, ThresholdError> {
        let (key_text, expression_text) = (key, expression);
        let key = || key_text.to_string();
        let expression = || expression_text.to_string();

        let (metric, tags) = split_key(key_text).map_err(|problem| ThresholdError::TagFilter {
            key: key(),
            expression: expression(),
            problem,
        })?;
        if !valid_name(metric) {
            let source = MetricError::InvalidName(metric.to_string());
            return Err(ThresholdError::MetricName { key: key(), expression: expression(), source });
        }

        let written = expression_text.trim();
        let syntax = || ThresholdError::Syntax { key: key(), expression: expression() };
        let operator_start = written.find(Comparison::OPERATOR_CHARS).ok_or_else(syntax)?;
        let (aggregation_text, rest) = written.split_at(operator_start);
        let operator_end = rest.find(|c| !Comparison::OPERATOR_CHARS.contains(&c)).unwrap_or(rest.len());
        let (operator, bound_text) = rest.split_at(operator_end);
        let (aggregation_text, bound_text) = (aggregation_text.trim(), bound_text.trim());
        if aggregation_text.is_empty() || bound_text.is_empty() {
            return Err(syntax());
        }

        let aggregation = Aggregation::parse(aggregation_text).map_err(|problem| match problem {
            AggregationProblem::Unknown => ThresholdError::Aggregation {
                key: key(),
                expression: expression(),
                aggregation: aggregation_text.to_string(),
            },
            AggregationProblem::Percentile(percentile) => {
                ThresholdError::Percentile { key: key(), expression: expression(), percentile }
            }
        })?;
        let comparison = Comparison::parse(operator).ok_or_else(|| ThresholdError::Comparison {
            key: key(),
            expression: expression(),
            operator: operator.to_string(),
        })?;
        let bound = bound_text.parse::<f64>().ok().filter(|b| b.is_finite()).ok_or_else(|| ThresholdError::Bound {
            key: key(),
            expression: expression(),
            bound: bound_text.to_string(),
        })?;

        if let Some(&(_, kind, _)) = BUILTIN.iter().find(|(name, _, _)| *name == metric)
            && !aggregation.fits(kind)
        {
            return Err(ThresholdError::KindMismatch {
                key: key(),
                expression: expression(),
                metric: metric.to_string(),
                kind,
                aggregation,
            });
        }

        Ok(Threshold {
            metric: metric.to_string(),
            tags,
            expression: written.to_string(),
            aggregation,
            comparison,
            bound,
            abort_on_fail: false,
            delay_abort_eval: Duration::ZERO,
        })
    }

    /// `metric{k:v,...}` as displayed; just `metric` without tags.
    pub fn series_name(&self) -> String {
        if self.tags.is_empty() {
            return self.metric.clone();
        }
        let tags: Vec<String> = self.tags.iter().map(|(k, v)| format!("{k}:{v}")).collect();
        format!("{}{{{}}}", self.metric, tags.join(","))
    }

    /// Whether a series with `tags` belongs to this threshold's submetric:
    /// it carries every filter tag with an equal value (k6's semantics).
    pub fn matches(&self, tags: &TagSet) -> bool {
        self.tags.iter().all(|(k, v)| tags.get(k) == Some(v.as_str()))
    }

    /// The threshold's series merged over every matching tag set; `None`
    /// when the metric or a filter tag value never appeared.
    pub fn series(&self, aggregate: &Aggregate, registry: &Registry) -> Option<Agg> {
        let id = registry.lookup(&self.metric)?;
        aggregate.summary(id, |tags| self.matches(tags))
    }

    fn judge(&self, aggregate: &Aggregate, registry: &Registry, elapsed: Duration) -> ThresholdOutcome {
        match self.observe(aggregate, registry, elapsed) {
            Ok(observed) => ThresholdOutcome {
                threshold: self.clone(),
                observed: Some(observed),
                passed: self.comparison.holds(observed, self.bound),
                note: None,
            },
            // No value is never a pass: a typo in a metric or tag name
            // must not make a threshold silently succeed.
            Err(note) => ThresholdOutcome { threshold: self.clone(), observed: None, passed: false, note: Some(note) },
        }
    }

    fn observe(&self, aggregate: &Aggregate, registry: &Registry, elapsed: Duration) -> Result<f64, String> {
        let no_samples = || format!("no samples: metric {} never recorded", self.series_name());
        let kind = registry.lookup(&self.metric).ok_or_else(no_samples)?.kind();
        let mismatch = || {
            format!(
                "{} does not apply to {} metric {} (use {})",
                self.aggregation,
                kind.as_str(),
                self.metric,
                Aggregation::fitting(kind)
            )
        };
        if !self.aggregation.fits(kind) {
            return Err(mismatch());
        }
        let series = self.series(aggregate, registry).ok_or_else(no_samples)?;
        self.aggregation.observe(&series, elapsed).ok_or_else(mismatch)
    }
}

/// A submetric's tag filter: (key, value) pairs sorted by key.
type TagFilter = Vec<(String, String)>;

/// Splits a threshold key into the metric name and its tag filter. Tag
/// keys and values are trimmed of whitespace and quotes, as k6 does.
fn split_key(key: &str) -> Result<(&str, TagFilter), String> {
    let key = key.trim();
    let Some((metric, filter)) = key.split_once('{') else {
        return if key.contains('}') { Err("unbalanced braces".to_string()) } else { Ok((key, Vec::new())) };
    };
    let body = filter.strip_suffix('}').filter(|body| !body.contains(['{', '}'])).ok_or("unbalanced braces")?;
    if body.trim().is_empty() {
        return Err("no tags between the braces".to_string());
    }
    let unquote = |s: &str| s.trim().trim_matches(['"', '\'']).trim().to_string();
    let mut tags = Vec::new();
    for pair in body.split(',') {
        let (tag, value) = pair.split_once(':').ok_or_else(|| format!("{:?} is not key:value", pair.trim()))?;
        let (tag, value) = (unquote(tag), unquote(value));
        if tag.is_empty() || value.is_empty() {
            return Err(format!("{:?} has an empty key or value", pair.trim()));
        }
        tags.push((tag, value));
    }
    tags.sort();
    if let Some(pair) = tags.windows(2).find(|pair| pair[0].0 == pair[1].0) {
        return Err(format!("tag {:?} given twice", pair[0].0));
    }
    Ok((metric.trim(), tags))
}

/// One threshold's verdict at the end (or during) a run.
#[derive(Debug, Clone)]
pub struct ThresholdOutcome {
    pub threshold: Threshold,
    /// The aggregation's value; `None` when the series had no samples or
    /// the aggregation does not fit the metric.
    pub observed: Option<f64>,
    pub passed: bool,
    /// Why there is no observed value.
    pub note: Option<String>,
}

/// Evaluates every threshold against the run's aggregate; `elapsed` turns
/// counters into rates (count/s). Trend values are milliseconds as stored.
pub fn evaluate(
    thresholds: &[Threshold],
    aggregate: &Aggregate,
    registry: &Registry,
    elapsed: Duration,
) -> Vec<ThresholdOutcome> {
    thresholds.iter().map(|threshold| threshold.judge(aggregate, registry, elapsed)).collect()
}

#[cfg(test)]
mod tests;
