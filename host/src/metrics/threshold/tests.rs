use super::*;
use crate::metrics::{Sample, Sink, names};

fn parse(key: &str, expression: &str) -> Threshold {
    Threshold::parse(key, expression).unwrap_or_else(|e| panic!("{e}"))
}

#[test]
fn parses_every_aggregation_and_comparison() {
    let cases = [
        ("http_reqs", "count>1000", Aggregation::Count, Comparison::Gt, 1000.0),
        ("http_reqs", "rate >= 50", Aggregation::Rate, Comparison::Ge, 50.0),
        ("vus", "value==10", Aggregation::Value, Comparison::Eq, 10.0),
        ("vus", "value === 10", Aggregation::Value, Comparison::Eq, 10.0),
        ("vus_max", "max != 3", Aggregation::Max, Comparison::Ne, 3.0),
        ("vus", "min>0", Aggregation::Min, Comparison::Gt, 0.0),
        ("http_req_failed", "rate<0.01", Aggregation::Rate, Comparison::Lt, 0.01),
        ("http_req_duration", "avg <= 200.5", Aggregation::Avg, Comparison::Le, 200.5),
        ("http_req_duration", "med<100", Aggregation::Med, Comparison::Lt, 100.0),
        ("http_req_duration", "p(95)<500", Aggregation::Percentile(95.0), Comparison::Lt, 500.0),
        ("http_req_duration", "  p( 99.9 )  <  1e3 ", Aggregation::Percentile(99.9), Comparison::Lt, 1000.0),
        ("http_req_duration", "p(0)>-1", Aggregation::Percentile(0.0), Comparison::Gt, -1.0),
        ("http_req_duration", "count>=1", Aggregation::Count, Comparison::Ge, 1.0),
        ("my_custom", "p(100)<5", Aggregation::Percentile(100.0), Comparison::Lt, 5.0),
    ];
    for (key, expression, aggregation, comparison, bound) in cases {
        let threshold = parse(key, expression);
        assert_eq!(
            (threshold.aggregation, threshold.comparison, threshold.bound),
            (aggregation, comparison, bound),
            "{key} {expression}"
        );
        assert_eq!(threshold.expression, expression.trim());
        assert_eq!(threshold.metric, key);
        assert!(threshold.tags.is_empty());
        assert!(!threshold.abort_on_fail);
    }
}

#[test]
fn parses_submetric_keys() {
    let threshold = parse(" http_req_duration { scenario : browse , name:'login' } ", "p(95)<500");
    assert_eq!(threshold.metric, "http_req_duration");
    assert_eq!(
        threshold.tags,
        vec![("name".to_string(), "login".to_string()), ("scenario".to_string(), "browse".to_string())]
    );
    assert_eq!(threshold.series_name(), "http_req_duration{name:login,scenario:browse}");
    assert_eq!(parse("http_reqs", "count>0").series_name(), "http_reqs");
    // Only the first colon separates, so URLs work as values.
    assert_eq!(parse("http_reqs{url:http://x/y}", "count>0").tags, vec![("url".into(), "http://x/y".into())]);
}

