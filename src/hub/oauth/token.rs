//! `POST /oauth/token`: the `authorization_code` and `refresh_token`
//! grants. The handler reads the form and the client's credentials, applies
//! the per-family refresh rate limit, and lets `crate::oauth::grant`
//! decide (one write transaction per exchange).

use axum::Form;
use axum::Json;
use axum::extract::State;
use axum::extract::rejection::FormRejection;
use axum::http::{HeaderMap, HeaderValue, header};
use axum::response::{IntoResponse, Response};
use serde_json::json;

use super::client_auth;
use super::error::Failure;
use crate::hub::ratelimit;
use crate::hub::state::HubState;
use crate::oauth::ACCESS_TTL_SECS;
use crate::oauth::error::OAuthError;
use crate::oauth::grant::{self, Context, TokenRequest};

/// `POST /oauth/token`.
pub async fn token(
    State(state): State<HubState>,
    headers: HeaderMap,
    form: Result<Form<TokenRequest>, FormRejection>,
) -> Result<Response, Failure> {
    let Form(f) = form.map_err(|e| {
        OAuthError::invalid_request(format!("the body must be form-encoded: {}", e.body_text()))
    })?;
    let now = state.clock().now();
    if let Some(family) = grant::refresh_family(state.store(), &f)?
        && let Err(limited) = ratelimit::check(&state, ratelimit::REFRESH, &family, now)?
    {
        return Ok(limited.into_response());
    }
    let cx = Context {
        store: state.store(),
        issuers: state.issuers(),
        recent: state.refreshes(),
    };
    let creds =
        client_auth::credentials(&headers, f.client_id.as_deref(), f.client_secret.as_deref());
    let issued = grant::exchange(&cx, &creds, &f, now)?;
    let mut r = Json(json!({
        "access_token": issued.access,
        "token_type": "Bearer",
        "expires_in": ACCESS_TTL_SECS,
        "refresh_token": issued.refresh,
        "scope": issued.scope,
    }))
    .into_response();
    let h = r.headers_mut();
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    h.insert(header::PRAGMA, HeaderValue::from_static("no-cache"));
    Ok(crate::hub::wellknown::cors(r))
}
