//! TCP through `wasi:sockets`, measured: each connection a plugin opens to
//! an address `allowed-sockets` grants is counted with its connect time,
//! its bytes and its lifetime (`tcp_*`, and k6's `data_sent` and
//! `data_received`, which count all traffic), tagged `address`.
//! wasmtime-wasi's own sockets do the work; its `start-connect` and
//! `finish-connect` are shadowed to time the connect and to wrap the
//! connection's two streams in counters.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Weak};
use std::time::Instant;

use bytes::Bytes;
use wasmtime::StoreContextMut;
use wasmtime::component::{Linker, Resource};
use wasmtime_wasi::p2::bindings::sockets::network::{ErrorCode, IpSocketAddress, Network};
use wasmtime_wasi::p2::bindings::sockets::tcp::HostTcpSocket;
use wasmtime_wasi::p2::pipe::{ClosedInputStream, ClosedOutputStream};
use wasmtime_wasi::p2::{
    DynInputStream, DynOutputStream, InputStream, OutputStream, Pollable, SocketError, StreamResult, TcpSocket,
};
use wasmtime_wasi::sockets::{SocketAddrUse, WasiSocketsView};

use super::VuState;
use crate::metrics::{Recorder, Sample, TagSet, names};

/// The interface as wasmtime-wasi 48 registers it (its
/// `p2/wit/deps/sockets.wit`): guests importing any `@0.2.x` link to this
/// one instance, so the shadowed functions must go into it. An upgrade
/// that renames it fails the `allowed-sockets` integration test.
const TCP_INTERFACE: &str = "wasi:sockets/tcp@0.2.12";

/// One VU's connections: those connecting (by socket) and those open.
pub struct TcpCtx {
    recorder: Recorder,
    connecting: HashMap<u32, (Instant, SocketAddr)>,
    open: Vec<Weak<Connection>>,
}

impl TcpCtx {
    pub fn new(recorder: Recorder) -> TcpCtx {
        TcpCtx { recorder, connecting: HashMap::new(), open: Vec::new() }
    }

    /// Records the bytes each open connection moved since the last time, so
    /// a connection a VU keeps across iterations is counted as it is used.
    pub fn end_iteration(&mut self) {
        self.open.retain(|connection| match connection.upgrade() {
            Some(connection) => {
                connection.record_bytes();
                true
            }
            None => false,
        });
    }
}

/// An open connection's counts, shared by its two streams; recorded in
/// full when the last of them goes.
struct Connection {
    recorder: Recorder,
    tags: TagSet,
    opened: Instant,
    /// Bytes not yet recorded.
    sent: AtomicU64,
    received: AtomicU64,
}

impl Connection {
    fn record_bytes(&self) {
        let (sent, received) = (self.sent.swap(0, Ordering::Relaxed), self.received.swap(0, Ordering::Relaxed));
        if sent == 0 && received == 0 {
            return;
        }
        self.recorder.record(
            &self.tags,
            &[
                Sample::new(names::TCP_DATA_SENT, sent as f64),
                Sample::new(names::TCP_DATA_RECEIVED, received as f64),
                Sample::new(names::DATA_SENT, sent as f64),
                Sample::new(names::DATA_RECEIVED, received as f64),
            ],
        );
    }
}

impl Drop for Connection {
    fn drop(&mut self) {
        self.record_bytes();
        let lived = self.opened.elapsed().as_secs_f64() * 1000.0;
        self.recorder.record(&self.tags, &[Sample::new(names::TCP_SESSION_DURATION, lived)]);
    }
}

/// Lowers a socket call's result as the generated binding does: an error
/// code to the guest, anything else a trap.
fn lower<V>(result: Result<V, SocketError>) -> wasmtime::Result<(Result<V, ErrorCode>,)> {
    Ok((match result {
        Ok(value) => Ok(value),
        Err(err) => Err(err.downcast()?),
    },))
}

/// Shadows `start-connect` and `finish-connect` of the TCP interface
/// `wasmtime_wasi::p2::add_to_linker_async` added to `linker`.
pub fn add_to_linker(linker: &mut Linker<VuState>) -> wasmtime::Result<()> {
    linker.allow_shadowing(true);
    let mut instance = linker.instance(TCP_INTERFACE)?;
    shadow_connect(&mut instance)?;
    linker.allow_shadowing(false);
    Ok(())
}

type Socket = Resource<TcpSocket>;

