//! Token registry endpoints: the public revocation list resource servers
//! poll, and the operator's list/revoke API (bearer with
//! `parachute:host:auth`; revoking also under capability attenuation, seed 001).

use axum::Json;
use axum::extract::rejection::JsonRejection;
use axum::extract::{Query, State};
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use serde_json::json;

use super::error::ApiError;
use super::state::HubState;
use super::wellknown::cors;
use super::{Bearer, HubApi};
use crate::oauth::attenuation;
use crate::store::tokens::{self as registry, Revoked};

/// The scope that governs the token registry.
pub const REGISTRY_SCOPE: &str = "parachute:host:auth";
const MAX_JTI_LEN: usize = 256;

fn rfc3339(secs: i64) -> String {
    jiff::Timestamp::from_second(secs).map_or_else(|_| secs.to_string(), |t| t.to_string())
}

/// `{generated_at, jtis}`: revoked jtis whose tokens have not expired yet
/// (with validation's leeway).
pub async fn revocation_list(State(s): State<HubState>) -> Result<Response, ApiError> {
    let now = crate::tokens::now();
    let conn = s
        .store()
        .conn()
        .map_err(|e| ApiError::Unavailable(e.to_string()))?;
    let access = crate::oauth::ACCESS_TTL_SECS + crate::tokens::jwt::LEEWAY_SECS;
    let jtis = registry::revocation_list(&conn, now, access).map_err(ApiError::internal)?;
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
    let now = crate::tokens::now();
    let limit = q.limit.unwrap_or(50).clamp(1, 500);
    let conn = s
        .store()
        .conn()
        .map_err(|e| ApiError::Unavailable(e.to_string()))?;
    let rows = registry::list(&conn, false, now, Some(limit)).map_err(ApiError::internal)?;
    let tokens: Vec<_> = rows
        .into_iter()
        .map(|t| {
            let status = match (t.revoked_at, t.expires_at <= now) {
                (Some(_), _) => "revoked",
                (None, true) => "expired",
                (None, false) => "active",
            };
            let mut v = serde_json::to_value(&t).unwrap_or_default();
            v["status"] = status.into();
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
    // Seed 001: `parachute:host:auth` revokes anything; any other minting
    // authority revokes exactly what it could have minted (checked below).
    let held: Vec<&str> = bearer.0.scopes().collect();
    if !bearer.0.has_scope(REGISTRY_SCOPE) && !attenuation::has_minting_authority(&held) {
        return Err(ApiError::InsufficientScope(REGISTRY_SCOPE));
    }
    let Json(body) = body.map_err(|e| ApiError::BadRequest {
        error: "invalid_request",
        description: e.body_text(),
    })?;
    if body.jti.is_empty() || body.jti.len() > MAX_JTI_LEN {
        return Err(ApiError::BadRequest {
            error: "invalid_request",
            description: format!("`jti` must be 1–{MAX_JTI_LEN} characters"),
        });
    }
    let now = crate::tokens::now();
    let store = s.store();
    if !bearer.0.has_scope(REGISTRY_SCOPE) {
        let target = {
            let conn = store
                .conn()
                .map_err(|e| ApiError::Unavailable(e.to_string()))?;
            registry::get(&conn, &body.jti).map_err(ApiError::internal)?
        };
        let Some(target) = target else {
            return Err(ApiError::NotFound(format!(
                "no token has jti `{}`",
                body.jti
            )));
        };
        if !target
            .scopes
            .split_whitespace()
            .all(|scope| attenuation::can_grant(&held, scope))
        {
            return Err(ApiError::InsufficientScope(REGISTRY_SCOPE));
        }
    }
    let outcome = store
        .write(|tx| registry::revoke(tx, &body.jti, now).map_err(|e| store.err(e)))
        .map_err(ApiError::internal)?;
    match outcome {
        Revoked::Now(at) | Revoked::Already(at) => {
            tracing::info!(jti = %body.jti, by = %bearer.0.sub, "token revoked");
            Ok(Json(json!({"jti": body.jti, "revoked_at": rfc3339(at)})).into_response())
        }
        Revoked::Unknown => Err(ApiError::NotFound(format!(
            "no token has jti `{}`",
            body.jti
        ))),
    }
}
