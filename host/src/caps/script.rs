//! The WIT `script` interface: what a language runtime component gets from
//! the host — the user's script, the files it reads (k6's `open`, cached
//! so a thousand VUs read a file once) and the folders it lists (Python's
//! imports of the user's own modules), and the shared arrays its options
//! pass offers (k6's `SharedArray`), which become data sets of the run.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use crate::bindings::script::{Host, ScriptSource};

use super::VuState;

/// A script run by a language runtime: its name as the user gave it, its
/// text, and the folders it may read files from.
#[derive(Debug)]
pub struct Script {
    pub name: String,
    pub text: String,
    /// Canonical folders `read-file` may reach: the script's, and the one
    /// vespid was started in.
    roots: Vec<PathBuf>,
    /// Files read so far, by canonical path.
    files: Mutex<HashMap<PathBuf, Arc<[u8]>>>,
}

impl Script {
    /// The script at `path` with `text` (types already stripped).
    pub fn new(path: &Path, text: String) -> Script {
        let dir = path.parent().filter(|dir| !dir.as_os_str().is_empty()).unwrap_or(Path::new("."));
        let roots = [dir.to_path_buf(), PathBuf::from(".")].iter().filter_map(|dir| dir.canonicalize().ok()).collect();
        Script { name: path.display().to_string(), text, roots, files: Mutex::default() }
    }

    /// The canonical form of `path` (relative to the script's folder), if
    /// it lies under one of the script's roots.
    fn reachable(&self, path: &str) -> Result<PathBuf, String> {
        let wanted = Path::new(path);
        let base = self.roots.first().map(PathBuf::as_path).unwrap_or(Path::new("."));
        let joined = if wanted.is_absolute() { wanted.to_path_buf() } else { base.join(wanted) };
        let full = joined.canonicalize().map_err(|err| format!("open({path:?}): {err}"))?;
        if !self.roots.iter().any(|root| full.starts_with(root)) {
            return Err(format!(
                "open({path:?}): only files under the script's folder or the folder vespid was started in can be read"
            ));
        }
        Ok(full)
    }

    /// The names in the folder `path`, sorted, folders' with a trailing `/`.
    fn list(&self, path: &str) -> Result<Vec<String>, String> {
        let full = self.reachable(path)?;
        let entries = std::fs::read_dir(&full).map_err(|err| format!("open({path:?}): {err}"))?;
        let mut names: Vec<String> = entries
            .flatten()
            .map(|entry| {
                let name = entry.file_name().to_string_lossy().into_owned();
                if entry.path().is_dir() { name + "/" } else { name }
            })
            .collect();
        names.sort();
        Ok(names)
    }

    /// The bytes of `path` (relative to the script's folder), if it lies
    /// under one of the script's roots.
    fn read(&self, path: &str) -> Result<Arc<[u8]>, String> {
        let full = self.reachable(path)?;
        let mut files = self.files.lock().unwrap_or_else(|poison| poison.into_inner());
        if let Some(bytes) = files.get(&full) {
            return Ok(bytes.clone());
        }
        let bytes: Arc<[u8]> = std::fs::read(&full).map_err(|err| format!("open({path:?}): {err}"))?.into();
        files.insert(full, bytes.clone());
        Ok(bytes)
    }
}

/// Shared arrays offered while a script loads for its options.
pub type SharedArrays = Arc<Mutex<Vec<(String, Vec<String>)>>>;

/// Per-instance state of the `script` interface.
#[derive(Default)]
pub struct ScriptCtx {
    script: Option<Arc<Script>>,
    /// Set only on the instance that loads the script for its options.
    shares: Option<SharedArrays>,
}

impl ScriptCtx {
    pub fn new(script: Option<Arc<Script>>) -> Self {
        ScriptCtx { script, shares: None }
    }

    /// Makes this the options instance: shared arrays go to `shares`.
    pub fn collect_shares(&mut self, shares: SharedArrays) {
        self.shares = Some(shares);
    }
}

impl Host for VuState {
    fn source(&mut self) -> wasmtime::Result<ScriptSource> {
        Ok(match &self.script.script {
            Some(script) => ScriptSource { name: script.name.clone(), text: script.text.clone() },
            None => ScriptSource { name: String::new(), text: String::new() },
        })
    }

    fn read_file(&mut self, path: String) -> wasmtime::Result<Result<Vec<u8>, String>> {
        Ok(match &self.script.script {
            Some(script) => script.read(&path).map(|bytes| bytes.to_vec()),
            None => Err(format!("open({path:?}): this plugin runs no script")),
        })
    }

    fn list_dir(&mut self, path: String) -> wasmtime::Result<Result<Vec<String>, String>> {
        Ok(match &self.script.script {
            Some(script) => script.list(&path),
            None => Err(format!("open({path:?}): this plugin runs no script")),
        })
    }

    fn share(&mut self, name: String, items: Vec<String>) -> wasmtime::Result<bool> {
        let Some(shares) = &self.script.shares else {
            return Ok(false);
        };
        let mut shares = shares.lock().unwrap_or_else(|poison| poison.into_inner());
        if items.is_empty() || shares.iter().any(|(taken, _)| *taken == name) {
            return Ok(false);
        }
        shares.push((name, items));
        Ok(true)
    }
}
