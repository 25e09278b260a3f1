//! Bearer authentication as an extractor: a handler that takes
//! [`Bearer<E>`] only runs for a valid hub token whose audience is one the
//! endpoint kind `E` expects (see [`HubState::validate`]); the type
//! parameter has no default, so no endpoint can take a bearer without
//! saying which audience it serves (issue 8, RFC 8707). Scopes are checked
//! with [`Bearer::require`]. A refusal is a 401 whose challenge names the
//! scope `E` hints (RFC 6750 §3) and, through `oauth::challenge`, the
//! protected-resource metadata (RFC 9728).

use std::marker::PhantomData;

use axum::extract::FromRequestParts;
use axum::http::header;
use axum::http::request::Parts;

use super::error::ApiError;
use crate::hub::state::HubState;
use crate::tokens::Claims;
use crate::tokens::audience::Expected;

/// What a kind of endpoint expects of the bearer.
pub trait Expect: Send + Sync + 'static {
    /// The audiences it takes.
    const AUDIENCE: Expected;
    /// The scope a 401 suggests asking for.
    const SCOPE: &'static str;
}

/// The hub's own APIs (`/api/auth/*`): `parachute:host:auth` opens all of
/// them, so it is the hint.
#[derive(Debug, Clone, Copy)]
pub struct HubApi;

impl Expect for HubApi {
    const AUDIENCE: Expected = Expected::Hub;
    const SCOPE: &'static str = crate::oauth::revocation::REGISTRY_SCOPE;
}

/// The validated claims of the request's bearer token.
#[derive(Debug, Clone)]
pub struct Bearer<E: Expect>(pub Claims, PhantomData<fn() -> E>);

impl<E: Expect> Bearer<E> {
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

impl<E: Expect> FromRequestParts<HubState> for Bearer<E> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &HubState) -> Result<Self, ApiError> {
        let token =
            bearer_token(&parts.headers).ok_or(ApiError::MissingToken { scope: E::SCOPE })?;
        state
            .validate(token, E::AUDIENCE)
            .map(|c| Bearer(c, PhantomData))
            .map_err(|r| ApiError::InvalidToken {
                reason: r.to_string(),
                scope: E::SCOPE,
            })
    }
}
