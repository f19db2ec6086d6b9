//! `vespid:native`: the host's capabilities as plain JavaScript functions,
//! the only module written in Rust. The k6 and vespid modules (`js/`) are
//! written in JavaScript on top of it; keeping this layer thin keeps the
//! k6 API in one language and every host call in one place.

use rquickjs::function::{Args, Opt};
use rquickjs::module::{Declarations, Exports, ModuleDef};
use rquickjs::{Array, ArrayBuffer, Constructor, Ctx, Exception, Function, IntoJs, Object, Result, Value};

use crate::bindings::vespid::scenario::{data, http, log, metrics, permissions, script, vu};

/// The module's functions, by the name JavaScript imports them as.
pub struct Native;

/// A function of the module: its name and how to make it.
type Maker = for<'js> fn(&Ctx<'js>) -> Result<Function<'js>>;

const FUNCTIONS: &[(&str, Maker)] = &[
    ("send", |ctx| Function::new(ctx.clone(), send)),
    ("sendUnsettled", |ctx| Function::new(ctx.clone(), send_unsettled)),
    ("settle", |ctx| Function::new(ctx.clone(), http::settle)),
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
    ("stopVu", |ctx| Function::new(ctx.clone(), vu::stop)),
    ("scenarioIteration", |ctx| Function::new(ctx.clone(), vu::scenario_iteration)),
    ("activeVus", |ctx| Function::new(ctx.clone(), vu::active_vus)),
    ("dataLen", |ctx| Function::new(ctx.clone(), |ctx: Ctx<'_>, set: String| data_if_known(&ctx, data::len(&set)))),
    ("dataColumns", |ctx| {
        Function::new(ctx.clone(), |ctx: Ctx<'_>, set: String| data_if_known(&ctx, data::columns(&set)))
    }),
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
    ("sqlRun", |ctx| Function::new(ctx.clone(), crate::sql::run)),
    ("sqlBegin", |ctx| Function::new(ctx.clone(), crate::sql::begin)),
    ("sqlInTransaction", |ctx| Function::new(ctx.clone(), crate::sql::in_transaction)),
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
        data::DataError::Denied(denial) => throw_denied(ctx, denial),
    })
}

/// A set's value, `undefined` for a set the run does not declare (the
/// module names it in its own error), or an exception for a denied one.
fn data_if_known<T>(ctx: &Ctx<'_>, value: std::result::Result<T, data::DataError>) -> Result<Option<T>> {
    match value {
        Ok(value) => Ok(Some(value)),
        Err(data::DataError::Denied(denial)) => Err(throw_denied(ctx, denial)),
        Err(_) => Ok(None),
    }
}

/// A `PermissionError`: an Error named so, with the denial's `permission`.
fn throw_denied(ctx: &Ctx<'_>, denial: permissions::Denial) -> rquickjs::Error {
    let error = match Exception::from_message(ctx.clone(), &denial.message) {
        Ok(error) => error,
        Err(err) => return err,
    };
    let named = error.set("name", "PermissionError").and_then(|()| error.set("permission", denial.permission));
    match named {
        Ok(()) => ctx.throw(error.into_value()),
        Err(err) => err,
    }
}

/// `open(path, "b")`: the file's text, or its bytes as an ArrayBuffer.
fn read_file<'js>(ctx: Ctx<'js>, path: String, binary: Opt<bool>) -> Result<Value<'js>> {
    match script::read_file(&path) {
        Ok(bytes) if binary.0 == Some(true) => ArrayBuffer::new(ctx.clone(), bytes)?.into_js(&ctx),
        Ok(bytes) => String::from_utf8_lossy(&bytes).into_owned().into_js(&ctx),
        Err(message) => Err(Exception::throw_message(&ctx, &message)),
    }
}

