//! Test guest misbehaving on purpose, as a hostile or buggy plugin would.
//! `FAULT` picks what goes wrong and `IN` where (setup, init, run,
//! teardown; default run): `loop` spins forever, `alloc` allocates
//! without end, `recurse` recurses without end (the wasm call stack),
//! `deep-stack` recurses with large frames (the shadow stack in linear
//! memory), `error` returns an error, `silent-trap` traps without a word
//! after writing an unrelated line to stderr in init. The escapes try to
//! leave the sandbox through WASI: `read-file`, `host-env`, `args`,
//! `socket` (TCP to `TARGET`, an address: an HTTP GET of `/bytes/100`,
//! reporting the bytes it sent and received), `lookup` (name resolution),
//! `udp`; each fails its call with `<fault> refused: …` when the host
//! refused it and `<fault> ESCAPED: …` when it did not. With `BASE_URL` set,
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
        Some(escape @ ("read-file" | "host-env" | "args" | "socket" | "lookup" | "udp")) => {
            let outcome = try_escape(escape);
            let verdict = if outcome.is_ok() { "ESCAPED" } else { "refused" };
            let detail = outcome.unwrap_or_else(|err| err);
            Err(format!("{escape} {verdict}: {detail}").into())
        }
        Some("silent-trap") => std::process::abort(),
        Some(other) => Err(format!("unknown FAULT {other:?}").into()),
    }
}

/// `Ok` with what it got if the way out was open.
fn try_escape(escape: &str) -> Result<String, String> {
    let target = vu::env("TARGET").unwrap_or_else(|| "127.0.0.1:1".into());
    match escape {
        "read-file" => std::fs::read_to_string("/etc/hostname").map_err(|e| e.to_string()),
        "host-env" => match std::env::vars().count() {
            0 => Err("no variables".into()),
            n => Ok(format!("{n} variables")),
        },
        "args" => match std::env::args().count() {
            0 => Err("no arguments".into()),
            n => Ok(format!("{n} arguments")),
        },
        "socket" => tcp_exchange(&target).map_err(|e| e.to_string()),
        "lookup" => std::net::ToSocketAddrs::to_socket_addrs("localhost:80")
            .map(|addrs| format!("{} addresses", addrs.count()))
            .map_err(|e| e.to_string()),
        _ => std::net::UdpSocket::bind("127.0.0.1:0").map(|_| "bound".into()).map_err(|e| e.to_string()),
    }
}

/// An HTTP/1.1 GET of `/bytes/100` over the guest's own TCP connection to
/// `target` (Rust std on `wasi:sockets`): what it sent and received.
fn tcp_exchange(target: &str) -> std::io::Result<String> {
    use std::io::{Read, Write};
    let mut stream = std::net::TcpStream::connect(target)?;
    let request = format!("GET /bytes/100 HTTP/1.1\r\nHost: {target}\r\nConnection: close\r\n\r\n");
    stream.write_all(request.as_bytes())?;
    let mut answer = Vec::new();
    stream.read_to_end(&mut answer)?;
    Ok(format!("{target} sent {} received {}", request.len(), answer.len()))
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
