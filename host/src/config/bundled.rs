//! The plan of a bundle run: the run file the bundle holds under the flags,
//! its plugin confined to what this run grants (deny by default): the
//! origins of `--allow-host`, the env keys, data sets and datasources the
//! command line names, and what the bundle asks for only with
//! `--grant-requested`.

use std::collections::BTreeSet;
use std::path::Path;

use super::file::Source;
use super::{ConfigError, Overrides, Plan};
use crate::bundle::{Asked, BundleError};
use crate::caps::grants::{Grants, HostPattern};

/// The plan of the bundle unpacked with its run file at `run_file`, asking
/// for `asked`, and one line per permission asked but not granted.
pub fn plan(args: &Overrides, run_file: &Path, asked: &Asked) -> Result<(Plan, Vec<String>), ConfigError> {
    let source = Source::read(run_file)?;
    let mut plan = Plan::from_file(&source, args)?;
    // The bundle is not a file the user edits: nothing to watch.
    plan.run_file = None;
    let hosts = if args.grant_requested {
        asked
            .allowed_hosts
            .iter()
            .map(|text| HostPattern::parse(text).map_err(|why| BundleError::Manifest(format!("permissions: {why}"))))
            .collect::<Result<Vec<_>, _>>()?
    } else {
        Vec::new()
    };
    let named = |flags: Vec<&String>, asked: &[String]| -> BTreeSet<String> {
        let asked = if args.grant_requested { asked } else { &[] };
        flags.into_iter().chain(asked).cloned().collect()
    };
    let bundled: Vec<&String> = plan.data.iter().map(|d| &d.name).collect();
    let granted = Grants {
        hosts: Some(args.allow_hosts.iter().cloned().chain(hosts).collect()),
        env: Some(named(args.env.iter().map(|(k, _)| k).collect(), &asked.env)),
        data: Some(named(bundled, &asked.data)),
        datasources: Some(named(args.datasources.iter().map(|(k, _)| k).collect(), &asked.datasources)),
    };
    let mut notes = Vec::new();
    for (kind, wanted) in asked.kinds() {
        let missing: Vec<&str> = wanted.iter().map(String::as_str).filter(|w| !covered(&granted, kind, w)).collect();
        if !missing.is_empty() {
            notes.push(format!(
                "asks for {kind} {}, not granted (grant it with its flag, or all it asks for with --grant-requested)",
                missing.join(", ")
            ));
        }
    }
    for scenario in &mut plan.scenarios {
        scenario.grants = granted.clone();
    }
    Ok((plan, notes))
}

/// Whether `granted` holds `wanted` as such (a host pattern by its text).
fn covered(granted: &Grants, kind: &str, wanted: &str) -> bool {
    let has = |set: &Option<BTreeSet<String>>| set.as_ref().is_some_and(|s| s.contains(wanted));
    match kind {
        "allowed-hosts" => granted.hosts.iter().flatten().any(|p| p.to_string() == wanted.trim()),
        "env" => has(&granted.env),
        "data" => has(&granted.data),
        _ => has(&granted.datasources),
    }
}
