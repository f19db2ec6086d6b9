//! What a scenario's plugin may reach, granted by the run: HTTP origins
//! (`allowed-hosts`), env keys, data sets and datasources. A kind of grant
//! nothing in the run mentions is open, so a local plugin run with no
//! `[permissions]` works as before (the summary says it was not confined);
//! once the run grants any, only what it lists. Every refusal is a
//! [`Denial`]: counted in `permission_denials` and reported once per
//! distinct message, in the log and the summary. Sockets (`wasi:sockets`)
//! are the exception: closed unless `allowed-sockets` grants an address.

mod hosts;
mod sockets;

use std::collections::BTreeSet;
use std::net::SocketAddr;
use std::sync::Arc;

pub use self::hosts::{HostPattern, Reach};
pub use self::sockets::SocketPattern;
use wasmtime_wasi::sockets::SocketAddrUse;

use crate::metrics::{Recorder, Sample, names};

/// The grants of one scenario; `None`: that kind is not confined.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Grants {
    pub hosts: Option<Vec<HostPattern>>,
    pub env: Option<BTreeSet<String>>,
    pub data: Option<BTreeSet<String>>,
    pub datasources: Option<BTreeSet<String>>,
    /// Addresses `wasi:sockets` may reach; none unless granted.
    pub sockets: Vec<SocketPattern>,
}

/// A refused call: which capability, the permission that would allow it,
/// and one line naming both.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Denial {
    pub capability: &'static str,
    pub permission: &'static str,
    pub message: String,
}

impl Grants {
    /// `self` with `more` added: a kind either confines becomes confined
    /// to what both list.
    pub fn add(&mut self, more: &Grants) {
        fn union<T: Clone + PartialEq>(into: &mut Option<Vec<T>>, more: &Option<Vec<T>>) {
            if let Some(more) = more {
                let into = into.get_or_insert_with(Vec::new);
                into.extend(more.iter().filter(|m| !into.contains(m)).cloned().collect::<Vec<_>>());
            }
        }
        fn set_union(into: &mut Option<BTreeSet<String>>, more: &Option<BTreeSet<String>>) {
            if let Some(more) = more {
                into.get_or_insert_with(BTreeSet::new).extend(more.iter().cloned());
            }
        }
        union(&mut self.hosts, &more.hosts);
        self.sockets.extend(more.sockets.iter().filter(|s| !self.sockets.contains(s)).cloned().collect::<Vec<_>>());
        set_union(&mut self.env, &more.env);
        set_union(&mut self.data, &more.data);
        set_union(&mut self.datasources, &more.datasources);
    }

    /// Where an HTTP request to this origin may go (`url` names it in a denial).
    pub fn http(&self, url: &str, https: bool, host: &str, port: u16) -> Result<Reach, Denial> {
        let Some(patterns) = &self.hosts else { return Ok(Reach::Granted) };
        match hosts::reach(patterns, https, host, port) {
            Reach::Denied => Err(Denial::http(url, https, host, port)),
            reach => Ok(reach),
        }
    }

    pub fn env(&self, key: &str) -> Result<(), Denial> {
        listed(&self.env, key, ("vu", "env"), "env key")
    }

    pub fn data(&self, set: &str) -> Result<(), Denial> {
        listed(&self.data, set, ("data", "data"), "data set")
    }

    pub fn datasource(&self, name: &str) -> Result<(), Denial> {
        listed(&self.datasources, name, ("sql", "datasources"), "datasource")
    }

    /// Each kind of grant and what it allows (sockets only when granted),
    /// for the summary and the export.
    pub fn describe(&self) -> Vec<(&'static str, Option<Vec<String>>)> {
        let names = |set: &Option<BTreeSet<String>>| set.as_ref().map(|s| s.iter().cloned().collect());
        let mut kinds = vec![
            ("allowed-hosts", self.hosts.as_ref().map(|h| h.iter().map(ToString::to_string).collect())),
            ("env", names(&self.env)),
            ("data", names(&self.data)),
            ("datasources", names(&self.datasources)),
        ];
        if !self.sockets.is_empty() {
            kinds.push(("allowed-sockets", Some(self.sockets.iter().map(ToString::to_string).collect())));
        }
        kinds
    }

