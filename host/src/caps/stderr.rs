//! A guest's stderr: keeps the last few KiB so a trap can be reported with
//! the panic message the guest printed during the failed call (never an
//! older line). Nothing reaches the terminal.

use std::collections::VecDeque;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};

use bytes::Bytes;
use wasmtime_wasi::cli::{IsTerminal, StdoutStream};
use wasmtime_wasi::p2::{OutputStream, Pollable, StreamResult};

const KEEP: usize = 4096;

/// The tail of what a guest wrote to stderr.
#[derive(Clone, Default)]
pub struct GuestStderr(Arc<Mutex<Tail>>);

#[derive(Default)]
struct Tail {
    bytes: VecDeque<u8>,
    /// Bytes written since the VU started.
    written: u64,
}

/// A point in a guest's stderr, taken before a call.
#[derive(Debug, Clone, Copy)]
pub struct StderrMark(u64);

impl GuestStderr {
    fn push(&self, bytes: &[u8]) {
        let mut tail = self.0.lock().unwrap_or_else(|e| e.into_inner());
        tail.written += bytes.len() as u64;
        let bytes = &bytes[bytes.len().saturating_sub(KEEP)..];
        let overflow = (tail.bytes.len() + bytes.len()).saturating_sub(KEEP);
        tail.bytes.drain(..overflow);
        tail.bytes.extend(bytes);
    }

    /// Where the stderr is now, so a later message is only what came after.
    pub fn mark(&self) -> StderrMark {
        StderrMark(self.0.lock().unwrap_or_else(|e| e.into_inner()).written)
    }

    /// The message of the last Rust panic written since `mark`, or else the
    /// last non-empty line written since then.
    pub fn message_since(&self, mark: StderrMark) -> Option<String> {
        let tail = self.0.lock().unwrap_or_else(|e| e.into_inner());
        let new = usize::try_from(tail.written - mark.0).unwrap_or(usize::MAX).min(tail.bytes.len());
        let bytes: Vec<u8> = tail.bytes.iter().skip(tail.bytes.len() - new).copied().collect();
        let text = String::from_utf8_lossy(&bytes);
        let lines: Vec<&str> = text.lines().map(str::trim).filter(|l| !l.is_empty()).collect();
        if let Some(i) = lines.iter().rposition(|l| l.contains("panicked at")) {
            // Rust prints "thread '…' panicked at src/lib.rs:1:2:" and the message on the next line.
            let message = lines.get(i + 1).filter(|l| !l.starts_with("note:")).copied();
            return Some(match message {
                Some(m) => format!("panic: {m}"),
                None => lines[i].to_string(),
            });
        }
        lines.last().map(|l| l.to_string())
    }
}

impl IsTerminal for GuestStderr {
    fn is_terminal(&self) -> bool {
        false
    }
}

impl StdoutStream for GuestStderr {
    fn async_stream(&self) -> Box<dyn tokio::io::AsyncWrite + Send + Sync> {
        Box::new(self.clone())
    }

    fn p2_stream(&self) -> Box<dyn OutputStream> {
        Box::new(self.clone())
    }
}

#[wasmtime_wasi::async_trait]
impl OutputStream for GuestStderr {
    fn write(&mut self, bytes: Bytes) -> StreamResult<()> {
        self.push(&bytes);
        Ok(())
    }

    fn flush(&mut self) -> StreamResult<()> {
        Ok(())
    }

    fn check_write(&mut self) -> StreamResult<usize> {
        Ok(KEEP)
    }
}

#[wasmtime_wasi::async_trait]
impl Pollable for GuestStderr {
    async fn ready(&mut self) {}
}

impl tokio::io::AsyncWrite for GuestStderr {
    fn poll_write(self: Pin<&mut Self>, _: &mut Context<'_>, buf: &[u8]) -> Poll<std::io::Result<usize>> {
        self.push(buf);
        Poll::Ready(Ok(buf.len()))
    }

    fn poll_flush(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Poll::Ready(Ok(()))
    }

    fn poll_shutdown(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Poll::Ready(Ok(()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_the_rust_panic_message() {
        let stderr = GuestStderr::default();
        let mark = stderr.mark();
        stderr.push(b"noise\nthread '<unnamed>' panicked at src/lib.rs:20:13:\nflaky-panic: planned panic\nnote: run with `RUST_BACKTRACE=1`\n");
        assert_eq!(stderr.message_since(mark).as_deref(), Some("panic: flaky-panic: planned panic"));
    }

    #[test]
    fn keeps_only_the_tail() {
        let stderr = GuestStderr::default();
        let mark = stderr.mark();
        stderr.push(&vec![b'x'; 10_000]);
        stderr.push(b"\nlast line\n");
        assert_eq!(stderr.0.lock().unwrap().bytes.len(), KEEP);
        assert_eq!(stderr.message_since(mark).as_deref(), Some("last line"));
    }

    #[test]
    fn only_what_a_call_wrote_names_its_failure() {
        let stderr = GuestStderr::default();
        stderr.push(b"debug: an old line\n");
        let mark = stderr.mark();
        assert_eq!(stderr.message_since(mark), None, "a silent trap is not named by an old line");
        stderr.push(b"new line\n");
        assert_eq!(stderr.message_since(mark).as_deref(), Some("new line"));
    }
}
