//! The WIT `http` interface: requests as a browser's user makes them. Each
//! VU owns its kept-alive connections and its cookie jar; redirects are
//! followed here, each hop recorded as a request of its own in k6's
//! metrics. The socket work is in `client`, TLS set-up in `tls`, name
//! resolution in `dns`. Nothing here is shared between VUs but read-only
//! run state ([`HttpShared`]).

mod client;
mod dns;
mod tls;

use std::path::PathBuf;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::Bytes;
use cookie_store::CookieStore;
use http::header::{self, HeaderName, HeaderValue};
use http_body_util::Full;
use url::{Position, Url};

use self::client::{Conn, Exchange, Failure, Origin, Phases, Pool};
use self::dns::DnsCache;
use super::VuState;
use crate::bindings::http::{Error as HttpError, Host, Method, Request, Response, StatusRange, Timings};
use crate::metrics::{Recorder, Sample, TagCache, TagSet, names};

/// Run-wide HTTP defaults, from the command line.
#[derive(Debug, Clone)]
pub struct HttpOptions {
    /// Per-hop timeout unless a request sets its own.
    pub timeout: Duration,
    /// Redirects followed unless a request sets its own limit.
    pub max_redirects: u32,
    /// Accept any server certificate.
    pub insecure_skip_tls_verify: bool,
    /// Extra trusted CA certificates (PEM).
    pub ca_file: Option<PathBuf>,
    /// `User-Agent` unless a request sets one.
    pub user_agent: String,
}

impl Default for HttpOptions {
    fn default() -> Self {
        HttpOptions {
            timeout: Duration::from_secs(60),
            max_redirects: 10,
            insecure_skip_tls_verify: false,
            ca_file: None,
            user_agent: format!("vespid/{}", env!("CARGO_PKG_VERSION")),
        }
    }
}

/// Why the HTTP capability cannot be set up for a run.
#[derive(Debug, thiserror::Error)]
pub enum HttpSetupError {
    #[error("cannot use CA file {path:?}: {reason}")]
    CaFile { path: PathBuf, reason: String },
    #[error("cannot set up TLS: {0}")]
    Tls(String),
    #[error("--user-agent {0:?} is not a valid header value")]
    UserAgent(String),
}

/// Read-only HTTP state shared by all VUs of a run.
pub struct HttpShared {
    tls: Arc<rustls::ClientConfig>,
    dns: DnsCache,
    user_agent: HeaderValue,
    options: HttpOptions,
}

impl HttpShared {
    pub fn new(options: HttpOptions) -> Result<Self, HttpSetupError> {
        let tls = tls::client_config(options.ca_file.as_deref(), options.insecure_skip_tls_verify)?;
        let user_agent = HeaderValue::from_str(&options.user_agent)
            .map_err(|_| HttpSetupError::UserAgent(options.user_agent.clone()))?;
        Ok(HttpShared { tls, dns: DnsCache::default(), user_agent, options })
    }
}

/// One VU's HTTP state: its connections and its cookie jar. The mutexes are
/// this VU's own (so `batch` can run requests concurrently); no other VU
/// ever takes them.
pub struct HttpCtx(Arc<VuHttp>);

struct VuHttp {
    shared: Arc<HttpShared>,
    recorder: Recorder,
    pool: Mutex<Pool>,
    jar: Mutex<CookieStore>,
    tags: Mutex<TagCache<TagKey>>,
    /// The last URL parsed, since a VU mostly repeats its requests.
    last_target: Mutex<Option<(String, Arc<Target>)>>,
}

/// A URL parsed once, with the parts every request to it needs.
struct Target {
    url: Url,
    origin: Origin,
    /// The request target in origin form: path and query.
    path: http::Uri,
    host: HeaderValue,
}

impl Target {
    fn new(url: Url) -> Result<Arc<Target>, HttpError> {
        let origin = Origin::of(&url)?;
        let path = url[Position::BeforePath..Position::AfterQuery]
            .parse()
            .map_err(|err| HttpError::InvalidUrl(format!("{url}: {err}")))?;
        let host = header_value(&url[Position::BeforeHost..Position::AfterPort])?;
        Ok(Arc::new(Target { url, origin, path, host }))
    }
}

/// What an HTTP request's tag set is made of.
struct TagKey {
    method: http::Method,
    name: String,
    status: u16,
    expected: bool,
    extra: Vec<(String, String)>,
}

