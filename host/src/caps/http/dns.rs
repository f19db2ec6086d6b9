//! Name resolution for new connections, as k6's `dns` option describes it:
//! a run-wide cache (one look-up per host per `ttl`, shared by every VU; a
//! host's concurrent look-ups share one `getaddrinfo`), the address family
//! `policy`, and how each new connection `select`s among a host's
//! addresses. Reused connections never resolve.

use std::collections::HashMap;
use std::future::Future;
use std::net::{IpAddr, SocketAddr};
use std::str::FromStr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};

use tokio::sync::OnceCell;

/// k6's `dns` option; `FromStr` reads k6's string form
/// `select=first,ttl=1m,policy=any` (keys in any order, each optional).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DnsOptions {
    pub select: Select,
    /// How long a host's addresses are reused; `None`: for the whole run
    /// (`ttl=inf`); zero: look up for every new connection.
    pub ttl: Option<Duration>,
    pub policy: Policy,
}

impl Default for DnsOptions {
    /// k6's defaults: `select=random,ttl=5m,policy=preferIPv4`.
    fn default() -> Self {
        DnsOptions { select: Select::Random, ttl: Some(Duration::from_secs(300)), policy: Policy::PreferIPv4 }
    }
}

/// Which of a host's addresses a new connection tries first (the others
/// follow, in order, if it cannot connect).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Select {
    First,
    Random,
    /// Each new connection to the host, from any VU, takes the next address.
    RoundRobin,
}

/// Which address families are used.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Policy {
    /// IPv4 addresses if the host has any, else IPv6.
    PreferIPv4,
    PreferIPv6,
    OnlyIPv4,
    OnlyIPv6,
    /// Every address, in the resolver's order.
    Any,
}

impl FromStr for DnsOptions {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, String> {
        let mut options = DnsOptions::default();
        for part in text.split(',').map(str::trim).filter(|part| !part.is_empty()) {
            let Some((key, value)) = part.split_once('=') else {
                return Err(format!("invalid dns option {part:?}: use KEY=VALUE, e.g. select=first,ttl=1m,policy=any"));
            };
            let (key, value) = (key.trim(), value.trim());
            let invalid = |choices: &str| format!("invalid dns {key} {value:?}: use {choices}");
            match key {
                "select" => {
                    options.select = match value {
                        "first" => Select::First,
                        "random" => Select::Random,
                        "roundRobin" => Select::RoundRobin,
                        _ => return Err(invalid("first, random or roundRobin")),
                    }
                }
                "ttl" => {
                    options.ttl = match value {
                        "inf" => None,
                        "0" => Some(Duration::ZERO),
                        _ => Some(
                            humantime::parse_duration(value).map_err(|_| invalid("a duration (e.g. 1m), 0 or inf"))?,
                        ),
                    }
                }
                "policy" => {
                    options.policy = match value {
                        "preferIPv4" => Policy::PreferIPv4,
                        "preferIPv6" => Policy::PreferIPv6,
                        "onlyIPv4" => Policy::OnlyIPv4,
                        "onlyIPv6" => Policy::OnlyIPv6,
                        "any" => Policy::Any,
                        _ => return Err(invalid("preferIPv4, preferIPv6, onlyIPv4, onlyIPv6 or any")),
                    }
                }
                _ => return Err(format!("unknown dns option {key:?}: use select, ttl or policy")),
            }
        }
        Ok(options)
    }
}

impl Policy {
    /// The addresses this policy uses, or why there is none.
    fn apply(self, ips: Vec<IpAddr>) -> Result<Vec<IpAddr>, &'static str> {
        let (v4, v6): (Vec<IpAddr>, Vec<IpAddr>) = ips.iter().partition(|ip| ip.is_ipv4());
        let chosen = match self {
            Policy::PreferIPv4 if v4.is_empty() => v6,
            Policy::PreferIPv4 | Policy::OnlyIPv4 => v4,
            Policy::PreferIPv6 if v6.is_empty() => v4,
            Policy::PreferIPv6 | Policy::OnlyIPv6 => v6,
            Policy::Any => ips,
        };
        if chosen.is_empty() {
            return Err(match self {
                Policy::OnlyIPv4 => "no IPv4 address (dns policy=onlyIPv4)",
                Policy::OnlyIPv6 => "no IPv6 address (dns policy=onlyIPv6)",
                _ => "no addresses",
            });
        }
        Ok(chosen)
    }
}

impl Select {
    /// The index of the address to try first among `len` (at least 1).
    fn first(self, len: usize, rotation: &AtomicUsize) -> usize {
        match self {
            Select::First => 0,
            Select::Random => fastrand::usize(..len),
            Select::RoundRobin => rotation.fetch_add(1, Ordering::Relaxed) % len,
        }
    }
}

