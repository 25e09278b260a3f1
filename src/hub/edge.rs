//! What the hub believes about who is talking to it: which peers may speak
//! for someone else (`X-Forwarded-For` from the proxies the operator
//! configured, none by default) and which `Host` names are the hub's own
//! (anything else is a DNS-rebinding attempt: 421).
//!
//! Both come from the environment of `parachute serve`
//! ([`PARACHUTE_TRUSTED_PROXIES`], [`PARACHUTE_ALLOWED_HOSTS`]); set them with
//! `systemctl --user edit parachute-hub.service` (`Environment=`).

use std::net::IpAddr;

use ipnet::IpNet;

use crate::env_vars::{PARACHUTE_ALLOWED_HOSTS, PARACHUTE_TRUSTED_PROXIES};

/// The operator's edge settings.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Edge {
    trusted_proxies: Vec<IpNet>,
    /// Lowercased `host` or `host:port`.
    allowed_hosts: Vec<String>,
}

// Defined below the hub so the library's `Error` can wrap it.
pub use crate::error::edge::EdgeError;

fn items(v: Option<&str>) -> impl Iterator<Item = &str> {
    v.unwrap_or_default()
        .split([',', ' '])
        .map(str::trim)
        .filter(|s| !s.is_empty())
}

impl Edge {
    /// From the process environment.
    pub fn from_env() -> Result<Self, EdgeError> {
        Self::parse(
            std::env::var(PARACHUTE_TRUSTED_PROXIES).ok().as_deref(),
            std::env::var(PARACHUTE_ALLOWED_HOSTS).ok().as_deref(),
        )
    }

    /// Comma- or space-separated lists: IPs or CIDRs; `host` or `host:port`.
    pub fn parse(trusted: Option<&str>, allowed: Option<&str>) -> Result<Self, EdgeError> {
        let trusted_proxies = items(trusted)
            .map(|s| {
                s.parse::<IpNet>()
                    .or_else(|_| s.parse::<IpAddr>().map(IpNet::from))
                    .map_err(|_| EdgeError {
                        var: PARACHUTE_TRUSTED_PROXIES,
                        value: s.to_string(),
                        expected: "an IP address or CIDR (e.g. `127.0.0.1` or `10.0.0.0/8`)",
                    })
            })
            .collect::<Result<_, _>>()?;
        let allowed_hosts = items(allowed)
            .map(|s| {
                let ok = !s.contains(['/', '@', '\\', '?', '#'])
                    && !s.contains("://")
                    && !s.starts_with(':');
                ok.then(|| s.to_ascii_lowercase()).ok_or_else(|| EdgeError {
                    var: PARACHUTE_ALLOWED_HOSTS,
                    value: s.to_string(),
                    expected: "a host name, optionally with a port (e.g. `hub.example` or `hub.lan:1939`)",
                })
            })
            .collect::<Result<_, _>>()?;
        Ok(Self {
            trusted_proxies,
            allowed_hosts,
        })
    }

    /// Is `ip` a proxy the operator configured (its forwarding headers count)?
    pub fn trusts(&self, ip: IpAddr) -> bool {
        self.trusted_proxies.iter().any(|n| n.contains(&ip))
    }

    /// The address per-IP limits count: the peer, unless the peer is a
    /// configured proxy; then the rightmost `X-Forwarded-For` hop that is not
    /// one (hops to its left were written by the client and prove nothing).
    /// A hop that is not an IP stops the walk at the proxy that passed it on.
    pub fn client_ip<'a>(&self, peer: IpAddr, forwarded: impl Iterator<Item = &'a str>) -> IpAddr {
        if !self.trusts(peer) {
            return peer;
        }
        let hops: Vec<&str> = forwarded
            .flat_map(|h| h.split(','))
            .map(str::trim)
            .filter(|h| !h.is_empty())
            .collect();
        let mut client = peer;
        for hop in hops.iter().rev() {
            let Ok(ip) = hop.parse::<IpAddr>() else {
                return client;
            };
            client = ip;
            if !self.trusts(ip) {
                return ip;
            }
        }
        client
    }

    /// Is `host` (a `Host` header value) one of the hub's own names, given
    /// its issuer origins, or one the operator allowed?
    pub fn host_allowed(&self, host: &str, origins: &[String]) -> bool {
        // Every request asks: no copy unless the client wrote capitals.
        let host = host.trim();
        let host: std::borrow::Cow<'_, str> = if host.bytes().any(|b| b.is_ascii_uppercase()) {
            host.to_ascii_lowercase().into()
        } else {
            host.into()
        };
        let host = host.as_ref();
        let own = origins.iter().any(|o| authority_matches(o, host));
        own || self.allowed_hosts.iter().any(|a| {
            if (a.contains(':') && !a.starts_with('[')) || a.contains("]:") {
                *a == host
            } else {
                strip_port(host) == a
            }
        })
    }
}