impl HttpCtx {
    pub fn new(shared: Arc<HttpShared>, recorder: Recorder) -> Self {
        HttpCtx(Arc::new(VuHttp {
            shared,
            recorder,
            pool: Mutex::default(),
            jar: Mutex::default(),
            tags: Mutex::default(),
            last_target: Mutex::default(),
        }))
    }

    /// Sends on a task of its own, boxed before it moves: the exchange's deep
    /// poll stack then runs on a worker thread's stack, not on the VU's fiber
    /// stack, whose touched pages stay resident while the VU lives (measured
    /// 40 KiB per VU on the fiber, 8 KiB off it).
    async fn spawn_send(&self, request: Request) -> Result<Response, HttpError> {
        let vu = self.0.clone();
        let exchange: Pin<Box<dyn Future<Output = _> + Send>> = Box::pin(async move { vu.send(request).await });
        tokio::spawn(exchange).await.unwrap_or_else(|err| Err(HttpError::Other(format!("request task failed: {err}"))))
    }
}

impl VuHttp {
    /// Sends a request, following redirects, recording every hop.
    async fn send(&self, request: Request) -> Result<Response, HttpError> {
        let mut target = self.target(&request.url)?;
        let mut method = method(&request.method)?;
        let mut body = Bytes::from(request.body);
        let headers = header_map(&request.headers)?;
        let timeout = request.timeout_ms.map_or(self.shared.options.timeout, |ms| Duration::from_millis(ms.into()));
        let max_redirects = request.max_redirects.unwrap_or(self.shared.options.max_redirects);
        let mut redirects = 0;
        loop {
            let origin = &target.origin;
            let build = || self.build(&method, &target, &headers, body.clone());
            let outgoing = build()?;
            let kept = self.pool().take(origin);
            let mut returned: Option<Conn> = None;
            let exchange =
                client::exchange(&self.shared, origin, kept, outgoing, build, request.discard_body, &mut returned);
            let result = tokio::time::timeout(timeout, exchange)
                .await
                .unwrap_or_else(|_| Err(Failure::without_bytes(HttpError::Timeout)));
            if let Some(conn) = returned {
                self.pool().put(origin, conn);
            }
            let url = &target.url;
            let name = request.name.as_deref().unwrap_or(&url[..Position::AfterPath]);
            let exchange = match result {
                Ok(exchange) => exchange,
                Err(failure) => {
                    self.record_failure(&method, name, &request.tags, &failure);
                    return Err(failure.error);
                }
            };
            let timings = timings(&exchange.phases);
            self.record(&method, name, &request.tags, &request.expected_statuses, &exchange, &timings);
            self.store_cookies(url, exchange.response.headers());

            let status = exchange.response.status();
            let location = exchange.response.headers().get(header::LOCATION).and_then(|l| l.to_str().ok());
            match location {
                Some(location) if status.is_redirection() && max_redirects > 0 => {
                    if redirects == max_redirects {
                        return Err(HttpError::TooManyRedirects(max_redirects));
                    }
                    redirects += 1;
                    let next = url
                        .join(location)
                        .map_err(|err| HttpError::InvalidUrl(format!("redirect to {location:?}: {err}")))?;
                    // 303, and 301/302 after a POST, continue as a GET without body (as browsers do).
                    if status == http::StatusCode::SEE_OTHER
                        || (method == http::Method::POST && matches!(status.as_u16(), 301 | 302))
                    {
                        method = http::Method::GET;
                        body = Bytes::new();
                    }
                    target = Target::new(next)?;
                }
                _ => return Ok(response(url.clone(), exchange, timings)),
            }
        }
    }

    /// The parsed target of `text`, from the cache when this VU just used it.
    fn target(&self, text: &str) -> Result<Arc<Target>, HttpError> {
        let mut last = self.last_target.lock().unwrap_or_else(|e| e.into_inner());
        if let Some((cached, target)) = last.as_ref()
            && cached == text
        {
            return Ok(target.clone());
        }
        let url = Url::parse(text).map_err(|err| HttpError::InvalidUrl(format!("{text:?}: {err}")))?;
        let target = Target::new(url)?;
        *last = Some((text.to_string(), target.clone()));
        Ok(target)
    }

