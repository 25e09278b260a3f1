//! What the proxy changes in headers, both ways (RFC 9110 §7.6.1, RFC 7239):
//! hop-by-hop headers and any `Connection` names go; the forwarding headers
//! are the hub's own; the hub's session and CSRF cookies never reach a
//! module, and a module cannot set them. Everything else — `Authorization`,
//! `Mcp-*`, `WWW-Authenticate` — passes untouched.

use std::fmt::Write as _;
use std::net::IpAddr;

use axum::http::{HeaderMap, HeaderName, HeaderValue, header};

use crate::hub::{csrf, session};

/// Hop-by-hop by definition, whatever `Connection` says (as names, not
/// strings: removing by a string parses it first, on every request).
const HOP_BY_HOP: [HeaderName; 9] = [
    header::CONNECTION,
    HeaderName::from_static("keep-alive"),
    header::PROXY_AUTHENTICATE,
    header::PROXY_AUTHORIZATION,
    HeaderName::from_static("proxy-connection"),
    header::TE,
    header::TRAILER,
    header::TRANSFER_ENCODING,
    header::UPGRADE,
];

/// Cookies that belong to the hub's origin session, never to a module.
const HUB_COOKIES: &[&str] = &[session::COOKIE_NAME, csrf::COOKIE_NAME];

const X_FORWARDED_FOR: HeaderName = HeaderName::from_static("x-forwarded-for");
const X_FORWARDED_PROTO: HeaderName = HeaderName::from_static("x-forwarded-proto");
const X_FORWARDED_HOST: HeaderName = HeaderName::from_static("x-forwarded-host");

/// Remove hop-by-hop headers and those `Connection` names.
pub fn strip_hop_by_hop(h: &mut HeaderMap) {
    // Most messages carry none of them: one pass over the names (an enum
    // compare each) spares nine hash probes on every request and response.
    // `Connection` is one of them, so nothing it names can be missed.
    if !h.keys().any(|k| HOP_BY_HOP.contains(k)) {
        return;
    }
    let named: Vec<HeaderName> = h
        .get_all(header::CONNECTION)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .filter_map(|n| HeaderName::try_from(n.trim()).ok())
        .collect();
    for n in named {
        h.remove(n);
    }
    for n in &HOP_BY_HOP {
        h.remove(n);
    }
}

/// Who asked, as the forwarding headers tell it.
#[derive(Debug, Clone)]
pub struct Origin<'a> {
    pub peer: IpAddr,
    /// The peer is a proxy the operator trusts: its forwarding headers are
    /// kept and extended instead of replaced.
    pub trusted: bool,
    /// The `Host` the client asked for (already checked to be the hub's).
    pub host: Option<&'a str>,
}

/// Set `X-Forwarded-For/-Proto/-Host` and `Forwarded` for the module.
/// This runs on every proxied request, so the usual case (an untrusted
/// peer: every value is the hub's own) is built without `format!` and
/// with one allocation per value.
pub fn set_forwarded(h: &mut HeaderMap, o: &Origin<'_>) {
    let kept = |h: &HeaderMap, name: &HeaderName| o.trusted.then(|| joined(h, name)).flatten();
    let mut peer = String::with_capacity(48);
    push_ip(&mut peer, o.peer, false);
    let xff = match kept(h, &X_FORWARDED_FOR) {
        Some(prev) => value(&format!("{prev}, {peer}")),
        None => value(&peer),
    };
    let proto = kept(h, &X_FORWARDED_PROTO);
    let host = kept(h, &X_FORWARDED_HOST).or_else(|| o.host.map(str::to_string));
    let first_proto = proto
        .as_deref()
        .and_then(|p| p.split(',').next())
        .map_or("http", str::trim);
    let ours = forwarded_element(o, first_proto);
    let fwd = match kept(h, &header::FORWARDED) {
        Some(prev) => value(&format!("{prev}, {ours}")),
        None => value(&ours),
    };
    let proto = proto.map_or(Some(HeaderValue::from_static("http")), |p| value(&p));
    for (name, v) in [
        (X_FORWARDED_FOR, xff),
        (X_FORWARDED_PROTO, proto),
        (X_FORWARDED_HOST, host.as_deref().and_then(value)),
        (header::FORWARDED, fwd),
    ] {
        // `insert` replaces every earlier value of the name.
        match v {
            Some(v) => {
                h.insert(name, v);
            }
            None => {
                h.remove(name);
            }
        }
    }
}

fn value(s: &str) -> Option<HeaderValue> {
    HeaderValue::from_str(s).ok()
}

