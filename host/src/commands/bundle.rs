//! `vespid bundle pack|inspect|verify|sign|keygen|push|pull`.

use std::path::Path;
use std::sync::Arc;

use crate::bundle::{
    Bundle, BundleError, Described, Packing, cache_dir, fingerprint, generate, pull, push, read_signing_key,
    read_verifying_key,
};
use crate::cli::{BundleCommand, BundleFileArgs, KeygenArgs, PackArgs, SignArgs};
use crate::config::{DEFAULT_VU_MEMORY, Overrides};
use crate::plugin::{EngineOptions, Language, Plugin, build_engine};
use crate::{Error, exec, run};

pub async fn bundle_command(command: &BundleCommand) -> Result<(), Error> {
    match command {
        BundleCommand::Pack(args) => pack(args).await,
        BundleCommand::Inspect(args) => inspect(args),
        BundleCommand::Verify(args) => verify(args),
        BundleCommand::Sign(args) => sign(args),
        BundleCommand::Keygen(args) => keygen(args),
        BundleCommand::Push(args) => {
            let bundle = Bundle::open(&args.bundle)?;
            let url = push(&bundle, &args.reference).await?;
            println!("pushed {} {} to {url}", bundle.manifest.name, bundle.manifest.version);
            Ok(())
        }
        BundleCommand::Pull(args) => {
            let cached = pull(&args.reference, &cache_dir()).await?;
            std::fs::copy(&cached, &args.output)
                .map_err(|source| Error::Write { path: args.output.clone(), source })?;
            let bundle = Bundle::open(&args.output)?;
            println!(
                "pulled {} {} into {} ({})",
                bundle.manifest.name,
                bundle.manifest.version,
                args.output.display(),
                bundle.digest
            );
            Ok(())
        }
    }
}

async fn pack(args: &PackArgs) -> Result<(), Error> {
    let name_version =
        args.name.clone().map(|name| (name, args.bundle_version.clone().unwrap_or_else(|| "0.1.0".into())));
    let packing = Packing::read(&args.source, name_version)?;
    let described = describe(&packing.plugin_path()).await?;
    let output = args.output.clone().unwrap_or_else(|| packing.file_name().into());
    let bundle = packing.pack(described)?;
    write(&output, &bundle.bytes()?)?;
    println!(
        "packed {} {} into {} ({})",
        bundle.manifest.name,
        bundle.manifest.version,
        output.display(),
        bundle.digest
    );
    Ok(())
}

/// The plugin's world and tasks, as `inspect` finds them.
async fn describe(plugin: &Path) -> Result<Described, Error> {
    if let Some(language) = Language::of(plugin) {
        let overrides = Overrides { target: plugin.to_path_buf(), ..Overrides::default() };
        let loaded = run::load_script(&overrides).await?;
        let info =
            exec::describe(&loaded.engine, &loaded.plugin, &[], Default::default()).await.map_err(Error::Script)?;
        let world = format!("vespid:scenario/script-runtime ({})", language.runtime_name());
        return Ok(Described { world, tasks: info.tasks.into_iter().map(|t| t.name).collect() });
    }
    crate::config::existing_file(plugin)?;
    let engine =
        build_engine(EngineOptions { max_instances: 1, cache: true, memory: DEFAULT_VU_MEMORY, runtime: false })?;
    let loaded = Arc::new(Plugin::load(plugin, &engine)?);
    let info = exec::describe(&engine, &loaded, &[], Default::default()).await.map_err(Error::Setup)?;
    let world = format!("vespid:scenario/scenario@{}", loaded.wit_version);
    Ok(Described { world, tasks: info.tasks.into_iter().map(|t| t.name).collect() })
}

