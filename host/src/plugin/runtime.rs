//! Language runtimes: the script files vespid runs on a runtime component
//! built into the binary (JavaScript on plugins/js, Python on
//! plugins/python), told apart by their extension. A runtime is compiled once per engine (and once per machine
//! through the compilation cache); each script is data handed to it.
//! TypeScript is recognised but not stripped here (no type-stripping crate
//! small enough yet, see docs/k6.md): it is refused with the one step that
//! makes it JavaScript.

use std::path::Path;
use std::sync::Mutex;

use wasmtime::Engine;
use wasmtime::component::Component;

use super::PluginError;
use crate::caps::Script;

/// The JavaScript runtime component (plugins/js), built by `host/build.rs`.
static JS_RUNTIME: &[u8] = include_bytes!(env!("VESPID_JS_RUNTIME"));
/// The Python runtime component (plugins/python), built by `host/build.rs`.
static PYTHON_RUNTIME: &[u8] = include_bytes!(env!("VESPID_PYTHON_RUNTIME"));

/// A script language with a built-in runtime.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Language {
    JavaScript,
    /// Runs on the JavaScript runtime once its types are stripped.
    TypeScript,
    /// Locustfiles and Vespid-native Python scenarios.
    Python,
}

impl Language {
    /// The language of a script file, by its extension; `None` for anything
    /// else (a component, or a file that is checked as one).
    pub fn of(path: &Path) -> Option<Language> {
        match path.extension()?.to_str()? {
            "js" | "mjs" => Some(Language::JavaScript),
            "ts" | "mts" => Some(Language::TypeScript),
            "py" => Some(Language::Python),
            _ => None,
        }
    }

    /// The script in `bytes`, read from `path`, as its runtime takes it.
    pub fn script(self, path: &Path, bytes: &[u8]) -> Result<Script, PluginError> {
        if self == Language::TypeScript {
            let js = path.with_extension("js");
            let reason = format!(
                "TypeScript is not run directly; strip its types first: esbuild {} --outfile={} --format=esm, then run {}",
                path.display(),
                js.display(),
                js.display()
            );
            return Err(PluginError::Script { path: path.to_path_buf(), reason });
        }
        let text = std::str::from_utf8(bytes)
            .map_err(|_| PluginError::Script { path: path.to_path_buf(), reason: "is not UTF-8 text".into() })?;
        Ok(Script::new(path, text.to_string()))
    }

    fn component_bytes(self) -> &'static [u8] {
        match self {
            Language::JavaScript | Language::TypeScript => JS_RUNTIME,
            Language::Python => PYTHON_RUNTIME,
        }
    }

    /// The runtime as `vespid inspect` names it.
    pub fn runtime_name(self) -> &'static str {
        match self {
            Language::JavaScript | Language::TypeScript => "the built-in JavaScript runtime",
            Language::Python => "the built-in Python runtime",
        }
    }

    /// Whether the runtime is snapshotted by vespid (with its built-in
    /// modules loaded) before use. componentize-py already initialises the
    /// Python runtime while it builds it.
    fn snapshotted(self) -> bool {
        self != Language::Python
    }
}

/// The runtime of `language` compiled for `engine`. The latest one is
/// kept, so a reload or a second scenario of the run reuses it.
pub fn component(language: Language, engine: &Engine) -> Result<Component, PluginError> {
    static LATEST: Mutex<Vec<(Language, Engine, Component)>> = Mutex::new(Vec::new());
    let mut latest = LATEST.lock().unwrap_or_else(|poison| poison.into_inner());
    if let Some((_, _, component)) = latest.iter().find(|(l, e, _)| *l == language && Engine::same(e, engine)) {
        return Ok(component.clone());
    }
    let component = compile(language, engine)?;
    latest.retain(|(l, _, _)| *l != language);
    latest.push((language, engine.clone(), component.clone()));
    Ok(component)
}

/// Compiles the runtime's snapshot (its built-in modules already loaded),
/// or the runtime itself when there is no usable snapshot.
fn compile(language: Language, engine: &Engine) -> Result<Component, PluginError> {
    let runtime = language.component_bytes();
    if let Some(snapshot) = language.snapshotted().then(|| super::snapshot::of(runtime)).flatten() {
        match Component::new(engine, snapshot) {
            Ok(component) => return Ok(component),
            Err(err) => {
                tracing::debug!("the {language:?} runtime's snapshot does not compile, using the runtime: {err:#}");
                super::snapshot::discard(runtime);
            }
        }
    }
    Component::new(engine, runtime)
        .map_err(|err| PluginError::Engine(format!("compiling the {language:?} runtime: {err:#}")))
}
