//! `POST /api/auth/mint-token`: a bearer mints a token within its own
//! authority (seed 001). The rules — attenuation, the operator token,
//! delegation and lifetimes — are `crate::oauth::delegate`; the handler
//! reads the bearer and the body, applies the per-caller rate limit once
//! the request is otherwise valid (only a mint makes something), and
//! answers.

use axum::Json;
use axum::extract::State;
use axum::extract::rejection::JsonRejection;
use axum::response::{IntoResponse, Response};
use serde_json::json;

use super::error::Failure;
use super::installed;
use crate::hub::error::ApiError;
use crate::hub::ratelimit;
use crate::hub::state::HubState;
use crate::hub::{Bearer, HubApi};
use crate::oauth::delegate::{self, MintRequest};

/// `POST /api/auth/mint-token`.
pub async fn mint_token(
    State(state): State<HubState>,
    bearer: Bearer<HubApi>,
    body: Result<Json<MintRequest>, JsonRejection>,
) -> Result<Response, Failure> {
    let caller = bearer.0;
    let now = state.clock().now();
    let body = body.map(|Json(b)| b).map_err(|e| e.body_text());
    let vaults = installed(&state).vaults;
    let plan = delegate::plan(
        state.store(),
        &caller,
        body.as_ref().map_err(Clone::clone),
        &vaults,
        now,
    )??;
    if let Err(limited) = ratelimit::check(&state, ratelimit::VAULT_TOKEN_MINT, &caller.sub, now)? {
        return Ok(limited.into_response());
    }
    let minted = delegate::issue(state.store(), state.issuers().primary(), &plan, now)?
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
