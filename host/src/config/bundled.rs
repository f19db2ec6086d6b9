//! Scenarios whose plugin is a bundle (`plugin = "checkout.vspd"`, and
//! `vespid run checkout.vspd`, planned from a run file made for it): each
//! bundle checked (and its signer, if the run names keys), unpacked into
//! the cache by its digest, its data sets added to the run's. Their grants
//! start from nothing (config/permissions.rs).

use crate::bundle::{Bundle, cache_dir, is_bundle, read_verifying_key};
use crate::caps::DataSource;
use crate::caps::grants::Grants;

use super::{ConfigError, Overrides, Plan, ScenarioPlan};

/// What a scenario whose plugin came from a bundle knows of the bundle.
#[derive(Debug, Clone, PartialEq)]
pub struct Bundled {
    /// The permissions it asks for.
    pub asked: crate::bundle::Asked,
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
        scenario.bundled = Some(Bundled { asked: bundle.manifest.permissions.clone(), data: names });
    }
    Ok(data)
}

/// A line for each permission a bundle asks for and its scenario does not get.
pub fn ungranted(plan: &Plan) -> Vec<String> {
    let mut notes = Vec::new();
    for scenario in &plan.scenarios {
        let Some(bundled) = &scenario.bundled else { continue };
        for (kind, wanted) in bundled.asked.kinds() {
            let missing: Vec<&str> =
                wanted.iter().map(String::as_str).filter(|w| !covered(&scenario.grants, kind, w)).collect();
            if !missing.is_empty() {
                notes.push(format!(
                    "scenario {}: the bundle asks for {kind} {}, not granted (grant it, or all it asks for with --grant-requested)",
                    scenario.label(),
                    missing.join(", ")
                ));
            }
        }
    }
    notes
}

/// Whether `granted` gives `wanted` (a host pattern by its text).
fn covered(granted: &Grants, kind: &str, wanted: &str) -> bool {
    match kind {
        "allowed-hosts" => granted.hosts.iter().flatten().any(|p| p.to_string() == wanted.trim()),
        "env" => granted.env(wanted).is_ok(),
        "data" => granted.data(wanted).is_ok(),
        _ => granted.datasource(wanted).is_ok(),
    }
}
