//! `vespid:native`: the host's capabilities as plain JavaScript functions,
//! the only module written in Rust. The k6 and vespid modules (`js/`) are
//! written in JavaScript on top of it; keeping this layer thin keeps the
//! k6 API in one language and every host call in one place.

use rquickjs::function::Opt;
use rquickjs::module::{Declarations, Exports, ModuleDef};
use rquickjs::{Array, ArrayBuffer, Ctx, Exception, Function, IntoJs, Object, Result, Value};

use crate::bindings::vespid::scenario::{data, http, log, metrics, script, vu};

/// The module's functions, by the name JavaScript imports them as.
pub struct Native;

/// A function of the module: its name and how to make it.
type Maker = for<'js> fn(&Ctx<'js>) -> Result<Function<'js>>;

const FUNCTIONS: &[(&str, Maker)] = &[
    ("send", |ctx| Function::new(ctx.clone(), send)),
    ("batch", |ctx| Function::new(ctx.clone(), batch)),
    ("counterAdd", |ctx| {
        Function::new(ctx.clone(), |name: String, value: f64, tags: Opt<Value>| {
            metrics::counter_add(&name, value, &tag_list(tags.0)?);
            Ok::<_, rquickjs::Error>(())
        })
    }),
    ("gaugeSet", |ctx| {
        Function::new(ctx.clone(), |name: String, value: f64, tags: Opt<Value>| {
            metrics::gauge_set(&name, value, &tag_list(tags.0)?);
            Ok::<_, rquickjs::Error>(())
        })
    }),
    ("trendAdd", |ctx| {
        Function::new(ctx.clone(), |name: String, value: f64, tags: Opt<Value>| {
            metrics::trend_add(&name, value, &tag_list(tags.0)?);
            Ok::<_, rquickjs::Error>(())
        })
    }),
    ("rateAdd", |ctx| {
        Function::new(ctx.clone(), |name: String, value: bool, tags: Opt<Value>| {
            metrics::rate_add(&name, value, &tag_list(tags.0)?);
            Ok::<_, rquickjs::Error>(())
        })
    }),
    ("check", |ctx| {
        Function::new(ctx.clone(), |name: String, passed: bool, tags: Opt<Value>| {
            Ok::<_, rquickjs::Error>(metrics::check(&name, passed, &tag_list(tags.0)?))
        })
    }),
    ("log", |ctx| Function::new(ctx.clone(), |level: u32, message: String| log::write(log_level(level), &message))),
    ("vuId", |ctx| Function::new(ctx.clone(), vu::id)),
    ("iteration", |ctx| Function::new(ctx.clone(), vu::iteration)),
    ("scenario", |ctx| Function::new(ctx.clone(), vu::scenario)),
    ("env", |ctx| Function::new(ctx.clone(), env)),
    ("sleep", |ctx| Function::new(ctx.clone(), |ms: f64| vu::sleep(ms.max(0.0)))),
    ("abortTest", |ctx| Function::new(ctx.clone(), |reason: String| vu::abort_test(&reason))),
    ("dataLen", |ctx| Function::new(ctx.clone(), |set: String| data::len(&set).ok())),
    ("dataColumns", |ctx| Function::new(ctx.clone(), |set: String| data::columns(&set).ok())),
    ("dataGet", |ctx| {
        Function::new(ctx.clone(), |ctx: Ctx<'_>, set: String, index: u32| data_result(&ctx, data::get(&set, index)))
    }),
    ("dataForVu", |ctx| Function::new(ctx.clone(), |ctx: Ctx<'_>, set: String| data_result(&ctx, data::for_vu(&set)))),
    ("dataRandom", |ctx| Function::new(ctx.clone(), |ctx: Ctx<'_>, set: String| data_result(&ctx, data::random(&set)))),
    ("readFile", |ctx| Function::new(ctx.clone(), read_file)),
    ("share", |ctx| Function::new(ctx.clone(), |name: String, items: Vec<String>| script::share(&name, &items))),
    ("cookiesFor", |ctx| {
        Function::new(ctx.clone(), |url: String| {
            http::cookies_for(&url).into_iter().map(|(name, value)| vec![name, value]).collect::<Vec<_>>()
        })
    }),
    ("setCookie", |ctx| {
        Function::new(ctx.clone(), |ctx: Ctx<'_>, url: String, set_cookie: String| {
            http::set_cookie(&url, &set_cookie).map_err(|reason| Exception::throw_message(&ctx, &reason))
        })
    }),
    ("clearCookies", |ctx| {
        Function::new(ctx.clone(), |url: String, name: Opt<String>| http::clear_cookies(&url, name.0.as_deref()))
    }),
    ("digest", |ctx| Function::new(ctx.clone(), crate::crypto::digest)),
    ("randomBytes", |ctx| Function::new(ctx.clone(), crate::crypto::random_bytes)),
];

impl ModuleDef for Native {
    fn declare(declarations: &Declarations) -> Result<()> {
        for (name, _) in FUNCTIONS {
            declarations.declare(*name)?;
        }
        Ok(())
    }

    fn evaluate<'js>(ctx: &Ctx<'js>, exports: &Exports<'js>) -> Result<()> {
        for (name, make) in FUNCTIONS {
            exports.export(*name, make(ctx)?)?;
        }
        Ok(())
    }
}

/// `__ENV`: the run-supplied variables as an object.
fn env<'js>(ctx: Ctx<'js>) -> Result<Object<'js>> {
    let env = Object::new(ctx)?;
    for (key, value) in vu::env_all() {
        env.set(key, value)?;
    }
    Ok(env)
}

fn log_level(level: u32) -> log::Level {
    match level {
        0 => log::Level::Trace,
        1 => log::Level::Debug,
        2 => log::Level::Info,
        3 => log::Level::Warn,
        _ => log::Level::Error,
    }
}

/// Tags from a plain object (`{ name: "login" }`); values become strings.
fn tag_list(tags: Option<Value<'_>>) -> Result<Vec<(String, String)>> {
    let Some(object) = tags.and_then(|tags| tags.into_object()) else {
        return Ok(Vec::new());
    };
    let mut list = Vec::with_capacity(object.len());
    for prop in object.props::<String, rquickjs::Coerced<String>>() {
        let (key, value) = prop?;
        list.push((key, value.0));
    }
    Ok(list)
}

/// A row as an array of strings, or an exception naming the set.
fn data_result<'js>(ctx: &Ctx<'js>, row: std::result::Result<Vec<String>, data::DataError>) -> Result<Vec<String>> {
    row.map_err(|err| match err {
        data::DataError::UnknownSet(set) => Exception::throw_reference(ctx, &format!("no data set named {set:?}")),
        data::DataError::OutOfRange(len) => Exception::throw_range(ctx, &format!("index out of range (length {len})")),
    })
}

