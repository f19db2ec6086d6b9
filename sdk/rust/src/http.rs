//! HTTP requests through the host's `http` interface: a request builder,
//! the response, and the typed transport error. The host measures; this
//! module only shapes values.

use std::fmt;
use std::time::Duration;

use crate::bindings::vespid::scenario::http as wit;

pub use wit::{Method, StatusRange, Timings};

/// A response, after any redirects.
#[derive(Debug, Clone)]
pub struct Response {
    /// HTTP status code.
    pub status: u16,
    /// Header fields in order.
    pub headers: Vec<(String, String)>,
    /// Body bytes (empty when the request discarded it).
    pub body: Vec<u8>,
    /// Final URL after redirects.
    pub url: String,
    /// k6's phases of the last hop, in milliseconds.
    pub timings: Timings,
}

impl Response {
    /// The first value of header `name` (case-insensitive).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(k, _)| k.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_str())
    }

    /// The body as text (lossy UTF-8).
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }

    /// The body parsed as JSON.
    #[cfg(feature = "json")]
    pub fn json<T: serde::de::DeserializeOwned>(&self) -> Result<T, serde_json::Error> {
        serde_json::from_slice(&self.body)
    }
}

impl From<wit::Response> for Response {
    fn from(r: wit::Response) -> Self {
        Response { status: r.status, headers: r.headers, body: r.body, url: r.url, timings: r.timings }
    }
}

/// Why a request got no response (the host's typed transport errors).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Error {
    /// The request did not complete within its timeout.
    Timeout,
    /// The server refused the connection; the address tried.
    ConnectionRefused(String),
    /// The connection was reset or closed mid-request.
    ConnectionReset(String),
    /// The host name could not be resolved.
    Dns(String),
    /// The TLS handshake failed, e.g. an unknown issuer.
    Tls(String),
    /// The URL, method or a header could not be used.
    InvalidUrl(String),
    /// More redirects than allowed; the limit.
    TooManyRedirects(u32),
    /// Any other transport failure.
    Other(String),
    /// The run does not grant the request's origin, or a redirect's;
    /// nothing was sent.
    Denied(crate::Denial),
}

impl From<wit::Error> for Error {
    fn from(err: wit::Error) -> Self {
        match err {
            wit::Error::Timeout => Error::Timeout,
            wit::Error::ConnectionRefused(s) => Error::ConnectionRefused(s),
            wit::Error::ConnectionReset(s) => Error::ConnectionReset(s),
            wit::Error::Dns(s) => Error::Dns(s),
            wit::Error::Tls(s) => Error::Tls(s),
            wit::Error::InvalidUrl(s) => Error::InvalidUrl(s),
            wit::Error::TooManyRedirects(n) => Error::TooManyRedirects(n),
            wit::Error::Other(s) => Error::Other(s),
            wit::Error::Denied(denial) => Error::Denied(denial.into()),
        }
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::Timeout => write!(f, "request timed out"),
            Error::ConnectionRefused(addr) => write!(f, "connection refused by {addr}"),
            Error::ConnectionReset(why) => write!(f, "connection reset: {why}"),
            Error::Dns(why) => write!(f, "DNS lookup failed: {why}"),
            Error::Tls(why) => write!(f, "TLS failed: {why}"),
            Error::InvalidUrl(why) => write!(f, "invalid request: {why}"),
            Error::TooManyRedirects(limit) => write!(f, "too many redirects (limit {limit})"),
            Error::Other(why) => write!(f, "request failed: {why}"),
            Error::Denied(denial) => denial.fmt(f),
        }
    }
}

impl std::error::Error for Error {}

/// Builds one request; finish with [`send`](RequestBuilder::send).
#[derive(Debug, Clone)]
#[must_use = "a request does nothing until it is sent"]
pub struct RequestBuilder(wit::Request);

/// Starts a request with any method.
pub fn request(method: Method, url: impl Into<String>) -> RequestBuilder {
    RequestBuilder(wit::Request {
        method,
        url: url.into(),
        headers: Vec::new(),
        body: Vec::new(),
        name: None,
        tags: Vec::new(),
        timeout_ms: None,
        max_redirects: None,
        expected_statuses: Vec::new(),
        discard_body: false,
    })
}

/// Starts a GET request.
pub fn get(url: impl Into<String>) -> RequestBuilder {
    request(Method::Get, url)
}

/// Starts a POST request.
pub fn post(url: impl Into<String>) -> RequestBuilder {
    request(Method::Post, url)
}

