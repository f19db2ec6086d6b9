//! The built-in demo target: a small HTTP/1.1 server (plain or TLS) that the demo
//! and the load tester's integration tests hit, with exact counters of accepted
//! connections, TLS handshakes and requests. It owns only its accept loop, its
//! endpoints ([`routes`]), the orders database of `--database` ([`orders`])
//! and its throw-away certificates ([`tls`]); it must not
//! depend on the rest of the engine, panic, or block the runtime.

mod orders;
mod routes;
mod tls;

#[cfg(test)]
mod tests;

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use axum::Router;
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper_util::rt::TokioIo;
use rustls::HandshakeKind;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::TcpListener;
use tokio::task::{JoinHandle, JoinSet};
use tokio_rustls::TlsAcceptor;
use tower::ServiceExt;

use routes::Shared;

/// Why the demo target could not start.
#[derive(Debug, thiserror::Error)]
pub enum DemoTargetError {
    /// The `--database` could not be opened.
    #[error("demo target: cannot open the orders database: {0}")]
    Database(String),
    /// The listening socket could not be bound.
    #[error("demo target: cannot listen on {addr}: {source}")]
    Bind {
        addr: SocketAddr,
        #[source]
        source: std::io::Error,
    },
    /// The bound socket's local address could not be read.
    #[error("demo target: cannot read the listening address: {0}")]
    LocalAddr(#[source] std::io::Error),
    /// Generating the throw-away CA or server certificate failed.
    #[error("demo target: cannot generate a certificate: {0}")]
    Certificate(#[from] rcgen::Error),
    /// The TLS server configuration was rejected.
    #[error("demo target: cannot configure TLS: {0}")]
    Tls(#[from] rustls::Error),
}

/// Which protocol the demo target speaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Protocol {
    /// Plain HTTP/1.1.
    Http,
    /// HTTP/1.1 over TLS, with a certificate for `localhost` and `127.0.0.1`
    /// signed by a CA generated at start (see [`DemoTarget::ca_pem`]).
    Https,
}

/// A snapshot of the demo target's counters.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct DemoStats {
    /// Requests received, whatever their path or outcome (404s included).
    pub requests: u64,
    /// TCP connections accepted.
    pub connections: u64,
    /// `GET /me` requests without a known `session` cookie.
    pub me_without_session: u64,
    /// Completed TLS handshakes, full or resumed (always 0 for [`Protocol::Http`]).
    pub tls_handshakes: u64,
    /// Those of `tls_handshakes` that resumed an earlier session.
    pub tls_resumed: u64,
    /// Most requests handled at the same moment (from the request head to
    /// the response head), over the target's life.
    pub peak_concurrent_requests: u64,
}

/// A request `/echo` received, as it arrived.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Echo {
    pub method: String,
    /// Header lines in order, names in lower case.
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl Echo {
    /// Every value of header `name` (lower case), in order.
    pub fn header(&self, name: &str) -> Vec<&str> {
        self.headers.iter().filter(|(key, _)| key == name).map(|(_, value)| value.as_str()).collect()
    }
}

/// A running demo target; dropping it or calling [`DemoTarget::shutdown`] stops it
/// (no more accepts, open connections aborted).
#[derive(Debug)]
pub struct DemoTarget {
    addr: SocketAddr,
    protocol: Protocol,
    ca_pem: Option<String>,
    shared: Arc<Shared>,
    /// The accept loop; it owns the connection tasks, so aborting it aborts them.
    accept_task: Option<JoinHandle<()>>,
}

impl DemoTarget {
    /// Binds `listen` (port 0 picks a free port) and starts serving in the
    /// current tokio runtime.
    pub async fn start(listen: SocketAddr, protocol: Protocol) -> Result<DemoTarget, DemoTargetError> {
        Self::start_with_database(listen, protocol, None).await
    }

    /// [`Self::start`], storing `POST /orders` in the SQLite database
    /// `database` (`sqlite:PATH`) when given.
    pub async fn start_with_database(
        listen: SocketAddr,
        protocol: Protocol,
        database: Option<&str>,
    ) -> Result<DemoTarget, DemoTargetError> {
        let orders_db = match database {
            Some(url) => Some(orders::open(url).await.map_err(|err| DemoTargetError::Database(err.to_string()))?),
            None => None,
        };
        let (acceptor, ca_pem) = match protocol {
            Protocol::Http => (None, None),
            Protocol::Https => {
                let material = tls::generate()?;
                (Some(material.acceptor), Some(material.ca_pem))
            }
        };
        let listener =
            TcpListener::bind(listen).await.map_err(|source| DemoTargetError::Bind { addr: listen, source })?;
        let addr = listener.local_addr().map_err(DemoTargetError::LocalAddr)?;
        let shared = Arc::new(Shared::with_orders_db(orders_db));
        let router = routes::router(Arc::clone(&shared));
        let accept_task = tokio::spawn(accept_loop(listener, acceptor, Arc::clone(&shared), router));
        tracing::debug!(%addr, ?protocol, "demo target listening");
        Ok(DemoTarget { addr, protocol, ca_pem, shared, accept_task: Some(accept_task) })
    }

