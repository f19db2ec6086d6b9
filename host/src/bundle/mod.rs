//! Scenario bundles (`.vspd`): one file holding a plugin, its data sets and
//! a manifest (name, version, world, tasks, default options and
//! thresholds, the permissions it asks for, and the SHA-256 of every
//! part), optionally sealed with an ed25519 signature over the manifest.
//! `archive` is the container, `manifest` the metadata, `sign` the seal,
//! `registry` their place in an OCI registry.
//! A bundle is read whole and checked before any of it is used.

mod archive;
mod manifest;
mod registry;
mod sign;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use ed25519_dalek::VerifyingKey;
use sha2::{Digest, Sha256};

use crate::caps::grants::{HostPattern, SocketPattern};

use self::archive::Entries;
pub use self::manifest::{Asked, AskedLimits, Manifest};
use self::manifest::{OPTION_KEYS, Source};
pub use self::registry::{is_reference, pull, push};
use self::sign::Seal;
pub use self::sign::{fingerprint, generate, read_signing_key, read_verifying_key};

/// The file extension of a bundle.
pub const EXTENSION: &str = "vspd";
const MANIFEST: &str = "manifest.toml";
const SIGNATURE: &str = "signature.toml";

/// Why a bundle cannot be packed, read or trusted.
#[derive(Debug, thiserror::Error)]
pub enum BundleError {
    #[error("cannot read {path:?}: {message}")]
    Read { path: PathBuf, message: String },
    #[error("{path:?}: {message}")]
    Source { path: PathBuf, message: String },
    #[error("key {path:?}: {message}")]
    Key { path: PathBuf, message: String },
    #[error("bundle refused: not a bundle archive ({0})")]
    Malformed(String),
    #[error("bundle refused: entry {name:?} {why}")]
    Unsafe { name: String, why: String },
    #[error("bundle refused: its manifest is invalid: {0}")]
    Manifest(String),
    #[error("bundle refused: {part:?} does not match its digest in the manifest (changed after packing)")]
    Tampered { part: String },
    #[error("bundle refused: {0:?} is not listed in the manifest")]
    Unlisted(String),
    #[error("bundle refused: the manifest lists {0:?}, which the bundle does not hold")]
    Missing(String),
    #[error("bundle refused: its signature is invalid: {0}")]
    Signature(String),
    #[error("bundle refused: it is not signed, and the run requires a signature by {0}")]
    Unsigned(String),
    #[error("bundle refused: it is signed by key {found}, not by {wanted}")]
    Untrusted { found: String, wanted: String },
    #[error("registry: {0}")]
    Registry(String),
}

impl BundleError {
    /// The bundle itself is not to be trusted (exit code 7), rather than a
    /// path or key the user gave being wrong.
    pub fn is_refusal(&self) -> bool {
        !matches!(
            self,
            BundleError::Read { .. } | BundleError::Source { .. } | BundleError::Key { .. } | BundleError::Registry(_)
        )
    }
}

/// A bundle read and checked: every digest matched, every entry listed.
pub struct Bundle {
    pub manifest: Manifest,
    manifest_bytes: Vec<u8>,
    entries: Entries,
    /// The key whose seal held at open, and the seal's entry as read.
    seal: Option<(VerifyingKey, Vec<u8>)>,
    /// `sha256:<hex>` of the whole file.
    pub digest: String,
}

pub fn is_bundle(path: &Path) -> bool {
    path.extension().is_some_and(|ext| ext == EXTENSION)
}

fn sha256(bytes: &[u8]) -> String {
    format!("sha256:{:x}", Sha256::digest(bytes))
}

impl Bundle {
    pub fn open(path: &Path) -> Result<Bundle, BundleError> {
        let read_error = |message: String| BundleError::Read { path: path.to_path_buf(), message };
        let size = std::fs::metadata(path).map_err(|e| read_error(e.to_string()))?.len();
        if size > archive::MAX_TOTAL + (1 << 20) {
            return Err(BundleError::Malformed(format!("{size} bytes, more than a bundle may hold")));
        }
        let bytes = std::fs::read(path).map_err(|e| read_error(e.to_string()))?;
        Bundle::from_bytes(&bytes)
    }

