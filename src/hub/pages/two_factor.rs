//! `/login/2fa`: the second step of signing in, for users with TOTP on. The
//! password step (`login.rs`) left a pending login in the store, named by the
//! `parachute_hub_pending_login` cookie (Path=/login, 5 minutes); this page
//! takes a code from the authenticator app or a backup code, then finishes
//! the login there (fresh session, on to `next`).
//!
//! Every guess passes three stored limits: the per-IP sign-in ceiling shared
//! with `/login`, seed 001's TOTP bucket (5 / 15 min) keyed by IP and user,
//! and [`TOTP_USER`] keyed by the user alone — behind a local proxy the "IP"
//! is whatever `X-Forwarded-For` says, so rotating it must not buy fresh
//! guesses at a million-code space. A wrong code leaves the pending login alive (so a typo costs one
//! attempt, not the password step); judging and spending the code, and
//! consuming the pending login, happen in one write transaction, so one code
//! signs in once.

use axum::Form;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use rusqlite::Connection;
use serde::Deserialize;

use super::login::{PENDING_COOKIE, SECOND_FACTOR_PATH, complete};
use super::{csrf_refusal, document, escape, html};
use crate::hub::csrf;
use crate::hub::error::ApiError;
use crate::hub::ratelimit::{self, ClientIp};
use crate::hub::session::{self, with_cookie};
use crate::hub::state::HubState;
use crate::identity::two_factor::{self, Verdict};
use crate::store;

/// Second-factor guesses per user from anywhere: 10 / 15 min (twice the
/// per-IP bucket, so a person on two networks is not locked out first).
pub const TOTP_USER: ratelimit::Limit = ratelimit::Limit {
    bucket: crate::identity::lockout::TOTP_USER_BUCKET,
    max: 10,
    window_secs: 15 * 60,
};

/// Does `user_id` owe a second factor after their password? (The hook in
/// `login::submit`.)
pub fn needs_second_factor(conn: &Connection, user_id: &str) -> rusqlite::Result<bool> {
    store::two_factor::enabled(conn, user_id)
}

fn form(csrf_value: &str, error: Option<&str>) -> String {
    let error = error.map_or_else(String::new, |e| {
        format!("<p class=\"error\" role=\"alert\">{}</p>", escape(e))
    });
    document(
        "Two-factor sign-in",
        &format!(
            "<h1>Two-factor sign-in</h1>{error}\
<p>Enter the 6-digit code from your authenticator app, or one of your backup codes.</p>\
<form method=\"post\" action=\"{SECOND_FACTOR_PATH}\">\
<input type=\"hidden\" name=\"{field}\" value=\"{csrf}\">\
<label for=\"code\">Code</label><input type=\"text\" id=\"code\" name=\"code\" \
autocomplete=\"one-time-code\" autocapitalize=\"none\" spellcheck=\"false\" maxlength=\"32\" required autofocus>\
<button type=\"submit\">Verify</button></form>\
<p><a href=\"/login\">Start over</a></p>",
            field = csrf::FIELD,
            csrf = escape(csrf_value),
        ),
    )
}

fn render(
    state: &HubState,
    headers: &HeaderMap,
    status: StatusCode,
    error: Option<&str>,
) -> Response {
    let token = csrf::token(state, headers);
    let r = html(status, form(&token.value, error));
    match token.set_cookie {
        Some(c) => with_cookie(r, c),
        None => r,
    }
}

/// The pending login behind the request's cookie, if it is still live.
fn pending(
    state: &HubState,
    headers: &HeaderMap,
    now: i64,
) -> Result<Option<(String, store::sessions::PendingLogin)>, ApiError> {
    let Some(id) = session::cookie(headers, PENDING_COOKIE) else {
        return Ok(None);
    };
    let conn = state
        .store()
        .conn()
        .map_err(|e| ApiError::Unavailable(e.to_string()))?;
    let p = store::sessions::pending(&conn, id, now).map_err(ApiError::internal)?;
    Ok(p.map(|p| (id.to_string(), p)))
}

