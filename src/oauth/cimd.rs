//! Client ID Metadata Documents (draft-ietf-oauth-client-id-metadata-document,
//! MCP authorization 2026-07-28): the rules, without I/O. A `client_id` that
//! is an `https://` URL with a path names a JSON document the client
//! publishes; the hub fetches it (`hub::oauth::cimd`) and checks it here:
//! which URLs may be fetched, which addresses may be connected to (SSRF),
//! what the document must say, and how long it may be cached.

use std::net::IpAddr;

use ipnet::IpNet;
use serde_json::Value;

use super::redirect;

/// Largest document read, in bytes.
pub const MAX_BYTES: usize = 5 * 1024;
/// Longest fetch, DNS included, in seconds.
pub const FETCH_SECS: u64 = 5;
/// Longest a document is cached, whatever its headers say.
pub const MAX_CACHE_SECS: i64 = 24 * 3600;
/// How long a document without cache headers is kept: long enough that one
/// sign-in does not fetch it twice, short enough that a fix shows up soon.
pub const DEFAULT_CACHE_SECS: i64 = 3600;
/// Most redirects followed (same host only).
pub const MAX_REDIRECTS: usize = 3;
const MAX_NAME: usize = 200;
const MAX_URIS: usize = 10;

/// Why a client ID document cannot be used. Each message ends up on the
/// error page the person connecting the app sees.
#[derive(Debug, Clone, thiserror::Error, PartialEq, Eq)]
pub enum CimdError {
    #[error(
        "the client ID `{0}` is not an https:// URL with a path, without fragment, user information or `.`/`..` segments"
    )]
    BadUrl(String),
    #[error(
        "`{host}` resolves to {addr}, which is not a public address; client ID documents are only fetched from the public internet"
    )]
    NotPublic { host: String, addr: IpAddr },
    #[error("`{host}` could not be resolved: {reason}")]
    Dns { host: String, reason: String },
    #[error(
        "the document redirected to `{0}`, another host; redirects are only followed within the same host"
    )]
    CrossHostRedirect(String),
    #[error("the document took longer than {FETCH_SECS} seconds to arrive")]
    Slow,
    #[error("the document is larger than {MAX_BYTES} bytes")]
    TooLarge,
    #[error("fetching the document failed: {0}")]
    Fetch(String),
    #[error("fetching the document answered HTTP {0}, not 200")]
    Status(u16),
    #[error("the document is not valid: {0}")]
    Invalid(String),
    #[error("the document's `client_id` is `{found}`, not its own URL `{url}`")]
    Mismatch { url: String, found: String },
    #[error("`PARACHUTE_CIMD_TEST_CA` could not be used: {0}")]
    TestCa(String),
    #[error("too many client ID documents were fetched for this address; try again in {0} seconds")]
    RateLimited(u64),
}

/// Is `client_id` a URL to fetch (as opposed to an id the hub issued)?
pub fn is_document_url(client_id: &str) -> bool {
    client_id.starts_with("https://")
}

/// The URL to fetch, when `client_id` is a valid client ID URL. It must be
/// written in normal form so the document's `client_id` can be compared to
/// it byte for byte.
pub fn check_url(client_id: &str) -> Result<reqwest::Url, CimdError> {
    let bad = || CimdError::BadUrl(client_id.chars().take(300).collect());
    let url = reqwest::Url::parse(client_id).map_err(|_| bad())?;
    let segments_ok = client_id
        .split_once("://")
        .and_then(|(_, r)| r.split_once('/'))
        .is_some_and(|(_, path)| {
            let path = path.split('?').next().unwrap_or_default();
            !path.is_empty() && path.split('/').all(|s| s != "." && s != "..")
        });
    let ok = url.scheme() == "https"
        && url.host_str().is_some()
        && url.username().is_empty()
        && url.password().is_none()
        && url.fragment().is_none()
        && segments_ok
        && url.as_str() == client_id
        && client_id.len() <= redirect::MAX_LEN;
    if ok { Ok(url) } else { Err(bad()) }
}

