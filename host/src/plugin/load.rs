//! Loading one plugin file: recognise a component, compile it, check that
//! it targets `vespid:scenario/scenario` of a version this host speaks
//! (0.1.x or 0.2.0), and link it once into an [`InstancePre`] that every
//! VU instantiates from. A script file goes to its language runtime
//! (`runtime`) instead.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use wasmtime::Engine;
use wasmtime::component::{Component, ComponentExportIndex, InstancePre, Linker};

use crate::bindings::{
    LEGACY_WIT_VERSION, LIFECYCLE_EXPORT, OLDEST_WIT_VERSION, RUNNER_EXPORT, VU_END_FUNCTION, WIT_VERSION,
};
use crate::caps::{Script, VuState};

/// Why a plugin cannot be used. Each message is one line naming the file.
#[derive(Debug, thiserror::Error)]
pub enum PluginError {
    #[error("cannot read plugin {path:?}: {source}")]
    Read { path: PathBuf, source: std::io::Error },
    #[error("{path:?} is not a WebAssembly file")]
    NotWasm { path: PathBuf },
    #[error(
        "{path:?} is a core WebAssembly module, not a component: build it for the wasm32-wasip2 target (or wrap it with `wasm-tools component new`)"
    )]
    CoreModule { path: PathBuf },
    #[error("{path:?} is not a valid component: {reason}")]
    Invalid { path: PathBuf, reason: String },
    #[error(
        "{path:?} targets another world (it exports {exports}); a Vespid plugin targets vespid:scenario/scenario@{WIT_VERSION}"
    )]
    OtherWorld { path: PathBuf, exports: String },
    #[error("{path:?} does not export {RUNNER_EXPORT} (of any version)")]
    MissingRunner { path: PathBuf },
    #[error(
        "{path:?} was built against vespid:scenario@{found}; this vespid supports vespid:scenario@{OLDEST_WIT_VERSION} to @{LEGACY_WIT_VERSION} and @{WIT_VERSION}"
    )]
    WitVersion { path: PathBuf, found: String },
    #[error("{path:?}: {reason}")]
    Script { path: PathBuf, reason: String },
    #[error("{path:?} cannot be linked: {reason}")]
    Link { path: PathBuf, reason: String },
    #[error("cannot set up the WebAssembly engine: {0}")]
    Engine(String),
}

/// A compiled, checked and linked plugin.
pub struct Plugin {
    pub path: PathBuf,
    pub pre: InstancePre<VuState>,
    /// Its `runner` functions, in whichever version it exports them.
    pub runner: RunnerExports,
    /// Interfaces the component imports, e.g. `vespid:scenario/http@0.1.0`.
    pub imports: Vec<String>,
    /// A short digest of the file's bytes: the version tagged on samples.
    pub version: Arc<str>,
    /// The WIT version the plugin was built against.
    pub wit_version: semver::Version,
    /// The script a language runtime runs; `None` for a compiled plugin.
    pub script: Option<Arc<Script>>,
    /// Its `lifecycle.vu-end`, when it exports one (WIT 0.1.2).
    pub vu_end: Option<ComponentExportIndex>,
}

/// Where a plugin's `runner` functions are. Found by name, not through a
/// `bindgen!` world, since 0.1.x and 0.2 plugins export `runner` under
/// different versions; their types are the same in both.
#[derive(Debug, Clone, Copy)]
pub struct RunnerExports {
    pub describe: ComponentExportIndex,
    pub setup: ComponentExportIndex,
    pub init: ComponentExportIndex,
    pub run: ComponentExportIndex,
    pub teardown: ComponentExportIndex,
}

impl RunnerExports {
    /// The functions of export `runner` (its full name) of `component`.
    fn find(component: &Component, runner: &str) -> Result<RunnerExports, String> {
        let instance = component.get_export_index(None, runner).ok_or_else(|| format!("no export {runner}"))?;
        let function = |name: &str| {
            component.get_export_index(Some(&instance), name).ok_or_else(|| format!("{runner} has no function {name}"))
        };
        Ok(RunnerExports {
            describe: function("describe")?,
            setup: function("setup")?,
            init: function("init")?,
            run: function("run")?,
            teardown: function("teardown")?,
        })
    }
}