fn inspect(args: &BundleFileArgs) -> Result<(), Error> {
    let bundle = open(args)?;
    let m = &bundle.manifest;
    println!("bundle:      {} ({})", args.bundle.display(), bundle.digest);
    println!("permissions asked:");
    for (kind, asked) in m.permissions.kinds() {
        let asked = if asked.is_empty() { "none".to_string() } else { asked.join(", ") };
        println!("  {kind:<16}{asked}");
    }
    if !m.limits.is_empty() {
        println!("limits asked:");
        for (limit, asked) in m.limits.kinds() {
            if let Some(asked) = asked {
                println!("  {limit:<20}{asked}");
            }
        }
    }
    println!("name:        {}", m.name);
    println!("version:     {}", m.version);
    if !m.description.is_empty() {
        println!("description: {}", m.description);
    }
    if !m.authors.is_empty() {
        println!("authors:     {}", m.authors.join(", "));
    }
    println!("world:       {}", m.world);
    println!("tasks:       {}", if m.tasks.is_empty() { "default".to_string() } else { m.tasks.join(", ") });
    println!("plugin:      {}", m.plugin);
    for (set, entry) in &m.data {
        println!("data:        {set} = {entry}");
    }
    if !m.options.is_empty() {
        println!("options:     {}", inline(&m.options));
    }
    if !m.thresholds.is_empty() {
        println!("thresholds:  {}", inline(&m.thresholds));
    }
    println!("parts:");
    for (name, size, digest) in bundle.parts() {
        println!("  {name}  {size} bytes  {digest}");
    }
    match bundle.signer() {
        Some(key) => println!("signed by:   ed25519 key {}", fingerprint(&key)),
        None => println!("signed by:   nobody (unsigned)"),
    }
    Ok(())
}

fn inline(table: &toml::Table) -> String {
    table.iter().map(|(key, value)| format!("{key} = {value}")).collect::<Vec<_>>().join(", ")
}

fn verify(args: &BundleFileArgs) -> Result<(), Error> {
    let bundle = open(args)?;
    let signed = match bundle.signer() {
        Some(key) => format!("signed by ed25519 key {}", fingerprint(&key)),
        None => "unsigned".to_string(),
    };
    println!("ok: {} parts match their digests; {signed}", bundle.parts().len());
    Ok(())
}

/// The bundle, checked, and signed by `--key` if one is given.
fn open(args: &BundleFileArgs) -> Result<Bundle, BundleError> {
    let bundle = Bundle::open(&args.bundle)?;
    if let Some(key) = &args.key {
        bundle.require_signer(&[read_verifying_key(key)?])?;
    }
    Ok(bundle)
}

fn sign(args: &SignArgs) -> Result<(), Error> {
    let key = read_signing_key(&args.key)?;
    let bundle = Bundle::open(&args.bundle)?;
    let output = args.output.as_deref().unwrap_or(&args.bundle);
    write(output, &bundle.sealed(&key)?)?;
    println!("signed {} with ed25519 key {}", output.display(), fingerprint(&key.verifying_key()));
    Ok(())
}

fn keygen(args: &KeygenArgs) -> Result<(), Error> {
    let (private, public) = generate()?;
    let private_path = args.prefix.with_extension("pem");
    let public_path = args.prefix.with_extension("pub.pem");
    for path in [&private_path, &public_path] {
        if path.exists() {
            let message = "exists; keygen never overwrites a key".to_string();
            return Err(BundleError::Key { path: path.clone(), message }.into());
        }
    }
    write(&private_path, private.as_bytes())?;
    write(&public_path, public.as_bytes())?;
    println!("wrote {} (private: keep it) and {} (public)", private_path.display(), public_path.display());
    Ok(())
}

/// Writes `bytes` to `path` through a temporary file beside it, so a
/// failed write never leaves half a file.
fn write(path: &Path, bytes: &[u8]) -> Result<(), Error> {
    let temporary = path.with_extension("partial");
    let failed = |source| Error::Write { path: path.to_path_buf(), source };
    std::fs::write(&temporary, bytes).map_err(failed)?;
    std::fs::rename(&temporary, path).map_err(failed)
}
