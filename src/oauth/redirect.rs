//! Redirect URIs: what a registration may contain, and the exact match at
//! `/oauth/authorize` and `/oauth/token` (no wildcards, no loopback
//! any-port, no prefix matching, no normalisation).

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

/// Is `presented` one of `registered`, byte for byte?
pub fn matches<S: AsRef<str>>(registered: &[S], presented: &str) -> bool {
    registered.iter().any(|r| r.as_ref() == presented)
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
    fn matching_is_exact() {
        let reg = ["http://127.0.0.1:8976/callback"];
        let cases: &[(&str, &str, bool)] = &[
            ("same", "http://127.0.0.1:8976/callback", true),
            ("other port", "http://127.0.0.1:8977/callback", false),
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
