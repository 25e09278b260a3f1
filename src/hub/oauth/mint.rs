//! `POST /api/auth/mint-token`: a bearer mints a token within its own
//! authority (seed 001). The rules — attenuation, the operator token,
//! delegation and lifetimes — are `crate::oauth::delegate`; the handler
//! reads the bearer and the body, asks for step-up when a scope is
//! elevated (issue 14: every bearer, the operator token included — see
//! `hub::step_up`), applies the per-caller rate limit once the request is
//! otherwise valid (only a mint makes something), and answers.

use axum::Json;
use axum::extract::State;
use axum::extract::rejection::JsonRejection;
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Response};
use serde_json::json;

use super::error::Failure;
use super::installed;
use crate::hub::error::ApiError;
use crate::hub::ratelimit;
use crate::hub::state::HubState;
use crate::hub::step_up::{self, Holder, StepUpRequired};
use crate::hub::{Bearer, HubApi};
use crate::oauth::delegate::{self, MintRequest, Plan};
use crate::tokens::{Claims, scopes};

/// Elevated scopes also need a fresh step-up of this bearer (issue 14),
/// asked once the request is otherwise valid, before it costs a mint.
fn stepped_up(
    state: &HubState,
    caller: &Claims,
    headers: &HeaderMap,
    plan: &Plan,
) -> Result<(), StepUpRequired> {
    if !plan.scopes.iter().any(|s| scopes::is_elevated(s)) {
        return Ok(());
    }
    step_up::require(state, &Holder::bearer(caller), step_up::presented(headers))
}

/// `POST /api/auth/mint-token`.
pub async fn mint_token(
    State(state): State<HubState>,
    bearer: Bearer<HubApi>,
    headers: HeaderMap,
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
    stepped_up(&state, &caller, &headers, &plan)?;
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