    /// The address actually bound.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// `http://127.0.0.1:PORT` (the bound IP if it is a specific one) or
    /// `https://localhost:PORT`, the name the certificate is for.
    pub fn base_url(&self) -> String {
        let port = self.addr.port();
        match self.protocol {
            Protocol::Http => {
                let ip = match self.addr.ip() {
                    IpAddr::V4(ip) if ip.is_unspecified() => IpAddr::V4(Ipv4Addr::LOCALHOST),
                    IpAddr::V6(ip) if ip.is_unspecified() => IpAddr::V6(Ipv6Addr::LOCALHOST),
                    ip => ip,
                };
                format!("http://{}", SocketAddr::new(ip, port))
            }
            Protocol::Https => format!("https://localhost:{port}"),
        }
    }

    /// PEM of the CA that signed the HTTPS certificate; `None` for plain HTTP.
    pub fn ca_pem(&self) -> Option<&str> {
        self.ca_pem.as_deref()
    }

    /// A snapshot of the counters.
    pub fn stats(&self) -> DemoStats {
        self.shared.stats()
    }

    /// Requests seen for exactly `path` (without query), e.g. `"/redirect/0"`.
    pub fn path_count(&self, path: &str) -> u64 {
        self.shared.path_count(path)
    }

    /// The latest requests to `/echo` (up to 1,000), oldest first.
    pub fn echoes(&self) -> Vec<Echo> {
        self.shared.echoes()
    }

    /// Stops accepting, aborts open connections and waits until they are gone.
    pub async fn shutdown(mut self) {
        if let Some(task) = self.accept_task.take() {
            task.abort();
            // The only possible error is the cancellation we just asked for.
            let _ = task.await;
        }
    }
}

impl Drop for DemoTarget {
    fn drop(&mut self) {
        if let Some(task) = self.accept_task.take() {
            task.abort();
        }
    }
}

/// Accepts forever, one task per connection; the tasks live in a `JoinSet`, so
/// aborting this loop drops the set and aborts every connection with it.
async fn accept_loop(listener: TcpListener, acceptor: Option<TlsAcceptor>, shared: Arc<Shared>, router: Router) {
    let mut connections = JoinSet::new();
    loop {
        // Reap finished connections so the set does not grow without bound.
        while connections.try_join_next().is_some() {}
        let (stream, peer) = match listener.accept().await {
            Ok(accepted) => accepted,
            Err(err) => {
                // Typically EMFILE under heavy load: back off instead of spinning.
                tracing::debug!(%err, "demo target: accept failed");
                tokio::time::sleep(Duration::from_millis(10)).await;
                continue;
            }
        };
        shared.connections.fetch_add(1, Ordering::Relaxed);
        if let Err(err) = stream.set_nodelay(true) {
            tracing::debug!(%err, %peer, "demo target: cannot set TCP_NODELAY");
        }
        let acceptor = acceptor.clone();
        let shared = Arc::clone(&shared);
        let router = router.clone();
        connections.spawn(async move {
            match acceptor {
                None => serve_connection(stream, shared, router).await,
                Some(acceptor) => match acceptor.accept(stream).await {
                    Ok(tls_stream) => {
                        shared.tls_handshakes.fetch_add(1, Ordering::Relaxed);
                        if tls_stream.get_ref().1.handshake_kind() == Some(HandshakeKind::Resumed) {
                            shared.tls_resumed.fetch_add(1, Ordering::Relaxed);
                        }
                        serve_connection(tls_stream, shared, router).await;
                    }
                    Err(err) => tracing::debug!(%err, %peer, "demo target: TLS handshake failed"),
                },
            }
        });
    }
}

/// Serves HTTP/1.1 with keep-alive on one connection until the client closes it.
async fn serve_connection<S>(stream: S, shared: Arc<Shared>, router: Router)
where
    S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let service = hyper::service::service_fn(move |request: hyper::Request<Incoming>| {
        // Counted before routing, so 404s and rejected requests count too.
        shared.count_request(request.uri().path());
        let handling = shared.handling();
        let response = router.clone().oneshot(request);
        async move {
            let response = response.await;
            drop(handling);
            response
        }
    });
    let result = http1::Builder::new()
        .keep_alive(true)
        // Virtual users may think for a long time between requests; never close
        // an idle keep-alive connection from this side.
        .header_read_timeout(None)
        .serve_connection(TokioIo::new(stream), service)
        .await;
    if let Err(err) = result {
        tracing::debug!(%err, "demo target: connection ended with an error");
    }
}
