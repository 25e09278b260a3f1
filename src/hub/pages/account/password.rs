//! `POST /account/password`: change the password, ending every other
//! session and the tokens apps got by signing in.

use axum::Form;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use serde::Deserialize;

use super::super::see_other;
use super::{admit, password_ok, refuse};
use crate::hub::error::ApiError;
use crate::hub::ratelimit;
use crate::hub::session::{self, MaybeSession, with_cookie};
use crate::hub::state::HubState;
use crate::identity::password::{self, Password};
use crate::store;

#[derive(Deserialize)]
pub struct PasswordForm {
    #[serde(default)]
    current_password: String,
    #[serde(default)]
    new_password: String,
    #[serde(default)]
    new_password_again: String,
    #[serde(rename = "__csrf", default)]
    csrf: String,
}

/// `POST /account/password`. The new password's rules are checked before
/// the current password (as they always were, so the statuses a bad form
/// gets stay the same), hence `admit` rather than `admit_with_password`.
pub async fn change_password(
    State(state): State<HubState>,
    MaybeSession(me): MaybeSession,
    headers: HeaderMap,
    Form(f): Form<PasswordForm>,
) -> Result<Response, ApiError> {
    let me = match admit(
        &state,
        &headers,
        me,
        &f.csrf,
        Some(ratelimit::CHANGE_PASSWORD),
    )? {
        Ok(me) => me,
        Err(r) => return Ok(r),
    };
    let bad = |status, msg: &str| refuse(&state, &headers, &me, status, msg);
    if f.new_password.len() > password::MAX_LEN || f.current_password.len() > password::MAX_LEN {
        return bad(StatusCode::PAYLOAD_TOO_LARGE, "That password is too long.");
    }
    if password::check_rule(&f.new_password).is_err() {
        return bad(
            StatusCode::BAD_REQUEST,
            &format!(
                "The new password must have at least {} characters.",
                password::MIN_CHARS
            ),
        );
    }
    if f.new_password != f.new_password_again {
        return bad(StatusCode::BAD_REQUEST, "The two new passwords differ.");
    }
    if !password_ok(&me, f.current_password).await {
        tracing::info!(user_id = %me.user.id, "password change: wrong current password");
        return bad(
            StatusCode::UNAUTHORIZED,
            "The current password is not right.",
        );
    }
    let phc = password::hash_off_thread(Password::new(f.new_password))
        .await
        .map_err(ApiError::internal)?;
    let now = crate::tokens::now();
    let store = state.store();
    let revoked = store
        .write(|tx| {
            let sql = |e| store.err(e);
            store::users::set_password(tx, &me.user.id, &phc, now).map_err(sql)?;
            store::sessions::delete_for_user(tx, &me.user.id).map_err(sql)?;
            store::account::forget_pending_logins(tx, &me.user.id).map_err(sql)?;
            store::account::revoke_signed_in_tokens(tx, &me.user.id, now).map_err(sql)
        })
        .map_err(ApiError::internal)?;
    tracing::info!(user_id = %me.user.id, revoked, "password changed; sessions ended");
    // This browser stays signed in, on a new session.
    let cookie = session::start(&state, &me.user.id, None, now)?;
    Ok(with_cookie(see_other("/account?done=password"), cookie))
}
