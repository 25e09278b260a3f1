//! Who may do what, and the plain-text answers git understands. Git prints a
//! text body verbatim, so these are `text/plain`, not the JSON `ApiError`
//! shape; the status codes and challenges are the ones that make git behave:
//!
//! - 401 (no credential, or one the hub refuses) carries **two**
//!   `WWW-Authenticate` challenges, `Basic realm="…"` and `Bearer
//!   scope="surface:<name>:<verb>"`: without one git never asks its
//!   credential helper and never retries; Bearer serves git ≥ 2.46 helpers,
//!   Basic everything older; the hub's 401 middleware (`oauth::challenge`)
//!   adds `resource_metadata` to the Bearer one, as on every hub 401.
//!   A token for another audience (a vault's MCP token) is a 401 too.
//! - 403 (a valid token without the scope) names the scope in a
//!   `Bearer error="insufficient_scope"` challenge (RFC 6750). Not 401:
//!   asking the same identity again yields no more authority, it would only
//!   spin the credential helper.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};

use super::path::{Access, scope};
use crate::tokens::Claims;

/// The Basic realm in the 401 challenge.
pub const REALM: &str = "Parachute Surface Git";

/// `None` when `claims` allow `access` to `name`, else the scope it lacks.
/// Write needs `surface:<name>:write`; read takes `surface:<name>:read` or
/// `surface:<name>:write` (a writer may always fetch). Nothing broader
/// (host or admin scopes, unnamed `surface:*`) grants repository access.
pub fn missing_scope(claims: &Claims, name: &str, access: Access) -> Option<String> {
    let write = scope(name, Access::Write);
    let ok = match access {
        Access::Write => claims.has_scope(&write),
        Access::Read => claims.has_scope(&write) || claims.has_scope(&scope(name, Access::Read)),
    };
    (!ok).then(|| scope(name, access))
}

fn text(status: StatusCode, body: String) -> Response {
    let mut r = (status, body).into_response();
    let h = r.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/plain; charset=utf-8"),
    );
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    r
}

/// 401 with the Basic and Bearer challenges; `scope` is the one to ask for.
pub fn unauthorized(reason: &str, scope: &str) -> Response {
    let mut r = text(
        StatusCode::UNAUTHORIZED,
        format!("Unauthorized: {reason}\n"),
    );
    let h = r.headers_mut();
    if let Ok(v) = HeaderValue::from_str(&format!("Basic realm=\"{REALM}\"")) {
        h.append(header::WWW_AUTHENTICATE, v);
    }
    if let Ok(v) = HeaderValue::from_str(&format!("Bearer scope=\"{scope}\"")) {
        h.append(header::WWW_AUTHENTICATE, v);
    }
    r
}

/// 403 naming the missing scope.
pub fn forbidden(scope: &str) -> Response {
    let mut r = text(
        StatusCode::FORBIDDEN,
        format!("Forbidden: token missing required scope {scope}\n"),
    );
    if let Ok(v) = HeaderValue::from_str(&format!(
        "Bearer error=\"insufficient_scope\", scope=\"{scope}\""
    )) {
        r.headers_mut().insert(header::WWW_AUTHENTICATE, v);
    }
    r
}

pub fn not_found() -> Response {
    text(StatusCode::NOT_FOUND, "not found\n".into())
}

pub fn too_large(limit: u64) -> Response {
    text(
        StatusCode::PAYLOAD_TOO_LARGE,
        format!(
            "request body exceeds the hub's limit of {limit} bytes (PARACHUTE_GIT_MAX_REQUEST_BYTES)\n"
        ),
    )
}

/// 429: every backend slot is taken; git retries nothing by itself, so the
/// text says what happened.
pub fn too_many(max: usize, retry_after_secs: u64) -> Response {
    let mut r = text(
        StatusCode::TOO_MANY_REQUESTS,
        format!(
            "the hub is already running {max} git requests (PARACHUTE_GIT_MAX_BACKENDS); try again in {retry_after_secs}s\n"
        ),
    );
    r.headers_mut()
        .insert(header::RETRY_AFTER, HeaderValue::from(retry_after_secs));
    r
}

/// 504: the backend ran past its deadline and was stopped.
pub fn timeout(deadline: std::time::Duration) -> Response {
    text(
        StatusCode::GATEWAY_TIMEOUT,
        format!(
            "the git request took longer than the hub allows ({}s, PARACHUTE_GIT_DEADLINE_SECS)\n",
            deadline.as_secs()
        ),
    )
}

pub fn bad_request(what: &str) -> Response {
    text(StatusCode::BAD_REQUEST, format!("bad request: {what}\n"))
}

pub fn bad_gateway(what: &str) -> Response {
    text(StatusCode::BAD_GATEWAY, format!("bad gateway: {what}\n"))
}

/// A 500 whose cause is already logged.
pub fn internal(what: &str) -> Response {
    text(
        StatusCode::INTERNAL_SERVER_ERROR,
        format!("internal error: {what}; see the hub's log (parachute logs hub)\n"),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn claims(scope: &str) -> Claims {
        Claims {
            iss: "http://127.0.0.1:1939".into(),
            sub: "u1".into(),
            aud: "surface".into(),
            iat: 0,
            nbf: None,
            exp: 1,
            jti: Some("j".into()),
            scope: scope.into(),
            client_id: "c".into(),
            vault_scope: Vec::new(),
        }
    }

    #[test]
    fn missing_scope_table() {
        use Access::{Read, Write};
        let cases: &[(&str, &str, Access, Option<&str>)] = &[
            ("write for write", "surface:foo:write", Write, None),
            ("write ⊇ read", "surface:foo:write", Read, None),
            ("read for read", "surface:foo:read", Read, None),
            (
                "read is not write",
                "surface:foo:read vault:default:read",
                Write,
                Some("surface:foo:write"),
            ),
            (
                "another repository",
                "surface:other:read",
                Read,
                Some("surface:foo:read"),
            ),
            (
                "unnamed surface scope",
                "surface:write",
                Write,
                Some("surface:foo:write"),
            ),
            (
                "host admin grants nothing",
                "parachute:host:admin hub:admin",
                Read,
                Some("surface:foo:read"),
            ),
            (
                "prefix is not a match",
                "surface:foo:writer",
                Write,
                Some("surface:foo:write"),
            ),
            ("no scopes", "", Read, Some("surface:foo:read")),
        ];
        for (what, scopes, access, want) in cases {
            assert_eq!(
                missing_scope(&claims(scopes), "foo", *access).as_deref(),
                *want,
                "{what}"
            );
        }
    }

    #[test]
    fn unauthorized_has_both_challenges() {
        let r = unauthorized("a hub access token is required", "surface:foo:read");
        assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
        let challenges: Vec<&str> = r
            .headers()
            .get_all(header::WWW_AUTHENTICATE)
            .iter()
            .map(|v| v.to_str().expect("ascii"))
            .collect();
        assert_eq!(
            challenges,
            [
                "Basic realm=\"Parachute Surface Git\"",
                "Bearer scope=\"surface:foo:read\""
            ]
        );
        assert_eq!(r.headers()[header::CACHE_CONTROL], "no-store");
    }

    #[test]
    fn forbidden_names_the_scope() {
        let r = forbidden("surface:foo:write");
        assert_eq!(r.status(), StatusCode::FORBIDDEN);
        assert_eq!(
            r.headers()[header::WWW_AUTHENTICATE],
            "Bearer error=\"insufficient_scope\", scope=\"surface:foo:write\""
        );
    }
}
