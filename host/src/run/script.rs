//! The plan of a script run: the script is loaded once on its language
//! runtime before anything else, so its own options (k6's `export const
//! options`) and shared arrays shape the plan under the flags.

use std::sync::Arc;

use crate::Error;
use crate::config::{DEFAULT_VU_MEMORY, Overrides, Plan, existing_file};
use crate::exec::script_options;
use crate::plugin::{EngineOptions, Language, Plugin, build_engine};

/// The plan `args` describe: a run file's, a plugin's, or a script's with
/// its options.
pub async fn plan(args: &Overrides) -> Result<Plan, Error> {
    if Language::of(&args.target).is_none() {
        return Ok(Plan::from_args(args)?);
    }
    existing_file(&args.target)?;
    let options = EngineOptions { max_instances: 1, cache: !args.no_compile_cache, memory: DEFAULT_VU_MEMORY };
    let engine = build_engine(options)?;
    let (path, compiler) = (args.target.clone(), engine.clone());
    let plugin = tokio::task::spawn_blocking(move || Plugin::load(&path, &compiler))
        .await
        .map_err(|err| Error::Runtime(format!("script loading stopped: {err}")))??;
    let (json, arrays) = script_options(&engine, &Arc::new(plugin), &args.env).await.map_err(Error::Script)?;
    let (mut plan, warnings) = Plan::from_script(args, &json)?;
    for warning in warnings {
        tracing::warn!("{}: {warning}", args.target.display());
    }
    plan.shared_arrays = arrays;
    Ok(plan)
}