#[test]
fn rejects_malformed_thresholds() {
    type IsExpected = fn(&ThresholdError) -> bool;
    let cases: &[(&str, &str, IsExpected)] = &[
        ("1bad", "count>0", |e| matches!(e, ThresholdError::MetricName { .. })),
        ("bad-name", "count>0", |e| matches!(e, ThresholdError::MetricName { .. })),
        ("{name:x}", "count>0", |e| matches!(e, ThresholdError::MetricName { .. })),
        ("http_reqs{name:x", "count>0", |e| matches!(e, ThresholdError::TagFilter { .. })),
        ("http_reqs}", "count>0", |e| matches!(e, ThresholdError::TagFilter { .. })),
        ("http_reqs{a:{b}}", "count>0", |e| matches!(e, ThresholdError::TagFilter { .. })),
        ("http_reqs{}", "count>0", |e| matches!(e, ThresholdError::TagFilter { .. })),
        ("http_reqs{name}", "count>0", |e| matches!(e, ThresholdError::TagFilter { .. })),
        ("http_reqs{name: }", "count>0", |e| matches!(e, ThresholdError::TagFilter { .. })),
        ("http_reqs{:x}", "count>0", |e| matches!(e, ThresholdError::TagFilter { .. })),
        ("http_reqs{a:1,a:2}", "count>0", |e| matches!(e, ThresholdError::TagFilter { .. })),
        ("http_reqs", "count", |e| matches!(e, ThresholdError::Syntax { .. })),
        ("http_reqs", "<5", |e| matches!(e, ThresholdError::Syntax { .. })),
        ("http_reqs", "count<", |e| matches!(e, ThresholdError::Syntax { .. })),
        ("http_reqs", "sum>5", |e| matches!(e, ThresholdError::Aggregation { .. })),
        ("http_req_duration", "p95<5", |e| matches!(e, ThresholdError::Aggregation { .. })),
        ("http_req_duration", "p(101)<5", |e| matches!(e, ThresholdError::Percentile { .. })),
        ("http_req_duration", "p(-1)<5", |e| matches!(e, ThresholdError::Percentile { .. })),
        ("http_req_duration", "p(x)<5", |e| matches!(e, ThresholdError::Percentile { .. })),
        ("http_req_duration", "p(nan)<5", |e| matches!(e, ThresholdError::Percentile { .. })),
        ("http_req_duration", "avg=5", |e| matches!(e, ThresholdError::Comparison { .. })),
        ("http_req_duration", "avg=<5", |e| matches!(e, ThresholdError::Comparison { .. })),
        ("http_req_duration", "avg<>5", |e| matches!(e, ThresholdError::Comparison { .. })),
        ("http_req_duration", "avg<five", |e| matches!(e, ThresholdError::Bound { .. })),
        ("http_req_duration", "avg<inf", |e| matches!(e, ThresholdError::Bound { .. })),
        ("http_req_duration", "avg<NaN", |e| matches!(e, ThresholdError::Bound { .. })),
        ("http_req_duration", "avg<5 6", |e| matches!(e, ThresholdError::Bound { .. })),
        ("http_reqs", "p(95)<5", |e| matches!(e, ThresholdError::KindMismatch { .. })),
        ("http_reqs", "value<5", |e| matches!(e, ThresholdError::KindMismatch { .. })),
        ("http_req_failed", "count<5", |e| matches!(e, ThresholdError::KindMismatch { .. })),
        ("vus", "avg<5", |e| matches!(e, ThresholdError::KindMismatch { .. })),
        ("http_req_duration", "rate<5", |e| matches!(e, ThresholdError::KindMismatch { .. })),
        ("http_req_duration", "value<5", |e| matches!(e, ThresholdError::KindMismatch { .. })),
    ];
    for (key, expression, expected) in cases {
        match Threshold::parse(key, expression) {
            Ok(threshold) => panic!("{key} = {expression} parsed: {threshold:?}"),
            Err(error) => {
                assert!(expected(&error), "{key} = {expression}: {error:?}");
                let message = error.to_string();
                assert!(message.contains(&format!("{key:?}")) && message.contains(&format!("{expression:?}")));
                assert!(!message.contains('\n'), "{message}");
            }
        }
    }
    let message = Threshold::parse("http_reqs", "p(95)<5").unwrap_err().to_string();
    assert!(message.ends_with("p(95) does not apply to counter metric http_reqs (use count, rate)"), "{message}");
}

#[test]
fn fitting_aggregations_follow_k6() {
    assert_eq!(Aggregation::fitting(MetricKind::Counter), "count, rate");
    assert_eq!(Aggregation::fitting(MetricKind::Gauge), "value, min, max");
    assert_eq!(Aggregation::fitting(MetricKind::Rate), "rate");
    assert_eq!(Aggregation::fitting(MetricKind::Trend), "count, avg, min, max, med, p(N)");
}