/// An address as the forwarding headers write it (IPv6 in `[...]` when
/// `bracket`), without the formatting machinery for the usual IPv4 peer.
fn push_ip(out: &mut String, ip: IpAddr, bracket: bool) {
    match ip {
        IpAddr::V4(v4) => {
            for (i, octet) in v4.octets().into_iter().enumerate() {
                if i > 0 {
                    out.push('.');
                }
                if octet >= 100 {
                    out.push(char::from(b'0' + octet / 100));
                }
                if octet >= 10 {
                    out.push(char::from(b'0' + octet / 10 % 10));
                }
                out.push(char::from(b'0' + octet % 10));
            }
        }
        IpAddr::V6(v6) if bracket => {
            let _ = write!(out, "[{v6}]");
        }
        IpAddr::V6(v6) => {
            let _ = write!(out, "{v6}");
        }
    }
}

/// Every value of `name`, joined as one list.
fn joined(h: &HeaderMap, name: &HeaderName) -> Option<String> {
    let all: Vec<&str> = h
        .get_all(name)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .collect();
    (!all.is_empty()).then(|| all.join(", "))
}

/// The hub's RFC 7239 element: `for=` (IPv6 quoted and bracketed),
/// `proto=`, and the quoted `host=`.
fn forwarded_element(o: &Origin<'_>, proto: &str) -> String {
    let mut out = String::with_capacity(96);
    out.push_str("for=");
    let v6 = o.peer.is_ipv6();
    if v6 {
        out.push('"');
    }
    push_ip(&mut out, o.peer, true);
    if v6 {
        out.push('"');
    }
    out.push_str(";proto=");
    out.push_str(proto);
    if let Some(host) = o.host {
        out.push_str(";host=\"");
        out.extend(host.chars().filter(|c| !matches!(c, '"' | '\\')));
        out.push('"');
    }
    out
}

/// Drop the hub's own cookies from `Cookie`, keeping the module's.
pub fn strip_hub_cookies(h: &mut HeaderMap) {
    let ours = |c: &str| HUB_COOKIES.contains(&cookie_name(c));
    let any_ours = h
        .get_all(header::COOKIE)
        .iter()
        .any(|v| v.to_str().map_or(true, |v| v.split(';').any(ours)));
    if !any_ours {
        return;
    }
    let kept: Vec<String> = h
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .map(str::trim)
        .filter(|c| !c.is_empty() && !ours(c))
        .map(str::to_string)
        .collect();
    h.remove(header::COOKIE);
    if !kept.is_empty()
        && let Ok(v) = HeaderValue::from_str(&kept.join("; "))
    {
        h.insert(header::COOKIE, v);
    }
}

/// Drop a module's `Set-Cookie` for a hub cookie (it could sign the user
/// out, or plant a CSRF token).
pub fn strip_hub_set_cookies(h: &mut HeaderMap) {
    let ours = |v: &HeaderValue| {
        v.to_str()
            .is_ok_and(|s| HUB_COOKIES.contains(&cookie_name(s)))
    };
    if !h.get_all(header::SET_COOKIE).iter().any(ours) {
        return;
    }
    let kept: Vec<HeaderValue> = h
        .get_all(header::SET_COOKIE)
        .iter()
        .filter(|v| !ours(v))
        .cloned()
        .collect();
    h.remove(header::SET_COOKIE);
    for v in kept {
        h.append(header::SET_COOKIE, v);
    }
}

fn cookie_name(pair: &str) -> &str {
    pair.split(['=', ';']).next().unwrap_or_default().trim()
}

/// The `Upgrade` protocol a request asks for, when it asks for one.
pub fn upgrade_of(h: &HeaderMap) -> Option<HeaderValue> {
    let asks = h
        .get_all(header::CONNECTION)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .any(|t| t.trim().eq_ignore_ascii_case("upgrade"));
    asks.then(|| h.get(header::UPGRADE).cloned()).flatten()
}

/// Put back the two headers an upgrade needs after [`strip_hop_by_hop`].
pub fn restore_upgrade(h: &mut HeaderMap, protocol: HeaderValue) {
    h.insert(header::CONNECTION, HeaderValue::from_static("upgrade"));
    h.insert(header::UPGRADE, protocol);
}

#[cfg(test)]
mod tests {
    use super::*;