/// Ranges never fetched from: loopback, private, link-local (cloud metadata
/// services live at 169.254.169.254), carrier-grade NAT, documentation,
/// benchmarking, multicast, reserved, and their IPv6 counterparts.
const BLOCKED: &[&str] = &[
    "0.0.0.0/8",
    "10.0.0.0/8",
    "100.64.0.0/10",
    "127.0.0.0/8",
    "169.254.0.0/16",
    "172.16.0.0/12",
    "192.0.0.0/24",
    "192.0.2.0/24",
    "192.88.99.0/24",
    "192.168.0.0/16",
    "198.18.0.0/15",
    "198.51.100.0/24",
    "203.0.113.0/24",
    "224.0.0.0/3",
    "::/127",
    "64:ff9b:1::/48",
    "100::/64",
    "2001::/23",
    "2001:db8::/32",
    "fc00::/7",
    "fe80::/10",
    "fec0::/10",
    "ff00::/8",
];

/// May the hub connect to `addr` to fetch a document? `allow_loopback`
/// (`PARACHUTE_CIMD_ALLOW_LOOPBACK=1`, for tests) lets loopback through and
/// nothing else.
pub fn address_allowed(addr: IpAddr, allow_loopback: bool) -> bool {
    // An IPv4 address written as IPv6 (mapped, NAT64, 6to4) is judged as
    // the IPv4 address it reaches.
    let addr = match addr {
        IpAddr::V6(v6) => embedded_v4(v6).map_or(addr, IpAddr::V4),
        v4 @ IpAddr::V4(_) => v4,
    };
    if allow_loopback && addr.is_loopback() {
        return true;
    }
    !BLOCKED
        .iter()
        .filter_map(|n| n.parse::<IpNet>().ok())
        .any(|n| n.contains(&addr))
}

fn embedded_v4(v6: std::net::Ipv6Addr) -> Option<std::net::Ipv4Addr> {
    let s = v6.segments();
    let low = std::net::Ipv4Addr::new(
        (s[6] >> 8) as u8,
        (s[6] & 0xff) as u8,
        (s[7] >> 8) as u8,
        (s[7] & 0xff) as u8,
    );
    if let Some(v4) = v6.to_ipv4_mapped() {
        return Some(v4);
    }
    if s[..6] == [0x64, 0xff9b, 0, 0, 0, 0] {
        return Some(low);
    }
    (s[0] == 0x2002).then(|| {
        std::net::Ipv4Addr::new(
            (s[1] >> 8) as u8,
            (s[1] & 0xff) as u8,
            (s[2] >> 8) as u8,
            (s[2] & 0xff) as u8,
        )
    })
}

/// Seconds a document may be cached, from its `Cache-Control`:
/// `no-store`/`no-cache` → 0, `max-age=N` → N, nothing → the default;
/// never more than [`MAX_CACHE_SECS`].
pub fn cache_secs(cache_control: Option<&str>) -> i64 {
    let Some(cc) = cache_control else {
        return DEFAULT_CACHE_SECS;
    };
    let mut secs = DEFAULT_CACHE_SECS;
    for d in cc.split(',').map(str::trim) {
        let d = d.to_ascii_lowercase();
        if d == "no-store" || d == "no-cache" {
            return 0;
        }
        if let Some(n) = d.strip_prefix("max-age=") {
            secs = n.trim_matches('"').parse().unwrap_or(0);
        }
    }
    secs.clamp(0, MAX_CACHE_SECS)
}

/// The trusted-hosts list after adding `add` and removing `remove`
/// (lower-cased, sorted, no duplicates); the error names a bad host.
pub fn edit_trusted_hosts(
    current: &[String],
    add: &[String],
    remove: &[String],
) -> Result<Vec<String>, String> {
    let mut hosts: Vec<String> = current.to_vec();
    for h in add {
        let h = h.to_ascii_lowercase();
        let ok = !h.is_empty()
            && h.len() <= 253
            && h.bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'.' || b == b'-');
        if !ok {
            return Err(format!(
                "`{h}` is not a host name: give the host alone, as in `claude.ai` (no scheme, port or path)"
            ));
        }
        hosts.push(h);
    }
    hosts.retain(|h| !remove.iter().any(|r| r.eq_ignore_ascii_case(h)));
    hosts.sort();
    hosts.dedup();
    Ok(hosts)
}

/// Is the document at `url` on one of the owner's trusted hosts?
pub fn trusted(url: &reqwest::Url, hosts: &[String]) -> bool {
    url.host_str().is_some_and(|h| hosts.iter().any(|t| t == h))
}

/// A validated document.
#[derive(Debug, Clone, PartialEq)]
pub struct Document {
    pub client_name: String,
    pub redirect_uris: Vec<String>,
    /// The scopes the client asks for by default (`scope`), space-separated.
    pub scope: String,
    /// The document as fetched: kept with the client, as a registration's
    /// metadata is.
    pub metadata: Value,
}