    /// Whether a socket may use `address` this way.
    pub fn socket(&self, address: SocketAddr, usage: SocketAddrUse) -> Result<(), Denial> {
        if sockets::allows(&self.sockets, address, usage) {
            return Ok(());
        }
        let (protocol, scheme, verb) = match usage {
            SocketAddrUse::TcpConnect => ("TCP", "tcp", "connect to"),
            SocketAddrUse::TcpBind => ("TCP", "tcp", "bind to"),
            SocketAddrUse::TcpListen => ("TCP", "tcp", "listen on"),
            SocketAddrUse::TcpAccept => ("TCP", "tcp", "accept from"),
            SocketAddrUse::UdpBind => ("UDP", "udp", "bind to"),
            SocketAddrUse::UdpSend => ("UDP", "udp", "send to"),
            SocketAddrUse::UdpReceive => ("UDP", "udp", "receive from"),
        };
        Err(Denial {
            capability: "sockets",
            permission: "allowed-sockets",
            message: format!(
                "denied: {protocol} {verb} {address} is not granted (allow it with allowed-sockets = [\"{scheme}://{address}\"] in [permissions])"
            ),
        })
    }

    /// Whether any socket pattern is for UDP (`true`) or TCP (`false`).
    pub fn grants_sockets(&self, udp: bool) -> bool {
        self.sockets.iter().any(|pattern| pattern.is_udp() == udp)
    }
}

/// Refuses `name` unless `grants` is open or lists it; `kind` is the
/// capability asking and the permission that would allow it.
fn listed(
    grants: &Option<BTreeSet<String>>,
    name: &str,
    (capability, permission): (&'static str, &'static str),
    what: &str,
) -> Result<(), Denial> {
    match grants {
        Some(granted) if !granted.contains(name) => Err(Denial {
            capability,
            permission,
            message: format!("denied: {what} {name:?} is not granted (add it to `{permission}` in [permissions])"),
        }),
        _ => Ok(()),
    }
}

/// The `permissions` interface holds only the `denial` type.
impl crate::bindings::permissions::Host for super::VuState {}

impl From<Denial> for crate::bindings::permissions::Denial {
    fn from(denial: Denial) -> Self {
        crate::bindings::permissions::Denial { permission: denial.permission.to_string(), message: denial.message }
    }
}

impl Denial {
    /// An HTTP origin that `allowed-hosts` does not grant; `url` without
    /// its query, which may hold anything.
    pub fn http(url: &str, https: bool, host: &str, port: u16) -> Denial {
        let origin = format!("{}://{host}:{port}", if https { "https" } else { "http" });
        let url = url.split(['?', '#']).next().unwrap_or(url);
        Denial {
            capability: "http",
            permission: "allowed-hosts",
            message: format!("denied: HTTP to {url} is not granted (allow it with --allow-host {origin})"),
        }
    }

    /// A host name whose addresses lie outside the ranges that could grant it.
    pub fn addresses(origin: &str, addresses: &[std::net::SocketAddr]) -> Denial {
        let list: Vec<String> = addresses.iter().map(|a| a.ip().to_string()).collect();
        Denial {
            capability: "http",
            permission: "allowed-hosts",
            message: format!(
                "denied: {origin} resolves to {} outside the granted address ranges (allow it with --allow-host {origin})",
                list.join(", ")
            ),
        }
    }

    /// Counts the denial in `permission_denials` and the run's denial log.
    pub fn record(&self, recorder: &Recorder) {
        let tags = recorder.tags([("capability", self.capability), ("permission", self.permission)]);
        recorder.record(&tags, &[Sample::new(names::PERMISSION_DENIALS, 1.0)]);
        recorder.sink().denials().report(&format!("scenario {:?}: {}", recorder.scenario(), self.message));
    }
}

