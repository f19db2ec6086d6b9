//! The plan of a script run: the script is loaded once on its language
//! runtime before anything else, so its own options (k6's `export const
//! options`) and shared arrays shape the plan under the flags.

use std::sync::Arc;

use wasmtime::Engine;

use crate::Error;
use crate::bundle::{Bundle, cache_dir, is_reference, pull};
use crate::config::{Overrides, Plan, existing_file};
use crate::exec::script_options;
use crate::plugin::{EngineOptions, Language, Plugin, build_engine};

/// The memory of the one instance that loads a script for its options:
/// wasm32's whole 4 GiB, not a VU's cap, as k6 builds a `SharedArray` of
/// any size there (once per run; VUs read it from the host).
const SCRIPT_LOAD_MEMORY: usize = 4 << 30;

/// The plan `args` describe: a run file's, a plugin's, or a script's with
/// its options (the options it ignores are logged as warnings).
pub async fn plan(args: &Overrides) -> Result<Plan, Error> {
    if let Some(reference) = args.target.to_str().filter(|t| is_reference(t)) {
        let pulled = pull(reference, &cache_dir()).await?;
        return bundle_plan(&Overrides { target: pulled, ..args.clone() });
    }
    if crate::bundle::is_bundle(&args.target) {
        return bundle_plan(args);
    }
    if Language::of(&args.target).is_none() {
        let mut plan = Plan::from_args(args)?;
        for note in crate::config::settle_bundle_asks(&mut plan, args.grant_requested)? {
            tracing::warn!("{}: {note}", args.target.display());
        }
        return Ok(plan);
    }
    let loaded = load_script(args).await?;
    for warning in &loaded.warnings {
        tracing::warn!("{}: {warning}", args.target.display());
    }
    Ok(loaded.plan)
}

/// A bundle's plan: a run file of one scenario whose plugin is the bundle,
/// with the bundle's default options and thresholds, under the flags; what
/// it asks for is shown, and each permission it does not get.
fn bundle_plan(args: &Overrides) -> Result<Plan, Error> {
    let bundle = Bundle::open(&args.target)?;
    let manifest = &bundle.manifest;
    let shown = args.target.display();
    let asked: Vec<String> = manifest
        .permissions
        .kinds()
        .iter()
        .filter(|(_, asked)| !asked.is_empty())
        .map(|(kind, asked)| format!("{kind} {}", asked.join(", ")))
        .collect();
    let limits = manifest.limits.kinds().into_iter().filter_map(|(limit, asked)| Some(format!("{limit} {}", asked?)));
    let asked: Vec<String> = asked.into_iter().chain(limits).collect();
    let asked = if asked.is_empty() { "nothing".to_string() } else { asked.join("; ") };
    let target = std::path::absolute(&args.target).map_err(|e| Error::Runtime(e.to_string()))?;
    let dir = cache_dir().join(bundle.digest.trim_start_matches("sha256:"));
    let run_file = dir.join("bundle-run.toml");
    let text = bundle.run_file(&target)?;
    std::fs::create_dir_all(&dir)
        .and_then(|()| std::fs::write(&run_file, text))
        .map_err(|source| Error::Write { path: run_file.clone(), source })?;
    // Checked (and its signer) in planning, before anything is shown.
    let (plan, notes) = Plan::from_bundle(args, &run_file)?;
    tracing::info!("{shown}: bundle {} {} asks for {asked}", manifest.name, manifest.version);
    for note in notes {
        tracing::warn!("{shown}: {note}");
    }
    Ok(plan)
}

/// A script (`args.target`) loaded for its options, not run.
pub struct LoadedScript {
    pub plan: Plan,
    /// The options vespid ignores, one line each.
    pub warnings: Vec<String>,
    pub plugin: Arc<Plugin>,
    /// The engine the plugin was compiled for.
    pub engine: Engine,
}

/// Loads the script `args.target` on its runtime and plans it under `args`.
pub async fn load_script(args: &Overrides) -> Result<LoadedScript, Error> {
    existing_file(&args.target)?;
    let options =
        EngineOptions { max_instances: 1, cache: !args.no_compile_cache, memory: SCRIPT_LOAD_MEMORY, runtime: true };
    let engine = build_engine(options)?;
    let (path, compiler) = (args.target.clone(), engine.clone());
    let plugin = tokio::task::spawn_blocking(move || Plugin::load(&path, &compiler))
        .await
        .map_err(|err| Error::Runtime(format!("script loading stopped: {err}")))??;
    let plugin = Arc::new(plugin);
    let (json, arrays) = script_options(&engine, &plugin, &args.env).await.map_err(Error::Script)?;
    let (mut plan, warnings) = Plan::from_script(args, &json)?;
    plan.shared_arrays = arrays;
    Ok(LoadedScript { plan, warnings, plugin, engine })
}
