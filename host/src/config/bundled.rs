//! Scenarios whose plugin is a bundle (`plugin = "checkout.vspd"`, and
//! `vespid run checkout.vspd`, planned from a run file made for it): each
//! bundle checked (and its signer, if the run names keys), unpacked into
//! the cache by its digest, its data sets added to the run's. Their grants
//! start from nothing (config/permissions.rs); what they ask and do not get
//! is said, and the run limits they ask are raised only as the run allows.

use crate::bundle::{AskedLimits, Bundle, BundleError, cache_dir, is_bundle, read_verifying_key};
use crate::caps::DataSource;
use crate::caps::grants::Grants;

use std::time::Duration;

use super::file::RunFile;
use super::values::{check_positive, check_response_body, check_vu_memory, parse_duration, parse_size};
use super::{ConfigError, Overrides, Plan, ScenarioPlan};

/// What a scenario whose plugin came from a bundle knows of the bundle.
#[derive(Debug, Clone, PartialEq)]
pub struct Bundled {
    /// Its name and version.
    pub name: String,
    /// The permissions it asks for.
    pub asked: crate::bundle::Asked,
    /// The run limits it asks for.
    pub limits: AskedLimits,
    /// Its own data sets, always granted to it.
    pub data: Vec<String>,
}

/// Opens the bundles among the scenarios' plugins; returns their data sets.
pub fn scenario_bundles(scenarios: &mut [ScenarioPlan], args: &Overrides) -> Result<Vec<DataSource>, ConfigError> {
    let keys = args.require_signed_by.iter().map(|key| read_verifying_key(key)).collect::<Result<Vec<_>, _>>()?;
    let mut data = Vec::new();
    for scenario in scenarios.iter_mut().filter(|s| is_bundle(&s.plugin)) {
        let bundle = Bundle::open(&scenario.plugin)?;
        if !keys.is_empty() {
            bundle.require_signer(&keys)?;
        }
        let dir = cache_dir().join(bundle.digest.trim_start_matches("sha256:"));
        bundle.unpack(&dir)?;
        scenario.plugin = dir.join(&bundle.manifest.plugin);
        let mut names = Vec::new();
        for (name, entry) in &bundle.manifest.data {
            data.push(DataSource::new(name.clone(), dir.join(entry), None)?);
            names.push(name.clone());
        }
        let (asked, limits) = (bundle.manifest.permissions.clone(), bundle.manifest.limits.clone());
        let name = format!("{} {}", bundle.manifest.name, bundle.manifest.version);
        scenario.bundled = Some(Bundled { name, asked, limits, data: names });
    }
    Ok(data)
}

/// For the scenarios whose plugin is a bundle: a line for each permission
/// one asks for and does not get, and for each run limit it asks above the
/// run's (raised to it with `grant_requested`).
pub fn settle_bundle_asks(plan: &mut Plan, grant_requested: bool) -> Result<Vec<String>, ConfigError> {
    let mut notes = ungranted(plan);
    notes.extend(limits(plan, grant_requested)?);
    Ok(notes)
}

/// A line for each permission a bundle asks for and its scenario does not get.
fn ungranted(plan: &Plan) -> Vec<String> {
    let mut notes = Vec::new();
    for scenario in &plan.scenarios {
        let Some(bundled) = &scenario.bundled else { continue };
        for (kind, wanted) in bundled.asked.kinds() {
            let missing: Vec<&str> =
                wanted.iter().map(String::as_str).filter(|w| !covered(&scenario.grants, kind, w)).collect();
            if !missing.is_empty() {
                notes.push(format!(
                    "{} asks for {kind} {}, not granted (grant it, or all it asks for with --grant-requested)",
                    who(scenario, bundled),
                    missing.join(", ")
                ));
            }
        }
    }
    notes
}

/// The run limits the run sets itself, by a flag or a run-file key: a
/// bundle's ask never overrides them.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct LimitsSet(Vec<&'static str>);

impl LimitsSet {
    pub fn of(args: &Overrides, file: &RunFile) -> LimitsSet {
        let set = [
            ("iteration-cpu-limit", args.iteration_cpu_limit.is_some() || file.iteration_cpu_limit.is_some()),
            ("vu-memory-limit", args.vu_memory_limit.is_some() || file.vu_memory_limit.is_some()),
            ("max-response-body", args.max_response_body.is_some() || file.max_response_body.is_some()),
            ("max-metrics", args.max_metrics.is_some() || file.max_metrics.is_some()),
            ("max-series", args.max_series.is_some() || file.max_series.is_some()),
        ];
        LimitsSet(set.into_iter().filter(|(_, set)| *set).map(|(limit, _)| limit).collect())
    }

    /// Whether the run sets `limit` itself.
    pub fn sets(&self, limit: &str) -> bool {
        self.0.contains(&limit)
    }
}

/// A bundle's asked limits, parsed and checked as the run's own options.
#[derive(Debug, Default)]
pub struct LimitAsks {
    iteration_cpu: Option<Duration>,
    vu_memory: Option<usize>,
    max_response_body: Option<u64>,
    max_metrics: Option<u32>,
    max_series: Option<u32>,
}