/// `open(path, "b")`: the file's text, or its bytes as an ArrayBuffer.
fn read_file<'js>(ctx: Ctx<'js>, path: String, binary: Opt<bool>) -> Result<Value<'js>> {
    match script::read_file(&path) {
        Ok(bytes) if binary.0 == Some(true) => ArrayBuffer::new(ctx.clone(), bytes)?.into_js(&ctx),
        Ok(bytes) => String::from_utf8_lossy(&bytes).into_owned().into_js(&ctx),
        Err(message) => Err(Exception::throw_message(&ctx, &message)),
    }
}

/// The request JavaScript describes: `{ method, url, headers: [[k, v]],
/// body, name, tags, timeout, redirects, expected: [[min, max]], discard }`.
fn request(ctx: &Ctx<'_>, spec: &Object<'_>) -> Result<http::Request> {
    let method: String = spec.get("method")?;
    let method = match method.to_ascii_uppercase().as_str() {
        "GET" => http::Method::Get,
        "HEAD" => http::Method::Head,
        "POST" => http::Method::Post,
        "PUT" => http::Method::Put,
        "PATCH" => http::Method::Patch,
        "DELETE" => http::Method::Delete,
        "OPTIONS" => http::Method::Options,
        _ => http::Method::Other(method),
    };
    let body: Value = spec.get("body")?;
    let body = if body.is_undefined() || body.is_null() {
        Vec::new()
    } else if let Some(buffer) = ArrayBuffer::from_value(body.clone()) {
        copy_bytes(&buffer)
    } else {
        body.get::<rquickjs::Coerced<String>>()?.0.into_bytes()
    };
    let expected: Option<Vec<Vec<f64>>> = spec.get("expected")?;
    let headers: Option<Vec<Vec<String>>> = spec.get("headers")?;
    let pair = |mut pair: Vec<String>| {
        let value = pair.pop().unwrap_or_default();
        (pair.pop().unwrap_or_default(), value)
    };
    let range = |pair: Vec<f64>| {
        let bound = |at: usize| pair.get(at).copied().unwrap_or(0.0).clamp(0.0, 65535.0) as u16;
        http::StatusRange { min: bound(0), max: bound(1) }
    };
    let _ = ctx;
    Ok(http::Request {
        method,
        url: spec.get("url")?,
        headers: headers.unwrap_or_default().into_iter().map(pair).collect(),
        body,
        name: spec.get("name")?,
        tags: tag_list(spec.get("tags")?)?,
        timeout_ms: spec.get::<_, Option<f64>>("timeout")?.map(|ms| ms.clamp(0.0, f64::from(u32::MAX)) as u32),
        max_redirects: spec.get("redirects")?,
        expected_statuses: expected.unwrap_or_default().into_iter().map(range).collect(),
        discard_body: spec.get::<_, Option<bool>>("discard")?.unwrap_or(false),
    })
}

/// A copy of an ArrayBuffer's bytes (empty once detached).
#[allow(unsafe_code)]
pub(crate) fn copy_bytes(buffer: &ArrayBuffer<'_>) -> Vec<u8> {
    // SAFETY: the slice is copied at once; no JavaScript runs meanwhile, so
    // nothing can detach or resize the buffer while it is borrowed.
    unsafe { buffer.as_bytes() }.map(<[u8]>::to_vec).unwrap_or_default()
}

