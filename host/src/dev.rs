//! `vespid dev`: the authoring loop. A plugin runs with a few VUs at a slow
//! constant pace, is reloaded on every save, and each request, check and
//! error is printed as it happens. Given a source folder, this module also
//! owns the build: once before the run, then again on every source change;
//! a build that succeeds rewrites the plugin file, which the run's watcher
//! reloads, and one that fails leaves the running version in place.

use std::os::fd::AsFd;
use std::path::{Component, Path, PathBuf};
use std::process::{ExitStatus, Stdio};

use tokio_util::sync::CancellationToken;

use crate::Error;
use crate::caps::HttpDebug;
use crate::cli::DevArgs;
use crate::config::{Overrides, Plan, is_run_file};
use crate::exec::ThinkTime;
use crate::plugin::{FileWatcher, WatchError};
use crate::run::{self, Finished};

/// The build of a Cargo project when `--build` is not given.
pub const CARGO_BUILD: &str = "cargo build --target wasm32-wasip2 --release";

/// Why `vespid dev` cannot start.
#[derive(Debug, thiserror::Error)]
pub enum DevError {
    #[error("{0:?} is a run file: vespid dev takes a plugin or its source folder")]
    RunFile(PathBuf),
    #[error("--build and --plugin apply to a source folder; {0:?} is a plugin file")]
    NotAFolder(PathBuf),
    #[error("{0:?} has no Cargo.toml: give the build command with --build and the plugin it writes with --plugin")]
    NoBuild(PathBuf),
    #[error("{0:?} has no Cargo.toml: give the plugin --build writes with --plugin")]
    NoPlugin(PathBuf),
    #[error("{path:?}: {reason}")]
    Manifest { path: PathBuf, reason: String },
    #[error("cannot run the build `{command}`: {source}")]
    Spawn { command: String, source: std::io::Error },
    #[error("the build `{command}` failed ({status})")]
    Build { command: String, status: ExitStatus },
    #[error("the build `{command}` succeeded but wrote no plugin {path:?}; give its path with --plugin")]
    NoArtifact { command: String, path: PathBuf },
    #[error(transparent)]
    Watch(#[from] WatchError),
}

/// A source folder, the command that builds it and the plugin file it writes.
struct Source {
    dir: PathBuf,
    command: String,
    artifact: PathBuf,
}

impl Source {
    /// The source folder `args` names, if it names a folder.
    fn of(args: &DevArgs) -> Result<Option<Source>, DevError> {
        let dir = &args.target;
        if !dir.is_dir() {
            if args.build.is_some() || args.plugin.is_some() {
                return Err(DevError::NotAFolder(dir.clone()));
            }
            return Ok(None);
        }
        let manifest = dir.join("Cargo.toml");
        let cargo = manifest.is_file();
        let command = match (&args.build, cargo) {
            (Some(command), _) => command.clone(),
            (None, true) => CARGO_BUILD.to_string(),
            (None, false) => return Err(DevError::NoBuild(dir.clone())),
        };
        let artifact = match (&args.plugin, cargo) {
            (Some(path), _) => path.clone(),
            (None, true) => dir.join("target/wasm32-wasip2/release").join(format!("{}.wasm", crate_name(&manifest)?)),
            (None, false) => return Err(DevError::NoPlugin(dir.clone())),
        };
        Ok(Some(Source { dir: dir.clone(), command, artifact }))
    }

    /// Runs the build, its output (stdout too) streamed to stderr as it
    /// comes, so compiler messages and the run's lines share one stream.
    async fn build(&self) -> Result<(), DevError> {
        let command = self.command.clone();
        eprintln!("building: {command}");
        let stdout = std::io::stderr().as_fd().try_clone_to_owned().map_or_else(|_| Stdio::inherit(), Stdio::from);
        let status = tokio::process::Command::new("sh")
            .arg("-c")
            .arg(&command)
            .current_dir(&self.dir)
            .stdin(Stdio::null())
            .stdout(stdout)
            // An interrupted loop must not leave a compiler running.
            .kill_on_drop(true)
            .status()
            .await
            .map_err(|source| DevError::Spawn { command: command.clone(), source })?;
        if !status.success() {
            return Err(DevError::Build { command, status });
        }
        if !self.artifact.is_file() {
            return Err(DevError::NoArtifact { command, path: self.artifact.clone() });
        }
        Ok(())
    }

    /// Rebuilds on every settled source change until dropped; a failed
    /// build is reported and the running version stays.
    async fn rebuild_on_change(self, mut watcher: FileWatcher) {
        while watcher.next().await.is_some() {
            // Changes that settled meanwhile are in this build too.
            while watcher.pending().is_some() {}
            match self.build().await {
                Ok(()) => eprintln!("built {}", self.artifact.display()),
                Err(err) => eprintln!("build failed: {err}; the running version keeps running"),
            }
        }
    }

