//! Builds the language runtime components the `vespid` binary embeds
//! (plugins/js) for wasm32-wasip2, with the workspace's guest profile and
//! target folder (so `cargo xtask build-plugins` and this share one build),
//! and hands their paths to `include_bytes!` through env vars.

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
    for watched in ["plugins/js/src", "plugins/js/wit", "plugins/js/Cargo.toml", "wit", ".cargo/config.toml"] {
        println!("cargo:rerun-if-changed={}", root.join(watched).display());
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