/// Times each connect and wraps a connected socket's streams in counters.
fn shadow_connect(instance: &mut wasmtime::component::LinkerInstance<'_, VuState>) -> wasmtime::Result<()> {
    instance.func_wrap(
        "[method]tcp-socket.start-connect",
        |mut store: StoreContextMut<'_, VuState>,
         (socket, network, address): (Socket, Resource<Network>, IpSocketAddress)| {
            let rep = socket.rep();
            let state = store.data_mut();
            // A socket dropped while connecting left its entry; this one may reuse its number.
            state.tcp.connecting.remove(&rep);
            let started = HostTcpSocket::start_connect(&mut state.sockets(), socket, network, address);
            if started.is_ok() {
                state.tcp.connecting.insert(rep, (Instant::now(), SocketAddr::from(address)));
            }
            lower(started)
        },
    )?;
    instance.func_wrap(
        "[method]tcp-socket.finish-connect",
        |mut store: StoreContextMut<'_, VuState>, (socket,): (Socket,)| {
            let rep = socket.rep();
            let state = store.data_mut();
            let finished = HostTcpSocket::finish_connect(&mut state.sockets(), socket);
            let code = finished.as_ref().err().map(|err| err.downcast_ref().copied());
            if code == Some(Some(ErrorCode::WouldBlock)) {
                return lower(finished);
            }
            let Some((started, address)) = state.tcp.connecting.remove(&rep) else { return lower(finished) };
            let tags = state.tcp.recorder.tags([("address", address.to_string().as_str())]);
            let connecting = started.elapsed().as_secs_f64() * 1000.0;
            let (input, output) = match finished {
                Ok(streams) => streams,
                Err(err) => {
                    // An address the run refused was counted as a denial: nothing was tried.
                    if state.gate.grants().socket(address, SocketAddrUse::TcpConnect).is_ok() {
                        state.tcp.recorder.record(&tags, &[Sample::flag(names::TCP_CONNECT_FAILED, true)]);
                    }
                    return lower(Err(err));
                }
            };
            state.tcp.recorder.record(
                &tags,
                &[
                    Sample::new(names::TCP_CONNECTIONS, 1.0),
                    Sample::new(names::TCP_CONNECTING, connecting),
                    Sample::flag(names::TCP_CONNECT_FAILED, false),
                ],
            );
            let connection = Arc::new(Connection {
                recorder: state.tcp.recorder.clone(),
                tags,
                opened: Instant::now(),
                sent: AtomicU64::new(0),
                received: AtomicU64::new(0),
            });
            state.tcp.open.retain(|open| open.strong_count() > 0);
            state.tcp.open.push(Arc::downgrade(&connection));
            let slot: &mut DynInputStream = state.table.get_mut(&input)?;
            let inner = std::mem::replace(slot, Box::new(ClosedInputStream));
            *slot = Box::new(CountedInput { inner, connection: connection.clone() });
            let slot: &mut DynOutputStream = state.table.get_mut(&output)?;
            let inner = std::mem::replace(slot, Box::new(ClosedOutputStream));
            *slot = Box::new(CountedOutput { inner, connection });
            Ok((Ok((input, output)),))
        },
    )
}

/// A connection's input stream, counting what the plugin reads. The
/// trait's other reads (blocking, skip) go through `read`.
struct CountedInput {
    inner: DynInputStream,
    connection: Arc<Connection>,
}

#[wasmtime_wasi::async_trait]
impl InputStream for CountedInput {
    fn read(&mut self, size: usize) -> StreamResult<Bytes> {
        let bytes = self.inner.read(size)?;
        self.connection.received.fetch_add(bytes.len() as u64, Ordering::Relaxed);
        Ok(bytes)
    }

    async fn cancel(&mut self) {
        self.inner.cancel().await
    }
}

#[wasmtime_wasi::async_trait]
impl Pollable for CountedInput {
    async fn ready(&mut self) {
        self.inner.ready().await
    }
}

/// A connection's output stream, counting what the plugin writes. The
/// trait's other writes (blocking, zeroes) go through `write`; `cancel`
/// is passed on, since the socket's writer finishes its writes there.
struct CountedOutput {
    inner: DynOutputStream,
    connection: Arc<Connection>,
}

#[wasmtime_wasi::async_trait]
impl OutputStream for CountedOutput {
    fn write(&mut self, bytes: Bytes) -> StreamResult<()> {
        let len = bytes.len() as u64;
        self.inner.write(bytes)?;
        self.connection.sent.fetch_add(len, Ordering::Relaxed);
        Ok(())
    }

    fn flush(&mut self) -> StreamResult<()> {
        self.inner.flush()
    }

    fn check_write(&mut self) -> StreamResult<usize> {
        self.inner.check_write()
    }

    async fn cancel(&mut self) {
        self.inner.cancel().await
    }
}

#[wasmtime_wasi::async_trait]
impl Pollable for CountedOutput {
    async fn ready(&mut self) {
        self.inner.ready().await
    }
}
