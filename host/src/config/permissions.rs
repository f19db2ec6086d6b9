//! `[permissions]` (for every scenario) and `[scenarios.NAME.permissions]`
//! (added for that one), and `--allow-host`, into each scenario's
//! [`Grants`]. A grant must name what the run has: a data set or a
//! datasource it does not declare is a typo, and an error.

use std::collections::BTreeSet;

use serde::Deserialize;

use super::file::{RunFile, Source};
use super::{Bundled, ConfigError, Overrides, ScenarioPlan};
use crate::bundle::BundleError;
use crate::caps::grants::{Grants, HostPattern, SocketPattern};

/// A `[permissions]` table as written.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct PermissionsTable {
    /// HTTP origins: `https://*.example.com`, `http://127.0.0.1:8080`, `10.0.0.0/8`.
    pub allowed_hosts: Option<Vec<String>>,
    /// Env keys the plugin may read.
    pub env: Option<Vec<String>>,
    /// Data sets the plugin may read.
    pub data: Option<Vec<String>>,
    /// Datasources the plugin may use.
    pub datasources: Option<Vec<String>>,
    /// Addresses `wasi:sockets` may reach: `tcp://127.0.0.1:6379`, `udp://10.0.0.0/8:*`.
    pub allowed_sockets: Option<Vec<String>>,
}

/// Sets each scenario's grants: the file's, its own, then the flags'.
pub fn grant(
    scenarios: &mut [ScenarioPlan],
    file: &RunFile,
    source: Option<&Source>,
    args: &Overrides,
    declared: (&[&str], &[&str]),
) -> Result<(), ConfigError> {
    let run = match (&file.permissions, source) {
        (Some(table), Some(source)) => grants(table, source, &["permissions"], declared)?,
        _ => Grants::default(),
    };
    let flags = Grants { hosts: (!args.allow_hosts.is_empty()).then(|| args.allow_hosts.clone()), ..Grants::default() };
    for scenario in scenarios {
        let mut granted = match &scenario.bundled {
            None => Grants::default(),
            Some(bundled) => bundle_base(scenario, bundled, args)?,
        };
        granted.add(&run);
        let own = scenario.name.as_ref().and_then(|name| Some((name, file.scenarios.get(name)?.permissions.as_ref()?)));
        if let (Some((name, table)), Some(source)) = (own, source) {
            granted.add(&grants(table, source, &["scenarios", name, "permissions"], declared)?);
        }
        granted.add(&flags);
        scenario.grants = granted;
    }
    Ok(())
}

/// Where a bundle's grants start: nothing of any kind but the env keys the
/// run gives its scenario and the bundle's own data sets, and with
/// `--grant-requested` what it asks for.
fn bundle_base(scenario: &ScenarioPlan, bundled: &Bundled, args: &Overrides) -> Result<Grants, ConfigError> {
    let asked = &bundled.asked;
    let requested = |list: &[String]| if args.grant_requested { list.to_vec() } else { Vec::new() };
    let hosts = requested(&asked.allowed_hosts)
        .iter()
        .map(|text| HostPattern::parse(text).map_err(|why| BundleError::Manifest(format!("permissions: {why}"))))
        .collect::<Result<Vec<_>, _>>()?;
    let sockets = requested(&asked.allowed_sockets)
        .iter()
        .map(|text| SocketPattern::parse(text).map_err(|why| BundleError::Manifest(format!("permissions: {why}"))))
        .collect::<Result<Vec<_>, _>>()?;
    let env = scenario.env.iter().map(|(key, _)| key.clone()).chain(requested(&asked.env));
    let own = bundled.data.iter().cloned();
    Ok(Grants {
        hosts: Some(hosts),
        env: Some(env.collect()),
        data: Some(own.chain(requested(&asked.data)).collect()),
        datasources: Some(requested(&asked.datasources).into_iter().collect()),
        sockets,
    })
}

fn grants(
    table: &PermissionsTable,
    source: &Source,
    at: &[&str],
    (data, datasources): (&[&str], &[&str]),
) -> Result<Grants, ConfigError> {
    let key = |name: &'static str| at.iter().copied().chain([name]).collect::<Vec<_>>();
    let hosts = match &table.allowed_hosts {
        None => None,
        Some(texts) => Some(
            texts
                .iter()
                .map(|text| HostPattern::parse(text).map_err(|why| source.error(&key("allowed-hosts"), why)))
                .collect::<Result<Vec<_>, _>>()?,
        ),
    };
    let names = |name: &'static str, list: &Option<Vec<String>>, declared: Option<(&str, &[&str])>| {
        let Some(list) = list else { return Ok(None) };
        if let Some((what, declared)) = declared
            && let Some(unknown) = list.iter().find(|n| !declared.contains(&n.as_str()))
        {
            let has = if declared.is_empty() { "none".to_string() } else { declared.join(", ") };
            let message = format!("{unknown:?} is not a {what} of this run (it declares: {has})");
            return Err(source.error(&key(name), message));
        }
        Ok(Some(list.iter().cloned().collect::<BTreeSet<_>>()))
    };
    let sockets = table
        .allowed_sockets
        .iter()
        .flatten()
        .map(|text| SocketPattern::parse(text).map_err(|why| source.error(&key("allowed-sockets"), why)))
        .collect::<Result<Vec<_>, _>>()?;
    Ok(Grants {
        hosts,
        sockets,
        env: names("env", &table.env, None)?,
        data: names("data", &table.data, Some(("data set", data)))?,
        datasources: names("datasources", &table.datasources, Some(("datasource", datasources)))?,
    })
}
