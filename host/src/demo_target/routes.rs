//! The demo target's endpoints and the state they share with the accept loop
//! (counters, sessions, tokens). Everything is in memory and dies with the server.

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use axum::Router;
use axum::extract::{Path, Query, State};
use axum::http::header::{AUTHORIZATION, CONNECTION, CONTENT_TYPE, COOKIE, LOCATION, SET_COOKIE};
use axum::http::{HeaderMap, Method, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{any, get, post};
use axum::{Json, body::Bytes};
use serde::{Deserialize, Serialize};

use super::{DemoStats, Echo};

/// Longest `/delay/{ms}` honoured.
const MAX_DELAY_MS: u64 = 60_000;
/// Largest `/bytes/{n}` and `/stream-bytes/{n}` body.
const MAX_BYTES: usize = 10 * 1024 * 1024;
/// `/stream-bytes/{n}` sends its body in chunks of this size.
const STREAM_CHUNK: usize = 64 * 1024;
/// Requests `/echo` remembers, the latest ones.
const MAX_ECHOES: usize = 1000;
/// The counters as JSON, for a process that did not start the target (the
/// k6 differential). Requests to it are not counted: reading the counts
/// does not change them.
pub(super) const STATS_PATH: &str = "/__stats";

/// Counters, in-memory logins and the orders database, shared by the
/// accept loop and the handlers.
#[derive(Debug, Default)]
pub(super) struct Shared {
    pub(super) requests: AtomicU64,
    pub(super) connections: AtomicU64,
    pub(super) me_without_session: AtomicU64,
    pub(super) tls_handshakes: AtomicU64,
    pub(super) tls_resumed: AtomicU64,
    in_flight: AtomicU64,
    peak_in_flight: AtomicU64,
    paths: Mutex<HashMap<String, u64>>,
    echoes: Mutex<VecDeque<Echo>>,
    /// session cookie value → user
    sessions: Mutex<HashMap<String, String>>,
    /// bearer token → user
    tokens: Mutex<HashMap<String, String>>,
    /// Where `POST /orders` stores orders (`--database`), if anywhere.
    pub(super) orders_db: Option<sqlx::SqlitePool>,
}

impl Shared {
    /// Fresh state, storing orders in `orders_db` when given.
    pub(super) fn with_orders_db(orders_db: Option<sqlx::SqlitePool>) -> Self {
        Shared { orders_db, ..Shared::default() }
    }

    pub(super) fn count_request(&self, path: &str) {
        if path == STATS_PATH {
            return;
        }
        self.requests.fetch_add(1, Ordering::Relaxed);
        let mut paths = lock(&self.paths);
        match paths.get_mut(path) {
            Some(count) => *count += 1,
            None => {
                paths.insert(path.to_owned(), 1);
            }
        }
    }

    pub(super) fn path_count(&self, path: &str) -> u64 {
        lock(&self.paths).get(path).copied().unwrap_or(0)
    }

    /// A request is being handled until the returned guard is dropped.
    pub(super) fn handling(self: &Arc<Self>) -> Handling {
        let now = self.in_flight.fetch_add(1, Ordering::Relaxed) + 1;
        self.peak_in_flight.fetch_max(now, Ordering::Relaxed);
        Handling(Arc::clone(self))
    }

    pub(super) fn echoes(&self) -> Vec<Echo> {
        lock(&self.echoes).iter().cloned().collect()
    }

    pub(super) fn stats(&self) -> DemoStats {
        DemoStats {
            requests: self.requests.load(Ordering::Relaxed),
            connections: self.connections.load(Ordering::Relaxed),
            me_without_session: self.me_without_session.load(Ordering::Relaxed),
            tls_handshakes: self.tls_handshakes.load(Ordering::Relaxed),
            tls_resumed: self.tls_resumed.load(Ordering::Relaxed),
            peak_concurrent_requests: self.peak_in_flight.load(Ordering::Relaxed),
        }
    }
}

/// One request being handled, for the peak concurrency count.
pub(super) struct Handling(Arc<Shared>);

impl Drop for Handling {
    fn drop(&mut self) {
        self.0.in_flight.fetch_sub(1, Ordering::Relaxed);
    }
}

/// A poisoned lock only means a handler panicked mid-update of a test map; the
/// data is still usable, so recover it rather than propagate the panic.
fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

pub(super) fn router(shared: Arc<Shared>) -> Router {
    Router::new()
        .route("/", get(root))
        .route("/json", get(json_doc))
        .route("/login", post(login))
        .route("/me", get(me))
        .route("/orders", get(orders).post(create_order))
        .route("/redirect/{n}", get(redirect))
        .route("/redirect-loop", get(redirect_loop))
        .route("/delay/{ms}", get(delay))
        .route("/status/{code}", get(status))
        .route("/bytes/{n}", get(bytes))
        .route("/stream-bytes/{n}", get(stream_bytes))
        .route("/echo", any(echo))
        .route("/redirect-to", any(redirect_to))
        .route("/cookies/set/{name}/{value}", get(set_cookie))
        .route("/close", get(close))
        .route(STATS_PATH, get(stats))
        .fallback(not_found)
        .method_not_allowed_fallback(not_found)
        .with_state(shared)
}

async fn root() -> Response {
    ([(CONTENT_TYPE, "text/plain; charset=utf-8")], "hello from the vespid demo target\n").into_response()
}

/// Fixed bytes, so the field order is exactly the documented one.
async fn json_doc() -> Response {
    ([(CONTENT_TYPE, "application/json")], r#"{"id":1,"name":"vespid","items":[1,2,3]}"#).into_response()
}

#[derive(Deserialize)]
struct LoginBody {
    user: Option<String>,
}

// Structs rather than `json!` maps: their field order is the documented one
// whatever serde_json features the build unifies.
#[derive(Serialize)]
struct LoginReply {
    token: String,
    user: String,
}

#[derive(Serialize)]
struct MeReply {
    user: String,
}

#[derive(Serialize)]
struct OrdersReply {
    user: String,
    orders: [OrderId; 2],
}

#[derive(Serialize)]
struct OrderId {
    id: u64,
}

/// `POST /login` with `{"user":"NAME"}` or `user=NAME`, whatever the
/// `Content-Type` says: a body starting with `{` is JSON, anything else a form.
async fn login(State(shared): State<Arc<Shared>>, body: Bytes) -> Response {
    let user = if body.trim_ascii_start().starts_with(b"{") {
        serde_json::from_slice::<LoginBody>(&body).ok().and_then(|login| login.user)
    } else {
        url::form_urlencoded::parse(&body).find(|(key, _)| key == "user").map(|(_, value)| value.into_owned())
    };
    let Some(user) = user.filter(|user| !user.is_empty()) else {
        return (StatusCode::BAD_REQUEST, "missing user\n").into_response();
    };
    let session = random_hex();
    let token = random_hex();
    lock(&shared.sessions).insert(session.clone(), user.clone());
    lock(&shared.tokens).insert(token.clone(), user.clone());
    ([(SET_COOKIE, format!("session={session}; Path=/; HttpOnly"))], Json(LoginReply { token, user })).into_response()
}

/// `GET /me`: the user of a known `session` cookie, else 401 (and counted).
async fn me(State(shared): State<Arc<Shared>>, headers: HeaderMap) -> Response {
    let user = session_cookie(&headers).and_then(|session| lock(&shared.sessions).get(&session).cloned());
    match user {
        Some(user) => Json(MeReply { user }).into_response(),
        None => {
            shared.me_without_session.fetch_add(1, Ordering::Relaxed);
            StatusCode::UNAUTHORIZED.into_response()
        }
    }
}

/// The user of the request's `Authorization: Bearer <token from /login>`.
fn bearer_user(shared: &Shared, headers: &HeaderMap) -> Option<String> {
    let token = headers
        .get(AUTHORIZATION)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.strip_prefix("Bearer ").or_else(|| value.strip_prefix("bearer ")))
        .map(str::trim)?;
    lock(&shared.tokens).get(token).cloned()
}

/// `GET /orders`: needs `Authorization: Bearer <token from /login>`.
async fn orders(State(shared): State<Arc<Shared>>, headers: HeaderMap) -> Response {
    match bearer_user(&shared, &headers) {
        Some(user) => Json(OrdersReply { user, orders: [OrderId { id: 1 }, OrderId { id: 2 }] }).into_response(),
        None => StatusCode::UNAUTHORIZED.into_response(),
    }
}

#[derive(Deserialize)]
struct NewOrder {
    item: String,
    quantity: i64,
}

/// `POST /orders` with `{"item": …, "quantity": …}` and the bearer token:
/// 201 with the stored order's `id`; 503 when the target has no `--database`.
async fn create_order(State(shared): State<Arc<Shared>>, headers: HeaderMap, body: Bytes) -> Response {
    let Some(user) = bearer_user(&shared, &headers) else { return StatusCode::UNAUTHORIZED.into_response() };
    let Some(db) = &shared.orders_db else {
        return (StatusCode::SERVICE_UNAVAILABLE, "start the demo target with --database sqlite:PATH\n")
            .into_response();
    };
    let Ok(order) = serde_json::from_slice::<NewOrder>(&body) else {
        return (StatusCode::BAD_REQUEST, "expected {\"item\": text, \"quantity\": number}\n").into_response();
    };
    match super::orders::create(db, &user, &order.item, order.quantity).await {
        Ok(id) => (StatusCode::CREATED, Json(serde_json::json!({ "id": id, "owner": user }))).into_response(),
        Err(err) => (StatusCode::INTERNAL_SERVER_ERROR, format!("{err}\n")).into_response(),
    }
}

async fn redirect(Path(n): Path<u64>) -> Response {
    match n.checked_sub(1) {
        Some(next) => (StatusCode::FOUND, [(LOCATION, format!("/redirect/{next}"))]).into_response(),
        None => "done".into_response(),
    }
}

async fn redirect_loop() -> Response {
    (StatusCode::FOUND, [(LOCATION, "/redirect-loop")]).into_response()
}

async fn delay(Path(ms): Path<u64>) -> Response {
    tokio::time::sleep(Duration::from_millis(ms.min(MAX_DELAY_MS))).await;
    StatusCode::OK.into_response()
}

/// `GET /status/{code}`: that status with an empty body. hyper cannot send a
/// final 1xx response and answers 500 for those instead.
async fn status(Path(code): Path<u16>) -> Response {
    match StatusCode::from_u16(code) {
        Ok(status) if (100..=599).contains(&code) => status.into_response(),
        _ => (StatusCode::BAD_REQUEST, "status must be 100..=599\n").into_response(),
    }
}

async fn bytes(Path(n): Path<u64>) -> Response {
    let len = usize::try_from(n).map_or(MAX_BYTES, |n| n.min(MAX_BYTES));
    ([(CONTENT_TYPE, "application/octet-stream")], vec![b'v'; len]).into_response()
}

/// `/stream-bytes/{n}`: n bytes without a `Content-Length` (chunked).
async fn stream_bytes(Path(n): Path<u64>) -> Response {
    let len = usize::try_from(n).map_or(MAX_BYTES, |n| n.min(MAX_BYTES));
    let chunks = (0..len)
        .step_by(STREAM_CHUNK)
        .map(move |at| Ok::<_, std::convert::Infallible>(Bytes::from(vec![b'v'; STREAM_CHUNK.min(len - at)])));
    let body = axum::body::Body::from_stream(futures_util::stream::iter(chunks));
    ([(CONTENT_TYPE, "application/octet-stream")], body).into_response()
}

#[derive(Serialize)]
struct EchoReply<'a> {
    method: &'a str,
    headers: &'a [(String, String)],
    body: String,
}

