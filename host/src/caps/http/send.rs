//! One guest request from its first hop to its answer: the VU's cache of
//! the URL it last parsed, redirects (each hop a request of its own in the
//! metrics), each hop's timeout, the one retry of a hop whose kept
//! connection the server closed, the cookies each hop sets, and the
//! response the guest gets.

use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use http_body_util::Full;

use super::VuHttp;
use super::client::{self, Conn, Exchange, Phases, ResponseBody};
use super::debug::{self, HttpDebug, Sender};
use super::headers::{self, header_map, method};
use super::inflight::{InFlight, Sending, interrupted};
use super::io::IoStats;
use super::record::{Answered, Label, error_tag};
use super::redirect::{Hop, location};
use super::target::Target;
use super::unsettled::Verdict;
use crate::bindings::http::{Error as HttpError, Request, Response, Timings};
use crate::caps::grants::Reach;

/// How one attempt of a hop ended, when its task still records it.
#[expect(clippy::large_enum_variant, reason = "moved once per attempt; boxing would allocate per request")]
enum Attempt {
    Answered { exchange: Exchange, conn: Conn, bytes: (u64, u64), new_connection: bool },
    Failed(Failure),
}

/// An attempt without a response.
struct Failure {
    error: HttpError,
    /// Bytes (sent, received) that crossed the wire for it.
    bytes: (u64, u64),
    /// Some of the request reached the socket: the server may have seen it.
    written: bool,
}

impl Failure {
    /// A kept connection the server closed: sending again on a new one
    /// cannot make the server process the request twice when none of it
    /// was written, or when the method is idempotent (as Go's client, k6's,
    /// decides). A response that had begun is never retried.
    fn may_retry(&self, method: &http::Method) -> bool {
        use http::Method;
        let idempotent = matches!(
            *method,
            Method::GET | Method::HEAD | Method::OPTIONS | Method::PUT | Method::DELETE | Method::TRACE
        );
        matches!(self.error, HttpError::ConnectionReset(_)) && self.bytes.1 == 0 && (!self.written || idempotent)
    }
}

impl VuHttp {
    /// Sends a request, following redirects, recording every hop; with
    /// [`Verdict::Plugin`], the final answer waits for the plugin's verdict
    /// under the id returned beside the response.
    pub(super) async fn send(
        &self,
        request: Request,
        inflight: &InFlight,
        verdict: Verdict,
    ) -> Result<(Response, Option<u32>), HttpError> {
        let options = &self.shared.options;
        let mut hop = Hop {
            method: method(&request.method)?,
            target: self.target(&request.url)?,
            headers: header_map(&request.headers)?,
            body: Bytes::from(request.body),
        };
        let timeout = match request.timeout_ms {
            None => options.timeout,
            // It would time out before sending anything.
            Some(0) => return Err(HttpError::InvalidUrl("timeout-ms is 0; give at least 1 ms, or none".into())),
            Some(ms) => Duration::from_millis(ms.into()),
        };
        let max_redirects = request.max_redirects.unwrap_or(options.max_redirects);
        let body = if request.discard_body {
            ResponseBody::Discard
        } else {
            ResponseBody::Keep { max: options.max_response_body }
        };
        let mut redirects = 0;
        loop {
            let deadline = Instant::now() + timeout;
            let (exchange, answered) = self.hop(&hop, deadline, body, inflight).await?;
            let label = label(&hop, inflight);
            let failed = answered.failed_by_status(&request.expected_statuses);
            let (status, headers) = (exchange.response.status(), exchange.response.headers());
            self.store_cookies(&hop.target.url, headers);
            let Some(next) = location(status, headers).filter(|_| max_redirects > 0) else {
                let timings = answered.timings;
                let id = match verdict {
                    Verdict::Status => {
                        self.record(&label, &answered, failed);
                        None
                    }
                    Verdict::Plugin => Some(self.unsettled().wait(&label, answered, failed)),
                };
                // The guest's own string when nothing redirected.
                let url = if redirects == 0 { request.url } else { hop.target.url.to_string() };
                return Ok((response(url, exchange, timings), id));
            };
            self.record(&label, &answered, failed);
            if redirects == max_redirects {
                return Err(HttpError::TooManyRedirects(max_redirects));
            }
            redirects += 1;
            let next = hop
                .target
                .url
                .join(next)
                .map_err(|err| HttpError::InvalidUrl(format!("redirect to {next:?}: {err}")))?;
            hop.follow(status, Target::new(next)?);
        }
    }

