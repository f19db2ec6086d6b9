//! Raw HTTP/1.1 over TCP (and TLS) against a real demo target.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::TcpStream;

use super::{DemoTarget, Protocol};

const LOCAL: &str = "127.0.0.1:0";
const WAIT: Duration = Duration::from_secs(5);

struct Reply {
    status: u16,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
}

impl Reply {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(key, _)| key.eq_ignore_ascii_case(name)).map(|(_, value)| value.as_str())
    }
}

async fn start(protocol: Protocol) -> DemoTarget {
    let listen: SocketAddr = LOCAL.parse().expect("address");
    DemoTarget::start(listen, protocol).await.expect("start")
}

/// Sends one request and reads one `Content-Length`-framed response; `pending`
/// keeps bytes read past it for the next response on the same connection.
async fn exchange<S>(stream: &mut S, pending: &mut Vec<u8>, request: &str) -> Reply
where
    S: AsyncRead + AsyncWrite + Unpin,
{
    tokio::time::timeout(WAIT, async {
        stream.write_all(request.as_bytes()).await.expect("write");
        stream.flush().await.expect("flush");
        let head_end = loop {
            if let Some(pos) = pending.windows(4).position(|w| w == b"\r\n\r\n") {
                break pos + 4;
            }
            read_more(stream, pending).await;
        };
        let head = String::from_utf8(pending[..head_end].to_vec()).expect("utf-8 head");
        let mut lines = head.split("\r\n");
        let status_line = lines.next().expect("status line");
        assert!(status_line.starts_with("HTTP/1.1 "), "{status_line}");
        let status = status_line[9..12].parse().expect("status code");
        let headers: Vec<(String, String)> = lines
            .filter_map(|line| line.split_once(':'))
            .map(|(k, v)| (k.trim().to_owned(), v.trim().to_owned()))
            .collect();
        let len: usize = headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case("content-length"))
            .map_or(0, |(_, v)| v.parse().expect("content-length"));
        while pending.len() < head_end + len {
            read_more(stream, pending).await;
        }
        let body = pending[head_end..head_end + len].to_vec();
        pending.drain(..head_end + len);
        Reply { status, headers, body }
    })
    .await
    .expect("response in time")
}

async fn read_more<S: AsyncRead + Unpin>(stream: &mut S, pending: &mut Vec<u8>) {
    let mut chunk = [0u8; 4096];
    let n = stream.read(&mut chunk).await.expect("read");
    assert!(n > 0, "connection closed early");
    pending.extend_from_slice(&chunk[..n]);
}

fn get(path: &str) -> String {
    format!("GET {path} HTTP/1.1\r\nHost: localhost\r\n\r\n")
}

#[tokio::test]
async fn keep_alive_requests_share_one_connection() {
    let target = start(Protocol::Http).await;
    let mut stream = TcpStream::connect(target.addr()).await.expect("connect");
    let mut pending = Vec::new();

    let first = exchange(&mut stream, &mut pending, &get("/")).await;
    assert_eq!(first.status, 200);
    assert_eq!(first.body, b"hello from the vespid demo target\n");
    assert!(first.header("content-type").is_some_and(|ct| ct.starts_with("text/plain")));
    let second = exchange(&mut stream, &mut pending, &get("/nope?x=1")).await;
    assert_eq!(second.status, 404);

    let stats = target.stats();
    assert_eq!(stats.requests, 2);
    assert_eq!(stats.connections, 1);
    assert_eq!(stats.tls_handshakes, 0);
    assert_eq!(target.path_count("/"), 1);
    assert_eq!(target.path_count("/nope"), 1);
    assert_eq!(target.ca_pem(), None);
    assert_eq!(target.base_url(), format!("http://127.0.0.1:{}", target.addr().port()));
    target.shutdown().await;
}

#[tokio::test]
async fn stats_route_reports_the_counters_without_counting_itself() {
    let target = start(Protocol::Http).await;
    let mut stream = TcpStream::connect(target.addr()).await.expect("connect");
    let mut pending = Vec::new();
    exchange(&mut stream, &mut pending, &get("/")).await;
    exchange(&mut stream, &mut pending, &get("/nope?x=1")).await;
    exchange(&mut stream, &mut pending, &get("/")).await;

    for _ in 0..2 {
        let reply = exchange(&mut stream, &mut pending, &get("/__stats")).await;
        assert_eq!(reply.status, 200);
        assert_eq!(reply.header("content-type"), Some("application/json"));
        let json: serde_json::Value = serde_json::from_slice(&reply.body).expect("json");
        assert_eq!(json["requests"], 3);
        assert_eq!(json["connections"], 1);
        assert_eq!(json["paths"], serde_json::json!({ "/": 2, "/nope": 1 }));
    }
    assert_eq!(target.stats().requests, 3);
    assert_eq!(target.path_count("/__stats"), 0);
    target.shutdown().await;
}