/// A run's aggregate: 100 requests named `home` (1..=100 ms, status 200)
/// and 10 named `login` (500 ms, 3 of them failed), over 10 seconds.
fn recorded() -> (Sink, Aggregate) {
    let sink = Sink::new();
    let home = TagSet::new([("name", "home"), ("scenario", "browse"), ("status", "200")]);
    let login = TagSet::new([("name", "login"), ("scenario", "browse"), ("status", "200")]);
    let record = |tags: &TagSet, samples: &[Sample]| sink.record(0, tags, tags, samples);
    for ms in 1..=100 {
        record(
            &home,
            &[
                Sample::new(names::HTTP_REQS, 1.0),
                Sample::new(names::HTTP_REQ_DURATION, ms as f64),
                Sample::flag(names::HTTP_REQ_FAILED, false),
            ],
        );
    }
    for i in 0..10 {
        record(
            &login,
            &[
                Sample::new(names::HTTP_REQS, 1.0),
                Sample::new(names::HTTP_REQ_DURATION, 500.0),
                Sample::flag(names::HTTP_REQ_FAILED, i < 3),
            ],
        );
    }
    record(&TagSet::new([("scenario", "browse")]), &[Sample::new(names::VUS, 4.0)]);
    let visits = sink.registry.resolve("shop_visits", MetricKind::Counter).unwrap();
    record(&home, &[Sample::new(visits, 7.0)]);
    let mut aggregate = Aggregate::default();
    sink.drain_into(&mut aggregate);
    (sink, aggregate)
}

fn judge(sink: &Sink, aggregate: &Aggregate, key: &str, expression: &str) -> ThresholdOutcome {
    let outcomes = evaluate(&[parse(key, expression)], aggregate, &sink.registry, Duration::from_secs(10));
    outcomes.into_iter().next().expect("one outcome per threshold")
}

#[test]
fn evaluates_against_the_aggregate() {
    let (sink, aggregate) = recorded();
    let cases = [
        ("http_reqs", "count==110", 110.0, true),
        ("http_reqs", "count>1000", 110.0, false),
        ("http_reqs", "rate>=11", 11.0, true),
        ("http_reqs{name:login}", "count<10", 10.0, false),
        ("http_req_failed", "rate<0.05", 3.0 / 110.0, true),
        ("http_req_failed{name:login}", "rate<0.05", 0.3, false),
        ("http_req_duration{name:home}", "max<=100", 100.0, true),
        ("http_req_duration{name:home}", "min>1", 1.0, false),
        ("http_req_duration{name:home}", "avg<50", 50.5, false),
        ("http_req_duration{name:login,scenario:browse}", "p(99.9)===500", 500.0, true),
        ("http_req_duration{name:login}", "count!=10", 10.0, false),
        ("vus", "value>=4", 4.0, true),
        ("shop_visits", "count>5", 7.0, true),
    ];
    for (key, expression, observed, passed) in cases {
        let outcome = judge(&sink, &aggregate, key, expression);
        let got = outcome.observed.unwrap_or_else(|| panic!("{key} {expression}: {:?}", outcome.note));
        assert!((got - observed).abs() < 1e-9, "{key} {expression}: observed {got}, want {observed}");
        assert_eq!(outcome.passed, passed, "{key} {expression}");
        assert_eq!(outcome.note, None);
    }
    let home = judge(&sink, &aggregate, "http_req_duration{name:home}", "p(95)<100");
    assert!((home.observed.unwrap() - 95.0).abs() <= 0.1 && home.passed, "{home:?}");
}

#[test]
fn missing_series_fail_with_a_note() {
    let (sink, aggregate) = recorded();
    let cases = [
        ("never_recorded", "count>0", "no samples: metric never_recorded never recorded"),
        // Registered (built-in) but no sample at all.
        ("iterations", "count>=0", "no samples: metric iterations never recorded"),
        (
            "http_req_duration{name:checkout}",
            "p(95)<500",
            "no samples: metric http_req_duration{name:checkout} never recorded",
        ),
        ("http_reqs{colour:blue}", "count>=0", "no samples: metric http_reqs{colour:blue} never recorded"),
    ];
    for (key, expression, note) in cases {
        let outcome = judge(&sink, &aggregate, key, expression);
        assert!(!outcome.passed, "{key} {expression}");
        assert_eq!(outcome.observed, None);
        assert_eq!(outcome.note.as_deref(), Some(note));
    }
}

#[test]
fn custom_metrics_are_checked_against_their_kind_at_the_end() {
    let (sink, aggregate) = recorded();
    let outcome = judge(&sink, &aggregate, "shop_visits", "p(95)<5");
    assert!(!outcome.passed);
    assert_eq!(outcome.observed, None);
    assert_eq!(outcome.note.as_deref(), Some("p(95) does not apply to counter metric shop_visits (use count, rate)"));
}
