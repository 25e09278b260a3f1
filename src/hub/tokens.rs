//! Token registry endpoints: the public revocation list resource servers
//! poll, and the operator's list/revoke API (bearer with
//! `parachute:host:auth`; revoking also under capability attenuation, seed
//! 001). The rules are `crate::oauth::revocation`'s; these only adapt.

use axum::Json;
use axum::extract::rejection::JsonRejection;
use axum::extract::{Query, State};
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use serde_json::json;

use super::bearer::{Bearer, HubApi};
use super::error::ApiError;
use super::state::HubState;
use super::wellknown::cors;
use crate::oauth::revocation;
pub use crate::oauth::revocation::REGISTRY_SCOPE;
use crate::store::tokens as registry;

fn rfc3339(secs: i64) -> String {
    jiff::Timestamp::from_second(secs).map_or_else(|_| secs.to_string(), |t| t.to_string())
}

/// `{generated_at, jtis}`: revoked jtis whose tokens have not expired yet
/// (with validation's leeway).
pub async fn revocation_list(State(s): State<HubState>) -> Result<Response, ApiError> {
    let now = s.clock().now();
    let conn = s.store().conn().map_err(ApiError::unavailable)?;
    let jtis = registry::revocation_list(&conn, now, revocation::list_window_secs())
        .map_err(ApiError::from)?;
    let mut r = cors(Json(json!({"generated_at": rfc3339(now), "jtis": jtis})).into_response());
    r.headers_mut().insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("public, max-age=60"),
    );
    Ok(r)
}

#[derive(Debug, Deserialize)]
pub struct ListQuery {
    /// At most this many rows (default 50, at most 500), newest first.
    limit: Option<usize>,
}

/// `{tokens:[…]}`, newest first, each with its `status`.
pub async fn list(
    State(s): State<HubState>,
    bearer: Bearer<HubApi>,
    Query(q): Query<ListQuery>,
) -> Result<Response, ApiError> {
    bearer.require(REGISTRY_SCOPE)?;
    let now = s.clock().now();
    let limit = q.limit.unwrap_or(50).clamp(1, 500);
    let conn = s.store().conn().map_err(ApiError::unavailable)?;
    let rows = registry::list(&conn, false, now, Some(limit)).map_err(ApiError::from)?;
    let tokens: Vec<_> = rows
        .into_iter()
        .map(|t| {
            let mut v = serde_json::to_value(&t).unwrap_or_default();
            v["status"] = revocation::status(&t, now).into();
            v
        })
        .collect();
    Ok(Json(json!({ "tokens": tokens })).into_response())
}

#[derive(Debug, Deserialize)]
pub struct RevokeBody {
    jti: String,
}

/// `{jti}` → `{jti, revoked_at}`; revoking twice answers with the first
/// time; an unknown jti is 404.
pub async fn revoke(
    State(s): State<HubState>,
    bearer: Bearer<HubApi>,
    body: Result<Json<RevokeBody>, JsonRejection>,
) -> Result<Response, ApiError> {
    let held: Vec<&str> = bearer.0.scopes().collect();
    // Refused before the body is read: no authority, no parsing.
    if !revocation::may_revoke_any(&held) {
        return Err(ApiError::InsufficientScope(REGISTRY_SCOPE));
    }
    let Json(body) = body.map_err(|e| ApiError::invalid_request(e.body_text()))?;
    let at = revocation::revoke(s.store(), &held, &body.jti, s.clock().now())?;
    tracing::info!(jti = %body.jti, by = %bearer.0.sub, "token revoked");
    Ok(Json(json!({"jti": body.jti, "revoked_at": rfc3339(at)})).into_response())
}