impl Plugin {
    /// Reads, compiles, checks and links the plugin at `path`.
    pub fn load(path: &Path, engine: &Engine) -> Result<Plugin, PluginError> {
        Plugin::from_bytes(path, &Plugin::read(path)?, engine)
    }

    /// The bytes of the plugin file at `path`.
    pub fn read(path: &Path) -> Result<Vec<u8>, PluginError> {
        std::fs::read(path).map_err(|source| PluginError::Read { path: path.to_path_buf(), source })
    }

    /// Compiles, checks and links `bytes`, read from `path`; a script's
    /// text goes to its language runtime.
    pub fn from_bytes(path: &Path, bytes: &[u8], engine: &Engine) -> Result<Plugin, PluginError> {
        if let Some(language) = super::runtime::Language::of(path) {
            let script = language.script(path, bytes)?;
            let component = super::runtime::component(language, engine)?;
            return Plugin::link(path, component, digest(bytes), Some(Arc::new(script)), engine);
        }
        check_header(path, bytes)?;
        let component = Component::new(engine, bytes)
            .map_err(|err| PluginError::Invalid { path: path.to_path_buf(), reason: one_line(&err) })?;
        Plugin::link(path, component, digest(bytes), None, engine)
    }

    /// Checks `component` against the world and links it.
    fn link(
        path: &Path,
        component: Component,
        version: Arc<str>,
        script: Option<Arc<Script>>,
        engine: &Engine,
    ) -> Result<Plugin, PluginError> {
        let path_buf = path.to_path_buf();
        let ty = component.component_type();
        let exports: Vec<String> = ty.exports(engine).map(|(name, _)| name.to_string()).collect();
        let imports: Vec<String> = ty.imports(engine).map(|(name, _)| name.to_string()).collect();
        let (runner_export, wit_version) = check_world(path, &imports, &exports)?;
        let link_err = |reason: String| PluginError::Link { path: path_buf.clone(), reason };
        let runner = RunnerExports::find(&component, runner_export).map_err(link_err)?;
        let lifecycle_prefix = format!("{LIFECYCLE_EXPORT}@");
        let vu_end = exports
            .iter()
            .find(|name| name.starts_with(&lifecycle_prefix))
            .and_then(|name| component.get_export_index(None, name))
            .and_then(|lifecycle| component.get_export_index(Some(&lifecycle), VU_END_FUNCTION));

        let mut linker = Linker::<VuState>::new(engine);
        crate::caps::add_to_linker(&mut linker)
            .map_err(|err| PluginError::Engine(format!("linking the host capabilities: {}", one_line(&err))))?;
        let pre = linker.instantiate_pre(&component).map_err(|err| link_err(one_line(&err)))?;
        Ok(Plugin { path: path_buf, pre, runner, imports, version, wit_version, script, vu_end })
    }
}

/// The first 8 hex digits of the SHA-256 of a plugin file: short enough for
/// a tag, long enough that two versions of one plugin never share it.
pub fn digest(bytes: &[u8]) -> Arc<str> {
    use sha2::Digest;
    let hash = sha2::Sha256::digest(bytes);
    hash[..4].iter().map(|b| format!("{b:02x}")).collect::<String>().into()
}

/// Tells a component from a core module or a non-wasm file by the preamble.
fn check_header(path: &Path, bytes: &[u8]) -> Result<(), PluginError> {
    if bytes.len() < 8 || &bytes[..4] != b"\0asm" {
        return Err(PluginError::NotWasm { path: path.to_path_buf() });
    }
    // Bytes 6..8 are the layer: 0 for a core module, 1 for a component.
    match bytes[6..8] {
        [0, 0] => Err(PluginError::CoreModule { path: path.to_path_buf() }),
        _ => Ok(()),
    }
}