    /// Watches the folder and rebuilds on its changes, in a task of its own.
    fn watch(self) -> Result<tokio::task::JoinHandle<()>, DevError> {
        // The plugin, when inside the folder, is output: its write must not start another build.
        let root = std::path::absolute(&self.dir).ok();
        let artifact = std::path::absolute(&self.artifact)
            .ok()
            .and_then(|artifact| Some(artifact.strip_prefix(root.as_ref()?).ok()?.to_path_buf()));
        let watcher = FileWatcher::tree(&self.dir, move |path| is_source(path, artifact.as_deref()))?;
        eprintln!("watching {} for source changes", self.dir.display());
        Ok(tokio::spawn(self.rebuild_on_change(watcher)))
    }
}

/// Whether a change to `relative` (a path under the source folder) may
/// change the plugin: not the build's output (`target/`, the plugin
/// itself), nor hidden files and folders (`.git`, editors' swap files) or
/// editors' `~` backups.
fn is_source(relative: &Path, artifact: Option<&Path>) -> bool {
    let hidden = relative.components().any(|part| match part {
        Component::Normal(name) => name.to_string_lossy().starts_with('.'),
        _ => false,
    });
    let backup = relative.to_string_lossy().ends_with('~');
    !(hidden || backup || relative.starts_with("target") || Some(relative) == artifact)
}

/// The package name of the Cargo manifest at `path`, as rustc names its
/// output (`-` becomes `_`).
fn crate_name(path: &Path) -> Result<String, DevError> {
    let invalid = |reason: String| DevError::Manifest { path: path.to_path_buf(), reason };
    let text = std::fs::read_to_string(path).map_err(|err| invalid(err.to_string()))?;
    let manifest: toml::Table = text.parse().map_err(|err: toml::de::Error| invalid(err.message().to_string()))?;
    let name = manifest.get("package").and_then(|package| package.get("name")).and_then(toml::Value::as_str);
    let name = name.ok_or_else(|| invalid("no package.name: give the plugin the build writes with --plugin".into()))?;
    Ok(name.replace('-', "_"))
}

/// The run `vespid dev` makes of `plugin`: `--vus` VUs looping at `--pace`
/// for `--duration`, reloaded on change, every request, check and error printed.
/// A script's own options (thresholds, shared arrays) apply under these.
async fn plan(args: &DevArgs, plugin: PathBuf) -> Result<Plan, Error> {
    let overrides = Overrides {
        target: plugin,
        vus: Some(args.vus),
        duration: Some(args.duration),
        env: args.env.clone(),
        summary_export: args.summary_export.clone(),
        http_debug: Some(HttpDebug::Summary),
        watch: true,
        ..Overrides::default()
    };
    let mut plan = run::plan(&overrides).await?;
    for scenario in &mut plan.scenarios {
        scenario.think_time = ThinkTime::Pacing(args.pace);
    }
    plan.live = true;
    Ok(plan)
}

/// Runs the loop until `--duration` is over or `interrupt` (Ctrl-C): the
/// first build, then the run, rebuilding alongside it.
pub async fn run(args: &DevArgs, interrupt: CancellationToken) -> Result<Finished, Error> {
    if is_run_file(&args.target) {
        return Err(DevError::RunFile(args.target.clone()).into());
    }
    let Some(source) = Source::of(args)? else {
        return run::run(plan(args, args.target.clone()).await?, interrupt).await;
    };
    tokio::select! {
        biased;
        // Ctrl-C reaches the build too; its failure is then no build error.
        _ = interrupt.cancelled() => return Err(Error::Interrupted),
        built = source.build() => built?,
    }
    let plan = plan(args, source.artifact.clone()).await?;
    let rebuilding = source.watch()?;
    let finished = run::run(plan, interrupt).await;
    rebuilding.abort();
    finished
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sources_leave_out_build_output_hidden_files_and_backups() {
        let artifact = Some(Path::new("out/p.wasm"));
        for path in ["src/lib.rs", "Cargo.toml", "src/nested/mod.rs", "build.rs"] {
            assert!(is_source(Path::new(path), artifact), "{path}");
        }
        for path in ["target/release/p.wasm", ".git/index", "src/.lib.rs.swp", "src/lib.rs~", "out/p.wasm"] {
            assert!(!is_source(Path::new(path), artifact), "{path}");
        }
    }

    #[test]
    fn the_crate_name_is_the_package_name_as_rustc_writes_it() {
        let dir = tempfile::tempdir().unwrap();
        let manifest = dir.path().join("Cargo.toml");
        std::fs::write(&manifest, "[package]\nname = \"my-shop\"\nversion = \"0.1.0\"\n").unwrap();
        assert_eq!(crate_name(&manifest).unwrap(), "my_shop");
        std::fs::write(&manifest, "[workspace]\nmembers = []\n").unwrap();
        assert!(crate_name(&manifest).unwrap_err().to_string().contains("no package.name"));
    }
}