/// `/echo`, any method: the request's method, header lines in order (a
/// repeated name stays repeated) and body, as JSON; remembered for
/// [`super::DemoTarget::echoes`].
async fn echo(State(shared): State<Arc<Shared>>, method: Method, headers: HeaderMap, body: Bytes) -> Response {
    let headers: Vec<(String, String)> = headers
        .iter()
        .map(|(name, value)| (name.as_str().to_owned(), String::from_utf8_lossy(value.as_bytes()).into_owned()))
        .collect();
    let reply = Json(EchoReply {
        method: method.as_str(),
        headers: &headers,
        body: String::from_utf8_lossy(&body).into_owned(),
    })
    .into_response();
    let mut echoes = lock(&shared.echoes);
    if echoes.len() == MAX_ECHOES {
        echoes.pop_front();
    }
    echoes.push_back(Echo { method: method.as_str().to_owned(), headers, body: body.to_vec() });
    reply
}

#[derive(Deserialize)]
struct RedirectTo {
    url: String,
    status: Option<u16>,
}

/// `/redirect-to?url=URL&status=303`, any method: a redirect (302 unless
/// `status` says another 3xx) to `url`.
async fn redirect_to(Query(to): Query<RedirectTo>) -> Response {
    let status = to.status.unwrap_or(302);
    match StatusCode::from_u16(status) {
        Ok(code) if code.is_redirection() => (code, [(LOCATION, to.url)]).into_response(),
        _ => (StatusCode::BAD_REQUEST, "status must be 300..=399\n").into_response(),
    }
}

