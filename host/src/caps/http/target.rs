//! A request URL parsed once: its origin (the key of a VU's kept
//! connections, and what a redirect compares to decide whether credentials
//! may follow), its request target in origin form and its `Host` value.

use std::sync::Arc;

use http::HeaderValue;
use url::{Position, Url};

use super::headers::header_value;
use crate::bindings::http::Error as HttpError;

/// Scheme, host and port.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Origin {
    pub https: bool,
    pub host: String,
    pub port: u16,
}

impl Origin {
    pub fn of(url: &Url) -> Result<Origin, HttpError> {
        let https = match url.scheme() {
            "http" => false,
            "https" => true,
            other => return Err(HttpError::InvalidUrl(format!("unsupported scheme {other:?} in {url}"))),
        };
        let host = url.host_str().ok_or_else(|| HttpError::InvalidUrl(format!("no host in {url}")))?;
        let port = url.port_or_known_default().unwrap_or(if https { 443 } else { 80 });
        Ok(Origin { https, host: host.to_string(), port })
    }

    /// The origin of URL text, for grouping requests before they are sent.
    pub fn parse(text: &str) -> Result<Origin, HttpError> {
        let url = Url::parse(text).map_err(|err| HttpError::InvalidUrl(format!("{text:?}: {err}")))?;
        Origin::of(&url)
    }
}

/// A URL with the parts every request to it needs.
pub struct Target {
    pub url: Url,
    pub origin: Origin,
    /// The request target in origin form: path and query.
    pub path: http::Uri,
    pub host: HeaderValue,
}

impl Target {
    pub fn new(url: Url) -> Result<Arc<Target>, HttpError> {
        let origin = Origin::of(&url)?;
        let path = url[Position::BeforePath..Position::AfterQuery]
            .parse()
            .map_err(|err| HttpError::InvalidUrl(format!("{url}: {err}")))?;
        let host = header_value(&url[Position::BeforeHost..Position::AfterPort])?;
        Ok(Arc::new(Target { url, origin, path, host }))
    }

    /// The default `name` tag: the URL without its query string.
    pub fn name(&self) -> &str {
        &self.url[..Position::AfterPath]
    }
}
