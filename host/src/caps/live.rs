//! Live lines (`vespid dev`, `--http-debug=summary`): what an iteration does
//! — each request, check and the error that failed it — printed to stderr
//! as it happens, one line each, labelled with the VU and its iteration.

use std::fmt::Display;
use std::io::Write as _;

/// Prints `vu=VU it=ITERATION WHAT` as one locked write, so lines from VUs
/// on other threads never interleave.
pub fn line(vu: u32, iteration: u32, what: impl Display) {
    let line = format!("vu={vu} it={iteration} {what}\n");
    // Nothing to do if stderr is gone; the run goes on.
    let _ = std::io::stderr().lock().write_all(line.as_bytes());
}