/// Checks what a bundle asks in `[limits]` (when packing it, and before a
/// run grants it): each within what the run's own option takes.
pub fn check_bundle_limits(asked: &AskedLimits) -> Result<LimitAsks, String> {
    let key = |limit: &'static str| move |why: String| format!("limits.{limit}: {why}");
    let at_least_one = |limit: &'static str, n: u32| match n {
        0 => Err(key(limit)("must be at least 1, got 0".into())),
        n => Ok(n),
    };
    let mut asks = LimitAsks::default();
    if let Some(text) = &asked.iteration_cpu_limit {
        let cpu = parse_duration(text).map_err(key("iteration-cpu-limit"))?;
        check_positive(&cpu).map_err(key("iteration-cpu-limit"))?;
        asks.iteration_cpu = Some(cpu);
    }
    if let Some(text) = &asked.vu_memory_limit {
        let bytes = parse_size(text).map_err(key("vu-memory-limit"))?;
        check_vu_memory(&bytes).map_err(key("vu-memory-limit"))?;
        asks.vu_memory = Some(bytes as usize);
    }
    if let Some(text) = &asked.max_response_body {
        let bytes = parse_size(text).map_err(key("max-response-body"))?;
        check_response_body(&bytes).map_err(key("max-response-body"))?;
        asks.max_response_body = Some(bytes);
    }
    asks.max_metrics = asked.max_metrics.map(|n| at_least_one("max-metrics", n)).transpose()?;
    asks.max_series = asked.max_series.map(|n| at_least_one("max-series", n)).transpose()?;
    Ok(asks)
}

/// Each run limit a bundle asks above what the run gives: with
/// `grant_requested` the run's limit is raised to it (run-wide: limits are
/// the run's, not a scenario's) unless the run sets that limit itself; a
/// line for each.
fn limits(plan: &mut Plan, grant_requested: bool) -> Result<Vec<String>, ConfigError> {
    let mut notes = Vec::new();
    let asks: Vec<(String, AskedLimits)> = plan
        .scenarios
        .iter()
        .filter_map(|s| s.bundled.as_ref().map(|bundled| (who(s, bundled), bundled.limits.clone())))
        .filter(|(_, limits)| !limits.is_empty())
        .collect();
    for (who, asked) in asks {
        let wanted = check_bundle_limits(&asked).map_err(BundleError::Manifest)?;
        let set = plan.limits_set.clone();
        let grant = |limit: &str| grant_requested && !set.sets(limit);
        let below = [
            (
                "iteration-cpu-limit",
                wanted.iteration_cpu.and_then(|w| {
                    raise_if_below(&mut plan.limits.iteration_cpu, w, grant("iteration-cpu-limit"))
                        .map(|was| humantime::format_duration(was).to_string())
                }),
            ),
            (
                "vu-memory-limit",
                wanted.vu_memory.and_then(|w| {
                    raise_if_below(&mut plan.vu_memory, w, grant("vu-memory-limit"))
                        .map(|was| format!("{}MiB", was >> 20))
                }),
            ),
            (
                "max-response-body",
                wanted.max_response_body.and_then(|w| {
                    raise_if_below(&mut plan.http.max_response_body, w, grant("max-response-body"))
                        .map(|was| format!("{was} bytes"))
                }),
            ),
            (
                "max-metrics",
                wanted.max_metrics.and_then(|w| {
                    raise_if_below(&mut plan.metric_limits.max_metrics, w, grant("max-metrics"))
                        .map(|was| was.to_string())
                }),
            ),
            (
                "max-series",
                wanted.max_series.and_then(|w| {
                    raise_if_below(&mut plan.metric_limits.max_series, w, grant("max-series"))
                        .map(|was| was.to_string())
                }),
            ),
        ];
        let texts = asked.kinds();
        for ((limit, was), (_, text)) in below.into_iter().zip(texts) {
            let (Some(was), Some(text)) = (was, text) else { continue };
            notes.push(if grant(limit) {
                format!("{who}: {limit} raised to {text} for the whole run, as the bundle asks (--grant-requested; it was {was})")
            } else if grant_requested {
                format!("{who} asks for {limit} {text}; the run sets {was} itself, which stands")
            } else {
                format!("{who} asks for {limit} {text}, the run gives {was} (grant it with --{limit} {text}, or all it asks for with --grant-requested)")
            });
        }
    }
    Ok(notes)
}

/// Names the bundle a note is about: by its scenario's name when it has one.
fn who(scenario: &ScenarioPlan, bundled: &Bundled) -> String {
    match &scenario.name {
        Some(name) => format!("scenario {name} (bundle {})", bundled.name),
        None => format!("bundle {}", bundled.name),
    }
}

/// What `current` was, if below `wanted`; then raised to it if `grant`.
fn raise_if_below<T: PartialOrd + Copy>(current: &mut T, wanted: T, grant: bool) -> Option<T> {
    if wanted <= *current {
        return None;
    }
    let was = *current;
    if grant {
        *current = wanted;
    }
    Some(was)
}

/// Whether `granted` gives `wanted` (a host or socket pattern by its text).
fn covered(granted: &Grants, kind: &str, wanted: &str) -> bool {
    match kind {
        "allowed-hosts" => granted.hosts.iter().flatten().any(|p| p.to_string() == wanted.trim()),
        "allowed-sockets" => granted.sockets.iter().any(|p| p.to_string() == wanted.trim()),
        "env" => granted.env(wanted).is_ok(),
        "data" => granted.data(wanted).is_ok(),
        _ => granted.datasource(wanted).is_ok(),
    }
}
