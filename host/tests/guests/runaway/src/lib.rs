//! Test guest misbehaving on purpose, as a hostile or buggy plugin would.
//! `FAULT` picks what goes wrong and `IN` where (setup, init, run,
//! teardown; default run): `loop` spins forever, `alloc` allocates
//! without end, `recurse` recurses without end (the wasm call stack),
//! `deep-stack` recurses with large frames (the shadow stack in linear
//! memory), `error` returns an error, `silent-trap` traps without a word
//! after writing an unrelated line to stderr in init. With `BASE_URL` set,
//! each iteration first GETs `/`, and the faulty call GETs `/<call>` just
//! before it goes wrong, so tests can count requests and see the fault begin.
use std::hint::black_box;

use vespid_sdk::{Scenario, http, vu};

struct Runaway;

fn fault_in(call: &str) -> vespid_sdk::Result {
    if vu::env("IN").as_deref().unwrap_or("run") != call {
        return Ok(());
    }
    if let Some(base) = vu::env("BASE_URL") {
        http::get(format!("{base}/{call}")).send()?;
    }
    match vu::env("FAULT").as_deref() {
        None => Ok(()),
        Some("loop") => loop {
            black_box(());
        },
        Some("alloc") => {
            let mut kept: Vec<Vec<u8>> = Vec::new();
            loop {
                kept.push(vec![1u8; 1 << 20]);
                black_box(&kept);
            }
        }
        Some("recurse") => {
            black_box(recurse(black_box(0)));
            Ok(())
        }
        Some("deep-stack") => {
            black_box(deep_stack(black_box(0)));
            Ok(())
        }
        Some("error") => Err(format!("{call} failed on purpose").into()),
        Some("silent-trap") => std::process::abort(),
        Some(other) => Err(format!("unknown FAULT {other:?}").into()),
    }
}

fn recurse(depth: u64) -> u64 {
    if depth == u64::MAX { depth } else { recurse(black_box(depth + 1)).wrapping_add(1) }
}

fn deep_stack(depth: u64) -> u64 {
    let frame = black_box([depth as u8; 4096]);
    if depth == u64::MAX { depth } else { deep_stack(black_box(depth + 1)).wrapping_add(u64::from(frame[7])) }
}

impl Scenario for Runaway {
    fn setup() -> vespid_sdk::Result<String> {
        fault_in("setup")?;
        Ok(String::new())
    }

    fn init(_setup_data: &str) -> vespid_sdk::Result<Self> {
        if vu::env("FAULT").as_deref() == Some("silent-trap") {
            eprintln!("debug: an unrelated line written in init");
        }
        fault_in("init")?;
        Ok(Runaway)
    }

    fn run(&mut self, _task: &str) -> vespid_sdk::Result {
        if let Some(base) = vu::env("BASE_URL") {
            http::get(format!("{base}/")).send()?;
        }
        fault_in("run")
    }

    fn teardown(_setup_data: &str) -> vespid_sdk::Result {
        fault_in("teardown")
    }
}

vespid_sdk::export!(Runaway);