/// A VU's checks against its scenario's grants: each refusal is recorded
/// as it is made. Each capability holds a clone.
#[derive(Clone)]
pub struct Gate {
    grants: Arc<Grants>,
    recorder: Recorder,
}

impl Gate {
    pub fn new(grants: Arc<Grants>, recorder: Recorder) -> Self {
        Gate { grants, recorder }
    }

    fn recorded<T>(&self, verdict: Result<T, Denial>) -> Result<T, Denial> {
        if let Err(denial) = &verdict {
            denial.record(&self.recorder);
        }
        verdict
    }

    pub fn http(&self, url: &str, https: bool, host: &str, port: u16) -> Result<Reach, Denial> {
        self.recorded(self.grants.http(url, https, host, port))
    }

    /// The addresses of `origin` that lie in `ranges`; none is a denial.
    pub fn addresses(
        &self,
        origin: &str,
        ranges: &[ipnet::IpNet],
        all: Vec<SocketAddr>,
    ) -> Result<Vec<SocketAddr>, Denial> {
        let inside: Vec<SocketAddr> =
            all.iter().copied().filter(|a| ranges.iter().any(|r| r.contains(&a.ip()))).collect();
        self.recorded(if inside.is_empty() { Err(Denial::addresses(origin, &all)) } else { Ok(inside) })
    }

    pub fn env(&self, key: &str) -> Result<(), Denial> {
        self.recorded(self.grants.env(key))
    }

    /// Whether `key` is granted, recording nothing: for listing the env.
    pub fn env_visible(&self, key: &str) -> bool {
        self.grants.env(key).is_ok()
    }

    pub fn data(&self, set: &str) -> Result<(), Denial> {
        self.recorded(self.grants.data(set))
    }

    pub fn datasource(&self, name: &str) -> Result<(), Denial> {
        self.recorded(self.grants.datasource(name))
    }

    pub fn socket(&self, address: SocketAddr, usage: SocketAddrUse) -> bool {
        self.recorded(self.grants.socket(address, usage)).is_ok()
    }

    pub fn grants(&self) -> &Grants {
        &self.grants
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn set(items: &[&str]) -> Option<BTreeSet<String>> {
        Some(items.iter().map(|s| s.to_string()).collect())
    }

    #[test]
    fn an_unmentioned_kind_is_open_and_a_granted_one_lists_what_it_allows() {
        let open = Grants::default();
        assert!(open.env("ANY").is_ok() && open.data("x").is_ok() && open.datasource("main").is_ok());
        assert_eq!(open.http("http://x/", false, "x", 80), Ok(Reach::Granted));
        let mut grants = Grants { env: set(&["BASE_URL"]), ..Grants::default() };
        grants.add(&Grants { env: set(&["TOKEN"]), datasources: set(&[]), ..Grants::default() });
        assert!(grants.env("BASE_URL").is_ok() && grants.env("TOKEN").is_ok());
        let denied = grants.env("HOME").unwrap_err();
        assert_eq!((denied.capability, denied.permission), ("vu", "env"));
        assert!(denied.message.contains("env key \"HOME\" is not granted"), "{}", denied.message);
        assert!(grants.datasource("main").is_err(), "an empty grant allows none");
        assert!(grants.data("users").is_ok(), "data sets were never confined");
    }

    #[test]
    fn an_http_denial_names_the_origin_and_the_flag_that_allows_it() {
        let grants =
            Grants { hosts: Some(vec![HostPattern::parse("http://127.0.0.1:8080").unwrap()]), ..Default::default() };
        assert_eq!(grants.http("http://127.0.0.1:8080/a", false, "127.0.0.1", 8080), Ok(Reach::Granted));
        let denied = grants.http("http://127.0.0.1:9/x", false, "127.0.0.1", 9).unwrap_err();
        assert!(denied.message.ends_with("(allow it with --allow-host http://127.0.0.1:9)"), "{}", denied.message);
    }
}