#[derive(Deserialize)]
struct SetCookie {
    redirect: Option<String>,
}

/// `/cookies/set/{name}/{value}[?redirect=PATH]`: sets the cookie (path
/// `/`), then answers 200, or redirects (302) to `redirect`.
async fn set_cookie(Path((name, value)): Path<(String, String)>, Query(then): Query<SetCookie>) -> Response {
    let cookie = format!("{name}={value}; Path=/");
    match then.redirect {
        Some(location) => (StatusCode::FOUND, [(SET_COOKIE, cookie), (LOCATION, location)]).into_response(),
        None => ([(SET_COOKIE, cookie)], "cookie set\n").into_response(),
    }
}

/// `/close`: 200, and the server closes the connection after it.
async fn close() -> Response {
    ([(CONNECTION, "close")], "closing\n").into_response()
}

#[derive(Serialize)]
struct StatsReply {
    requests: u64,
    connections: u64,
    me_without_session: u64,
    tls_handshakes: u64,
    tls_resumed: u64,
    peak_concurrent_requests: u64,
    /// Requests per path (without query), in path order.
    paths: BTreeMap<String, u64>,
}

/// `GET /__stats`: every counter and the requests per path, as JSON.
async fn stats(State(shared): State<Arc<Shared>>) -> Response {
    let DemoStats { requests, connections, me_without_session, tls_handshakes, tls_resumed, peak_concurrent_requests } =
        shared.stats();
    let paths = lock(&shared.paths).iter().map(|(path, count)| (path.clone(), *count)).collect();
    Json(StatsReply {
        requests,
        connections,
        me_without_session,
        tls_handshakes,
        tls_resumed,
        peak_concurrent_requests,
        paths,
    })
    .into_response()
}

async fn not_found() -> Response {
    StatusCode::NOT_FOUND.into_response()
}

/// The value of the `session` cookie, from any `Cookie` header.
fn session_cookie(headers: &HeaderMap) -> Option<String> {
    headers
        .get_all(COOKIE)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(cookie::Cookie::split_parse)
        .filter_map(Result::ok)
        .find(|cookie| cookie.name() == "session")
        .map(|cookie| cookie.value().to_owned())
}

/// 128 random bits as 32 hex digits (not cryptographic: this is a test server).
fn random_hex() -> String {
    format!("{:016x}{:016x}", fastrand::u64(..), fastrand::u64(..))
}
