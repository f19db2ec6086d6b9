//! The run-wide DNS cache: a host name is resolved once per TTL, not once
//! per connection. Only new connections consult it, never reused ones.

use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::sync::RwLock;
use std::time::{Duration, Instant};

/// How long a resolved name is reused (k6's default DNS TTL).
const TTL: Duration = Duration::from_secs(300);

#[derive(Default)]
pub struct DnsCache {
    entries: RwLock<HashMap<String, (Vec<IpAddr>, Instant)>>,
}

impl DnsCache {
    /// Addresses for `host:port`; IP literals skip the cache.
    pub async fn resolve(&self, host: &str, port: u16) -> Result<Vec<SocketAddr>, String> {
        let bare = host.trim_start_matches('[').trim_end_matches(']');
        if let Ok(ip) = bare.parse::<IpAddr>() {
            return Ok(vec![SocketAddr::new(ip, port)]);
        }
        let cached = self.entries.read().unwrap_or_else(|e| e.into_inner()).get(host).cloned();
        let ips = match cached {
            Some((ips, at)) if at.elapsed() < TTL => ips,
            _ => {
                let addrs = tokio::net::lookup_host((host, port)).await.map_err(|err| format!("{host}: {err}"))?;
                let ips: Vec<IpAddr> = addrs.map(|a| a.ip()).collect();
                if ips.is_empty() {
                    return Err(format!("{host}: no addresses"));
                }
                self.entries
                    .write()
                    .unwrap_or_else(|e| e.into_inner())
                    .insert(host.to_string(), (ips.clone(), Instant::now()));
                ips
            }
        };
        Ok(ips.into_iter().map(|ip| SocketAddr::new(ip, port)).collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn literals_and_localhost_resolve() {
        let dns = DnsCache::default();
        assert_eq!(dns.resolve("127.0.0.1", 80).await.unwrap(), vec!["127.0.0.1:80".parse().unwrap()]);
        assert_eq!(dns.resolve("[::1]", 8080).await.unwrap(), vec!["[::1]:8080".parse().unwrap()]);
        let local = dns.resolve("localhost", 81).await.unwrap();
        assert!(local.iter().all(|a| a.ip().is_loopback() && a.port() == 81));
        assert!(dns.entries.read().unwrap().contains_key("localhost"));
        assert!(dns.resolve("no-such-host.invalid", 80).await.is_err());
    }
}
