//! Custom metrics and checks through the host's `metrics` interface. The
//! host aggregates; nothing is buffered here.

use crate::bindings::vespid::scenario::metrics as wit;

/// Tags as `(key, value)` pairs.
pub type Tags<'a> = &'a [(&'a str, &'a str)];

fn owned(tags: Tags<'_>) -> Vec<(String, String)> {
    tags.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
}

/// Adds `value` to counter `name`.
pub fn counter(name: &str, value: f64, tags: Tags<'_>) {
    wit::counter_add(name, value, &owned(tags));
}

/// Sets gauge `name` to `value`.
pub fn gauge(name: &str, value: f64, tags: Tags<'_>) {
    wit::gauge_set(name, value, &owned(tags));
}

/// Adds a sample (>= 0; milliseconds for times) to trend `name`.
pub fn trend(name: &str, value: f64, tags: Tags<'_>) {
    wit::trend_add(name, value, &owned(tags));
}

/// Adds a true/false sample to rate `name`.
pub fn rate(name: &str, value: bool, tags: Tags<'_>) {
    wit::rate_add(name, value, &owned(tags));
}

/// Records check `name` (k6's `check`) and returns `passed`.
pub fn check(name: &str, passed: bool) -> bool {
    wit::check(name, passed, &[])
}

/// Records check `name` with extra tags and returns `passed`.
pub fn check_tagged(name: &str, passed: bool, tags: Tags<'_>) -> bool {
    wit::check(name, passed, &owned(tags))
}