/// Names what is wrong when the component does not target our world: it
/// must export the runner of a WIT version this host speaks (0.1.0 up to
/// [`LEGACY_WIT_VERSION`], and [`WIT_VERSION`]; a later one may import
/// what this host lacks).
/// Returns the runner export's name and the version it was built against.
fn check_world<'a>(
    path: &Path,
    imports: &[String],
    exports: &'a [String],
) -> Result<(&'a str, semver::Version), PluginError> {
    let path = path.to_path_buf();
    let runner_prefix = format!("{RUNNER_EXPORT}@");
    if let Some((export, found)) = exports.iter().find_map(|e| Some((e, e.strip_prefix(&runner_prefix)?))) {
        let supported = |v: &semver::Version| {
            ((OLDEST_WIT_VERSION..=LEGACY_WIT_VERSION).contains(v) || *v == WIT_VERSION) && v.pre.is_empty()
        };
        return match semver::Version::parse(found) {
            Ok(version) if supported(&version) => Ok((export.as_str(), version)),
            _ => Err(PluginError::WitVersion { path, found: found.to_string() }),
        };
    }
    let ours = |name: &String| name.starts_with("vespid:scenario/");
    if imports.iter().any(ours) || exports.iter().any(ours) {
        return Err(PluginError::MissingRunner { path });
    }
    let exports = if exports.is_empty() { "nothing".to_string() } else { exports.join(", ") };
    Err(PluginError::OtherWorld { path, exports })
}

/// wasmtime errors carry a cause chain over several lines; keep one line.
fn one_line(err: &wasmtime::Error) -> String {
    format!("{err:#}").lines().map(str::trim).filter(|l| !l.is_empty()).collect::<Vec<_>>().join(": ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn headers_tell_modules_components_and_other_files_apart() {
        let p = Path::new("x.wasm");
        assert!(matches!(check_header(p, b"hello world"), Err(PluginError::NotWasm { .. })));
        assert!(matches!(check_header(p, b"\0asm\x01\0\0\0"), Err(PluginError::CoreModule { .. })));
        assert!(check_header(p, b"\0asm\x0d\0\x01\0").is_ok());
    }

    #[test]
    fn world_checks_name_the_problem() {
        let p = Path::new("p.wasm");
        let s = |v: &[&str]| v.iter().map(|x| x.to_string()).collect::<Vec<_>>();
        assert!(check_world(p, &s(&[]), &s(&["vespid:scenario/runner@0.1.0"])).is_ok());
        assert!(check_world(p, &s(&[]), &s(&["vespid:scenario/runner@0.1.1"])).is_ok());
        assert!(check_world(p, &s(&[]), &s(&["vespid:scenario/runner@0.1.3"])).is_ok());
        assert!(check_world(p, &s(&[]), &s(&["vespid:scenario/runner@0.2.0"])).is_ok());
        let err = check_world(p, &s(&[]), &s(&["vespid:scenario/runner@0.1.9"])).unwrap_err();
        assert!(err.to_string().contains("supports vespid:scenario@0.1.0 to @0.1.3 and @0.2.0"), "{err}");
        let err = check_world(p, &s(&[]), &s(&["vespid:scenario/runner@0.2.1"])).unwrap_err();
        assert!(err.to_string().contains("vespid:scenario@0.2.1"), "{err}");
        let err = check_world(p, &s(&[]), &s(&["vespid:scenario/runner@9.0.0"])).unwrap_err();
        assert!(err.to_string().contains("vespid:scenario@9.0.0"), "{err}");
        let err = check_world(p, &s(&["vespid:scenario/log@0.1.0"]), &s(&["x:y/z"])).unwrap_err();
        assert!(matches!(err, PluginError::MissingRunner { .. }));
        let err = check_world(p, &s(&[]), &s(&["acme:greeter/greet@1.0.0"])).unwrap_err();
        assert!(err.to_string().contains("targets another world"), "{err}");
    }
}