/// One host's look-up: in flight until the cell is set.
#[derive(Default)]
struct Entry {
    looked_up: OnceCell<LookUp>,
    /// The next address for `roundRobin`.
    rotation: AtomicUsize,
}

struct LookUp {
    at: Instant,
    addresses: Result<Vec<IpAddr>, String>,
}

/// The run-wide cache.
pub struct DnsCache {
    options: DnsOptions,
    entries: RwLock<HashMap<String, Arc<Entry>>>,
}

impl DnsCache {
    pub fn new(options: DnsOptions) -> Self {
        DnsCache { options, entries: RwLock::default() }
    }

    /// Addresses for `host:port`, the one to try first first. IP literals
    /// skip the cache.
    pub async fn resolve(&self, host: &str, port: u16) -> Result<Vec<SocketAddr>, String> {
        self.resolve_with(host, port, |host| async move {
            Ok(tokio::net::lookup_host((host.as_str(), 0)).await?.map(|addr| addr.ip()).collect())
        })
        .await
    }

    async fn resolve_with<F, Fut>(&self, host: &str, port: u16, look_up: F) -> Result<Vec<SocketAddr>, String>
    where
        F: FnOnce(String) -> Fut,
        Fut: Future<Output = std::io::Result<Vec<IpAddr>>>,
    {
        let bare = host.trim_start_matches('[').trim_end_matches(']');
        if let Ok(ip) = bare.parse::<IpAddr>() {
            return Ok(vec![SocketAddr::new(ip, port)]);
        }
        let entry = self.entry(host);
        let policy = self.options.policy;
        let done = entry
            .looked_up
            .get_or_init(|| async move {
                let addresses = match look_up(host.to_string()).await {
                    Ok(ips) => policy.apply(ips).map_err(|why| format!("{host}: {why}")),
                    Err(err) => Err(format!("{host}: {err}")),
                };
                LookUp { at: Instant::now(), addresses }
            })
            .await;
        let ips = done.addresses.as_ref().map_err(Clone::clone)?;
        let first = self.options.select.first(ips.len(), &entry.rotation);
        Ok(ips[first..].iter().chain(&ips[..first]).map(|&ip| SocketAddr::new(ip, port)).collect())
    }

