//! `cargo xtask fuzz`: the fuzz targets of fuzz/ (the bundle reader, the
//! run-file parser, the threshold parser) under cargo-fuzz on the nightly
//! toolchain, each for a bounded time, seeded with the repository's own
//! run files, thresholds and a real bundle. Not part of CI: a finding
//! lands in fuzz/artifacts/ and becomes a regression test.

use std::path::Path;
use std::process::Command;

use anyhow::{Context, Result, bail};
use clap::Args;

use crate::tasks::{build_plugins, root, run};

#[derive(Args)]
pub struct FuzzArgs {
    /// Seconds per target.
    #[arg(long, default_value_t = 60)]
    seconds: u64,
    /// Only this target (bundle, run_file, threshold).
    #[arg(long)]
    target: Option<String>,
}

const TARGETS: [&str; 3] = ["bundle", "run_file", "threshold"];

pub fn run_fuzz(args: &FuzzArgs) -> Result<()> {
    let toolchains = Command::new("rustup").args(["toolchain", "list"]).output().context("rustup")?;
    if !String::from_utf8_lossy(&toolchains.stdout).lines().any(|l| l.starts_with("nightly")) {
        bail!("cargo-fuzz needs a nightly toolchain: rustup toolchain install nightly");
    }
    let installed = Command::new("cargo").args(["fuzz", "--version"]).output().is_ok_and(|o| o.status.success());
    if !installed {
        run(Command::new("cargo").args(["install", "cargo-fuzz", "--locked"]))?;
    }
    let fuzz = root().join("fuzz");
    seed(&fuzz)?;
    let mut report = Vec::new();
    for target in TARGETS.iter().filter(|t| args.target.as_deref().is_none_or(|only| only == **t)) {
        println!("fuzz: {target} for {} s", args.seconds);
        let corpus = fuzz.join("corpus").join(target);
        let output = Command::new("cargo")
            .current_dir(&fuzz)
            .args(["+nightly", "fuzz", "run", target])
            .arg(&corpus)
            .arg("--")
            .arg(format!("-max_total_time={}", args.seconds))
            .arg("-rss_limit_mb=4096")
            .output()
            .with_context(|| format!("cargo fuzz run {target}"))?;
        let log = String::from_utf8_lossy(&output.stderr);
        let done = log.lines().rfind(|l| l.starts_with("Done ")).unwrap_or("no summary line").to_string();
        let verdict = if output.status.success() { "no finding" } else { "FINDING: see fuzz/artifacts" };
        report.push(format!("{target}: {done}; {verdict}"));
        if !output.status.success() {
            eprintln!(
                "{}",
                log.lines().rev().take(40).collect::<Vec<_>>().into_iter().rev().collect::<Vec<_>>().join("\n")
            );
        }
    }
    println!("\n{}", report.join("\n"));
    if report.iter().any(|line| line.contains("FINDING")) {
        bail!("a fuzz target found an input that crashes it");
    }
    Ok(())
}

/// Seeds each corpus with real inputs: the repository's run files, the
/// thresholds they hold, and a bundle of the hello plugin.
fn seed(fuzz: &Path) -> Result<()> {
    let corpus = fuzz.join("corpus");
    for target in TARGETS {
        std::fs::create_dir_all(corpus.join(target))?;
    }
    let examples = root().join("examples");
    for entry in std::fs::read_dir(&examples)?.flatten() {
        let path = entry.path();
        if path.extension().is_some_and(|e| e == "toml") {
            std::fs::copy(&path, corpus.join("run_file").join(entry.file_name()))?;
        }
    }
    for (name, text) in [
        ("p95", "http_req_duration\np(95)<500"),
        ("tagged", "http_req_duration{name:login,method:GET}\navg < 200.5"),
        ("rate", "checks\nrate>=0.99"),
        ("count", "http_reqs\ncount>1000"),
    ] {
        std::fs::write(corpus.join("threshold").join(name), text)?;
    }
    // The stable build makes the language runtimes the fuzz build reuses (host/build.rs).
    let hello = build_plugins()?.join("hello.wasm");
    run(Command::new("cargo").current_dir(root()).args(["build", "-q", "-p", "vespid"]))?;
    let bundle = corpus.join("bundle").join("hello.vspd");
    if !bundle.exists() {
        let vespid = root().join("target/debug/vespid");
        run(Command::new(vespid).arg("bundle").arg("pack").arg(&hello).arg("-o").arg(&bundle))?;
    }
    Ok(())
}
