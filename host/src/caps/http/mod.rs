//! The WIT `http` interface: requests as a browser's user makes them. Each
//! VU owns its kept-alive connections, its TLS sessions and its cookie jar;
//! redirects are followed here, each hop recorded as a request of its own
//! in k6's metrics. Parts: `send` (a request from first hop to answer),
//! `inflight` (its task, and a request cut short), `headers`, `redirect`,
//! `record` (metrics), `unsettled` (answers whose verdict the plugin gives), `client` (connections and one attempt), `io` (bytes
//! and timing marks), `target`, `tls`, `dns`, `debug` (`--http-debug`). Nothing here is shared between
//! VUs but read-only run state ([`HttpShared`]) and the DNS cache.

mod client;
mod debug;
mod dns;
mod headers;
mod inflight;
mod io;
mod record;
mod redirect;
mod send;
mod target;
mod tls;
mod unsettled;

use std::path::PathBuf;
use std::str::FromStr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use cookie_store::CookieStore;
use http::header::HeaderValue;
use tokio::sync::Semaphore;

use self::client::Pool;
pub use self::debug::HttpDebug;
use self::dns::DnsCache;
pub use self::dns::DnsOptions;
use self::record::TagKey;
use self::target::{Origin, Target};
use self::tls::VuTls;
use self::unsettled::{Unsettled, Verdict};
use super::VuState;
use super::grants::Gate;
use crate::bindings::http::{Error as HttpError, Host, Request, Response};
use crate::metrics::{Recorder, TagCache};

/// Run-wide HTTP defaults, from the run file and the command line.
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
    /// Name resolution (k6's `dns`).
    pub dns: DnsOptions,
    /// Requests of one `batch` in flight at once (k6's `batch`).
    pub batch: u32,
    /// Requests of one `batch` in flight at once per origin, and idle
    /// connections a VU keeps per origin (k6's `batchPerHost`).
    pub batch_per_host: u32,
    /// When a VU's cookie jar is emptied.
    pub cookie_jar: CookieJarScope,
    /// Largest response body copied into the plugin, in bytes.
    pub max_response_body: u64,
    /// Print each request and response to stderr (k6's `--http-debug`).
    pub debug: HttpDebug,
}

impl Default for HttpOptions {
    fn default() -> Self {
        HttpOptions {
            timeout: Duration::from_secs(60),
            max_redirects: 10,
            insecure_skip_tls_verify: false,
            ca_file: None,
            user_agent: format!("vespid/{}", env!("CARGO_PKG_VERSION")),
            dns: DnsOptions::default(),
            batch: 20,
            batch_per_host: 6,
            cookie_jar: CookieJarScope::PerVu,
            max_response_body: 32 << 20,
            debug: HttpDebug::Off,
        }
    }
}

/// How long a VU's cookies live (besides re-instantiation, which always
/// starts an empty jar).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CookieJarScope {
    /// As long as the VU: a Locust user's session.
    PerVu,
    /// One iteration: emptied before each (k6's default).
    PerIteration,
}