/// `hub.example:8443` → `hub.example`; `[::1]:1939` → `[::1]`.
fn strip_port(host: &str) -> &str {
    match host.rfind(':') {
        Some(i) if !host[i..].contains(']') => &host[..i],
        _ => host,
    }
}

/// Does `host` name `origin`'s authority (with its scheme's default port
/// written or left out)?
fn authority_matches(origin: &str, host: &str) -> bool {
    let (scheme, rest) = origin.split_once("://").unwrap_or(("http", origin));
    let authority = rest.split('/').next().unwrap_or_default();
    let default = if scheme.eq_ignore_ascii_case("https") {
        ":443"
    } else {
        ":80"
    };
    let bare = authority.strip_suffix(default).unwrap_or(authority);
    // `host` is lower case already; the origin may not be.
    host.eq_ignore_ascii_case(authority)
        || host.eq_ignore_ascii_case(bare)
        || host
            .strip_suffix(default)
            .is_some_and(|h| h.eq_ignore_ascii_case(bare))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().expect("ip")
    }

    #[test]
    fn forwarded_for_is_ignored_unless_the_peer_is_a_configured_proxy() {
        let none = Edge::default();
        let xff = ["9.9.9.9, 8.8.8.8"];
        assert_eq!(
            none.client_ip(ip("127.0.0.1"), xff.into_iter()),
            ip("127.0.0.1")
        );
        let e = Edge::parse(Some("127.0.0.1, 10.0.0.0/8"), None).expect("parse");
        assert_eq!(
            e.client_ip(ip("127.0.0.2"), xff.into_iter()),
            ip("127.0.0.2")
        );
        // Rightmost untrusted hop; the client-written left part is ignored.
        assert_eq!(e.client_ip(ip("127.0.0.1"), xff.into_iter()), ip("8.8.8.8"));
        let chain = ["1.1.1.1, 2.2.2.2", "10.1.1.1"];
        assert_eq!(
            e.client_ip(ip("127.0.0.1"), chain.into_iter()),
            ip("2.2.2.2")
        );
        assert_eq!(
            e.client_ip(ip("127.0.0.1"), ["garbage, 10.1.1.1"].into_iter()),
            ip("10.1.1.1")
        );
        assert_eq!(
            e.client_ip(ip("127.0.0.1"), std::iter::empty()),
            ip("127.0.0.1")
        );
    }

    #[test]
    fn bad_settings_name_the_variable() {
        let err = Edge::parse(Some("localhost"), None).expect_err("not an IP");
        assert_eq!(err.var, PARACHUTE_TRUSTED_PROXIES);
        let err = Edge::parse(None, Some("https://hub.example")).expect_err("not a host");
        assert_eq!(err.var, PARACHUTE_ALLOWED_HOSTS);
    }

    #[test]
    fn own_and_allowed_hosts_pass_others_do_not() {
        let origins = crate::tokens::Issuers::new("https://hub.example", &[1939, 40000]);
        let o = origins.accepted();
        let e = Edge::parse(None, Some("hub.lan, other.lan:8080")).expect("parse");
        for good in [
            "127.0.0.1:1939",
            "localhost:40000",
            "[::1]:1939",
            "LOCALHOST:1939",
            "hub.example",
            "HUB.Example:443",
            "hub.example:443",
            "hub.lan:1939",
            "other.lan:8080",
        ] {
            assert!(e.host_allowed(good, o), "{good}");
        }
        for bad in [
            "evil.example",
            "evil.example:1939",
            "127.0.0.1:1",
            "localhost",
            "other.lan:1939",
            "hub.example:80",
            "",
        ] {
            assert!(!e.host_allowed(bad, o), "{bad}");
        }
    }
}