    /// The host's current entry: a look-up in flight or still fresh, else a
    /// new one. A failed look-up is shared only by those who waited for it.
    fn entry(&self, host: &str) -> Arc<Entry> {
        let fresh = |entry: &Arc<Entry>| match entry.looked_up.get() {
            None => true,
            Some(done) => done.addresses.is_ok() && self.options.ttl.is_none_or(|ttl| done.at.elapsed() < ttl),
        };
        if let Some(entry) = self.entries.read().unwrap_or_else(|e| e.into_inner()).get(host).filter(|e| fresh(e)) {
            return entry.clone();
        }
        let mut entries = self.entries.write().unwrap_or_else(|e| e.into_inner());
        match entries.get(host) {
            Some(entry) if fresh(entry) => entry.clone(),
            _ => entries.entry(host.to_string()).insert_entry(Arc::default()).get().clone(),
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::AtomicU32;

    use super::*;

    fn ip(text: &str) -> IpAddr {
        text.parse().unwrap()
    }

    #[test]
    fn options_read_k6s_string_form() {
        assert_eq!("".parse::<DnsOptions>(), Ok(DnsOptions::default()));
        let options: DnsOptions = "select=first, ttl=1m,policy=any".parse().unwrap();
        assert_eq!(
            options,
            DnsOptions { select: Select::First, ttl: Some(Duration::from_secs(60)), policy: Policy::Any }
        );
        assert_eq!("ttl=inf".parse::<DnsOptions>().unwrap().ttl, None);
        assert_eq!("ttl=0".parse::<DnsOptions>().unwrap().ttl, Some(Duration::ZERO));
        assert_eq!("select=roundRobin".parse::<DnsOptions>().unwrap().select, Select::RoundRobin);
        assert_eq!("policy=onlyIPv6".parse::<DnsOptions>().unwrap().policy, Policy::OnlyIPv6);
        for (bad, quoted) in
            [("select=last", "last"), ("ttl=soon", "soon"), ("policy=v4", "v4"), ("mode=x", "mode"), ("first", "first")]
        {
            let err = bad.parse::<DnsOptions>().unwrap_err();
            assert!(err.contains(quoted) && !err.contains('\n'), "{bad}: {err}");
        }
    }

    #[test]
    fn policies_pick_address_families() {
        let both = vec![ip("::1"), ip("10.0.0.1"), ip("10.0.0.2")];
        assert_eq!(Policy::PreferIPv4.apply(both.clone()), Ok(vec![ip("10.0.0.1"), ip("10.0.0.2")]));
        assert_eq!(Policy::PreferIPv6.apply(both.clone()), Ok(vec![ip("::1")]));
        assert_eq!(Policy::Any.apply(both.clone()), Ok(both.clone()));
        assert_eq!(Policy::PreferIPv4.apply(vec![ip("::1")]), Ok(vec![ip("::1")]));
        assert_eq!(Policy::PreferIPv6.apply(vec![ip("10.0.0.1")]), Ok(vec![ip("10.0.0.1")]));
        assert!(Policy::OnlyIPv6.apply(vec![ip("10.0.0.1")]).unwrap_err().contains("onlyIPv6"));
        assert!(Policy::OnlyIPv4.apply(vec![ip("::1")]).unwrap_err().contains("onlyIPv4"));
    }

    #[test]
    fn selection_spreads_new_connections_over_addresses() {
        let rotation = AtomicUsize::new(0);
        assert!((0..10).all(|_| Select::First.first(3, &rotation) == 0));
        let turns: Vec<usize> = (0..6).map(|_| Select::RoundRobin.first(3, &rotation)).collect();
        assert_eq!(turns, [0, 1, 2, 0, 1, 2]);
        let mut seen = [0u32; 3];
        for _ in 0..300 {
            seen[Select::Random.first(3, &rotation)] += 1;
        }
        assert!(seen.iter().all(|&n| n > 50), "random picks every address: {seen:?}");
    }

    #[tokio::test]
    async fn concurrent_look_ups_of_a_host_share_one_and_the_chosen_address_comes_first() {
        let dns = DnsCache::new("select=roundRobin,ttl=1m,policy=any".parse().unwrap());
        let look_ups = AtomicU32::new(0);
        let counter = &look_ups;
        let look_up = move |_host: String| async move {
            counter.fetch_add(1, Ordering::Relaxed);
            tokio::time::sleep(Duration::from_millis(20)).await;
            Ok(vec![ip("10.0.0.1"), ip("10.0.0.2")])
        };
        let all = futures_util::future::join_all((0..20).map(|_| dns.resolve_with("svc.test", 80, look_up))).await;
        assert_eq!(look_ups.load(Ordering::Relaxed), 1, "one look-up for 20 concurrent connections");
        let firsts: Vec<String> = all.iter().map(|r| r.as_ref().unwrap()[0].to_string()).collect();
        assert_eq!(firsts.iter().filter(|a| *a == "10.0.0.1:80").count(), 10);
        assert_eq!(all[0].as_ref().unwrap().len(), 2, "the other address follows as a fallback");
        // Cached: no new look-up.
        dns.resolve_with("svc.test", 81, look_up).await.unwrap();
        assert_eq!(look_ups.load(Ordering::Relaxed), 1);
    }

    #[tokio::test]
    async fn a_failed_look_up_is_not_cached_and_ttl_zero_looks_up_each_time() {
        let dns = DnsCache::new(DnsOptions::default());
        let failing = |_host: String| async { Err(std::io::Error::other("no such host")) };
        assert!(dns.resolve_with("bad.test", 80, failing).await.unwrap_err().contains("bad.test: no such host"));
        let working = |_host: String| async { Ok(vec![ip("10.0.0.9")]) };
        assert_eq!(dns.resolve_with("bad.test", 80, working).await.unwrap(), vec!["10.0.0.9:80".parse().unwrap()]);

        let uncached = DnsCache::new("ttl=0".parse().unwrap());
        let look_ups = AtomicU32::new(0);
        let counter = &look_ups;
        for _ in 0..3 {
            uncached
                .resolve_with("svc.test", 80, move |_| async move {
                    counter.fetch_add(1, Ordering::Relaxed);
                    Ok(vec![ip("10.0.0.1")])
                })
                .await
                .unwrap();
        }
        assert_eq!(look_ups.load(Ordering::Relaxed), 3);
    }

    #[tokio::test]
    async fn literals_and_localhost_resolve() {
        let dns = DnsCache::new(DnsOptions::default());
        assert_eq!(dns.resolve("127.0.0.1", 80).await.unwrap(), vec!["127.0.0.1:80".parse().unwrap()]);
        assert_eq!(dns.resolve("[::1]", 8080).await.unwrap(), vec!["[::1]:8080".parse().unwrap()]);
        let local = dns.resolve("localhost", 81).await.unwrap();
        assert!(local.iter().all(|a| a.ip().is_loopback() && a.port() == 81));
        assert!(dns.resolve("no-such-host.invalid", 80).await.is_err());
    }
}