    fn build(
        &self,
        method: &http::Method,
        target: &Target,
        headers: &http::HeaderMap,
        body: Bytes,
    ) -> Result<http::Request<Full<Bytes>>, HttpError> {
        let body_len = body.len();
        let mut request = http::Request::new(Full::new(body));
        *request.method_mut() = method.clone();
        *request.uri_mut() = target.path.clone();
        let request_headers = request.headers_mut();
        request_headers.insert(header::HOST, target.host.clone());
        request_headers.insert(header::USER_AGENT, self.shared.user_agent.clone());
        let cookies = {
            let jar = self.jar.lock().unwrap_or_else(|e| e.into_inner());
            jar.get_request_values(&target.url).map(|(n, v)| format!("{n}={v}")).collect::<Vec<_>>().join("; ")
        };
        if !cookies.is_empty() {
            request_headers.insert(header::COOKIE, header_value(&cookies)?);
        }
        for (name, value) in headers {
            request_headers.insert(name, value.clone());
        }
        if body_len > 0 || matches!(*method, http::Method::POST | http::Method::PUT | http::Method::PATCH) {
            request_headers.insert(header::CONTENT_LENGTH, HeaderValue::from(body_len));
        }
        Ok(request)
    }

    fn store_cookies(&self, url: &Url, headers: &http::HeaderMap) {
        let mut set_cookies = headers.get_all(header::SET_COOKIE).iter().filter_map(|v| v.to_str().ok()).peekable();
        if set_cookies.peek().is_some() {
            let mut jar = self.jar.lock().unwrap_or_else(|e| e.into_inner());
            for value in set_cookies {
                let _ = jar.parse(value, url);
            }
        }
    }

    fn pool(&self) -> std::sync::MutexGuard<'_, Pool> {
        self.pool.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn record(
        &self,
        method: &http::Method,
        name: &str,
        tags: &[(String, String)],
        expected: &[StatusRange],
        exchange: &Exchange,
        t: &Timings,
    ) {
        let status = exchange.response.status().as_u16();
        let failed = !is_expected(status, expected);
        let tags = self.tags(method, name, status, !failed, tags);
        self.recorder.record(
            &tags,
            &[
                Sample::new(names::HTTP_REQS, 1.0),
                Sample::new(names::HTTP_REQ_DURATION, t.duration),
                Sample::new(names::HTTP_REQ_BLOCKED, t.blocked),
                Sample::new(names::HTTP_REQ_SENDING, t.sending),
                Sample::new(names::HTTP_REQ_WAITING, t.waiting),
                Sample::new(names::HTTP_REQ_RECEIVING, t.receiving),
                Sample::flag(names::HTTP_REQ_FAILED, failed),
                Sample::new(names::DATA_SENT, exchange.bytes_sent as f64),
                Sample::new(names::DATA_RECEIVED, exchange.bytes_received as f64),
            ],
        );
        // Connection phases are sampled once per new connection, so their
        // percentiles describe connections rather than a mass of zeros.
        if exchange.new_connection {
            let connecting = Sample::new(names::HTTP_REQ_CONNECTING, t.connecting);
            let handshaking = Sample::new(names::HTTP_REQ_TLS_HANDSHAKING, t.tls_handshaking);
            let with_tls = [connecting, handshaking];
            let tls_used = exchange.phases.tls_handshaking > Duration::ZERO;
            self.recorder.record(&tags, if tls_used { &with_tls } else { &with_tls[..1] });
        }
    }

    /// A request without a response: counted and failed, status 0 (as k6);
    /// no timings, since no phase completed.
    fn record_failure(&self, method: &http::Method, name: &str, tags: &[(String, String)], failure: &Failure) {
        let tags = self.tags(method, name, 0, false, tags);
        self.recorder.record(
            &tags,
            &[
                Sample::new(names::HTTP_REQS, 1.0),
                Sample::flag(names::HTTP_REQ_FAILED, true),
                Sample::new(names::DATA_SENT, failure.bytes_sent as f64),
                Sample::new(names::DATA_RECEIVED, failure.bytes_received as f64),
            ],
        );
    }