/// A page back to the password step, forgetting the pending cookie.
fn expired(state: &HubState) -> Response {
    let page = document(
        "Sign-in expired",
        "<h1>Sign-in expired</h1>\
<p class=\"error\" role=\"alert\">This sign-in has expired or was already used.</p>\
<p><a href=\"/login\">Sign in again</a></p>",
    );
    with_cookie(
        html(StatusCode::UNAUTHORIZED, page),
        session::clear_cookie(PENDING_COOKIE, "/login", session::secure(state)),
    )
}

/// `GET /login/2fa`.
pub async fn show(State(state): State<HubState>, headers: HeaderMap) -> Result<Response, ApiError> {
    let now = crate::tokens::now();
    if pending(&state, &headers, now)?.is_none() {
        return Ok(expired(&state));
    }
    Ok(render(&state, &headers, StatusCode::OK, None))
}

#[derive(Deserialize)]
pub struct CodeForm {
    #[serde(default)]
    code: String,
    #[serde(rename = "__csrf", default)]
    csrf: String,
}

/// `POST /login/2fa`.
pub async fn submit(
    State(state): State<HubState>,
    ClientIp(ip): ClientIp,
    headers: HeaderMap,
    Form(form): Form<CodeForm>,
) -> Result<Response, ApiError> {
    if let Some(r) = csrf_refusal(&state, &headers, &form.csrf, "Sign-in refused") {
        return Ok(r);
    }
    let now = crate::tokens::now();
    let Some((id, login)) = pending(&state, &headers, now)? else {
        return Ok(expired(&state));
    };
    let totp_key = format!("{ip}|{}", login.user_id);
    for (limit, key) in [
        (ratelimit::LOGIN_IP, ip.clone()),
        (ratelimit::TOTP, totp_key.clone()),
        (TOTP_USER, login.user_id.clone()),
    ] {
        if let Err(limited) = ratelimit::check(&state, limit, &key, now)? {
            let msg = format!(
                "Too many attempts. Try again in {} seconds.",
                limited.retry_after
            );
            let mut resp = render(&state, &headers, StatusCode::TOO_MANY_REQUESTS, Some(&msg));
            let (name, value) = limited.header();
            resp.headers_mut().insert(name, value);
            return Ok(resp);
        }
    }
    let store = state.store();
    let code = form.code.chars().take(64).collect::<String>();
    let verdict = store
        .write(|tx| {
            let sql = |e| store.err(e);
            // Re-read under the write lock: a concurrent request may have
            // finished this login already.
            if store::sessions::pending(tx, &id, now)
                .map_err(sql)?
                .is_none()
            {
                return Ok(None);
            }
            let v = two_factor::check_and_spend(tx, &login.user_id, &code, now).map_err(sql)?;
            if matches!(v, Verdict::Totp | Verdict::Backup { .. }) {
                store::sessions::delete_pending(tx, &id).map_err(sql)?;
            }
            Ok(Some(v))
        })
        .map_err(ApiError::internal)?;
    match verdict {
        None | Some(Verdict::NotEnrolled) => Ok(expired(&state)),
        Some(Verdict::Totp | Verdict::Backup { .. }) => {
            if let Some(Verdict::Backup { left }) = verdict {
                tracing::info!(user_id = %login.user_id, left, "signed in with a backup code");
            }
            ratelimit::clear(&state, ratelimit::TOTP, &totp_key)?;
            ratelimit::clear(&state, TOTP_USER, &login.user_id)?;
            complete(&state, &headers, &login.user_id, &login.next, now)
        }
        Some(Verdict::Replayed) => {
            tracing::info!(%ip, "second factor: a used code was presented again");
            Ok(render(
                &state,
                &headers,
                StatusCode::UNAUTHORIZED,
                Some("That code was already used. Wait for the app to show the next one."),
            ))
        }
        Some(Verdict::Wrong) => {
            tracing::info!(%ip, "second factor failed");
            Ok(render(
                &state,
                &headers,
                StatusCode::UNAUTHORIZED,
                Some("That code is not right. Check the app and try again."),
            ))
        }
    }
}
