//! A guest's stderr: keeps the last few KiB so a trap can be reported with
//! the panic message the guest printed just before it. Nothing reaches the
//! terminal.

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
pub struct GuestStderr(Arc<Mutex<VecDeque<u8>>>);

impl GuestStderr {
    fn push(&self, bytes: &[u8]) {
        let mut tail = self.0.lock().unwrap_or_else(|e| e.into_inner());
        let bytes = &bytes[bytes.len().saturating_sub(KEEP)..];
        let overflow = (tail.len() + bytes.len()).saturating_sub(KEEP);
        tail.drain(..overflow);
        tail.extend(bytes);
    }

    /// The message of the last Rust panic written, or else the last
    /// non-empty line.
    pub fn last_message(&self) -> Option<String> {
        let tail = self.0.lock().unwrap_or_else(|e| e.into_inner());
        let bytes: Vec<u8> = tail.iter().copied().collect();
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
        stderr.push(b"noise\nthread '<unnamed>' panicked at src/lib.rs:20:13:\nflaky-panic: planned panic\nnote: run with `RUST_BACKTRACE=1`\n");
        assert_eq!(stderr.last_message().as_deref(), Some("panic: flaky-panic: planned panic"));
    }

    #[test]
    fn keeps_only_the_tail() {
        let stderr = GuestStderr::default();
        stderr.push(&vec![b'x'; 10_000]);
        stderr.push(b"\nlast line\n");
        assert_eq!(stderr.0.lock().unwrap().len(), KEEP);
        assert_eq!(stderr.last_message().as_deref(), Some("last line"));
    }
}
