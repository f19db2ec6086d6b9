//! What each subcommand does, between the parsed command line and the
//! engine: `run` (plan, run, print, export), `validate`, `inspect`,
//! `demo-target`, `new`, `dev` and `bundle`.
//! It prints to stdout; errors go back to `main` for the exit code.

mod bundle;

use std::io::Write;
use std::sync::Arc;

use tokio_util::sync::CancellationToken;

use crate::bindings::runner::Info;
use crate::cli::{Cli, Command, ControlArgs, DemoTargetArgs, DevArgs, InspectArgs, NewArgs, RunArgs};
use crate::client::{self, Client};
use crate::config::{DEFAULT_VU_MEMORY, Overrides, options_json};
use crate::demo_target::{DemoTarget, Protocol};
use crate::plugin::{EngineOptions, Language, Plugin, build_engine};
use crate::run::Finished;
use crate::run::control::StatusPatch;
use crate::scaffold::Lang;
use crate::{Error, dev, exec, run, scaffold};

/// Runs one parsed command line.
pub async fn execute(cli: Cli) -> Result<(), Error> {
    match cli.command {
        Command::Run(args) => run_command(&args).await,
        Command::Validate(args) => validate(&args).await,
        Command::Inspect(args) => inspect(&args).await,
        Command::DemoTarget(args) => demo_target(&args).await,
        Command::New(args) => new_project(&args),
        Command::Dev(args) => dev_command(&args).await,
        Command::Bundle(command) => bundle::bundle_command(&command).await,
        Command::Status(args) => steer(&args, None).await,
        Command::Pause(args) => steer(&args, Some(StatusPatch { paused: Some(true), ..StatusPatch::default() })).await,
        Command::Resume(args) => {
            steer(&args, Some(StatusPatch { paused: Some(false), ..StatusPatch::default() })).await
        }
        Command::Scale(args) => {
            let patch = StatusPatch {
                vus: args.vus,
                factor: args.factor,
                scenario: args.scenario.clone(),
                ..StatusPatch::default()
            };
            steer(&args.control, Some(patch)).await
        }
    }
}

/// Sends `patch` (or only asks for the status) to a running test and prints its status.
async fn steer(args: &ControlArgs, patch: Option<StatusPatch>) -> Result<(), Error> {
    let client = Client::new(&args.address, args.api_token.clone())?;
    let status = match &patch {
        Some(patch) => client.patch(patch).await?,
        None => client.status().await?,
    };
    if args.json {
        println!("{}", serde_json::to_string_pretty(&status).unwrap_or_default());
    } else {
        print!("{}", client::render(&status));
    }
    Ok(())
}

async fn run_command(args: &RunArgs) -> Result<(), Error> {
    let plan = run::plan(&args.overrides()).await?;
    let interrupt = CancellationToken::new();
    tokio::spawn(watch_signals(interrupt.clone()));
    ended(run::run(plan, interrupt).await?)
}

async fn dev_command(args: &DevArgs) -> Result<(), Error> {
    let interrupt = CancellationToken::new();
    tokio::spawn(watch_signals(interrupt.clone()));
    ended(dev::run(args, interrupt).await?)
}

/// How a run that made its report ends the command: its first failure,
/// the interrupt, a plugin aborting the test, an abortOnFail threshold,
/// then failed thresholds.
fn ended(finished: Finished) -> Result<(), Error> {
    if let Some(failure) = finished.failure {
        return Err(failure);
    }
    if finished.interrupted {
        return Err(Error::Interrupted);
    }
    if let Some(reason) = finished.test_aborted {
        return Err(Error::TestAborted(reason));
    }
    if let Some(threshold) = finished.aborted_by {
        return Err(Error::ThresholdAborted(threshold));
    }
    let failed: Vec<String> = finished
        .report
        .thresholds
        .iter()
        .filter(|outcome| !outcome.passed)
        .map(|outcome| format!("{} '{}'", outcome.threshold.series_name(), outcome.threshold.expression))
        .collect();
    if !failed.is_empty() {
        return Err(Error::ThresholdsFailed(failed.join(", ")));
    }
    Ok(())
}

/// The first Ctrl-C (SIGINT or SIGTERM) stops the run in order: running
/// iterations are cut, teardown runs, the summary and outputs are written.
/// The second ends the process at once.
async fn watch_signals(interrupt: CancellationToken) {
    use tokio::signal::unix::{SignalKind, signal};
    // Listeners kept for the whole run, so a second signal is never missed.
    let (Ok(mut sigint), Ok(mut sigterm)) = (signal(SignalKind::interrupt()), signal(SignalKind::terminate())) else {
        tracing::warn!("cannot listen for Ctrl-C: it will end the process without a summary");
        return;
    };
    tokio::select! {
        _ = sigint.recv() => {}
        _ = sigterm.recv() => {}
    }
    eprintln!("interrupted: stopping (teardown, summary and outputs follow; interrupt again to quit at once)");
    interrupt.cancel();
    tokio::select! {
        _ = sigint.recv() => {}
        _ = sigterm.recv() => {}
    }
    eprintln!("interrupted again: quitting");
    std::process::exit(crate::ExitCode::Interrupted as i32);
}

