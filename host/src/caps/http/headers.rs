//! The request one hop sends: the guest's header lines as given (a repeated
//! name stays repeated lines), the defaults (`Host`, `User-Agent`) only for
//! names the guest did not set, and one `Cookie` line that merges the
//! guest's cookies with the VU's jar (as k6 does: the guest's first).

use bytes::Bytes;
use http::HeaderMap;
use http::header::{self, HeaderName, HeaderValue};
use http_body_util::Full;

use super::target::Target;
use crate::bindings::http::{Error as HttpError, Method};

pub fn method(method: &Method) -> Result<http::Method, HttpError> {
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

/// The guest's header lines, repeated names kept.
pub fn header_map(pairs: &[(String, String)]) -> Result<HeaderMap, HttpError> {
    let mut map = HeaderMap::with_capacity(pairs.len());
    for (name, value) in pairs {
        let name = HeaderName::from_bytes(name.as_bytes())
            .map_err(|_| HttpError::InvalidUrl(format!("invalid header name {name:?}")))?;
        map.append(name, header_value(value)?);
    }
    Ok(map)
}

pub fn header_value(value: &str) -> Result<HeaderValue, HttpError> {
    HeaderValue::from_str(value).map_err(|_| HttpError::InvalidUrl(format!("invalid header value {value:?}")))
}

/// The hop's request to `target`: `headers` are the guest's (as the hop
/// left them), `jar` the VU's cookies for the URL as (name, value).
pub fn build<'a>(
    method: &http::Method,
    target: &Target,
    headers: &HeaderMap,
    user_agent: &HeaderValue,
    jar: impl Iterator<Item = (&'a str, &'a str)>,
    body: Bytes,
) -> Result<http::Request<Full<Bytes>>, HttpError> {
    let body_len = body.len();
    let mut request = http::Request::new(Full::new(body));
    *request.method_mut() = method.clone();
    *request.uri_mut() = target.path.clone();
    let out = request.headers_mut();
    out.reserve(headers.len() + 4);
    if !headers.contains_key(header::HOST) {
        out.insert(header::HOST, target.host.clone());
    }
    if !headers.contains_key(header::USER_AGENT) {
        out.insert(header::USER_AGENT, user_agent.clone());
    }
    for (name, value) in headers.iter().filter(|(name, _)| *name != header::COOKIE) {
        out.append(name, value.clone());
    }
    if let Some(cookie) = cookie_line(headers.get_all(header::COOKIE), jar)? {
        out.insert(header::COOKIE, cookie);
    }
    if body_len > 0 || matches!(*method, http::Method::POST | http::Method::PUT | http::Method::PATCH) {
        // The body's real length, whatever the guest wrote: a wrong one would
        // desynchronise the connection.
        out.insert(header::CONTENT_LENGTH, HeaderValue::from(body_len));
    }
    Ok(request)
}

/// One `Cookie` value: the guest's cookie lines, then the jar's pairs; none
/// when both are empty. Built in one buffer, as most requests carry one.
fn cookie_line<'a>(
    guest: header::GetAll<'_, HeaderValue>,
    jar: impl Iterator<Item = (&'a str, &'a str)>,
) -> Result<Option<HeaderValue>, HttpError> {
    fn separate(line: &mut Vec<u8>) {
        if !line.is_empty() {
            line.extend_from_slice(b"; ");
        }
    }
    let mut line: Vec<u8> = Vec::new();
    for value in guest {
        separate(&mut line);
        line.extend_from_slice(value.as_bytes());
    }
    for (name, value) in jar {
        separate(&mut line);
        line.extend_from_slice(name.as_bytes());
        line.push(b'=');
        line.extend_from_slice(value.as_bytes());
    }
    if line.is_empty() {
        return Ok(None);
    }
    HeaderValue::from_bytes(&line)
        .map(Some)
        .map_err(|_| HttpError::InvalidUrl(format!("invalid cookie {:?}", String::from_utf8_lossy(&line))))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn target() -> std::sync::Arc<Target> {
        Target::new("http://example.test:8080/a?b=1".parse().unwrap()).unwrap()
    }

    fn lines(request: &http::Request<Full<Bytes>>, name: &str) -> Vec<String> {
        request.headers().get_all(name).iter().map(|v| v.to_str().unwrap().to_string()).collect()
    }

    fn headers(pairs: &[(&str, &str)]) -> HeaderMap {
        header_map(&pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect::<Vec<_>>()).unwrap()
    }

    #[test]
    fn repeated_headers_stay_repeated_and_defaults_fill_only_unset_names() {
        let ua = HeaderValue::from_static("vespid/test");
        let guest =
            headers(&[("Accept", "a"), ("X-Forwarded-For", "1.1.1.1"), ("accept", "b"), ("User-Agent", "mine")]);
        let request = build(&http::Method::GET, &target(), &guest, &ua, std::iter::empty(), Bytes::new()).unwrap();
        assert_eq!(lines(&request, "accept"), ["a", "b"]);
        assert_eq!(lines(&request, "user-agent"), ["mine"]);
        assert_eq!(lines(&request, "host"), ["example.test:8080"]);
        assert!(request.headers().get("content-length").is_none(), "a GET without body has none");

        let guest = headers(&[("Host", "other.test")]);
        let request = build(&http::Method::POST, &target(), &guest, &ua, std::iter::empty(), Bytes::new()).unwrap();
        assert_eq!(lines(&request, "host"), ["other.test"]);
        assert_eq!(lines(&request, "user-agent"), ["vespid/test"]);
        assert_eq!(lines(&request, "content-length"), ["0"]);
        assert_eq!(request.uri(), "/a?b=1");
    }

    #[test]
    fn the_guests_cookies_merge_with_the_jar_into_one_line() {
        let ua = HeaderValue::from_static("vespid/test");
        let jar = [("session", "s1"), ("theme", "dark")];
        let guest = headers(&[("Cookie", "user=2"), ("Cookie", "lang=en")]);
        let request = build(&http::Method::GET, &target(), &guest, &ua, jar.into_iter(), Bytes::new()).unwrap();
        assert_eq!(lines(&request, "cookie"), ["user=2; lang=en; session=s1; theme=dark"]);

        let request =
            build(&http::Method::GET, &target(), &HeaderMap::new(), &ua, jar.into_iter(), Bytes::new()).unwrap();
        assert_eq!(lines(&request, "cookie"), ["session=s1; theme=dark"]);
        let request =
            build(&http::Method::GET, &target(), &HeaderMap::new(), &ua, std::iter::empty(), Bytes::new()).unwrap();
        assert!(request.headers().get("cookie").is_none());
    }

    #[test]
    fn bad_names_values_and_methods_are_invalid_requests() {
        let pair = |k: &str, v: &str| vec![(k.to_string(), v.to_string())];
        assert!(matches!(header_map(&pair("bad name", "x")), Err(HttpError::InvalidUrl(m)) if m.contains("bad name")));
        assert!(matches!(header_map(&pair("x", "a\nb")), Err(HttpError::InvalidUrl(_))));
        assert!(matches!(method(&Method::Other("NO SPACE".into())), Err(HttpError::InvalidUrl(_))));
        assert_eq!(method(&Method::Other("PROPFIND".into())).unwrap().as_str(), "PROPFIND");
    }
}