/// Where each part of a request sits in the array JavaScript hands over
/// (state.js `wire` builds it): positions rather than property names, so
/// the host looks no name up per request.
mod wire {
    pub const METHOD: usize = 0;
    pub const URL: usize = 1;
    pub const HEADERS: usize = 2;
    pub const BODY: usize = 3;
    pub const NAME: usize = 4;
    pub const TAGS: usize = 5;
    pub const TIMEOUT: usize = 6;
    pub const REDIRECTS: usize = 7;
    pub const EXPECTED: usize = 8;
    pub const DISCARD: usize = 9;
    pub const BINARY: usize = 10;
}

/// The request JavaScript describes: `[method, url, headers: [[k, v]],
/// body, name, tags, timeout, redirects, expected: [[min, max]], discard,
/// binary]` (see [`wire`]; the modules send the method in capitals), and
/// whether it wants the body as an ArrayBuffer.
fn request(spec: &Array<'_>) -> Result<(http::Request, bool)> {
    let method: String = spec.get(wire::METHOD)?;
    let method = match method.as_str() {
        "GET" => http::Method::Get,
        "HEAD" => http::Method::Head,
        "POST" => http::Method::Post,
        "PUT" => http::Method::Put,
        "PATCH" => http::Method::Patch,
        "DELETE" => http::Method::Delete,
        "OPTIONS" => http::Method::Options,
        _ => http::Method::Other(method),
    };
    let body: Value = spec.get(wire::BODY)?;
    let body = if body.is_undefined() || body.is_null() {
        Vec::new()
    } else if let Some(buffer) = ArrayBuffer::from_value(body.clone()) {
        copy_bytes(&buffer)
    } else {
        body.get::<rquickjs::Coerced<String>>()?.0.into_bytes()
    };
    let expected: Option<Vec<Vec<f64>>> = spec.get(wire::EXPECTED)?;
    let headers: Option<Vec<Vec<String>>> = spec.get(wire::HEADERS)?;
    let pair = |mut pair: Vec<String>| {
        let value = pair.pop().unwrap_or_default();
        (pair.pop().unwrap_or_default(), value)
    };
    let range = |pair: Vec<f64>| {
        let bound = |at: usize| pair.get(at).copied().unwrap_or(0.0).clamp(0.0, 65535.0) as u16;
        http::StatusRange { min: bound(0), max: bound(1) }
    };
    let request = http::Request {
        method,
        url: spec.get(wire::URL)?,
        headers: headers.unwrap_or_default().into_iter().map(pair).collect(),
        body,
        name: spec.get(wire::NAME)?,
        tags: tag_list(spec.get(wire::TAGS)?)?,
        timeout_ms: spec.get::<Option<f64>>(wire::TIMEOUT)?.map(|ms| ms.clamp(0.0, f64::from(u32::MAX)) as u32),
        max_redirects: spec.get(wire::REDIRECTS)?,
        expected_statuses: expected.unwrap_or_default().into_iter().map(range).collect(),
        discard_body: spec.get::<Option<bool>>(wire::DISCARD)?.unwrap_or(false),
    };
    Ok((request, spec.get::<Option<bool>>(wire::BINARY)?.unwrap_or(false)))
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
        // k6's code for a host its `blockHostnames` refuses.
        http::Error::Denied(_) => 1111,
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
        http::Error::Denied(_) => "denied",
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
        http::Error::Denied(denial) => denial.message.clone(),
    }
}

/// A header name as k6 shows it (`content-type` as `Content-Type`),
/// appended to `out`.
fn canonical_into(out: &mut String, name: &str) {
    let mut upper = true;
    for c in name.chars() {
        out.push(if upper { c.to_ascii_uppercase() } else { c.to_ascii_lowercase() });
        upper = c == '-';
    }
}

/// How a script's module makes its response objects: `received` and
/// `failed` are constructors (`new received(spec, status, body, url,
/// headers, blocked, connecting, tls_handshaking, sending, waiting,
/// receiving, duration)`, `new failed(spec, message, error_code, kind)`).
/// Building the object in JavaScript from arguments costs a fraction of
/// setting its properties one by one from Rust, and each module shapes it
/// its own way (k6's response, or the vespid module's).
struct Makers<'js> {
    received: Constructor<'js>,
    failed: Constructor<'js>,
}

