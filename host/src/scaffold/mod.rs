//! `vespid new`: a scenario project made from the templates beside this
//! file (`rust/*.in`, `js/*.in` or `python/*.in`, with `{{name}}`,
//! `{{crate}}` and `{{sdk_path}}` filled in): a Rust crate, a k6-style
//! script or a locustfile.
//! It only writes a new folder; building and running are the user's.

use std::path::{Path, PathBuf};

/// The SDK of the source tree this binary was built from.
const BUILT_SDK: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../sdk/rust");

/// Each file of a Rust project: its path in the project and its template.
const RUST_FILES: &[(&str, &str)] = &[
    ("Cargo.toml", include_str!("rust/Cargo.toml.in")),
    ("src/lib.rs", include_str!("rust/lib.rs.in")),
    ("vespid.toml", include_str!("rust/vespid.toml.in")),
    (".gitignore", include_str!("rust/gitignore.in")),
    ("README.md", include_str!("rust/README.md.in")),
];

/// Each file of a JavaScript project.
const JS_FILES: &[(&str, &str)] = &[
    ("script.js", include_str!("js/script.js.in")),
    (".gitignore", include_str!("js/gitignore.in")),
    ("README.md", include_str!("js/README.md.in")),
];

/// Each file of a Python project (its runs write the same result files as a script's).
const PYTHON_FILES: &[(&str, &str)] = &[
    ("locustfile.py", include_str!("python/locustfile.py.in")),
    (".gitignore", include_str!("js/gitignore.in")),
    ("README.md", include_str!("python/README.md.in")),
];

/// The language of a new project.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum)]
pub enum Lang {
    /// A Rust crate built into a component with vespid-sdk.
    #[default]
    Rust,
    /// A k6-style script run on the built-in JavaScript runtime.
    Js,
    /// A locustfile run on the built-in Python runtime.
    Python,
}

impl Lang {
    fn files(self) -> &'static [(&'static str, &'static str)] {
        match self {
            Lang::Rust => RUST_FILES,
            Lang::Js => JS_FILES,
            Lang::Python => PYTHON_FILES,
        }
    }
}

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

/// Creates project `name` in `lang` in a new folder `dir/name`; a Rust
/// one depends on the SDK at `sdk` (default: the one this binary was built from).
pub fn create(name: &str, dir: &Path, sdk: Option<&Path>, lang: Lang) -> Result<Created, ScaffoldError> {
    check_name(name)?;
    if !dir.is_dir() {
        return Err(ScaffoldError::NoDir(dir.to_path_buf()));
    }
    let sdk = match lang {
        Lang::Rust => Some(sdk_folder(sdk)?),
        Lang::Js | Lang::Python => None,
    };
    let root = dir.join(name);
    // create_dir, not create_dir_all: it fails if anything is there already.
    std::fs::create_dir(&root).map_err(|source| match source.kind() {
        std::io::ErrorKind::AlreadyExists => ScaffoldError::Exists(root.clone()),
        _ => ScaffoldError::Write { path: root.clone(), source },
    })?;
    let sdk_path = sdk.map(|sdk| toml::Value::String(sdk.to_string_lossy().into_owned()).to_string());
    let sdk_path = sdk_path.unwrap_or_default();
    let crate_name = name.replace('-', "_");
    let written = lang.files().iter().try_for_each(|(file, template)| {
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
    Ok(Created { root, files: lang.files().iter().map(|(file, _)| *file).collect() })
}

/// The SDK folder `sdk` (default: the one this binary was built from),
/// absolute, so the project builds from wherever it is moved on this machine.
fn sdk_folder(sdk: Option<&Path>) -> Result<PathBuf, ScaffoldError> {
    let sdk = sdk.unwrap_or(Path::new(BUILT_SDK));
    sdk.canonicalize()
        .ok()
        .filter(|sdk| sdk.join("Cargo.toml").is_file())
        .ok_or_else(|| ScaffoldError::NoSdk(sdk.to_path_buf()))
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
        let created = create("my-shop", dir.path(), None, Lang::Rust).unwrap();
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

    #[test]
    fn a_script_project_is_one_script_with_no_placeholder_left() {
        for (lang, script) in [(Lang::Js, "script.js"), (Lang::Python, "locustfile.py")] {
            let dir = tempfile::tempdir().unwrap();
            let created = create("my-shop", dir.path(), Some(Path::new("/no/sdk")), lang).unwrap();
            assert_eq!(created.files, [script, ".gitignore", "README.md"]);
            for file in &created.files {
                let text = std::fs::read_to_string(created.root.join(file)).unwrap();
                assert!(!text.contains("{{"), "{file} keeps a placeholder");
            }
        }
    }
}
