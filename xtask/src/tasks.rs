//! The everyday tasks: build the plugins, run the demo, run the tests.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};

use anyhow::{Context, Result, bail};

const WASM_TARGET: &str = "wasm32-wasip2";

/// The workspace root.
pub fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).parent().expect("xtask lives in the workspace").to_path_buf()
}

/// Where `build_plugins` puts the components.
pub fn plugins_dir() -> PathBuf {
    root().join("target/guests").join(WASM_TARGET).join("guest")
}

/// Runs a command, failing with its name when it fails.
pub fn run(command: &mut Command) -> Result<()> {
    let status = command.status().with_context(|| format!("cannot start {command:?}"))?;
    if !status.success() {
        bail!("{command:?} failed with {status}");
    }
    Ok(())
}

/// Installs the wasm32-wasip2 target if the toolchain lacks it.
fn ensure_wasm_target() -> Result<()> {
    let installed = Command::new("rustup").args(["target", "list", "--installed"]).output();
    match installed {
        Ok(out) if String::from_utf8_lossy(&out.stdout).lines().any(|l| l.trim() == WASM_TARGET) => Ok(()),
        Ok(_) => run(Command::new("rustup").args(["target", "add", WASM_TARGET])),
        // Without rustup the target must come with the toolchain; cargo will say if not.
        Err(_) => Ok(()),
    }
}

/// Debian packages the JavaScript runtime's C code (QuickJS) is built with,
/// PostgreSQL (its throwaway clusters in the tests and the SQL bench, and
/// pgbench) and the OCI registry the bundle tests push to (distribution
/// 2.8), each with a file that shows it is installed.
const DEBIAN_PACKAGES: [(&str, &str); 5] = [
    ("clang-19", "/usr/bin/clang-19"),
    ("llvm-19", "/usr/bin/llvm-ar-19"),
    ("wasi-libc", "/usr/include/wasm32-wasi/stdlib.h"),
    ("postgresql", "/usr/lib/postgresql/15/bin/initdb"),
    ("docker-registry", "/usr/bin/docker-registry"),
];

/// Installs the Debian packages that are missing (as root, or through sudo).
fn ensure_debian_packages() -> Result<()> {
    let mut missing: Vec<&str> =
        DEBIAN_PACKAGES.iter().filter(|(_, file)| !Path::new(file).exists()).map(|(package, _)| *package).collect();
    // The virtual environments of componentize-py and the peers; a
    // metapackage, so told by what it gives Python.
    let venv = Command::new("python3").args(["-c", "import ensurepip, venv"]).output();
    if !venv.is_ok_and(|out| out.status.success()) {
        missing.push("python3-venv");
    }
    if missing.is_empty() {
        return Ok(());
    }
    println!("installing {} (needed to build the language runtimes and to test)", missing.join(", "));
    let root = Command::new("id").arg("-u").output().is_ok_and(|out| out.stdout.starts_with(b"0\n"));
    let apt = |args: &[&str]| {
        // Not root: through sudo.
        let mut command = Command::new(if root { "apt-get" } else { "sudo" });
        if !root {
            command.arg("apt-get");
        }
        run(command.env("DEBIAN_FRONTEND", "noninteractive").args(args))
    };
    let install: Vec<&str> = ["install", "-y", "-q"].into_iter().chain(missing.iter().copied()).collect();
    // A fresh machine may have no package lists yet.
    if apt(&install).is_err() {
        apt(&["update", "-q"])?;
        apt(&install)?;
    }
    Ok(())
}

/// Everything building the plugins needs.
pub fn setup() -> Result<()> {
    ensure_wasm_target()?;
    ensure_debian_packages()?;
    ensure_componentize_py()
}

/// The componentize-py release the Python runtime (plugins/python) is built with.
const COMPONENTIZE_PY_VERSION: &str = "0.25.1";