#[tokio::test]
async fn login_sets_a_session_that_me_accepts() {
    let target = start(Protocol::Http).await;
    let mut stream = TcpStream::connect(target.addr()).await.expect("connect");
    let mut pending = Vec::new();

    let body = r#"{"user":"ada"}"#;
    let login = format!(
        "POST /login HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    );
    let reply = exchange(&mut stream, &mut pending, &login).await;
    assert_eq!(reply.status, 200);
    let json: serde_json::Value = serde_json::from_slice(&reply.body).expect("json");
    assert_eq!(json["user"], "ada");
    let token = json["token"].as_str().expect("token").to_owned();
    let cookie = reply.header("set-cookie").expect("set-cookie").to_owned();
    assert!(cookie.ends_with("; Path=/; HttpOnly"), "{cookie}");
    let session = cookie.split(';').next().expect("pair").to_owned();

    let me = format!("GET /me HTTP/1.1\r\nHost: localhost\r\nCookie: other=1; {session}\r\n\r\n");
    let reply = exchange(&mut stream, &mut pending, &me).await;
    assert_eq!(reply.status, 200);
    assert_eq!(reply.body, br#"{"user":"ada"}"#);

    let reply = exchange(&mut stream, &mut pending, &get("/me")).await;
    assert_eq!(reply.status, 401);
    assert_eq!(target.stats().me_without_session, 1);

    let orders = format!("GET /orders HTTP/1.1\r\nHost: localhost\r\nAuthorization: Bearer {token}\r\n\r\n");
    let reply = exchange(&mut stream, &mut pending, &orders).await;
    assert_eq!(reply.status, 200);
    let json: serde_json::Value = serde_json::from_slice(&reply.body).expect("json");
    assert_eq!(json["orders"][1]["id"], 2);
    assert_eq!(exchange(&mut stream, &mut pending, &get("/orders")).await.status, 401);

    let form = "POST /login HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: 10\r\n\r\nuser=b%20c";
    let reply = exchange(&mut stream, &mut pending, form).await;
    assert_eq!(reply.status, 200);
    let json: serde_json::Value = serde_json::from_slice(&reply.body).expect("json");
    assert_eq!(json["user"], "b c");
    let empty = "POST /login HTTP/1.1\r\nHost: localhost\r\nContent-Length: 2\r\n\r\n{}";
    assert_eq!(exchange(&mut stream, &mut pending, empty).await.status, 400);

    assert_eq!(target.stats().connections, 1);
    target.shutdown().await;
}

#[tokio::test]
async fn redirects_statuses_and_bytes() {
    let target = start(Protocol::Http).await;
    let mut stream = TcpStream::connect(target.addr()).await.expect("connect");
    let mut pending = Vec::new();

    let reply = exchange(&mut stream, &mut pending, &get("/redirect/2")).await;
    assert_eq!(reply.status, 302);
    assert_eq!(reply.header("location"), Some("/redirect/1"));
    let reply = exchange(&mut stream, &mut pending, &get("/redirect/0")).await;
    assert_eq!((reply.status, reply.body.as_slice()), (200, &b"done"[..]));
    let reply = exchange(&mut stream, &mut pending, &get("/redirect-loop")).await;
    assert_eq!(reply.header("location"), Some("/redirect-loop"));

    let reply = exchange(&mut stream, &mut pending, &get("/status/503")).await;
    assert_eq!(reply.status, 503);
    assert!(reply.body.is_empty());
    assert_eq!(exchange(&mut stream, &mut pending, &get("/status/600")).await.status, 400);

    let reply = exchange(&mut stream, &mut pending, &get("/bytes/1000")).await;
    assert_eq!(reply.body.len(), 1000);
    assert_eq!(exchange(&mut stream, &mut pending, &get("/delay/1")).await.status, 200);
    let reply = exchange(&mut stream, &mut pending, &get("/json")).await;
    assert_eq!(reply.body, br#"{"id":1,"name":"vespid","items":[1,2,3]}"#);
    assert_eq!(reply.header("content-type"), Some("application/json"));

    assert_eq!(target.path_count("/redirect/2"), 1);
    assert_eq!(target.path_count("/redirect/1"), 0);
    assert_eq!(target.stats().connections, 1);
    target.shutdown().await;
}

#[tokio::test]
async fn https_with_the_generated_ca() {
    let target = start(Protocol::Https).await;
    assert_eq!(target.base_url(), format!("https://localhost:{}", target.addr().port()));
    let pem = target.ca_pem().expect("ca pem");
    let mut roots = rustls::RootCertStore::empty();
    for cert in rustls_pemfile::certs(&mut pem.as_bytes()) {
        roots.add(cert.expect("pem")).expect("add root");
    }
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .expect("versions")
        .with_root_certificates(roots)
        .with_no_client_auth();
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    let connector = tokio_rustls::TlsConnector::from(Arc::new(config));
    let tcp = TcpStream::connect(target.addr()).await.expect("connect");
    let name = rustls::pki_types::ServerName::try_from("localhost").expect("name");
    let mut tls =
        tokio::time::timeout(WAIT, connector.connect(name, tcp)).await.expect("handshake in time").expect("handshake");
    assert_eq!(tls.get_ref().1.alpn_protocol(), Some(&b"http/1.1"[..]));

    let mut pending = Vec::new();
    let reply = exchange(&mut tls, &mut pending, &get("/")).await;
    assert_eq!(reply.status, 200);
    assert_eq!(reply.body, b"hello from the vespid demo target\n");
    let stats = target.stats();
    assert_eq!((stats.tls_handshakes, stats.connections, stats.requests), (1, 1, 1));
    target.shutdown().await;
}

#[tokio::test]
async fn shutdown_stops_accepting() {
    let target = start(Protocol::Http).await;
    let addr = target.addr();
    target.shutdown().await;
    assert!(TcpStream::connect(addr).await.is_err());
}
