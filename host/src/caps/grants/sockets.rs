//! `allowed-sockets` patterns for `wasi:sockets`: `tcp://ADDRESS:PORT` or
//! `udp://…`, the address an address or a range (`10.0.0.0/8`,
//! `[fd00::]/8`), the port a number or `*`. Names are not allowed: name
//! lookup stays off, so a granted address is exactly what is reached.

use std::fmt;
use std::net::{IpAddr, SocketAddr};

use ipnet::IpNet;
use wasmtime_wasi::sockets::SocketAddrUse;

/// One `allowed-sockets` pattern.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SocketPattern {
    text: String,
    udp: bool,
    range: IpNet,
    /// `None`: any port.
    port: Option<u16>,
}

impl SocketPattern {
    pub fn parse(text: &str) -> Result<SocketPattern, String> {
        let pattern = text.trim();
        let invalid = |why: &str| format!("{pattern:?}: {why}");
        let (udp, rest) = match pattern.split_once("://") {
            Some(("tcp", rest)) => (false, rest),
            Some(("udp", rest)) => (true, rest),
            _ => return Err(invalid("a socket pattern is tcp://ADDRESS:PORT or udp://ADDRESS:PORT")),
        };
        let (host, port) = rest.rsplit_once(':').ok_or_else(|| invalid("it needs a port (a number or *)"))?;
        let port = match port {
            "*" => None,
            number => {
                Some(number.parse::<u16>().ok().filter(|p| *p > 0).ok_or_else(|| invalid("not a port number or *"))?)
            }
        };
        let bare = host.replace(['[', ']'], "");
        let range = match (bare.parse::<IpNet>(), bare.parse::<IpAddr>()) {
            (Ok(range), _) => range.trunc(),
            (_, Ok(address)) => IpNet::from(address),
            _ => return Err(invalid("the host is an address or a range (names are not looked up)")),
        };
        Ok(SocketPattern { text: pattern.to_string(), udp, range, port })
    }

    pub fn is_udp(&self) -> bool {
        self.udp
    }

    fn covers(&self, udp: bool, address: SocketAddr) -> bool {
        self.udp == udp && self.range.contains(&address.ip()) && self.port.is_none_or(|p| p == address.port())
    }
}

impl fmt::Display for SocketPattern {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

/// Whether `patterns` let a socket use `address` this way: connections,
/// datagrams sent and received to and from a granted address; binds only
/// to an unspecified address and port (the implicit bind before connecting
/// or sending); never listening or accepting.
pub fn allows(patterns: &[SocketPattern], address: SocketAddr, usage: SocketAddrUse) -> bool {
    let granted = |udp| patterns.iter().any(|p| p.covers(udp, address));
    match usage {
        SocketAddrUse::TcpConnect => granted(false),
        SocketAddrUse::UdpSend | SocketAddrUse::UdpReceive => granted(true),
        SocketAddrUse::TcpBind | SocketAddrUse::UdpBind => address.ip().is_unspecified() && address.port() == 0,
        SocketAddrUse::TcpListen | SocketAddrUse::TcpAccept => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn addresses_ports_and_uses() {
        let patterns: Vec<SocketPattern> =
            ["tcp://127.0.0.1:6379", "udp://10.0.0.0/8:*"].iter().map(|t| SocketPattern::parse(t).unwrap()).collect();
        let at = |text: &str| text.parse::<SocketAddr>().unwrap();
        assert!(allows(&patterns, at("127.0.0.1:6379"), SocketAddrUse::TcpConnect));
        assert!(!allows(&patterns, at("127.0.0.1:6380"), SocketAddrUse::TcpConnect));
        assert!(!allows(&patterns, at("127.0.0.1:6379"), SocketAddrUse::UdpSend), "tcp only");
        assert!(allows(&patterns, at("10.9.8.7:53"), SocketAddrUse::UdpSend));
        assert!(allows(&patterns, at("0.0.0.0:0"), SocketAddrUse::TcpBind));
        assert!(!allows(&patterns, at("127.0.0.1:8080"), SocketAddrUse::TcpBind), "no fixed bind");
        assert!(!allows(&patterns, at("127.0.0.1:6379"), SocketAddrUse::TcpListen));
        for bad in ["http://127.0.0.1:1", "tcp://127.0.0.1", "tcp://redis:6379", "tcp://127.0.0.1:0"] {
            assert!(SocketPattern::parse(bad).is_err(), "{bad}");
        }
    }
}