/// Starts a PUT request.
pub fn put(url: impl Into<String>) -> RequestBuilder {
    request(Method::Put, url)
}

/// Starts a DELETE request.
pub fn delete(url: impl Into<String>) -> RequestBuilder {
    request(Method::Delete, url)
}

impl RequestBuilder {
    /// Adds a header field.
    pub fn header(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        self.0.headers.push((name.into(), value.into()));
        self
    }

    /// Sets the body.
    pub fn body(mut self, body: impl Into<Vec<u8>>) -> Self {
        self.0.body = body.into();
        self
    }

    /// Sets a JSON body and its content type.
    #[cfg(feature = "json")]
    pub fn json<T: serde::Serialize + ?Sized>(self, value: &T) -> Self {
        let body = serde_json::to_vec(value).expect("a serde value always serialises to JSON");
        self.header("content-type", "application/json").body(body)
    }

    /// Sets the `name` tag (default: the URL without its query string).
    pub fn name(mut self, name: impl Into<String>) -> Self {
        self.0.name = Some(name.into());
        self
    }

    /// Adds a metric tag.
    pub fn tag(mut self, key: impl Into<String>, value: impl Into<String>) -> Self {
        self.0.tags.push((key.into(), value.into()));
        self
    }

    /// Sets the timeout of each hop (rounded up to whole milliseconds; the
    /// host refuses a zero timeout, which would fail before sending).
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.0.timeout_ms = Some(timeout.as_micros().div_ceil(1000).min(u32::MAX as u128) as u32);
        self
    }

    /// Sets how many redirects to follow (0: none).
    pub fn max_redirects(mut self, max: u32) -> Self {
        self.0.max_redirects = Some(max);
        self
    }

    /// Counts statuses `min..=max` as expected for `http_req_failed`
    /// (default 200..=399). Call again to add more ranges.
    pub fn expect_status(mut self, min: u16, max: u16) -> Self {
        self.0.expected_statuses.push(StatusRange { min, max });
        self
    }

    /// Reads the body on the host without copying it into the plugin.
    pub fn discard_body(mut self) -> Self {
        self.0.discard_body = true;
        self
    }

    /// Sends the request and waits for the response.
    pub fn send(self) -> Result<Response, Error> {
        wit::send(&self.0).map(Response::from).map_err(Error::from)
    }

    /// Sends the request, leaving to the plugin whether its answer failed
    /// (Locust's `catch_response`): its metrics wait for the [`Verdict`]'s
    /// `pass` or `fail`, or for the end of the iteration, which judges it
    /// by its status. (Since WIT 0.1.2.)
    pub fn send_unsettled(self) -> Result<(Response, Verdict), Error> {
        wit::send_unsettled(&self.0).map(|(response, id)| (Response::from(response), Verdict(id))).map_err(Error::from)
    }
}

/// The verdict still to give on an answer of [`RequestBuilder::send_unsettled`].
#[must_use = "an answer never judged is judged by its status when the iteration ends"]
pub struct Verdict(u32);

impl Verdict {
    /// Records the answer as succeeded, whatever its status.
    pub fn pass(self) {
        wit::settle(self.0, false);
    }

    /// Records the answer as failed (`http_req_failed`), whatever its status.
    pub fn fail(self) {
        wit::settle(self.0, true);
    }
}

/// Sends several requests concurrently and returns their results in order.
pub fn batch(requests: Vec<RequestBuilder>) -> Vec<Result<Response, Error>> {
    let requests: Vec<wit::Request> = requests.into_iter().map(|r| r.0).collect();
    wit::batch(&requests).into_iter().map(|r| r.map(Response::from).map_err(Error::from)).collect()
}

/// The cookies this VU's jar would send to `url`, as (name, value) pairs.
/// (Since WIT 0.1.1.)
pub fn cookies_for(url: &str) -> Vec<(String, String)> {
    wit::cookies_for(url)
}

/// Stores a cookie in this VU's jar as if the response from `url` had
/// carried `Set-Cookie: <set_cookie>`; the error says why it was refused.
pub fn set_cookie(url: &str, set_cookie: &str) -> Result<(), String> {
    wit::set_cookie(url, set_cookie)
}

/// Removes from this VU's jar the cookie `name` (or every cookie) that
/// would be sent to `url`.
pub fn clear_cookies(url: &str, name: Option<&str>) {
    wit::clear_cookies(url, name);
}