impl FromStr for CookieJarScope {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, String> {
        match text.trim() {
            "per-vu" => Ok(CookieJarScope::PerVu),
            "per-iteration" => Ok(CookieJarScope::PerIteration),
            other => Err(format!("invalid cookie jar {other:?}: use per-vu or per-iteration")),
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

/// HTTP state shared by all VUs of a run: read-only, but for the DNS cache.
pub struct HttpShared {
    /// Never connects itself: each VU uses a copy with its own sessions.
    tls: Arc<rustls::ClientConfig>,
    dns: DnsCache,
    user_agent: HeaderValue,
    options: HttpOptions,
    /// Request tasks of cut iterations, which may still be recording (see
    /// [`HttpShared::settled`]); requests nobody cut are never listed.
    cut_tasks: Mutex<Vec<tokio::task::AbortHandle>>,
}

impl HttpShared {
    pub fn new(options: HttpOptions) -> Result<Self, HttpSetupError> {
        let tls = tls::client_config(options.ca_file.as_deref(), options.insecure_skip_tls_verify)?;
        let user_agent = HeaderValue::from_str(&options.user_agent)
            .map_err(|_| HttpSetupError::UserAgent(options.user_agent.clone()))?;
        Ok(HttpShared { tls, dns: DnsCache::new(options.dns), user_agent, options, cut_tasks: Mutex::default() })
    }

    /// Keeps the task of a request whose iteration was cut while it ran:
    /// it may be past its last await, about to record its attempt.
    fn cut_while_running(&self, task: tokio::task::AbortHandle) {
        self.cut_tasks.lock().unwrap_or_else(|e| e.into_inner()).push(task);
    }

    /// Waits (at most `limit`) until every request task of a cut iteration
    /// has ended, so the run's last drain comes after their records.
    pub async fn settled(&self, limit: Duration) {
        let deadline = tokio::time::Instant::now() + limit;
        loop {
            let running = {
                let mut tasks = self.cut_tasks.lock().unwrap_or_else(|e| e.into_inner());
                tasks.retain(|task| !task.is_finished());
                !tasks.is_empty()
            };
            if !running || tokio::time::Instant::now() >= deadline {
                return;
            }
            tokio::time::sleep(Duration::from_millis(1)).await;
        }
    }
}

/// One VU's HTTP state: its connections, TLS sessions and cookie jar. The
/// mutexes are this VU's own (so `batch` can run requests concurrently); no
/// other VU ever takes them.
pub struct HttpCtx(Arc<VuHttp>);

struct VuHttp {
    shared: Arc<HttpShared>,
    recorder: Recorder,
    /// Where this VU's requests may go.
    gate: Gate,
    tls: VuTls,
    pool: Mutex<Pool>,
    jar: Mutex<CookieStore>,
    tags: Mutex<TagCache<TagKey>>,
    /// The last URL parsed, since a VU mostly repeats its requests.
    last_target: Mutex<Option<(String, Arc<Target>)>>,
    unsettled: Mutex<Unsettled>,
}

impl HttpCtx {
    pub fn new(shared: Arc<HttpShared>, recorder: Recorder, gate: Gate) -> Self {
        HttpCtx(Arc::new(VuHttp {
            shared,
            recorder,
            gate,
            tls: VuTls::default(),
            pool: Mutex::default(),
            jar: Mutex::default(),
            tags: Mutex::default(),
            last_target: Mutex::default(),
            unsettled: Mutex::default(),
        }))
    }

    /// Called when an iteration ended, however it ended: the answers whose
    /// verdict the plugin did not give are recorded by their status.
    pub fn end_iteration(&self) {
        self.0.unsettled().settle_by_status();
    }

    /// Called by the VU's loop before each iteration: empties the cookie
    /// jar when cookies live one iteration.
    pub fn begin_iteration(&self) {
        if self.0.shared.options.cookie_jar == CookieJarScope::PerIteration {
            self.0.jar.lock().unwrap_or_else(|e| e.into_inner()).clear();
        }
    }

    /// Sends `requests` concurrently, at most `batch` in flight and at most
    /// `batch-per-host` per origin (k6's limits); results in order.
    async fn batch(&self, requests: Vec<Request>, iteration: u32) -> Vec<Result<Response, HttpError>> {
        let options = &self.0.shared.options;
        let any = Semaphore::new(options.batch as usize);
        let mut origins: Vec<(Origin, Semaphore)> = Vec::new();
        let slots: Vec<Option<usize>> = requests
            .iter()
            .map(|request| {
                // A request whose URL is invalid fails at once: it takes no permit.
                let origin = Origin::parse(&request.url).ok()?;
                Some(origins.iter().position(|(o, _)| *o == origin).unwrap_or_else(|| {
                    origins.push((origin, Semaphore::new(options.batch_per_host as usize)));
                    origins.len() - 1
                }))
            })
            .collect();
        let (any, origins) = (&any, &origins);
        let sends = requests.into_iter().zip(slots).map(|(request, slot)| async move {
            // Per origin first, so a request waiting for its origin holds no
            // permit another origin's request could use.
            let _origin = match slot {
                Some(index) => origins[index].1.acquire().await.ok(),
                None => None,
            };
            let _any = any.acquire().await.ok();
            self.send(request, iteration, Verdict::Status).await.map(|(response, _)| response)
        });
        futures_util::future::join_all(sends).await
    }
}

impl VuHttp {
    fn pool(&self) -> std::sync::MutexGuard<'_, Pool> {
        self.pool.lock().unwrap_or_else(|e| e.into_inner())
    }
}

impl Host for VuState {
    async fn send(&mut self, request: Request) -> wasmtime::Result<Result<Response, HttpError>> {
        self.clock.pause();
        let response = self.http.send(request, self.vu.iteration(), Verdict::Status).await;
        self.clock.resume();
        Ok(response.map(|(response, _)| response))
    }

