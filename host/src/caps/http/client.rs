//! One VU's connections and one request/response exchange on them: DNS
//! (through the run's cache), TCP connect, TLS, HTTP/1.1 via hyper's
//! connection API, and k6's phase timings measured at the socket. It
//! knows nothing of redirects, cookies or metrics (see `mod.rs`).

use std::io;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::client::conn::http1::{self, SendRequest};
use hyper_util::rt::TokioIo;
use rustls::pki_types::ServerName;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::TcpStream;
use url::Url;

use super::HttpShared;
use crate::bindings::http::Error as HttpError;

/// Scheme, host and port: the key of a VU's kept connections.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Origin {
    pub https: bool,
    pub host: String,
    pub port: u16,
}

impl Origin {
    pub fn of(url: &Url) -> Result<Origin, HttpError> {
        let https = match url.scheme() {
            "http" => false,
            "https" => true,
            other => return Err(HttpError::InvalidUrl(format!("unsupported scheme {other:?} in {url}"))),
        };
        let host = url.host_str().ok_or_else(|| HttpError::InvalidUrl(format!("no host in {url}")))?;
        let port = url.port_or_known_default().unwrap_or(if https { 443 } else { 80 });
        Ok(Origin { https, host: host.to_string(), port })
    }
}

/// A kept-alive HTTP/1.1 connection of one VU.
pub struct Conn {
    sender: SendRequest<Full<Bytes>>,
    io: Arc<IoStats>,
}

/// A VU's idle connections, by origin. `batch` may hold several per
/// origin. A VU talks to few origins, so a list beats hashing host names.
#[derive(Default)]
pub struct Pool(Vec<(Origin, Vec<Conn>)>);

impl Pool {
    pub fn take(&mut self, origin: &Origin) -> Option<Conn> {
        let conns = &mut self.0.iter_mut().find(|(o, _)| o == origin)?.1;
        while let Some(conn) = conns.pop() {
            if !conn.sender.is_closed() {
                return Some(conn);
            }
        }
        None
    }

    pub fn put(&mut self, origin: &Origin, conn: Conn) {
        if conn.sender.is_closed() {
            return;
        }
        match self.0.iter_mut().find(|(o, _)| o == origin) {
            Some((_, conns)) => conns.push(conn),
            None => self.0.push((origin.clone(), vec![conn])),
        }
    }
}

/// What one exchange produced, with k6's phases.
pub struct Exchange {
    pub response: http::Response<Bytes>,
    pub phases: Phases,
    /// The exchange opened a new connection (TCP connect, TLS handshake if https).
    pub new_connection: bool,
    pub bytes_sent: u64,
    pub bytes_received: u64,
}

/// k6's request phases.
#[derive(Debug, Clone, Copy, Default)]
pub struct Phases {
    pub blocked: Duration,
    pub connecting: Duration,
    pub tls_handshaking: Duration,
    pub sending: Duration,
    pub waiting: Duration,
    pub receiving: Duration,
}

/// A failed exchange, with the bytes that did cross the wire.
pub struct Failure {
    pub error: HttpError,
    pub bytes_sent: u64,
    pub bytes_received: u64,
}

impl Failure {
    /// A failure whose byte counts are unknown or zero (no connection, or
    /// the connection was dropped with its counters on a timeout).
    pub fn without_bytes(error: HttpError) -> Self {
        Failure { error, bytes_sent: 0, bytes_received: 0 }
    }
}

/// Sends `request` on a kept connection to `origin` (or a new one) and reads
/// the whole response. `rebuild` makes the request again for the one retry
/// on a fresh connection. On success the connection is handed back through
/// `conn_out` for reuse.
pub async fn exchange(
    shared: &HttpShared,
    origin: &Origin,
    kept: Option<Conn>,
    request: http::Request<Full<Bytes>>,
    rebuild: impl Fn() -> Result<http::Request<Full<Bytes>>, HttpError>,
    discard_body: bool,
    conn_out: &mut Option<Conn>,
) -> Result<Exchange, Failure> {
    let start = Instant::now();
    let reused = kept.is_some();
    let (mut conn, mut phases) = match kept {
        Some(conn) => (conn, Phases::default()),
        None => connect_boxed(shared, origin).await.map_err(Failure::without_bytes)?,
    };
    match send_on(&mut conn, request, discard_body, start, &mut phases).await {
        Ok(done) => {
            *conn_out = Some(conn);
            Ok(Exchange { new_connection: !reused, ..done })
        }
        // A kept connection the server closed while idle: nothing reached the
        // server, so retry once on a new connection (as browsers and k6 do).
        Err(failure) if reused && failure.bytes_received == 0 && is_stale(&failure.error) => {
            let retry_start = Instant::now();
            let (mut conn, mut phases) = connect_boxed(shared, origin).await.map_err(Failure::without_bytes)?;
            let request = rebuild().map_err(Failure::without_bytes)?;
            let done = send_on(&mut conn, request, discard_body, retry_start, &mut phases).await?;
            *conn_out = Some(conn);
            Ok(Exchange { new_connection: true, ..done })
        }
        Err(failure) => Err(failure),
    }
}