fn invalid(d: impl Into<String>) -> CimdError {
    CimdError::Invalid(d.into())
}

fn string_list(doc: &Value, field: &str) -> Result<Option<Vec<String>>, CimdError> {
    match doc.get(field) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Array(a)) => a
            .iter()
            .map(|x| x.as_str().map(str::to_string))
            .collect::<Option<Vec<_>>>()
            .map(Some)
            .ok_or_else(|| invalid(format!("`{field}` must be an array of strings"))),
        Some(_) => Err(invalid(format!("`{field}` must be an array of strings"))),
    }
}

/// Check the document fetched from `url`: JSON object, `client_id` equal to
/// `url`, `client_name` and `redirect_uris` present and valid, a public
/// client (no secret; `token_endpoint_auth_method` `none` if given).
pub fn parse_document(url: &str, body: &[u8]) -> Result<Document, CimdError> {
    let doc: Value =
        serde_json::from_slice(body).map_err(|e| invalid(format!("it is not JSON ({e})")))?;
    if !doc.is_object() {
        return Err(invalid("it is not a JSON object"));
    }
    match doc.get("client_id") {
        Some(Value::String(id)) if id == url => {}
        Some(Value::String(id)) => {
            return Err(CimdError::Mismatch {
                url: url.to_string(),
                found: id.chars().take(300).collect(),
            });
        }
        _ => return Err(invalid("`client_id` (a string) is required")),
    }
    let name = doc
        .get("client_name")
        .and_then(Value::as_str)
        .map(super::text::sanitise)
        .filter(|n| !n.is_empty())
        .ok_or_else(|| invalid("`client_name` (a non-empty string) is required"))?;
    if name.chars().count() > MAX_NAME {
        return Err(invalid(format!(
            "`client_name` must be at most {MAX_NAME} characters"
        )));
    }
    let uris = string_list(&doc, "redirect_uris")?
        .filter(|u| !u.is_empty())
        .ok_or_else(|| invalid("`redirect_uris` (a non-empty array) is required"))?;
    if uris.len() > MAX_URIS {
        return Err(invalid(format!("at most {MAX_URIS} `redirect_uris`")));
    }
    for u in &uris {
        redirect::validate(u).map_err(invalid)?;
    }
    if doc.get("client_secret").is_some() {
        return Err(invalid(
            "a client ID document must not carry a `client_secret`",
        ));
    }
    match doc.get("token_endpoint_auth_method") {
        None | Some(Value::Null) => {}
        Some(Value::String(m)) if m == "none" => {}
        Some(m) => {
            return Err(invalid(format!(
                "`token_endpoint_auth_method` {m} is not supported; use `none`"
            )));
        }
    }
    if let Some(g) = string_list(&doc, "grant_types")?
        .unwrap_or_default()
        .iter()
        .find(|g| !matches!(g.as_str(), "authorization_code" | "refresh_token"))
    {
        return Err(invalid(format!("grant type `{g}` is not supported")));
    }
    if string_list(&doc, "response_types")?
        .unwrap_or_default()
        .iter()
        .any(|r| r != "code")
    {
        return Err(invalid("only the `code` response type is supported"));
    }
    let scope = doc.get("scope").and_then(Value::as_str).unwrap_or_default();
    Ok(Document {
        client_name: name,
        redirect_uris: uris,
        scope: crate::tokens::scopes::parse(scope).join(" "),
        metadata: doc,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn client_id_urls() {
        let cases: &[(&str, bool)] = &[
            ("https://app.example/oauth/client.json", true),
            ("https://app.example:8443/c?v=1", true),
            ("https://app.example", false),
            ("https://app.example/", false),
            ("http://app.example/client.json", false),
            ("https://app.example/a/../client.json", false),
            ("https://app.example/./client.json", false),
            ("https://app.example/client.json#x", false),
            ("https://user@app.example/client.json", false),
            ("https://APP.example/client.json", false),
            ("not a url", false),
        ];
        for (url, ok) in cases {
            assert_eq!(check_url(url).is_ok(), *ok, "{url}");
        }
    }

    #[test]
    fn only_public_addresses_are_fetched_from() {
        let cases: &[(&str, bool, bool)] = &[
            ("93.184.215.14", false, true),
            ("2606:4700::1111", false, true),
            ("127.0.0.1", false, false),
            ("127.0.0.1", true, true),
            ("::1", true, true),
            ("10.1.2.3", true, false),
            ("172.20.0.1", false, false),
            ("192.168.1.1", false, false),
            ("169.254.169.254", true, false),
            ("100.100.100.200", false, false),
            ("0.0.0.0", false, false),
            ("::", false, false),
            ("fd00:ec2::254", false, false),
            ("fe80::1", false, false),
            ("::ffff:10.0.0.1", false, false),
            ("::ffff:169.254.169.254", true, false),
            ("64:ff9b::a9fe:a9fe", false, false),
            ("2002:a00:1::", false, false),
            ("224.0.0.1", false, false),
        ];
        for (addr, loopback_ok, want) in cases {
            let ip: IpAddr = addr.parse().expect("ip");
            assert_eq!(address_allowed(ip, *loopback_ok), *want, "{addr}");
        }
    }

    #[test]
    fn trusted_hosts_are_edited_and_matched_exactly() {
        let v = |s: &[&str]| s.iter().map(|x| (*x).to_string()).collect::<Vec<_>>();
        let hosts = edit_trusted_hosts(&v(&["b.example"]), &v(&["Claude.AI", "b.example"]), &[])
            .expect("valid");
        assert_eq!(hosts, v(&["b.example", "claude.ai"]));
        assert_eq!(
            edit_trusted_hosts(&hosts, &[], &v(&["B.example"])).expect("valid"),
            v(&["claude.ai"])
        );
        for bad in ["https://claude.ai", "claude.ai:443", "claude.ai/x", ""] {
            assert!(edit_trusted_hosts(&[], &v(&[bad]), &[]).is_err(), "{bad}");
        }
        let url = |u: &str| reqwest::Url::parse(u).expect("url");
        assert!(trusted(&url("https://claude.ai/oauth/c.json"), &hosts));
        assert!(!trusted(&url("https://evil.claude.ai/c.json"), &hosts));
        assert!(!trusted(
            &url("https://claude.ai.evil.example/c.json"),
            &hosts
        ));
    }

    #[test]
    fn cache_lifetimes_are_bounded() {
        assert_eq!(cache_secs(None), DEFAULT_CACHE_SECS);
        assert_eq!(cache_secs(Some("public, max-age=600")), 600);
        assert_eq!(cache_secs(Some("max-age=999999999")), MAX_CACHE_SECS);
        assert_eq!(cache_secs(Some("no-store")), 0);
        assert_eq!(cache_secs(Some("max-age=60, no-cache")), 0);
        assert_eq!(cache_secs(Some("max-age=-5")), 0);
    }

    #[test]
    fn documents_are_validated() {
        let url = "https://app.example/client.json";
        let good = json!({"client_id": url, "client_name": "App", "redirect_uris": ["http://127.0.0.1/cb"], "scope": "vault:read"});
        let d = parse_document(url, good.to_string().as_bytes()).expect("valid");
        assert_eq!(d.client_name, "App");
        assert_eq!(d.scope, "vault:read");
        let bad = |v: Value| parse_document(url, v.to_string().as_bytes()).expect_err("refused");
        assert_eq!(
            bad(
                json!({"client_id": "https://evil.example/c", "client_name": "A", "redirect_uris": ["http://127.0.0.1/cb"]})
            ),
            CimdError::Mismatch {
                url: url.into(),
                found: "https://evil.example/c".into()
            }
        );
        for v in [
            json!({"client_name": "A", "redirect_uris": ["http://127.0.0.1/cb"]}),
            json!({"client_id": url, "redirect_uris": ["http://127.0.0.1/cb"]}),
            json!({"client_id": url, "client_name": "A"}),
            json!({"client_id": url, "client_name": "A", "redirect_uris": ["javascript:x"]}),
            json!({"client_id": url, "client_name": "A", "redirect_uris": ["http://127.0.0.1/cb"], "client_secret": "s"}),
            json!({"client_id": url, "client_name": "A", "redirect_uris": ["http://127.0.0.1/cb"], "token_endpoint_auth_method": "client_secret_basic"}),
            json!(["not", "an", "object"]),
        ] {
            assert!(matches!(bad(v.clone()), CimdError::Invalid(_)), "{v}");
        }
        assert!(matches!(
            parse_document(url, b"{not json"),
            Err(CimdError::Invalid(_))
        ));
    }
}
