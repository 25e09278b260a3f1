//! The OAuth 2.1 authorization server's domain: what the hub's handlers
//! (`hub::oauth`) call, one function per request, after extracting it.
//!
//! - Pure rules, table-tested: resource binding (RFC 8707, seed 001),
//!   capability attenuation and the scope shape guard, PKCE, redirect-URI
//!   matching, refresh rotation, consent, client ID metadata documents.
//! - Operations over the store, unit-tested on a real `SQLite` store:
//!   the token grants ([`grant`]), the authorization request ([`authorize`]),
//!   registration ([`register`]), revocation and introspection
//!   ([`revoke`]), minting under attenuation ([`delegate`]), client
//!   authentication ([`client_auth`]) and document clients
//!   ([`cimd_client`]).
//!
//! No HTTP and no clock: callers pass `now` (the hub reads its `Clock`),
//! and refusals are the one [`error::OAuthError`] the hub maps to HTTP.

/// Inside a transaction step ([`error::Step`]): the value of an
/// `Ok`, or return the refusal as `Ok(Err(_))` (committing what was done).
macro_rules! or_refuse {
    ($e:expr) => {
        match $e {
            Ok(v) => v,
            Err(refusal) => return Ok(Err(refusal)),
        }
    };
}

pub mod attenuation;
pub mod authorize;
pub mod cimd;
pub mod cimd_client;
pub mod client_auth;
pub mod clients;
pub mod consent;
pub mod delegate;
pub mod error;
pub mod grant;
pub mod pkce;
pub mod redirect;
pub mod refresh;
pub mod register;
pub mod resource;
pub mod revocation;
pub mod revoke;
#[cfg(test)]
mod testkit;
pub mod text;

use crate::store::clients::Client;

/// Lifetimes, in seconds.
pub const CODE_TTL_SECS: i64 = 60;
pub const ACCESS_TTL_SECS: i64 = 15 * 60;
pub const REFRESH_TTL_SECS: i64 = 30 * 86_400;
/// A pending (unapproved) dynamic registration is forgotten after this.
pub const PENDING_CLIENT_TTL_SECS: i64 = 60 * 60;

/// When a pending registration registered before this instant is forgotten.
pub fn pending_client_cutoff(now: i64) -> i64 {
    now - PENDING_CLIENT_TTL_SECS
}

/// A pending registration past its time is treated as never made; an
/// approved client never expires this way.
pub fn client_expired(client: &Client, now: i64) -> bool {
    client.pending_before(pending_client_cutoff(now))
}

/// Authorization codes that expired before this instant are forgotten: a
/// code matters for reuse detection while a refresh family it issued can live.
pub fn code_cutoff(now: i64) -> i64 {
    now - REFRESH_TTL_SECS
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
    use crate::store::clients;

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
    fn a_pending_registration_expires_after_its_ttl_an_approved_one_never() {
        let client = |status: &str| Client {
            client_id: "c".into(),
            client_secret_hash: None,
            redirect_uris: vec![],
            scopes: String::new(),
            client_name: None,
            registered_at: 1_000,
            status: status.into(),
            token_endpoint_auth_method: "none".into(),
            metadata: serde_json::Value::Null,
            document_expires_at: None,
        };
        let pending = client(clients::PENDING);
        let at_ttl = 1_000 + PENDING_CLIENT_TTL_SECS;
        assert!(!client_expired(&pending, at_ttl), "still live at its TTL");
        assert!(
            client_expired(&pending, at_ttl + 1),
            "gone one second later"
        );
        assert!(!client_expired(&client(clients::APPROVED), at_ttl * 10));
        assert_eq!(pending_client_cutoff(at_ttl + 1), 1_001);
        assert_eq!(code_cutoff(REFRESH_TTL_SECS + 5), 5);
    }
}