    pub fn from_bytes(bytes: &[u8]) -> Result<Bundle, BundleError> {
        let mut entries = archive::read(bytes)?;
        let manifest_bytes = entries.remove(MANIFEST).ok_or_else(|| BundleError::Missing(MANIFEST.into()))?;
        // The seal first: a signed manifest that changed is refused as such.
        let seal = match entries.remove(SIGNATURE) {
            None => None,
            Some(bytes) => {
                let text = std::str::from_utf8(&bytes).map_err(|e| BundleError::Signature(e.to_string()))?;
                let seal: Seal = toml::from_str(text).map_err(|e| BundleError::Signature(e.message().to_string()))?;
                Some((seal.check(&manifest_bytes)?, bytes))
            }
        };
        let text = std::str::from_utf8(&manifest_bytes).map_err(|e| BundleError::Manifest(e.to_string()))?;
        let manifest: Manifest = toml::from_str(text).map_err(|e| BundleError::Manifest(e.message().to_string()))?;
        for (name, data) in &entries {
            let listed = manifest.parts.get(name).ok_or_else(|| BundleError::Unlisted(name.clone()))?;
            if *listed != sha256(data) {
                return Err(BundleError::Tampered { part: name.clone() });
            }
        }
        let needed = manifest.parts.keys().chain([&manifest.plugin]).chain(manifest.data.values());
        if let Some(missing) = needed.into_iter().find(|name| !entries.contains_key(*name)) {
            return Err(BundleError::Missing(missing.clone()));
        }
        Ok(Bundle { manifest, manifest_bytes, entries, seal, digest: sha256(bytes) })
    }

    /// The key that signed the bundle, if it is signed.
    pub fn signer(&self) -> Option<VerifyingKey> {
        self.seal.as_ref().map(|(key, _)| *key)
    }

    /// Refuses the bundle unless one of `keys` signed it.
    pub fn require_signer(&self, keys: &[VerifyingKey]) -> Result<(), BundleError> {
        let wanted = keys.iter().map(fingerprint).collect::<Vec<_>>().join(" or ");
        match self.signer() {
            None => Err(BundleError::Unsigned(wanted)),
            Some(found) if keys.contains(&found) => Ok(()),
            Some(found) => Err(BundleError::Untrusted { found: fingerprint(&found), wanted }),
        }
    }

    /// Each part with its size and digest.
    pub fn parts(&self) -> Vec<(&str, usize, &str)> {
        let size = |name: &str| self.entries.get(name).map_or(0, Vec::len);
        self.manifest.parts.iter().map(|(name, digest)| (name.as_str(), size(name), digest.as_str())).collect()
    }

    /// The bundle with `key`'s seal (replacing any earlier one), as bytes.
    pub fn sealed(&self, key: &ed25519_dalek::SigningKey) -> Result<Vec<u8>, BundleError> {
        let seal = Seal::new(key, &self.manifest_bytes);
        let seal = toml::to_string(&seal).map_err(|e| BundleError::Signature(e.to_string()))?;
        self.archive(Some(seal.into_bytes()))
    }

    /// The archive's bytes: its parts and seal as read.
    pub fn bytes(&self) -> Result<Vec<u8>, BundleError> {
        self.archive(self.seal.as_ref().map(|(_, bytes)| bytes.clone()))
    }

    fn archive(&self, seal: Option<Vec<u8>>) -> Result<Vec<u8>, BundleError> {
        let mut all = vec![(MANIFEST.to_string(), self.manifest_bytes.clone())];
        all.extend(self.entries.iter().map(|(name, data)| (name.clone(), data.clone())));
        all.extend(seal.map(|seal| (SIGNATURE.to_string(), seal)));
        archive::write(&all)
    }

    /// Writes the parts into `dir` (created if missing; a file already
    /// there is rewritten unless it matches its digest).
    pub fn unpack(&self, dir: &Path) -> Result<(), BundleError> {
        let write_error =
            |path: &Path, e: std::io::Error| BundleError::Read { path: path.to_path_buf(), message: e.to_string() };
        for (name, data) in &self.entries {
            let path = dir.join(name);
            if std::fs::read(&path).is_ok_and(|there| sha256(&there) == sha256(data)) {
                continue;
            }
            if let Some(parent) = path.parent() {
                std::fs::create_dir_all(parent).map_err(|e| write_error(parent, e))?;
            }
            std::fs::write(&path, data).map_err(|e| write_error(&path, e))?;
        }
        Ok(())
    }

    /// A run file of one scenario whose plugin is this bundle (at
    /// `bundle_path`), with its default options and thresholds.
    pub fn run_file(&self, bundle_path: &Path) -> Result<String, BundleError> {
        let manifest = &self.manifest;
        let mut table = manifest.options.clone();
        table.insert("plugin".into(), bundle_path.to_string_lossy().into_owned().into());
        if !manifest.thresholds.is_empty() {
            table.insert("thresholds".into(), manifest.thresholds.clone().into());
        }
        toml::to_string(&table).map_err(|e| BundleError::Manifest(e.to_string()))
    }
}

/// Where bundles are unpacked (by digest) and pulled ones kept:
/// `~/.cache/vespid/bundles`.
pub fn cache_dir() -> PathBuf {
    crate::plugin::cache_root().unwrap_or_else(std::env::temp_dir).join("bundles")
}

/// What packing needs to know of the plugin: its world and task names.
pub struct Described {
    pub world: String,
    pub tasks: Vec<String>,
}