fn is_stale(error: &HttpError) -> bool {
    matches!(error, HttpError::ConnectionReset(_))
}

/// [`connect`] on the heap: it is the rare and large part of an exchange
/// (the TLS handshake state), so every request's future stays small.
async fn connect_boxed(shared: &HttpShared, origin: &Origin) -> Result<(Conn, Phases), HttpError> {
    Box::pin(connect(shared, origin)).await
}

/// Opens a connection: DNS, TCP, TLS for https, then the HTTP/1.1 handshake.
async fn connect(shared: &HttpShared, origin: &Origin) -> Result<(Conn, Phases), HttpError> {
    let addrs = shared.dns.resolve(&origin.host, origin.port).await.map_err(HttpError::Dns)?;
    let connect_start = Instant::now();
    let tcp = connect_any(&addrs).await?;
    let _ = tcp.set_nodelay(true);
    let io = Arc::new(IoStats::new());
    let counted = Counted { inner: tcp, stats: io.clone() };
    let tls_start = Instant::now();
    let mut phases = Phases { connecting: tls_start - connect_start, ..Phases::default() };
    let sender = if origin.https {
        let name = ServerName::try_from(origin.host.trim_start_matches('[').trim_end_matches(']').to_string())
            .map_err(|err| HttpError::InvalidUrl(format!("{}: {err}", origin.host)))?;
        let tls = tokio_rustls::TlsConnector::from(shared.tls.clone())
            .connect(name, counted)
            .await
            .map_err(|err| HttpError::Tls(tls_reason(&err)))?;
        phases.tls_handshaking = tls_start.elapsed();
        handshake(tls).await?
    } else {
        handshake(counted).await?
    };
    Ok((Conn { sender, io }, phases))
}

async fn connect_any(addrs: &[SocketAddr]) -> Result<TcpStream, HttpError> {
    let mut last = HttpError::Other("no address to connect to".into());
    for addr in addrs {
        match TcpStream::connect(addr).await {
            Ok(tcp) => return Ok(tcp),
            Err(err) if err.kind() == io::ErrorKind::ConnectionRefused => {
                last = HttpError::ConnectionRefused(addr.to_string())
            }
            Err(err) => last = io_error(&err),
        }
    }
    Err(last)
}

async fn handshake<S>(stream: S) -> Result<SendRequest<Full<Bytes>>, HttpError>
where
    S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let (sender, connection) =
        http1::Builder::new().handshake(TokioIo::new(stream)).await.map_err(|err| HttpError::Other(err.to_string()))?;
    // The connection's task ends when the VU drops its sender.
    tokio::spawn(async move {
        if let Err(err) = connection.await {
            tracing::trace!("connection closed: {err}");
        }
    });
    Ok(sender)
}

async fn send_on(
    conn: &mut Conn,
    request: http::Request<Full<Bytes>>,
    discard_body: bool,
    start: Instant,
    phases: &mut Phases,
) -> Result<Exchange, Failure> {
    let io = conn.io.clone();
    let fail = |error: HttpError, io: &IoStats| {
        let (bytes_sent, bytes_received) = io.take_bytes();
        Failure { error, bytes_sent, bytes_received }
    };
    if let Err(err) = conn.sender.ready().await {
        return Err(fail(hyper_error(&err), &io));
    }
    io.reset_marks();
    let response = match conn.sender.send_request(request).await {
        Ok(response) => response,
        Err(err) => return Err(fail(hyper_error(&err), &io)),
    };
    let (parts, body) = response.into_parts();
    let body = match body.collect().await {
        Ok(collected) => collected.to_bytes(),
        Err(err) => return Err(fail(hyper_error(&err), &io)),
    };
    let end = Instant::now();
    let marks = io.marks(start, end);
    // Blocked: DNS, waiting for the connection, and handing the request to
    // the connection's task: everything before its first byte is written.
    phases.blocked = (marks.first_write - start).saturating_sub(phases.connecting + phases.tls_handshaking);
    phases.sending = marks.last_write - marks.first_write;
    phases.waiting = marks.first_read - marks.last_write;
    phases.receiving = end - marks.first_read;
    let (bytes_sent, bytes_received) = io.take_bytes();
    let body = if discard_body { Bytes::new() } else { body };
    Ok(Exchange {
        response: http::Response::from_parts(parts, body),
        phases: *phases,
        new_connection: false,
        bytes_sent,
        bytes_received,
    })
}

fn hyper_error(err: &hyper::Error) -> HttpError {
    use std::error::Error as _;
    if err.is_incomplete_message() || err.is_canceled() || err.is_closed() {
        return HttpError::ConnectionReset(err.to_string());
    }
    let mut source = err.source();
    while let Some(cause) = source {
        if let Some(io_err) = cause.downcast_ref::<io::Error>() {
            return io_error(io_err);
        }
        source = cause.source();
    }
    HttpError::Other(err.to_string())
}

