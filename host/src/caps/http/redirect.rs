//! Which responses are followed, and what the next hop sends. Only 301,
//! 302, 303, 307 and 308 with a `Location` are followed (a 300 or 304 is
//! the answer). Once a redirect changes origin (scheme, host or port), the
//! guest's `Authorization`, `Cookie`, `Proxy-Authorization` and `Host`
//! stay behind, as Go's client (k6's) and browsers do; the jar's cookies
//! still go wherever they belong. 303, and 301 or 302 after a POST,
//! continue as a GET without the body and its `Content-*` and
//! `Transfer-Encoding` headers; 307 and 308 keep the method and the body.

use std::sync::Arc;

use bytes::Bytes;
use http::header::{self, HeaderMap, HeaderName};
use http::{Method, StatusCode};

use super::target::Target;

/// What one hop sends: the request as the redirects so far left it.
pub struct Hop {
    pub method: Method,
    pub target: Arc<Target>,
    /// The guest's headers (defaults and cookies are added per hop).
    pub headers: HeaderMap,
    pub body: Bytes,
}

/// Where a response sends the request next, if it is a redirect to follow.
pub fn location(status: StatusCode, headers: &HeaderMap) -> Option<&str> {
    match status.as_u16() {
        301 | 302 | 303 | 307 | 308 => headers.get(header::LOCATION)?.to_str().ok(),
        _ => None,
    }
}

impl Hop {
    /// Turns this hop into the next one, after a `status` redirect to `next`.
    pub fn follow(&mut self, status: StatusCode, next: Arc<Target>) {
        if next.origin != self.target.origin {
            for name in [header::AUTHORIZATION, header::COOKIE, header::PROXY_AUTHORIZATION, header::HOST] {
                self.headers.remove(name);
            }
        }
        let becomes_get = match status.as_u16() {
            303 => self.method != Method::HEAD,
            301 | 302 => self.method == Method::POST,
            _ => false,
        };
        if becomes_get {
            self.method = Method::GET;
            self.body = Bytes::new();
            let body_headers: Vec<HeaderName> = self
                .headers
                .keys()
                .filter(|name| name.as_str().starts_with("content-") || *name == header::TRANSFER_ENCODING)
                .cloned()
                .collect();
            for name in body_headers {
                self.headers.remove(name);
            }
        }
        self.target = next;
    }
}

#[cfg(test)]
mod tests {
    use super::super::headers::header_map;
    use super::*;

    fn target(url: &str) -> Arc<Target> {
        Target::new(url.parse().unwrap()).unwrap()
    }

    fn post() -> Hop {
        let pairs = [
            ("Authorization", "Bearer t"),
            ("Cookie", "user=1"),
            ("Proxy-Authorization", "Basic p"),
            ("Host", "custom.test"),
            ("Content-Type", "text/plain"),
            ("X-Keep", "1"),
        ];
        let pairs: Vec<(String, String)> = pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
        Hop {
            method: Method::POST,
            target: target("http://a.test/start"),
            headers: header_map(&pairs).unwrap(),
            body: Bytes::from_static(b"payload"),
        }
    }

    fn names(hop: &Hop) -> Vec<&str> {
        let mut names: Vec<&str> = hop.headers.keys().map(HeaderName::as_str).collect();
        names.sort_unstable();
        names
    }

    #[test]
    fn only_the_five_redirect_statuses_with_a_location_are_followed() {
        let mut headers = HeaderMap::new();
        headers.insert(header::LOCATION, "/next".parse().unwrap());
        for code in [301, 302, 303, 307, 308] {
            assert_eq!(location(StatusCode::from_u16(code).unwrap(), &headers), Some("/next"), "{code}");
        }
        for code in [200, 300, 304, 305, 399] {
            assert_eq!(location(StatusCode::from_u16(code).unwrap(), &headers), None, "{code}");
        }
        assert_eq!(location(StatusCode::FOUND, &HeaderMap::new()), None);
    }

    #[test]
    fn credentials_and_host_stay_behind_when_the_origin_changes() {
        let mut hop = post();
        hop.follow(StatusCode::TEMPORARY_REDIRECT, target("http://a.test/same-origin"));
        assert_eq!(names(&hop).len(), 6, "same origin: every header follows");
        for other in ["https://a.test/", "http://a.test:8080/", "http://b.test/"] {
            let mut hop = post();
            hop.follow(StatusCode::TEMPORARY_REDIRECT, target(other));
            assert_eq!(names(&hop), ["content-type", "x-keep"], "{other}");
            // And on every later hop, back on the first origin too.
            hop.follow(StatusCode::TEMPORARY_REDIRECT, target("http://a.test/back"));
            assert_eq!(names(&hop), ["content-type", "x-keep"], "{other}");
        }
    }

    #[test]
    fn see_other_and_post_redirects_become_bodiless_gets_while_307_and_308_keep_both() {
        for code in [303, 301, 302] {
            let mut hop = post();
            hop.follow(StatusCode::from_u16(code).unwrap(), target("http://a.test/next"));
            assert_eq!((hop.method.as_str(), hop.body.len()), ("GET", 0), "{code}");
            assert!(!hop.headers.contains_key(header::CONTENT_TYPE), "{code}");
            assert!(hop.headers.contains_key("x-keep"), "{code}");
        }
        for code in [307, 308] {
            let mut hop = post();
            hop.follow(StatusCode::from_u16(code).unwrap(), target("http://a.test/next"));
            assert_eq!((hop.method.as_str(), &hop.body[..]), ("POST", &b"payload"[..]), "{code}");
            assert!(hop.headers.contains_key(header::CONTENT_TYPE), "{code}");
        }
        let mut put = post();
        put.method = Method::PUT;
        put.follow(StatusCode::FOUND, target("http://a.test/next"));
        assert_eq!(put.method, Method::PUT, "301/302 change only a POST");
        let mut head = post();
        head.method = Method::HEAD;
        head.follow(StatusCode::SEE_OTHER, target("http://a.test/next"));
        assert_eq!(head.method, Method::HEAD, "303 after HEAD stays HEAD");
    }
}