/// k6's error code for a transport error.
fn error_code(err: &http::Error) -> u32 {
    match err {
        http::Error::Timeout => 1050,
        http::Error::ConnectionRefused(_) => 1212,
        http::Error::ConnectionReset(_) => 1220,
        http::Error::Dns(_) => 1101,
        http::Error::Tls(reason) if reason.contains("UnknownIssuer") || reason.contains("unknown issuer") => 1310,
        http::Error::Tls(_) => 1300,
        http::Error::InvalidUrl(_) => 1020,
        http::Error::TooManyRedirects(_) => 1000,
        http::Error::Other(_) => 1000,
    }
}

/// The WIT error case, as the `vespid` module's `HttpError.kind` names it.
fn error_kind(err: &http::Error) -> &'static str {
    match err {
        http::Error::Timeout => "timeout",
        http::Error::ConnectionRefused(_) => "connectionRefused",
        http::Error::ConnectionReset(_) => "connectionReset",
        http::Error::Dns(_) => "dns",
        http::Error::Tls(_) => "tls",
        http::Error::InvalidUrl(_) => "invalidUrl",
        http::Error::TooManyRedirects(_) => "tooManyRedirects",
        http::Error::Other(_) => "other",
    }
}

fn error_text(err: &http::Error) -> String {
    match err {
        http::Error::Timeout => "request timeout".into(),
        http::Error::ConnectionRefused(addr) => format!("dial: connection refused ({addr})"),
        http::Error::ConnectionReset(reason) => format!("connection reset: {reason}"),
        http::Error::Dns(reason) => format!("lookup: {reason}"),
        http::Error::Tls(reason) => format!("tls: {reason}"),
        http::Error::InvalidUrl(reason) => format!("invalid URL: {reason}"),
        http::Error::TooManyRedirects(limit) => format!("stopped after {limit} redirects"),
        http::Error::Other(reason) => reason.clone(),
    }
}

/// Header names as k6 shows them: `content-type` becomes `Content-Type`.
fn canonical(name: &str) -> String {
    let mut out = String::with_capacity(name.len());
    let mut upper = true;
    for c in name.chars() {
        out.push(if upper { c.to_ascii_uppercase() } else { c.to_ascii_lowercase() });
        upper = c == '-';
    }
    out
}

/// A result as JavaScript sees it: `{ status, headers, body, url, timings }`
/// or `{ status: 0, error, error_code }`. `binary` hands the body over as
/// an ArrayBuffer instead of text.
fn response<'js>(
    ctx: &Ctx<'js>,
    result: std::result::Result<http::Response, http::Error>,
    binary: bool,
) -> Result<Object<'js>> {
    let out = Object::new(ctx.clone())?;
    match result {
        Ok(response) => {
            out.set("status", response.status)?;
            let headers = Object::new(ctx.clone())?;
            for (name, value) in response.headers {
                let name = canonical(&name);
                let joined = match headers.get::<_, Option<String>>(name.as_str())? {
                    Some(earlier) => format!("{earlier}, {value}"),
                    None => value,
                };
                headers.set(name, joined)?;
            }
            out.set("headers", headers)?;
            if binary {
                out.set("body", ArrayBuffer::new(ctx.clone(), response.body)?)?;
            } else {
                let text = match String::from_utf8(response.body) {
                    Ok(text) => text,
                    Err(err) => String::from_utf8_lossy(err.as_bytes()).into_owned(),
                };
                out.set("body", text)?;
            }
            out.set("url", response.url)?;
            let t = response.timings;
            let timings = Object::new(ctx.clone())?;
            timings.set("blocked", t.blocked)?;
            timings.set("connecting", t.connecting)?;
            timings.set("tls_handshaking", t.tls_handshaking)?;
            timings.set("sending", t.sending)?;
            timings.set("waiting", t.waiting)?;
            timings.set("receiving", t.receiving)?;
            timings.set("duration", t.duration)?;
            out.set("timings", timings)?;
        }
        Err(err) => {
            out.set("status", 0)?;
            out.set("error", error_text(&err))?;
            out.set("error_code", error_code(&err))?;
            out.set("kind", error_kind(&err))?;
        }
    }
    Ok(out)
}

fn send<'js>(ctx: Ctx<'js>, spec: Object<'js>) -> Result<Object<'js>> {
    let binary = spec.get::<_, Option<bool>>("binary")?.unwrap_or(false);
    let request = request(&ctx, &spec)?;
    response(&ctx, http::send(&request), binary)
}

fn batch<'js>(ctx: Ctx<'js>, specs: Array<'js>) -> Result<Array<'js>> {
    let mut requests = Vec::with_capacity(specs.len());
    let mut binary = Vec::with_capacity(specs.len());
    for spec in specs.iter::<Object>() {
        let spec = spec?;
        binary.push(spec.get::<_, Option<bool>>("binary")?.unwrap_or(false));
        requests.push(request(&ctx, &spec)?);
    }
    let out = Array::new(ctx.clone())?;
    for (index, (result, binary)) in http::batch(&requests).into_iter().zip(binary).enumerate() {
        out.set(index, response(&ctx, result, binary)?)?;
    }
    Ok(out)
}
