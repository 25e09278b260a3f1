//! The OAuth 2.1 authorization server's rules as plain functions: resource
//! binding (RFC 8707, seed 001), capability attenuation and the scope shape
//! guard, PKCE, redirect-URI matching, refresh rotation, consent, client ID
//! metadata documents. No I/O and
//! no clock: callers pass `now`, so every rule is table-tested here and the
//! hub's handlers (`hub::oauth`) only adapt HTTP to them.

pub mod attenuation;
pub mod cimd;
pub mod consent;
pub mod pkce;
pub mod redirect;
pub mod refresh;
pub mod resource;
pub mod revocation;
pub mod text;

/// Lifetimes, in seconds.
pub const CODE_TTL_SECS: i64 = 60;
pub const ACCESS_TTL_SECS: i64 = 15 * 60;
pub const REFRESH_TTL_SECS: i64 = 30 * 86_400;
/// A pending (unapproved) dynamic registration is forgotten after this.
pub const PENDING_CLIENT_TTL_SECS: i64 = 60 * 60;

/// SHA-256 hex of a secret (codes, refresh tokens, client secrets, session
/// ids): what the store keeps instead of the secret.
pub fn sha256_hex(secret: &str) -> String {
    use std::fmt::Write as _;
    let d = aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, secret.as_bytes());
    d.as_ref()
        .iter()
        .fold(String::with_capacity(64), |mut s, b| {
            let _ = write!(s, "{b:02x}");
            s
        })
}

/// 32 random bytes, base64url: codes, refresh tokens, secrets, session ids.
pub fn random_token() -> String {
    use base64::Engine as _;
    let mut b = [0u8; 32];
    aws_lc_rs::rand::fill(&mut b).expect("system random number generator");
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(b)
}

/// Constant-time equality for secrets compared as strings.
pub fn same_secret(a: &str, b: &str) -> bool {
    aws_lc_rs::constant_time::verify_slices_are_equal(a.as_bytes(), b.as_bytes()).is_ok()
}

/// A local path safe to redirect to after login (`next`, `return_to`): one
/// leading `/`, no `//`, no `\`, no `..` segment, no control characters.
pub fn safe_return_path(next: &str) -> bool {
    next.starts_with('/')
        && !next.starts_with("//")
        && !next.contains('\\')
        && !next.bytes().any(|b| b.is_ascii_control())
        && !next
            .split(['/', '?', '#'])
            .any(|seg| seg == ".." || seg.eq_ignore_ascii_case("%2e%2e"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn return_paths() {
        let cases: &[(&str, &str, bool)] = &[
            ("root", "/", true),
            (
                "authorize with query",
                "/oauth/authorize?client_id=a&x=%2F",
                true,
            ),
            ("absolute url", "https://evil.example/", false),
            ("protocol relative", "//evil.example/", false),
            ("backslash", "/\\evil.example", false),
            ("dot dot", "/a/../admin", false),
            ("encoded dot dot", "/a/%2e%2e/admin", false),
            ("relative", "account", false),
            ("newline", "/a\r\nSet-Cookie: x", false),
        ];
        for (name, path, want) in cases {
            assert_eq!(safe_return_path(path), *want, "{name}");
        }
    }

    #[test]
    fn hashes_and_randoms() {
        assert_eq!(
            sha256_hex("abc"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
        let t = random_token();
        assert_eq!(t.len(), 43);
        assert_ne!(t, random_token());
        assert!(same_secret("a", "a") && !same_secret("a", "b") && !same_secret("a", "ab"));
    }
}
