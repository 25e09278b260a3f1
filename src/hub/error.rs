//! The hub's one error type for its JSON API, and the one place it becomes
//! a response. Bodies are `{error, error_description}` (the OAuth shape);
//! 401s carry a `WWW-Authenticate: Bearer` challenge with a `scope` hint
//! (the protected-resource metadata is added by `oauth::challenge`) and
//! 403s name the missing scope (RFC 6750 §3, the MCP authorization spec); a
//! 429 says when to retry; a 500 is logged with its cause and answered
//! generically. Every body is `Cache-Control: no-store`.
//!
//! The other surfaces answer in their own dialect, each from one type of
//! its own: OAuth endpoints (`hub::oauth`), HTML pages (`hub::pages`) and
//! git (`hub::git::error`, plain text that git prints verbatim).

use axum::Json;
use axum::http::{HeaderName, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::json;

use crate::env_vars::PARACHUTE_ALLOWED_HOSTS;
use crate::store::StoreError;

#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    /// No bearer token was presented; `scope` is what to ask for.
    #[error("a bearer token is required")]
    MissingToken { scope: &'static str },
    /// A bearer token was presented and refused; the reason is logged, not
    /// sent; `scope` is what to ask for.
    #[error("the bearer token is invalid, expired, revoked or not for this resource")]
    InvalidToken { reason: String, scope: &'static str },
    /// The token is valid but lacks this scope.
    #[error("this needs the `{0}` scope")]
    InsufficientScope(&'static str),
    #[error("{description}")]
    BadRequest {
        error: &'static str,
        description: String,
    },
    #[error("{0}")]
    NotFound(String),
    /// Too many attempts; retry after this many seconds.
    #[error("too many attempts; try again in {0} seconds")]
    RateLimited(i64),
    /// The request names a `Host` that is not the hub's (DNS rebinding).
    #[error(
        "this hub does not answer for that host name; if it should, add it to `{PARACHUTE_ALLOWED_HOSTS}`"
    )]
    MisdirectedHost,
    /// The store cannot be used; the fault is logged.
    #[error("the hub store is unavailable")]
    Unavailable(String),
    /// Another writer held the store past the busy timeout; a retry
    /// shortly can succeed (`Retry-After`).
    #[error("the hub store is busy; try again shortly")]
    Busy(String),
    /// Anything else; logged with its cause, answered generically.
    #[error("internal error; see the hub's log (parachute logs hub)")]
    Internal(String),
}

impl ApiError {
    pub fn internal(e: impl std::fmt::Display) -> Self {
        Self::Internal(e.to_string())
    }

    pub fn unavailable(e: impl std::fmt::Display) -> Self {
        Self::Unavailable(e.to_string())
    }

    /// 400 `invalid_request` saying what is wrong with the request.
    pub fn invalid_request(description: impl Into<String>) -> Self {
        Self::BadRequest {
            error: "invalid_request",
            description: description.into(),
        }
    }

    pub fn status(&self) -> StatusCode {
        match self {
            Self::MissingToken { .. } | Self::InvalidToken { .. } => StatusCode::UNAUTHORIZED,
            Self::InsufficientScope(_) => StatusCode::FORBIDDEN,
            Self::BadRequest { .. } => StatusCode::BAD_REQUEST,
            Self::NotFound(_) => StatusCode::NOT_FOUND,
            Self::RateLimited(_) => StatusCode::TOO_MANY_REQUESTS,
            Self::MisdirectedHost => StatusCode::MISDIRECTED_REQUEST,
            Self::Unavailable(_) | Self::Busy(_) => StatusCode::SERVICE_UNAVAILABLE,
            Self::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    /// The body's `error` code.
    pub fn code(&self) -> &'static str {
        match self {
            // RFC 6750 §3.1: no `error` in the challenge when no token was sent.
            Self::MissingToken { .. } => "invalid_request",
            Self::InvalidToken { .. } => "invalid_token",
            Self::InsufficientScope(_) => "insufficient_scope",
            Self::BadRequest { error, .. } => error,
            Self::NotFound(_) => "not_found",
            Self::RateLimited(_) => "rate_limited",
            Self::MisdirectedHost => "misdirected_request",
            Self::Unavailable(_) | Self::Busy(_) => "db_unavailable",
            Self::Internal(_) => "server_error",
        }
    }

    /// The header that tells the client what to do next, if any.
    fn hint(&self) -> Option<(HeaderName, String)> {
        let bearer = |v: String| Some((header::WWW_AUTHENTICATE, v));
        match self {
            Self::MissingToken { scope } => bearer(format!("Bearer scope=\"{scope}\"")),
            Self::InvalidToken { scope, .. } => {
                bearer(format!("Bearer error=\"invalid_token\", scope=\"{scope}\""))
            }
            Self::InsufficientScope(scope) => bearer(format!(
                "Bearer error=\"insufficient_scope\", scope=\"{scope}\""
            )),
            Self::RateLimited(secs) => Some((header::RETRY_AFTER, secs.to_string())),
            Self::Busy(_) => Some((header::RETRY_AFTER, BUSY_RETRY_AFTER_SECS.to_string())),
            _ => None,
        }
    }

    /// Log what the client is not told.
    fn log(&self) {
        match self {
            Self::InvalidToken { reason, .. } => tracing::debug!(reason, "bearer token refused"),
            Self::Unavailable(fault) => tracing::error!(fault, "store unavailable"),
            Self::Busy(fault) => tracing::warn!(fault, "store busy"),
            Self::Internal(cause) => tracing::error!(cause, "internal error"),
            _ => {}
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        self.log();
        let body = json!({"error": self.code(), "error_description": self.to_string()});
        let mut r = (self.status(), Json(body)).into_response();
        let h = r.headers_mut();
        h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
        if let Some((name, value)) = self.hint()
            && let Ok(v) = HeaderValue::from_str(&value)
        {
            h.insert(name, v);
        }
        r
    }
}

/// Seconds a client is told to wait after a busy store: about one busy
/// timeout, by which the writer holding it has usually finished.
pub const BUSY_RETRY_AFTER_SECS: u64 = 5;

impl ApiError {
    /// A store failure: 503 with `Retry-After` when it was only busy, 500
    /// (logged) otherwise.
    fn store(busy: bool, e: impl std::fmt::Display) -> Self {
        if busy {
            Self::Busy(e.to_string())
        } else {
            Self::internal(e)
        }
    }
}

impl From<StoreError> for ApiError {
    fn from(e: StoreError) -> Self {
        Self::store(e.is_busy(), e)
    }
}

/// The same for a query's own error.
impl From<rusqlite::Error> for ApiError {
    fn from(e: rusqlite::Error) -> Self {
        Self::store(crate::store::is_busy(&e), e)
    }
}

impl From<crate::oauth::revocation::RevokeError> for ApiError {
    fn from(e: crate::oauth::revocation::RevokeError) -> Self {
        use crate::oauth::revocation::{REGISTRY_SCOPE, RevokeError};
        match e {
            RevokeError::NotAllowed => Self::InsufficientScope(REGISTRY_SCOPE),
            RevokeError::BadJti => Self::invalid_request(e.to_string()),
            RevokeError::Unknown(_) => Self::NotFound(e.to_string()),
            RevokeError::Unavailable(e) => Self::unavailable(e),
            RevokeError::Store(e) => e.into(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    async fn parts(e: ApiError) -> (StatusCode, axum::http::HeaderMap, serde_json::Value) {
        let r = e.into_response();
        let (status, headers) = (r.status(), r.headers().clone());
        let bytes = axum::body::to_bytes(r.into_body(), 1 << 16)
            .await
            .expect("body");
        (
            status,
            headers,
            serde_json::from_slice(&bytes).expect("json"),
        )
    }

    fn sqlite(code: std::ffi::c_int) -> StoreError {
        StoreError::Sqlite {
            path: "hub.db".into(),
            source: rusqlite::Error::SqliteFailure(rusqlite::ffi::Error::new(code), None),
        }
    }

    #[tokio::test]
    async fn a_busy_store_asks_for_a_retry_and_any_other_fault_is_a_500() {
        for code in [rusqlite::ffi::SQLITE_BUSY, rusqlite::ffi::SQLITE_LOCKED] {
            let (status, h, body) = parts(sqlite(code).into()).await;
            assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
            assert_eq!(h[header::RETRY_AFTER], BUSY_RETRY_AFTER_SECS.to_string());
            assert_eq!(body["error"], "db_unavailable");
        }
        let (status, h, body) = parts(sqlite(rusqlite::ffi::SQLITE_CORRUPT).into()).await;
        assert_eq!(status, StatusCode::INTERNAL_SERVER_ERROR);
        assert!(h.get(header::RETRY_AFTER).is_none());
        assert_eq!(body["error"], "server_error");
        let page = crate::hub::pages::error::PageError::from(sqlite(rusqlite::ffi::SQLITE_BUSY));
        assert_eq!(page.status(), StatusCode::SERVICE_UNAVAILABLE);
        let page = crate::hub::pages::error::PageError::from(sqlite(rusqlite::ffi::SQLITE_IOERR));
        assert_eq!(page.status(), StatusCode::INTERNAL_SERVER_ERROR);
        // A page's own query (`pages::read`) found the store busy.
        let tmp = tempfile::tempdir().expect("tmp");
        let state = crate::hub::test_support::state_in(tmp.path());
        let busy = crate::hub::pages::read(&state, |_, _| {
            Err::<(), _>(rusqlite::Error::SqliteFailure(
                rusqlite::ffi::Error::new(rusqlite::ffi::SQLITE_BUSY),
                None,
            ))
        });
        let page = busy.expect_err("busy");
        assert_eq!(page.status(), StatusCode::SERVICE_UNAVAILABLE);
    }

    #[tokio::test]
    async fn every_error_is_the_one_json_shape_and_never_cached() {
        let (status, h, body) = parts(ApiError::InsufficientScope("parachute:host:auth")).await;
        assert_eq!(status, StatusCode::FORBIDDEN);
        assert_eq!(body["error"], "insufficient_scope");
        assert_eq!(
            body["error_description"],
            "this needs the `parachute:host:auth` scope"
        );
        assert_eq!(
            h[header::WWW_AUTHENTICATE],
            "Bearer error=\"insufficient_scope\", scope=\"parachute:host:auth\""
        );
        assert_eq!(h[header::CACHE_CONTROL], "no-store");

        let (status, h, body) = parts(ApiError::RateLimited(7)).await;
        assert_eq!(status, StatusCode::TOO_MANY_REQUESTS);
        assert_eq!(h[header::RETRY_AFTER], "7");
        assert_eq!(body["error"], "rate_limited");

        let (status, _, body) = parts(ApiError::MisdirectedHost).await;
        assert_eq!(status, StatusCode::MISDIRECTED_REQUEST);
        assert!(
            body["error_description"]
                .as_str()
                .is_some_and(|d| d.contains(PARACHUTE_ALLOWED_HOSTS))
        );
    }

    #[tokio::test]
    async fn causes_are_logged_not_sent() {
        let (status, _, body) = parts(ApiError::internal("disk on fire at /secret/path")).await;
        assert_eq!(status, StatusCode::INTERNAL_SERVER_ERROR);
        assert!(!body.to_string().contains("/secret/path"), "{body}");
        let (status, h, body) = parts(ApiError::InvalidToken {
            reason: "kid k9 unknown".into(),
            scope: "s",
        })
        .await;
        assert_eq!(status, StatusCode::UNAUTHORIZED);
        assert!(!body.to_string().contains("k9"), "{body}");
        assert_eq!(
            h[header::WWW_AUTHENTICATE],
            "Bearer error=\"invalid_token\", scope=\"s\""
        );
    }
}