async fn validate(args: &RunArgs) -> Result<(), Error> {
    let plan = run::plan(&args.overrides()).await?;
    let lines = run::validate(&plan).await?;
    println!(
        "{}: valid, {} scenario(s), {} threshold(s)",
        args.target.display(),
        plan.scenarios.len(),
        plan.thresholds.len()
    );
    for line in lines {
        println!("  * {line}");
    }
    Ok(())
}

async fn inspect(args: &InspectArgs) -> Result<(), Error> {
    if Language::of(&args.plugin).is_some() {
        return inspect_script(args).await;
    }
    crate::config::existing_file(&args.plugin)?;
    let engine =
        build_engine(EngineOptions { max_instances: 1, cache: true, memory: DEFAULT_VU_MEMORY, runtime: false })?;
    let plugin = Arc::new(Plugin::load(&args.plugin, &engine)?);
    let info = exec::describe(&engine, &plugin, &[], Default::default()).await.map_err(Error::Setup)?;
    print_plugin(args, &plugin, &info, &format!("vespid:scenario/scenario@{}", plugin.wit_version));
    println!("imports: {}", plugin.imports.join(", "));
    Ok(())
}

/// `vespid inspect script.js`: the script loaded for its options, not run;
/// its exported functions, and the options as vespid resolved them (k6
/// names, as `k6 inspect` prints them) after the options it ignores.
async fn inspect_script(args: &InspectArgs) -> Result<(), Error> {
    let overrides = Overrides { target: args.plugin.clone(), env: args.env.clone(), ..Overrides::default() };
    let loaded = run::load_script(&overrides).await?;
    let info =
        exec::describe(&loaded.engine, &loaded.plugin, &args.env, Default::default()).await.map_err(Error::Script)?;
    let runtime = Language::of(&args.plugin).map_or("", Language::runtime_name);
    print_plugin(args, &loaded.plugin, &info, &format!("vespid:scenario/script-runtime ({runtime})"));
    let outline = exec::outline(&loaded.engine, &loaded.plugin, &args.env).await.map_err(Error::Script)?;
    if !outline.is_empty() {
        println!("{outline}");
    }
    for warning in &loaded.warnings {
        println!("warning: {warning}");
    }
    let options = options_json(&loaded.plan, &info.name);
    println!("options:\n{}", serde_json::to_string_pretty(&options).unwrap_or_default());
    Ok(())
}

/// The lines every plugin gets: its file, name, version, world and tasks.
fn print_plugin(args: &InspectArgs, plugin: &Plugin, info: &Info, world: &str) {
    println!("plugin:  {}", args.plugin.display());
    println!("name:    {}", info.name);
    println!("version: {} (the plugin_version tag of its samples)", plugin.version);
    println!("world:   {world}");
    if info.tasks.is_empty() {
        println!("tasks:   default");
    } else {
        let tasks: Vec<String> = info.tasks.iter().map(|t| format!("{} (weight {})", t.name, t.weight)).collect();
        println!("tasks:   {}", tasks.join(", "));
    }
}

async fn demo_target(args: &DemoTargetArgs) -> Result<(), Error> {
    let protocol = if args.tls { Protocol::Https } else { Protocol::Http };
    let target = DemoTarget::start_with_database(args.listen, protocol, args.database.as_deref())
        .await
        .map_err(|err| Error::Runtime(format!("cannot start the demo target on {}: {err}", args.listen)))?;
    if let (Some(path), Some(pem)) = (&args.ca_out, target.ca_pem()) {
        std::fs::write(path, pem).map_err(|source| Error::Write { path: path.clone(), source })?;
    }
    println!("demo target listening on {}", target.base_url());
    let _ = std::io::stdout().flush();
    let _ = tokio::signal::ctrl_c().await;
    target.shutdown().await;
    Ok(())
}

fn new_project(args: &NewArgs) -> Result<(), Error> {
    let created = scaffold::create(&args.name, &args.dir, args.sdk_path.as_deref(), args.lang)?;
    let root = created.root.display();
    println!("created {root}:");
    for file in &created.files {
        println!("  {file}");
    }
    println!();
    println!("next:");
    println!("  cd {root}");
    match args.lang {
        Lang::Rust => {
            println!("  cargo build --target wasm32-wasip2 --release");
            println!("  vespid demo-target        # in another terminal");
            println!("  vespid run vespid.toml");
            println!("  vespid dev .              # while you write it: rebuilt and reloaded on every save");
        }
        Lang::Js => {
            println!("  vespid demo-target        # in another terminal");
            println!("  vespid run script.js");
        }
        Lang::Python => {
            println!("  vespid demo-target        # in another terminal");
            println!("  vespid run locustfile.py -u 2 -r 1 -t 10s");
        }
    }
    Ok(())
}