    /// One hop: on a kept connection, else a new one, with the one retry
    /// [`Failure::may_retry`] allows. Records every attempt without an
    /// answer that the server may have seen (an abandoned one that was
    /// written, the final failure); the answer is the caller's to record,
    /// with no `.await` before it (see [`InFlight::finish`]).
    async fn hop(
        &self,
        hop: &Hop,
        deadline: Instant,
        body: ResponseBody,
        inflight: &InFlight,
    ) -> Result<(Exchange, Answered), HttpError> {
        let origin = &hop.target.origin;
        // Every hop: a redirect cannot lead anywhere the first could not.
        let reach = self
            .gate
            .http(hop.target.url.as_str(), origin.https, &origin.host, origin.port)
            .map_err(|denial| HttpError::Denied(denial.into()))?;
        let label = label(hop, inflight);
        let kept = self.pool().take(origin);
        let reused = kept.is_some();
        let mut attempt = self.attempt(hop, kept, deadline, body, inflight, &reach).await?;
        if let Attempt::Failed(failure) = &attempt
            && reused
            && failure.may_retry(&hop.method)
        {
            if failure.written {
                self.record_failure(&label, error_tag(&failure.error), failure.bytes);
            }
            attempt = self.attempt(hop, None, deadline, body, inflight, &reach).await?;
        }
        match attempt {
            Attempt::Answered { exchange, conn, bytes, new_connection } => {
                self.pool().put(origin, conn, self.shared.options.batch_per_host as usize);
                let answered = Answered::new(&exchange, timings(&exchange.phases), bytes, new_connection);
                Ok((exchange, answered))
            }
            Attempt::Failed(failure) => {
                self.record_failure(&label, error_tag(&failure.error), failure.bytes);
                Err(failure.error)
            }
        }
    }

    /// One attempt on `kept` or a new connection, within `deadline`.
    /// `Err` when there is nothing for this task to record: the request
    /// could not be built, the addresses of a host granted only by address
    /// ranges lie outside them, or the VU stopped waiting.
    async fn attempt(
        &self,
        hop: &Hop,
        kept: Option<Conn>,
        deadline: Instant,
        body: ResponseBody,
        inflight: &InFlight,
        reach: &Reach,
    ) -> Result<Attempt, HttpError> {
        let start = Instant::now();
        let request = self.build(hop)?;
        // Checked on the very addresses connected to: no DNS rebinding.
        let addrs = match (reach, &kept) {
            (Reach::IfAddressIn(ranges), None) => {
                let origin = &hop.target.origin;
                let lookup = self.shared.dns.resolve(&origin.host, origin.port);
                let all = tokio::time::timeout_at(deadline.into(), lookup)
                    .await
                    .map_err(|_| HttpError::Timeout)?
                    .map_err(HttpError::Dns)?;
                let name = format!("{}://{}:{}", if origin.https { "https" } else { "http" }, origin.host, origin.port);
                Some(self.gate.addresses(&name, ranges, all).map_err(|denial| HttpError::Denied(denial.into()))?)
            }
            _ => None,
        };
        let debug_mode = self.shared.options.debug;
        // Off, this is the only cost: one branch, nothing formatted.
        let debug = (debug_mode != HttpDebug::Off).then(|| {
            let sender = Sender { vu: self.recorder.vu_id(), iteration: inflight.iteration };
            (sender, debug::request(debug_mode, sender, &request, &hop.target.url, &hop.body))
        });
        let new_connection = kept.is_none();
        let io = kept.as_ref().map_or_else(|| Arc::new(IoStats::new()), |conn| conn.io.clone());
        io.begin_request();
        if !inflight.start(Sending { method: hop.method.clone(), target: hop.target.clone(), io: io.clone() }) {
            return Err(interrupted());
        }
        let work = async {
            let (mut conn, phases) = match kept {
                Some(conn) => (conn, Phases::default()),
                None => client::connect_boxed(&self.shared, &self.tls, &hop.target.origin, addrs, io.clone()).await?,
            };
            let exchange = client::send_on(&mut conn, request, body, start, phases).await?;
            Ok((exchange, conn))
        };
        let outcome = tokio::time::timeout_at(deadline.into(), work).await.unwrap_or(Err(HttpError::Timeout));
        if !inflight.finish() {
            return Err(interrupted());
        }
        if let Some((sender, block)) = debug {
            let response = outcome.as_ref().map(|(exchange, _)| &exchange.response);
            debug::finish(block, debug_mode, sender, response, body, start.elapsed());
        }
        let bytes = io.take_bytes();
        Ok(match outcome {
            Ok((exchange, conn)) => Attempt::Answered { exchange, conn, bytes, new_connection },
            Err(error) => Attempt::Failed(Failure { error, bytes, written: io.request_written() }),
        })
    }