    fn map(pairs: &[(&'static str, &'static str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.append(*k, HeaderValue::from_static(v));
        }
        h
    }

    #[test]
    fn hop_by_hop_and_connection_named_headers_go() {
        let mut h = map(&[
            ("connection", "keep-alive, X-Secret"),
            ("keep-alive", "timeout=5"),
            ("x-secret", "1"),
            ("te", "trailers"),
            ("proxy-authorization", "Basic x"),
            ("authorization", "Bearer t"),
            ("mcp-session-id", "abc"),
        ]);
        strip_hop_by_hop(&mut h);
        let left: Vec<&str> = h.keys().map(HeaderName::as_str).collect();
        assert_eq!(left, ["authorization", "mcp-session-id"]);
        // Only `Keep-Alive`: still found without a `Connection` to name it.
        let mut h = map(&[("keep-alive", "timeout=5"), ("accept", "*/*")]);
        strip_hop_by_hop(&mut h);
        let left: Vec<&str> = h.keys().map(HeaderName::as_str).collect();
        assert_eq!(left, ["accept"]);
    }

    #[test]
    fn forwarding_headers_are_replaced_unless_the_peer_is_trusted() {
        let incoming = || {
            map(&[
                ("x-forwarded-for", "6.6.6.6"),
                ("x-forwarded-proto", "https"),
                ("forwarded", "for=6.6.6.6"),
            ])
        };
        let mut h = incoming();
        let o = Origin {
            peer: "127.0.0.1".parse().expect("ip"),
            trusted: false,
            host: Some("127.0.0.1:1939"),
        };
        set_forwarded(&mut h, &o);
        assert_eq!(h["x-forwarded-for"], "127.0.0.1");
        assert_eq!(h["x-forwarded-proto"], "http");
        assert_eq!(h["x-forwarded-host"], "127.0.0.1:1939");
        assert_eq!(
            h["forwarded"],
            "for=127.0.0.1;proto=http;host=\"127.0.0.1:1939\""
        );
        let mut h = incoming();
        let o = Origin {
            peer: "::1".parse().expect("ip"),
            trusted: true,
            ..o
        };
        set_forwarded(&mut h, &o);
        assert_eq!(h["x-forwarded-for"], "6.6.6.6, ::1");
        assert_eq!(h["x-forwarded-proto"], "https");
        assert_eq!(
            h["forwarded"],
            "for=6.6.6.6, for=\"[::1]\";proto=https;host=\"127.0.0.1:1939\""
        );
    }

    #[test]
    fn an_ipv4_peer_is_written_as_its_dotted_quad() {
        for ip in ["0.9.10.99", "100.255.1.0", "127.0.0.1", "10.200.30.4"] {
            let mut out = String::new();
            push_ip(&mut out, ip.parse().expect("ip"), false);
            assert_eq!(out, ip);
        }
    }

    #[test]
    fn hub_cookies_never_reach_a_module_nor_come_from_one() {
        let mut h = HeaderMap::new();
        h.insert(
            header::COOKIE,
            HeaderValue::from_str(&format!(
                "theme=dark; {}=s3cret; {}=tok; a=b",
                session::COOKIE_NAME,
                csrf::COOKIE_NAME
            ))
            .expect("value"),
        );
        strip_hub_cookies(&mut h);
        assert_eq!(h[header::COOKIE], "theme=dark; a=b");
        let mut h = HeaderMap::new();
        h.insert(
            header::COOKIE,
            HeaderValue::from_str(&format!("{}=s3cret", session::COOKIE_NAME)).expect("v"),
        );
        strip_hub_cookies(&mut h);
        assert!(h.get(header::COOKIE).is_none());
        let mut h = map(&[("cookie", "theme=dark; a=b")]);
        strip_hub_cookies(&mut h);
        assert_eq!(h[header::COOKIE], "theme=dark; a=b");

        let mut h = HeaderMap::new();
        h.append(header::SET_COOKIE, HeaderValue::from_static("m=1; Path=/m"));
        h.append(
            header::SET_COOKIE,
            HeaderValue::from_str(&format!("{}=x; Path=/", session::COOKIE_NAME)).expect("v"),
        );
        strip_hub_set_cookies(&mut h);
        let left: Vec<_> = h.get_all(header::SET_COOKIE).iter().collect();
        assert_eq!(left, ["m=1; Path=/m"]);
    }

    #[test]
    fn an_upgrade_is_recognized_only_with_connection_upgrade() {
        let h = map(&[
            ("connection", "keep-alive, Upgrade"),
            ("upgrade", "websocket"),
        ]);
        assert_eq!(upgrade_of(&h), Some(HeaderValue::from_static("websocket")));
        assert_eq!(upgrade_of(&map(&[("upgrade", "websocket")])), None);
    }
}