fn io_error(err: &io::Error) -> HttpError {
    match err.kind() {
        io::ErrorKind::ConnectionRefused => HttpError::ConnectionRefused(err.to_string()),
        io::ErrorKind::ConnectionReset
        | io::ErrorKind::ConnectionAborted
        | io::ErrorKind::BrokenPipe
        | io::ErrorKind::UnexpectedEof => HttpError::ConnectionReset(err.to_string()),
        io::ErrorKind::TimedOut => HttpError::Timeout,
        _ => HttpError::Other(err.to_string()),
    }
}

/// rustls reports certificate problems inside an `io::Error`.
fn tls_reason(err: &io::Error) -> String {
    match err.get_ref().and_then(|inner| inner.downcast_ref::<rustls::Error>()) {
        Some(tls) => tls.to_string(),
        None => err.to_string(),
    }
}

/// Byte counts and the instants of the first and last write and the first
/// read of the current exchange, updated by the connection task and read by
/// the VU. An instant is nanoseconds since `base`; 0 means not yet.
struct IoStats {
    base: Instant,
    first_write_ns: AtomicU64,
    last_write_ns: AtomicU64,
    first_read_ns: AtomicU64,
    sent: AtomicU64,
    received: AtomicU64,
}

impl IoStats {
    fn new() -> Self {
        IoStats {
            base: Instant::now(),
            first_write_ns: AtomicU64::new(0),
            last_write_ns: AtomicU64::new(0),
            first_read_ns: AtomicU64::new(0),
            sent: AtomicU64::new(0),
            received: AtomicU64::new(0),
        }
    }

    fn now_ns(&self) -> u64 {
        self.base.elapsed().as_nanos() as u64
    }

    /// Starts a new exchange's marks.
    fn reset_marks(&self) {
        self.first_write_ns.store(0, Ordering::Relaxed);
        self.last_write_ns.store(0, Ordering::Relaxed);
        self.first_read_ns.store(0, Ordering::Relaxed);
    }

    /// Called as a write starts: the first one of an exchange starts `sending`.
    fn before_write(&self) {
        if self.first_write_ns.load(Ordering::Relaxed) == 0 {
            self.first_write_ns.store(self.now_ns(), Ordering::Relaxed);
        }
    }

    /// Called when a write completed: the last one ends `sending`.
    fn on_write(&self, n: usize) {
        self.sent.fetch_add(n as u64, Ordering::Relaxed);
        self.last_write_ns.store(self.now_ns(), Ordering::Relaxed);
    }

    fn on_read(&self, n: usize) {
        self.received.fetch_add(n as u64, Ordering::Relaxed);
        // Only the first read after the request was written counts.
        let last_write = self.last_write_ns.load(Ordering::Relaxed);
        if last_write != 0 {
            let _ = self.first_read_ns.compare_exchange(0, self.now_ns(), Ordering::Relaxed, Ordering::Relaxed);
        }
    }

    /// This exchange's marks, in order and within [start, end].
    fn marks(&self, start: Instant, end: Instant) -> Marks {
        let at = |mark: &AtomicU64, unset: Instant| match mark.load(Ordering::Relaxed) {
            0 => unset,
            ns => (self.base + Duration::from_nanos(ns)).clamp(start, end),
        };
        let first_write = at(&self.first_write_ns, start);
        let last_write = at(&self.last_write_ns, first_write).max(first_write);
        let first_read = at(&self.first_read_ns, end).max(last_write);
        Marks { first_write, last_write, first_read }
    }

    fn take_bytes(&self) -> (u64, u64) {
        (self.sent.swap(0, Ordering::Relaxed), self.received.swap(0, Ordering::Relaxed))
    }
}

/// When an exchange's bytes crossed the socket.
struct Marks {
    first_write: Instant,
    last_write: Instant,
    first_read: Instant,
}

/// A socket that reports its traffic to [`IoStats`].
struct Counted<S> {
    inner: S,
    stats: Arc<IoStats>,
}

impl<S: AsyncRead + Unpin> AsyncRead for Counted<S> {
    fn poll_read(mut self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &mut ReadBuf<'_>) -> Poll<io::Result<()>> {
        let before = buf.filled().len();
        let poll = Pin::new(&mut self.inner).poll_read(cx, buf);
        let n = buf.filled().len() - before;
        if n > 0 {
            self.stats.on_read(n);
        }
        poll
    }
}

impl<S: AsyncWrite + Unpin> AsyncWrite for Counted<S> {
    fn poll_write(mut self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        self.stats.before_write();
        let poll = Pin::new(&mut self.inner).poll_write(cx, buf);
        if let Poll::Ready(Ok(n)) = poll {
            self.stats.on_write(n);
        }
        poll
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        self.stats.before_write();
        let poll = Pin::new(&mut self.inner).poll_write_vectored(cx, bufs);
        if let Poll::Ready(Ok(n)) = poll {
            self.stats.on_write(n);
        }
        poll
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
