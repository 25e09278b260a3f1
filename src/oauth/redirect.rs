//! Redirect URIs: what a registration may contain, and the match at
//! `/oauth/authorize`: exact (no wildcards, no prefix matching, no
//! normalisation), except that a registered `http` loopback URI matches any
//! port (RFC 8252 §7.3, §8.3) — native apps listen on an ephemeral port and
//! documents such as Claude Code's list `http://127.0.0.1/callback`. The
//! token endpoint then compares with the URI the code was issued for, exactly.

/// Longest redirect URI accepted.
pub const MAX_LEN: usize = 2000;

/// Check one URI at registration; the error is the `error_description`.
pub fn validate(uri: &str) -> Result<(), String> {
    if uri.is_empty() || uri.len() > MAX_LEN {
        return Err(format!("redirect URI must be 1–{MAX_LEN} characters"));
    }
    if uri.bytes().any(|b| b.is_ascii_control() || b == b' ') {
        return Err(format!(
            "redirect URI `{}` contains whitespace or control characters",
            uri.escape_debug()
        ));
    }
    let Some((scheme, rest)) = uri.split_once("://") else {
        return Err(format!("redirect URI `{uri}` is not an absolute URL"));
    };
    if !scheme.eq_ignore_ascii_case("http") && !scheme.eq_ignore_ascii_case("https") {
        return Err(format!("redirect URI `{uri}` must use http or https"));
    }
    if uri.contains('#') {
        return Err(format!("redirect URI `{uri}` must not contain a fragment"));
    }
    // Browsers read `\` as `/` and parsers disagree on it: a host split one
    // way here and another way there is an open redirect.
    if uri.contains('\\') {
        return Err(format!("redirect URI `{uri}` must not contain `\\`"));
    }
    let authority = rest.split(['/', '?']).next().unwrap_or_default();
    if authority.contains('@') {
        return Err(format!(
            "redirect URI `{uri}` must not contain user information"
        ));
    }
    let host = host_of(authority);
    if host.is_empty() {
        return Err(format!("redirect URI `{uri}` has no host"));
    }
    if scheme.eq_ignore_ascii_case("http") && !is_loopback(host) {
        return Err(format!(
            "redirect URI `{uri}` uses http:// to a host that is not loopback; use https:// (http:// is only for localhost, 127.0.0.1 and [::1])"
        ));
    }
    Ok(())
}

/// The host of an authority (`host[:port]`, `[v6][:port]`), as written.
fn host_of(authority: &str) -> &str {
    if let Some(rest) = authority.strip_prefix('[') {
        return rest.split_once(']').map_or("", |(h, _)| h);
    }
    authority.split(':').next().unwrap_or_default()
}

fn is_loopback(host: &str) -> bool {
    host.eq_ignore_ascii_case("localhost")
        || host
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback())
}

/// Is `presented` one of `registered`: byte for byte, or the same `http`
/// loopback URI on another port? The host must be the one registered, so
/// `localhost` matches only where the client registered `localhost`.
pub fn matches<S: AsRef<str>>(registered: &[S], presented: &str) -> bool {
    registered.iter().any(|r| {
        let r = r.as_ref();
        r == presented
            || loopback_without_port(r).is_some_and(|a| loopback_without_port(presented) == Some(a))
    })
}

/// Does every URI of `uris` send the browser to this machine (`http`
/// loopback)? The consent page warns about such apps.
pub fn loopback_only<S: AsRef<str>>(uris: &[S]) -> bool {
    !uris.is_empty()
        && uris
            .iter()
            .all(|u| loopback_without_port(u.as_ref()).is_some())
}

/// `(host, path and query)` of an `http://` URI to `127.0.0.1`, `[::1]` or
/// `localhost`, the port left out; `None` for any other URI.
fn loopback_without_port(uri: &str) -> Option<(&str, &str)> {
    let rest = uri.strip_prefix("http://")?;
    let split = rest.find(['/', '?']).unwrap_or(rest.len());
    let (authority, tail) = rest.split_at(split);
    let (host, port) = match authority.strip_prefix('[') {
        Some(v6) => {
            let (h, p) = v6.split_once(']')?;
            (&authority[..h.len() + 2], p)
        }
        None => authority.split_at(authority.find(':').unwrap_or(authority.len())),
    };
    let port_ok = port.is_empty()
        || port.strip_prefix(':').is_some_and(|p| {
            !p.is_empty() && p.len() <= 5 && p.bytes().all(|b| b.is_ascii_digit())
        });
    (port_ok && matches!(host, "127.0.0.1" | "[::1]" | "localhost")).then_some((host, tail))
}

