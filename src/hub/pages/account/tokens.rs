//! `/account/{tokens,grants}/revoke`: the user withdraws one of their own
//! tokens, or an app's access.

use axum::Form;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use serde::Deserialize;

use super::super::see_other;
use super::{admit, refuse};
use crate::hub::HubState;
use crate::hub::error::ApiError;
use crate::hub::session::MaybeSession;
use crate::store;

#[derive(Deserialize)]
pub struct RevokeTokenForm {
    #[serde(default)]
    jti: String,
    #[serde(rename = "__csrf", default)]
    csrf: String,
}

/// `POST /account/tokens/revoke`: only the user's own live tokens.
pub async fn revoke_token(
    State(state): State<HubState>,
    MaybeSession(me): MaybeSession,
    headers: HeaderMap,
    Form(f): Form<RevokeTokenForm>,
) -> Result<Response, ApiError> {
    let me = match admit(&state, &headers, me, &f.csrf, None)? {
        Ok(me) => me,
        Err(r) => return Ok(r),
    };
    let now = crate::tokens::now();
    let store = state.store();
    let done = store
        .write(|tx| {
            store::account::revoke_token(tx, &me.user.id, &f.jti, now).map_err(|e| store.err(e))
        })
        .map_err(ApiError::internal)?;
    if !done {
        return refuse(
            &state,
            &headers,
            &me,
            StatusCode::NOT_FOUND,
            "That token is not one of your live tokens.",
        );
    }
    Ok(see_other("/account?done=token"))
}

#[derive(Deserialize)]
pub struct RevokeGrantForm {
    #[serde(default)]
    client_id: String,
    #[serde(rename = "__csrf", default)]
    csrf: String,
}

/// `POST /account/grants/revoke`: withdraw consent and the app's tokens.
pub async fn revoke_grant(
    State(state): State<HubState>,
    MaybeSession(me): MaybeSession,
    headers: HeaderMap,
    Form(f): Form<RevokeGrantForm>,
) -> Result<Response, ApiError> {
    let me = match admit(&state, &headers, me, &f.csrf, None)? {
        Ok(me) => me,
        Err(r) => return Ok(r),
    };
    let now = crate::tokens::now();
    let store = state.store();
    let done = store
        .write(|tx| {
            store::account::revoke_grant(tx, &me.user.id, &f.client_id, now)
                .map_err(|e| store.err(e))
        })
        .map_err(ApiError::internal)?;
    match done {
        None => refuse(
            &state,
            &headers,
            &me,
            StatusCode::NOT_FOUND,
            "That app has no access to revoke.",
        ),
        Some(tokens) => {
            tracing::info!(user_id = %me.user.id, client_id = %f.client_id, tokens, "grant revoked");
            Ok(see_other("/account?done=grant"))
        }
    }
}