    /// The tag set of a request's metrics, from this VU's cache when it
    /// made the same request before. `expected` is k6's `expected_response`
    /// (the status is one of the request's expected statuses).
    fn tags(
        &self,
        method: &http::Method,
        name: &str,
        status: u16,
        expected: bool,
        extra: &[(String, String)],
    ) -> TagSet {
        let mut cache = self.tags.lock().unwrap_or_else(|e| e.into_inner());
        cache.get(
            |k| {
                k.status == status
                    && k.expected == expected
                    && k.method == *method
                    && k.name == name
                    && k.extra == extra
            },
            || {
                let status_text = status.to_string();
                let builtin = [
                    ("method", method.as_str()),
                    ("name", name),
                    ("status", &status_text),
                    ("expected_response", if expected { "true" } else { "false" }),
                ];
                let pairs = builtin.into_iter().chain(extra.iter().map(|(k, v)| (k.as_str(), v.as_str())));
                let key =
                    TagKey { method: method.clone(), name: name.to_string(), status, expected, extra: extra.to_vec() };
                (key, self.recorder.tags(pairs))
            },
        )
    }
}

/// Default expected statuses: 200..=399.
fn is_expected(status: u16, expected: &[StatusRange]) -> bool {
    if expected.is_empty() {
        (200..=399).contains(&status)
    } else {
        expected.iter().any(|r| (r.min..=r.max).contains(&status))
    }
}

fn method(method: &Method) -> Result<http::Method, HttpError> {
    Ok(match method {
        Method::Get => http::Method::GET,
        Method::Head => http::Method::HEAD,
        Method::Post => http::Method::POST,
        Method::Put => http::Method::PUT,
        Method::Patch => http::Method::PATCH,
        Method::Delete => http::Method::DELETE,
        Method::Options => http::Method::OPTIONS,
        Method::Other(token) => http::Method::from_bytes(token.as_bytes())
            .map_err(|_| HttpError::InvalidUrl(format!("invalid method {token:?}")))?,
    })
}

fn header_map(pairs: &[(String, String)]) -> Result<http::HeaderMap, HttpError> {
    let mut map = http::HeaderMap::with_capacity(pairs.len());
    for (name, value) in pairs {
        let name = HeaderName::from_bytes(name.as_bytes())
            .map_err(|_| HttpError::InvalidUrl(format!("invalid header name {name:?}")))?;
        map.append(name, header_value(value)?);
    }
    Ok(map)
}

fn header_value(value: &str) -> Result<HeaderValue, HttpError> {
    HeaderValue::from_str(value).map_err(|_| HttpError::InvalidUrl(format!("invalid header value {value:?}")))
}

fn response(url: Url, exchange: Exchange, timings: Timings) -> Response {
    let (parts, body) = exchange.response.into_parts();
    let headers = parts
        .headers
        .iter()
        .map(|(k, v)| (k.as_str().to_string(), String::from_utf8_lossy(v.as_bytes()).into_owned()))
        .collect();
    Response { status: parts.status.as_u16(), headers, body: body.into(), url: url.into(), timings }
}

fn timings(p: &Phases) -> Timings {
    let ms = |d: Duration| d.as_secs_f64() * 1000.0;
    Timings {
        blocked: ms(p.blocked),
        connecting: ms(p.connecting),
        tls_handshaking: ms(p.tls_handshaking),
        sending: ms(p.sending),
        waiting: ms(p.waiting),
        receiving: ms(p.receiving),
        duration: ms(p.sending + p.waiting + p.receiving),
    }
}

impl Host for VuState {
    async fn send(&mut self, request: Request) -> wasmtime::Result<Result<Response, HttpError>> {
        self.clock.pause();
        let response = self.http.spawn_send(request).await;
        self.clock.resume();
        Ok(response)
    }

    async fn batch(&mut self, requests: Vec<Request>) -> wasmtime::Result<Vec<Result<Response, HttpError>>> {
        self.clock.pause();
        let http = &self.http;
        let responses = futures_util::future::join_all(requests.into_iter().map(|r| http.spawn_send(r))).await;
        self.clock.resume();
        Ok(responses)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn expected_statuses_default_to_2xx_and_3xx() {
        assert!(is_expected(200, &[]) && is_expected(302, &[]));
        assert!(!is_expected(404, &[]) && !is_expected(500, &[]) && !is_expected(101, &[]));
        let only_404 = [StatusRange { min: 404, max: 404 }];
        assert!(is_expected(404, &only_404) && !is_expected(200, &only_404));
    }
}