impl<'js> Makers<'js> {
    /// The response to `request` (made from `spec`, the array handed back
    /// so the object can keep it) as JavaScript sees it. `headers` arrive
    /// as one string of `Name: value` lines (k6's capitalisation), split
    /// only if a script reads them; the URL is the request's own string
    /// unless a redirect changed it; a discarded body is null, a `binary`
    /// one an ArrayBuffer.
    fn make(
        &self,
        ctx: &Ctx<'js>,
        spec: Array<'js>,
        request: &http::Request,
        binary: bool,
        result: std::result::Result<http::Response, http::Error>,
    ) -> Result<Value<'js>> {
        let response = match result {
            Ok(response) => response,
            Err(err) => return self.failed.construct((spec, error_text(&err), error_code(&err), error_kind(&err))),
        };
        let url = if response.url == request.url { spec.get(wire::URL)? } else { response.url.into_js(ctx)? };
        let body = if request.discard_body {
            Value::new_null(ctx.clone())
        } else if binary {
            ArrayBuffer::new(ctx.clone(), response.body)?.into_value()
        } else {
            match String::from_utf8(response.body) {
                Ok(text) => text,
                Err(err) => String::from_utf8_lossy(err.as_bytes()).into_owned(),
            }
            .into_js(ctx)?
        };
        let mut headers = String::new();
        for (name, value) in &response.headers {
            canonical_into(&mut headers, name);
            headers.push_str(": ");
            headers.push_str(value);
            headers.push('\n');
        }
        let t = response.timings;
        let mut args = Args::new(ctx.clone(), 12);
        args.push_arg(spec)?;
        args.push_arg(response.status)?;
        args.push_arg(body)?;
        args.push_arg(url)?;
        args.push_arg(headers)?;
        for timing in [t.blocked, t.connecting, t.tls_handshaking, t.sending, t.waiting, t.receiving, t.duration] {
            args.push_arg(timing)?;
        }
        self.received.construct_args(args)
    }
}

fn send<'js>(
    ctx: Ctx<'js>,
    spec: Array<'js>,
    received: Constructor<'js>,
    failed: Constructor<'js>,
) -> Result<Value<'js>> {
    let (request, binary) = request(&spec)?;
    let result = http::send(&request);
    Makers { received, failed }.make(&ctx, spec, &request, binary, result)
}

/// `[response, id]` of an answer whose verdict the script gives, or the
/// HttpError when no response came.
fn send_unsettled<'js>(
    ctx: Ctx<'js>,
    spec: Array<'js>,
    received: Constructor<'js>,
    failed: Constructor<'js>,
) -> Result<Value<'js>> {
    let (request, binary) = request(&spec)?;
    let makers = Makers { received, failed };
    match http::send_unsettled(&request) {
        Ok((response, id)) => {
            let pair = Array::new(ctx.clone())?;
            pair.set(0, makers.make(&ctx, spec, &request, binary, Ok(response))?)?;
            pair.set(1, id)?;
            Ok(pair.into_value())
        }
        Err(err) => makers.make(&ctx, spec, &request, binary, Err(err)),
    }
}

fn batch<'js>(
    ctx: Ctx<'js>,
    specs: Array<'js>,
    received: Constructor<'js>,
    failed: Constructor<'js>,
) -> Result<Array<'js>> {
    let specs = specs.iter::<Array>().collect::<Result<Vec<_>>>()?;
    let (requests, binaries): (Vec<http::Request>, Vec<bool>) =
        specs.iter().map(request).collect::<Result<Vec<_>>>()?.into_iter().unzip();
    let makers = Makers { received, failed };
    let out = Array::new(ctx.clone())?;
    let results = http::batch(&requests);
    let each = results.into_iter().zip(specs).zip(requests.iter().zip(binaries));
    for (index, ((result, spec), (request, binary))) in each.enumerate() {
        out.set(index, makers.make(&ctx, spec, request, binary, result)?)?;
    }
    Ok(out)
}
