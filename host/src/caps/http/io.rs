//! What one connection's socket saw, exchange by exchange. Bytes are counted
//! on the TCP side, TLS records included (k6's `data_sent` and
//! `data_received` are wire bytes). k6's timing marks (first and last write
//! of the request, first read of its response) are taken on the plaintext
//! side, so TLS records that are no part of the response, such as TLS 1.3
//! session tickets, never count as its first byte. The plaintext side also
//! holds the gate that lets a VU which stopped waiting keep a request from
//! ever reaching the server.

use std::io;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicU8, AtomicU64, Ordering};
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};

/// The request gate: no byte of the request written yet, some written, or
/// sealed (the VU stopped waiting before any was: none ever will be).
const GATE_OPEN: u8 = 0;
const GATE_WRITTEN: u8 = 1;
const GATE_SEALED: u8 = 2;

/// Byte counts and marks of one connection, updated by its task and read
/// by the request on it. An instant is nanoseconds since `base`; 0 means
/// not yet.
pub struct IoStats {
    base: Instant,
    first_write_ns: AtomicU64,
    last_write_ns: AtomicU64,
    first_read_ns: AtomicU64,
    sent: AtomicU64,
    received: AtomicU64,
    gate: AtomicU8,
}

impl IoStats {
    pub fn new() -> Self {
        IoStats {
            base: Instant::now(),
            first_write_ns: AtomicU64::new(0),
            last_write_ns: AtomicU64::new(0),
            first_read_ns: AtomicU64::new(0),
            sent: AtomicU64::new(0),
            received: AtomicU64::new(0),
            gate: AtomicU8::new(GATE_OPEN),
        }
    }

    /// Never 0, which means "not yet".
    fn now_ns(&self) -> u64 {
        (self.base.elapsed().as_nanos() as u64).max(1)
    }

    /// Starts a new request's marks and opens its gate. Called before the
    /// request is published to the VU's waiting side, so a seal always
    /// applies to the request it was meant for.
    pub fn begin_request(&self) {
        self.first_write_ns.store(0, Ordering::Relaxed);
        self.last_write_ns.store(0, Ordering::Relaxed);
        self.first_read_ns.store(0, Ordering::Relaxed);
        self.gate.store(GATE_OPEN, Ordering::Release);
    }

    /// Some byte of the current request was handed to the socket.
    pub fn request_written(&self) -> bool {
        self.gate.load(Ordering::Acquire) == GATE_WRITTEN
    }

    /// Closes the gate of a request nobody waits for: true when some of it
    /// was already written (the server may count it); otherwise none of it
    /// ever will be.
    pub fn seal(&self) -> bool {
        match self.gate.compare_exchange(GATE_OPEN, GATE_SEALED, Ordering::AcqRel, Ordering::Acquire) {
            Ok(_) => false,
            Err(state) => state == GATE_WRITTEN,
        }
    }

    /// Before a plaintext write: the first one of a request passes the gate
    /// (false: sealed, write nothing) and starts `sending`.
    fn before_write(&self) -> bool {
        if self.first_write_ns.load(Ordering::Relaxed) != 0 {
            return true;
        }
        match self.gate.compare_exchange(GATE_OPEN, GATE_WRITTEN, Ordering::AcqRel, Ordering::Acquire) {
            Ok(_) | Err(GATE_WRITTEN) => {
                self.first_write_ns.store(self.now_ns(), Ordering::Relaxed);
                true
            }
            Err(_) => false,
        }
    }

    /// After a plaintext write: the last one ends `sending`.
    fn after_write(&self) {
        self.last_write_ns.store(self.now_ns(), Ordering::Relaxed);
    }

    /// After a plaintext read: the first one after the request was written
    /// ends `waiting`. The clock is read only for that one.
    fn after_read(&self) {
        if self.first_read_ns.load(Ordering::Relaxed) == 0 && self.last_write_ns.load(Ordering::Relaxed) != 0 {
            let _ = self.first_read_ns.compare_exchange(0, self.now_ns(), Ordering::Relaxed, Ordering::Relaxed);
        }
    }

    /// The current request's marks, in order and within [start, end].
    pub fn marks(&self, start: Instant, end: Instant) -> Marks {
        let at = |mark: &AtomicU64, unset: Instant| match mark.load(Ordering::Relaxed) {
            0 => unset,
            ns => (self.base + Duration::from_nanos(ns)).clamp(start, end),
        };
        let first_write = at(&self.first_write_ns, start);
        let last_write = at(&self.last_write_ns, first_write).max(first_write);
        let first_read = at(&self.first_read_ns, end).max(last_write);
        Marks { first_write, last_write, first_read }
    }

