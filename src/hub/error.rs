//! The hub's one error type for HTTP. Bodies are `{error, error_description}`
//! (the OAuth shape); 401s carry a `WWW-Authenticate: Bearer` challenge with
//! a `scope` hint (the protected-resource metadata is added by
//! `oauth::challenge`) and 403s name the missing scope (RFC 6750 §3, the MCP
//! authorization spec); a 500 is logged with its cause and answered
//! generically.

use axum::Json;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::json;

#[derive(Debug)]
pub enum ApiError {
    /// No bearer token was presented; `scope` is what to ask for.
    MissingToken {
        scope: &'static str,
    },
    /// A bearer token was presented and refused; the reason is logged, not
    /// sent; `scope` is what to ask for.
    InvalidToken {
        reason: String,
        scope: &'static str,
    },
    /// The token is valid but lacks `scope`.
    InsufficientScope(&'static str),
    BadRequest {
        error: &'static str,
        description: String,
    },
    NotFound(String),
    /// The store cannot be used.
    Unavailable(String),
    /// Anything else; logged with its cause, answered generically.
    Internal(String),
}

impl ApiError {
    pub fn internal(e: impl std::fmt::Display) -> Self {
        Self::Internal(e.to_string())
    }
}

fn body(status: StatusCode, error: &str, description: &str) -> Response {
    let mut r = (
        status,
        Json(json!({"error": error, "error_description": description})),
    )
        .into_response();
    r.headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    r
}

fn challenge(mut r: Response, value: &str) -> Response {
    if let Ok(v) = HeaderValue::from_str(value) {
        r.headers_mut().insert(header::WWW_AUTHENTICATE, v);
    }
    r
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        match self {
            // RFC 6750 §3.1: no `error` when no token was sent.
            Self::MissingToken { scope } => challenge(
                body(
                    StatusCode::UNAUTHORIZED,
                    "invalid_request",
                    "a bearer token is required",
                ),
                &format!("Bearer scope=\"{scope}\""),
            ),
            Self::InvalidToken { reason, scope } => {
                tracing::debug!(reason, "bearer token refused");
                challenge(
                    body(
                        StatusCode::UNAUTHORIZED,
                        "invalid_token",
                        "the bearer token is invalid, expired, revoked or not for this resource",
                    ),
                    &format!("Bearer error=\"invalid_token\", scope=\"{scope}\""),
                )
            }
            Self::InsufficientScope(scope) => challenge(
                body(
                    StatusCode::FORBIDDEN,
                    "insufficient_scope",
                    &format!("this needs the `{scope}` scope"),
                ),
                &format!("Bearer error=\"insufficient_scope\", scope=\"{scope}\""),
            ),
            Self::BadRequest { error, description } => {
                body(StatusCode::BAD_REQUEST, error, &description)
            }
            Self::NotFound(d) => body(StatusCode::NOT_FOUND, "not_found", &d),
            Self::Unavailable(d) => {
                tracing::error!(fault = %d, "store unavailable");
                body(
                    StatusCode::SERVICE_UNAVAILABLE,
                    "db_unavailable",
                    "the hub store is unavailable",
                )
            }
            Self::Internal(cause) => {
                tracing::error!(%cause, "internal error");
                body(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "server_error",
                    "internal error; see the hub's log (parachute logs hub)",
                )
            }
        }
    }
}
