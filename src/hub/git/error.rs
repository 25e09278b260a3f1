//! The git surface's one error type and the one place it becomes a
//! response. Git prints a text body verbatim, so these are `text/plain`
//! (never the JSON `ApiError` shape, which git would show as a blob of
//! JSON); the status codes and challenges are the ones that make git behave:
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

use std::time::Duration;

use axum::body::Body;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};

use crate::env_vars::{
    PARACHUTE_GIT_DEADLINE_SECS, PARACHUTE_GIT_MAX_BACKENDS, PARACHUTE_GIT_MAX_REQUEST_BYTES,
};

/// The Basic realm in the 401 challenge.
pub const REALM: &str = "Parachute Surface Git";

/// Why a git request was not served. The message is the body git shows.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum GitError {
    #[error("not found")]
    NotFound,
    #[error("bad request: {0}")]
    BadRequest(&'static str),
    /// `scope` is the one to ask for.
    #[error("Unauthorized: {reason}")]
    Unauthorized { reason: String, scope: String },
    /// A valid token without `0`, the scope it needs.
    #[error("Forbidden: token missing required scope {0}")]
    Forbidden(String),
    #[error(
        "request body exceeds the hub's limit of {0} bytes ({PARACHUTE_GIT_MAX_REQUEST_BYTES})"
    )]
    TooLarge(u64),
    /// Every backend slot is taken; git retries nothing by itself, so the
    /// text says what happened.
    #[error(
        "the hub is already running {max} git requests ({PARACHUTE_GIT_MAX_BACKENDS}); try again in {retry_after_secs}s"
    )]
    Busy { max: usize, retry_after_secs: u64 },
    /// The backend ran past its deadline and was stopped.
    #[error(
        "the git request took longer than the hub allows ({}s, {PARACHUTE_GIT_DEADLINE_SECS})",
        .0.as_secs()
    )]
    Timeout(Duration),
    #[error("bad gateway: {0}")]
    BadGateway(&'static str),
    /// A 500 whose cause is already logged.
    #[error("internal error: {0}; see the hub's log (parachute logs hub)")]
    Internal(&'static str),
    /// The client stopped sending its body; nobody reads this answer.
    #[error("")]
    ClientGone,
}

impl GitError {
    pub fn status(&self) -> StatusCode {
        match self {
            Self::NotFound => StatusCode::NOT_FOUND,
            Self::BadRequest(_) | Self::ClientGone => StatusCode::BAD_REQUEST,
            Self::Unauthorized { .. } => StatusCode::UNAUTHORIZED,
            Self::Forbidden(_) => StatusCode::FORBIDDEN,
            Self::TooLarge(_) => StatusCode::PAYLOAD_TOO_LARGE,
            Self::Busy { .. } => StatusCode::TOO_MANY_REQUESTS,
            Self::Timeout(_) => StatusCode::GATEWAY_TIMEOUT,
            Self::BadGateway(_) => StatusCode::BAD_GATEWAY,
            Self::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    /// The headers that tell git what to do next, in order.
    fn hints(&self) -> Vec<(header::HeaderName, String)> {
        match self {
            Self::Unauthorized { scope, .. } => vec![
                (header::WWW_AUTHENTICATE, format!("Basic realm=\"{REALM}\"")),
                (
                    header::WWW_AUTHENTICATE,
                    format!("Bearer scope=\"{scope}\""),
                ),
            ],
            Self::Forbidden(scope) => vec![(
                header::WWW_AUTHENTICATE,
                format!("Bearer error=\"insufficient_scope\", scope=\"{scope}\""),
            )],
            Self::Busy {
                retry_after_secs, ..
            } => vec![(header::RETRY_AFTER, retry_after_secs.to_string())],
            _ => Vec::new(),
        }
    }
}

impl IntoResponse for GitError {
    fn into_response(self) -> Response {
        if self == Self::ClientGone {
            let mut r = Response::new(Body::empty());
            *r.status_mut() = self.status();
            return r;
        }
        let mut r = (self.status(), format!("{self}\n")).into_response();
        let h = r.headers_mut();
        h.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("text/plain; charset=utf-8"),
        );
        h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
        for (name, value) in self.hints() {
            if let Ok(v) = HeaderValue::from_str(&value) {
                h.append(name, v);
            }
        }
        r
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unauthorized_has_both_challenges() {
        let r = GitError::Unauthorized {
            reason: "a hub access token is required".into(),
            scope: "surface:foo:read".into(),
        }
        .into_response();
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
        let r = GitError::Forbidden("surface:foo:write".into()).into_response();
        assert_eq!(r.status(), StatusCode::FORBIDDEN);
        assert_eq!(
            r.headers()[header::WWW_AUTHENTICATE],
            "Bearer error=\"insufficient_scope\", scope=\"surface:foo:write\""
        );
    }

    #[test]
    fn bodies_are_the_lines_git_prints() {
        let busy = GitError::Busy {
            max: 16,
            retry_after_secs: 5,
        };
        assert_eq!(
            busy.to_string(),
            "the hub is already running 16 git requests (PARACHUTE_GIT_MAX_BACKENDS); try again in 5s"
        );
        assert_eq!(busy.into_response().headers()[header::RETRY_AFTER], "5");
        assert_eq!(
            GitError::Timeout(Duration::from_secs(900)).to_string(),
            "the git request took longer than the hub allows (900s, PARACHUTE_GIT_DEADLINE_SECS)"
        );
        assert_eq!(
            GitError::TooLarge(10).to_string(),
            "request body exceeds the hub's limit of 10 bytes (PARACHUTE_GIT_MAX_REQUEST_BYTES)"
        );
        let gone = GitError::ClientGone.into_response();
        assert_eq!(gone.status(), StatusCode::BAD_REQUEST);
        assert!(gone.headers().get(header::CONTENT_TYPE).is_none());
    }
}