    fn build(&self, hop: &Hop) -> Result<http::Request<Full<Bytes>>, HttpError> {
        let jar = self.jar.lock().unwrap_or_else(|e| e.into_inner());
        let cookies = jar.get_request_values(&hop.target.url);
        headers::build(&hop.method, &hop.target, &hop.headers, &self.shared.user_agent, cookies, hop.body.clone())
    }

    /// The parsed target of `text`, from the cache when this VU just used it.
    fn target(&self, text: &str) -> Result<Arc<Target>, HttpError> {
        let mut last = self.last_target.lock().unwrap_or_else(|e| e.into_inner());
        if let Some((cached, target)) = last.as_ref()
            && cached == text
        {
            return Ok(target.clone());
        }
        let url = url::Url::parse(text).map_err(|err| HttpError::InvalidUrl(format!("{text:?}: {err}")))?;
        let target = Target::new(url)?;
        *last = Some((text.to_string(), target.clone()));
        Ok(target)
    }

    fn store_cookies(&self, url: &url::Url, headers: &http::HeaderMap) {
        let mut set_cookies =
            headers.get_all(http::header::SET_COOKIE).iter().filter_map(|v| v.to_str().ok()).peekable();
        if set_cookies.peek().is_some() {
            let mut jar = self.jar.lock().unwrap_or_else(|e| e.into_inner());
            for value in set_cookies {
                let _ = jar.parse(value, url);
            }
        }
    }
}

/// What names a hop in its metrics.
fn label<'a>(hop: &'a Hop, inflight: &'a InFlight) -> Label<'a> {
    Label {
        method: &hop.method,
        name: inflight.name.as_deref().unwrap_or_else(|| hop.target.name()),
        tags: &inflight.tags,
    }
}

fn response(url: String, exchange: Exchange, timings: Timings) -> Response {
    let (parts, body) = exchange.response.into_parts();
    let headers = parts
        .headers
        .iter()
        .map(|(k, v)| (k.as_str().to_string(), String::from_utf8_lossy(v.as_bytes()).into_owned()))
        .collect();
    Response { status: parts.status.as_u16(), headers, body, url, timings }
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

#[cfg(test)]
mod tests {
    use super::*;

    fn failure(error: HttpError, received: u64, written: bool) -> Failure {
        Failure { error, bytes: (100, received), written }
    }

    #[test]
    fn only_a_request_the_server_cannot_have_processed_twice_is_retried() {
        let reset = || HttpError::ConnectionReset("closed".into());
        let post = http::Method::POST;
        assert!(failure(reset(), 0, false).may_retry(&post), "nothing written: always");
        assert!(!failure(reset(), 0, true).may_retry(&post), "a written POST: never");
        for method in ["GET", "HEAD", "OPTIONS", "PUT", "DELETE", "TRACE"] {
            assert!(failure(reset(), 0, true).may_retry(&method.parse().unwrap()), "{method}");
        }
        assert!(!failure(reset(), 0, true).may_retry(&http::Method::PATCH));
        assert!(!failure(reset(), 10, false).may_retry(&http::Method::GET), "a response had begun");
        assert!(!failure(HttpError::Timeout, 0, false).may_retry(&http::Method::GET));
    }
}
