//! `POST /api/auth/mint-token`: a bearer mints a token within its own
//! authority (seed 001). The entry gate is `has_minting_authority`; every
//! requested scope must pass the shape guard and `can_grant`; only the
//! operator token may choose the `subject`. Minted tokens are registered
//! (`cli_mint`), so they can be listed and revoked.

use axum::Json;
use axum::extract::State;
use axum::extract::rejection::JsonRejection;
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use serde_json::json;

use super::error::{Failure, OAuthError};
use super::installed;
use crate::hub::error::ApiError;
use crate::hub::ratelimit;
use crate::hub::{Bearer, HubState};
use crate::oauth::attenuation::{can_grant, has_minting_authority};
use crate::tokens::{audience, mint, operator, scopes};

/// Default and longest lifetime of a minted token.
pub const DEFAULT_TTL_SECS: i64 = 90 * 86_400;
pub const MAX_TTL_SECS: i64 = 365 * 86_400;
pub const MIN_TTL_SECS: i64 = 60;

#[derive(Debug, Deserialize)]
pub struct MintBody {
    scope: String,
    audience: Option<String>,
    expires_in: Option<i64>,
    subject: Option<String>,
}

/// Is this the operator token (the only bearer that may pick a subject)?
pub fn is_operator(c: &crate::tokens::Claims) -> bool {
    c.client_id == operator::CLIENT_ID && c.aud == operator::AUDIENCE
}

/// `POST /api/auth/mint-token`.
pub async fn mint_token(
    State(state): State<HubState>,
    Bearer(caller): Bearer,
    body: Result<Json<MintBody>, JsonRejection>,
) -> Result<Response, Failure> {
    let held: Vec<&str> = caller.scopes().collect();
    if !has_minting_authority(&held) {
        return Err(OAuthError::forbidden(
            "insufficient_scope",
            "this token cannot mint tokens: it needs `parachute:host:auth`, `parachute:host:admin` or `vault:<name>:admin`",
        )
        .into());
    }
    let Json(body) = body.map_err(|e| OAuthError::invalid_request(e.body_text()))?;
    let requested = scopes::parse(&body.scope);
    if requested.is_empty() {
        return Err(OAuthError::invalid_request("`scope` must name at least one scope").into());
    }
    check_shapes(&requested, &installed(&state).vaults)?;
    let denied: Vec<&str> = requested
        .iter()
        .filter(|s| !can_grant(&held, s))
        .map(String::as_str)
        .collect();
    if !denied.is_empty() {
        return Err(OAuthError::forbidden(
            "insufficient_scope",
            format!("this token may not grant: {}", denied.join(", ")),
        )
        .into());
    }
    if body.subject.is_some() && !is_operator(&caller) {
        return Err(OAuthError::forbidden(
            "insufficient_scope",
            "only the operator token may set `subject`",
        )
        .into());
    }
    let ttl = body.expires_in.unwrap_or(DEFAULT_TTL_SECS);
    if !(MIN_TTL_SECS..=MAX_TTL_SECS).contains(&ttl) {
        return Err(OAuthError::invalid_request(format!(
            "`expires_in` must be {MIN_TTL_SECS}–{MAX_TTL_SECS} seconds"
        ))
        .into());
    }
    let aud = body
        .audience
        .filter(|a| !a.is_empty())
        .unwrap_or_else(|| audience::infer(&requested));
    let sub = body.subject.unwrap_or_else(|| caller.sub.clone());
    let now = crate::tokens::now();
    // Counted per caller `sub` once the request is otherwise valid: only a
    // mint makes something, so only mints are limited.
    if let Err(limited) = ratelimit::check(&state, ratelimit::VAULT_TOKEN_MINT, &caller.sub, now)? {
        return Ok(limited.into_response());
    }
    let db = state.store();
    let minted = db
        .write(|tx| {
            mint::mint(
                tx,
                state.issuers().primary(),
                &mint::Mint {
                    sub: &sub,
                    user_id: None,
                    scopes: &requested,
                    audience: &aud,
                    client_id: operator::CLIENT_ID,
                    ttl_secs: ttl,
                    created_via: Some("cli_mint"),
                },
                now,
            )
            .map_err(|e| db.other(e))
        })
        .map_err(ApiError::internal)?;
    tracing::info!(jti = ?minted.claims.jti, by = %caller.sub, scope = %minted.claims.scope, "token minted");
    Ok(Json(json!({
        "jti": minted.claims.jti,
        "token": minted.token,
        "expires_at": crate::cli::auth::date(minted.claims.exp),
        "scope": minted.claims.scope,
        "audience": minted.claims.aud,
    }))
    .into_response())
}

/// The shape guard and the named-vault checks of seed 001.
fn check_shapes(requested: &[String], vaults: &[String]) -> Result<(), OAuthError> {
    for s in requested {
        if !scopes::is_well_formed_or_non_vault(s) {
            return Err(OAuthError::new(
                "invalid_scope",
                format!("`{s}` is not a valid vault scope: use `vault:<name>:<read|write|admin>`"),
            ));
        }
        if s == "vault:admin" {
            return Err(OAuthError::new(
                "invalid_scope",
                "`vault:admin` must name its vault: `vault:<name>:admin`",
            ));
        }
        if let Some(name) = scopes::vault_scope_name(s)
            && scopes::is_vault_admin_scope(s)
            && !vaults.iter().any(|v| v == name)
        {
            return Err(OAuthError::new(
                "invalid_scope",
                format!("there is no vault `{name}` on this hub"),
            ));
        }
    }
    Ok(())
}
