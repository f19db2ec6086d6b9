//! Scenarios whose plugin is a bundle (`plugin = "checkout.vspd"`, and
//! `vespid run checkout.vspd`, planned from a run file made for it): each
//! bundle checked (and its signer, if the run names keys), unpacked into
//! the cache by its digest, its data sets added to the run's. Their grants
//! start from nothing (config/permissions.rs).

use crate::bundle::{AskedLimits, Bundle, BundleError, cache_dir, is_bundle, read_verifying_key};
use crate::caps::DataSource;
use crate::caps::grants::Grants;

use super::values::{parse_duration, parse_size};
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
pub fn bundle_notes(plan: &mut Plan, grant_requested: bool) -> Result<Vec<String>, ConfigError> {
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

/// Each run limit a bundle asks above what the run gives: with
/// `grant_requested` the run's limit is raised to it (run-wide: limits are
/// the run's, not a scenario's), else a line saying how to grant it.
fn limits(plan: &mut Plan, grant_requested: bool) -> Result<Vec<String>, ConfigError> {
    let mut notes = Vec::new();
    let asks: Vec<(String, AskedLimits)> = plan
        .scenarios
        .iter()
        .filter_map(|s| s.bundled.as_ref().map(|bundled| (who(s, bundled), bundled.limits.clone())))
        .filter(|(_, limits)| !limits.is_empty())
        .collect();
    for (scenario, asked) in asks {
        for (limit, text) in asked.kinds() {
            let Some(text) = text.as_deref() else { continue };
            let refused = |why: String| ConfigError::from(BundleError::Manifest(format!("limits.{limit}: {why}")));
            let was = match limit {
                "iteration-cpu-limit" => {
                    let wanted = parse_duration(text).map_err(refused)?;
                    above(&mut plan.limits.iteration_cpu, wanted, grant_requested)
                        .map(|was| humantime::format_duration(was).to_string())
                }
                "vu-memory-limit" => {
                    let wanted = parse_size(text).map_err(refused)?;
                    if wanted > 4 << 30 {
                        return Err(refused("must be at most 4GiB (a 32-bit linear memory)".into()));
                    }
                    above(&mut plan.vu_memory, wanted as usize, grant_requested).map(|was| format!("{}MiB", was >> 20))
                }
                "max-response-body" => {
                    let wanted = parse_size(text).map_err(refused)?;
                    above(&mut plan.http.max_response_body, wanted, grant_requested).map(|was| format!("{was} bytes"))
                }
                "max-metrics" => {
                    let wanted = asked.max_metrics.unwrap_or_default();
                    above(&mut plan.metric_limits.max_metrics, wanted, grant_requested).map(|was| was.to_string())
                }
                _ => {
                    let wanted = asked.max_series.unwrap_or_default();
                    above(&mut plan.metric_limits.max_series, wanted, grant_requested).map(|was| was.to_string())
                }
            };
            let Some(was) = was else { continue };
            notes.push(if grant_requested {
                format!("{scenario}: {limit} raised to {text} for the whole run, as the bundle asks (--grant-requested; it was {was})")
            } else {
                format!("{scenario} asks for {limit} {text}, the run gives {was} (grant it with --{limit} {text}, or all it asks for with --grant-requested)")
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
fn above<T: PartialOrd + Copy>(current: &mut T, wanted: T, grant: bool) -> Option<T> {
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
