//! One VU's connections and one attempt of a request on them: DNS (through
//! the run's cache), TCP connect, TLS (with the VU's own session cache),
//! HTTP/1.1 via hyper's connection API, the response body read within its
//! cap (or discarded as it streams), and k6's phases from the marks `io`
//! takes. It knows nothing of redirects, retries, cookies or metrics.

use std::io;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use http_body_util::{BodyExt, Full, LengthLimitError, Limited};
use hyper::body::{Body, Incoming};
use hyper::client::conn::http1::{self, SendRequest};
use hyper_util::rt::TokioIo;
use rustls::pki_types::ServerName;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::TcpStream;

use super::HttpShared;
use super::io::{IoStats, Plaintext, Tap, Wire};
use super::target::Origin;
use super::tls::VuTls;
use crate::bindings::http::Error as HttpError;

/// A kept-alive HTTP/1.1 connection of one VU.
pub struct Conn {
    sender: SendRequest<Full<Bytes>>,
    pub io: Arc<IoStats>,
    /// Dropping the connection (the VU is gone, or its request was cut)
    /// ends its task at once, so nothing of a VU outlives it.
    _task: AbortOnDrop,
}

struct AbortOnDrop(tokio::task::AbortHandle);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        self.0.abort();
    }
}

/// A VU's idle connections, by origin: `batch` may hold several per origin,
/// up to a bound. A VU talks to few origins, so a list beats hashing.
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

    /// Keeps `conn` for reuse unless the server closed it or `max_idle`
    /// connections to its origin are kept already (then it is closed).
    pub fn put(&mut self, origin: &Origin, conn: Conn, max_idle: usize) {
        if conn.sender.is_closed() {
            return;
        }
        match self.0.iter_mut().find(|(o, _)| o == origin) {
            Some((_, conns)) if conns.len() >= max_idle => {}
            Some((_, conns)) => conns.push(conn),
            None => self.0.push((origin.clone(), vec![conn])),
        }
    }
}

/// A response and k6's phases of the attempt that got it.
pub struct Exchange {
    pub response: http::Response<Vec<u8>>,
    pub phases: Phases,
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

/// What becomes of a response body.
#[derive(Debug, Clone, Copy)]
pub enum ResponseBody {
    /// Read and dropped as it streams (counted, never held).
    Discard,
    /// Kept, up to `max` bytes; a longer body fails the request.
    Keep { max: u64 },
}

/// [`connect`] on the heap: it is the rare and large part of an attempt
/// (the TLS handshake state), so every request's future stays small.
pub async fn connect_boxed(
    shared: &HttpShared,
    tls: &VuTls,
    origin: &Origin,
    addrs: Option<Vec<SocketAddr>>,
    io: Arc<IoStats>,
) -> Result<(Conn, Phases), HttpError> {
    Box::pin(connect(shared, tls, origin, addrs, io)).await
}

/// Opens a connection: DNS (unless the caller resolved `addrs` already),
/// TCP, TLS for https, then the HTTP/1.1 handshake. Wire bytes are counted
/// under TLS, timing marks above it.
async fn connect(
    shared: &HttpShared,
    tls: &VuTls,
    origin: &Origin,
    addrs: Option<Vec<SocketAddr>>,
    io: Arc<IoStats>,
) -> Result<(Conn, Phases), HttpError> {
    let addrs = match addrs {
        Some(addrs) => addrs,
        None => shared.dns.resolve(&origin.host, origin.port).await.map_err(HttpError::Dns)?,
    };
    let connect_start = Instant::now();
    let tcp = connect_any(&addrs).await?;
    let _ = tcp.set_nodelay(true);
    let counted = Tap::<_, Wire>::new(tcp, io.clone());
    let tls_start = Instant::now();
    let mut phases = Phases { connecting: tls_start - connect_start, ..Phases::default() };
    let (sender, task) = if origin.https {
        let name = ServerName::try_from(origin.host.trim_start_matches('[').trim_end_matches(']').to_string())
            .map_err(|err| HttpError::InvalidUrl(format!("{}: {err}", origin.host)))?;
        let stream =
            tls.connector(&shared.tls).connect(name, counted).await.map_err(|err| HttpError::Tls(tls_reason(&err)))?;
        phases.tls_handshaking = tls_start.elapsed();
        handshake(Tap::<_, Plaintext>::new(stream, io.clone())).await?
    } else {
        handshake(Tap::<_, Plaintext>::new(counted, io.clone())).await?
    };
    Ok((Conn { sender, io, _task: task }, phases))
}

/// Tries the addresses in order (the one DNS selected first).
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

async fn handshake<S>(stream: S) -> Result<(SendRequest<Full<Bytes>>, AbortOnDrop), HttpError>
where
    S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let (sender, connection) =
        http1::Builder::new().handshake(TokioIo::new(stream)).await.map_err(|err| HttpError::Other(err.to_string()))?;
    let task = tokio::spawn(async move {
        if let Err(err) = connection.await {
            tracing::trace!("connection closed: {err}");
        }
    });
    Ok((sender, AbortOnDrop(task.abort_handle())))
}

