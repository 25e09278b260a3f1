//! `POST /account/password`: change the password, ending every other
//! session and the tokens apps got by signing in.

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use serde::Deserialize;

use super::super::extract::{PageForm, PageSession};
use super::super::{PageError, see_other};
use super::{admit, password_ok, refuse};
use crate::hub::ratelimit;
use crate::hub::session::{self, SignedIn, with_cookie};
use crate::hub::state::HubState;
use crate::identity::password::{self, Password};
use crate::store::{self, StoreError};

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

/// What is wrong with the new password as typed, before the current one
/// is checked (so the statuses a bad form gets stay what they were).
fn form_problem(f: &PasswordForm) -> Option<(StatusCode, String)> {
    if f.new_password.len() > password::MAX_LEN || f.current_password.len() > password::MAX_LEN {
        return Some((
            StatusCode::PAYLOAD_TOO_LARGE,
            "That password is too long.".into(),
        ));
    }
    if password::check_rule(&f.new_password).is_err() {
        let msg = format!(
            "The new password must have at least {} characters.",
            password::MIN_CHARS
        );
        return Some((StatusCode::BAD_REQUEST, msg));
    }
    (f.new_password != f.new_password_again).then(|| {
        (
            StatusCode::BAD_REQUEST,
            "The two new passwords differ.".into(),
        )
    })
}

/// Store the new hash and end every session, pending login and signed-in
/// token of the user, in one transaction; how many tokens were revoked.
fn commit(state: &HubState, me: &SignedIn, phc: &str, now: i64) -> Result<usize, StoreError> {
    let store = state.store();
    store.write(|tx| {
        let sql = |e| store.err(e);
        store::users::set_password(tx, &me.user.id, phc, now).map_err(sql)?;
        store::sessions::delete_for_user(tx, &me.user.id).map_err(sql)?;
        store::account::forget_pending_logins(tx, &me.user.id).map_err(sql)?;
        store::account::revoke_signed_in_tokens(tx, &me.user.id, now).map_err(sql)
    })
}

/// `POST /account/password`. The new password's rules are checked before
/// the current password, hence `admit` rather than `admit_with_password`.
pub async fn change_password(
    State(state): State<HubState>,
    PageSession(me): PageSession,
    headers: HeaderMap,
    PageForm(f): PageForm<PasswordForm>,
) -> Result<Response, PageError> {
    let limit = Some(ratelimit::CHANGE_PASSWORD);
    let me = match admit(&state, &headers, me, &f.csrf, limit)? {
        Ok(me) => me,
        Err(r) => return Ok(r),
    };
    if let Some((status, msg)) = form_problem(&f) {
        return refuse(&state, &headers, &me, status, msg);
    }
    if !password_ok(&me, f.current_password).await {
        tracing::info!(user_id = %me.user.id, "password change: wrong current password");
        let msg = "The current password is not right.";
        return refuse(&state, &headers, &me, StatusCode::UNAUTHORIZED, msg);
    }
    let phc = password::hash_off_thread(Password::new(f.new_password))
        .await
        .map_err(PageError::internal)?;
    let now = state.clock().now();
    let revoked = commit(&state, &me, &phc, now)?;
    tracing::info!(user_id = %me.user.id, revoked, "password changed; sessions ended");
    // This browser stays signed in, on a new session.
    let cookie = session::start(&state, &me.user.id, None, now)?;
    Ok(with_cookie(see_other("/account?done=password"), cookie))
}
