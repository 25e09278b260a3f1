//! `POST /oauth/register`: dynamic client registration (RFC 7591). Anyone
//! may register — MCP clients do it on first contact — but a new client is
//! `pending` until the owner approves it (on the consent page, or with
//! `parachute auth approve-client <id>`), and registration is rate-limited
//! per IP. A bearer with `hub:admin` registers an approved client. The
//! rules are `crate::oauth::register`.

use axum::Json;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};

use super::error::Failure;
use crate::hub::error::ApiError;
use crate::hub::ratelimit::{self, ClientIp};
use crate::hub::state::HubState;
use crate::oauth::register;
use crate::tokens::audience::Expected;

/// Does the request carry a valid bearer with `hub:admin`? A bearer that
/// is present but invalid is an error (401), not an anonymous request.
fn admin_bearer(state: &HubState, headers: &HeaderMap) -> Result<bool, ApiError> {
    let Some(v) = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
    else {
        return Ok(false);
    };
    let Some(token) = v
        .split_once(' ')
        .filter(|(s, _)| s.eq_ignore_ascii_case("bearer"))
        .map(|(_, t)| t.trim())
    else {
        return Ok(false);
    };
    let claims = state
        .validate(token, Expected::Hub)
        .map_err(|r| ApiError::InvalidToken {
            reason: r.to_string(),
            scope: "hub:admin",
        })?;
    Ok(claims.has_scope("hub:admin"))
}

/// `POST /oauth/register`.
pub async fn register(
    State(state): State<HubState>,
    ClientIp(ip): ClientIp,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, Failure> {
    let now = state.clock().now();
    if let Err(limited) = ratelimit::check(&state, ratelimit::REGISTER, &ip, now)? {
        return Ok(limited.into_response());
    }
    let approved = admin_bearer(&state, &headers)?;
    let answer = register::register(state.store(), register::parse(&body)?, approved, now)?;
    tracing::info!(
        client_id = %answer["client_id"],
        name = answer["client_name"].as_str().unwrap_or("-"),
        %ip,
        approved,
        "client registered"
    );
    let mut r = (StatusCode::CREATED, Json(answer)).into_response();
    r.headers_mut().insert(
        header::CACHE_CONTROL,
        header::HeaderValue::from_static("no-store"),
    );
    Ok(crate::hub::wellknown::cors(r))
}