/// componentize-py, installed with pip into the virtual environment
/// `target/tools/componentize-py-<version>` (where host/build.rs looks
/// for it) when it is not there yet.
fn ensure_componentize_py() -> Result<()> {
    let venv = root().join(format!("target/tools/componentize-py-{COMPONENTIZE_PY_VERSION}"));
    let tool = venv.join("bin/componentize-py");
    let installed = Command::new(&tool).arg("--version").output();
    if installed.is_ok_and(|out| String::from_utf8_lossy(&out.stdout).contains(COMPONENTIZE_PY_VERSION)) {
        return Ok(());
    }
    println!("installing componentize-py {COMPONENTIZE_PY_VERSION} from PyPI into {}", venv.display());
    pip_install(&venv, &format!("componentize-py=={COMPONENTIZE_PY_VERSION}"))
}

/// Installs `requirement` from PyPI into the virtual environment `venv`,
/// made first if it is not there.
pub fn pip_install(venv: &Path, requirement: &str) -> Result<()> {
    if !venv.join("bin/python").is_file() {
        run(Command::new("python3").arg("-m").arg("venv").arg(venv))
            .context("cannot create a Python virtual environment (Debian: apt-get install python3-venv)")?;
    }
    run(Command::new(venv.join("bin/python")).args([
        "-m",
        "pip",
        "install",
        "--quiet",
        "--disable-pip-version-check",
        requirement,
    ]))
}

/// Builds every workspace member except the host and xtask for wasm32-wasip2.
pub fn build_plugins() -> Result<PathBuf> {
    setup()?;
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    run(Command::new(cargo).current_dir(root()).args([
        "build",
        "--quiet",
        "--target",
        WASM_TARGET,
        "--profile",
        "guest",
        "--target-dir",
        "target/guests",
        "--workspace",
        "--exclude",
        "vespid",
        "--exclude",
        "xtask",
    ]))?;
    Ok(plugins_dir())
}

/// Builds the release host and returns its path.
pub fn build_host_release() -> Result<PathBuf> {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    run(Command::new(cargo).current_dir(root()).args(["build", "--release", "-p", "vespid"]))?;
    Ok(root().join("target/release/vespid"))
}

/// A running `vespid demo-target`, killed on drop.
pub struct DemoTarget {
    child: Child,
    pub url: String,
}

impl DemoTarget {
    /// Starts the demo target, optionally under `taskset -c <cpu>`.
    pub fn start(vespid: &Path, cpu: Option<&str>) -> Result<DemoTarget> {
        let mut command = match cpu {
            Some(cpu) => {
                let mut c = Command::new("taskset");
                c.args(["-c", cpu]).arg(vespid);
                c
            }
            None => Command::new(vespid),
        };
        let mut child = command
            .args(["demo-target", "--listen", "127.0.0.1:0"])
            .stdout(Stdio::piped())
            .spawn()
            .context("cannot start the demo target")?;
        let stdout = child.stdout.take().context("demo target stdout")?;
        let mut line = String::new();
        BufReader::new(stdout).read_line(&mut line)?;
        let url = line.trim().rsplit(' ').next().unwrap_or_default().to_string();
        if !url.starts_with("http") {
            let _ = child.kill();
            bail!("the demo target did not say where it listens (got {line:?})");
        }
        Ok(DemoTarget { child, url })
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }
}

impl Drop for DemoTarget {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

pub fn demo() -> Result<()> {
    // The run file names the plugins where build_plugins puts them.
    build_plugins()?;
    let vespid = build_host_release()?;
    let target = DemoTarget::start(&vespid, None)?;
    let run_file = root().join("examples/shop.toml");
    println!("demo target on {}; running {} (two scenarios, 10 s)", target.url, run_file.display());
    run(Command::new(&vespid).arg("run").arg(&run_file).args(["--env", &format!("BASE_URL={}", target.url)]))
}

pub fn test() -> Result<()> {
    build_plugins()?;
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    // The default members (host, xtask): the guests were built above for wasm32-wasip2.
    run(Command::new(cargo).current_dir(root()).arg("test"))
}
