//! Builds the language runtime components the `vespid` binary embeds and
//! hands their paths to `include_bytes!` through env vars: JavaScript
//! (plugins/js) for wasm32-wasip2, with the workspace's guest profile and
//! target folder (so `cargo xtask build-plugins` and this share one build);
//! Python (plugins/python) with componentize-py, which `cargo xtask setup`
//! installs.

use std::path::{Path, PathBuf};
use std::process::Command;

/// What building the JavaScript runtime needs beside Rust's wasm32-wasip2 target.
const JS_TOOLS: [(&str, &str); 3] = [
    ("clang-19", "/usr/bin/clang-19"),
    ("llvm-ar-19", "/usr/bin/llvm-ar-19"),
    ("wasi-libc", "/usr/include/wasm32-wasi/stdlib.h"),
];

fn main() {
    // Read when the script runs, not when it is compiled: a build script
    // reused from another checkout's target folder must build this one's runtime.
    let manifest_dir = std::env::var_os("CARGO_MANIFEST_DIR").unwrap_or_else(|| fail("cargo sets CARGO_MANIFEST_DIR"));
    let root = Path::new(&manifest_dir).parent().expect("host lives in the workspace").to_path_buf();
    for watched in [
        "plugins/js/src",
        "plugins/js/wit",
        "plugins/js/Cargo.toml",
        "plugins/python/runtime",
        "wit",
        ".cargo/config.toml",
    ] {
        println!("cargo:rerun-if-changed={}", root.join(watched).display());
    }
    // cargo-fuzz builds the host on nightly with coverage flags (`--cfg
    // fuzzing`), where the runtimes cannot be built: it reuses the ones the
    // stable build made (`cargo xtask fuzz` builds the host first).
    if std::env::var_os("CARGO_CFG_FUZZING").is_some() {
        for (var, built) in [
            ("VESPID_JS_RUNTIME", "target/guests/wasm32-wasip2/guest/vespid_js.wasm"),
            ("VESPID_PYTHON_RUNTIME", "target/runtimes/vespid_python.wasm"),
        ] {
            let built = root.join(built);
            if !built.exists() {
                fail(&format!("{} is missing: build the host with the stable toolchain first", built.display()));
            }
            println!("cargo:rustc-env={var}={}", built.display());
        }
        return;
    }
    let missing: Vec<&str> =
        JS_TOOLS.iter().filter(|(_, path)| !Path::new(path).exists()).map(|(name, _)| *name).collect();
    if !missing.is_empty() {
        fail(&format!(
            "building the JavaScript runtime needs {}: run `cargo xtask setup` (it installs clang-19, llvm-19 and wasi-libc)",
            missing.join(", ")
        ));
    }
    let wasm = build_runtime(&root, "vespid-js");
    println!("cargo:rustc-env=VESPID_JS_RUNTIME={}", wasm.display());
    let wasm = build_python_runtime(&root);
    println!("cargo:rustc-env=VESPID_PYTHON_RUNTIME={}", wasm.display());
}

/// The componentize-py release `cargo xtask setup` installs (xtask/src/tasks.rs).
const COMPONENTIZE_PY: &str = "target/tools/componentize-py-0.25.1/bin/componentize-py";

/// Builds plugins/python/runtime into a component of the public
/// `script-runtime` world and returns its path.
fn build_python_runtime(root: &Path) -> PathBuf {
    let tool = root.join(COMPONENTIZE_PY);
    if !tool.exists() {
        fail("building the Python runtime needs componentize-py: run `cargo xtask setup` (it installs it from PyPI)");
    }
    let out = root.join("target/runtimes/vespid_python.wasm");
    if let Some(folder) = out.parent() {
        std::fs::create_dir_all(folder)
            .unwrap_or_else(|err| fail(&format!("cannot create {}: {err}", folder.display())));
    }
    let status = Command::new(&tool)
        .current_dir(root)
        .args(["--quiet", "-d", "wit", "-w", "script-runtime", "componentize", "vespid_runtime"])
        .args(["-p", "plugins/python/runtime", "-o"])
        .arg(&out)
        .status();
    match status {
        Ok(status) if status.success() => out,
        Ok(status) => fail(&format!("building the Python runtime failed ({status}); see the errors above")),
        Err(err) => fail(&format!("cannot run {}: {err}", tool.display())),
    }
}

/// Builds the guest package `package` and returns its component's path.
fn build_runtime(root: &Path, package: &str) -> PathBuf {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let target_dir = root.join("target/guests");
    let mut command = Command::new(cargo);
    command
        .current_dir(root)
        .args(["build", "--quiet", "--package", package, "--target", "wasm32-wasip2", "--profile", "guest"])
        .arg("--target-dir")
        .arg(&target_dir);
    // The outer build's wrappers (clippy) and flags are for host code.
    for var in ["RUSTC_WORKSPACE_WRAPPER", "RUSTC_WRAPPER", "CARGO_ENCODED_RUSTFLAGS", "RUSTFLAGS", "CARGO_TARGET_DIR"]
    {
        command.env_remove(var);
    }
    match command.status() {
        Ok(status) if status.success() => {}
        Ok(status) => fail(&format!("building {package} for wasm32-wasip2 failed ({status}); see the errors above")),
        Err(err) => fail(&format!("cannot run cargo to build {package}: {err}")),
    }
    target_dir.join("wasm32-wasip2/guest").join(format!("{}.wasm", package.replace('-', "_")))
}

fn fail(message: &str) -> ! {
    eprintln!("error: {message}");
    std::process::exit(1);
}