/// A bundle about to be packed: its source read, its plugin not yet described.
pub struct Packing {
    dir: PathBuf,
    spec: Source,
    source: PathBuf,
}

impl Packing {
    /// Reads `source`: a folder with `bundle.toml`, or a plugin file
    /// named `name`, `version` (default: its file name, 0.1.0).
    pub fn read(source: &Path, name_version: Option<(String, String)>) -> Result<Packing, BundleError> {
        let source_error = |message: String| BundleError::Source { path: source.to_path_buf(), message };
        let (dir, spec) = if source.is_dir() {
            let path = source.join("bundle.toml");
            let text = std::fs::read_to_string(&path)
                .map_err(|e| BundleError::Source { path: path.clone(), message: e.to_string() })?;
            let spec: Source = toml::from_str(&text)
                .map_err(|e| BundleError::Source { path: path.clone(), message: e.message().to_string() })?;
            (source.to_path_buf(), spec)
        } else if source.is_file() {
            let file =
                source.file_name().and_then(|n| n.to_str()).ok_or_else(|| source_error("not a file name".into()))?;
            let stem = source.file_stem().and_then(|n| n.to_str()).unwrap_or("plugin").to_string();
            let (name, version) = name_version.unwrap_or((stem, "0.1.0".into()));
            let spec = Source {
                name,
                version,
                description: String::new(),
                authors: Vec::new(),
                plugin: file.to_string(),
                permissions: Asked::default(),
                limits: AskedLimits::default(),
                options: toml::Table::new(),
                thresholds: toml::Table::new(),
                data: BTreeMap::new(),
            };
            (source.parent().unwrap_or(Path::new(".")).to_path_buf(), spec)
        } else {
            return Err(source_error("no such folder or file".into()));
        };
        if let Some(key) = spec.options.keys().find(|k| !OPTION_KEYS.contains(&k.as_str())) {
            return Err(source_error(format!("options.{key}: a bundle's options are {}", OPTION_KEYS.join(", "))));
        }
        for pattern in &spec.permissions.allowed_hosts {
            HostPattern::parse(pattern).map_err(|why| source_error(format!("permissions.allowed-hosts: {why}")))?;
        }
        crate::config::check_bundle_limits(&spec.limits).map_err(source_error)?;
        for pattern in &spec.permissions.allowed_sockets {
            SocketPattern::parse(pattern).map_err(|why| source_error(format!("permissions.allowed-sockets: {why}")))?;
        }
        Ok(Packing { dir, spec, source: source.to_path_buf() })
    }

    pub fn plugin_path(&self) -> PathBuf {
        self.dir.join(&self.spec.plugin)
    }

    /// `NAME-VERSION.vspd`.
    pub fn file_name(&self) -> String {
        format!("{}-{}.{EXTENSION}", self.spec.name, self.spec.version)
    }

    /// The bundle, its plugin `described`.
    pub fn pack(self, described: Described) -> Result<Bundle, BundleError> {
        let plugin_path = self.plugin_path();
        let Packing { dir, spec, source } = self;
        let extension = plugin_path.extension().and_then(|e| e.to_str()).unwrap_or("wasm");
        let plugin_entry = format!("plugin.{extension}");
        let mut entries = Entries::new();
        let mut read_part = |entry: String, path: &Path| -> Result<(), BundleError> {
            let data = std::fs::read(path)
                .map_err(|e| BundleError::Read { path: path.to_path_buf(), message: e.to_string() })?;
            entries.insert(entry, data);
            Ok(())
        };
        read_part(plugin_entry.clone(), &plugin_path)?;
        let mut data = BTreeMap::new();
        for (set, file) in &spec.data {
            let path = dir.join(file);
            let base = path.file_name().and_then(|n| n.to_str()).unwrap_or(set);
            let entry = format!("data/{set}/{base}");
            read_part(entry.clone(), &path)?;
            data.insert(set.clone(), entry);
        }
        let manifest = Manifest {
            name: spec.name,
            version: spec.version,
            description: spec.description,
            authors: spec.authors,
            plugin: plugin_entry,
            world: described.world,
            tasks: described.tasks,
            permissions: spec.permissions,
            limits: spec.limits,
            options: spec.options,
            thresholds: spec.thresholds,
            data,
            parts: entries.iter().map(|(name, data)| (name.clone(), sha256(data))).collect(),
        };
        let text = toml::to_string(&manifest)
            .map_err(|e| BundleError::Source { path: source.clone(), message: e.to_string() })?;
        let bundle = Bundle { manifest, manifest_bytes: text.into_bytes(), entries, seal: None, digest: String::new() };
        // Read back what was written: its digest, and the checks any bundle gets.
        Bundle::from_bytes(&bundle.archive(None)?)
    }
}
