//! Rate limits on everything that guesses (seed 001 buckets), kept in the
//! store so they survive the hub's idle exit. A limit is a bucket, a maximum
//! and a sliding window; [`check`] records an attempt or refuses it with the
//! seconds to wait. [`ClientIp`] is the key every per-IP bucket uses: the
//! peer address, or what a configured proxy says the client is.

use std::net::SocketAddr;

use axum::extract::{ConnectInfo, FromRequestParts};
use axum::http::request::Parts;
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};

use super::error::ApiError;
use crate::hub::state::HubState;

pub use crate::store::ratelimit::Limit;

// The sign-in buckets (`/login`, `/login/2fa`) are `identity::login`'s.
/// Password change per user: 3 / 5 min.
pub const CHANGE_PASSWORD: Limit = Limit {
    bucket: "change_password",
    max: 3,
    window_secs: 5 * 60,
};
/// Vault-token mint per user (`/api/auth/mint-token`, keyed on the caller's
/// `sub`): 10 / 10 min.
pub const VAULT_TOKEN_MINT: Limit = Limit {
    bucket: "vault_token_mint",
    max: 10,
    window_secs: 10 * 60,
};
/// Dynamic client registration per IP: 30 / 10 min (clients re-register on
/// every `invalid_client`, so this bounds a misbehaving one).
pub const REGISTER: Limit = Limit {
    bucket: "register",
    max: 30,
    window_secs: 10 * 60,
};

/// Client ID metadata document fetches per IP: 30 / 10 min (only fetches
/// count; a cached document costs nothing), so nobody can make the hub fetch
/// (and store) documents without bound.
pub const CIMD_FETCH: Limit = Limit {
    bucket: "cimd_fetch",
    max: 30,
    window_secs: 10 * 60,
};

/// Refresh grants per token family: 20 / 10 min. A client refreshes once
/// per access token (15 min); this bounds one that loops.
pub const REFRESH: Limit = Limit {
    bucket: "refresh",
    max: 20,
    window_secs: 10 * 60,
};

/// Refused: wait this many seconds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limited {
    pub retry_after: i64,
}

impl Limited {
    /// `Retry-After` for a response.
    pub fn header(self) -> (header::HeaderName, HeaderValue) {
        (header::RETRY_AFTER, HeaderValue::from(self.retry_after))
    }
}

/// The hub API's 429 (`rate_limited`, with `Retry-After`).
impl From<Limited> for ApiError {
    fn from(l: Limited) -> Self {
        ApiError::RateLimited(l.retry_after)
    }
}

impl IntoResponse for Limited {
    fn into_response(self) -> Response {
        ApiError::from(self).into_response()
    }
}

/// Record an attempt against `limit` for `key`.
pub fn check(
    state: &HubState,
    limit: Limit,
    key: &str,
    now: i64,
) -> Result<Result<(), Limited>, ApiError> {
    let store = state.store();
    let outcome = store
        .write(|tx| {
            crate::store::ratelimit::hit(tx, limit.bucket, key, limit.max, limit.window_secs, now)
                .map_err(|e| store.err(e))
        })
        .map_err(ApiError::from)?;
    Ok(outcome.map_err(|retry_after| Limited { retry_after }))
}

/// Forget `key`'s attempts in `limit`.
pub fn clear(state: &HubState, limit: Limit, key: &str) -> Result<(), ApiError> {
    let store = state.store();
    store
        .write(|tx| crate::store::ratelimit::clear(tx, limit.bucket, key).map_err(|e| store.err(e)))
        .map_err(ApiError::from)
}

/// The client's IP, as the key of per-IP limits: the peer address, or the
/// rightmost untrusted `X-Forwarded-For` hop when the peer is a proxy the
/// operator configured (see [`super::edge`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClientIp(pub String);

impl FromRequestParts<HubState> for ClientIp {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &HubState,
    ) -> Result<Self, Self::Rejection> {
        let Some(peer) = parts
            .extensions
            .get::<ConnectInfo<SocketAddr>>()
            .map(|c| c.0.ip())
        else {
            return Ok(Self("unknown".to_string()));
        };
        let forwarded = parts
            .headers
            .get_all("x-forwarded-for")
            .iter()
            .filter_map(|v| v.to_str().ok());
        Ok(Self(state.edge().client_ip(peer, forwarded).to_string()))
    }
}
