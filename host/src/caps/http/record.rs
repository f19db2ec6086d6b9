//! k6's HTTP metrics of one attempt of one hop: its samples and its tag set,
//! from this VU's cache. A failed request without a response has status 0
//! and an `error` tag from a fixed vocabulary (the WIT error case in
//! kebab-case, or `interrupted`), never a message: tags must stay few.

use std::time::Duration;

use super::VuHttp;
use super::client::Exchange;
use crate::bindings::http::{Error as HttpError, StatusRange, Timings};
use crate::metrics::{Sample, TagSet, names};

/// The `error` tag of a request the VU stopped waiting for after some of it
/// was written.
pub const INTERRUPTED: &str = "interrupted";

/// What names a request in its metrics.
pub struct Label<'a> {
    pub method: &'a http::Method,
    /// The guest's `name`, or the URL without its query string.
    pub name: &'a str,
    /// The guest's own tags.
    pub tags: &'a [(String, String)],
}

/// What an HTTP request's tag set is made of.
pub struct TagKey {
    method: http::Method,
    name: String,
    status: u16,
    expected: bool,
    error: Option<&'static str>,
    extra: Vec<(String, String)>,
}

/// The `error` tag of a failed request: the WIT case's name.
pub fn error_tag(error: &HttpError) -> &'static str {
    match error {
        HttpError::Timeout => "timeout",
        HttpError::ConnectionRefused(_) => "connection-refused",
        HttpError::ConnectionReset(_) => "connection-reset",
        HttpError::Dns(_) => "dns",
        HttpError::Tls(_) => "tls",
        HttpError::InvalidUrl(_) => "invalid-url",
        HttpError::TooManyRedirects(_) => "too-many-redirects",
        HttpError::Other(_) => "other",
        HttpError::Denied(_) => "denied",
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

/// An answered attempt's metrics before its verdict: all but whether it
/// failed, which its status decides unless the plugin does
/// (`send-unsettled`).
pub struct Answered {
    pub status: u16,
    pub timings: Timings,
    /// Bytes (sent, received) that crossed the wire for it.
    pub bytes: (u64, u64),
    pub new_connection: bool,
    pub tls_used: bool,
}

impl Answered {
    pub fn new(exchange: &Exchange, timings: Timings, bytes: (u64, u64), new_connection: bool) -> Self {
        Answered {
            status: exchange.response.status().as_u16(),
            timings,
            bytes,
            new_connection,
            tls_used: exchange.phases.tls_handshaking > Duration::ZERO,
        }
    }

    /// Whether it failed by the request's expected statuses.
    pub fn failed_by_status(&self, expected: &[StatusRange]) -> bool {
        !is_expected(self.status, expected)
    }
}

impl VuHttp {
    /// An answered attempt, failed or not.
    pub(super) fn record(&self, label: &Label, answer: &Answered, failed: bool) {
        let t = &answer.timings;
        let tags = self.tags(label, answer.status, !failed, None);
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
                Sample::new(names::DATA_SENT, answer.bytes.0 as f64),
                Sample::new(names::DATA_RECEIVED, answer.bytes.1 as f64),
            ],
        );
        // Connection phases are sampled once per new connection, so their
        // percentiles describe connections rather than a mass of zeros.
        if answer.new_connection {
            let connecting = Sample::new(names::HTTP_REQ_CONNECTING, t.connecting);
            let handshaking = Sample::new(names::HTTP_REQ_TLS_HANDSHAKING, t.tls_handshaking);
            let with_tls = [connecting, handshaking];
            self.recorder.record(&tags, if answer.tls_used { &with_tls } else { &with_tls[..1] });
        }
    }

    /// A request without a response: counted and failed, status 0 (as k6),
    /// tagged with why; no timings, since no phase completed.
    pub(super) fn record_failure(&self, label: &Label, error: &'static str, bytes: (u64, u64)) {
        let tags = self.tags(label, 0, false, Some(error));
        self.recorder.record(
            &tags,
            &[
                Sample::new(names::HTTP_REQS, 1.0),
                Sample::flag(names::HTTP_REQ_FAILED, true),
                Sample::new(names::DATA_SENT, bytes.0 as f64),
                Sample::new(names::DATA_RECEIVED, bytes.1 as f64),
            ],
        );
    }

    /// The tag set of a request's metrics, from this VU's cache when it
    /// made the same request before. `expected` is k6's `expected_response`.
    fn tags(&self, label: &Label, status: u16, expected: bool, error: Option<&'static str>) -> TagSet {
        let mut cache = self.tags.lock().unwrap_or_else(|e| e.into_inner());
        cache.get(
            |k| {
                k.status == status
                    && k.expected == expected
                    && k.error == error
                    && k.method == *label.method
                    && k.name == label.name
                    && k.extra == label.tags
            },
            || {
                let status_text = status.to_string();
                let builtin = [
                    ("method", label.method.as_str()),
                    ("name", label.name),
                    ("status", &status_text),
                    (names::EXPECTED_RESPONSE_TAG, if expected { "true" } else { "false" }),
                ];
                let pairs = builtin
                    .into_iter()
                    .chain(error.map(|error| ("error", error)))
                    .chain(label.tags.iter().map(|(k, v)| (k.as_str(), v.as_str())));
                let key = TagKey {
                    method: label.method.clone(),
                    name: label.name.to_string(),
                    status,
                    expected,
                    error,
                    extra: label.tags.to_vec(),
                };
                (key, self.recorder.tags(pairs))
            },
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn expected_statuses_default_to_2xx_and_3xx() {
        assert!(is_expected(200, &[]) && is_expected(302, &[]));
        assert!(!is_expected(404, &[]) && !is_expected(500, &[]) && !is_expected(101, &[]));
        let ranges = [StatusRange { min: 200, max: 299 }, StatusRange { min: 404, max: 404 }];
        assert!(is_expected(404, &ranges) && is_expected(204, &ranges));
        assert!(!is_expected(302, &ranges) && !is_expected(500, &ranges));
    }

    #[test]
    fn error_tags_are_the_wit_case_names() {
        assert_eq!(error_tag(&HttpError::Timeout), "timeout");
        assert_eq!(error_tag(&HttpError::ConnectionReset("x".into())), "connection-reset");
        assert_eq!(error_tag(&HttpError::TooManyRedirects(3)), "too-many-redirects");
        assert_eq!(error_tag(&HttpError::Other("a message".into())), "other");
    }
}
