//! `/account/{tokens,grants}/revoke`: the user withdraws one of their own
//! tokens, or an app's access. `/account/tokens/rotate-operator`: the owner
//! replaces the operator token.
//!
//! The operator token is what the CLI on this machine presents
//! (`$PARACHUTE_HOME/operator.token`), so revoking it from the page would
//! break `parachute auth mint-token` until someone ran `rotate-operator`.
//! The page rotates it instead (as `parachute auth rotate-operator` does):
//! a fresh token goes into the file and the old one is revoked, so a leaked
//! copy dies and the CLI keeps working.

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use serde::Deserialize;

use super::super::admin::step_up;
use super::super::extract::{PageForm, PageSession};
use super::super::{PageError, see_other};
use super::{admit, refuse};
use crate::hub::session::SignedIn;
use crate::hub::state::HubState;
use crate::store::{self, StoreError};
use crate::tokens::operator;

/// The rotation's path, as the step-up gate knows it.
const ROTATE: &str = "/account/tokens/rotate-operator";

#[derive(Deserialize)]
pub struct RevokeTokenForm {
    #[serde(default)]
    jti: String,
    #[serde(rename = "__csrf", default)]
    csrf: String,
}

/// What revoking `jti` for the user came to.
enum Revoked {
    Done,
    /// Not one of the user's live tokens.
    NotFound,
    /// The user's operator token: rotated, never revoked.
    Operator,
}

fn revoke_own(state: &HubState, me: &SignedIn, jti: &str, now: i64) -> Result<Revoked, StoreError> {
    let store = state.store();
    store.write(|tx| {
        let sql = |e| store.err(e);
        let is_operator = store::tokens::get(tx, jti).map_err(sql)?.is_some_and(|t| {
            t.created_via == operator::CREATED_VIA && t.user_id.as_deref() == Some(&me.user.id)
        });
        if is_operator {
            return Ok(Revoked::Operator);
        }
        let done = store::account::revoke_token(tx, &me.user.id, jti, now).map_err(sql)?;
        Ok(if done {
            Revoked::Done
        } else {
            Revoked::NotFound
        })
    })
}

/// `POST /account/tokens/revoke`: only the user's own live tokens.
pub async fn revoke_token(
    State(state): State<HubState>,
    PageSession(me): PageSession,
    headers: HeaderMap,
    PageForm(f): PageForm<RevokeTokenForm>,
) -> Result<Response, PageError> {
    let me = match admit(&state, &headers, me, &f.csrf, None)? {
        Ok(me) => me,
        Err(r) => return Ok(r),
    };
    let (status, msg) = match revoke_own(&state, &me, &f.jti, state.clock().now())? {
        Revoked::Done => return Ok(see_other("/account?done=token")),
        Revoked::Operator => (
            StatusCode::BAD_REQUEST,
            "The operator token is rotated, not revoked (the CLI needs one): use Rotate, or run `parachute auth rotate-operator`.",
        ),
        Revoked::NotFound => (
            StatusCode::NOT_FOUND,
            "That token is not one of your live tokens.",
        ),
    };
    refuse(&state, &headers, &me, status, msg)
}

#[derive(Deserialize)]
pub struct RotateForm {
    #[serde(rename = "__csrf", default)]
    csrf: String,
    #[serde(default)]
    step_up_token: String,
}

/// `POST /account/tokens/rotate-operator`: the owner only (the operator
/// token is theirs), after step-up: the new token carries admin scopes
/// (issue 14), so the admin pages' PIN gate guards it. The new token is
/// in the file before the old one's revocation commits, so the CLI never
/// holds a revoked token.
pub async fn rotate_operator(
    State(state): State<HubState>,
    PageSession(me): PageSession,
    headers: HeaderMap,
    PageForm(f): PageForm<RotateForm>,
) -> Result<Response, PageError> {
    let me = match admit(&state, &headers, me, &f.csrf, None)? {
        Ok(me) => me,
        Err(r) => return Ok(r),
    };
    if !me.is_owner {
        return refuse(
            &state,
            &headers,
            &me,
            StatusCode::FORBIDDEN,
            "Only the owner holds the operator token.",
        );
    }
    if let Some(r) = step_up::gate(&state, &headers, &me, &f.step_up_token, ROTATE, &[]) {
        return Ok(r);
    }
    let now = state.clock().now();
    let store = state.store();
    let path = state.paths().operator_token();
    let issuer = state.issuers().primary().to_string();
    let revoked = store.write(|tx| {
        let revoked = store::account::revoke_operator_tokens(tx, &me.user.id, now)
            .map_err(|e| store.err(e))?;
        let minted = operator::issue(tx, &issuer, &me.user.id, now).map_err(|e| store.other(e))?;
        operator::write(&path, &minted.token).map_err(|e| store.other(e))?;
        Ok(revoked)
    })?;
    tracing::info!(user_id = %me.user.id, revoked, "operator token rotated from /account");
    Ok(see_other("/account?done=operator"))
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
    PageSession(me): PageSession,
    headers: HeaderMap,
    PageForm(f): PageForm<RevokeGrantForm>,
) -> Result<Response, PageError> {
    let me = match admit(&state, &headers, me, &f.csrf, None)? {
        Ok(me) => me,
        Err(r) => return Ok(r),
    };
    let now = state.clock().now();
    let store = state.store();
    let done = store.write(|tx| {
        store::account::revoke_grant(tx, &me.user.id, &f.client_id, now).map_err(|e| store.err(e))
    })?;
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
