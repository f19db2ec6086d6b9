//! `vespid new`: a Rust scenario project made from the templates beside this
//! file (`*.in`, with `{{name}}`, `{{crate}}` and `{{sdk_path}}` filled in).
//! It only writes a new folder; building and running are the user's.

use std::path::{Path, PathBuf};

/// The SDK of the source tree this binary was built from.
const BUILT_SDK: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../sdk/rust");

/// Each file of a project: its path in the project and its template.
const FILES: [(&str, &str); 5] = [
    ("Cargo.toml", include_str!("Cargo.toml.in")),
    ("src/lib.rs", include_str!("lib.rs.in")),
    ("vespid.toml", include_str!("vespid.toml.in")),
    (".gitignore", include_str!("gitignore.in")),
    ("README.md", include_str!("README.md.in")),
];

/// Names a crate cannot take: Rust keywords (the library would be
/// unnameable), the standard crates, and the SDK it depends on.
const RESERVED: &[&str] = &[
    "abstract",
    "as",
    "async",
    "await",
    "become",
    "box",
    "break",
    "const",
    "continue",
    "crate",
    "do",
    "dyn",
    "else",
    "enum",
    "extern",
    "false",
    "final",
    "fn",
    "for",
    "gen",
    "if",
    "impl",
    "in",
    "let",
    "loop",
    "macro",
    "match",
    "mod",
    "move",
    "mut",
    "override",
    "priv",
    "pub",
    "ref",
    "return",
    "self",
    "static",
    "struct",
    "super",
    "trait",
    "true",
    "try",
    "type",
    "typeof",
    "unsafe",
    "unsized",
    "use",
    "virtual",
    "where",
    "while",
    "yield",
    "alloc",
    "core",
    "std",
    "test",
    "proc_macro",
    "vespid_sdk",
];

/// Why a project cannot be created.
#[derive(Debug, thiserror::Error)]
pub enum ScaffoldError {
    #[error("{name:?} is not a valid crate name: {reason}")]
    InvalidName { name: String, reason: &'static str },
    #[error("{0:?} already exists; pick another NAME or --dir")]
    Exists(PathBuf),
    #[error("--dir {0:?} is not an existing directory")]
    NoDir(PathBuf),
    #[error("no vespid-sdk crate at {0:?}; give its folder (sdk/rust in the vespid sources) with --sdk-path")]
    NoSdk(PathBuf),
    #[error("cannot write {path:?}: {source}")]
    Write { path: PathBuf, source: std::io::Error },
}

/// A project just created.
#[derive(Debug)]
pub struct Created {
    /// Its folder.
    pub root: PathBuf,
    /// Its files, relative to `root`.
    pub files: Vec<&'static str>,
}

/// Creates project `name` in a new folder `dir/name`, depending on the SDK
/// at `sdk` (default: the one this binary was built from).
pub fn create(name: &str, dir: &Path, sdk: Option<&Path>) -> Result<Created, ScaffoldError> {
    check_name(name)?;
    if !dir.is_dir() {
        return Err(ScaffoldError::NoDir(dir.to_path_buf()));
    }
    let sdk = sdk.unwrap_or(Path::new(BUILT_SDK));
    // Absolute, so the project builds from wherever it is moved on this machine.
    let sdk = sdk
        .canonicalize()
        .ok()
        .filter(|sdk| sdk.join("Cargo.toml").is_file())
        .ok_or_else(|| ScaffoldError::NoSdk(sdk.to_path_buf()))?;
    let root = dir.join(name);
    // create_dir, not create_dir_all: it fails if anything is there already.
    std::fs::create_dir(&root).map_err(|source| match source.kind() {
        std::io::ErrorKind::AlreadyExists => ScaffoldError::Exists(root.clone()),
        _ => ScaffoldError::Write { path: root.clone(), source },
    })?;
    let sdk_path = toml::Value::String(sdk.to_string_lossy().into_owned()).to_string();
    let crate_name = name.replace('-', "_");
    let written = FILES.iter().try_for_each(|(file, template)| {
        let text =
            template.replace("{{name}}", name).replace("{{crate}}", &crate_name).replace("{{sdk_path}}", &sdk_path);
        let path = root.join(file);
        let write = || {
            if let Some(parent) = path.parent() {
                std::fs::create_dir_all(parent)?;
            }
            std::fs::write(&path, text)
        };
        write().map_err(|source| ScaffoldError::Write { path: path.clone(), source })
    });
    if let Err(err) = written {
        // Half a project would only make the next attempt fail with "already exists".
        let _ = std::fs::remove_dir_all(&root);
        return Err(err);
    }
    Ok(Created { root, files: FILES.iter().map(|(file, _)| *file).collect() })
}

/// Cargo's rules for a package name, a little stricter: ASCII letters,
/// digits, `-` and `_`, starting with a letter, and not a reserved name.
fn check_name(name: &str) -> Result<(), ScaffoldError> {
    let invalid = |reason| Err(ScaffoldError::InvalidName { name: name.to_string(), reason });
    if name.is_empty() {
        return invalid("it is empty");
    }
    if !name.starts_with(|c: char| c.is_ascii_alphabetic()) {
        return invalid("it must start with a letter");
    }
    if !name.chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_') {
        return invalid("use only letters, digits, - and _");
    }
    if RESERVED.contains(&name.replace('-', "_").as_str()) {
        return invalid("it is a Rust keyword or a reserved crate name");
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_follow_cargo() {
        for good in ["shop", "my-scenario", "load_test2", "A"] {
            assert!(check_name(good).is_ok(), "{good}");
        }
        for bad in ["", "1shop", "-shop", "my scenario", "a/b", "../x", "café", "fn", "std", "vespid-sdk"] {
            let err = check_name(bad).unwrap_err().to_string();
            assert!(err.contains(&format!("{bad:?}")), "{err}");
        }
    }

    #[test]
    fn templates_are_filled_in() {
        let dir = tempfile::tempdir().unwrap();
        let created = create("my-shop", dir.path(), None).unwrap();
        for file in &created.files {
            let text = std::fs::read_to_string(created.root.join(file)).unwrap();
            assert!(!text.contains("{{"), "{file} keeps a placeholder");
        }
        let manifest: toml::Table = std::fs::read_to_string(created.root.join("Cargo.toml")).unwrap().parse().unwrap();
        let sdk = manifest["dependencies"]["vespid-sdk"]["path"].as_str().unwrap();
        assert!(Path::new(sdk).join("src/lib.rs").is_file(), "{sdk}");
        let run = std::fs::read_to_string(created.root.join("vespid.toml")).unwrap();
        assert!(run.contains("target/wasm32-wasip2/release/my_shop.wasm"), "{run}");
    }
}
