//! `allowed-hosts` patterns, as Spin's `allowed_outbound_hosts` writes
//! them: `scheme://host:port`, the scheme `http`, `https` or `*`, the host
//! a name, `*.` and a domain (its subdomains), `*`, an address or an
//! address range (`10.0.0.0/8`, `[fd00::]/8`), the port a number or `*`
//! (left out: the scheme's default). Without `scheme://` a pattern means
//! both schemes; a bare range (`127.0.0.0/8`) any scheme and port.

use std::fmt;
use std::net::IpAddr;

use ipnet::IpNet;

/// One `allowed-hosts` pattern.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HostPattern {
    text: String,
    scheme: Scheme,
    host: HostMatch,
    port: PortMatch,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Scheme {
    Http,
    Https,
    Any,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum HostMatch {
    /// A host name, lower case.
    Name(String),
    /// `*.domain`: names ending in `.domain`.
    Subdomains(String),
    Any,
    /// An address range; an address is a range of one.
    Range(IpNet),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum PortMatch {
    Default,
    Is(u16),
    Any,
}

/// Where a request may go, as far as its origin tells.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Reach {
    /// A pattern grants the origin itself.
    Granted,
    /// Only ranges could grant it: each address the host name resolves to
    /// must lie in one of these (checked on every connection).
    IfAddressIn(Vec<IpNet>),
    Denied,
}

impl HostPattern {
    pub fn parse(text: &str) -> Result<HostPattern, String> {
        let pattern = text.trim();
        let invalid = |why: &str| format!("{pattern:?}: {why}");
        let (scheme, rest) = match pattern.split_once("://") {
            Some(("http", rest)) => (Scheme::Http, rest),
            Some(("https", rest)) => (Scheme::Https, rest),
            Some(("*", rest)) => (Scheme::Any, rest),
            Some((other, _)) => return Err(invalid(&format!("unknown scheme {other:?} (http, https or *)"))),
            None => (Scheme::Any, pattern),
        };
        if rest.contains(['?', '#']) {
            return Err(invalid("a pattern is scheme://host:port, without a path"));
        }
        let (host, port) = split_port(rest).map_err(|why| invalid(&why))?;
        let host = parse_host(host).map_err(|why| invalid(&why))?;
        // A bare range is any port; a bare name its scheme's default.
        let port = match (port, &host, pattern.contains("://")) {
            (None, HostMatch::Range(_), false) => PortMatch::Any,
            (None, _, _) => PortMatch::Default,
            (Some("*"), _, _) => PortMatch::Any,
            (Some(port), _, _) => match port.parse::<u16>() {
                Ok(port) if port > 0 => PortMatch::Is(port),
                _ => return Err(invalid(&format!("port {port:?} is not a port number or *"))),
            },
        };
        Ok(HostPattern { text: pattern.to_string(), scheme, host, port })
    }

    /// Whether the pattern covers scheme and port of an origin, leaving
    /// the host aside.
    fn covers(&self, https: bool, port: u16) -> bool {
        let scheme = match self.scheme {
            Scheme::Any => true,
            Scheme::Http => !https,
            Scheme::Https => https,
        };
        let default = if https { 443 } else { 80 };
        scheme
            && match self.port {
                PortMatch::Any => true,
                PortMatch::Default => port == default,
                PortMatch::Is(p) => p == port,
            }
    }
}

impl fmt::Display for HostPattern {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

/// `host` and the text after its `:`, if any; IPv6 hosts are in brackets,
/// a range's prefix length after them (`[fd00::]/8:80`).
fn split_port(text: &str) -> Result<(&str, Option<&str>), String> {
    if !text.starts_with('[') {
        return Ok(match text.split_once(':') {
            Some((host, port)) => (host, Some(port)),
            None => (text, None),
        });
    }
    let mut host_end = text.find(']').ok_or("an IPv6 address needs its closing ]")? + 1;
    if let Some(prefix) = text[host_end..].strip_prefix('/') {
        host_end += 1 + prefix.find(':').unwrap_or(prefix.len());
    }
    match text[host_end..].strip_prefix(':') {
        Some(port) => Ok((&text[..host_end], Some(port))),
        None if host_end == text.len() => Ok((text, None)),
        None => Err("a pattern is scheme://host:port, without a path".into()),
    }
}

fn parse_host(host: &str) -> Result<HostMatch, String> {
    let bare = host.replace(['[', ']'], "");
    if host == "*" {
        return Ok(HostMatch::Any);
    }
    if let Ok(range) = bare.parse::<IpNet>() {
        return Ok(HostMatch::Range(range.trunc()));
    }
    if let Ok(address) = bare.parse::<IpAddr>() {
        return Ok(HostMatch::Range(IpNet::from(address)));
    }
    if let Some((address, _)) = bare.split_once('/') {
        return Err(match address.parse::<IpAddr>() {
            Ok(_) => format!("{host:?} is not an address range"),
            Err(_) => "a pattern is scheme://host:port, without a path".into(),
        });
    }
    let name = host.to_ascii_lowercase();
    let valid = |name: &str| {
        !name.is_empty() && name.split('.').all(|label| !label.is_empty() && label.chars().all(is_name_char))
    };
    match name.strip_prefix("*.") {
        Some(domain) if valid(domain) => Ok(HostMatch::Subdomains(domain.to_string())),
        None if valid(&name) => Ok(HostMatch::Name(name)),
        _ => Err(format!("{host:?} is not a host name, *.domain, * or an address range")),
    }
}

fn is_name_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || c == '-' || c == '_'
}

/// Where `patterns` let a request to this origin go.
pub fn reach(patterns: &[HostPattern], https: bool, host: &str, port: u16) -> Reach {
    let host = host.trim_matches(['[', ']']).to_ascii_lowercase();
    let address = host.parse::<IpAddr>().ok();
    let mut ranges = Vec::new();
    for pattern in patterns.iter().filter(|p| p.covers(https, port)) {
        let granted = match (&pattern.host, address) {
            (HostMatch::Any, _) => true,
            (HostMatch::Name(name), _) => *name == host,
            (HostMatch::Subdomains(domain), None) => {
                host.strip_suffix(domain.as_str()).is_some_and(|head| head.len() > 1 && head.ends_with('.'))
            }
            (HostMatch::Subdomains(_), Some(_)) => false,
            (HostMatch::Range(range), Some(address)) => range.contains(&address),
            (HostMatch::Range(range), None) => {
                ranges.push(*range);
                false
            }
        };
        if granted {
            return Reach::Granted;
        }
    }
    if ranges.is_empty() { Reach::Denied } else { Reach::IfAddressIn(ranges) }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn patterns(texts: &[&str]) -> Vec<HostPattern> {
        texts.iter().map(|t| HostPattern::parse(t).unwrap()).collect()
    }

    #[test]
    fn names_schemes_and_ports() {
        let p = patterns(&["https://api.example.com", "http://localhost:8080", "*://*.test:*"]);
        assert_eq!(reach(&p, true, "api.example.com", 443), Reach::Granted);
        assert_eq!(reach(&p, false, "api.example.com", 80), Reach::Denied, "https only");
        assert_eq!(reach(&p, true, "api.example.com", 8443), Reach::Denied, "default port only");
        assert_eq!(reach(&p, false, "LOCALHOST", 8080), Reach::Granted);
        assert_eq!(reach(&p, false, "localhost", 8081), Reach::Denied);
        assert_eq!(reach(&p, true, "a.b.test", 9), Reach::Granted);
        assert_eq!(reach(&p, true, "test", 9), Reach::Denied, "*.test is its subdomains");
        assert_eq!(reach(&p, true, "xtest", 9), Reach::Denied);
        // Without a scheme: both, each on its default port.
        let p = patterns(&["example.org"]);
        assert_eq!(
            (reach(&p, false, "example.org", 80), reach(&p, true, "example.org", 443)),
            (Reach::Granted, Reach::Granted)
        );
        assert_eq!(reach(&p, false, "example.org", 443), Reach::Denied);
    }

    #[test]
    fn ranges_grant_addresses_and_names_only_through_what_they_resolve_to() {
        let p = patterns(&["127.0.0.0/8", "http://[fd00::]/8:8080", "https://10.1.2.3"]);
        assert_eq!(reach(&p, false, "127.9.9.9", 1), Reach::Granted, "a bare range is any scheme and port");
        assert_eq!(reach(&p, false, "[fd12::1]", 8080), Reach::Granted);
        assert_eq!(reach(&p, false, "[fd12::1]", 8081), Reach::Denied);
        assert_eq!(reach(&p, true, "10.1.2.3", 443), Reach::Granted);
        assert_eq!(reach(&p, true, "10.1.2.4", 443), Reach::Denied);
        let Reach::IfAddressIn(ranges) = reach(&p, false, "localhost", 8080) else {
            panic!("a name needs its addresses")
        };
        assert_eq!(ranges.len(), 2);
    }

    #[test]
    fn bad_patterns_say_what_is_wrong() {
        for (text, why) in [
            ("ftp://x", "unknown scheme"),
            ("http://x/path", "without a path"),
            ("http://x:port", "not a port number"),
            ("http://x:0", "not a port number"),
            ("http://*x.com", "not a host name"),
            ("10.0.0.0/33", "not an address range"),
            ("http://[::1", "closing ]"),
            ("", "not a host name"),
        ] {
            let err = HostPattern::parse(text).unwrap_err();
            assert!(err.contains(why), "{text}: {err}");
        }
    }
}
