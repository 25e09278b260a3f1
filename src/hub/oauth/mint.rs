//! `POST /api/auth/mint-token`: a bearer mints a token within its own
//! authority (seed 001). The entry gate is `has_minting_authority`; every
//! requested scope must pass the shape guard and `can_grant`; only the
//! operator token — decided from its registry row, not from a claim the
//! caller chose — may choose the `subject`. `aud` follows from the scopes
//! (`audience::infer`); an `audience` that disagrees is refused.
//!
//! Delegation: a token minted by any bearer but the operator token is a
//! child (`delegated`): it lives no longer than its parent has left, carries
//! the parent's user and client, and records the parent's `jti`, so revoking
//! the parent, the app's grant, the client or the user's password revokes
//! it too (migration 5's trigger). The operator token's mints are `cli_mint`,
//! like the CLI's, and outlive the operator token's rotation.

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
use crate::hub::state::HubState;
use crate::hub::tokens::REGISTRY_SCOPE;
use crate::hub::{Bearer, HubApi};
use crate::oauth::attenuation::{can_grant, has_minting_authority};
use crate::store::tokens as registry;
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

/// How a child minted by a non-operator bearer is tagged in the registry.
pub const DELEGATED: &str = "delegated";
/// How the operator token's mints are tagged (as the CLI's are).
pub const CLI_MINT: &str = "cli_mint";

/// Is this registry row the operator token (the only bearer that may pick a
/// subject, and whose mints are not capped by its own lifetime)?
pub fn is_operator(row: Option<&registry::TokenRow>) -> bool {
    row.is_some_and(|r| r.created_via == operator::CREATED_VIA && r.revoked_at.is_none())
}

/// `POST /api/auth/mint-token`.
pub async fn mint_token(
    State(state): State<HubState>,
    bearer: Bearer<HubApi>,
    body: Result<Json<MintBody>, JsonRejection>,
) -> Result<Response, Failure> {
    let caller = bearer.0;
    let held: Vec<&str> = caller.scopes().collect();
    if !has_minting_authority(&held) {
        return Err(OAuthError::insufficient_scope(
            REGISTRY_SCOPE,
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
        return Err(OAuthError::insufficient_scope(
            REGISTRY_SCOPE,
            format!("this token may not grant: {}", denied.join(", ")),
        )
        .into());
    }
    let now = crate::tokens::now();
    let db = state.store();
    let parent_jti = caller.jti.clone().unwrap_or_default();
    let parent = {
        let conn = db
            .conn()
            .map_err(|e| ApiError::Unavailable(e.to_string()))?;
        registry::get(&conn, &parent_jti).map_err(ApiError::internal)?
    };
    let operator = is_operator(parent.as_ref());
    if body.subject.is_some() && !operator {
        return Err(OAuthError::insufficient_scope(
            operator::MINT_SCOPE,
            "only the operator token may set `subject`",
        )
        .into());
    }
    let ttl = lifetime(body.expires_in, operator, caller.exp, now)?;
    let aud = audience_of(&requested, body.audience.as_deref())?;
    let sub = body.subject.unwrap_or_else(|| caller.sub.clone());
    // Counted per caller `sub` once the request is otherwise valid: only a
    // mint makes something, so only mints are limited.
    if let Err(limited) = ratelimit::check(&state, ratelimit::VAULT_TOKEN_MINT, &caller.sub, now)? {
        return Ok(limited.into_response());
    }
    let user_id = parent.as_ref().and_then(|p| p.user_id.clone());
    let client_id = if operator {
        operator::CLIENT_ID.to_string()
    } else {
        parent
            .as_ref()
            .map_or_else(|| caller.client_id.clone(), |p| p.client_id.clone())
    };
    let minted = db
        .write(|tx| {
            // The parent may have been revoked since its bearer was checked.
            if registry::is_revoked(tx, &parent_jti).map_err(|e| db.err(e))? {
                return Ok(None);
            }
            mint::mint(
                tx,
                state.issuers().primary(),
                &mint::Mint {
                    sub: &sub,
                    user_id: user_id.as_deref(),
                    scopes: &requested,
                    audience: &aud,
                    client_id: &client_id,
                    ttl_secs: ttl,
                    created_via: Some(if operator { CLI_MINT } else { DELEGATED }),
                    parent_jti: Some(&parent_jti)
                        .filter(|j| !j.is_empty())
                        .map(String::as_str),
                    label: None,
                },
                now,
            )
            .map(Some)
            .map_err(|e| db.other(e))
        })
        .map_err(ApiError::internal)?
        .ok_or_else(|| ApiError::InvalidToken {
            reason: "the token was revoked".into(),
            scope: <HubApi as crate::hub::bearer::Expect>::SCOPE,
        })?;
    tracing::info!(jti = ?minted.claims.jti, by = %caller.sub, scope = %minted.claims.scope, "token minted");
    Ok(Json(json!({
        "jti": minted.claims.jti,
        "token": minted.token,
        "expires_at": crate::clock::date(minted.claims.exp),
        "scope": minted.claims.scope,
        "audience": minted.claims.aud,
    }))
    .into_response())
}

/// The asked lifetime, checked, and capped at the parent's remaining one
/// unless the parent is the operator token: a child never outlives it.
fn lifetime(
    asked: Option<i64>,
    operator: bool,
    parent_exp: i64,
    now: i64,
) -> Result<i64, OAuthError> {
    let ttl = asked.unwrap_or(DEFAULT_TTL_SECS);
    if !(MIN_TTL_SECS..=MAX_TTL_SECS).contains(&ttl) {
        return Err(OAuthError::invalid_request(format!(
            "`expires_in` must be {MIN_TTL_SECS}–{MAX_TTL_SECS} seconds"
        )));
    }
    if operator {
        return Ok(ttl);
    }
    let capped = ttl.min(parent_exp - now);
    if capped <= 0 {
        return Err(OAuthError::invalid_request("this token is about to expire"));
    }
    Ok(capped)
}

/// `aud` follows from the scopes; an `audience` that says otherwise is refused.
fn audience_of(requested: &[String], asked: Option<&str>) -> Result<String, OAuthError> {
    audience::resolve(requested, asked)
        .map_err(|e| OAuthError::invalid_request(format!("`audience` {e}; leave `audience` out")))
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