    async fn send_unsettled(&mut self, request: Request) -> wasmtime::Result<Result<(Response, u32), HttpError>> {
        self.clock.pause();
        let response = self.http.send(request, self.vu.iteration(), Verdict::Plugin).await;
        self.clock.resume();
        match response {
            Ok((response, Some(id))) => Ok(Ok((response, id))),
            Ok((_, None)) => Err(wasmtime::format_err!("an answer sent unsettled got no id")),
            Err(error) => Ok(Err(error)),
        }
    }

    fn settle(&mut self, id: u32, failed: bool) -> wasmtime::Result<bool> {
        Ok(self.http.0.unsettled().settle(id, failed))
    }

    async fn batch(&mut self, requests: Vec<Request>) -> wasmtime::Result<Vec<Result<Response, HttpError>>> {
        self.clock.pause();
        let responses = self.http.batch(requests, self.vu.iteration()).await;
        self.clock.resume();
        Ok(responses)
    }

    fn cookies_for(&mut self, url: String) -> wasmtime::Result<Vec<(String, String)>> {
        let Ok(url) = url::Url::parse(&url) else { return Ok(Vec::new()) };
        let jar = self.http.0.jar.lock().unwrap_or_else(|e| e.into_inner());
        Ok(jar.get_request_values(&url).map(|(name, value)| (name.to_string(), value.to_string())).collect())
    }

    fn set_cookie(&mut self, url: String, set_cookie: String) -> wasmtime::Result<Result<(), String>> {
        let parsed = match url::Url::parse(&url) {
            Ok(parsed) => parsed,
            Err(err) => return Ok(Err(format!("invalid URL {url:?}: {err}"))),
        };
        let mut jar = self.http.0.jar.lock().unwrap_or_else(|e| e.into_inner());
        Ok(jar
            .parse(&set_cookie, &parsed)
            .map(drop)
            .map_err(|err| format!("cookie {set_cookie:?} refused for {url}: {err}")))
    }

    fn clear_cookies(&mut self, url: String, name: Option<String>) -> wasmtime::Result<()> {
        let Ok(url) = url::Url::parse(&url) else { return Ok(()) };
        let mut jar = self.http.0.jar.lock().unwrap_or_else(|e| e.into_inner());
        let doomed: Vec<(String, String, String)> = jar
            .matches(&url)
            .into_iter()
            .filter(|cookie| name.as_deref().is_none_or(|name| cookie.name() == name))
            .map(|cookie| (String::from(&cookie.domain), String::from(&cookie.path), cookie.name().to_string()))
            .collect();
        for (domain, path, name) in doomed {
            jar.remove(&domain, &path, &name);
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cookie_jar_scopes_read_their_names() {
        assert_eq!("per-vu".parse(), Ok(CookieJarScope::PerVu));
        assert_eq!(" per-iteration ".parse(), Ok(CookieJarScope::PerIteration));
        let err = "per-run".parse::<CookieJarScope>().unwrap_err();
        assert!(err.contains("per-run") && err.contains("per-iteration"), "{err}");
    }
}