/// Sends `request` on `conn` and reads the response; `start` is when the
/// attempt began and `phases` holds its connection phases, if it opened one.
pub async fn send_on(
    conn: &mut Conn,
    request: http::Request<Full<Bytes>>,
    body: ResponseBody,
    start: Instant,
    mut phases: Phases,
) -> Result<Exchange, HttpError> {
    conn.sender.ready().await.map_err(|err| hyper_error(&err))?;
    let response = conn.sender.send_request(request).await.map_err(|err| hyper_error(&err))?;
    let (parts, incoming) = response.into_parts();
    let body = read_body(incoming, body).await?;
    let end = Instant::now();
    let marks = conn.io.marks(start, end);
    // Blocked: DNS, waiting for the connection, and handing the request to
    // the connection's task: everything before its first byte is written.
    phases.blocked = (marks.first_write - start).saturating_sub(phases.connecting + phases.tls_handshaking);
    phases.sending = marks.last_write - marks.first_write;
    phases.waiting = marks.first_read - marks.last_write;
    phases.receiving = end - marks.first_read;
    Ok(Exchange { response: http::Response::from_parts(parts, body), phases })
}

/// The body as `mode` asks. A body over the cap stops the reading at once
/// (its announced length is enough to know); the caller drops the
/// connection, so the rest is never read. `collect` rather than a loop of
/// `frame().await`: measured with callgrind, the loop made hyper's
/// connection task run three times as often per request (+8% instructions).
async fn read_body(incoming: Incoming, mode: ResponseBody) -> Result<Vec<u8>, HttpError> {
    match mode {
        ResponseBody::Keep { max } => {
            if incoming.size_hint().lower() > max {
                return Err(too_large(max));
            }
            let limited = Limited::new(incoming, usize::try_from(max).unwrap_or(usize::MAX));
            match limited.collect().await {
                Ok(collected) => Ok(collected.to_bytes().to_vec()),
                Err(err) if err.is::<LengthLimitError>() => Err(too_large(max)),
                Err(err) => Err(match err.downcast::<hyper::Error>() {
                    Ok(err) => hyper_error(&err),
                    Err(err) => HttpError::Other(err.to_string()),
                }),
            }
        }
        ResponseBody::Discard => {
            // Each chunk is dropped as it arrives; nothing is kept.
            let dropped = incoming.map_frame(|frame| frame.map_data(|_| Bytes::new()));
            dropped.collect().await.map_err(|err| hyper_error(&err))?;
            Ok(Vec::new())
        }
    }
}

fn too_large(max: u64) -> HttpError {
    HttpError::Other(format!(
        "response body larger than max-response-body ({}); raise it or use discard_body",
        size_text(max)
    ))
}

/// A byte size as people write it: `32 MiB`, `512 KiB`, `1000 B`.
fn size_text(bytes: u64) -> String {
    for (unit, size) in [("GiB", 1u64 << 30), ("MiB", 1 << 20), ("KiB", 1 << 10)] {
        if bytes >= size && bytes.is_multiple_of(size) {
            return format!("{} {unit}", bytes / size);
        }
    }
    format!("{bytes} B")
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_read_as_written() {
        assert_eq!(size_text(32 << 20), "32 MiB");
        assert_eq!(size_text(1 << 30), "1 GiB");
        assert_eq!(size_text(512 << 10), "512 KiB");
        assert_eq!(size_text(10_000_000), "10000000 B");
        assert_eq!(size_text(0), "0 B");
    }
}