    /// Bytes sent and received since the last call.
    pub fn take_bytes(&self) -> (u64, u64) {
        (self.sent.swap(0, Ordering::Relaxed), self.received.swap(0, Ordering::Relaxed))
    }
}

/// When a request's plaintext bytes crossed into and out of the connection.
pub struct Marks {
    pub first_write: Instant,
    pub last_write: Instant,
    pub first_read: Instant,
}

/// What a [`Tap`] does on one side of the connection.
pub trait Side: Unpin {
    /// After a read of `n` > 0 bytes.
    fn after_read(stats: &IoStats, n: usize);
    /// Before a write: false refuses it (the request's gate is sealed).
    fn before_write(stats: &IoStats) -> bool;
    /// After a write of `n` bytes.
    fn after_write(stats: &IoStats, n: usize);
}

/// The TCP side: counts wire bytes.
pub enum Wire {}

impl Side for Wire {
    fn after_read(stats: &IoStats, n: usize) {
        stats.received.fetch_add(n as u64, Ordering::Relaxed);
    }

    fn before_write(_: &IoStats) -> bool {
        true
    }

    fn after_write(stats: &IoStats, n: usize) {
        stats.sent.fetch_add(n as u64, Ordering::Relaxed);
    }
}

/// The plaintext side (what hyper reads and writes): timing marks and the
/// request gate.
pub enum Plaintext {}

impl Side for Plaintext {
    fn after_read(stats: &IoStats, _: usize) {
        stats.after_read();
    }

    fn before_write(stats: &IoStats) -> bool {
        stats.before_write()
    }

    fn after_write(stats: &IoStats, _: usize) {
        stats.after_write();
    }
}

/// A stream that reports its traffic to [`IoStats`] as side `T` does.
pub struct Tap<S, T> {
    inner: S,
    stats: Arc<IoStats>,
    side: std::marker::PhantomData<T>,
}

impl<S, T: Side> Tap<S, T> {
    pub fn new(inner: S, stats: Arc<IoStats>) -> Self {
        Tap { inner, stats, side: std::marker::PhantomData }
    }

    fn sealed() -> io::Error {
        io::Error::new(io::ErrorKind::BrokenPipe, "request interrupted before it was written")
    }

    /// A write through `write`, between the side's checks.
    fn write_with(
        mut self: Pin<&mut Self>,
        write: impl FnOnce(Pin<&mut S>) -> Poll<io::Result<usize>>,
    ) -> Poll<io::Result<usize>>
    where
        S: Unpin,
    {
        if !T::before_write(&self.stats) {
            return Poll::Ready(Err(Self::sealed()));
        }
        let poll = write(Pin::new(&mut self.inner));
        if let Poll::Ready(Ok(n)) = poll {
            T::after_write(&self.stats, n);
        }
        poll
    }
}

impl<S: AsyncRead + Unpin, T: Side> AsyncRead for Tap<S, T> {
    fn poll_read(mut self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &mut ReadBuf<'_>) -> Poll<io::Result<()>> {
        let before = buf.filled().len();
        let poll = Pin::new(&mut self.inner).poll_read(cx, buf);
        let n = buf.filled().len() - before;
        if n > 0 {
            T::after_read(&self.stats, n);
        }
        poll
    }
}

impl<S: AsyncWrite + Unpin, T: Side> AsyncWrite for Tap<S, T> {
    fn poll_write(self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        self.write_with(|inner| inner.poll_write(cx, buf))
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        self.write_with(|inner| inner.poll_write_vectored(cx, bufs))
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_sealed_request_writes_nothing_and_a_written_one_reports_it() {
        let stats = IoStats::new();
        stats.begin_request();
        assert!(!stats.seal(), "nothing was written");
        assert!(!stats.before_write(), "a sealed request may not start writing");
        assert!(!stats.request_written());

        stats.begin_request();
        assert!(stats.before_write());
        assert!(stats.before_write(), "later writes of the request pass");
        assert!(stats.request_written());
        assert!(stats.seal(), "some of it was written");
    }

    #[test]
    fn marks_are_ordered_and_reads_before_the_request_do_not_count() {
        let stats = IoStats::new();
        let start = Instant::now();
        stats.begin_request();
        // A read before any write (e.g. a late TLS record) is not the response.
        stats.after_read();
        assert!(stats.before_write());
        stats.after_write();
        stats.after_read();
        let end = Instant::now();
        let marks = stats.marks(start, end);
        assert!(start <= marks.first_write && marks.first_write <= marks.last_write);
        assert!(marks.last_write <= marks.first_read && marks.first_read <= end);
    }
}