/// `uri` with `params` appended to its query (form-encoded).
pub fn with_params(uri: &str, params: &[(&str, &str)]) -> String {
    let mut out = uri.to_string();
    let mut sep = if uri.contains('?') { '&' } else { '?' };
    for (k, v) in params {
        out.push(sep);
        out.push_str(&form_encode(k));
        out.push('=');
        out.push_str(&form_encode(v));
        sep = '&';
    }
    out
}

/// Percent-encode everything but the unreserved characters.
pub fn form_encode(s: &str) -> String {
    use std::fmt::Write as _;
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~') {
            out.push(b as char);
        } else {
            let _ = write!(out, "%{b:02X}");
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn registration_table() {
        let cases: &[(&str, &str, bool)] = &[
            ("loopback http", "http://127.0.0.1:8976/callback", true),
            ("https with query", "https://app.example/cb?x=1", true),
            ("custom scheme", "myapp://callback", false),
            ("javascript", "javascript:alert(1)", false),
            ("relative", "/callback", false),
            ("fragment", "https://app.example/cb#frag", false),
            ("userinfo", "https://user@evil.example/cb", false),
            ("no host", "https:///cb", false),
            ("space", "https://app.example/c b", false),
            ("newline", "https://app.example/cb\n", false),
            ("empty", "", false),
            ("backslash", "https://app.example\\@evil.example/cb", false),
            ("empty host with port", "http://:9999/cb", false),
            ("http to a remote host", "http://app.example/cb", false),
            ("http to localhost", "http://localhost:9999/cb", true),
            ("http to ipv6 loopback", "http://[::1]:9999/cb", true),
        ];
        for (name, uri, ok) in cases {
            assert_eq!(validate(uri).is_ok(), *ok, "{name}");
        }
    }

    #[test]
    fn matching_is_exact_but_for_the_loopback_port() {
        let reg = [
            "http://127.0.0.1:8976/callback",
            "http://[::1]/cb?x=1",
            "http://localhost/done",
            "https://app.example:8443/cb",
        ];
        let cases: &[(&str, &str, bool)] = &[
            ("same", "http://127.0.0.1:8976/callback", true),
            (
                "loopback, other port",
                "http://127.0.0.1:8977/callback",
                true,
            ),
            ("loopback, no port", "http://127.0.0.1/callback", true),
            ("v6 loopback, a port", "http://[::1]:4000/cb?x=1", true),
            (
                "v6 loopback, other query",
                "http://[::1]:4000/cb?x=2",
                false,
            ),
            ("localhost registered", "http://localhost:51000/done", true),
            (
                "localhost, other path",
                "http://localhost:51000/done/",
                false,
            ),
            (
                "127.0.0.1 for a registered localhost",
                "http://127.0.0.1:51000/done",
                false,
            ),
            ("loopback, other path", "http://127.0.0.1:8977/other", false),
            (
                "https loopback is not the rule",
                "https://127.0.0.1:8977/callback",
                false,
            ),
            ("loopback, bad port", "http://127.0.0.1:x/callback", false),
            (
                "non-loopback, other port",
                "https://app.example:9443/cb",
                false,
            ),
            ("non-loopback, no port", "https://app.example/cb", false),
            (
                "other loopback address",
                "http://127.0.0.2:8976/callback",
                false,
            ),
            ("trailing slash", "http://127.0.0.1:8976/callback/", false),
            ("extra query", "http://127.0.0.1:8976/callback?x=1", false),
            ("localhost alias", "http://localhost:8976/callback", false),
            ("case", "http://127.0.0.1:8976/Callback", false),
            ("prefix", "http://127.0.0.1:8976/callback.evil", false),
        ];
        for (name, uri, ok) in cases {
            assert_eq!(matches(&reg, uri), *ok, "{name}");
        }
    }

    #[test]
    fn loopback_only_apps() {
        assert!(loopback_only(&[
            "http://127.0.0.1/cb",
            "http://localhost:3/cb"
        ]));
        assert!(!loopback_only(&[
            "http://127.0.0.1/cb",
            "https://app.example/cb"
        ]));
        assert!(!loopback_only::<&str>(&[]));
    }

    #[test]
    fn params_are_appended_encoded() {
        assert_eq!(
            with_params("https://a/cb?x=1", &[("code", "a b"), ("state", "s&t")]),
            "https://a/cb?x=1&code=a%20b&state=s%26t"
        );
        assert_eq!(
            with_params("https://a/cb", &[("k", "v")]),
            "https://a/cb?k=v"
        );
    }
}
