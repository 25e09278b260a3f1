//! The one place the domain's OAuth errors become HTTP: RFC 6749 §5.2 JSON
//! (`{error, error_description}`, `no-store`) at the token-side endpoints,
//! and — at the authorize endpoint — the redirect back to the client with
//! `error`, `state` and `iss`, or an error page when no redirect URI can be
//! trusted.

use axum::Json;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::json;

use crate::hub::error::ApiError;
use crate::hub::pages::{error_page, see_other};
use crate::oauth::authorize::{AuthorizeError, Untrusted};
use crate::oauth::error::{ErrorCode, Failure as DomainFailure, OAuthError};
use crate::store::StoreError;

/// The status an error code is answered with, and its challenge.
fn status_of(e: &OAuthError) -> (StatusCode, Option<String>) {
    match e.code {
        // Basic, so a client that sent none learns it may (RFC 6749 §5.2).
        ErrorCode::InvalidClient => (
            StatusCode::UNAUTHORIZED,
            Some("Basic realm=\"parachute\"".into()),
        ),
        // RFC 6750 §3.1, the MCP authorization spec: name the scope to ask for.
        ErrorCode::InsufficientScope => (
            StatusCode::FORBIDDEN,
            e.scope
                .map(|s| format!("Bearer error=\"insufficient_scope\", scope=\"{s}\"")),
        ),
        _ => (StatusCode::BAD_REQUEST, None),
    }
}

impl IntoResponse for OAuthError {
    fn into_response(self) -> Response {
        let (status, challenge) = status_of(&self);
        let mut r = (
            status,
            Json(json!({"error": self.code.as_str(), "error_description": self.description})),
        )
            .into_response();
        let h = r.headers_mut();
        h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
        h.insert(header::PRAGMA, HeaderValue::from_static("no-cache"));
        if let Some(v) = challenge.and_then(|c| HeaderValue::from_str(&c).ok()) {
            h.insert(header::WWW_AUTHENTICATE, v);
        }
        r
    }
}

/// What an OAuth handler answers with when it does not succeed: an OAuth
/// error (JSON), an authorization request refused (a redirect or a page),
/// a dangerous action without its step-up, or a hub fault (store down, bug).
#[derive(Debug)]
pub enum Failure {
    OAuth(OAuthError),
    Authorize(AuthorizeError),
    StepUp(crate::hub::step_up::StepUpRequired),
    Api(ApiError),
}

impl From<crate::hub::step_up::StepUpRequired> for Failure {
    fn from(e: crate::hub::step_up::StepUpRequired) -> Self {
        Self::StepUp(e)
    }
}

impl From<AuthorizeError> for Failure {
    fn from(e: AuthorizeError) -> Self {
        Self::Authorize(e)
    }
}

impl From<Untrusted> for Failure {
    fn from(e: Untrusted) -> Self {
        Self::Authorize(e.into())
    }
}

impl From<OAuthError> for Failure {
    fn from(e: OAuthError) -> Self {
        Self::OAuth(e)
    }
}

impl From<ApiError> for Failure {
    fn from(e: ApiError) -> Self {
        Self::Api(e)
    }
}

impl From<StoreError> for Failure {
    fn from(e: StoreError) -> Self {
        Self::Api(e.into())
    }
}

impl From<DomainFailure> for Failure {
    fn from(e: DomainFailure) -> Self {
        match e {
            DomainFailure::Refused(e) => Self::OAuth(e),
            DomainFailure::Store(e) => e.into(),
        }
    }
}

impl IntoResponse for Failure {
    fn into_response(self) -> Response {
        match self {
            Self::OAuth(e) => e.into_response(),
            Self::Authorize(e) => authorize_response(e),
            Self::StepUp(e) => e.into_response(),
            Self::Api(e) => e.into_response(),
        }
    }
}

/// An authorization request that failed, as the browser is answered.
fn authorize_response(e: AuthorizeError) -> Response {
    match e {
        AuthorizeError::Untrusted(u) => untrusted_page(&u),
        AuthorizeError::Redirect { to, error } => see_other(&to.url(&[
            ("error", error.code.as_str()),
            ("error_description", &error.description),
        ])),
        AuthorizeError::NotApproved { name, client_id } => error_page(
            StatusCode::FORBIDDEN,
            "App not yet approved",
            &format!(
                "{} asked to connect, but the hub's owner has not approved it yet. The owner can approve it by signing in and opening this link, or with: parachute auth approve-client {client_id}",
                name.as_deref().unwrap_or("This app"),
            ),
        ),
        AuthorizeError::SignedOut => error_page(
            StatusCode::UNAUTHORIZED,
            "Signed out",
            "Your session ended. Start connecting the app again.",
        ),
        AuthorizeError::Store(e) => ApiError::from(e).into_response(),
    }
}

/// No redirect URI can be trusted (RFC 6749 §4.1.2.1): a page, never a
/// redirect.
fn untrusted_page(u: &Untrusted) -> Response {
    let (title, message) = match u {
        Untrusted::Document { client_id, reason } => (
            "This app could not be identified",
            format!(
                "The app identifies itself by the URL `{client_id}`, but the hub could not use what it found there: {reason}."
            ),
        ),
        other => ("This sign-in link is not valid", other.to_string()),
    };
    error_page(StatusCode::BAD_REQUEST, title, &message)
}
