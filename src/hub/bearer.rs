//! Bearer authentication as an extractor: a handler that takes [`Bearer`]
//! only runs for a valid hub token (see `tokens::jwt::validate`); scopes are
//! checked with [`Bearer::require`].

use axum::extract::FromRequestParts;
use axum::http::header;
use axum::http::request::Parts;

use super::HubState;
use super::error::ApiError;
use crate::tokens::Claims;

/// The validated claims of the request's bearer token.
#[derive(Debug, Clone)]
pub struct Bearer(pub Claims);

impl Bearer {
    /// Refuse with 403 `insufficient_scope` unless the token has `scope`.
    pub fn require(&self, scope: &'static str) -> Result<(), ApiError> {
        if self.0.has_scope(scope) {
            Ok(())
        } else {
            Err(ApiError::InsufficientScope(scope))
        }
    }
}

/// The token of an `Authorization: Bearer` header, if there is one.
pub fn bearer_token(headers: &axum::http::HeaderMap) -> Option<&str> {
    headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| {
            let (scheme, rest) = v.split_once(' ')?;
            scheme.eq_ignore_ascii_case("bearer").then(|| rest.trim())
        })
        .filter(|t| !t.is_empty())
}

impl FromRequestParts<HubState> for Bearer {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &HubState) -> Result<Self, ApiError> {
        let token = bearer_token(&parts.headers).ok_or(ApiError::MissingToken)?;
        state
            .validate(token, None)
            .map(Bearer)
            .map_err(|r| ApiError::InvalidToken(r.to_string()))
    }
}
